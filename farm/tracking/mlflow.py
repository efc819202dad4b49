"""MLflow tracking that never stops a training run."""

from __future__ import annotations

import logging
import socket
from typing import Any
from urllib.parse import urlparse

from farm.tracking.base import Tracker, flatten_params

logger = logging.getLogger(__name__)

_MAX_PARAM_CHARS = 6000  # MLflow rejects longer parameter values


class MLFlowLogger(Tracker):
    """Log parameters and metrics of a run to MLflow.

    Any tracking URI MLflow accepts works: a local ``sqlite:///path/mlflow.db`` or
    ``file:/path/mlruns`` store needs no server. If the server cannot be reached, or MLflow
    fails later, a warning is logged once and training goes on without tracking.

    Args:
        tracking_uri (str): Where MLflow stores the runs.
        disable_logging (bool): Keep the logger but log nothing (e.g. on non-zero ranks).

    Example:
        >>> from farm.utils import MLFlowLogger
        >>> ml_logger = MLFlowLogger(tracking_uri="sqlite:///mlflow.db")
        >>> ml_logger.init_experiment(experiment_name="Public_FARM", run_name="nsmc")
    """

    def __init__(self, tracking_uri: str, disable_logging: bool = False):
        self.tracking_uri = tracking_uri
        self.disabled = disable_logging
        self.run_id: str | None = None

    def init_experiment(
        self, experiment_name: str, run_name: str | None = None, nested: bool = False
    ) -> Tracker:
        super().init_experiment(experiment_name, run_name, nested)
        if self.disabled:
            return self
        if not _server_reachable(self.tracking_uri):
            self._give_up(f"the tracking server {self.tracking_uri} cannot be reached")
            return self
        try:
            import mlflow

            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_experiment(experiment_name)
            run = mlflow.start_run(run_name=run_name, nested=nested)
            self.run_id = run.info.run_id
        except Exception as error:  # tracking must never stop training
            self._give_up(f"starting the MLflow run failed ({error!r})")
        return self

    def log_params(self, params: dict[str, Any]) -> None:
        flat = {k: v[:_MAX_PARAM_CHARS] for k, v in flatten_params(params).items()}
        self._call("log_params", flat)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self._call("log_metrics", {k: float(v) for k, v in metrics.items()}, step=step)

    def log_artifacts(self, dir_path: str) -> None:
        self._call("log_artifacts", dir_path)

    def end_run(self) -> None:
        self._call("end_run")
        self.run_id = None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self.disabled or self.run_id is None:
            return
        try:
            import mlflow

            getattr(mlflow, method)(*args, **kwargs)
        except Exception as error:  # tracking must never stop training
            self._give_up(f"mlflow.{method} failed ({error!r})")

    def _give_up(self, reason: str) -> None:
        logger.warning("MLflow tracking is switched off for this run: %s.", reason)
        self.disabled = True


def _server_reachable(tracking_uri: str, timeout: float = 3.0) -> bool:
    """True unless ``tracking_uri`` is an HTTP(S) server that does not accept connections."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return True
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False
