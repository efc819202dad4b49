"""The trained model in MLflow: a pyfunc model that wraps ``Inferencer``, loadable with
``mlflow.pyfunc.load_model`` and registrable in the model registry (local sqlite store)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from farm.data_handler.data_silo import DataSilo
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.tracking import set_tracker
from farm.train import EarlyStopping
from farm.utils import MLFlowLogger, set_all_seeds
from tests.farm_helpers import make_model, make_processor, make_trainer, write_separable_data

mlflow = pytest.importorskip("mlflow")

TEXTS = ["good fine great", "bad awful poor", "fine good", "poor bad"]


@pytest.fixture(autouse=True)
def no_tracker_afterwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # MLflow's ./mlruns artifact folder
    yield
    set_tracker(None)
    mlflow.set_tracking_uri(None)


def train_and_log(model_dir: Path, tmp_path: Path) -> tuple[str, str, Path]:
    """Train a tiny model with early stopping (which saves it) and MLflow tracking; returns
    the tracking URI, the run id and the saved FARM folder."""
    tracking_uri = f"sqlite:///{tmp_path}/mlflow.db"
    ml_logger = MLFlowLogger(tracking_uri=tracking_uri)
    ml_logger.init_experiment(experiment_name="farm-tests", run_name="pyfunc")
    set_all_seeds(42)
    data_dir = write_separable_data(tmp_path / "data", n_train=16, n_test=4)
    data_silo = DataSilo(make_processor(model_dir, data_dir), batch_size=4)
    saved = tmp_path / "saved"
    trainer = make_trainer(make_model(model_dir), data_silo, epochs=1, evaluate_every=2,
                           early_stopping=EarlyStopping(save_dir=saved, metric="acc",
                                                        mode="max"))
    trainer.train()
    ml_logger.end_run()
    assert ml_logger.run_id is not None
    return tracking_uri, ml_logger.run_id, saved


def test_the_logged_model_predicts_through_mlflow_pyfunc_and_the_registry(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")  # MLflow's pyfunc needs it (the mlflow extra has it)
    tracking_uri, run_id, saved = train_and_log(tiny_bert_dir, tmp_path)
    client = mlflow.tracking.MlflowClient(tracking_uri)
    files = {a.path for a in client.list_artifacts(run_id, "model")}
    assert {"model/MLmodel", "model/data", "model/requirements.txt"} <= files
    farm_files = {Path(a.path).name for a in client.list_artifacts(run_id,
                                                                   "model/data/farm_model")}
    assert {"farm_model.json", "language_model", "processor_config.json"} <= farm_files
    local = Path(client.download_artifacts(run_id, "model", str(tmp_path / "download")))
    assert "loader_module: farm.tracking.pyfunc" in (local / "MLmodel").read_text()
    assert not [p for p in local.rglob("*") if p.suffix in (".pkl", ".pickle", ".bin")]

    dicts = [{"text": text} for text in TEXTS]
    direct = Inferencer.load(saved).inference_from_dicts(dicts)
    expected = [prediction for result in direct for prediction in result["predictions"]]
    assert len(expected) == len(TEXTS) and all("label" in p for p in expected)

    mlflow.set_tracking_uri(tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    assert model.predict(dicts) == expected
    assert model.predict(pd.DataFrame({"text": TEXTS})) == expected
    assert model.predict(TEXTS) == expected
    # As `mlflow models serve` parses {"inputs": [...]}: values become NumPy arrays.
    from mlflow.utils.proto_json_utils import parse_tf_serving_input

    assert model.predict(parse_tf_serving_input({"inputs": dicts})) == expected
    with pytest.raises(FarmError, match="Input 1 is of type int"):
        model.predict([{"text": "good"}, 5])

    version = mlflow.register_model(f"runs:/{run_id}/model", "farm-tiny").version
    registered = mlflow.pyfunc.load_model(f"models:/farm-tiny/{version}")
    assert registered.predict(dicts) == expected


def test_without_pandas_the_model_is_logged_as_plain_files(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "farm.tracking.pyfunc", None)  # import fails
    with caplog.at_level(logging.WARNING, logger="farm.tracking.mlflow"):
        tracking_uri, run_id, _ = train_and_log(tiny_bert_dir, tmp_path)
    assert "install farm[mlflow] for mlflow.pyfunc" in caplog.text
    client = mlflow.tracking.MlflowClient(tracking_uri)
    uploaded = {Path(a.path).name for a in client.list_artifacts(run_id, "model")}
    assert "farm_model.json" in uploaded and "MLmodel" not in uploaded
