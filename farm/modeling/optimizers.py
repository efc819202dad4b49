"""Optimizers FARM 0.8 offered that ``torch.optim`` does not have."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer


class AdamWWithoutBiasCorrection(Optimizer):
    """AdamW without Adam's bias correction: FARM's ``{"name": "TransformersAdamW",
    "correct_bias": False}``, the update of the original BERT and DPR training code.

    Per parameter with gradient ``g`` at each step::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr * m / (sqrt(v) + eps)
        p = p - lr * weight_decay * p            (decoupled weight decay, after the update)

    Without the correction ``m / (1 - beta1^t)`` and ``v / (1 - beta2^t)``, the first steps
    differ from ``torch.optim.AdamW`` (by about ``sqrt(1 - beta2^t) / (1 - beta1^t)``);
    later they agree.

    Args:
        params (Iterable[Any]): Parameters or parameter groups.
        lr (float): Learning rate.
        betas (tuple[float, float]): Decay rates of the moment estimates.
        eps (float): Added to the denominator.
        weight_decay (float): Decoupled weight decay.

    Example:
        >>> optimizer = AdamWWithoutBiasCorrection(model.parameters(), lr=2e-5)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0.0):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Invalid optimizer settings: lr={lr}, betas={betas}, eps={eps}, "
                             f"weight_decay={weight_decay}.")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = torch.zeros(())
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(param.grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(param.grad, param.grad, value=1 - beta2)
                param.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(group["eps"]), value=-group["lr"])
                if group["weight_decay"]:
                    param.add_(param, alpha=-group["lr"] * group["weight_decay"])
        return loss
