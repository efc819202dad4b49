"""Optimizer and learning-rate schedule set-up (FARM's ``initialize_optimizer``)."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from transformers import get_scheduler as hf_get_scheduler

from farm.compat import log_once
from farm.errors import FarmError, check_choice
from farm.modeling.optimizers import AdamWWithoutBiasCorrection
from farm.tracking import get_tracker

logger = logging.getLogger(__name__)

# FARM's flag for "apex is installed, use_amp may be set". Mixed precision is native now
# (``torch.autocast``, see ``farm.training.amp``), so it is always available.
AMP_AVAILABLE = True

# FARM's schedule names and their transformers equivalents.
_SCHEDULES = {
    "LinearWarmup": "linear",
    "CosineWarmup": "cosine",
    "CosineWarmupWithRestarts": "cosine_with_restarts",
    "ConstantWarmup": "constant_with_warmup",
    "Constant": "constant",
    "linear": "linear",
    "cosine": "cosine",
    "cosine_with_restarts": "cosine_with_restarts",
    "constant_with_warmup": "constant_with_warmup",
    "constant": "constant",
    "polynomial": "polynomial",
    "inverse_sqrt": "inverse_sqrt",
}


def initialize_optimizer(
    model: nn.Module,
    n_batches: int,
    n_epochs: int,
    device: str | torch.device,
    learning_rate: float,
    optimizer_opts: dict[str, Any] | None = None,
    schedule_opts: dict[str, Any] | None = None,
    distributed: bool = False,
    grad_acc_steps: int = 1,
    local_rank: int = -1,
    use_amp: str | bool | None = None,
) -> tuple[nn.Module, Optimizer, LRScheduler | None]:
    """Move the model to ``device`` and create its optimizer and learning-rate schedule.

    The default is AdamW with weight decay 0.01 (none on biases and normalization weights)
    and a linear schedule that warms up over the first 10% of the steps.

    Args:
        model (nn.Module): The model, usually an ``AdaptiveModel``.
        n_batches (int): Training batches per epoch (``len(data_silo.loaders["train"])``).
        n_epochs (int): Number of epochs.
        device (str | torch.device): Device to train on.
        learning_rate (float): Peak learning rate.
        optimizer_opts (dict[str, Any] | None): ``{"name": "AdamW"}`` (or any class of
            ``torch.optim``), ``"weight_decay"``, ``"no_decay"`` (extra name fragments of
            parameters without decay), ``"layer_lr_decay"`` (e.g. 0.9: layer-wise learning
            rate decay, the heads get ``learning_rate``, each layer below that times 0.9 more,
            the embeddings the least) and further arguments of the optimizer. Adam and AdamW
            use torch's fused implementation unless ``fused`` or ``foreach`` is given.
            FARM's ``"TransformersAdamW"`` is torch's AdamW; with ``"correct_bias": False``
            it is :class:`~farm.modeling.optimizers.AdamWWithoutBiasCorrection` (the update
            of the original BERT and DPR code).
        schedule_opts (dict[str, Any] | None): ``{"name": "LinearWarmup"}`` (also
            ``"CosineWarmup"``, ``"CosineWarmupWithRestarts"``, ``"ConstantWarmup"``,
            ``"Constant"``, the transformers names, or a class of
            ``torch.optim.lr_scheduler`` with its arguments), ``"warmup_proportion"`` (0.1)
            or ``"num_warmup_steps"``, ``"num_training_steps"`` (computed by default).
            ``{"name": None}`` means no schedule.
        distributed (bool): Wrap the model in ``DistributedDataParallel`` (under ``torchrun``);
            outside a process group the model stays as it is (one process, a warning).
        grad_acc_steps (int): Batches per optimizer step.
        local_rank (int): GPU of this process in distributed training.
        use_amp (str | bool | None): Mixed precision is applied by the ``Trainer``; accepted
            here for FARM compatibility.

    Returns:
        tuple: ``(model, optimizer, lr_schedule)``.
    """
    model.to(device)
    optimizer = _make_optimizer(model, learning_rate, dict(optimizer_opts or {}))
    n_steps = math.ceil(n_batches / grad_acc_steps) * n_epochs
    schedule, schedule_params = _make_schedule(optimizer, dict(schedule_opts or {}), n_steps)
    if distributed and not torch.distributed.is_initialized():
        # The script of a torchrun job, started without torchrun: train in this process.
        logger.warning("initialize_optimizer(distributed=True) outside a process group (the "
                       "script was not started by torchrun): training in one process, without "
                       "DistributedDataParallel.")
    elif distributed:
        on_gpu = torch.device(device).type == "cuda"
        ids = [local_rank] if on_gpu and local_rank >= 0 else None
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=ids, output_device=ids[0] if ids else None,
            find_unused_parameters=True,
        )
    get_tracker().log_params({
        "learning_rate": learning_rate,
        "n_epochs": n_epochs,
        "n_batches": n_batches,
        "grad_acc_steps": grad_acc_steps,
        "optimizer": type(optimizer).__name__,
        **schedule_params,
    })
    return model, optimizer, schedule


def _make_optimizer(model: nn.Module, learning_rate: float, opts: dict[str, Any]) -> Optimizer:
    name = opts.pop("name", "AdamW")
    if name == "TransformersAdamW":  # FARM's old name; torch's AdamW is the same algorithm
        name = "AdamW"
    if "correct_bias" in opts:
        if name != "AdamW":
            raise FarmError(f"optimizer_opts 'correct_bias' applies to AdamW "
                            f"('TransformersAdamW'), not to {name!r}; remove it.")
        if not opts.pop("correct_bias"):
            name = "AdamWWithoutBiasCorrection"
    optimizer_cls: Any = (AdamWWithoutBiasCorrection if name == "AdamWWithoutBiasCorrection"
                          else getattr(torch.optim, name, None))
    if not (isinstance(optimizer_cls, type) and issubclass(optimizer_cls, Optimizer)):
        choices = [n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type)
                   and issubclass(getattr(torch.optim, n), Optimizer) and n != "Optimizer"]
        check_choice(name, choices, "optimizer")
    weight_decay = opts.pop("weight_decay", 0.01)
    no_decay = tuple(opts.pop("no_decay", ()))
    layer_decay = opts.pop("layer_lr_decay", None)
    n_layers = _n_layers(model)
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for param_name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decays = param.ndim >= 2 and not any(fragment in param_name for fragment in no_decay)
        depth = _depth(param_name, n_layers) if layer_decay else 0
        group = groups.setdefault((depth, decays), {
            "params": [],
            "weight_decay": weight_decay if decays else 0.0,
            "lr": learning_rate * (layer_decay ** (n_layers + 1 - depth) if layer_decay else 1),
        })
        group["params"].append(param)
    assert optimizer_cls is not None
    params = [p for group in groups.values() for p in group["params"]]
    chosen = {"fused", "foreach", "differentiable", "capturable"} & set(opts)
    if name in _FUSED_BY_DEFAULT and not chosen and params and all(
        p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params
    ):
        # One fused kernel per step: no per-parameter temporaries (about 100 MB lower peak
        # memory for MiniLM on the CPU, see benchmarks/README.md), the same update rule.
        opts["fused"] = True
    optimizer = optimizer_cls(list(groups.values()), lr=learning_rate, **opts)
    logger.info("Optimizer %s, lr %g, weight decay %g", name, learning_rate, weight_decay)
    return optimizer


_FUSED_BY_DEFAULT = ("AdamW", "Adam")

_LAYER_INDEX = re.compile(r"\.layers?\.(\d+)\.")


def _n_layers(model: nn.Module) -> int:
    """Number of transformer layers of the model's language model (0 if unknown)."""
    config = getattr(getattr(model, "language_model", None), "config", None)
    return int(getattr(config, "num_hidden_layers", 0) or 0)


def _depth(param_name: str, n_layers: int) -> int:
    """Depth of a parameter for layer-wise learning-rate decay: 0 for the embeddings,
    ``i + 1`` for transformer layer ``i``, ``n_layers + 1`` for everything above (pooler,
    prediction heads)."""
    if not re.match(r"language_model\d*\.", param_name):  # a BiAdaptiveModel has two
        return n_layers + 1
    if match := _LAYER_INDEX.search(param_name):
        return min(int(match.group(1)) + 1, n_layers + 1)
    return 0 if "embeddings" in param_name else n_layers + 1


def _make_schedule(
    optimizer: Optimizer, opts: dict[str, Any], n_steps: int
) -> tuple[LRScheduler | None, dict[str, Any]]:
    """The schedule, and its name and settings for the tracker (``lr_schedule`` is FARM's
    name, e.g. ``LinearWarmup``, not the class behind it)."""
    name = opts.pop("name", "LinearWarmup")
    if name is None:
        return None, {"lr_schedule": None}
    n_steps = opts.pop("num_training_steps", n_steps)
    if "num_warmup_steps" in opts and "warmup_proportion" in opts:
        raise ValueError(
            "schedule_opts has both 'num_warmup_steps' and 'warmup_proportion'; choose one."
        )
    warmup = opts.pop("num_warmup_steps", None)
    params: dict[str, Any] = {"lr_schedule": name}
    if name in _SCHEDULES:
        if warmup is None:
            proportion = opts.pop("warmup_proportion", 0.1)
            warmup = int(proportion * n_steps)
            params["lr_schedule.warmup_proportion"] = proportion
        params["lr_schedule.num_warmup_steps"] = warmup
        params["lr_schedule.num_training_steps"] = n_steps
        params.update({f"lr_schedule.{key}": value for key, value in opts.items()})
        return hf_get_scheduler(
            _SCHEDULES[name], optimizer, num_warmup_steps=warmup, num_training_steps=n_steps,
            scheduler_specific_kwargs=opts or None,
        ), params
    opts.pop("warmup_proportion", None)  # no warmup in torch's own schedules
    scheduler_cls = getattr(torch.optim.lr_scheduler, name, None)
    if not (isinstance(scheduler_cls, type) and issubclass(scheduler_cls, LRScheduler)):
        check_choice(name, list(_SCHEDULES), "schedule")
    params.update({f"lr_schedule.{key}": value for key, value in opts.items()})
    return scheduler_cls(optimizer, **opts), params  # type: ignore[misc]


def get_scheduler(optimizer: Optimizer, opts: dict[str, Any]) -> LRScheduler | None:
    """A learning-rate schedule from FARM's ``schedule_opts`` (as in ``initialize_optimizer``).

    Args:
        optimizer (Optimizer): The optimizer to schedule.
        opts (dict[str, Any]): ``{"name": "LinearWarmup", "num_training_steps": ...,
            "warmup_proportion": 0.1}`` or a ``torch.optim.lr_scheduler`` class name with its
            arguments; the schedules with warm-up need ``num_training_steps``. The dict is
            not changed.
    """
    opts = dict(opts)
    name = opts.get("name", "LinearWarmup")
    if name in _SCHEDULES and "num_training_steps" not in opts:
        raise ValueError(f"get_scheduler: schedule {name!r} needs opts['num_training_steps'] "
                         "(the number of optimizer steps of the whole training).")
    return _make_schedule(optimizer, opts, int(opts.get("num_training_steps", 0)))[0]


def optimize_model(
    model: nn.Module, device: str | torch.device, local_rank: int = -1,
    optimizer: Optimizer | None = None, distributed: bool = False,
    use_amp: str | bool | None = None,
) -> tuple[nn.Module, Optimizer | None]:
    """FARM's last step of ``initialize_optimizer``: move the model to ``device`` and, when
    ``distributed``, wrap it in ``DistributedDataParallel`` (under ``torchrun``).

    Several GPUs in one process (FARM's ``DataParallel``) are not used: start one process
    per GPU with ``torchrun`` (see ``docs/scaling.md``). ``use_amp`` is applied by the
    ``Trainer``.

    Returns:
        tuple: ``(model, optimizer)``.
    """
    model.to(device)
    if use_amp:
        log_once("optimize_model:use_amp", "optimize_model(use_amp=...) has no effect: mixed "
                  "precision is applied by the Trainer (Trainer(use_amp=...)).")
    if distributed:
        on_gpu = torch.device(device).type == "cuda"
        ids = [local_rank] if on_gpu and local_rank >= 0 else None
        model = WrappedDDP(model, device_ids=ids, output_device=ids[0] if ids else None,
                           find_unused_parameters=True)
    elif torch.cuda.device_count() > 1:
        log_once("optimize_model:data_parallel", "Several GPUs are visible but FARM trains "
                  "one process per GPU: start the script with torchrun --nproc_per_node=N "
                  "and pass distributed=True (see docs/scaling.md).")
    return model, optimizer


class WrappedDDP(nn.parallel.DistributedDataParallel):
    """``DistributedDataParallel`` that also answers the wrapped model's attributes
    (``model.prediction_heads`` ...), as FARM's wrapper did."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


class WrappedDataParallel(nn.DataParallel):
    """``DataParallel`` that also answers the wrapped model's attributes, as FARM's wrapper
    did. FARM's Trainer does not use it (one process per GPU, see ``optimize_model``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)
