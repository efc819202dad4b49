"""Vectors from a language model: one per text (pooled several ways) or one per token.

``Inferencer.load(model, task_type="embeddings", extraction_strategy=...,
extraction_layer=...)`` builds an :class:`EmbeddingModel`; it works on a plain Hugging Face
folder (no head needed) and on a saved FARM model (its language model is used).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from farm.errors import check_choice
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads.base import PredictionHead, input_context

EXTRACTION_STRATEGIES = ("cls_token", "reduce_mean", "reduce_max", "per_token", "pooled")


def pool_tokens(sequence_output: Tensor, padding_mask: Tensor, strategy: str) -> Tensor:
    """Token vectors of a batch pooled per text; padding never takes part.

    Args:
        sequence_output (Tensor): ``(batch, seq_len, hidden)`` token vectors.
        padding_mask (Tensor): ``(batch, seq_len)``, 1 for real tokens, 0 for padding.
        strategy (str): ``"cls_token"`` (the first token's vector), ``"reduce_mean"``
            (mean over the real tokens, special tokens included, as sentence-transformers
            pools), ``"reduce_max"`` (maximum over the real tokens per dimension) or
            ``"per_token"`` (no pooling).

    Returns:
        Tensor: ``(batch, hidden)``, or ``(batch, seq_len, hidden)`` for ``"per_token"``.
    """
    check_choice(strategy, [s for s in EXTRACTION_STRATEGIES if s != "pooled"],
                 "extraction_strategy for token vectors")
    if strategy == "cls_token":
        return sequence_output[:, 0]  # (batch, hidden)
    if strategy == "per_token":
        return sequence_output
    real = padding_mask.bool().unsqueeze(-1)  # (batch, seq_len, 1)
    if strategy == "reduce_max":
        hidden = sequence_output.masked_fill(~real, float("-inf"))
        return hidden.max(dim=1).values  # (batch, hidden)
    summed = sequence_output.masked_fill(~real, 0.0).sum(dim=1)  # (batch, hidden)
    return summed / real.sum(dim=1).clamp(min=1)  # (batch, hidden)


class EmbeddingsHead(PredictionHead):
    """The task of an :class:`EmbeddingModel`: no layers, it formats the vectors.

    Args:
        extraction_strategy (str): One of ``EXTRACTION_STRATEGIES``.
        extraction_layer (int): Layer the vectors come from (-1: the last).
        task_name (str): Name shown in the results.
    """

    task_type = "embeddings"

    def __init__(
        self, extraction_strategy: str = "cls_token", extraction_layer: int = -1,
        task_name: str = "embeddings",
    ):
        check_choice(extraction_strategy, EXTRACTION_STRATEGIES, "extraction_strategy")
        super().__init__(task_name=task_name)
        self.extraction_strategy = extraction_strategy
        self.extraction_layer = extraction_layer

    def forward(self, x: Tensor) -> Tensor:
        return x

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        """``{"context": text, "vec": [floats]}`` per basket; for ``per_token`` ``vec`` is
        one vector per token of the model input (special tokens included, padding not)."""
        predictions = []
        for i, basket in enumerate(baskets):
            vec = logits[i]
            if self.extraction_strategy == "per_token":
                vec = vec[: len(basket.samples[0].features[0]["input_ids"])]
            predictions.append({**input_context(basket), "vec": vec.tolist()})
        return predictions


class EmbeddingModel(AdaptiveModel):
    """A language model whose output is a vector per text (or per token), no head trained.

    Args:
        language_model (LanguageModel): The encoder.
        extraction_strategy (str): ``"cls_token"``, ``"reduce_mean"``, ``"reduce_max"``,
            ``"per_token"`` or ``"pooled"`` (the model's pooler output where it has one,
            else the first token's vector; last layer only).
        extraction_layer (int | None): Layer whose token vectors are used: -1 (default) the
            last, -2 the one before, ..., 0 the embedding layer.
        device (str | torch.device): Where the model lives.

    Example:
        >>> model = EmbeddingModel(LanguageModel.load("all-MiniLM-L6-v2"), "reduce_mean")
        >>> model(input_ids=ids, padding_mask=mask)[0].shape  # (batch, hidden)
    """

    def __init__(
        self,
        language_model: LanguageModel,
        extraction_strategy: str = "cls_token",
        extraction_layer: int | None = None,
        device: str | torch.device = "cpu",
    ):
        layer = -1 if extraction_layer is None else int(extraction_layer)
        n_layers = int(language_model.config.num_hidden_layers)
        if not -(n_layers + 1) <= layer <= n_layers:
            raise ValueError(
                f"extraction_layer={layer}, but the model has {n_layers} layers plus the "
                f"embedding layer: use -1 (last) to {-(n_layers + 1)}, or 0 to {n_layers}."
            )
        if extraction_strategy == "pooled" and layer not in (-1, n_layers):
            raise ValueError(
                "extraction_strategy='pooled' reads the model's pooler on the last layer; "
                f"extraction_layer={layer} cannot apply. Use 'cls_token' or 'reduce_mean' "
                "for another layer."
            )
        head = EmbeddingsHead(extraction_strategy=extraction_strategy, extraction_layer=layer)
        super().__init__(language_model, [head], embeds_dropout_prob=0.0, device=device)
        self.extraction_strategy = extraction_strategy
        self.extraction_layer = layer
        self.lm_output_types = ["per_token" if extraction_strategy == "per_token"
                                else "per_sequence"]

    def forward(
        self,
        input_ids: Tensor,
        segment_ids: Tensor | None = None,
        padding_mask: Tensor | None = None,
        **kwargs: Any,
    ) -> list[Tensor]:
        """The vectors of a batch, as the only "logits": ``[(batch, hidden)]`` or
        ``[(batch, seq_len, hidden)]`` for ``per_token``."""
        if padding_mask is None:
            padding_mask = torch.ones_like(input_ids)
        last_layer = self.extraction_layer in (-1, self.language_model.config.num_hidden_layers)
        outputs = self.language_model(
            input_ids=input_ids, segment_ids=segment_ids, padding_mask=padding_mask,
            output_hidden_states=not last_layer,
        )
        if self.extraction_strategy == "pooled":
            return [outputs[1]]
        sequence_output = outputs[0] if last_layer else outputs[2][self.extraction_layer]
        return [pool_tokens(sequence_output, padding_mask, self.extraction_strategy)]

    def save(self, save_dir: str | Path) -> None:
        """Save the language model as a plain Hugging Face folder, which
        ``Inferencer.load(save_dir, task_type="embeddings")`` opens again."""
        self.language_model.save(Path(save_dir))
