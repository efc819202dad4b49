"""A tracker that writes TensorBoard event files (needs the ``tensorboard`` package)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from farm.errors import FarmError
from farm.tracking.base import Tracker, flatten_params

logger = logging.getLogger(__name__)


class TensorBoardLogger(Tracker):
    """Write metrics (and parameters, as a text table) to TensorBoard event files.

    Each run gets the folder ``<log_dir>/<experiment_name>/<run_name>``; view the runs with
    ``tensorboard --logdir <log_dir>``.

    Args:
        log_dir (str | Path): Root folder of the event files.
        disable_logging (bool): Keep the logger but write nothing (e.g. on non-zero ranks).

    Example:
        >>> from farm.utils import TensorBoardLogger
        >>> tracker = TensorBoardLogger("runs").init_experiment("sentiment", run_name="lr-5e-5")
        >>> tracker.log_metrics({"train_loss": 0.5}, step=10)
    """

    def __init__(self, log_dir: str | Path = "runs", disable_logging: bool = False):
        self.log_dir = Path(log_dir)
        self.disabled = disable_logging
        self.run_dir: Path | None = None
        self._writer: Any = None

    def init_experiment(
        self, experiment_name: str, run_name: str | None = None, nested: bool = False
    ) -> Tracker:
        super().init_experiment(experiment_name, run_name, nested)
        if self.disabled:
            return self
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise FarmError(
                "TensorBoardLogger needs the tensorboard package: pip install 'farm[tensorboard]'"
                " (or pip install tensorboard)."
            ) from error
        self.end_run()
        self.run_dir = self.log_dir / _safe(experiment_name) / _safe(run_name or "run")
        self._writer = SummaryWriter(log_dir=str(self.run_dir))
        logger.info("TensorBoard: writing run to %s", self.run_dir)
        return self

    def log_params(self, params: dict[str, Any]) -> None:
        if self._writer is None:
            return
        rows = "\n".join(f"| {k} | {v} |" for k, v in flatten_params(params).items())
        self._writer.add_text("parameters", "| parameter | value |\n|---|---|\n" + rows)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self._writer is None:
            return
        for name, value in metrics.items():
            self._writer.add_scalar(name, float(value), global_step=step or 0)

    def end_run(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _safe(name: str) -> str:
    """A folder name for an experiment or run name (no path separators)."""
    return re.sub(r"[^\w.=+-]+", "_", name).strip("_") or "run"
