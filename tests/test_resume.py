"""Exact resumption: a run interrupted at any step and resumed equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.samplers import TrainBatchSampler
from farm.modeling.optimization import initialize_optimizer
from farm.train import EarlyStopping, Trainer
from farm.training.checkpoint import find_checkpoint, list_checkpoints
from farm.utils import set_all_seeds
from tests.farm_helpers import (
    make_model,
    make_processor,
    model_state,
    same_weights,
    write_separable_data,
)

EPOCHS = 3


def build(model_dir: Path, data_dir: Path, root: Path, **kwargs: Any) -> Trainer:
    """Seed, data, model, optimizer and a trainer that resumes from ``root`` if it can."""
    set_all_seeds(7)
    data_silo = DataSilo(make_processor(model_dir, data_dir), batch_size=4)
    grad_acc_steps = kwargs.get("grad_acc_steps", 1)
    model, optimizer, schedule = initialize_optimizer(
        model=make_model(model_dir), n_batches=len(data_silo.loaders["train"]),
        n_epochs=EPOCHS, device="cpu", learning_rate=2e-3, grad_acc_steps=grad_acc_steps,
    )
    return Trainer.create_or_load_checkpoint(
        data_silo=data_silo, checkpoint_root_dir=root, model=model, optimizer=optimizer,
        lr_schedule=schedule, epochs=EPOCHS, n_gpu=0, device="cpu", disable_tqdm=True,
        evaluate_every=5, checkpoint_on_sigterm=True, checkpoints_to_keep=0,
        early_stopping=EarlyStopping(metric="loss", patience=100, save_dir=root.parent / "best"),
        **kwargs,
    )


def interrupt_at(trainer: Trainer, step: int) -> None:
    """Send this process a SIGTERM during training step ``step`` (counted from 1)."""
    forward_backward = trainer._forward_backward

    def wrapped(batch: dict[str, torch.Tensor], group_size: int) -> float:
        if trainer.global_step + 1 == step:
            signal.raise_signal(signal.SIGTERM)
        return forward_backward(batch, group_size)

    trainer._forward_backward = wrapped  # type: ignore[method-assign]


def outcome(trainer: Trainer) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]], int]:
    """Final weights, test results and step count of a finished run."""
    assert trainer.test_result is not None
    return model_state(trainer.model), trainer.test_result, trainer.global_step


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_separable_data(tmp_path_factory.mktemp("data"), n_train=40, n_test=8)


@pytest.mark.parametrize("grad_acc_steps", [1, 3])
def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path, grad_acc_steps: int
) -> None:
    """Bit for bit on the CPU: mid-epoch, mid-accumulation group, and at an epoch end."""
    reference = build(tiny_bert_dir, data_dir, tmp_path / "ref" / "ckpt",
                      grad_acc_steps=grad_acc_steps)
    reference.train()
    expected_weights, expected_test, expected_steps = outcome(reference)
    n_batches = len(reference.data_silo.loaders["train"])  # 8 batches per epoch

    for stop in (2, n_batches, n_batches + 4, 2 * n_batches + 1):
        root = tmp_path / f"stop{stop}" / "ckpt"
        first = build(tiny_bert_dir, data_dir, root, grad_acc_steps=grad_acc_steps)
        interrupt_at(first, stop)
        with pytest.raises(SystemExit, match="SIGTERM received"):
            first.train()
        assert [p.name for p in list_checkpoints(root)] == [f"step_{stop}"]

        resumed = build(tiny_bert_dir, data_dir, root, grad_acc_steps=grad_acc_steps)
        assert resumed.global_step == stop
        resumed.train()
        weights, test_result, steps = outcome(resumed)
        assert steps == expected_steps
        assert same_weights(weights, expected_weights), f"weights differ after stop at {stop}"
        assert test_result[0]["loss"] == expected_test[0]["loss"]
        assert resumed.record.history == reference.record.history  # the whole run's curves


def test_resumed_run_does_not_replay_seen_batches(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    """After a stop at step 3 the resumed run trains on exactly the remaining batches."""
    root = tmp_path / "ckpt"
    first = build(tiny_bert_dir, data_dir, root)
    interrupt_at(first, 3)
    with pytest.raises(SystemExit):
        first.train()
    resumed = build(tiny_bert_dir, data_dir, root)
    seen = []
    forward_backward = resumed._forward_backward

    def counting(batch: dict[str, torch.Tensor], group_size: int) -> float:
        seen.append(batch["input_ids"].shape[0])
        return forward_backward(batch, group_size)

    resumed._forward_backward = counting  # type: ignore[method-assign]
    resumed.train()
    n_batches = len(resumed.data_silo.loaders["train"])
    assert len(seen) == EPOCHS * n_batches - 3


def test_damaged_latest_checkpoint_is_skipped_for_the_last_good_one(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "ckpt"
    trainer = build(tiny_bert_dir, data_dir, root, checkpoint_every=2)
    interrupt_at(trainer, 5)
    with pytest.raises(SystemExit):
        trainer.train()
    assert [p.name for p in list_checkpoints(root)] == ["step_2", "step_4", "step_5"]
    (root / "step_5" / "optimizer.safetensors").write_bytes(b"\x00" * 10)  # truncated write
    shutil.copytree(root / "step_4", root / ".tmp-step_6-abc")  # an unfinished write
    checkpoint = find_checkpoint(root)
    assert checkpoint is not None and checkpoint.path.name == "step_4"
    assert "damaged" in caplog.text
    assert build(tiny_bert_dir, data_dir, root).global_step == 4


def test_no_checkpoint_starts_from_scratch(tiny_bert_dir: Path, data_dir: Path,
                                            tmp_path: Path) -> None:
    trainer = build(tiny_bert_dir, data_dir, tmp_path / "empty")
    assert trainer.global_step == 0 and trainer.epoch == 0


def test_sigterm_in_a_subprocess_checkpoints_and_exits(
    tiny_bert_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    """A real SIGTERM sent to a training process: it checkpoints, says so, and exits."""
    root = tmp_path / "ckpt"
    started = tmp_path / "started"
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import time
        from pathlib import Path
        import torch
        from tests.test_resume import build

        torch.set_num_threads(1)
        trainer = build(Path({str(tiny_bert_dir)!r}), Path({str(data_dir)!r}),
                        Path({str(root)!r}))
        step = trainer._forward_backward

        def slow(batch, group_size):
            Path({str(started)!r}).touch()
            time.sleep(0.2)
            return step(batch, group_size)

        trainer._forward_backward = slow
        trainer.train()
    """))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen([sys.executable, str(script)], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):
            if started.exists() or process.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"], check=True)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 1, stderr
    assert "SIGTERM received: saved a checkpoint" in stderr
    checkpoints = list_checkpoints(root)
    assert len(checkpoints) == 1
    state = json.loads((checkpoints[0] / "trainer_state.json").read_text())
    assert state["global_step"] >= 1
    assert build(tiny_bert_dir, data_dir, root).global_step == state["global_step"]


def test_distributed_shards_join_to_the_single_process_batches() -> None:
    """Two processes' shares of each global batch are one process's batch of twice the size."""
    lengths = torch.randint(3, 40, (103,)).tolist()
    single = TrainBatchSampler(lengths, batch_size=8, seed=3)
    shards = [TrainBatchSampler(lengths, batch_size=4, seed=3, num_replicas=2, rank=r)
              for r in (0, 1)]
    for epoch in (0, 1):
        for sampler in (single, *shards):
            sampler.set_epoch(epoch)
        joined = [a + b for a, b in zip(*shards, strict=True)]
        assert joined == list(single)
        assert len(shards[0]) == len(single)


def test_set_start_skips_batches_once() -> None:
    lengths = list(range(1, 50))
    sampler = TrainBatchSampler(lengths, batch_size=5, seed=1, group_by_length=False)
    full = list(sampler)
    sampler.set_start(4)
    assert list(sampler) == full[4:]
    assert list(sampler) == full
