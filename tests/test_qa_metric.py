"""The squad metric against hand-computed values of the official SQuAD v2.0 formulas."""

from __future__ import annotations

import pytest

from farm.evaluation.metrics import compute_metrics
from farm.evaluation.squad_metrics import (
    exact_match,
    f1_score,
    normalize_answer,
    question_scores,
    squad,
)


@pytest.mark.parametrize(("text", "normalized"), [
    ("The Denver Broncos", "denver broncos"),
    ("An apple, a day!", "apple day"),
    ("  several\t spaces\n", "several spaces"),
    ("theater and anthem", "theater and anthem"),  # articles only as whole words
    ("Café—bar", "café—bar"),  # only ASCII punctuation is removed
    ("U.S.-based (1990)", "usbased 1990"),
    ("the", ""),
])
def test_normalization(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


@pytest.mark.parametrize(("gold", "pred", "em", "f1"), [
    ("Denver Broncos", "the Denver Broncos", 1, 1.0),
    # pred words {broncos, of, denver}, gold {denver, broncos}: P = 2/3, R = 1
    ("Denver Broncos", "Broncos of Denver", 0, 0.8),
    # "the" is dropped: pred {cat, cat} vs gold {cat}: P = 1/2, R = 1
    ("cat", "the the cat cat", 0, 2 / 3),
    ("café bar", "Café—bar", 0, 0.0),
    ("Paris", "", 0, 0.0),
    ("", "", 1, 1.0),
    ("", "Paris", 0, 0.0),
])
def test_exact_match_and_f1(gold: str, pred: str, em: int, f1: float) -> None:
    assert exact_match(gold, pred) == em
    assert f1_score(gold, pred) == pytest.approx(f1)


def test_maximum_over_gold_answers() -> None:
    # pred words {in, 10th, century}; gold 1 {10th, and, 11th, centuries}: P 1/3, R 1/4 ->
    # 2/7; gold 2 {in, 10th, and, 11th, centuries}: P 2/3, R 2/5 -> 1/2.
    golds = ["10th and 11th centuries", "in the 10th and 11th centuries"]
    assert question_scores("in the 10th century", golds) == (0, pytest.approx(0.5))


def test_gold_answers_that_normalize_to_nothing_leave_the_empty_answer() -> None:
    # The script drops such gold answers; with none left, only "" matches.
    assert question_scores("", ["the", "a"]) == (1, 1.0)
    assert question_scores("the", ["the"]) == (1, 1.0)
    assert question_scores("anything", ["the"]) == (0, 0.0)


def test_dataset_scores_with_has_answer_and_no_answer_parts() -> None:
    preds = [
        ["Denver Broncos", "Broncos"],  # EM 1, F1 1
        ["Broncos of Denver", "Denver Broncos"],  # EM 0, F1 0.8; second is an exact match
        [""],  # unanswerable, predicted no answer: 1, 1
        ["Paris", ""],  # unanswerable, answered: 0, 0; second ("") matches
        [""],  # answerable, no answer predicted: 0, 0
    ]
    labels = [["Denver Broncos"], ["Denver Broncos"], [], [], ["Rome", "rome"]]
    result = squad(preds, labels)
    assert result["EM"] == pytest.approx(2 / 5)
    assert result["f1"] == pytest.approx(2.8 / 5)
    assert result["HasAns_EM"] == pytest.approx(1 / 3)
    assert result["HasAns_f1"] == pytest.approx(1.8 / 3)
    assert result["NoAns_EM"] == result["NoAns_f1"] == pytest.approx(1 / 2)
    assert (result["total"], result["HasAns_total"], result["NoAns_total"]) == (5, 3, 2)
    assert result["top_n_accuracy"] == pytest.approx(4 / 5)


def test_metric_by_name_and_plain_string_predictions() -> None:
    result = compute_metrics("squad", ["Rome", ""], [["rome"], []])
    assert result["EM"] == result["f1"] == 1.0
    only_answerable = squad(["Rome"], [["Rome"]])
    assert "NoAns_EM" not in only_answerable and only_answerable["NoAns_total"] == 0
    assert compute_metrics("top_n_accuracy", [["x", "Rome"]], [["Rome"]]) == {
        "top_n_accuracy": 1.0}


def test_bad_metric_input_is_explained() -> None:
    with pytest.raises(ValueError, match="gold answer texts"):
        squad(["Rome"], ["Rome"])
    with pytest.raises(ValueError, match="predicted answer text"):
        squad([3], [["Rome"]])
    with pytest.raises(ValueError, match="2 predictions but 1"):
        squad(["a", "b"], [["a"]])
