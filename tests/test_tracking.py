"""Experiment tracking: MLflow with a local store, an unreachable server, and the stdout logger."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.modeling.optimization import initialize_optimizer
from farm.tracking import Tracker, get_tracker, set_tracker
from farm.train import EarlyStopping, Trainer
from farm.utils import MLFlowLogger, StdoutLogger, set_all_seeds
from tests.farm_helpers import (
    make_model,
    make_processor,
    make_trainer,
    write_separable_data,
)

mlflow = pytest.importorskip("mlflow")

LEARNING_RATE = 1e-3


@pytest.fixture(autouse=True)
def no_tracker_afterwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Leave no active tracker, MLflow run or tracking URI behind (and MLflow's ``./mlruns``
    artifact folder in ``tmp_path``)."""
    monkeypatch.chdir(tmp_path)
    yield
    set_tracker(None)
    if mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def short_training(model_dir: Path, data_dir: Path) -> tuple[Trainer, DataSilo]:
    """Build the data silo and train a tiny model for one epoch, with tracking active."""
    set_all_seeds(42)
    write_separable_data(data_dir, n_train=16, n_test=4)
    data_silo = DataSilo(make_processor(model_dir, data_dir), batch_size=4)
    trainer = make_trainer(make_model(model_dir), data_silo, epochs=1,
                           learning_rate=LEARNING_RATE, evaluate_every=2, log_loss_every=1)
    trainer.train()
    return trainer, data_silo


def closed_port() -> int:
    """A local TCP port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mlflow_logs_params_and_metrics_to_a_local_store(tiny_bert_dir: Path,
                                                         tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    ml_logger = MLFlowLogger(tracking_uri=tracking_uri)
    ml_logger.init_experiment(experiment_name="farm-tests", run_name="tiny")
    assert get_tracker() is ml_logger
    run_id = ml_logger.run_id
    assert run_id is not None
    trainer, data_silo = short_training(tiny_bert_dir, tmp_path / "data")
    ml_logger.end_run()

    client = mlflow.tracking.MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    assert run.info.run_name == "tiny"
    params = run.data.params
    assert params["n_samples_train"] == str(data_silo.counts["train"])
    assert params["n_samples_test"] == "4"
    assert params["batch_size"] == "4"
    assert params["learning_rate"] == str(LEARNING_RATE)
    assert params["optimizer"] == "AdamW"
    n_steps = trainer.global_step
    assert params["lr_schedule"] == "LinearWarmup"  # FARM's name, not torch's LambdaLR
    assert params["lr_schedule.warmup_proportion"] == "0.1"
    assert params["lr_schedule.num_warmup_steps"] == str(int(0.1 * n_steps))
    assert params["lr_schedule.num_training_steps"] == str(n_steps)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    train_loss = client.get_metric_history(run_id, "train_loss")
    assert [m.step for m in train_loss] == list(range(1, trainer.global_step + 1))
    dev_acc = client.get_metric_history(run_id, "dev_acc_text_classification")
    assert [m.step for m in dev_acc] == list(range(2, trainer.global_step + 1, 2))
    assert trainer.test_result is not None
    metrics = run.data.metrics
    assert metrics["test_acc_text_classification"] == pytest.approx(trainer.test_result[0]["acc"])
    assert params["model.model_type"] == "bert" and params["trainer.epochs"] == "1"
    plots = [a.path for a in client.list_artifacts(run_id, "plots")]
    assert plots == ["plots/training_curves.png"]
    assert metrics["test_loss_text_classification"] == pytest.approx(
        trainer.test_result[0]["loss"]
    )
    assert run.info.status == "FINISHED"


def test_model_artifact_holds_the_model_not_the_checkpoints_beside_it(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    ml_logger = MLFlowLogger(tracking_uri=tracking_uri)
    ml_logger.init_experiment(experiment_name="farm-tests", run_name="artifacts")
    set_all_seeds(42)
    data_dir = write_separable_data(tmp_path / "data", n_train=16, n_test=4)
    data_silo = DataSilo(make_processor(tiny_bert_dir, data_dir), batch_size=4)
    folder = tmp_path / "saved"  # as in FARM's tutorial: one folder for both
    trainer = make_trainer(make_model(tiny_bert_dir), data_silo, epochs=1, evaluate_every=1,
                           early_stopping=EarlyStopping(save_dir=folder, metric="acc",
                                                        mode="max"),
                           checkpoint_every=1, checkpoint_root_dir=folder)
    trainer.train()
    ml_logger.end_run()
    assert any(p.name.startswith("step_") for p in folder.iterdir())
    client = mlflow.tracking.MlflowClient(tracking_uri)
    uploaded = {Path(a.path).name for a in client.list_artifacts(ml_logger.run_id, "model")}
    if "MLmodel" in uploaded:  # an MLflow model (with pandas): the FARM folder is inside
        uploaded = {Path(a.path).name for a in client.list_artifacts(ml_logger.run_id,
                                                                     "model/data/farm_model")}
    assert "farm_model.json" in uploaded and "language_model" in uploaded
    assert not [name for name in uploaded if name.startswith("step_")]


def test_a_run_left_open_is_finished_when_the_process_exits(tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    script = (
        "from farm.utils import MLFlowLogger\n"
        f"logger = MLFlowLogger({tracking_uri!r}).init_experiment('farm-tests', 'open')\n"
        "logger.log_metrics({'train_loss': 0.5}, step=1)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    client = mlflow.tracking.MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("farm-tests")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"train_loss": 0.5}


def test_unreachable_server_warns_and_training_completes(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    uri = f"http://127.0.0.1:{closed_port()}"
    with caplog.at_level(logging.WARNING, logger="farm.tracking.mlflow"):
        ml_logger = MLFlowLogger(tracking_uri=uri)
        ml_logger.init_experiment(experiment_name="farm-tests", run_name="offline")
        trainer, _ = short_training(tiny_bert_dir, tmp_path / "data")
    warnings = [r for r in caplog.records
                if r.levelno == logging.WARNING and r.name == "farm.tracking.mlflow"]
    assert len(warnings) == 1
    assert uri in warnings[0].getMessage()
    assert "Training goes on" in warnings[0].getMessage()
    assert ml_logger.run_id is None
    assert not ml_logger.flush(timeout=0.1)  # the records wait for the server
    assert trainer.global_step == len(trainer.data_silo.loaders["train"])
    assert trainer.test_result is not None
    ml_logger.end_run(timeout=5)


def test_stdout_logger_logs_params_and_metrics(tiny_bert_dir: Path, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="farm.tracking.stdout"):
        StdoutLogger().init_experiment(experiment_name="farm-tests", run_name="stdout")
        trainer, data_silo = short_training(tiny_bert_dir, tmp_path / "data")
    messages = [r.getMessage() for r in caplog.records if r.name == "farm.tracking.stdout"]
    assert "Experiment farm-tests, run stdout" in messages
    assert f"param n_samples_train = {data_silo.counts['train']}" in messages
    assert f"param learning_rate = {LEARNING_RATE}" in messages
    assert sum("train_loss=" in m for m in messages) == trainer.global_step
    assert any(m.startswith("step 2:") and "dev_acc_text_classification=" in m
               for m in messages)
    assert any("test_acc_text_classification=" in m for m in messages)


def test_tensorboard_logger_writes_the_training_curves(tiny_bert_dir: Path,
                                                       tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from farm.utils import TensorBoardLogger

    tracker = TensorBoardLogger(tmp_path / "runs")
    tracker.init_experiment(experiment_name="farm tests", run_name="tiny/1")
    trainer, _ = short_training(tiny_bert_dir, tmp_path / "data")
    tracker.end_run()
    assert tracker.run_dir == tmp_path / "runs" / "farm_tests" / "tiny_1"
    events = EventAccumulator(str(tracker.run_dir))
    events.Reload()
    scalars = events.Tags()["scalars"]
    losses = events.Scalars("train_loss")
    assert [e.step for e in losses] == list(range(1, trainer.global_step + 1))
    assert {"dev_acc_text_classification", "test_acc_text_classification"} <= set(scalars)
    assert "parameters/text_summary" in events.Tags()["tensors"]


class FlakyClient:
    """An MLflow client whose server is away for the first ``failures`` calls."""

    def __init__(self, client: object, failures: int):
        self.client = client
        self.failures = failures

    def __getattr__(self, name: str) -> object:
        method = getattr(self.client, name)

        def call(*args: object, **kwargs: object) -> object:
            if self.failures > 0:
                self.failures -= 1
                raise ConnectionError("server away")
            return method(*args, **kwargs)

        return call


def test_logging_resumes_when_the_server_comes_back(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    ml_logger = MLFlowLogger(tracking_uri=tracking_uri, retry_interval=0.01)
    ml_logger.init_experiment(experiment_name="farm-tests", run_name="flaky")
    ml_logger._client = FlakyClient(ml_logger._client, failures=5)
    with caplog.at_level(logging.WARNING, logger="farm.tracking.mlflow"):
        trainer, _ = short_training(tiny_bert_dir, tmp_path / "data")
        ml_logger.end_run()
    assert "cannot log to" in caplog.text and "logging resumed" in caplog.text
    client = mlflow.tracking.MlflowClient(tracking_uri)
    assert ml_logger.run_id is not None
    history = client.get_metric_history(ml_logger.run_id, "train_loss")
    assert [m.step for m in history] == list(range(1, trainer.global_step + 1))
    assert client.get_run(ml_logger.run_id).info.status == "FINISHED"


def test_resumed_training_continues_the_same_mlflow_run(tiny_bert_dir: Path,
                                                       tmp_path: Path) -> None:
    from tests.test_resume import build, interrupt_at

    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    data_dir = write_separable_data(tmp_path / "data", n_train=24, n_test=4)
    first_logger = MLFlowLogger(tracking_uri=tracking_uri)
    first_logger.init_experiment(experiment_name="farm-tests", run_name="spot")
    trainer = build(tiny_bert_dir, data_dir, tmp_path / "ckpt", log_loss_every=1)
    interrupt_at(trainer, 4)
    with pytest.raises(SystemExit):
        trainer.train()
    first_logger.flush()
    original_run = first_logger.run_id

    second_logger = MLFlowLogger(tracking_uri=tracking_uri)
    second_logger.init_experiment(experiment_name="farm-tests", run_name="spot (restarted)")
    resumed = build(tiny_bert_dir, data_dir, tmp_path / "ckpt", log_loss_every=1)
    resumed.train()
    second_logger.end_run()
    assert second_logger.run_id == original_run
    client = mlflow.tracking.MlflowClient(tracking_uri)
    steps = [m.step for m in client.get_metric_history(original_run, "train_loss")]
    assert steps == list(range(1, resumed.global_step + 1))


def test_the_experiment_kind_is_set_once_and_a_chosen_one_is_kept(tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = mlflow.tracking.MlflowClient(tracking_uri)
    untagged = client.create_experiment("made elsewhere")
    chosen = client.create_experiment("chosen in the UI",
                                      tags={"mlflow.experimentKind": "genai_development"})
    for name in ("made elsewhere", "chosen in the UI"):
        ml_logger = MLFlowLogger(tracking_uri=tracking_uri)
        ml_logger.init_experiment(experiment_name=name)
        ml_logger.end_run()
    kind = "mlflow.experimentKind"
    assert client.get_experiment(untagged).tags[kind] == "custom_model_development"
    assert client.get_experiment(chosen).tags[kind] == "genai_development"


class Recorder(Tracker):
    """Keeps what is logged."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.metrics: list[tuple[int | None, dict[str, float]]] = []

    def log_params(self, params: dict[str, Any]) -> None:
        self.params.update(params)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.metrics.append((step, metrics))


@pytest.mark.parametrize("log_loss_every", [10, 3])
def test_the_loss_of_the_last_step_is_always_logged(tiny_bert_dir: Path, tmp_path: Path,
                                                    log_loss_every: int) -> None:
    recorder = Recorder()
    recorder.init_experiment("farm-tests")
    set_all_seeds(42)
    data_dir = write_separable_data(tmp_path / "data", n_train=24, n_test=4)
    data_silo = DataSilo(make_processor(tiny_bert_dir, data_dir), batch_size=4)
    trainer = make_trainer(make_model(tiny_bert_dir), data_silo, epochs=1,
                           log_loss_every=log_loss_every)
    trainer.train()
    n_steps = trainer.global_step
    assert n_steps < 10 and n_steps % 3 != 0
    steps = [step for step, metrics in recorder.metrics if "train_loss" in metrics]
    assert steps == [*range(log_loss_every, n_steps + 1, log_loss_every), n_steps]
    assert trainer.record.history["train_loss"][-1][0] == n_steps


@pytest.mark.parametrize(("schedule_opts", "expected"), [
    ({"name": "CosineWarmup", "num_warmup_steps": 2},
     {"lr_schedule": "CosineWarmup", "lr_schedule.num_warmup_steps": 2,
      "lr_schedule.num_training_steps": 10}),
    ({"name": "LinearWarmup", "warmup_proportion": 0.3, "num_training_steps": 20},
     {"lr_schedule": "LinearWarmup", "lr_schedule.warmup_proportion": 0.3,
      "lr_schedule.num_warmup_steps": 6, "lr_schedule.num_training_steps": 20}),
    ({"name": "StepLR", "step_size": 3}, {"lr_schedule": "StepLR", "lr_schedule.step_size": 3}),
    ({"name": None}, {"lr_schedule": None}),
])
def test_the_schedule_is_logged_by_name_with_its_settings(
    schedule_opts: dict[str, Any], expected: dict[str, Any]
) -> None:
    recorder = Recorder()
    recorder.init_experiment("farm-tests")
    initialize_optimizer(torch.nn.Linear(2, 2), n_batches=5, n_epochs=2, device="cpu",
                         learning_rate=0.1, schedule_opts=schedule_opts)
    logged = {k: v for k, v in recorder.params.items() if k.startswith("lr_schedule")}
    assert logged == expected


def test_a_record_the_store_refuses_is_dropped_and_logging_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    ml_logger = MLFlowLogger(tracking_uri=tracking_uri, flush_timeout=60)
    ml_logger.init_experiment(experiment_name="farm-tests", run_name="refused")
    with caplog.at_level(logging.WARNING, logger="farm.tracking.mlflow"):
        ml_logger.log_params({"batch_size": 4})
        ml_logger.log_params({"batch_size": 8})  # MLflow does not allow changing a value
        ml_logger.log_metrics({"train_loss": 0.5}, step=1)
        ml_logger.end_run()
    assert "refused a record" in caplog.text and "cannot log to" not in caplog.text
    assert "1 records were refused" in caplog.text
    run = mlflow.tracking.MlflowClient(tracking_uri).get_run(ml_logger.run_id)
    assert run.data.params["batch_size"] == "4"
    assert run.data.metrics == {"train_loss": 0.5}
    assert run.info.status == "FINISHED"


def test_mlflow_logger_disable_silences_every_logger(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """FARM's ``MLFlowLogger.disable()``: afterwards no logger creates a run or logs."""
    monkeypatch.setattr(MLFlowLogger, "_all_disabled", False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    before = MLFlowLogger(tracking_uri=uri)
    assert not before.disabled
    MLFlowLogger.disable()
    after = MLFlowLogger(tracking_uri=uri)
    assert before.disabled and after.disabled
    after.init_experiment("silenced", run_name="none")
    after.log_metrics({"acc": 1.0}, step=1)
    after.end_run()
    assert after.run_id is None
    assert not (tmp_path / "mlflow.db").exists()
