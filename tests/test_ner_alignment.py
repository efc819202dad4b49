"""Words and sub-tokens: which token carries a word's label, for every tokenizer family."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from farm.data_handler.word_windows import split_words
from farm.errors import DataFileError
from farm.modeling.prediction_head import TokenClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.tagging import WORD_STARTS
from tests.ner_helpers import NER_LABELS, make_ner_processor
from tests.tiny_models import ARCHITECTURES, TinyModelFactory

LONG_WORD = "Supercalifragilisticexpialidocious"


def one_row(processor, item: dict) -> tuple[dict, object]:  # noqa: ANN001
    """Features and basket of a single input dict."""
    dataset, _, _, baskets = processor.dataset_from_dicts([item], return_baskets=True)
    assert len(dataset) == 1
    return dataset[0], baskets[0]


def test_first_sub_token_carries_the_label_of_a_long_word(tiny_bert_dir: Path) -> None:
    """A word of many sub-tokens: its label sits on the first, the others are skipped."""
    processor = make_ner_processor(tiny_bert_dir, None, max_seq_len=64)
    tokenizer = Tokenizer.load(tiny_bert_dir)
    words = ["Peter", LONG_WORD, "visited", "Paris"]
    tags = ["B-PER", "I-PER", "O", "B-LOC"]
    features, _ = one_row(processor, {"words": words, "ner_label": tags})
    pieces = [tokenizer(w, add_special_tokens=False)["input_ids"] for w in words]
    assert len(pieces[1]) >= 5
    starts = features[WORD_STARTS].tolist()
    assert starts == (1 + np.cumsum([0] + [len(p) for p in pieces[:-1]])).tolist()
    for start, piece in zip(starts, pieces, strict=True):
        assert features["input_ids"][start : start + len(piece)].tolist() == piece
    assert features["ner_label_ids"].tolist() == [NER_LABELS.index(t) for t in tags]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_word_start_token_lies_in_its_word(arch: str,
                                                 tiny_model_factory: TinyModelFactory) -> None:
    """For every tokenizer family, each word's first sub-token starts inside that word, and
    the tokens between two word starts all belong to the first word."""
    processor = make_ner_processor(tiny_model_factory(arch, lower_case=False), None,
                                   max_seq_len=128)
    text = f"Anna  visited {LONG_WORD}, the Zürich café (2024-01-05) — naïve 'quotes' ."
    _, basket = one_row(processor, {"text": text})
    sample = basket.samples[0]
    spans = sample.clear_text["word_spans"]
    offsets, first = sample.tokenized["offsets"], sample.tokenized["start_of_word"]
    starts = sample.features[0][WORD_STARTS].tolist()
    assert len(starts) == len(spans) == len(split_words(text))
    assert sum(first) == len(spans)
    for j, ((begin, end), start) in enumerate(zip(spans, starts, strict=True)):
        token = start - 1  # one special token before the text in every tiny model
        assert first[token]
        assert begin <= offsets[token] < end, (arch, text[begin:end])
        following = starts[j + 1] - 1 if j + 1 < len(starts) else len(offsets)
        assert all(begin <= offsets[k] <= end for k in range(token, following))


def test_words_of_characters_the_tokenizer_drops(tiny_bert_dir: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A word made only of dropped characters keeps its label but has no sub-token: it is
    counted, ignored by the loss and predicted as O; its neighbours stay aligned."""
    processor = make_ner_processor(tiny_bert_dir, None)
    words = ["Anna", "\u200b", "Ber\u200blin", "\x00", "."]
    tags = ["B-PER", "B-LOC", "B-LOC", "O", "O"]
    with caplog.at_level(logging.WARNING):
        features, _ = one_row(processor, {"words": words, "ner_label": tags})
    assert "2 words consist only of characters the tokenizer drops" in caplog.text
    starts = features[WORD_STARTS].tolist()
    assert starts[1] == starts[3] == -1
    tokenizer = Tokenizer.load(tiny_bert_dir)
    tokens = tokenizer.convert_ids_to_tokens(features["input_ids"])
    for word, j in (("anna", 0), ("berlin", 2), (".", 4)):
        assert tokens[starts[j]] == tokenizer.tokenize(word)[0]
    assert features["ner_label_ids"].tolist() == [NER_LABELS.index(t) for t in tags]

    head = TokenClassificationHead(num_labels=len(NER_LABELS), label_list=NER_LABELS)
    batch = {k: torch.as_tensor(v).unsqueeze(0).long() for k, v in features.items()}
    logits = torch.zeros(1, len(tokens), len(NER_LABELS))
    logits[..., NER_LABELS.index("B-LOC")] = 5.0  # every token says B-LOC
    preds = head.logits_to_preds(logits, **batch)[0].tags
    assert preds == ["B-LOC", "O", "B-LOC", "O", "B-LOC"]
    assert head.prepare_labels(**batch)[0].tags == tags
    loss = head.logits_to_loss(logits, **batch)
    expected = torch.nn.functional.cross_entropy(
        logits[0, [starts[0], starts[2], starts[4]]],
        torch.tensor([NER_LABELS.index(t) for t in (tags[0], tags[2], tags[4])]),
    )
    torch.testing.assert_close(loss, expected.view(1))


def test_request_texts_are_split_into_words_with_exact_spans() -> None:
    """Punctuation apart; dates, numbers, abbreviations and non-ASCII words whole."""
    text = "  Dr. Müller\tflew to São Paulo, (U.S.A.) on 1996-08-22 for $3,500 —\n東京's next. "
    words = [text[a:b] for a, b in split_words(text)]
    assert words == ["Dr", ".", "Müller", "flew", "to", "São", "Paulo", ",", "(", "U.S.A.", ")",
                     "on", "1996-08-22", "for", "$", "3,500", "—", "東京", "'s", "next", "."]


def test_given_words_are_found_in_the_text(tiny_bert_dir: Path) -> None:
    """With "words" and "text", the words' spans are their places in the text."""
    processor = make_ner_processor(tiny_bert_dir, None)
    text = "Peter   Smith  went to New York."
    words = ["Peter", "Smith", "went", "to", "New", "York", "."]
    _, basket = one_row(processor, {"text": text, "words": words})
    spans = basket.samples[0].clear_text["word_spans"]
    assert [text[a:b] for a, b in spans] == words
    with pytest.raises(DataFileError, match="do not all occur, in order"):
        processor.dataset_from_dicts([{"text": text, "words": ["York", "Peter"]}])


def test_tags_in_dicts_need_one_known_tag_per_word(tiny_bert_dir: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """FARM-style dicts: white-space words of "text" and one tag each."""
    processor = make_ner_processor(tiny_bert_dir, None)
    good = {"text": "Peter  visited Paris", "ner_label": ["B-PER", "O", "B-LOC"]}
    features, _ = one_row(processor, good)
    assert features["ner_label_ids"].tolist() == [1, 0, 3]
    with pytest.raises(DataFileError, match="input dict 0 has 2 tags in 'ner_label' for 3 words"):
        processor.dataset_from_dicts([{**good, "ner_label": ["B-PER", "O"]}])
    with pytest.raises(DataFileError, match=r"input dict 1, word 2 \('Paris'\): tag 'B-LCO' .* "
                                            "Did you mean 'B-LOC'"):
        processor.dataset_from_dicts([good, {**good, "ner_label": ["B-PER", "O", "B-LCO"]}])
    with pytest.raises(DataFileError, match="has no 'ner_label' although other inputs have"):
        processor.dataset_from_dicts([good, {"text": "Paris"}])
    with pytest.raises(DataFileError, match="input dict 0 has tags but no words"):
        processor.dataset_from_dicts([{"text": "  ", "ner_label": []}])
    with caplog.at_level(logging.WARNING):
        features, _ = one_row(processor, {**good, "ner_label": ["I-PER", "O", "I-LOC"]})
    assert features["ner_label_ids"].tolist() == [1, 0, 3]
    assert "2 I- tags of task 'ner' begin an entity" in caplog.text


def test_empty_request_text_gives_a_basket_without_samples(tiny_bert_dir: Path) -> None:
    processor = make_ner_processor(tiny_bert_dir, None)
    dataset, _, _, baskets = processor.dataset_from_dicts(
        [{"text": " "}, {"text": "Paris"}], return_baskets=True
    )
    assert len(dataset) == 1
    assert [len(b.samples) for b in baskets] == [0, 1]


def test_farm_label_lists_with_placeholders(tiny_bert_dir: Path) -> None:
    """FARM's ["[PAD]", "X", ...] lists work; X and [PAD] are never predicted."""
    labels = ["[PAD]", "X", *NER_LABELS]
    processor = make_ner_processor(tiny_bert_dir, None, label_list=labels)
    features, _ = one_row(processor, {"text": "Anna visited Rome",
                                      "ner_label": ["B-PER", "O", "B-LOC"]})
    assert features["ner_label_ids"].tolist() == [labels.index(t) for t in ("B-PER", "O", "B-LOC")]
    head = TokenClassificationHead(num_labels=len(labels), label_list=labels)
    batch = {k: torch.as_tensor(v).unsqueeze(0).long() for k, v in features.items()}
    logits = torch.zeros(1, len(features["input_ids"]), len(labels))
    logits[..., :2] = 10.0  # the placeholders would win
    logits[..., labels.index("B-LOC")] = 1.0
    assert head.logits_to_preds(logits, **batch)[0].tags == ["B-LOC"] * 3
    assert head.logits_to_probs(logits)[..., :2].max() == 0
