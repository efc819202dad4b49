"""TextSimilarityProcessor: DPR records to query and passage features, bad records,
inference dicts, save/load with two tokenizers, cache and streaming."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.dataset import Collator
from farm.data_handler.processor import Processor, TextSimilarityProcessor
from farm.data_handler.processors.text_similarity import content_id
from farm.data_handler.streaming import StreamingDataSilo
from farm.errors import DataFileError, FarmError
from farm.modeling.tokenization import Tokenizer
from tests.dpr_helpers import dpr_records, write_dpr_data, write_dpr_file
from tests.tiny_models import TinyModelFactory

LABELS = "text_similarity_label_ids"


def make_processor(model_dir: Path, data_dir: Path | None = None, **kwargs: object
                   ) -> TextSimilarityProcessor:
    tokenizer = Tokenizer.load(model_dir)
    options: dict = {"max_seq_len_query": 16, "max_seq_len_passage": 32,
                     "train_filename": "train.json", "dev_filename": "dev.json",
                     "test_filename": "test.json", "num_hard_negatives": 1}
    options.update(kwargs)
    return TextSimilarityProcessor(query_tokenizer=tokenizer, passage_tokenizer=tokenizer,
                                   data_dir=data_dir, **options)


def test_features_of_a_dpr_file(tiny_bert_dir: Path, tmp_path: Path) -> None:
    records = dpr_records(6, n_hard_negatives=3)
    write_dpr_file(tmp_path / "train.json", records)
    processor = make_processor(tiny_bert_dir, tmp_path, num_hard_negatives=2,
                               shuffle_negatives=False)
    dicts = processor.file_to_dicts("train.json")
    dataset = processor.dataset_from_dicts(dicts)[0]
    assert dataset.tensor_names == [
        "query_input_ids", "query_padding_mask", "query_segment_ids", "passage_input_ids",
        "passage_padding_mask", "passage_segment_ids", "passage_content_ids", LABELS]
    tokenizer = Tokenizer.load(tiny_bert_dir)
    for record, sample in zip(records, dataset, strict=True):
        assert sample["query_input_ids"].tolist() == tokenizer(record["question"])["input_ids"]
        expected = [record["positive_ctxs"][0], *record["hard_negative_ctxs"][:2]]
        assert sample["passage_input_ids"].shape[0] == 3
        for row, ids, mask, segments, ctx in zip(
                range(3), sample["passage_input_ids"], sample["passage_padding_mask"],
                sample["passage_segment_ids"], expected, strict=True):
            encoded = tokenizer(ctx["title"], ctx["text"])
            n = int(mask.sum())
            assert ids[:n].tolist() == encoded["input_ids"], row
            assert segments[:n].tolist() == encoded["token_type_ids"]
            assert not ids[n:].any()  # padded with the pad id (0 for BERT)
        assert sample[LABELS].tolist() == [1, 0, 0]
        assert sample["passage_content_ids"].tolist() == [
            content_id(c["title"], c["text"]) for c in expected]


def test_without_titles_the_text_is_encoded_alone(tiny_bert_dir: Path) -> None:
    processor = make_processor(tiny_bert_dir, embed_title=False)
    record = dpr_records(1)[0]
    sample = processor.dataset_from_dicts([record])[0][0]
    text = record["positive_ctxs"][0]["text"]
    n = int(sample["passage_padding_mask"][0].sum())
    assert sample["passage_input_ids"][0, :n].tolist() == Tokenizer.load(tiny_bert_dir)(
        text)["input_ids"]


def test_hard_negatives_are_chosen_reproducibly(tiny_bert_dir: Path) -> None:
    records = dpr_records(20, n_hard_negatives=5)
    records[3]["hard_negative_ctxs"] = []

    def chosen(seed: int) -> list[list[str]]:
        processor = make_processor(tiny_bert_dir, num_hard_negatives=2, seed=seed)
        return [[p["title"] for p in d["passages"]]
                for d in (processor._record_to_dict(r, "r") for r in records) if d]

    first = chosen(1)
    assert first == chosen(1)
    assert first != chosen(2)
    assert [len(titles) for titles in first] == [3] * 3 + [1] + [3] * 16
    assert all(titles[0] == r["positive_ctxs"][0]["title"]
               for titles, r in zip(first, records, strict=True))
    # A record with fewer hard negatives gets absent rows in the batch: all-zero masks.
    processor = make_processor(tiny_bert_dir, num_hard_negatives=2)
    dataset = processor.dataset_from_dicts(records[2:4])[0]
    batch = Collator(dataset.pad_values)([dataset[0], dataset[1]])
    assert tuple(batch["passage_input_ids"].shape[:2]) == (2, 3)
    assert batch["passage_padding_mask"][1, 1:].sum() == 0
    assert batch[LABELS][1].tolist() == [1, -100, -100]


def test_records_without_positive_are_skipped_counted_and_reported(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = dpr_records(5)
    records[1]["positive_ctxs"] = []
    records[4]["positive_ctxs"] = []
    path = write_dpr_file(tmp_path / "train.json", records)
    processor = make_processor(tiny_bert_dir, tmp_path)
    with caplog.at_level(logging.WARNING):
        dicts = processor.file_to_dicts("train.json")
    assert [d["query"] for d in dicts] == [records[i]["question"] for i in (0, 2, 3)]
    skipped = processor.skipped_rows[str(path)]
    assert [reason.split(" has")[0] for _, reason in skipped] == ["record 1", "record 4"]
    assert "Skipped 2 bad rows" in caplog.text and "record 1 has no positive_ctxs" in caplog.text
    assert len(make_processor(tiny_bert_dir, tmp_path, max_samples=2).file_to_dicts(
        "train.json")) == 2


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("question"), "record 2 has no 'question' text"),
    (lambda r: r.update(positive_ctxs="text"), "record 2 has no 'positive_ctxs' list"),
    (lambda r: r["hard_negative_ctxs"].append({"title": "x"}),
     r"record 2 has a hard_negative_ctxs\[2\] without a 'text' string"),
    (lambda r: r["positive_ctxs"][0].update(title=3), "whose 'title' is not a string"),
])
def test_bad_records_name_their_index_and_line(tiny_bert_dir: Path, tmp_path: Path,
                                               change: object, message: str) -> None:
    records = dpr_records(4)
    change(records[2])  # type: ignore[operator]
    path = write_dpr_file(tmp_path / "train.json", records, indent=2)
    lines = [i + 1 for i, line in enumerate(path.read_text().split("\n")) if line == "  {"]
    with pytest.raises(DataFileError, match=message) as error:
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts("train.json")
    assert error.value.line == lines[2] and error.value.file == str(path)


def test_inference_dicts(tiny_bert_dir: Path) -> None:
    processor = make_processor(tiny_bert_dir)
    queries = processor.dataset_from_dicts([{"query": "how is the food in paris"}])[0]
    assert queries.tensor_names == ["query_input_ids", "query_padding_mask",
                                    "query_segment_ids"]
    passages, _, _, baskets = processor.dataset_from_dicts(
        [{"passages": ["the food in paris", {"title": "berlin", "text": "the park"}]}],
        return_baskets=True)
    assert "query_input_ids" not in passages.tensor_names and LABELS not in passages.features
    assert passages[0]["passage_input_ids"].shape[0] == 2
    assert baskets[0].samples[0].clear_text["passages"][1] == {"title": "berlin",
                                                                "text": "the park"}
    both = processor.dataset_from_dicts([{"query": "q", "passages": ["a", "b", "c"]}])[0]
    assert both[0]["passage_input_ids"].shape[0] == 3  # inference keeps every passage
    with pytest.raises(FarmError, match="Some input dicts have a 'query' and others"):
        processor.dataset_from_dicts([{"query": "q"}, {"passages": ["p"]}])



def test_problematic_dicts_are_skipped_and_reported_as_farm_did(
    tiny_bert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    processor = make_processor(tiny_bert_dir)
    good = {"query": "q", "passages": [{"text": "a", "label": "positive"},
                                       {"text": "n", "label": "hard_negative"}]}
    dicts = [
        {"query": [1], "passages": good["passages"]},  # not a string
        {"query": "q", "passages": [{"text2": "a", "label": "positive"}]},  # no text
        {"query": "q", "passages": [{"text": "a", "label": "positive"}, {"text": "b"}]},
        {"query": "q", "passages": [{"text": "a", "label": "pos"}]},  # no positive left
        {"text": "q"},
        good,
    ]
    with caplog.at_level(logging.WARNING):
        dataset, names, problematic, baskets = processor.dataset_from_dicts(
            dicts, indices=[10, 11, 12, 13, 14, 15], return_baskets=True)
    assert problematic == {10, 11, 12, 13, 14}
    assert len(dataset) == 1 and [b.id_internal for b in baskets] == [15]
    assert processor.samples_per_input(dicts) == [0, 0, 0, 0, 0, 1]
    assert "Skipped 5 input(s)" in caplog.text and "passages [1] have no 'label'" in caplog.text
    nothing = processor.dataset_from_dicts(dicts[:2])
    assert len(nothing[0]) == 0 and nothing[2] == {0, 1}


def test_passages_labelled_otherwise_are_left_out_as_farm_did(
    tiny_bert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    processor = make_processor(tiny_bert_dir, num_hard_negatives=2)
    item = {"query": "q", "passages": [
        {"text": "a", "label": "positive"}, {"text": "n", "label": "hard_negative"},
        {"text": "x", "label": "negative", "passage_id": "7"}]}
    with caplog.at_level(logging.WARNING):
        dataset, _, problematic = processor.dataset_from_dicts([item])
    assert problematic == set()
    assert dataset.features[LABELS][0].tolist() == [1, 0]  # the 'negative' one is left out
    assert "Left out 1 passages labelled ['negative']" in caplog.text


def test_constructor_checks(tiny_bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="num_positives=2"):
        make_processor(tiny_bert_dir, num_positives=2)
    with pytest.raises(TypeError, match="max_seq_len_pasage"):
        make_processor(tiny_bert_dir, max_seq_len_pasage=3)


def test_save_and_load_with_two_tokenizers(tiny_model_factory: TinyModelFactory,
                                          tmp_path: Path) -> None:
    query_tokenizer = Tokenizer.load(tiny_model_factory("bert"))
    passage_tokenizer = Tokenizer.load(tiny_model_factory("roberta"))
    processor = TextSimilarityProcessor(
        query_tokenizer=query_tokenizer, passage_tokenizer=passage_tokenizer,
        max_seq_len_query=16, max_seq_len_passage=24, data_dir=None, num_hard_negatives=2,
        embed_title=False)
    processor.save(tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "processor_config.json").read_text())
    assert "query_tokenizer" not in config and config["max_seq_len_passage"] == 24
    loaded = Processor.load_from_dir(tmp_path / "saved")
    assert isinstance(loaded, TextSimilarityProcessor)
    assert loaded.generate_config() == processor.generate_config()
    assert loaded.passage_tokenizer.get_vocab() == passage_tokenizer.get_vocab()
    assert loaded.query_tokenizer.get_vocab() == query_tokenizer.get_vocab()
    records = dpr_records(3)
    a, b = processor.dataset_from_dicts(records)[0], loaded.dataset_from_dicts(records)[0]
    for name in a.tensor_names:
        assert all(np.array_equal(x, y) for x, y in zip(a.features[name], b.features[name],
                                                         strict=True))
    assert a.pad_values["passage_input_ids"] == passage_tokenizer.pad_token_id == 1
    assert processor.tokenizer_state() != make_processor(tiny_model_factory("bert")
                                                         ).tokenizer_state()


def test_cache_keeps_passage_rows(tiny_bert_dir: Path, tmp_path: Path) -> None:
    data_dir = write_dpr_data(tmp_path / "data", n_train=12, n_dev=4, n_test=4)
    silos = [DataSilo(make_processor(tiny_bert_dir, data_dir, num_hard_negatives=2),
                      batch_size=4, caching=True, cache_path=tmp_path / "cache")
             for _ in range(2)]
    assert len(list((tmp_path / "cache").iterdir())) == 1
    for split in ("train", "dev", "test"):
        fresh, cached = silos[0].data[split], silos[1].data[split]
        assert fresh is not None and cached is not None
        for name in fresh.tensor_names:
            for x, y in zip(fresh.features[name], cached.features[name], strict=True):
                assert x.shape == y.shape and np.array_equal(x, y), name
    assert silos[1].data["train"].features["passage_input_ids"][0].ndim == 2  # type: ignore[union-attr]


def test_streaming_silo_reads_each_record_once_per_epoch(tiny_bert_dir: Path,
                                                         tmp_path: Path) -> None:
    data_dir = write_dpr_data(tmp_path / "data", n_train=21, n_dev=4, n_test=4)
    silo = StreamingDataSilo(make_processor(tiny_bert_dir, data_dir), batch_size=4,
                             dataloader_workers=0, shuffle_buffer=8)
    loader = silo.get_data_loader("train")
    assert loader is not None and silo.counts["train"] == 21
    tokenizer = Tokenizer.load(tiny_bert_dir)
    seen: Counter[str] = Counter()
    batches = list(loader)
    for batch in batches:
        assert batch["passage_input_ids"].dim() == 3
        for ids, mask in zip(batch["query_input_ids"], batch["query_padding_mask"], strict=True):
            seen[tokenizer.decode(ids[mask.bool()], skip_special_tokens=True)] += 1
    assert len(batches) == len(loader) == 6
    questions = [r["question"] for r in json.loads((data_dir / "train.json").read_text())]
    assert seen == Counter(questions)
    assert isinstance(batches[0][LABELS], torch.Tensor)
