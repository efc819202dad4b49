"""Single-label text classification head."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor

from farm.compat import log_once
from farm.errors import check_choice
from farm.modeling.prediction_heads.base import FeedForwardBlock, PredictionHead, input_context

logger = logging.getLogger(__name__)


class TextClassificationHead(PredictionHead):
    """Predicts one label per text from the language model's per-sequence vector.

    Expects ``(batch, hidden)`` input and returns logits ``(batch, num_labels)``; the loss is
    cross-entropy against ``<task_name>_label_ids`` ``(batch, 1)``.

    Args:
        layer_dims (list[int] | None): Widths of the feed-forward layers, e.g. ``[768, 2]``;
            the first is fitted to the language model's width.
        num_labels (int | None): Number of labels (when ``layer_dims`` is not given).
        class_weights (list[float] | None): Loss weight per label (see
            ``DataSilo.calculate_class_weights``).
        loss_ignore_index (int): Label id that contributes no loss.
        loss_reduction (str): FARM's option; the head always returns one loss per sample
            (``"none"``), which the trainer averages, so ``"mean"`` and ``"sum"`` are
            accepted with a warning and have no effect.
        task_name (str): Name of the task (and of the processor task) this head learns.
        label_list (list[str] | None): The labels (set from the processor when training).
        metric (Any): Metric of the task (set from the processor when training).
        activation (str): Activation between the layers of a multi-layer head: ``"relu"``
            (default), ``"gelu"`` or ``"tanh"`` (see ``docs/conversion.md``).

    Example:
        >>> head = TextClassificationHead(num_labels=2)
        >>> logits = head(torch.randn(4, 768))  # (4, 2)
    """

    task_type = "text_classification"
    model_type = "text_classification"
    hf_task_type: ClassVar[str | None] = "text_classification"
    ph_output_type = "per_sequence"
    processor_task_types = ("classification",)

    def __init__(
        self,
        layer_dims: list[int] | None = None,
        num_labels: int | None = None,
        class_weights: list[float] | None = None,
        loss_ignore_index: int = -100,
        loss_reduction: str = "none",
        task_name: str = "text_classification",
        label_list: list[str] | None = None,
        metric: Any = None,
        activation: str = "relu",
    ):
        super().__init__(task_name=task_name, label_list=label_list, metric=metric)
        if layer_dims is None:
            if num_labels is None:
                raise ValueError("Give TextClassificationHead num_labels or layer_dims.")
            layer_dims = [768, num_labels]
        if num_labels is not None and layer_dims[-1] != num_labels:
            raise ValueError(
                f"layer_dims {layer_dims} end in {layer_dims[-1]} outputs but num_labels is "
                f"{num_labels}; give one of them, or make them agree."
            )
        if class_weights is not None and len(class_weights) != layer_dims[-1]:
            raise ValueError(
                f"{len(class_weights)} class_weights for {layer_dims[-1]} labels; give one "
                "weight per label."
            )
        self.layer_dims = list(layer_dims)
        self.num_labels = layer_dims[-1]
        self.class_weights = (
            [float(w) for w in class_weights] if class_weights is not None else None
        )
        self.loss_ignore_index = loss_ignore_index
        check_choice(loss_reduction, ["none", "mean", "sum"], "loss_reduction")
        if loss_reduction != "none":
            log_once(f"{type(self).__name__}:loss_reduction",
                      f"{type(self).__name__}(loss_reduction={loss_reduction!r}) has no effect: "
                      "heads return one loss per sample and the trainer averages them.")
        self.loss_reduction = loss_reduction
        self.activation = activation
        self.feed_forward = FeedForwardBlock(self.layer_dims, activation)
        weight = torch.tensor(self.class_weights) if self.class_weights is not None else None
        self.register_buffer("loss_weight", weight, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.feed_forward(x)  # (batch, num_labels)

    def logits_to_loss(self, logits: Tensor, **kwargs: Tensor) -> Tensor:
        labels = kwargs[self.label_tensor_name].view(-1)  # (batch,)
        weight = cast(Tensor | None, self.loss_weight)
        return F.cross_entropy(
            logits, labels, weight=weight, ignore_index=self.loss_ignore_index,
            reduction="none",
        )

    def logits_to_probs(self, logits: Tensor) -> Tensor:
        """Softmax over the labels: ``(batch, num_labels)``."""
        return torch.softmax(logits.float(), dim=-1)

    def logits_to_preds(self, logits: Tensor, **kwargs: Any) -> list[str]:
        return [self._label(i) for i in logits.argmax(dim=-1).tolist()]

    def prepare_labels(self, **kwargs: Tensor) -> list[str | None]:
        """Label strings; ``None`` for a sample whose label is masked (multitask)."""
        return [
            None if i == self.loss_ignore_index else self._label(i)
            for i in kwargs[self.label_tensor_name].view(-1).tolist()
        ]

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], return_class_probs: bool = False,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        probs = self.logits_to_probs(logits)
        best_prob, best = probs.max(dim=-1)
        predictions = []
        for i, basket in enumerate(baskets):
            pred = {
                "start": None,
                "end": None,
                **input_context(basket),
                "label": self._label(int(best[i])),
                "probability": float(best_prob[i]),
            }
            if return_class_probs:
                pred["probabilities"] = probs[i].tolist()
            predictions.append(pred)
        return predictions

    def _label(self, index: int) -> str:
        return self.label_list[index] if self.label_list else str(index)
