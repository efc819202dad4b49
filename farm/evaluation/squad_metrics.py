"""Exact match and F1 of extractive question answering, as the official SQuAD v2.0
evaluation script defines them.

An answer is normalized by lower-casing it, deleting every ASCII punctuation character
(Python's ``string.punctuation``), replacing the words "a", "an" and "the" by a space, and
joining what remains by single spaces. Exact match (EM) is 1 when the normalized prediction
equals a normalized gold answer; F1 is the harmonic mean of precision and recall of the
shared words (a multiset intersection of the two word lists). Each question takes the
maximum over its gold answers. Gold answers that normalize to nothing are ignored; a
question left without gold answers is unanswerable, and its only gold answer is the empty
string, so predicting "" (no answer) scores 1 and any text scores 0. Has-answer and
no-answer parts follow the script: a question has an answer when its gold list is not empty.

Values are shares in [0, 1] (the script prints percentages).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    """The official normalization: lower case, no punctuation, no articles, single spaces.

    Example:
        >>> normalize_answer("The  Eiffel-Tower!")
        'eiffeltower'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_words(text: str) -> list[str]:
    """The words F1 counts: the normalized answer split at white space."""
    return normalize_answer(text).split() if text else []


def exact_match(gold: str, pred: str) -> int:
    """1 if the normalized texts are equal, else 0."""
    return int(normalize_answer(gold) == normalize_answer(pred))


def f1_score(gold: str, pred: str) -> float:
    """Word-overlap F1 of one gold answer and one prediction.

    When either has no words, F1 is 1 if both have none and 0 otherwise.
    """
    gold_words, pred_words = answer_words(gold), answer_words(pred)
    if not gold_words or not pred_words:
        return float(gold_words == pred_words)
    shared = sum((Counter(gold_words) & Counter(pred_words)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(pred_words)
    recall = shared / len(gold_words)
    return 2 * precision * recall / (precision + recall)


def scoring_answers(golds: Sequence[str]) -> list[str]:
    """The gold answers a question is scored against: those that do not normalize to
    nothing, or ``[""]`` when none is left (an unanswerable question)."""
    kept = [g for g in golds if normalize_answer(g)]
    return kept or [""]


def question_scores(pred: str, golds: Sequence[str]) -> tuple[int, float]:
    """EM and F1 of one question: the maximum over its gold answers."""
    answers = scoring_answers(golds)
    return max(exact_match(g, pred) for g in answers), max(f1_score(g, pred) for g in answers)


def candidates_of(pred: Any) -> list[Any] | None:
    """The answer objects of a question's prediction in FARM's forms (a ``QAPred``, the
    evaluator's pair ``(candidates, no_ans_gap)``, or a list of candidates), else None."""
    if hasattr(pred, "prediction"):
        return list(pred.prediction)
    if isinstance(pred, tuple | list) and pred and isinstance(pred[0], list | tuple) and all(
            hasattr(c, "answer_type") for c in pred[0]):
        return list(pred[0])
    if isinstance(pred, list | tuple) and pred and all(hasattr(c, "answer_type") for c in pred):
        return list(pred)
    return None


def _ranked(pred: Any, index: int) -> list[str]:
    """A question's predictions as a ranked list of texts (best first)."""
    if isinstance(pred, str):
        return [pred]
    if isinstance(pred, Sequence) and pred and all(isinstance(p, str) for p in pred):
        return list(pred)
    candidates = candidates_of(pred)
    if candidates:
        return ["" if c.answer_type == "no_answer" else str(c.answer) for c in candidates]
    raise ValueError(
        f"squad expects per question a predicted answer text, a ranked list of texts (\"\" "
        f"for no answer) or FARM's answer candidates; question {index} has {pred!r}."
    )


def _golds(label: Any, index: int) -> list[str]:
    if isinstance(label, str) or not isinstance(label, Sequence) or not all(
        isinstance(g, str) for g in label
    ):
        raise ValueError(
            "squad expects per question the list of its gold answer texts ([] for an "
            f"unanswerable question); question {index} has {label!r}."
        )
    return list(label)


def squad(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """EM, F1 and top-n accuracy over questions, overall and for has-answer and no-answer
    questions.

    Args:
        preds (Sequence[Any]): Per question the predicted text (``""``: no answer), a
            ranked list of texts whose first is the prediction (the rest count for
            ``top_n_accuracy``), or the answer candidates the evaluator gives (a ``QAPred``
            or ``(candidates, no_ans_gap)``).
        labels (Sequence[Any]): Per question the list of gold answer texts (``[]``:
            unanswerable).

    Returns:
        dict[str, float]: ``EM``, ``f1``, ``top_n_accuracy`` (share of questions where one of
        the ranked texts is an exact match), ``total``, and ``HasAns_EM``, ``HasAns_f1``,
        ``HasAns_total``, ``NoAns_EM``, ``NoAns_f1``, ``NoAns_total`` (as in the official
        script, a part without questions has only its ``_total``, 0).

    Example:
        >>> squad(["Denver Broncos", ""], [["Denver Broncos", "The Broncos"], []])["EM"]
        1.0
    """
    if len(preds) != len(labels):
        raise ValueError(f"{len(preds)} predictions but {len(labels)} questions with labels.")
    parts: dict[str, list[tuple[int, float]]] = {"HasAns": [], "NoAns": []}
    top_n = []
    for i, (pred, label) in enumerate(zip(preds, labels, strict=True)):
        ranked, golds = _ranked(pred, i), _golds(label, i)
        parts["HasAns" if golds else "NoAns"].append(question_scores(ranked[0], golds))
        top_n.append(max(question_scores(p, golds)[0] for p in ranked))
    every = parts["HasAns"] + parts["NoAns"]
    result = {**_means("", every), "total": float(len(every)),
              "top_n_accuracy": sum(top_n) / len(top_n) if top_n else float("nan")}
    for name, part in parts.items():
        if part:
            result.update(_means(f"{name}_", part))
        result[f"{name}_total"] = float(len(part))
    return result


def top_n_accuracy(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Share of questions where one of the ranked predicted texts matches a gold answer
    exactly (after normalization); see :func:`squad`."""
    return {"top_n_accuracy": squad(preds, labels)["top_n_accuracy"]}


def _means(prefix: str, scores: list[tuple[int, float]]) -> dict[str, float]:
    if not scores:
        return {f"{prefix}EM": float("nan"), f"{prefix}f1": float("nan")}
    return {
        f"{prefix}EM": sum(s[0] for s in scores) / len(scores),
        f"{prefix}f1": sum(s[1] for s in scores) / len(scores),
    }


def squad_report_text(
    preds: Sequence[Any], labels: Sequence[Any], label_list: Sequence[str] | None = None
) -> str:
    """EM, F1 and counts overall and per part, as a small table."""
    result = squad(preds, labels)
    lines = [f"{'':10}{'EM':>8}{'F1':>8}{'questions':>11}"]
    for name, prefix in (("all", ""), ("has-answer", "HasAns_"), ("no-answer", "NoAns_")):
        total = result["total"] if not prefix else result[f"{prefix}total"]
        if total:
            lines.append(f"{name:10}{result[f'{prefix}EM']:8.4f}{result[f'{prefix}f1']:8.4f}"
                         f"{int(total):11d}")
    lines.append(f"top_n_accuracy {result['top_n_accuracy']:.4f}")
    return "\n".join(lines)
