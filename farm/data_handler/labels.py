"""Labels of a task, from cell or dict value to feature array: one place for every task type.

A task's ``task_type`` decides how its labels look:

- ``"classification"`` (or ``None``): one label of ``label_list`` → ``int64`` array ``[index]``;
- ``"multilabel_classification"``: several labels (a list, or one string joined by the
  processor's ``label_separator``) → ``float32`` multi-hot array ``(len(label_list),)``;
- ``"regression"``: a number → ``float32`` array ``[(value - scaler_mean) / scaler_scale]``.

A missing label (``None``, a key absent from the dict, an empty string; for multilabel tasks
also a string of separators only, such as ``","``) is masked: the class
index becomes ``LABEL_PAD_VALUE`` (-100, which cross-entropy ignores) and float labels become
NaN. Heads give masked samples no loss and leave them out of the metrics.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from farm.compat import warn_once
from farm.data_handler.dataset import LABEL_PAD_VALUE
from farm.errors import DataFileError

logger = logging.getLogger(__name__)

CLASSIFICATION = "classification"
MULTILABEL = "multilabel_classification"
REGRESSION = "regression"
TASK_TYPES = (CLASSIFICATION, MULTILABEL, REGRESSION)
REGRESSION_METRICS = ["mse", "r2", "pear_spear"]
#: Built-in metrics that compare class labels: meaningless (and failing) on regression values.
LABEL_METRICS = {"acc", "f1_macro", "f1_micro", "acc_f1", "mcc", "seq_f1", "squad",
                 "top_n_accuracy", "text_similarity_metric", "ranking", "perplexity"}


def regression_metric(metric: Any) -> Any:
    """The metric of a regression task: FARM always used ``mse`` there, whatever ``metric``
    said, so class-label metrics (``"f1_macro"``, ...) are replaced by the regression
    metrics, with a one-time warning; regression and custom metrics are kept."""
    names = metric if isinstance(metric, list) else [metric]
    wrong = [m for m in names if isinstance(m, str) and m in LABEL_METRICS]
    if not wrong:
        return metric
    kept = [m for m in names if m not in wrong]
    warn_once(f"metric={metric!r} for a regression task",
              f"{wrong} compare class labels; a regression task is evaluated with "
              f"{kept or REGRESSION_METRICS} (FARM always used mse)")
    return kept or list(REGRESSION_METRICS)


def task_type_of(task: dict[str, Any]) -> str:
    """The task's type; ``add_task`` leaves it ``None`` for plain classification."""
    return str(task.get("task_type") or CLASSIFICATION)


def is_missing(value: Any) -> bool:
    """Whether a label value means "no label for this input"."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list | tuple):
        return len(value) == 0
    return False


def label_missing(task: dict[str, Any], value: Any, separator: str) -> bool:
    """Whether ``value`` means "no label" for ``task``: :func:`is_missing`, and for a
    multilabel task also a value that holds only separators and blanks (``","``, ``[" "]``),
    which names no label, just as an empty cell."""
    if is_missing(value):
        return True
    return task_type_of(task) == MULTILABEL and not any(split_labels(value, separator))


def split_labels(value: Any, separator: str) -> list[str]:
    """The labels of a multilabel value: a list as given, a string split on ``separator``."""
    if isinstance(value, list | tuple):
        return [str(label).strip() for label in value]
    return [label.strip() for label in str(value).split(separator) if label.strip()]


def as_number(value: Any) -> float | None:
    """``value`` as a finite float, or None if it is not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def label_problem(task_name: str, task: dict[str, Any], value: Any, separator: str
                  ) -> str | None:
    """Why ``value`` is not a valid label of ``task`` (None if it is; a missing value is
    checked elsewhere).

    Args:
        task_name (str): Name of the task (for the message).
        task (dict[str, Any]): The processor task.
        value (Any): The label as read from a file cell or an input dict.
        separator (str): Separator of the labels in one multilabel cell.
    """
    kind = task_type_of(task)
    known = task.get("label_list") or []
    if kind == REGRESSION:
        if as_number(value) is None:
            return (
                f"label {value!r} of task '{task_name}' is not a number, but the task is a "
                "regression. Correct the value, or check label_column_name= and delimiter=."
            )
        return None
    if kind == MULTILABEL:
        unknown = [label for label in split_labels(value, separator) if label not in known]
        if unknown:
            return (
                f"labels {unknown} in {value!r} (task '{task_name}') are not in label_list "
                f"{known}. Labels in one cell are separated by {separator!r} "
                "(label_separator=); add the labels to label_list or correct the row."
            )
        return None
    if str(value) not in known:
        return f"label {value!r} of task '{task_name}' is not in label_list {known}."
    return None


def fit_scaler(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard deviation (``ddof=0``, as scikit-learn's ``StandardScaler``) of
    regression labels; a constant label gets scale 1."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        raise ValueError(
            "Cannot fit the regression scaler: no input has a label. Give the training "
            "inputs labels, or pass scaler_mean= and scaler_scale= to the processor."
        )
    scale = float(array.std())
    return float(array.mean()), scale if scale > 0 else 1.0


def label_arrays(
    task_name: str, task: dict[str, Any], values: Sequence[Any], separator: str
) -> list[np.ndarray]:
    """One label array per input for ``task``; missing values are masked.

    A regression task without ``scaler_mean``/``scaler_scale`` gets them fitted on these
    values first (the data silo featurizes the training set first).

    Args:
        task_name (str): Name of the task (for messages).
        task (dict[str, Any]): The processor task; the scaler is stored in it when fitted.
        values (Sequence[Any]): The label of each input (None where missing).
        separator (str): Separator of labels in one multilabel string.

    Returns:
        list[np.ndarray]: ``int64`` ``[index]``, ``float32`` multi-hot, or ``float32``
        ``[scaled value]`` per input.
    """
    kind = task_type_of(task)
    present = {i for i, v in enumerate(values) if not label_missing(task, v, separator)}
    _check_values(task_name, task, values, sorted(present), separator)
    if kind == REGRESSION:
        numbers = [as_number(v) if i in present else None for i, v in enumerate(values)]
        if task.get("scaler_mean") is None or task.get("scaler_scale") is None:
            mean, scale = fit_scaler([n for n in numbers if n is not None])
            task["scaler_mean"], task["scaler_scale"] = mean, scale
            logger.info("Regression task '%s': labels scaled with mean %.4f and scale %.4f "
                        "fitted on %d inputs", task_name, mean, scale, len(present))
        mean, scale = float(task["scaler_mean"]), float(task["scaler_scale"])
        return [
            np.array([np.nan if n is None else (n - mean) / scale], dtype=np.float32)
            for n in numbers
        ]
    index = {label: i for i, label in enumerate(task.get("label_list") or [])}
    if kind == MULTILABEL:
        out = []
        for i, value in enumerate(values):
            hot = np.zeros(len(index), dtype=np.float32)
            if i not in present:
                hot[:] = np.nan
            else:
                hot[[index[label] for label in split_labels(value, separator)]] = 1.0
            out.append(hot)
        return out
    return [
        np.array([LABEL_PAD_VALUE if is_missing(v) else index[str(v)]], dtype=np.int64)
        for v in values
    ]


def _check_values(
    task_name: str, task: dict[str, Any], values: Sequence[Any], present: list[int],
    separator: str,
) -> None:
    """Raise naming the first input dict whose label is invalid, and all invalid labels."""
    bad = [i for i in present if label_problem(task_name, task, values[i], separator)]
    if not bad:
        return
    first = bad[0]
    unknown = Counter(str(values[i]) for i in bad)
    raise DataFileError(
        f"input dict {first}: {label_problem(task_name, task, values[first], separator)} "
        f"Invalid labels in these inputs: {dict(unknown)}."
    )


def positive_weights(multi_hot: np.ndarray) -> list[float]:
    """``pos_weight`` of a multilabel loss: negatives / positives per label, from a
    ``(n_samples, n_labels)`` multi-hot array (masked rows of NaN are ignored). A label
    that never occurs gets weight 1 (with a warning)."""
    rows = multi_hot[~np.isnan(multi_hot).any(axis=1)]
    positives = rows.sum(axis=0)
    negatives = len(rows) - positives
    weights = np.where(positives > 0, negatives / np.maximum(positives, 1), 1.0)
    if (positives == 0).any():
        logger.warning("Labels at positions %s never occur; their pos_weight is 1.",
                       np.flatnonzero(positives == 0).tolist())
    return weights.tolist()
