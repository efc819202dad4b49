"""What training writes survives a kill and is checked before training starts: the best
model is saved atomically, half-written folders are cleaned up (and reported) on the next
start, an unwritable or full output folder fails at once, a checkpoint beyond the schedule
is refused, and saved files are as readable as the umask allows."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from farm.conversion.transformers import save_transformers
from farm.errors import FarmError, ModelFolderError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.train import Trainer
from farm.training.checkpoint import list_checkpoints
from tests.farm_helpers import model_state, same_weights, write_separable_data
from tests.test_resume import build, interrupt_at


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_separable_data(tmp_path_factory.mktemp("data"), n_train=40, n_test=8)


def test_a_failed_best_model_save_leaves_the_previous_one_whole(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save fails after the encoder and heads are written (the processor's turn): the
    best model of the earlier evaluation is still there, complete and unchanged."""
    trainer = build(tiny_bert_dir, data_dir, tmp_path / "ckpt")
    best = tmp_path / "best"
    saves = []
    save = trainer.data_silo.processor.save

    def failing_second_time(folder: Any) -> None:
        saves.append(folder)
        if len(saves) == 2:
            raise OSError(28, "No space left on device")
        save(folder)

    monkeypatch.setattr(trainer.data_silo.processor, "save", failing_second_time)
    first_best: dict[str, torch.Tensor] = {}
    evaluate = trainer._evaluate

    def remember(evaluator: Any) -> bool:
        if len(saves) == 1 and not first_best:
            first_best.update(model_state(AdaptiveModel.load(best)))
        return evaluate(evaluator)

    monkeypatch.setattr(trainer, "_evaluate", remember)
    monkeypatch.setattr(trainer.early_stopping, "min_delta", -1e9)  # every evaluation is best
    with pytest.raises(OSError, match="No space left"):
        trainer.train()
    assert len(saves) == 2 and first_best
    assert same_weights(model_state(AdaptiveModel.load(best)), first_best)
    assert not list(tmp_path.glob(".tmp-best-*"))


def write_model_folder(folder: Path, marker: str) -> None:
    folder.mkdir(parents=True)
    (folder / "farm_model.json").write_text(json.dumps({"saved": marker}))


def saved_marker(folder: Path) -> str:
    return str(json.loads((folder / "farm_model.json").read_text())["saved"])


def test_what_a_kill_leaves_is_repaired_on_the_next_start(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The states a kill can leave during the replacement of the best model (checkpoints
    kept in the same folder, as FARM's tutorials do) and during a checkpoint write; the next
    start repairs each and says so."""
    # Killed while carrying the checkpoints into the new copy: the old model stays.
    carrying = tmp_path / "carrying"
    write_model_folder(carrying / "best", "old")
    (carrying / "best" / "step_2").mkdir()
    write_model_folder(carrying / ".tmp-best-abcd1234", "new")
    (carrying / ".tmp-best-abcd1234" / "step_4").mkdir()  # carried before the kill
    # Killed between moving the old model aside and renaming the new one into place.
    swapping = tmp_path / "swapping"
    write_model_folder(swapping / ".old-best-abcd1234", "old")
    write_model_folder(swapping / ".tmp-best-efgh5678", "new")
    (swapping / ".tmp-best-efgh5678" / "step_4").mkdir()
    # Killed while removing the old one.
    removing = tmp_path / "removing"
    write_model_folder(removing / "best", "new")
    (removing / ".old-best-abcd1234").mkdir(parents=True)
    for parent in (carrying, swapping, removing):
        root = parent / "best"  # checkpoints in the best model's folder
        build(tiny_bert_dir, data_dir, root)
        assert sorted(p.name for p in parent.iterdir()) == ["best"], parent
    assert saved_marker(carrying / "best") == "old"
    assert sorted(p.name for p in (carrying / "best").iterdir()) == [
        "farm_model.json", "step_2", "step_4"]
    assert saved_marker(swapping / "best") == "new"
    assert (swapping / "best" / "step_4").is_dir()
    assert saved_marker(removing / "best") == "new"
    assert "completed" in caplog.text and "interrupted replacement" in caplog.text
    # A killed checkpoint write: its temporary folder goes.
    root = tmp_path / "ckpt"
    (root / ".tmp-step_6-ijkl9012" / "model").mkdir(parents=True)
    build(tiny_bert_dir, data_dir, root)
    assert list(root.iterdir()) == []
    assert ".tmp-step_6-ijkl9012 (left by an interrupted write)" in caplog.text


def test_checkpoints_and_files_in_the_best_model_folder_are_kept(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    """FARM's tutorials put the checkpoints into the EarlyStopping.save_dir: each new best
    model replaces the folder, carrying them (and a user's files) over."""
    best = tmp_path / "best"
    best.mkdir()
    (best / "notes.md").write_text("mine")
    trainer = build(tiny_bert_dir, data_dir, best, checkpoint_every=3)
    trainer.early_stopping.min_delta = -1e9  # type: ignore[union-attr]  # every eval is best
    trainer.train()
    assert (best / "notes.md").read_text() == "mine"
    assert [p.name for p in list_checkpoints(best)] == [f"step_{n}" for n in range(3, 25, 3)]
    AdaptiveModel.load(best)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]


def test_resuming_with_a_half_written_best_model_saves_it_again(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A save_dir with only language_model/ (what a kill inside a non-atomic save left) is
    not taken for the best model: early stopping starts over and the run ends with a whole
    model there, instead of finishing with the broken folder."""
    root = tmp_path / "ckpt"
    first = build(tiny_bert_dir, data_dir, root)
    interrupt_at(first, 7)  # after the evaluation (and best save) at step 5
    with pytest.raises(SystemExit):
        first.train()
    best = tmp_path / "best"
    for part in best.iterdir():
        if part.name != "language_model":
            part.unlink()
    resumed = build(tiny_bert_dir, data_dir, root)
    assert "holds no complete saved model" in caplog.text
    resumed.train()
    assert (best / "farm_model.json").is_file()
    AdaptiveModel.load(best)


def test_a_checkpoint_beyond_the_schedule_is_refused(tiny_bert_dir: Path, data_dir: Path,
                                                      tmp_path: Path) -> None:
    root = tmp_path / "ckpt"
    first = build(tiny_bert_dir, data_dir, root)
    interrupt_at(first, 3)
    with pytest.raises(SystemExit):
        first.train()
    state_file = list_checkpoints(root)[-1] / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state["global_step"] = 10**9
    state_file.write_text(json.dumps(state))
    with pytest.raises(FarmError, match=r"at step 1000000000 .* beyond this run's 3 epochs of "
                                        r"\d+ batches"):
        build(tiny_bert_dir, data_dir, root)


def test_an_unwritable_checkpoint_folder_fails_before_training(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "ckpt").write_text("")
    with pytest.raises(ModelFolderError, match="the checkpoint_root_dir is a file, not a "):
        build(tiny_bert_dir, data_dir, tmp_path / "ckpt")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ModelFolderError, match=r"a_file/ckpt: cannot write to the "
                                               r"checkpoint_root_dir \(Not a directory\)"):
        Trainer(model=nn.Linear(2, 2), optimizer=torch.optim.SGD(nn.Linear(2, 2).parameters()),
                data_silo=None, epochs=1, n_gpu=0, device="cpu",  # type: ignore[arg-type]
                checkpoint_root_dir=tmp_path / "a_file" / "ckpt")


def test_a_full_disk_fails_before_training(tiny_bert_dir: Path, data_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("farm.serialization.shutil.disk_usage",
                        lambda path: SimpleNamespace(total=10**12, used=10**12, free=1000))
    with pytest.raises(ModelFolderError, match=r"has 0 MB free, but one save needs about"):
        build(tiny_bert_dir, data_dir, tmp_path / "ckpt")


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): oct(stat.S_IMODE(p.stat().st_mode))
            for p in [folder, *folder.rglob("*")]}


def test_saved_files_follow_the_umask(tiny_bert_dir: Path, data_dir: Path, tmp_path: Path,
                                      umask_022: None) -> None:
    """Weights are as readable as every other file (0o644 with umask 022), so a server
    running as another user can load them; folders 0o755."""
    root = tmp_path / "ckpt"
    trainer = build(tiny_bert_dir, data_dir, root, checkpoint_every=4)
    trainer.train()
    save_transformers(AdaptiveModel.load(tmp_path / "best"), tmp_path / "hf", verify=False)
    for folder in (tmp_path / "best", root, tmp_path / "hf"):
        found = modes(folder)
        assert any(name.endswith(".safetensors") for name in found)
        wrong = {name: mode for name, mode in found.items()
                 if mode != ("0o755" if (folder / name).is_dir() else "0o644")}
        assert not wrong, wrong
