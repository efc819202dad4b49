"""Regression head: one number per text (or text pair)."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
from torch import Tensor

from farm.modeling.prediction_heads.base import FeedForwardBlock, PredictionHead, input_context

logger = logging.getLogger(__name__)


class RegressionHead(PredictionHead):
    """Predicts one number from the language model's per-sequence vector.

    The head learns labels scaled to zero mean and unit variance (the processor scales
    them) and predicts in the original scale: ``logit * scaler_scale + scaler_mean``. The
    scaler comes from the processor task when training starts (:meth:`connect_task`) and is
    saved in the head's config, so a loaded model predicts in the original scale by itself.

    Expects ``(batch, hidden)`` input and returns ``(batch, 1)``; the loss is the squared
    error against ``<task_name>_label_ids`` ``(batch, 1)`` (``float32``, scaled). A NaN
    label (masked in multitask data) adds no loss.

    Args:
        layer_dims (list[int] | None): Widths of the feed-forward layers, ending in 1;
            default ``[768, 1]`` (the first width is fitted to the language model).
        task_name (str): Name of the task this head learns.
        scaler_mean (float | None): Mean of the training labels (set from the task).
        scaler_scale (float | None): Their standard deviation (set from the task).
        label_list (list[str] | None): Not used by regression; kept for the common config.
        metric (Any): Metric of the task (set from the processor when training).
        activation (str): Activation between the layers of a multi-layer head.

    Example:
        >>> head = RegressionHead(task_name="regression")
        >>> head(torch.randn(4, 768)).shape
        torch.Size([4, 1])
    """

    task_type = "regression"
    model_type = "regression"
    hf_task_type: ClassVar[str | None] = "regression"
    ph_output_type = "per_sequence"
    processor_task_types = ("regression",)

    def __init__(
        self,
        layer_dims: list[int] | None = None,
        task_name: str = "regression",
        scaler_mean: float | None = None,
        scaler_scale: float | None = None,
        label_list: list[str] | None = None,
        metric: Any = None,
        activation: str = "relu",
    ):
        super().__init__(task_name=task_name, label_list=label_list, metric=metric)
        layer_dims = list(layer_dims) if layer_dims is not None else [768, 1]
        if layer_dims[-1] != 1:
            raise ValueError(
                f"A regression head predicts one number, so layer_dims must end in 1; got "
                f"{layer_dims}."
            )
        self.layer_dims = layer_dims
        self.scaler_mean = scaler_mean
        self.scaler_scale = scaler_scale
        self.activation = activation
        self.feed_forward = FeedForwardBlock(self.layer_dims, activation)

    def connect_task(self, task: dict[str, Any]) -> None:
        """Take label tensor name, metric and the label scaler from the processor task."""
        super().connect_task(task)
        self.scaler_mean = task.get("scaler_mean")
        self.scaler_scale = task.get("scaler_scale")

    def forward(self, x: Tensor) -> Tensor:
        return self.feed_forward(x)  # (batch, 1)

    def logits_to_loss(self, logits: Tensor, **kwargs: Tensor) -> Tensor:
        labels = kwargs[self.label_tensor_name].view(-1).float()  # (batch,)
        known = ~torch.isnan(labels)
        # where(), not a product with the mask: NaN * 0 would still be NaN.
        error = torch.where(known, logits.view(-1).float() - labels, torch.zeros_like(labels))
        return error**2  # (batch,)

    def unscale(self, values: Tensor) -> list[float]:
        """Scaled values back to the label scale (identity while the scaler is unknown)."""
        mean = self.scaler_mean if self.scaler_mean is not None else 0.0
        scale = self.scaler_scale if self.scaler_scale is not None else 1.0
        return (values.float().view(-1) * scale + mean).tolist()

    def logits_to_preds(self, logits: Tensor, **kwargs: Any) -> list[float]:
        """Predictions in the original label scale."""
        return self.unscale(logits)

    def prepare_labels(self, **kwargs: Tensor) -> list[float | None]:
        """True labels in the original scale; ``None`` where masked."""
        labels = kwargs[self.label_tensor_name].view(-1)
        values = self.unscale(labels)
        return [None if torch.isnan(labels[i]) else v for i, v in enumerate(values)]

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        """``{"context": text, "pred": value}`` per basket, in the original label scale."""
        values = self.unscale(logits)
        return [{**input_context(b), "pred": v} for b, v in zip(baskets, values, strict=True)]
