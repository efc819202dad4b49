"""Next-sentence prediction head: is segment B the continuation of segment A?"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForNextSentencePrediction
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_NEXT_SENTENCE_PREDICTION_MAPPING_NAMES,
)

from farm.errors import FarmError
from farm.modeling.hf_loading import load_config, load_pretrained
from farm.modeling.prediction_heads.base import PredictionHead
from farm.modeling.prediction_heads.masked_lm_parts import quiet_transformers
from farm.modeling.prediction_heads.text_classification import TextClassificationHead

logger = logging.getLogger(__name__)

# Index 0 is "B follows A", as in BERT's pre-training and transformers' NSP models, so a
# pretrained next-sentence classifier keeps its meaning.
NSP_LABELS = ["is_next", "not_next"]


class NextSentenceHead(TextClassificationHead):
    """Two-class per-sequence head for the next-sentence task of ``BertStyleLMProcessor``.

    Expects the per-sequence vector ``(batch, hidden)`` (the pooler output where the model
    has a pooler) and returns logits ``(batch, 2)`` over ``["is_next", "not_next"]``; the loss
    is cross-entropy against ``nextsentence_label_ids`` ``(batch, 1)``.

    Args:
        layer_dims (list[int] | None): Widths of the feed-forward layers (default
            ``[768, 2]``; the first is fitted to the language model).
        num_labels (int | None): FARM's way to give the width: must be 2 (or None).
        task_name (str): Name of the task (the processor calls it ``"nextsentence"``).
        label_list (list[str] | None): The two labels (set from the processor).
        metric (Any): Metric of the task (default ``"acc"``).

    Example:
        >>> nsp_head = NextSentenceHead.load("bert-base-uncased")  # its pretrained classifier
        >>> nsp_head = NextSentenceHead()  # a new one
    """

    def __init__(
        self,
        layer_dims: list[int] | None = None,
        task_name: str = "nextsentence",
        label_list: list[str] | None = None,
        metric: Any = "acc",
        num_labels: int | None = None,
    ):
        if num_labels not in (None, 2):
            raise ValueError(f"A next-sentence head has 2 labels ({NSP_LABELS}); got "
                             f"num_labels={num_labels}.")
        layer_dims = list(layer_dims) if layer_dims is not None else [768, 2]
        if layer_dims[-1] != 2:
            raise ValueError(f"A next-sentence head has 2 outputs; layer_dims {layer_dims} "
                             f"end in {layer_dims[-1]}.")
        super().__init__(layer_dims=layer_dims, task_name=task_name,
                         label_list=label_list or list(NSP_LABELS), metric=metric)

    @classmethod
    def load(  # type: ignore[override]
        cls,
        pretrained_model_name_or_path: str | Path,
        revision: str | None = None,
        task_name: str = "nextsentence",
        strict: bool = True,
        **kwargs: Any,
    ) -> NextSentenceHead:
        """The pretrained next-sentence classifier of a model (BERT-style checkpoints that
        were pre-trained with it), or a new head of the model's width.

        Args:
            pretrained_model_name_or_path (str | Path): A Hugging Face folder or hub name, or
                a saved head's ``prediction_head_<n>_config.json``.
            revision (str | None): Hub revision.
            task_name (str): Task name of the head.
            strict (bool): For a saved head's config file: require its weights to match.
            **kwargs: ``from_pretrained`` options (``cache_dir``, ``local_files_only``,
                ``token``).
        """
        path = Path(pretrained_model_name_or_path)
        if path.name.endswith("_config.json") and path.is_file():
            return PredictionHead.load(path, strict=strict)  # type: ignore[return-value]
        if (path / "farm_model.json").is_file():
            path = path / "language_model"
        source = str(path) if path.exists() else str(pretrained_model_name_or_path)
        hub = {k: v for k, v in {"revision": revision, **kwargs}.items() if v is not None}
        config = load_config(source, **hub)
        head = cls(layer_dims=[int(config.hidden_size), 2], task_name=task_name)
        if config.model_type not in MODEL_FOR_NEXT_SENTENCE_PREDICTION_MAPPING_NAMES:
            logger.info("%s (%s) has no next-sentence model in transformers: a new "
                        "next-sentence head was initialised.", source, config.model_type)
            return head
        with quiet_transformers():
            nsp_model, info = load_pretrained(AutoModelForNextSentencePrediction, source,
                                              config=config, output_loading_info=True, **hub)
        prefix = f"{nsp_model.base_model_prefix}."
        own = {k: v for k, v in nsp_model.state_dict().items() if not k.startswith(prefix)}
        weights = sorted(own.items(), key=lambda item: -item[1].dim())  # weight, then bias
        shapes = [tuple(v.shape) for _, v in weights]
        if set(own) & set(info["missing_keys"]) or shapes != [(2, config.hidden_size), (2,)]:
            logger.info("%s has no pretrained next-sentence classifier: a new head was "
                        "initialised.", source)
            return head
        linear = head.feed_forward.feed_forward[0]
        if not isinstance(linear, torch.nn.Linear):
            raise FarmError("NextSentenceHead expects a single linear layer.")
        with torch.no_grad():
            linear.weight.copy_(weights[0][1])
            linear.bias.copy_(weights[1][1])
        logger.info("Loaded the next-sentence classifier of %s.", source)
        return head
