"""MLflow tracking that never stops, slows or crashes a training run.

Every call is put on a queue that a background thread sends to MLflow, with short HTTP
timeouts and few retries. If the tracking server fails or does not answer, the thread warns
once, keeps the queued records and retries; when the server is back, logging resumes where
it stopped. Training waits for the server at two points only, each bounded: up to
``timeout`` seconds for the run to start, and up to ``flush_timeout`` seconds in ``end_run``.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import queue
import shutil
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
# The experiment tag MLflow 3's UI reads to choose its view; without it, a new experiment
# opens in the GenAI view ("Send your first trace"). This value is its "Machine learning".
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
CLASSIC_ML_KIND = "custom_model_development"

Operation = Callable[[Any], None]


class _RunNotStarted(RuntimeError):
    """A record for a run whose start MLflow refused."""


class MLFlowLogger(Tracker):
    """Log parameters, metrics, artifacts and the trained model of a run to MLflow.

    Any tracking URI MLflow accepts works: a local ``sqlite:///path/mlflow.db`` or
    ``file:/path/mlruns`` store needs no server.

    Args:
        tracking_uri (str): Where MLflow stores the runs.
        disable_logging (bool): Keep the logger but log nothing (e.g. on non-zero ranks).
        retry_interval (float): Seconds between attempts while the server is unreachable.
        max_queued (int): Records kept while the server is unreachable; beyond that the
            oldest are dropped (and counted in a warning).
        timeout (float): Seconds an HTTP(S) tracking server has to accept a connection and to
            answer a request (MLflow's ``MLFLOW_HTTP_REQUEST_TIMEOUT``, whole seconds), and
            the longest ``init_experiment`` waits for the run to be created.
        max_retries (int): Retries of a failed request before the attempt counts as failed
            (MLflow's ``MLFLOW_HTTP_REQUEST_MAX_RETRIES``).
        flush_timeout (float): The longest ``end_run`` waits for queued records to be sent;
            what is still unsent then is dropped, with a warning that counts it.

    Example:
        >>> from farm.utils import MLFlowLogger
        >>> ml_logger = MLFlowLogger(tracking_uri="sqlite:///mlflow.db")
        >>> ml_logger.init_experiment(experiment_name="Public_FARM", run_name="nsmc")
    """

    wants_artifacts = True
    _all_disabled = False  # set by MLFlowLogger.disable()

    def __init__(
        self,
        tracking_uri: str,
        disable_logging: bool = False,
        retry_interval: float = 30.0,
        max_queued: int = 100_000,
        timeout: float = 10.0,
        max_retries: int = 2,
        flush_timeout: float = 120.0,
    ):
        for name, value in (("timeout", timeout), ("retry_interval", retry_interval),
                            ("flush_timeout", flush_timeout), ("max_retries", max_retries)):
            if value < 0 or (name == "timeout" and value == 0):
                raise ValueError(f"MLFlowLogger: {name} must be "
                                 f"{'positive' if name == 'timeout' else 'zero or more'}; "
                                 f"got {value}.")
        self.tracking_uri = tracking_uri
        self._disabled = disable_logging
        self.retry_interval = retry_interval
        self.timeout = timeout
        self.max_retries = max_retries
        self.flush_timeout = flush_timeout
        self.run_id: str | None = None
        self._remote = urlparse(tracking_uri).scheme in ("http", "https")
        self._queue: queue.Queue[tuple[int, Operation]] = queue.Queue(max_queued)
        self._client: Any = None
        self._worker: threading.Thread | None = None
        self._outage_since: float | None = None
        self._failures = 0  # failed attempts so far
        self._epoch = 0  # raised when the queue is dropped: older records are abandoned
        self._dropped = 0
        self._refused = 0
        self._wake = threading.Event()
        self._ended = False
        self._holds_http_limits = False
        self._staged: set[Path] = set()  # folders copied for uploads not sent yet

    @property
    def disabled(self) -> bool:
        """Whether this logger logs nothing (``disable_logging`` or :meth:`disable`)."""
        return self._disabled or MLFlowLogger._all_disabled

    @classmethod
    def disable(cls) -> None:
        """Make every MLFlowLogger of this process log nothing from now on (FARM's
        ``MLFlowLogger.disable()``, e.g. before inference in a process that also trains)."""
        cls._all_disabled = True

    def init_experiment(
        self, experiment_name: str, run_name: str | None = None, nested: bool = False
    ) -> Tracker:
        """Start a run; returns once it is created, or after ``timeout`` seconds at most
        with an HTTP(S) server (the run is then created in the background)."""
        super().init_experiment(experiment_name, run_name, nested)
        if self.disabled:
            return self
        from mlflow.tracking import MlflowClient

        if self._remote and not self._holds_http_limits:
            _http_limits.acquire(self.timeout, self.max_retries)
            self._holds_http_limits = True
        self._client = MlflowClient(self.tracking_uri)
        parent = self.run_id if nested else None
        self._ended = False
        attempted = threading.Event()

        def start(client: Any) -> None:
            try:
                experiment_id = _classic_experiment(client, experiment_name)
                tags = {"mlflow.parentRunId": parent} if parent else None
                self.run_id = client.create_run(experiment_id, run_name=run_name,
                                                tags=tags).info.run_id
            except Exception as error:
                if not _is_refusal(error):
                    self._warn_outage(error)
                raise
            finally:
                attempted.set()

        self._enqueue(start)
        self._start_worker()
        # A local store answers (or fails) on its own; a server gets ``timeout`` seconds.
        if not attempted.wait(self.timeout if self._remote else None):
            self._warn_outage(TimeoutError(f"no answer within {self.timeout:g} s"))
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
        self._enqueue_upload(staged, artifact_path)

    def log_model(self, model_dir: str, artifact_path: str = "model") -> None:
        """Send a saved FARM model as an MLflow model with a pyfunc flavour, so that
        ``mlflow.pyfunc.load_model("runs:/<run_id>/model").predict(...)``, ``mlflow models
        serve`` and the model registry work. The FARM folder is inside it, under
        ``data/farm_model/``. Without pandas (which MLflow's pyfunc needs) the plain FARM
        folder is sent instead, with a warning."""
        if self.disabled or self._client is None:
            return
        staged = Path(tempfile.mkdtemp(prefix="farm-mlflow-"))
        try:
            from farm.tracking.pyfunc import save_pyfunc_model
        except ImportError as error:
            logger.warning("MLflow: %s, so the model is logged as plain files (loadable with "
                           "Inferencer.load), not as an MLflow model: install farm[mlflow] "
                           "for mlflow.pyfunc and the model registry.", error)
            shutil.copytree(model_dir, staged, dirs_exist_ok=True)
        else:
            staged.rmdir()
            save_pyfunc_model(model_dir, staged)
        self._enqueue_upload(staged, artifact_path)

    def end_run(self, timeout: float | None = None) -> None:
        """Finish the run, waiting up to ``timeout`` seconds (default: ``flush_timeout``)
        for queued records; the rest are dropped with a warning. A run still open when the
        process exits is finished then (as MLflow itself does)."""
        if self.disabled or self._client is None or self._ended:
            return
        self._ended = True
        self._enqueue(lambda client: client.set_terminated(self._run()))
        started = time.monotonic()
        if not self._wait_until_sent(self.flush_timeout if timeout is None else timeout):
            state = self._state()
            dropped = self._drop_queue()
            logger.warning(
                "MLflow: %d records not sent after %.0f s (%s) are dropped; the run at %s "
                "misses them.%s", dropped, time.monotonic() - started, state,
                self.tracking_uri, "" if state == "server unreachable" else
                " Give MLFlowLogger(flush_timeout=...) more time to keep them.",
            )
        if self._refused:
            logger.warning("MLflow: %d records were refused by %s (see the first warning).",
                           self._refused, self.tracking_uri)
        if self._holds_http_limits:
            _http_limits.release()
            self._holds_http_limits = False

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued was sent; False (with a warning) if that did not
        happen within ``timeout`` seconds (default: ``flush_timeout``), or as soon as an
        attempt fails while waiting (the server is away: waiting longer does not help)."""
        if self._wait_until_sent(self.flush_timeout if timeout is None else timeout):
            return True
        logger.warning("MLflow: %d records not sent yet (%s).", self._queue.unfinished_tasks,
                       self._state())
        return False

    def _wait_until_sent(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        failures = self._failures
        self._wake.set()  # retry now rather than after retry_interval
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            if self._failures > failures:
                break
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _state(self) -> str:
        return "server unreachable" if self._outage_since is not None else "still sending"

    def _end_at_exit(self) -> None:
        """At interpreter exit: finish an open run (waiting at most ``flush_timeout``)."""
        self.end_run()

    def _run(self) -> str:
        if self.run_id is None:
            raise _RunNotStarted("the MLflow run was not started (see the first warning)")
        return self.run_id

    def _enqueue_upload(self, staged: Path, artifact_path: str | None) -> None:
        self._staged.add(staged)

        def send(client: Any) -> None:
            client.log_artifacts(self._run(), str(staged), artifact_path)
            self._staged.discard(staged)
            shutil.rmtree(staged, ignore_errors=True)

        self._enqueue(send)

    def _enqueue(self, operation: Operation) -> None:
        if self.disabled or self._client is None:
            return
        while True:
            try:
                self._queue.put_nowait((self._epoch, operation))
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

    def _drop_queue(self) -> int:
        """Abandon every unsent record (the one being sent included); returns their count."""
        pending = self._queue.unfinished_tasks
        self._epoch += 1
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
        self._wake.set()  # the record in flight is abandoned at its next retry
        for staged in list(self._staged):  # copies of files that will not be sent
            self._staged.discard(staged)
            shutil.rmtree(staged, ignore_errors=True)
        return pending

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._send_forever, daemon=True,
                                            name="farm-mlflow")
            self._worker.start()
            atexit.register(self._end_at_exit)

    def _send_forever(self) -> None:
        while True:
            epoch, operation = self._queue.get()
            while epoch == self._epoch:
                try:
                    operation(self._client)
                    break
                except Exception as error:
                    if _is_refusal(error):
                        self._refuse(error)
                        break
                    self._failures += 1
                    self._warn_outage(error)  # the server is away: keep the record, retry
                    self._wake.wait(self.retry_interval)
                    self._wake.clear()
            else:
                self._queue.task_done()
                continue
            if self._outage_since is not None:
                logger.warning("MLflow: the tracking server is back; logging resumed after "
                               "%.0f s.", time.monotonic() - self._outage_since)
                self._outage_since = None
            self._queue.task_done()

    def _refuse(self, error: Exception) -> None:
        """A record the store answered with a client error (retrying cannot help)."""
        self._refused += 1
        if self._refused == 1:
            logger.warning("MLflow: %s refused a record (%s); it is dropped and logging goes "
                           "on.", self.tracking_uri, _short(error))

    def _warn_outage(self, error: Exception) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            logger.warning(
                "MLflow: cannot log to %s (%s). Training goes on; records are kept and sent "
                "when the server answers again (retry every %.0f s).",
                self.tracking_uri, _short(error), self.retry_interval,
            )


def _classic_experiment(client: Any, name: str) -> str:
    """The id of experiment ``name`` (created if missing), marked for MLflow's classic
    machine-learning view unless it already has a kind (one chosen in the UI is kept)."""
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return str(client.create_experiment(name, tags={EXPERIMENT_KIND_TAG:
                                                            CLASSIC_ML_KIND}))
        except MlflowException as error:  # created meanwhile by another process
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, CLASSIC_ML_KIND)
    return str(experiment.experiment_id)


def _short(error: Exception, limit: int = 300) -> str:
    """The error in one line of at most ``limit`` characters (a server's 500 page is long)."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= limit else f"{text[:limit]}..."


def _is_refusal(error: Exception) -> bool:
    """Whether ``error`` is a refusal that retrying cannot change (an MLflow client error,
    such as a changed parameter value), rather than a server that is away."""
    if isinstance(error, _RunNotStarted):
        return True
    from mlflow.exceptions import MlflowException

    if not isinstance(error, MlflowException):
        return False
    status = error.get_http_status_code()
    return 400 <= status < 500 and status not in (408, 429)


class _HttpLimits:
    """MLflow's HTTP settings while FARM has a run open on an HTTP(S) server.

    MLflow reads its request timeout and retries from environment variables at each request
    (defaults: 120 s and 7 retries with growing pauses, minutes per request). They are set
    while a run is open, only those the user has not set, and removed when the last open run
    ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._set: dict[str, str] = {}  # what FARM set, by name

    def acquire(self, timeout: float, max_retries: int) -> None:
        values = {
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(timeout))),
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(max_retries),
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
        }
        with self._lock:
            self._users += 1
            for name, value in values.items():
                if name not in os.environ:
                    os.environ[name] = self._set[name] = value

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                for name, value in self._set.items():
                    if os.environ.get(name) == value:
                        del os.environ[name]
                self._set.clear()


_http_limits = _HttpLimits()
