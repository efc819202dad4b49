"""Span-level metrics for tag sequences (NER), identical to seqeval's default mode.

An entity counts as found when type, first and last word of a predicted entity equal those of
a true one (see :func:`farm.tagging.get_entities` for how tags make entities).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from farm.tagging import get_entities

Counts = dict[str, list[int]]  # entity type -> [true positives, predicted, true]


def _check(preds: Sequence[Sequence[str]], labels: Sequence[Sequence[str]]) -> None:
    if len(preds) != len(labels):
        raise ValueError(f"{len(preds)} predicted sequences but {len(labels)} label sequences.")
    for i, (pred, label) in enumerate(zip(preds, labels, strict=True)):
        if isinstance(pred, str) or isinstance(label, str):
            raise ValueError(
                "seq_f1 expects one list of tags per sentence, e.g. [['B-PER', 'O']]; "
                f"item {i} is a single string {pred!r}."
            )
        if len(pred) != len(label):
            raise ValueError(
                f"sentence {i} has {len(pred)} predicted tags but {len(label)} true tags."
            )


def entity_counts(preds: Sequence[Sequence[str]], labels: Sequence[Sequence[str]]) -> Counts:
    """True positives, predicted and true entities per entity type.

    Args:
        preds (Sequence[Sequence[str]]): Predicted tags, one list per sentence.
        labels (Sequence[Sequence[str]]): True tags, aligned with ``preds``.
    """
    _check(preds, labels)
    true: dict[str, set[tuple[int, int]]] = defaultdict(set)
    pred: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for type_, start, end in get_entities(labels):
        true[type_].add((start, end))
    for type_, start, end in get_entities(preds):
        pred[type_].add((start, end))
    return {
        t: [len(true[t] & pred[t]), len(pred[t]), len(true[t])] for t in sorted(true.keys() | pred)
    }


def _prf(tp: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def seq_f1(preds: Sequence[Sequence[str]], labels: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro-averaged span precision, recall and F1 (``seqeval.metrics.f1_score`` etc.).

    Args:
        preds (Sequence[Sequence[str]]): Predicted tags, one list per sentence.
        labels (Sequence[Sequence[str]]): True tags, aligned with ``preds``.

    Returns:
        dict[str, float]: ``seq_f1``, ``seq_precision`` and ``seq_recall``; 0 where undefined
        (no entities predicted or none true), as seqeval returns them.

    Example:
        >>> seq_f1([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "B-LOC"]])["seq_f1"]
        0.6666666666666666
    """
    counts = entity_counts(preds, labels)
    totals = [sum(c[k] for c in counts.values()) for k in range(3)]
    precision, recall, f1 = _prf(*totals)
    return {"seq_f1": f1, "seq_precision": precision, "seq_recall": recall}


def seq_report(
    preds: Sequence[Sequence[str]], labels: Sequence[Sequence[str]], digits: int = 4
) -> str:
    """Per entity type precision, recall, F1 and support, plus micro, macro and weighted
    averages (the numbers of ``seqeval.metrics.classification_report``).

    Args:
        preds (Sequence[Sequence[str]]): Predicted tags, one list per sentence.
        labels (Sequence[Sequence[str]]): True tags, aligned with ``preds``.
        digits (int): Decimal places.

    Returns:
        str: The report as a text table.
    """
    counts = entity_counts(preds, labels)
    rows = [(t, _prf(*c), c[2]) for t, c in counts.items()]
    support = sum(n for _, _, n in rows)
    micro = _prf(*[sum(c[k] for c in counts.values()) for k in range(3)])
    averages: list[tuple[str, tuple[float, ...], int]] = [("micro avg", micro, support)]
    if rows:
        macro = tuple(sum(v[k] for _, v, _ in rows) / len(rows) for k in range(3))
        weighted = tuple(
            sum(v[k] * n for _, v, n in rows) / support if support else 0.0 for k in range(3)
        )
        averages += [("macro avg", macro, support), ("weighted avg", weighted, support)]
    width = max([len("weighted avg")] + [len(name) for name, _, _ in rows])
    header = f"{'':>{width}} " + "".join(
        f"{h:>{digits + 6}}" for h in ("precision", "recall", "f1-score", "support")
    )
    lines = [header, ""]
    for block in (rows, averages):
        for name, values, n in block:
            shown = "".join(f"{v:>{digits + 6}.{digits}f}" for v in values)
            lines.append(f"{name:>{width}} {shown}{n:>{digits + 6}}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def seq_report_text(
    preds: Sequence[Sequence[str]], labels: Sequence[Sequence[str]],
    label_list: Sequence[str] | None = None,
) -> str:
    """:func:`seq_report` with the signature of the evaluator's reports (``label_list`` is
    not needed: the entity types come from the tags)."""
    return seq_report(preds, labels)
