"""Training against broken MLflow tracking servers: local loopback servers started here, one
that answers 500 to everything and one that accepts connections and never answers."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from farm.data_handler.data_silo import DataSilo
from farm.tracking import set_tracker
from farm.utils import MLFlowLogger, set_all_seeds
from tests.farm_helpers import make_model, make_processor, make_trainer, write_separable_data

pytest.importorskip("mlflow")

TIMEOUT = 1.0  # the configured request timeout of these tests, in seconds
MAX_RETRIES = 1
# Generous: the defect took 247 s (answers 500) or forever (never answers) to the first step.
PROMPT = 15.0
HTTP_SETTINGS = ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")


class Failing(BaseHTTPRequestHandler):
    """Answers every request with 500 and counts them."""

    requests: list[str] = []

    def do_GET(self) -> None:
        Failing.requests.append(self.path)
        self.send_error(500)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def failing_server() -> Iterator[str]:
    Failing.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections, reads nothing and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.fixture(autouse=True)
def no_tracker_afterwards(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in HTTP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # to see what is left behind
    yield
    set_tracker(None)


def train_tracked(uri: str, model_dir: Path, data_dir: Path,
                  caplog: pytest.LogCaptureFixture) -> dict[str, float]:
    """Build a tiny run, start tracking to ``uri`` and train; the times (seconds after the
    start of ``init_experiment``) of its milestones, and its number of steps."""
    set_all_seeds(42)
    write_separable_data(data_dir, n_train=16, n_test=4)
    data_silo = DataSilo(make_processor(model_dir, data_dir), batch_size=4)
    trainer = make_trainer(make_model(model_dir), data_silo, epochs=1, log_loss_every=1)
    ml_logger = MLFlowLogger(tracking_uri=uri, timeout=TIMEOUT, max_retries=MAX_RETRIES,
                             flush_timeout=PROMPT)
    steps: list[float] = []
    log_metrics = ml_logger.log_metrics

    def record_step(metrics: dict[str, float], step: int | None = None) -> None:
        if "train_loss" in metrics:
            steps.append(time.monotonic())
        log_metrics(metrics, step)

    ml_logger.log_metrics = record_step  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="farm.tracking.mlflow"):
        began = time.monotonic()
        ml_logger.init_experiment(experiment_name="farm-tests", run_name="broken server")
        started = time.monotonic()
        during = {name: os.environ.get(name) for name in HTTP_SETTINGS}
        trainer.train()
        trained = time.monotonic()
        ml_logger.end_run()
        ended = time.monotonic()
    assert trainer.global_step == len(data_silo.loaders["train"]) == len(steps)
    assert trainer.test_result is not None
    assert during == {"MLFLOW_HTTP_REQUEST_TIMEOUT": "1", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                      "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    assert not {name for name in HTTP_SETTINGS if name in os.environ}  # restored
    assert not list(data_dir.parent.glob("farm-mlflow-*"))  # no copies of unsent files
    return {"init": started - began, "first_step": steps[0] - began,
            "end_run": ended - trained, "steps": len(steps)}


def farm_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and r.name == "farm.tracking.mlflow"]


def test_a_server_answering_500_neither_delays_nor_stops_training(
    failing_server: str, tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    times = train_tracked(failing_server, tiny_bert_dir, tmp_path / "data", caplog)
    assert times["first_step"] < PROMPT and times["end_run"] < PROMPT
    # One attempt at the start: the request and MAX_RETRIES retries, no more.
    first_attempt = [p for p in Failing.requests if "experiments/get-by-name" in p]
    assert len(first_attempt) <= 2 * (1 + MAX_RETRIES)  # the start, and one try in end_run
    warnings = farm_warnings(caplog)
    assert warnings[0].startswith(f"MLflow: cannot log to {failing_server} (MlflowException")
    assert "500" in warnings[0] and "Training goes on" in warnings[0]
    assert "records not sent after" in warnings[-1] and "are dropped" in warnings[-1]
    assert len(warnings) == 2


def test_a_server_that_never_answers_neither_delays_nor_stops_training(
    silent_server: str, tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    times = train_tracked(silent_server, tiny_bert_dir, tmp_path / "data", caplog)
    assert TIMEOUT <= times["init"] < PROMPT  # waited for the run, but only TIMEOUT
    assert times["first_step"] < PROMPT and times["end_run"] < PROMPT
    warnings = farm_warnings(caplog)
    assert warnings[0] == (f"MLflow: cannot log to {silent_server} (TimeoutError: no answer "
                           "within 1 s). Training goes on; records are kept and sent when the "
                           "server answers again (retry every 30 s).")
    dropped = int(warnings[-1].split()[1])
    # The start, the trainer's parameters, a loss per step, the test metrics, the end.
    assert dropped >= times["steps"] + 4
    assert "are dropped" in warnings[-1] and len(warnings) == 2


def test_user_settings_of_mlflow_http_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "7")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ml_logger = MLFlowLogger(f"http://127.0.0.1:{port}", timeout=TIMEOUT, max_retries=0,
                             retry_interval=0.05)
    ml_logger.init_experiment(experiment_name="farm-tests")
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
    ml_logger.end_run(timeout=5)
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be positive; got 0"):
        MLFlowLogger("http://127.0.0.1:1", timeout=0)
