"""FARM 0.8's question answering evaluation helpers, over answer candidates.

They take what ``Evaluator.eval(model, return_preds_and_labels=True)`` returns for a QA
head: per question FARM's pair ``(candidates, no_ans_gap)`` (``QACandidate`` objects, best
first; a ``QAPred`` or a plain list of candidates works too) and per question its labels.

Labels may be, as the evaluator gives them, the gold answer texts (``[]`` for an
unanswerable question): answers are then compared as the official SQuAD script compares
them (normalized text), so ``squad_EM`` and ``squad_f1`` equal the evaluator's ``EM`` and
``f1``. Labels may also be FARM's ``(start, end)`` offset pairs (``(-1, -1)``: no answer):
the offsets are then compared as FARM did (exact pair, start only, or overlap of the
ranges), with the candidates' character offsets (a no-answer counts as ``(-1, -1)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from farm.evaluation.squad_metrics import candidates_of, question_scores

NO_ANSWER = (-1, -1)


def _candidates(pred: Any, index: int) -> list[Any]:
    candidates = candidates_of(pred)
    if not candidates:
        raise ValueError(
            f"Question {index}: expected FARM's answer candidates ((candidates, no_ans_gap) "
            f"as the evaluator returns them, a QAPred, or a list of QACandidate); got {pred!r}."
        )
    return candidates


def _offsets(candidate: Any) -> tuple[int, int]:
    if candidate.answer_type == "no_answer":
        return NO_ANSWER
    return int(candidate.offset_answer_start), int(candidate.offset_answer_end)


def _answer_text(candidate: Any) -> str:
    return "" if candidate.answer_type == "no_answer" else str(candidate.answer or "")


def _offset_labels(label: Any) -> list[tuple[int, int]] | None:
    """``label`` as offset pairs, or None when it is a list of answer texts."""
    if isinstance(label, str):
        raise ValueError(f"Expected a question's list of gold answers; got the string {label!r}.")
    items = list(label)
    if not items or all(isinstance(item, str) for item in items):
        return None
    return [(int(start), int(end)) for start, end in items]


def _range_f1(pred: tuple[int, int], gold: tuple[int, int]) -> float:
    """FARM's overlap F1 of two offset ranges (both ends included); a no-answer only
    matches a no-answer."""
    if pred == NO_ANSWER or gold == NO_ANSWER:
        return float(pred == gold)
    pred_range = set(range(pred[0], pred[1] + 1))
    gold_range = set(range(gold[0], gold[1] + 1))
    overlap = len(pred_range & gold_range)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred_range), overlap / len(gold_range)
    return 2 * precision * recall / (precision + recall)


def _per_question(preds: Sequence[Any], labels: Sequence[Any]) -> list[tuple[list[Any], Any]]:
    if len(preds) != len(labels):
        raise ValueError(f"{len(preds)} predictions but {len(labels)} questions with labels.")
    return [(_candidates(pred, i), label)
            for i, (pred, label) in enumerate(zip(preds, labels, strict=True))]


def _exact(candidate: Any, label: Any) -> float:
    offsets = _offset_labels(label)
    if offsets is None:
        return float(question_scores(_answer_text(candidate), list(label))[0])
    return float(_offsets(candidate) in offsets)


def _f1(candidate: Any, label: Any) -> float:
    offsets = _offset_labels(label)
    if offsets is None:
        return float(question_scores(_answer_text(candidate), list(label))[1])
    return max(_range_f1(_offsets(candidate), gold) for gold in offsets) if offsets else 0.0


def squad_EM(preds: Sequence[Any], labels: Sequence[Any]) -> float:  # noqa: N802 (FARM's name)
    """Share of questions whose best candidate is an exact match of a gold answer (0.0
    when there are no questions, as FARM returned).

    Example:
        >>> squad_EM(evaluation["preds"], evaluation["labels"])
    """
    questions = _per_question(preds, labels)
    return float(np.mean([_exact(cands[0], label) for cands, label in questions])) if (
        questions) else 0.0


def squad_EM_start(preds: Sequence[Any], labels: Sequence[Any]) -> float:  # noqa: N802
    """Share of questions whose best candidate starts where a gold answer starts; needs
    FARM's offset labels ``(start, end)``."""
    questions = _per_question(preds, labels)
    hits = []
    for cands, label in questions:
        offsets = _offset_labels(label)
        if offsets is None:
            raise ValueError(
                "squad_EM_start compares answer start offsets, but the labels are answer texts "
                "(as the evaluator gives them). Pass labels as (start, end) character offsets, "
                "or use squad_EM."
            )
        hits.append(float(_offsets(cands[0])[0] in [start for start, _ in offsets]))
    return float(np.mean(hits)) if hits else 0.0


def squad_f1(preds: Sequence[Any], labels: Sequence[Any]) -> float:
    """Mean over questions of the best candidate's F1 with its closest gold answer."""
    questions = _per_question(preds, labels)
    return float(np.mean([_f1(cands[0], label) for cands, label in questions])) if (
        questions) else 0.0


def top_n_accuracy(preds: Sequence[Any], labels: Sequence[Any]) -> float:
    """Share of questions for which one of the (top n) candidates is correct.

    With answer texts as labels, correct means an exact match (the evaluator's
    ``top_n_accuracy``); with FARM's offset labels, any overlap with a gold range (FARM's
    definition).
    """
    questions = _per_question(preds, labels)
    hits = []
    for cands, label in questions:
        offsets = _offset_labels(label)
        score = _exact if offsets is None else _f1
        hits.append(float(any(score(c, label) > 0 for c in cands)))
    return float(np.mean(hits)) if hits else 0.0


def confidence(preds: Sequence[Any]) -> float:
    """Mean confidence of the questions' best candidates (0.0 without questions)."""
    values = [float(_candidates(p, i)[0].confidence or 0.0) for i, p in enumerate(preds)]
    return float(np.mean(values)) if values else 0.0


def metrics_per_bin(
    preds: Sequence[Any], labels: Sequence[Any], num_bins: int = 10
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Exact match and mean confidence of questions grouped by the confidence of their best
    answer (bin ``k`` holds confidences in ``[k / num_bins, (k + 1) / num_bins)``; 1.0
    goes to the last bin), to see whether confidence scores are calibrated.

    Returns:
        tuple: ``(em_per_bin, confidence_per_bin, count_per_bin)``; an empty bin has EM and
        confidence 0.

    Example:
        >>> result = evaluator.eval(model, return_preds_and_labels=True)[0]
        >>> em, conf, count = metrics_per_bin(result["preds"], result["labels"], num_bins=10)
    """
    if num_bins < 1:
        raise ValueError(f"num_bins must be at least 1; got {num_bins}.")
    bins: list[list[int]] = [[] for _ in range(num_bins)]
    for i, pred in enumerate(preds):
        value = float(_candidates(pred, i)[0].confidence or 0.0)
        bins[min(int(value * num_bins), num_bins - 1)].append(i)
    em_per_bin, confidence_per_bin = np.zeros(num_bins), np.zeros(num_bins)
    for k, members in enumerate(bins):
        em_per_bin[k] = squad_EM([preds[i] for i in members], [labels[i] for i in members])
        confidence_per_bin[k] = confidence([preds[i] for i in members])
    return em_per_bin, confidence_per_bin, [len(members) for members in bins]
