"""Process-group facts for training under ``torchrun`` (PyTorch DDP); no launcher of our own."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True inside an initialized process group with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of processes (1 outside distributed training)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", 1))


def rank() -> int:
    """Global rank of this process (0 outside distributed training)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", 0))


def is_main_process() -> bool:
    """True on the process that evaluates, saves and logs."""
    return rank() == 0


def all_reduce_sum(value: float, device: torch.device) -> float:
    """Sum of ``value`` over all processes (the value itself outside distributed training)."""
    if not is_distributed():
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return float(tensor.item())


def broadcast_flag(flag: bool, device: torch.device) -> bool:
    """Rank 0's ``flag`` on every process."""
    if not is_distributed():
        return flag
    tensor = torch.tensor([int(flag)], device=device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def barrier() -> None:
    """Wait for all processes (no-op outside distributed training)."""
    if is_distributed():
        dist.barrier()


def all_gather_rows(tensor: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """The rows of ``tensor`` from every process, concatenated in rank order.

    Processes may hold different numbers of rows (the last batch of an epoch). This
    process's rows are ``tensor`` itself, so they keep their gradient; the rows of the other
    processes carry none (each process back-propagates through its own rows).

    Args:
        tensor (torch.Tensor): ``(n_rows, ...)`` on this process.

    Returns:
        tuple[torch.Tensor, list[int]]: ``(sum of n_rows, ...)`` and the number of rows of
        each process. Outside distributed training: ``tensor`` and ``[n_rows]``.
    """
    if not is_distributed():
        return tensor, [int(tensor.shape[0])]
    n_rows = torch.tensor([tensor.shape[0]], dtype=torch.int64, device=tensor.device)
    counts = [torch.zeros_like(n_rows) for _ in range(dist.get_world_size())]
    dist.all_gather(counts, n_rows)
    sizes = [int(c.item()) for c in counts]
    padded = tensor.detach().new_zeros((max(sizes), *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor.detach()
    gathered = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(gathered, padded)
    gathered[dist.get_rank()] = tensor
    return torch.cat([g[:n] for g, n in zip(gathered, sizes, strict=True)]), sizes
