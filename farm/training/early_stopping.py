"""Early stopping on a dev metric, saving the best model."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from farm.errors import did_you_mean

logger = logging.getLogger(__name__)


class EarlyStopping:
    """Stops training when a dev metric stops improving and keeps the best model.

    Args:
        metric (str | Callable): Key of a head's dev result (``"loss"``, ``"acc"``,
            ``"f1_macro"``, ...) or a function of the whole dev result list.
        save_dir (str | Path | None): Where the best model (and processor) is saved; the
            trainer returns that model at the end.
        mode (str): ``"min"`` or ``"max"``: whether lower or higher is better.
        patience (int): Evaluations without improvement tolerated before stopping.
        min_delta (float): Smallest change that counts as an improvement.
        min_evals (int): Never stop before this many evaluations.
        head (int): Which head's results ``metric`` refers to.

    Example:
        >>> earlystop = EarlyStopping(metric="acc", mode="max", patience=3, save_dir="best")
    """

    def __init__(
        self,
        metric: str | Callable[[list[dict[str, Any]]], float] = "loss",
        save_dir: str | Path | None = None,
        mode: str = "min",
        patience: int = 0,
        min_delta: float = 0.001,
        min_evals: int = 0,
        head: int = 0,
    ):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'min' or 'max'; got {mode!r}.")
        self.metric = metric
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self.min_evals = min_evals
        self.head = head
        self.best_so_far: float | None = None
        self.n_since_best = 0
        self.n_evals = 0
        self.eval_values: list[float] = []

    def metric_value(self, eval_result: list[dict[str, Any]]) -> float:
        """The watched number from a dev result."""
        if callable(self.metric):
            return float(self.metric(eval_result))
        if not -len(eval_result) <= self.head < len(eval_result):
            raise IndexError(
                f"EarlyStopping(head={self.head}), but the model has {len(eval_result)} "
                f"head(s): {[r.get('task_name') for r in eval_result]}. Pass head= the "
                "position of the head whose metric to watch (0 is the first)."
            )
        result = eval_result[self.head]
        if self.metric not in result:
            numbers = [k for k, v in result.items() if isinstance(v, int | float)]
            raise KeyError(
                f"EarlyStopping metric '{self.metric}' is not in the dev results of head "
                f"{self.head} ({result.get('task_name')}).{did_you_mean(self.metric, numbers)} "
                f"Available: {numbers}."
            )
        return float(result[self.metric])

    def check_stopping(self, eval_result: list[dict[str, Any]]) -> tuple[bool, bool, float]:
        """Record one evaluation.

        Returns:
            tuple[bool, bool, float]: Whether to stop, whether this is the best model so far
            (to be saved), and the metric value.
        """
        value = self.metric_value(eval_result)
        self.eval_values.append(value)
        self.n_evals += 1
        better = self.best_so_far is None or (
            value < self.best_so_far - self.min_delta
            if self.mode == "min"
            else value > self.best_so_far + self.min_delta
        )
        if better:
            self.best_so_far, self.n_since_best = value, 0
            return False, True, value
        self.n_since_best += 1
        stop = self.n_since_best > self.patience and self.n_evals >= self.min_evals
        if stop:
            logger.info(
                "Early stopping: %s did not improve on %.4f for %d evaluations.",
                self.metric if isinstance(self.metric, str) else "metric", self.best_so_far,
                self.n_since_best,
            )
        return stop, False, value

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state, for checkpoints."""
        return {
            "best_so_far": self.best_so_far,
            "n_since_best": self.n_since_best,
            "n_evals": self.n_evals,
            "eval_values": self.eval_values,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for key, value in state.items():
            setattr(self, key, value)
