"""A tracker that writes parameters and metrics to the log."""

from __future__ import annotations

import logging
from typing import Any

from farm.tracking.base import Tracker, flatten_params

logger = logging.getLogger(__name__)


class StdoutLogger(Tracker):
    """Logs parameters and metrics through Python logging (visible with ``logging.INFO``).

    Example:
        >>> from farm.utils import StdoutLogger
        >>> tracker = StdoutLogger().init_experiment("demo", run_name="run-1")
        >>> tracker.log_metrics({"loss": 0.5}, step=10)
    """

    def init_experiment(
        self, experiment_name: str, run_name: str | None = None, nested: bool = False
    ) -> Tracker:
        logger.info("Experiment %s, run %s", experiment_name, run_name)
        return super().init_experiment(experiment_name, run_name, nested)

    def log_params(self, params: dict[str, Any]) -> None:
        for key, value in flatten_params(params).items():
            logger.info("param %s = %s", key, value)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        shown = ", ".join(f"{key}={value:.6g}" for key, value in metrics.items())
        logger.info("step %s: %s", step, shown)
