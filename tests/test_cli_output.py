"""What the ``farm`` command prints: FARM's own lines only by default and with ``-q`` (no
Hugging Face loading bars, no ONNX exporter passes), the libraries' chatter with ``-v``; a
training progress bar in a terminal but not with ``-q`` or in a log file, where each
evaluation logs steps per second and the time left."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from farm.cli import EXIT_OK, main
from farm.training.progress import ProgressClock, format_duration
from tests.deploy_helpers import save_task_model
from tests.farm_helpers import write_separable_data

pytest.importorskip("yaml")

# A line a log record starts with: "2026-01-02 10:11:12,345 INFO farm.eval: ..."
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<name>\S+): ")
LIBRARY_CHATTER = ("Loading weights", "Writing model shards", "onnx_ir", "onnxscript")


def farm(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m farm ARGS`` in a fresh process with pipes (no terminal)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "farm", *args], capture_output=True,
                          text=True, env=env, timeout=600)


def config(tmp_path: Path, model: Path, **trainer: object) -> Path:
    """A small text classification experiment on separable data."""
    data = write_separable_data(tmp_path / "data", n_train=24, n_test=8)
    experiment = {
        "experiment": {"name": "quiet", "output_dir": str(tmp_path / "out")},
        "data": {"data_dir": str(data), "test_filename": "test.tsv", "dev_split": 0.25},
        "processor": {"type": "TextClassificationProcessor", "max_seq_len": 16,
                      "label_list": ["negative", "positive"], "metric": "acc"},
        "model": {"language_model": str(model)},
        "heads": [{"type": "TextClassificationHead"}],
        "trainer": {"epochs": 2, "batch_size": 4, "evaluate_every": 3,
                    "early_stopping": {"metric": "acc", "mode": "max", "patience": 10},
                    **trainer},
    }
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    return path


def test_train_quiet_prints_only_its_results(tiny_bert_dir: Path, tmp_path: Path) -> None:
    done = farm("train", str(config(tmp_path, tiny_bert_dir)), "-q")
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stderr == ""  # no bars, no library lines, no FARM info
    (summary,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert summary["run"] == "quiet"


def test_train_logs_farm_lines_with_speed_and_time_left(tiny_bert_dir: Path,
                                                        tmp_path: Path) -> None:
    done = farm("train", str(config(tmp_path, tiny_bert_dir)))
    assert done.returncode == EXIT_OK, done.stderr
    records = [RECORD.match(line) for line in done.stderr.splitlines()]
    names = {match["name"] for match in records if match}
    assert names and all(name.startswith("farm.") for name in names), names
    assert not any(chatter in done.stderr for chatter in LIBRARY_CHATTER)
    assert "Train epoch" not in done.stderr  # no progress bar in a log file
    progress = re.findall(r"Evaluating on dev at step (\d+)/(\d+) \(\d+%\), "
                          r"[\d.]+ steps/s, ETA \d+[smh]", done.stderr)
    total = 2 * 5  # two epochs of 18 training rows in batches of 4
    assert [int(step) for step, _ in progress] == [3, 6, 9, 10]
    assert {int(steps) for _, steps in progress} == {total}
    assert "Epoch 1/2 done at step 5/10" in done.stderr


def test_export_onnx_quiet_and_verbose(tiny_bert_dir: Path, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    model = save_task_model("text_classification", tiny_bert_dir, tmp_path / "model")
    done = farm("export-onnx", str(model), str(tmp_path / "onnx"), "-q")
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [str(tmp_path / "onnx" / "model.onnx")]

    capfd.readouterr()
    with caplog.at_level("DEBUG"):  # records reach the capture only if their logger lets them
        assert main(["-v", "export-onnx", str(model), str(tmp_path / "onnx_v")]) == EXIT_OK
    names = {record.name.split(".")[0] for record in caplog.records}
    assert {"onnx_ir", "onnxscript"} & names  # the exporter's passes
    assert "Loading weights" in capfd.readouterr().err  # Hugging Face's bars
    caplog.clear()
    with caplog.at_level("DEBUG"):
        assert main(["export-onnx", str(model), str(tmp_path / "onnx_default")]) == EXIT_OK
    # (torch's structured-trace logger keeps its DEBUG records to itself outside pytest)
    shown = {r.name.split(".")[0] for r in caplog.records if r.levelno >= logging.INFO}
    assert shown == {"farm"}
    assert "Loading weights" not in capfd.readouterr().err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_in_a_terminal_but_not_with_quiet(
    tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, tiny_bert_dir, epochs=1, early_stopping=None)
    for quiet in (False, True):
        terminal = FakeTerminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        out = tmp_path / f"out_{quiet}"
        args = ["train", str(path), "--set", f"experiment.output_dir={out}"]
        assert main(args + ["-q"] * quiet) == EXIT_OK
        monkeypatch.undo()
        shown = terminal.getvalue()
        assert ("Train epoch 1/1" in shown) is not quiet, shown
        assert not any(chatter in shown for chatter in LIBRARY_CHATTER)
        recorded = json.loads((out / "experiment.json").read_text())["config"]["trainer"]
        assert recorded["disable_tqdm"] is (True if quiet else None)


def test_progress_clock() -> None:
    clock = ProgressClock(total_steps=1000, start_step=200)
    assert clock.summary(200) == "step 200/1000 (20%)"  # no rate before a step
    clock.start_time -= 10.0  # ten seconds ago
    assert re.fullmatch(r"step 300/1000 \(30%\), 10\.\d\d steps/s, ETA 1m(09|10)s",
                        clock.summary(300))
    assert [format_duration(s) for s in (0, 42.4, 214, 7500)] == ["0s", "42s", "3m34s",
                                                                   "2h05m"]


def test_no_warning_for_the_cpu(caplog: pytest.LogCaptureFixture) -> None:
    """``use_cuda=True``, as FARM's scripts pass it, means "the GPU if there is one"."""
    import torch

    from farm.utils import initialize_device_settings

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is there")
    with caplog.at_level("INFO"):
        device, _ = initialize_device_settings(use_cuda=True)
    assert device.type == "cpu"
    assert [r.levelname for r in caplog.records if r.name == "farm.utils"] == ["INFO", "INFO"]
