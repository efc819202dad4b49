"""MLflow tracking that never stops, slows or crashes a training run.

Every call is put on a queue that a background thread sends to MLflow. If the tracking
server goes away, the thread warns once, keeps the queued records and retries; when the
server is back, logging resumes where it stopped. Training never waits for the server.
"""

from __future__ import annotations

import atexit
import logging
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from farm.tracking.base import Tracker, flatten_params

logger = logging.getLogger(__name__)

_MAX_PARAM_CHARS = 6000  # MLflow rejects longer parameter values


class MLFlowLogger(Tracker):
    """Log parameters, metrics and artifacts of a run to MLflow.

    Any tracking URI MLflow accepts works: a local ``sqlite:///path/mlflow.db`` or
    ``file:/path/mlruns`` store needs no server.

    Args:
        tracking_uri (str): Where MLflow stores the runs.
        disable_logging (bool): Keep the logger but log nothing (e.g. on non-zero ranks).
        retry_interval (float): Seconds between attempts while the server is unreachable.
        max_queued (int): Records kept while the server is unreachable; beyond that the
            oldest are dropped (and counted in a warning).

    Example:
        >>> from farm.utils import MLFlowLogger
        >>> ml_logger = MLFlowLogger(tracking_uri="sqlite:///mlflow.db")
        >>> ml_logger.init_experiment(experiment_name="Public_FARM", run_name="nsmc")
    """

    wants_artifacts = True

    def __init__(
        self,
        tracking_uri: str,
        disable_logging: bool = False,
        retry_interval: float = 30.0,
        max_queued: int = 100_000,
    ):
        self.tracking_uri = tracking_uri
        self.disabled = disable_logging
        self.retry_interval = retry_interval
        self.run_id: str | None = None
        self._queue: queue.Queue[Callable[[Any], None] | None] = queue.Queue(max_queued)
        self._client: Any = None
        self._worker: threading.Thread | None = None
        self._outage_since: float | None = None
        self._dropped = 0
        self._wake = threading.Event()
        self._ended = False

    def init_experiment(
        self, experiment_name: str, run_name: str | None = None, nested: bool = False
    ) -> Tracker:
        super().init_experiment(experiment_name, run_name, nested)
        if self.disabled:
            return self
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient(self.tracking_uri)
        parent = self.run_id if nested else None
        self._ended = False

        def start(client: Any) -> None:
            experiment = client.get_experiment_by_name(experiment_name)
            experiment_id = (experiment.experiment_id if experiment
                             else client.create_experiment(experiment_name))
            tags = {"mlflow.parentRunId": parent} if parent else None
            self.run_id = client.create_run(experiment_id, run_name=run_name,
                                            tags=tags).info.run_id

        if _server_reachable(self.tracking_uri):
            try:
                start(self._client)
            except Exception as error:  # the run is started later by the sender thread
                self._warn_outage(error)
                self._enqueue(start)
        else:
            self._warn_outage(ConnectionError(f"{self.tracking_uri} does not answer"))
            self._enqueue(start)
        self._start_worker()
        return self

    def resume_run(self, run_id: str) -> None:
        """Continue logging into an earlier run (a training run resumed from a checkpoint)."""
        if self.disabled or self._client is None:
            return
        previous = self.run_id
        self._ended = False

        def resume(client: Any) -> None:
            if previous and previous != run_id:
                client.set_terminated(previous, status="KILLED")
            client.update_run(run_id, status="RUNNING")
            self.run_id = run_id

        self._enqueue(resume)
        logger.info("MLflow: continuing run %s", run_id)

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        flat = {k: v[:_MAX_PARAM_CHARS] for k, v in flatten_params(params).items()}
        records = [Param(k, v) for k, v in flat.items()]
        self._enqueue(lambda client: client.log_batch(self._run(), params=records))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        records = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        self._enqueue(lambda client: client.log_batch(self._run(), metrics=records))

    def log_artifacts(self, dir_path: str, artifact_path: str | None = None) -> None:
        """Send the files of ``dir_path`` (copied now, so the folder may change later)."""
        if self.disabled or self._client is None:
            return
        staged = Path(tempfile.mkdtemp(prefix="farm-mlflow-"))
        shutil.copytree(dir_path, staged, dirs_exist_ok=True)

        def send(client: Any) -> None:
            client.log_artifacts(self._run(), str(staged), artifact_path)
            shutil.rmtree(staged, ignore_errors=True)

        self._enqueue(send)

    def end_run(self, timeout: float = 30.0) -> None:
        """Finish the run, waiting up to ``timeout`` seconds for queued records. A run still
        open when the process exits is finished then (as MLflow itself does)."""
        if self.disabled or self._client is None or self._ended:
            return
        self._ended = True
        self._enqueue(lambda client: client.set_terminated(self._run()))
        self.flush(timeout)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued was sent; False (with a warning) on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._queue.unfinished_tasks:
            reason = "server unreachable" if self._outage_since is not None else "still sending"
            logger.warning("MLflow: %d records not sent yet (%s).", self._queue.unfinished_tasks,
                           reason)
            return False
        return True

    def _end_at_exit(self) -> None:
        """At interpreter exit: finish an open run, waiting for uploads still in progress
        (minutes for a large model), but only seconds while the server is away."""
        self.end_run(timeout=5.0 if self._outage_since is not None else 600.0)

    def _run(self) -> str:
        if self.run_id is None:
            raise RuntimeError("the MLflow run has not been started")
        return self.run_id

    def _enqueue(self, operation: Callable[[Any], None]) -> None:
        if self.disabled or self._client is None:
            return
        while True:
            try:
                self._queue.put_nowait(operation)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self._queue.task_done()
                    self._dropped += 1
                except queue.Empty:
                    pass
                if self._dropped in (1, 1000) or self._dropped % 10_000 == 0:
                    logger.warning("MLflow: queue full, %d oldest records dropped.",
                                   self._dropped)

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._send_forever, daemon=True,
                                            name="farm-mlflow")
            self._worker.start()
            atexit.register(self._end_at_exit)

    def _send_forever(self) -> None:
        while True:
            operation = self._queue.get()
            if operation is None:
                self._queue.task_done()
                return
            while True:
                try:
                    operation(self._client)
                    break
                except Exception as error:  # the server is away: keep the record, retry
                    self._warn_outage(error)
                    self._wake.wait(self.retry_interval)
                    self._wake.clear()
            if self._outage_since is not None:
                logger.warning("MLflow: the tracking server is back; logging resumed after "
                               "%.0f s.", time.monotonic() - self._outage_since)
                self._outage_since = None
            self._queue.task_done()

    def _warn_outage(self, error: Exception) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            logger.warning(
                "MLflow: cannot log to %s (%r). Training goes on; records are kept and sent "
                "when the server answers again (retry every %.0f s).",
                self.tracking_uri, error, self.retry_interval,
            )


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
