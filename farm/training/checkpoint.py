"""Checkpoints for exact resumption, as safetensors + JSON (never pickle).

A checkpoint folder ``step_<N>/`` holds

- ``model/``: the model and processor as ``model.save`` writes them (``Inferencer.load``
  opens it),
- ``model_state.safetensors``: every parameter and buffer under its exact name,
- ``optimizer.safetensors`` and ``gradients.safetensors``: optimizer tensors and the
  gradients accumulated so far (for a checkpoint in the middle of an accumulation group),
- ``rng.safetensors``: the torch CPU/CUDA and NumPy random states,
- ``trainer_state.json``: step, epoch, position in the epoch, schedule, early stopping,
  gradient scaler, the optimizer's other values, Python's random state, the tracking run.

It is written into a temporary folder that is renamed into place, so a crash or a second
signal while writing never leaves a half-written checkpoint; a damaged one is skipped in
favour of the newest intact one.
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, load_model
from torch import nn
from torch.optim import Optimizer

from farm import __version__
from farm.serialization import atomic_directory, save_module, save_tensors

logger = logging.getLogger(__name__)

_STEP_DIR = re.compile(r"^step_(\d+)$")
TRAINER_STATE = "trainer_state.json"
MODEL_STATE = "model_state.safetensors"
OPTIMIZER_TENSORS = "optimizer.safetensors"
GRADIENTS = "gradients.safetensors"
RNG_TENSORS = "rng.safetensors"
_TENSOR_FILES = (MODEL_STATE, OPTIMIZER_TENSORS, GRADIENTS, RNG_TENSORS)


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


def capture_rng() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every random state training uses: tensors for safetensors, the rest as JSON."""
    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = state
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    tensors["numpy_keys"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, python_state, gauss_next = random.getstate()
    meta = {
        "numpy": [kind, int(pos), int(has_gauss), float(cached)],
        "python": [version, list(python_state), gauss_next],
    }
    return tensors, meta


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Put back what :func:`capture_rng` captured."""
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    kind, pos, has_gauss, cached = meta["numpy"]
    keys = tensors["numpy_keys"].numpy().astype(np.uint32)
    np.random.set_state((kind, keys, pos, has_gauss, cached))
    version, python_state, gauss_next = meta["python"]
    random.setstate((version, tuple(python_state), gauss_next))


def save_checkpoint(
    root: Path,
    global_step: int,
    save_model_dir: Callable[[Path], None],
    model: nn.Module,
    optimizer: Optimizer,
    trainer_state: dict[str, Any],
    keep: int | None = 3,
) -> Path:
    """Write ``root/step_<global_step>/`` atomically and prune old checkpoints.

    Args:
        root (Path): The checkpoint root folder.
        global_step (int): Training step, used in the folder name.
        save_model_dir (Callable[[Path], None]): Saves model and processor into a folder.
        model (nn.Module): The model whose exact state (and gradients) is saved.
        optimizer (Optimizer): The optimizer whose state is saved.
        trainer_state (dict[str, Any]): JSON-able trainer state.
        keep (int | None): Number of checkpoints to keep (``None`` or 0 keeps all).

    Returns:
        Path: The new checkpoint folder.
    """
    final = root / f"step_{global_step}"
    with atomic_directory(final) as tmp:
        save_model_dir(tmp / "model")
        save_module(model, tmp / MODEL_STATE)
        grads = {
            name: p.grad.detach().cpu().contiguous()
            for name, p in model.named_parameters() if p.grad is not None
        }
        save_tensors(grads, tmp / GRADIENTS)
        optimizer_tensors, optimizer_meta = optimizer_state(optimizer)
        save_tensors(optimizer_tensors, tmp / OPTIMIZER_TENSORS)
        rng_tensors, rng_meta = capture_rng()
        save_tensors(rng_tensors, tmp / RNG_TENSORS)
        state = {
            **trainer_state, "optimizer": optimizer_meta, "rng": rng_meta,
            "farm_version": __version__,
        }
        (tmp / TRAINER_STATE).write_text(json.dumps(state, indent=2, default=_to_json))
    logger.info("Saved checkpoint %s", final)
    if keep:
        for old in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old)
    return final


@dataclass
class Checkpoint:
    """A checkpoint read back from disk."""

    path: Path
    state: dict[str, Any]
    optimizer_tensors: dict[str, torch.Tensor]
    gradients: dict[str, torch.Tensor]
    rng_tensors: dict[str, torch.Tensor]

    def restore_model(self, model: nn.Module) -> None:
        """Load the exact weights and the accumulated gradients into ``model``."""
        load_model(model, str(self.path / MODEL_STATE), strict=True)
        for name, param in model.named_parameters():
            grad = self.gradients.get(name)
            param.grad = grad.to(param.device) if grad is not None else None


def list_checkpoints(root: Path) -> list[Path]:
    """Checkpoint folders under ``root`` that have a trainer state, oldest first."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name))]
    return [p for _, p in sorted(found) if (p / TRAINER_STATE).is_file()]


def read_checkpoint(directory: Path) -> Checkpoint:
    """Read and check a checkpoint folder; raises ``ValueError`` if it is damaged."""
    try:
        state = json.loads((directory / TRAINER_STATE).read_text())
        for key in ("global_step", "epoch", "step_in_epoch"):
            value = state.get(key) if isinstance(state, dict) else None
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{TRAINER_STATE}: '{key}' is {value!r:.40}, not a "
                                 "non-negative integer")
        for name in _TENSOR_FILES:
            with safe_open(str(directory / name), "pt") as handle:
                handle.keys()
        return Checkpoint(
            path=directory,
            state=state,
            optimizer_tensors=load_file(str(directory / OPTIMIZER_TENSORS)),
            gradients=load_file(str(directory / GRADIENTS)),
            rng_tensors=load_file(str(directory / RNG_TENSORS)),
        )
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as error:
        raise ValueError(f"checkpoint {directory} is damaged: {error}") from error


def find_checkpoint(root: Path, which: str = "latest") -> Checkpoint | None:
    """The checkpoint to resume from.

    Args:
        root (Path): The checkpoint root folder.
        which (str): ``"latest"`` (the newest intact checkpoint; damaged ones are skipped
            with a warning) or a folder name such as ``"step_400"``.

    Returns:
        Checkpoint | None: The checkpoint, or None if there is none.
    """
    if which != "latest":
        return read_checkpoint(root / which)
    for directory in reversed(list_checkpoints(root)):
        try:
            return read_checkpoint(directory)
        except ValueError as error:
            logger.warning("%s; trying an older checkpoint.", error)
    return None


def _to_json(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"Cannot store {type(value).__name__} in a checkpoint's JSON.")
