"""Every example config in ``examples/configs/`` trains as shipped: on the project's own
example data under ``examples/`` (nothing outside the repository), one epoch, a tiny model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from farm.cli import EXIT_OK, main
from farm.experiment import load_experiment
from tests.tiny_models import TinyModelFactory

pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "examples" / "configs").glob("*.yaml"))


def _tracked_files() -> set[Path] | None:
    """Files git tracks (or has staged) in this checkout; None outside a git checkout."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                 check=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {ROOT / name for name in listing.split("\0") if name}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_example_config_reads_only_shipped_data(config: Path) -> None:
    """The data folder and files lie in examples/ and are part of the repository, so the
    config runs on a fresh clone."""
    experiment = load_experiment(config, check_paths=True)
    data = experiment.config["data"]
    data_dir = Path(data["data_dir"])
    assert data_dir.is_relative_to(ROOT / "examples"), data_dir
    files = [data_dir / data[key] for key in ("train_filename", "dev_filename",
                                               "test_filename") if data.get(key)]
    assert files and all(f.is_file() for f in files)
    tracked = _tracked_files()
    if tracked is not None:
        assert not [f for f in files if f not in tracked], "example data not in git"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_example_config_trains_one_epoch(config: Path, tiny_model_factory: TinyModelFactory,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """``farm train CONFIG --set trainer.epochs=1`` with a tiny model in place of MiniLM:
    every run of the config (the grid's too) is saved with its test results."""
    monkeypatch.chdir(tmp_path)  # a relative MLflow store (grid_search.yaml) lands here
    out = tmp_path / "out"
    args = ["-q", "train", str(config),
            "--set", f"model.language_model={tiny_model_factory('bert')}",
            "--set", f"experiment.output_dir={out}", "--set", "trainer.epochs=1"]
    try:
        assert main(args) == EXIT_OK
    finally:
        if load_experiment(config, check_paths=False).config.get("tracking", {}).get(
                "type") == "mlflow":
            import mlflow

            mlflow.set_tracking_uri(None)
    summaries = sorted(out.glob("**/experiment.json"))
    assert summaries
    for summary_file in summaries:
        summary = json.loads(summary_file.read_text())
        assert summary["config"]["trainer"]["epochs"] == 1
        assert summary["test"] and all("loss" in result for result in summary["test"])
        assert (summary_file.parent / "farm_model.json").is_file()
