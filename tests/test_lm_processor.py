"""BertStyleLMProcessor: reading text, packing, next-sentence pairs, bad input, save/load."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import BertStyleLMProcessor, Processor
from farm.errors import DataFileError, FarmError
from farm.modeling.prediction_heads.next_sentence import NSP_LABELS
from farm.modeling.tokenization import Tokenizer
from tests.lm_helpers import documents, make_lm_processor, write_corpus, write_lm_data
from tests.tiny_models import TinyModelFactory


def originals(dataset: object, row: int) -> np.ndarray:
    """The sample's token ids before masking."""
    features = dataset.features  # type: ignore[attr-defined]
    labels = features["lm_label_ids"][row]
    return np.where(labels != -100, labels, features["input_ids"][row])


def id_text(ids: np.ndarray) -> str:
    return " " + " ".join(str(i) for i in ids.tolist()) + " "


def test_file_to_dicts_reads_documents_and_their_lines(tiny_bert_dir: Path, tmp_path: Path
                                                       ) -> None:
    (tmp_path / "train.txt").write_text(
        "First sentence.\r\nSecond one.  \n\n\n   \nOther doc.\nIts end.\n\nLast.\n"
    )
    processor = make_lm_processor(tiny_bert_dir, tmp_path)
    assert processor.file_to_dicts("train.txt") == [
        {"doc": ["First sentence.", "Second one."], "line": 1},
        {"doc": ["Other doc.", "Its end."], "line": 6},
        {"doc": ["Last."], "line": 9},
    ]
    processor.max_docs = 2
    assert len(processor.file_to_dicts("train.txt")) == 2


def test_one_document_per_line_is_split_into_sentences(tiny_bert_dir: Path, tmp_path: Path
                                                       ) -> None:
    write_corpus(tmp_path / "docs.txt", [["A first one.", "Is it 2?"], ["Only one!"]],
                 one_doc_per_line=True)
    processor = make_lm_processor(tiny_bert_dir, tmp_path, one_doc_per_line=True)
    assert processor.file_to_dicts("docs.txt") == [
        {"doc": ["A first one.", "Is it 2?"], "line": 1}, {"doc": ["Only one!"], "line": 2},
    ]


def test_sentences_are_packed_up_to_max_seq_len_without_losing_tokens(tiny_bert_dir: Path
                                                                       ) -> None:
    processor = make_lm_processor(tiny_bert_dir, None, max_seq_len=40)
    docs = documents(60)
    dataset = processor.dataset_from_dicts([{"doc": d} for d in docs])[0]
    tokenizer = processor.tokenizer
    lengths = dataset.lengths
    assert lengths.max() <= 40 and len(dataset) < 60  # several sentences per sequence
    assert np.mean(lengths) > 25
    packed = [originals(dataset, r) for r in range(len(dataset))]
    assert all(p[0] == tokenizer.cls_token_id and p[-1] == tokenizer.sep_token_id
               for p in packed)
    content = np.concatenate([p[1:-1] for p in packed])
    expected = np.concatenate([tokenizer(s, add_special_tokens=False)["input_ids"]
                               for d in docs for s in d])
    assert (content == expected).all()  # every token once, in order
    assert set(dataset.tensor_names) == {"input_ids", "padding_mask", "segment_ids",
                                         "lm_label_ids"}


def test_a_sentence_longer_than_a_sequence_is_cut(tiny_bert_dir: Path) -> None:
    processor = make_lm_processor(tiny_bert_dir, None, max_seq_len=8)
    dataset = processor.dataset_from_dicts([{"doc": [" ".join(["good movie"] * 10)]}])[0]
    assert processor.stats["cut_sentences"] == 1
    assert len(dataset) >= 3 and dataset.lengths.max() <= 8


@pytest.mark.parametrize("style", ["bert-style", "sentence"])
def test_next_sentences_follow_and_negatives_come_from_the_whole_corpus(
    style: str, tiny_bert_dir: Path
) -> None:
    docs = documents()  # the whole tiny corpus, every sentence once
    processor = make_lm_processor(tiny_bert_dir, None, max_seq_len=64, next_sent_pred=True,
                                  next_sent_pred_style=style)
    dataset, _, _, baskets = processor.dataset_from_dicts([{"doc": d} for d in docs],
                                                          return_baskets=True)
    tokenizer = processor.tokenizer
    streams = [id_text(np.concatenate([tokenizer(s, add_special_tokens=False)["input_ids"]
                                       for s in d])) for d in docs]
    owner = [k for k, b in enumerate(baskets) for _ in b.samples]
    labels = np.concatenate(dataset.features["nextsentence_label_ids"])
    assert 0.35 < labels.mean() < 0.65
    distances = []
    for row in range(len(dataset)):
        ids, segments = originals(dataset, row), dataset.features["segment_ids"][row]
        special = np.isin(ids, tokenizer.all_special_ids)
        a, b = ids[(segments == 0) & ~special], ids[(segments == 1) & ~special]
        assert len(a) and len(b) and len(ids) <= 64
        if style == "sentence":
            assert any(id_text(np.asarray(tokenizer(s, add_special_tokens=False)["input_ids"]))
                       == id_text(a) for s in docs[owner[row]])
        assert id_text(a) in streams[owner[row]]
        if labels[row] == 0:  # is_next: B comes after A in its document (both may be cut)
            stream = streams[owner[row]]
            assert stream.find(id_text(b), stream.find(id_text(a)) + 1) > 0
            if not processor.stats["truncated_pairs"]:
                assert id_text(np.concatenate([a, b])) in stream
        else:
            sources = [k for k, stream in enumerate(streams) if id_text(b) in stream]
            assert sources and all(docs[k] != docs[owner[row]] for k in sources)
            distances.append(min(abs(k - owner[row]) for k in sources))
    # negatives from all over the corpus, not from a window around their document
    assert max(distances) > len(docs) // 2 and len(set(distances)) > 10


@pytest.mark.parametrize("arch", ["bert", "roberta", "deberta-v2"])
def test_pairs_are_laid_out_as_the_tokenizer_lays_out_pairs(
    arch: str, tiny_model_factory: TinyModelFactory
) -> None:
    """Special tokens and segment ids of a sentence pair equal what the tokenizer makes of
    the two sentences (the independent reference)."""
    processor = make_lm_processor(tiny_model_factory(arch), None, next_sent_pred=True,
                                  next_sent_pred_style="sentence", max_seq_len=200)
    tokenizer = processor.tokenizer
    sentences = [s for d in documents(40) for s in d]
    by_ids = {id_text(np.asarray(tokenizer(s, add_special_tokens=False)["input_ids"])): s
              for s in sentences}
    dataset = processor.dataset_from_dicts([{"doc": d} for d in documents(40)])[0]
    for row in range(len(dataset)):
        ids = originals(dataset, row)
        content = [i for i in ids.tolist() if i not in tokenizer.all_special_ids]
        split = next(k for k in range(1, len(content))
                     if id_text(np.asarray(content[:k])) in by_ids
                     and id_text(np.asarray(content[k:])) in by_ids)
        expected = tokenizer(by_ids[id_text(np.asarray(content[:split]))],
                             by_ids[id_text(np.asarray(content[split:]))])
        assert ids.tolist() == expected["input_ids"]
        want_segments = expected.get("token_type_ids") or [0] * len(ids)
        assert dataset.features["segment_ids"][row].tolist() == want_segments


def test_documents_too_short_for_next_sentences_are_counted_and_reported(
    tiny_bert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    processor = make_lm_processor(tiny_bert_dir, None, next_sent_pred=True)
    dicts = [{"doc": d} for d in documents(30)] + [{"doc": ["Alone."], "line": 77}]
    with caplog.at_level(logging.WARNING):
        dataset = processor.dataset_from_dicts(dicts)[0]
    assert processor.stats["skipped_documents"] == 1 and len(dataset) > 0
    assert "Skipped 1 of" in caplog.text and "line 77" in caplog.text
    with pytest.raises(DataFileError, match="at least two documents of two or more"):
        processor.dataset_from_dicts([{"doc": ["One."]}, {"doc": ["Two.", "Three."]}])
    plain = make_lm_processor(tiny_bert_dir, None)  # without next sentences they are fine
    plain.dataset_from_dicts([{"doc": ["One."]}, {"doc": ["Two."]}])
    assert plain.stats["skipped_documents"] == 0


@pytest.mark.parametrize("content", ["", "\n\n  \n\t\n"])
def test_a_file_without_text_is_an_error_naming_it(content: str, tiny_bert_dir: Path,
                                                   tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text(content)
    processor = make_lm_processor(tiny_bert_dir, tmp_path)
    with pytest.raises(DataFileError, match="train.txt: the file .*no text to learn from"):
        processor.file_to_dicts("train.txt")


def test_other_bad_input_gives_clear_errors(tiny_bert_dir: Path, tmp_path: Path) -> None:
    processor = make_lm_processor(tiny_bert_dir, tmp_path)
    with pytest.raises(DataFileError, match="missing.txt: file not found"):
        processor.file_to_dicts("missing.txt")
    (tmp_path / "latin.txt").write_bytes("caf\xe9 au lait.\n".encode("latin-1"))
    with pytest.raises(DataFileError, match="encoding='latin-1'"):
        processor.file_to_dicts("latin.txt")
    with pytest.raises(DataFileError, match="input 1 needs 'doc'.*got keys \\['sentences'\\]"):
        processor.dataset_from_dicts([{"doc": ["Fine."]}, {"sentences": ["x"]}])
    with pytest.raises(ValueError, match="Did you mean 'sentence'"):
        make_lm_processor(tiny_bert_dir, None, next_sent_pred_style="sentences")
    with pytest.raises(ValueError, match="masked_lm_prob"):
        make_lm_processor(tiny_bert_dir, None, masked_lm_prob=1.5)
    with pytest.raises(ValueError, match="max_seq_len=3 leaves 1 tokens"):
        make_lm_processor(tiny_bert_dir, None, max_seq_len=3).dataset_from_dicts(
            [{"doc": ["Good."]}])


def test_a_tokenizer_without_mask_token_is_refused(tiny_bert_dir: Path) -> None:
    tokenizer = Tokenizer.load(tiny_bert_dir)
    tokenizer.mask_token = None
    processor = BertStyleLMProcessor(tokenizer, 32, None, next_sent_pred=False)
    with pytest.raises(FarmError, match="no mask token"):
        processor.dataset_from_dicts([{"doc": ["Good movie."]}])


def test_tasks_and_labels_match_the_heads(tiny_bert_dir: Path) -> None:
    processor = make_lm_processor(tiny_bert_dir, None, next_sent_pred=True)
    assert processor.tasks["lm"]["metric"] == "perplexity"
    assert processor.tasks["lm"]["vocab_size"] == len(processor.tokenizer)
    assert processor.tasks["nextsentence"]["label_list"] == NSP_LABELS


def test_save_load_and_data_silo_with_cache(tiny_bert_dir: Path, tmp_path: Path) -> None:
    data_dir = write_lm_data(tmp_path / "data")
    processor = make_lm_processor(tiny_bert_dir, data_dir, next_sent_pred=True, dev_split=0.2,
                                  seed=3, masked_lm_prob=0.2)
    processor.save(tmp_path / "saved")
    loaded = Processor.load_from_dir(tmp_path / "saved")
    assert isinstance(loaded, BertStyleLMProcessor)
    assert loaded.generate_config() == processor.generate_config()
    assert loaded.tasks == processor.tasks
    silos = [DataSilo(p, batch_size=4, caching=True, cache_path=tmp_path / "cache")
             for p in (processor, loaded)]
    for split in ("train", "dev", "test"):
        first, second = (s.data[split] for s in silos)
        assert first is not None and second is not None and len(first) > 0
        for name in first.tensor_names:
            assert all((a == b).all() for a, b in
                       zip(first.features[name], second.features[name], strict=True))
    batch = next(iter(silos[0].loaders["train"]))
    assert (batch["lm_label_ids"][batch["padding_mask"] == 0] == -100).all()
