"""How an :class:`AdaptiveModel` combines the losses of its heads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

LossAggregation = Callable[..., Tensor]


def sum_losses(loss_per_head: list[Tensor], global_step: int | None = None, batch: Any = None
               ) -> Tensor:
    """The per-sample losses of all heads, summed: ``(batch,)``."""
    return torch.stack(loss_per_head).sum(dim=0)


class WeightedSum:
    """Default loss aggregation: ``sum_i weight_i * loss_i`` per sample, ``(batch,)``.

    Args:
        weights (Sequence[float]): One weight per head.
    """

    def __init__(self, weights: Sequence[float]):
        self.weights = [float(w) for w in weights]

    def __call__(self, loss_per_head: list[Tensor], global_step: int | None = None,
                 batch: Any = None) -> Tensor:
        if len(loss_per_head) != len(self.weights):
            raise ValueError(
                f"{len(loss_per_head)} head losses but {len(self.weights)} loss_weights."
            )
        stacked = torch.stack(loss_per_head)  # (n_heads, batch)
        weights = torch.tensor(self.weights, dtype=stacked.dtype, device=stacked.device)
        return (weights[:, None] * stacked).sum(dim=0)  # (batch,)
