"""The unknown-token trap (issue 17): a tokenizer that does not fit the texts turns many words
into ``[UNK]``; after preprocessing, the data silo warns with the rate, an example and the
likely cause, logs the rate to the tracker, and the logged sample shows its own rate."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor, TextSimilarityProcessor
from farm.data_handler.unknown_tokens import count_unknown, likely_causes
from farm.modeling.tokenization import Tokenizer
from farm.tracking import set_tracker
from tests.dpr_helpers import dpr_records, write_dpr_file
from tests.farm_helpers import RecordingTracker

CAPITALISED = ["The Movie Was Great", "What A Terrible Film", "Good Food With Friends",
               "Bad Show At Night"]


@pytest.fixture
def tracker() -> Iterator[RecordingTracker]:
    recording = RecordingTracker()
    set_tracker(recording)
    yield recording
    set_tracker(None)


def silo(tokenizer: Any, data_dir: Path, texts: list[str]) -> DataSilo:
    rows = "".join(f"{t}\t{'pos' if i % 2 else 'neg'}\n" for i, t in enumerate(texts))
    (data_dir / "train.tsv").write_text("text\tlabel\n" + rows)
    (data_dir / "test.tsv").write_text("text\tlabel\ngood food\tpos\n")
    processor = TextClassificationProcessor(
        tokenizer=tokenizer, max_seq_len=16, data_dir=data_dir, label_list=["neg", "pos"],
        metric="acc", train_filename="train.tsv", dev_filename=None, test_filename="test.tsv",
        dev_split=0.0)
    return DataSilo(processor, batch_size=4)


def unknown_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "unknown token" in r.getMessage()]


def test_keeping_case_on_an_uncased_vocabulary_warns_with_the_cause(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    tracker: RecordingTracker,
) -> None:
    tokenizer = Tokenizer.load(tiny_bert_dir, do_lower_case=False)
    with caplog.at_level(logging.INFO):
        silo(tokenizer, tmp_path, CAPITALISED)
    (warning,) = unknown_warnings(caplog)
    assert warning.startswith("train split: 16 of 16 tokens (100.0%) are the tokenizer's "
                              "unknown token '[UNK]'")
    assert "Example: [CLS] [UNK] [UNK] [UNK] [UNK] [SEP]" in warning
    assert "(1) the tokenizer keeps upper case (do_lower_case=False) but its vocabulary is " \
           "uncased" in warning and "do_lower_case=True" in warning
    assert "(2) the model's vocabulary does not cover the language" in warning
    assert tracker.values("unknown_token_rate_train") == [1.0]
    assert tracker.values("unknown_token_rate_test") == [0.0]  # "good food": all known
    logged = [r.getMessage() for r in caplog.records if "Example of preprocessed" in r.getMessage()]
    assert logged and logged[0].endswith("Unknown tokens: 4 of 4 tokens (100.0%)")


def test_lower_casing_as_the_vocabulary_expects_gives_no_warning(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    tracker: RecordingTracker,
) -> None:
    with caplog.at_level(logging.INFO):
        silo(Tokenizer.load(tiny_bert_dir), tmp_path, CAPITALISED)
    assert unknown_warnings(caplog) == []
    assert tracker.values("unknown_token_rate_train") == [0.0]


def test_texts_in_another_script_name_the_language_first(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    tracker: RecordingTracker,
) -> None:
    korean = ["정말 재미있는 영화", "good 영화", "지루한 영화 good", "food 좋아요"]
    with caplog.at_level(logging.INFO):
        silo(Tokenizer.load(tiny_bert_dir), tmp_path, korean)
    (warning,) = unknown_warnings(caplog)
    assert "(1) the model's vocabulary does not cover the language or script" in warning
    assert "do_lower_case=False" not in warning  # the casing matches: not named as a cause
    rate = tracker.values("unknown_token_rate_train")[0]
    assert rate == pytest.approx(7 / 10)  # 10 words, 3 of them "good"/"food"


def test_a_rate_at_or_below_ten_percent_is_not_warned_about(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    tracker: RecordingTracker,
) -> None:
    texts = ["good food with friends at night 영화 good food with", "good food"]
    with caplog.at_level(logging.INFO):
        silo(Tokenizer.load(tiny_bert_dir), tmp_path, texts)
    assert unknown_warnings(caplog) == []
    (rate,) = tracker.values("unknown_token_rate_train")
    assert 0 < rate <= 0.10


def test_each_encoder_input_is_counted_with_its_own_tokenizer(
    tiny_bert_dir: Path, tiny_model_factory: Any, tmp_path: Path,
) -> None:
    """DPR: queries with the query tokenizer, passages with the passage tokenizer."""
    keeps_case = Tokenizer.load(tiny_bert_dir, do_lower_case=False)
    lower = Tokenizer.load(tiny_bert_dir)
    records = dpr_records(2, n_hard_negatives=1)
    for record in records:
        record["question"] = record["question"].upper()
    write_dpr_file(tmp_path / "train.json", records)
    processor = TextSimilarityProcessor(keeps_case, lower, 16, 32, data_dir=tmp_path,
                                        train_filename="train.json", dev_filename=None,
                                        test_filename=None)
    dataset = processor.dataset_from_dicts(processor.file_to_dicts("train.json"))[0]
    queries = {k: v for k, v in dataset.features.items() if k.startswith("query")}
    passages = {k: v for k, v in dataset.features.items() if k.startswith("passage")}
    assert count_unknown(queries, processor).rate == 1.0
    assert count_unknown(passages, processor).n_unknown == 0


def test_likely_causes_name_a_lower_casing_tokenizer_on_a_cased_vocabulary(
    tiny_model_factory: Any,
) -> None:
    cased = tiny_model_factory("bert", lower_case=False)
    causes = likely_causes(Tokenizer.load(cased, do_lower_case=True))
    assert causes[0].startswith("(1) the tokenizer lower-cases (do_lower_case=True) but its "
                                "vocabulary is cased")
    assert likely_causes(Tokenizer.load(cased))[0].startswith("(1) the model's vocabulary")
