"""Token classification head: one tag per word (NER), entity spans at inference."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor

from farm.errors import FarmError
from farm.modeling.prediction_heads.base import FeedForwardBlock, PredictionHead
from farm.tagging import (
    PLACEHOLDER_LABELS,
    WINDOW_POSITION,
    WORD_STARTS,
    WORD_STARTS_PAD,
    get_entities,
)

logger = logging.getLogger(__name__)


@dataclass
class WindowTags:
    """The tags of the words one sample (a window of a sentence) predicts for.

    Args:
        basket (int): Index of the sentence's basket.
        window (int): Position of the window in the sentence.
        n_windows (int): Number of windows of the sentence.
        tags (list[str]): One tag per word the window owns.
    """

    basket: int
    window: int
    n_windows: int
    tags: list[str]


class TokenClassificationHead(PredictionHead):
    """Predicts a tag for every word from the vector of its first sub-token.

    Expects per-token vectors ``(batch, seq_len, hidden)`` and returns logits
    ``(batch, seq_len, num_labels)``. The loss and the predictions use only the first
    sub-token of each word: the batch's ``word_starts`` ``(batch, n_words)`` hold their
    positions (-1 for a word without sub-token, -2 for padding) and
    ``<task_name>_label_ids`` ``(batch, n_words)`` the true tags, as ``NERProcessor`` makes
    them. Labels ``"X"`` and ``"[PAD]"`` of FARM's label lists are never predicted.

    Args:
        layer_dims (list[int] | None): Widths of the feed-forward layers, e.g. ``[768, 9]``;
            the first is fitted to the language model's width.
        num_labels (int | None): Number of tags (when ``layer_dims`` is not given).
        class_weights (list[float] | None): Loss weight per tag.
        task_name (str): Name of the task (and of the processor task) this head learns.
        label_list (list[str] | None): The tags (set from the processor when training).
        metric (Any): Metric of the task (set from the processor when training).

    Example:
        >>> head = TokenClassificationHead(num_labels=9)
        >>> logits = head(torch.randn(4, 32, 768))  # (4, 32, 9)
    """

    task_type = "ner"
    model_type = "token_classification"
    hf_task_type: ClassVar[str | None] = "ner"
    ph_output_type = "per_token"
    processor_task_types = ("ner",)

    def __init__(
        self,
        layer_dims: list[int] | None = None,
        num_labels: int | None = None,
        class_weights: list[float] | None = None,
        task_name: str = "ner",
        label_list: list[str] | None = None,
        metric: Any = None,
    ):
        super().__init__(task_name=task_name, label_list=label_list, metric=metric)
        if layer_dims is None:
            if num_labels is None:
                raise ValueError("Give TokenClassificationHead num_labels or layer_dims.")
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
        self.feed_forward = FeedForwardBlock(self.layer_dims)
        weight = torch.tensor(self.class_weights) if self.class_weights is not None else None
        self.register_buffer("loss_weight", weight, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.feed_forward(x)  # (batch, seq_len, num_labels)

    def logits_to_loss(self, logits: Tensor, **kwargs: Tensor) -> Tensor:
        """Cross-entropy of each word's first sub-token, per sample ``(batch,)``, scaled so
        that the batch mean is the (class-weighted) mean over all words of the batch."""
        starts = kwargs[WORD_STARTS]  # (batch, n_words)
        labels = kwargs[self.label_tensor_name].masked_fill(starts < 0, -100)  # (batch, n_words)
        word_logits = self._word_logits(logits, starts)  # (batch, n_words, num_labels)
        weight = cast(Tensor | None, self.loss_weight)
        loss = F.cross_entropy(
            word_logits.transpose(1, 2).float(), labels, weight=weight, ignore_index=-100,
            reduction="none",
        )  # (batch, n_words)
        valid = labels >= 0
        counted = weight[labels.clamp(min=0)] * valid if weight is not None else valid.float()
        total = counted.sum().clamp(min=1e-12)
        return loss.sum(dim=1) * labels.shape[0] / total  # (batch,)

    def logits_to_probs(self, logits: Tensor) -> Tensor:
        """Softmax over the tags, placeholders (``X``, ``[PAD]``) excluded."""
        return torch.softmax(self._mask_placeholders(logits.float()), dim=-1)

    def logits_to_preds(self, logits: Tensor, **kwargs: Any) -> list[WindowTags]:
        """Per sample the predicted tags of its words (``O`` for a word without sub-token),
        with the sample's place in its sentence (see :meth:`merge_per_basket`)."""
        starts = kwargs[WORD_STARTS]  # (batch, n_words)
        best = self._mask_placeholders(self._word_logits(logits, starts)).argmax(dim=-1)
        tags = [
            [self._label(int(i)) if s >= 0 else "O" for i, s in zip(row, row_starts, strict=True)
             if s != WORD_STARTS_PAD]
            for row, row_starts in zip(best.tolist(), starts.tolist(), strict=True)
        ]
        return self._with_positions(tags, kwargs[WINDOW_POSITION])

    def prepare_labels(self, **kwargs: Tensor) -> list[WindowTags | None]:
        """Per sample the true tags of its words, with its place in its sentence; ``None``
        for a sample without tags of this task (multitask data: ids -100), which the
        evaluator leaves out."""
        starts = kwargs[WORD_STARTS]  # (batch, n_words)
        labels = kwargs[self.label_tensor_name]  # (batch, n_words)
        ids = [
            [i for i, s in zip(row, row_starts, strict=True) if s != WORD_STARTS_PAD]
            for row, row_starts in zip(labels.tolist(), starts.tolist(), strict=True)
        ]
        windows = self._with_positions(
            [[self._label(i) for i in row if i >= 0] for row in ids], kwargs[WINDOW_POSITION]
        )
        return [None if row and max(row) < 0 else w for w, row in zip(windows, ids, strict=True)]

    def merge_per_basket(
        self, preds: list[Any], labels: list[Any], references: list[Any] | None = None
    ) -> tuple[list[list[str]], list[list[str]]]:
        """Join the windows of each sentence: one tag list per sentence for the metric."""
        return _merge_windows(preds), _merge_windows(labels)

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], return_class_probs: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Per basket the list of entities ``{"start", "end", "context", "label",
        "probability"}``: character offsets in the input text (``text[start:end] ==
        context``), the entity type, and the mean probability of its words' tags.

        ``logits`` ``(n_samples, seq_len, num_labels)`` hold the baskets' samples in order;
        each sample carries its ``word_starts`` feature and, in ``clear_text``, the ``text``
        and the ``word_spans`` of the words it owns.
        """
        probs = self.logits_to_probs(logits)  # (n_samples, seq_len, num_labels)
        row, results = 0, []
        for basket in baskets:
            tags: list[str] = []
            word_probs: list[float] = []
            spans: list[tuple[int, int]] = []
            text = ""
            for sample in basket.samples:
                starts = torch.as_tensor(sample.features[0][WORD_STARTS], dtype=torch.long)
                best_prob, best = probs[row, starts.clamp(min=0)].max(dim=-1)  # (n_words,)
                row += 1
                tags += [self._label(int(i)) if s >= 0 else "O"
                         for i, s in zip(best.tolist(), starts.tolist(), strict=True)]
                word_probs += best_prob.tolist()
                spans += [tuple(span) for span in sample.clear_text["word_spans"]]
                text = sample.clear_text["text"]
            entities = []
            for label, first, last in get_entities(tags):
                start, end = spans[first][0], spans[last][1]
                entities.append({
                    "start": start, "end": end, "context": text[start:end], "label": label,
                    "probability": sum(word_probs[first : last + 1]) / (last - first + 1),
                })
            results.append(entities)
        return results

    def _word_logits(self, logits: Tensor, starts: Tensor) -> Tensor:
        """The logits at each word's first sub-token: ``(batch, n_words, num_labels)``."""
        index = starts.clamp(min=0).long().unsqueeze(-1).expand(-1, -1, logits.shape[-1])
        return logits.gather(1, index)

    def _mask_placeholders(self, logits: Tensor) -> Tensor:
        masked = [i for i, label in enumerate(self.label_list or []) if label in PLACEHOLDER_LABELS]
        if not masked:
            return logits
        logits = logits.clone()
        logits[..., masked] = float("-inf")
        return logits

    def _with_positions(self, tags: list[list[str]], positions: Tensor) -> list[WindowTags]:
        return [
            WindowTags(basket=b, window=w, n_windows=n, tags=t)
            for t, (b, w, n) in zip(tags, positions.tolist(), strict=True)
        ]

    def _label(self, index: int) -> str:
        return self.label_list[index] if self.label_list else str(index)


def _merge_windows(items: list[Any]) -> list[list[str]]:
    """Join the consecutive windows of each sentence; they must come in dataset order."""
    merged: list[list[str]] = []
    previous: WindowTags | None = None
    for item in items:
        if not isinstance(item, WindowTags):
            merged.append(list(item))
            continue
        complete = previous is None or previous.window == previous.n_windows - 1
        follows = previous is not None and previous.basket == item.basket and (
            previous.window == item.window - 1)
        if not (item.window == 0 and complete or item.window > 0 and follows):
            raise FarmError(
                f"window {item.window} of sentence {item.basket} does not follow the windows "
                "before it: evaluate NER on a data loader that keeps the dataset's order (no "
                "shuffling), so the windows of long sentences can be joined."
            )
        if item.window == 0:
            merged.append(list(item.tags))
        else:
            merged[-1].extend(item.tags)
        previous = item
    return merged
