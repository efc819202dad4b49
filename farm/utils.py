"""Seeds, devices and experiment tracking (FARM's ``farm.utils``), and FARM's other helpers
(``farm.legacy_utils``)."""

from __future__ import annotations

import logging
import os
import random

import numpy as np
import torch
import torch.distributed as dist

from farm.legacy_utils import (
    BaseMLLogger,
    Benchmarker,
    GracefulKiller,
    all_gather_list,
    all_reduce,
    calc_chunksize,
    convert_iob_to_simple_tags,
    flatten_list,
    format_log,
    get_dict_checksum,
    log_ascii_workers,
    reformat_msmarco_dev,
    reformat_msmarco_train,
    stack,
    to_numpy,
    try_get,
    write_msmarco_results,
)
from farm.tracking import (
    MLFlowLogger,
    StdoutLogger,
    TensorBoardLogger,
    Tracker,
    get_tracker,
    set_tracker,
)

__all__ = [
    "BaseMLLogger",
    "Benchmarker",
    "GracefulKiller",
    "MLFlowLogger",
    "StdoutLogger",
    "TensorBoardLogger",
    "Tracker",
    "all_gather_list",
    "all_reduce",
    "calc_chunksize",
    "convert_iob_to_simple_tags",
    "flatten_list",
    "format_log",
    "get_dict_checksum",
    "get_tracker",
    "initialize_device_settings",
    "log_ascii_workers",
    "reformat_msmarco_dev",
    "reformat_msmarco_train",
    "set_all_seeds",
    "set_tracker",
    "stack",
    "to_numpy",
    "try_get",
    "write_msmarco_results",
]

logger = logging.getLogger(__name__)


def set_all_seeds(seed: int, deterministic_cudnn: bool = False) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU) for reproducible runs.

    Args:
        seed (int): The seed.
        deterministic_cudnn (bool): Also make cuDNN deterministic (slower on GPU).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic_cudnn:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def initialize_device_settings(
    use_cuda: bool | None = None, local_rank: int = -1, use_amp: str | bool | None = None
) -> tuple[torch.device, int]:
    """Choose the device to train on, and join the process group under ``torchrun``.

    Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the default process group is
    initialized (NCCL on GPUs, gloo on the CPU) and each process uses the GPU of its
    ``LOCAL_RANK``.

    Args:
        use_cuda (bool | None): Use a GPU if one is available; ``None`` means "if available".
        local_rank (int): The process's GPU under ``torchrun`` (``-1``: read ``LOCAL_RANK``
            from the environment, which ``torchrun`` sets).
        use_amp (str | bool | None): Accepted for FARM compatibility; mixed precision is set in
            ``initialize_optimizer`` and ``Trainer``.

    Returns:
        tuple[torch.device, int]: The device and the number of GPUs this process uses.
    """
    if local_rank == -1:
        local_rank = int(os.environ.get("LOCAL_RANK", -1))
    cuda = torch.cuda.is_available() and use_cuda is not False
    if use_cuda and not torch.cuda.is_available():
        # FARM's scripts pass use_cuda=True to mean "the GPU if there is one".
        logger.info("No CUDA device: using the CPU.")
    if int(os.environ.get("WORLD_SIZE", 1)) > 1 and not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(max(local_rank, 0))
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if not cuda:
        device, n_gpu = torch.device("cpu"), 0
    elif local_rank == -1:
        device, n_gpu = torch.device("cuda"), torch.cuda.device_count()
    else:
        torch.cuda.set_device(local_rank)
        device, n_gpu = torch.device("cuda", local_rank), 1
    logger.info("Using device %s (%d GPU(s), local rank %d)", device, n_gpu, local_rank)
    return device, n_gpu
