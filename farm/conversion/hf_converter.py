"""The base of every head converter: how one kind of FARM head (or a group of heads) becomes
a Hugging Face ``AutoModelFor...`` model and is rebuilt from one.

The per-head converters live in ``farm.conversion.hf_heads`` (sequence, token and QA heads)
and ``farm.conversion.hf_lm_heads`` (masked LM, pre-training); the registries
``HEAD_CONVERTERS`` and ``TASK_TYPES`` are in ``farm.conversion.hf_heads``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
from torch import Tensor, nn
from transformers import PretrainedConfig, PreTrainedModel

from farm.conversion.hf_layouts import HeadStack
from farm.errors import FarmError
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads import PredictionHead
from farm.modeling.prediction_heads.base import plain_value

FARM_HEAD_KEY = "farm_head"
"""Config attribute of a converted model that records the FARM head (name and options)."""


def head_stack(head: PredictionHead) -> HeadStack:
    """The linear layers of a head's ``FeedForwardBlock`` and its activation."""
    block = getattr(head, "feed_forward", None)
    if block is None:
        raise FarmError(f"{type(head).__name__} has no feed-forward layers to convert.")
    layers = [(m.weight.detach().clone(), m.bias.detach().clone())
              for m in block.modules() if isinstance(m, nn.Linear)]
    return HeadStack(layers, getattr(head, "activation", "relu"))


def load_stack(head: PredictionHead, stack: HeadStack) -> None:
    """Copy ``stack``'s weights into a head built with the same ``layer_dims``."""
    block = cast(nn.Module, head.feed_forward)
    linears = [m for m in block.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for linear, (weight, bias) in zip(linears, stack.layers, strict=True):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)


@dataclass
class HeadConverter:
    """Converts one kind of FARM head to and from a Hugging Face ``AutoModelFor...`` class.

    Attributes:
        auto_class (str): The ``transformers`` auto class, e.g.
            ``"AutoModelForSequenceClassification"``.
        problem_type (str | None): ``config.problem_type`` of the converted model.
        per_token (bool): The head reads per-token vectors.
    """

    auto_class: str
    problem_type: str | None = None
    per_token: bool = False
    farm_options: ClassVar[tuple[str, ...]] = ("task_name",)

    def labels(self, head: PredictionHead) -> list[str]:
        """The labels for ``id2label``."""
        n = head_stack(head).layer_dims[-1]
        return list(head.label_list) if head.label_list else [f"LABEL_{i}" for i in range(n)]

    def prepare_config(self, config: PretrainedConfig, head: PredictionHead) -> None:
        labels = self.labels(head)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        config.problem_type = self.problem_type  # type: ignore[assignment]
        options = {k: plain_value(getattr(head, k)) for k in self.farm_options
                   if hasattr(head, k)}
        setattr(config, FARM_HEAD_KEY, {"name": type(head).__name__, **options})

    def to_hf(self, head: PredictionHead, lm: LanguageModel, hf: PreTrainedModel) -> None:
        raise NotImplementedError

    def hf_logits(self, output: Any) -> Tensor:
        """The Hugging Face model's output in the layout of the FARM head's logits."""
        return cast(Tensor, output.logits)

    def build_head(self, hf: PreTrainedModel) -> tuple[PredictionHead, dict[str, Tensor]]:
        """A FARM head holding ``hf``'s head weights, and pooler weights for the language
        model (if the architecture keeps them in its classifier)."""
        raise NotImplementedError

    # A converter stands for one FARM head; one for several heads (pre-training: masked LM
    # + next sentence) overrides these four, which the conversion functions call.

    def prepare_group(self, config: PretrainedConfig, heads: list[PredictionHead]) -> None:
        """Adjust the config for ``heads`` (in model order) before the model is built."""
        self.prepare_config(config, heads[0])

    def group_to_hf(self, heads: list[PredictionHead], lm: LanguageModel,
                    hf: PreTrainedModel) -> None:
        """Write the weights of ``heads`` into ``hf``."""
        self.to_hf(heads[0], lm, hf)

    def hf_outputs(self, output: Any) -> list[tuple[Tensor, bool]]:
        """Per head: the Hugging Face output in the layout of its FARM logits, and whether
        it is per token."""
        return [(self.hf_logits(output), self.per_token)]

    def build_heads(self, hf: PreTrainedModel) -> tuple[list[PredictionHead], dict[str, Tensor]]:
        """The FARM heads holding ``hf``'s head weights, and pooler weights for the language
        model."""
        head, pooler = self.build_head(hf)
        return [head], pooler

    @staticmethod
    def recorded(config: PretrainedConfig) -> dict[str, Any]:
        """What an earlier conversion recorded about the FARM head (or nothing)."""
        value = getattr(config, FARM_HEAD_KEY, None)
        return dict(value) if isinstance(value, dict) else {}

    @staticmethod
    def id2label(config: PretrainedConfig) -> list[str]:
        id2label = config.id2label or {}
        return [str(v) for _, v in sorted((int(k), v) for k, v in id2label.items())]
