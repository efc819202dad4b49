"""Checkpoints as safetensors + JSON, written to a temporary folder and renamed into place."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch.optim import Optimizer

from farm import __version__
from farm.serialization import atomic_directory

logger = logging.getLogger(__name__)

_STEP_DIR = re.compile(r"^step_(\d+)$")
TRAINER_STATE = "trainer_state.json"
OPTIMIZER_TENSORS = "optimizer.safetensors"


def optimizer_state(optimizer: Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer's state into tensors (for safetensors) and JSON-able values."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for param_id, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{param_id}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain.setdefault(str(param_id), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "plain_state": plain}


def restore_optimizer(
    optimizer: Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Load what :func:`optimizer_state` produced back into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        param_id, key = name.split(".", 1)
        state.setdefault(int(param_id), {})[key] = value
    for param_id, values in meta["plain_state"].items():
        state.setdefault(int(param_id), {}).update(values)
    # JSON turned tuples such as AdamW's betas into lists; give them their type back.
    groups = [
        {k: tuple(v) if isinstance(current.get(k), tuple) else v for k, v in saved.items()}
        for saved, current in zip(meta["param_groups"], optimizer.param_groups, strict=False)
    ]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(
    root: Path,
    global_step: int,
    save_model: Any,
    optimizer: Optimizer,
    trainer_state: dict[str, Any],
    keep: int | None = 3,
) -> Path:
    """Write ``root/step_<global_step>/`` atomically and prune old checkpoints.

    Args:
        root (Path): The checkpoint root folder.
        global_step (int): Training step, used in the folder name.
        save_model (Any): ``fn(dir)`` that saves the model (and processor) into ``dir``.
        optimizer (Optimizer): The optimizer whose state is saved.
        trainer_state (dict[str, Any]): JSON-able state (step, epoch, schedule, ...).
        keep (int | None): Number of checkpoints to keep (``None`` keeps all).

    Returns:
        Path: The new checkpoint folder.
    """
    final = root / f"step_{global_step}"
    with atomic_directory(final) as tmp:
        save_model(tmp / "model")
        tensors, optimizer_meta = optimizer_state(optimizer)
        save_file(tensors, str(tmp / OPTIMIZER_TENSORS))
        state = {**trainer_state, "optimizer": optimizer_meta, "farm_version": __version__}
        (tmp / TRAINER_STATE).write_text(json.dumps(state, indent=2, default=_to_json))
    logger.info("Saved checkpoint %s", final)
    if keep is not None:
        for old in list_checkpoints(root)[:-keep] if keep > 0 else []:
            shutil.rmtree(old)
    return final


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name))]
    return [p for _, p in sorted(found) if (p / TRAINER_STATE).is_file()]


def load_checkpoint_state(directory: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The trainer state (JSON) and optimizer tensors of a checkpoint folder."""
    state = json.loads((directory / TRAINER_STATE).read_text())
    return state, load_file(str(directory / OPTIMIZER_TENSORS))


def _to_json(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"Cannot store {type(value).__name__} in a checkpoint's JSON.")
