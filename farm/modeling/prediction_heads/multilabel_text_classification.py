"""Multilabel text classification head: any number of labels per text."""

from __future__ import annotations

from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor

from farm.modeling.prediction_heads.base import input_context
from farm.modeling.prediction_heads.text_classification import TextClassificationHead


class MultiLabelTextClassificationHead(TextClassificationHead):
    """Predicts, per label, whether it applies to a text (independent sigmoids).

    Expects ``(batch, hidden)`` input and returns logits ``(batch, num_labels)``; the loss is
    binary cross-entropy with logits against the multi-hot ``<task_name>_label_ids``
    ``(batch, num_labels)`` (``float32``), summed over labels. A row of NaN labels (masked
    in multitask data) adds no loss. A label is predicted when its probability is at least
    ``pred_threshold``.

    Args:
        layer_dims (list[int] | None): Widths of the feed-forward layers, e.g. ``[768, 28]``;
            the first is fitted to the language model's width.
        num_labels (int | None): Number of labels (when ``layer_dims`` is not given).
        class_weights (list[float] | None): ``pos_weight`` of the loss, one per label:
            weights > 1 favour recall of rare labels. ``DataSilo.calculate_class_weights``
            gives negatives / positives per label for a multilabel task.
        pred_threshold (float): Probability from which a label is predicted.
        task_name (str): Name of the task (and of the processor task) this head learns.
        label_list (list[str] | None): The labels (set from the processor when training).
        metric (Any): Metric of the task (set from the processor when training).
        activation (str): Activation between the layers of a multi-layer head.

    Example:
        >>> head = MultiLabelTextClassificationHead(num_labels=28, pred_threshold=0.4)
        >>> head(torch.randn(4, 768)).shape
        torch.Size([4, 28])
    """

    task_type = "multilabel_text_classification"
    model_type = "multilabel_text_classification"
    hf_task_type: ClassVar[str | None] = "multilabel_text_classification"
    ph_output_type = "per_sequence"
    processor_task_types = ("multilabel_classification",)

    def __init__(
        self,
        layer_dims: list[int] | None = None,
        num_labels: int | None = None,
        class_weights: list[float] | None = None,
        pred_threshold: float = 0.5,
        task_name: str = "text_classification",
        label_list: list[str] | None = None,
        metric: Any = None,
        activation: str = "relu",
    ):
        if not 0.0 < pred_threshold < 1.0:
            raise ValueError(f"pred_threshold must be between 0 and 1; got {pred_threshold}.")
        super().__init__(layer_dims=layer_dims, num_labels=num_labels,
                         class_weights=class_weights, task_name=task_name,
                         label_list=label_list, metric=metric, activation=activation)
        self.pred_threshold = pred_threshold

    def logits_to_loss(self, logits: Tensor, **kwargs: Tensor) -> Tensor:
        labels = kwargs[self.label_tensor_name].float()  # (batch, num_labels)
        known = ~torch.isnan(labels)
        loss = F.binary_cross_entropy_with_logits(
            logits.float(), torch.where(known, labels, torch.zeros_like(labels)),
            pos_weight=cast(Tensor | None, self.loss_weight), reduction="none",
        )  # (batch, num_labels)
        return torch.where(known, loss, torch.zeros_like(loss)).sum(dim=-1)  # (batch,)

    def logits_to_probs(self, logits: Tensor) -> Tensor:
        """Sigmoid per label: ``(batch, num_labels)``."""
        return torch.sigmoid(logits.float())

    def logits_to_preds(  # type: ignore[override]
        self, logits: Tensor, **kwargs: Any
    ) -> list[list[int]]:
        """Multi-hot predictions in ``label_list`` order (the format of the metrics)."""
        return (self.logits_to_probs(logits) >= self.pred_threshold).int().tolist()

    def prepare_labels(self, **kwargs: Tensor) -> list[list[int] | None]:  # type: ignore[override]
        """Multi-hot true labels; ``None`` for a masked sample."""
        labels = kwargs[self.label_tensor_name].float()  # (batch, num_labels)
        masked = torch.isnan(labels).any(dim=-1).tolist()
        hot = torch.nan_to_num(labels).int().tolist()
        return [None if m else h for m, h in zip(masked, hot, strict=True)]

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], return_class_probs: bool = False,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Per basket: ``label``, the labels at or above the threshold; ``probability``,
        their probabilities; ``probabilities``, every label's (``label_list`` order; always
        given, whatever ``return_class_probs`` says)."""
        probs = self.logits_to_probs(logits)
        predictions = []
        for basket, row in zip(baskets, probs.tolist(), strict=True):
            chosen = [i for i, p in enumerate(row) if p >= self.pred_threshold]
            predictions.append({
                "start": None,
                "end": None,
                **input_context(basket),
                "label": [self._label(i) for i in chosen],
                "probability": [row[i] for i in chosen],
                "probabilities": row,
            })
        return predictions
