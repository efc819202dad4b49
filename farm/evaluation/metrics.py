"""Metrics by name, and ``register_metrics`` for your own.

A metric function takes ``(preds, labels)`` (lists of the same length, as the heads'
``logits_to_preds`` and ``prepare_labels`` return them) and returns a dict of named values
(or a single number, stored under the metric's name).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from farm.errors import check_choice
from farm.evaluation import squad_metrics
from farm.evaluation.lm_metrics import perplexity
from farm.evaluation.qa_candidates import (
    confidence,
    metrics_per_bin,
    squad_EM,
    squad_EM_start,
    squad_f1,
    top_n_accuracy,
)
from farm.evaluation.ranking_metrics import (
    text_similarity_acc_and_f1,
    text_similarity_avg_ranks,
    text_similarity_metric,
)
from farm.evaluation.seq_metrics import seq_f1, seq_report_text
from farm.evaluation.squad_metrics import squad, squad_report_text

__all__ = [
    "available_metrics", "check_metric", "compute_metrics", "compute_report_metrics",
    "confidence", "metrics_per_bin", "register_metrics", "register_report", "squad",
    "squad_EM", "squad_EM_start", "squad_f1", "text_similarity_acc_and_f1",
    "text_similarity_avg_ranks", "text_similarity_metric", "top_n_accuracy",
]


def _sk() -> Any:
    """``sklearn.metrics``, imported on first use (importing it costs about 40 MB of memory,
    which a run whose metric does not need it should not pay)."""
    import sklearn.metrics

    return sklearn.metrics


MetricFn = Callable[[Sequence[Any], Sequence[Any]], "dict[str, float] | float"]


def simple_accuracy(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Share of predictions equal to their label."""
    return {"acc": float(_sk().accuracy_score(labels, preds))}


def f1_macro(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """F1 averaged over classes with equal weight."""
    return {"f1_macro": float(_sk().f1_score(labels, preds, average="macro", zero_division=0))}


def acc_and_f1(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Accuracy, macro F1, and their mean (``acc_and_f1``)."""
    acc = simple_accuracy(preds, labels)["acc"]
    f1 = f1_macro(preds, labels)["f1_macro"]
    return {"acc": acc, "f1": f1, "acc_and_f1": (acc + f1) / 2}


def mcc(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Matthews correlation coefficient."""
    return {"mcc": float(_sk().matthews_corrcoef(labels, preds))}


def f1_micro(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """F1 over all decisions pooled (for multilabel: over every label of every text)."""
    return {"f1_micro": float(_sk().f1_score(labels, preds, average="micro", zero_division=0))}


def mse(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Mean squared error."""
    return {"mse": float(_sk().mean_squared_error(labels, preds))}


def r2(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Coefficient of determination."""
    return {"r2": float(_sk().r2_score(labels, preds))}


def pear_spear(preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Pearson and Spearman correlation, and their mean (``corr``), as in GLUE's STS-B.

    A constant prediction has no defined correlation: NaN.
    """
    if len(set(preds)) < 2 or len(set(labels)) < 2:
        pearson = spearman = float("nan")
    else:
        from scipy.stats import pearsonr, spearmanr  # on first use, as _sk

        pearson = float(pearsonr(preds, labels)[0])
        spearman = float(spearmanr(preds, labels)[0])
    return {"pearson": pearson, "spearman": spearman, "corr": (pearson + spearman) / 2}


_REGISTRY: dict[str, MetricFn] = {
    "acc": simple_accuracy,
    "f1_macro": f1_macro,
    "f1_micro": f1_micro,
    "acc_f1": acc_and_f1,
    "mcc": mcc,
    "mse": mse,
    "r2": r2,
    "pear_spear": pear_spear,
    "seq_f1": seq_f1,
    "perplexity": perplexity,
    "text_similarity_metric": text_similarity_metric,
    "ranking": text_similarity_metric,
    "squad": squad,
    "top_n_accuracy": squad_metrics.top_n_accuracy,
}


def register_metrics(name: str, implementation: MetricFn) -> None:
    """Make a metric usable by name in processors and ``EarlyStopping``.

    Args:
        name (str): The metric's name.
        implementation (MetricFn): ``fn(preds, labels)`` returning a dict of values or a
            number.

    Example:
        >>> def share_positive(preds, labels):
        ...     return {"share_positive": sum(p == "positive" for p in preds) / len(preds)}
        >>> register_metrics("share_positive", share_positive)
    """
    _REGISTRY[name] = implementation


def available_metrics() -> list[str]:
    """Names of all registered metrics."""
    return sorted(_REGISTRY)


def check_metric(metric: Any) -> None:
    """Raise a clear error if ``metric`` (a name or list of names) is not registered."""
    for name in metric if isinstance(metric, list | tuple) else [metric]:
        if not callable(name):
            check_choice(name, available_metrics(), "metric (register it with register_metrics)")


def compute_metrics(metric: Any, preds: Sequence[Any], labels: Sequence[Any]) -> dict[str, float]:
    """Compute one metric, a list of metrics, or a metric function.

    Args:
        metric (Any): A registered name, a list of them, or a callable ``fn(preds, labels)``.
        preds (Sequence[Any]): Predictions.
        labels (Sequence[Any]): True labels, aligned with ``preds``.

    Returns:
        dict[str, float]: The metric values by name; ``{name: nan}`` for empty inputs.
    """
    if len(preds) != len(labels):
        raise ValueError(f"{len(preds)} predictions but {len(labels)} labels.")
    results: dict[str, float] = {}
    for item in metric if isinstance(metric, list | tuple) else [metric]:
        if callable(item):
            name, fn = getattr(item, "__name__", "metric"), item
        else:
            check_metric(item)
            name, fn = item, _REGISTRY[item]
        if not len(preds):  # nothing to score: NaN, as FARM returned
            results[name] = float("nan")
            continue
        value = fn(preds, labels)
        results.update(value if isinstance(value, dict) else {name: float(value)})
    return results


def classification_report_text(
    preds: Sequence[Any], labels: Sequence[Any], label_list: Sequence[str] | None
) -> str:
    """Per-class precision, recall, F1 and support (scikit-learn's report)."""
    names = list(label_list) if label_list else sorted(set(labels) | set(preds))
    return str(_sk().classification_report(labels, preds, labels=names, digits=4, zero_division=0))


def multilabel_report_text(
    preds: Sequence[Any], labels: Sequence[Any], label_list: Sequence[str] | None
) -> str:
    """Per-label precision, recall, F1 and support of multi-hot predictions, plus micro,
    macro, weighted and samples averages (scikit-learn's report)."""
    names = list(label_list) if label_list else None
    return str(_sk().classification_report(np.asarray(labels), np.asarray(preds),
                                           target_names=names, digits=4, zero_division=0))


def regression_report_text(
    preds: Sequence[Any], labels: Sequence[Any], label_list: Sequence[str] | None = None
) -> str:
    """A short summary: how many, and mean and spread of predictions and labels (a
    prediction spread far below the labels' means the model hardly uses its input)."""
    p, t = np.asarray(preds, dtype=float), np.asarray(labels, dtype=float)
    return (
        f"n={len(t)}  labels: mean {t.mean():.4f} std {t.std():.4f}  "
        f"predictions: mean {p.mean():.4f} std {p.std():.4f}  "
        f"mean absolute error {np.abs(p - t).mean():.4f}"
    ) if len(t) else "n=0"


ReportFn = Callable[[Sequence[Any], Sequence[Any], "Sequence[str] | None"], str]

# The evaluation report of each processor task type.
_REPORTS: dict[str, ReportFn] = {
    "classification": classification_report_text,
    "multilabel_classification": multilabel_report_text,
    "regression": regression_report_text,
    "ner": seq_report_text,
    "question_answering": squad_report_text,
}


# FARM registered reports by the heads' output type; these are the task types they meant.
_FARM_OUTPUT_TYPES = {
    "per_sequence": ["classification", "multilabel_classification"],
    "per_token": ["ner"],
    "per_token_squad": ["question_answering"],
    "per_sequence_continuous": ["regression"],
}


def report_for(task_type: str | None) -> ReportFn | None:
    """The report function of a processor task type (``None``: classification); None if
    the task type has no report."""
    return _REPORTS.get(task_type or "classification")


def register_report(name: str, implementation: Callable[..., Any]) -> None:
    """Use your own report in evaluation results (FARM's ``register_report``).

    Args:
        name (str): A processor task type (``"classification"``, ``"ner"``, ...) or FARM's
            head output type (``"per_sequence"``, ``"per_token"``, ``"per_token_squad"``,
            ``"per_sequence_continuous"``), which stands for the task types it covered.
        implementation (Callable[..., Any]): ``fn(y_true, y_pred)`` as in FARM and
            scikit-learn (labels first), returning something printable.

    Example:
        >>> register_report("per_sequence", lambda y_true, y_pred: f"{len(y_true)} texts")
    """

    def report(preds: Sequence[Any], labels: Sequence[Any],
               label_list: Sequence[str] | None = None) -> str:
        return str(implementation(labels, preds))

    for task_type in _FARM_OUTPUT_TYPES.get(name, [name]):
        _REPORTS[task_type] = report


def compute_report_metrics(head: Any, preds: Sequence[Any], labels: Sequence[Any]) -> str:
    """The evaluation report of ``head``'s predictions (FARM's function); ``""`` for a
    task without a report."""
    task_types = getattr(head, "processor_task_types", ()) or (None,)
    report = report_for(task_types[0])
    return report(preds, labels, getattr(head, "label_list", None)) if report else ""
