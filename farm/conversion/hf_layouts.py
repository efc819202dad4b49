"""How each architecture's Hugging Face head is laid out, and how a FARM head maps onto it.

A FARM per-sequence head is a stack of linear layers (``FeedForwardBlock``) on the language
model's per-sequence vector: the pooler output where the architecture has a pooler (BERT,
ALBERT, RoBERTa, XLM-R), else the first token's vector (DistilBERT, ELECTRA, DeBERTa-v2).
Hugging Face's ``*ForSequenceClassification`` classes differ per architecture; each layout
below moves the weights between the two so that both compute the same function:

- ``PoolerLinearLayout`` (BERT, ALBERT): pooler → ``classifier``; a one-layer head maps 1:1.
- ``PoolerAsDenseLayout`` (RoBERTa, XLM-R): ``classifier.dense`` → tanh →
  ``classifier.out_proj`` on the first token, which is RoBERTa's pooler (dense + tanh)
  followed by a linear layer: the pooler becomes ``classifier.dense``.
- ``HiddenLayerLayout`` (DistilBERT: ``pre_classifier`` → ReLU → ``classifier``; ELECTRA:
  ``classifier.dense`` → GELU → ``classifier.out_proj``): a two-layer FARM head with the same
  activation maps 1:1; a one-layer head is mapped through a *shifted identity* (see
  :func:`shifted_identity`).
- ``ContextPoolerLayout`` (DeBERTa-v2): ``pooler.dense`` → ``config.pooler_hidden_act`` →
  ``classifier``; the activation is a config value, so both one-layer heads (activation
  ``"linear"``, identity ``pooler.dense``) and two-layer heads map exactly.

Per-token heads (NER) are one linear layer on every token in all architectures
(``TokenLayout``). Adding an architecture is one entry in ``SEQUENCE_LAYOUTS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from transformers import PretrainedConfig, PreTrainedModel

from farm.errors import FarmError
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads.base import ACTIVATIONS

# Margin above the LayerNorm bound for the shifted identity: ReLU(x) = x for x >= 0, and
# float32 GELU(x) = x exactly from x ~ 5.5 on (erf rounds to 1).
_SHIFT_MARGIN = {"relu": 1.0, "gelu": 8.0}


@dataclass
class HeadStack:
    """The linear layers of a FARM head and the activation between them.

    Attributes:
        layers (list[tuple[Tensor, Tensor]]): ``(weight (out, in), bias (out,))`` per layer.
        activation (str): Activation between layers (``"relu"``, ``"gelu"``, ``"tanh"``).
    """

    layers: list[tuple[Tensor, Tensor]]
    activation: str = "relu"

    @property
    def layer_dims(self) -> list[int]:
        return [self.layers[0][0].shape[1]] + [w.shape[0] for w, _ in self.layers]


def set_linear(module: nn.Module, weight: Tensor, bias: Tensor) -> None:
    """Copy ``weight`` and ``bias`` into a linear layer, checking the shapes."""
    linear = module
    if not isinstance(linear, nn.Linear) or linear.weight.shape != weight.shape:
        raise FarmError(
            f"Cannot copy a {tuple(weight.shape)} layer into {linear}: the shapes differ."
        )
    with torch.no_grad():
        linear.weight.copy_(weight)
        linear.bias.copy_(bias)


def get_linear(model: nn.Module, name: str) -> tuple[Tensor, Tensor]:
    """Weight and bias of the linear layer ``name`` (a dotted path) of ``model``."""
    linear = model.get_submodule(name)
    assert isinstance(linear, nn.Linear)
    return linear.weight.detach().clone(), linear.bias.detach().clone()


def shifted_identity(language_model: LanguageModel, activation: str) -> Tensor:
    """A per-dimension shift ``c`` with ``act(x + c) == x + c`` for every vector ``x`` the
    language model can output, so that ``W (act(I x + c)) + (b - W c) == W x + b``.

    The model's last layer ends in a LayerNorm, whose normalised values are bounded by
    ``sqrt(hidden - 1)`` in magnitude; its output is therefore bounded by
    ``|gamma| sqrt(hidden - 1) + |beta|`` per dimension. Shifting by that bound plus a margin
    keeps every input in the part where ReLU (and float32 GELU) is the identity, so the
    mapping is exact; float32 rounding of ``x + c`` costs about ``1e-7 * c`` per dimension.
    """
    norms = [m for m in language_model.model.modules() if isinstance(m, nn.LayerNorm)]
    if not norms or norms[-1].weight is None or norms[-1].bias is None:
        raise FarmError("The language model does not end in a LayerNorm; cannot bound it.")
    final = norms[-1]
    width = final.weight.shape[0]
    bound = final.weight.detach().abs() * math.sqrt(width - 1) + final.bias.detach().abs()
    return bound.double() + _SHIFT_MARGIN[activation]


class SequenceLayout:
    """Maps a FARM per-sequence head onto one architecture's sequence classifier."""

    def prepare_config(self, config: PretrainedConfig, stack: HeadStack) -> None:
        """Adjust the Hugging Face config before the model is built (default: nothing)."""

    def to_hf(self, stack: HeadStack, lm: LanguageModel, hf: PreTrainedModel) -> None:
        """Write the head's weights (and, where needed, the pooler's) into ``hf``."""
        raise NotImplementedError

    def from_hf(self, hf: PreTrainedModel) -> tuple[HeadStack, dict[str, Tensor]]:
        """The FARM head's layers, and weights to put into the language model (pooler)."""
        raise NotImplementedError

    @staticmethod
    def require_layers(stack: HeadStack, counts: tuple[int, ...], arch: str, why: str) -> None:
        if len(stack.layers) not in counts:
            raise FarmError(
                f"A head with layer_dims {stack.layer_dims} cannot be converted to {arch}'s "
                f"Hugging Face classifier: {why} Train the head with "
                f"{' or '.join(_dims_hint(n) for n in counts)} to make it convertible."
            )


def _dims_hint(n_layers: int) -> str:
    return "layer_dims=[hidden, n_labels]" if n_layers == 1 else (
        "layer_dims=[hidden, hidden, n_labels]"
    )


class PoolerLinearLayout(SequenceLayout):
    """BERT, ALBERT: ``classifier(pooler_output)``."""

    def to_hf(self, stack: HeadStack, lm: LanguageModel, hf: PreTrainedModel) -> None:
        arch = lm.config.model_type
        self.require_layers(stack, (1,), arch, "it is one linear layer on the pooler output.")
        if getattr(lm.model, "pooler", None) is None:
            raise FarmError(f"This {arch} language model has no pooler, which {arch}'s "
                            "Hugging Face classifier reads.")
        set_linear(hf.get_submodule("classifier"), *stack.layers[0])

    def from_hf(self, hf: PreTrainedModel) -> tuple[HeadStack, dict[str, Tensor]]:
        return HeadStack([get_linear(hf, "classifier")]), {}


class PoolerAsDenseLayout(SequenceLayout):
    """RoBERTa, XLM-R: ``out_proj(tanh(dense(first token)))``; FARM's pooler is that dense
    layer with its tanh."""

    def to_hf(self, stack: HeadStack, lm: LanguageModel, hf: PreTrainedModel) -> None:
        arch = lm.config.model_type
        self.require_layers(stack, (1,), arch, "its classifier is the pooler's dense + tanh "
                            "followed by one linear layer.")
        pooler = getattr(lm.model, "pooler", None)
        if pooler is None:
            raise FarmError(f"This {arch} language model has no pooler, whose dense layer "
                            "becomes classifier.dense.")
        set_linear(hf.get_submodule("classifier.dense"), *get_linear(pooler, "dense"))
        set_linear(hf.get_submodule("classifier.out_proj"), *stack.layers[0])

    def from_hf(self, hf: PreTrainedModel) -> tuple[HeadStack, dict[str, Tensor]]:
        weight, bias = get_linear(hf, "classifier.dense")
        pooler = {"pooler.dense.weight": weight, "pooler.dense.bias": bias}
        return HeadStack([get_linear(hf, "classifier.out_proj")]), pooler


class HiddenLayerLayout(SequenceLayout):
    """``out(act(hidden(first token)))`` with a fixed activation (DistilBERT, ELECTRA).

    Args:
        hidden (str): Name of the hidden linear layer in the Hugging Face model.
        out (str): Name of the output layer.
        activation (str): The activation the Hugging Face code applies.
    """

    def __init__(self, hidden: str, out: str, activation: str):
        self.hidden, self.out, self.activation = hidden, out, activation

    def to_hf(self, stack: HeadStack, lm: LanguageModel, hf: PreTrainedModel) -> None:
        arch = lm.config.model_type
        self.require_layers(stack, (1, 2), arch, f"its classifier is {self.hidden} → "
                            f"{self.activation} → {self.out}.")
        if len(stack.layers) == 2:
            if stack.activation != self.activation:
                raise FarmError(
                    f"{arch}'s Hugging Face classifier uses {self.activation} between its two "
                    f"layers; this head uses {stack.activation}. Train it with "
                    f"activation='{self.activation}', or with one layer."
                )
            set_linear(hf.get_submodule(self.hidden), *stack.layers[0])
            set_linear(hf.get_submodule(self.out), *stack.layers[1])
            return
        weight, bias = stack.layers[0]
        shift = shifted_identity(lm, self.activation)  # (hidden,)
        width = shift.shape[0]
        set_linear(hf.get_submodule(self.hidden), torch.eye(width), shift.float())
        out_bias = bias.double() - weight.double() @ shift
        set_linear(hf.get_submodule(self.out), weight, out_bias.float())

    def from_hf(self, hf: PreTrainedModel) -> tuple[HeadStack, dict[str, Tensor]]:
        layers = [get_linear(hf, self.hidden), get_linear(hf, self.out)]
        return HeadStack(layers, self.activation), {}


class ContextPoolerLayout(SequenceLayout):
    """DeBERTa-v2: ``classifier(act(pooler.dense(first token)))``, ``act`` from the config."""

    def prepare_config(self, config: PretrainedConfig, stack: HeadStack) -> None:
        if len(stack.layers) == 1:
            config.pooler_hidden_act = "linear"
        else:
            self.require_layers(stack, (1, 2), config.model_type,
                                "its classifier is pooler.dense → activation → classifier.")
            config.pooler_hidden_act = stack.activation
        config.pooler_hidden_size = config.hidden_size

    def to_hf(self, stack: HeadStack, lm: LanguageModel, hf: PreTrainedModel) -> None:
        if len(stack.layers) == 1:
            width = lm.hidden_size
            set_linear(hf.get_submodule("pooler.dense"), torch.eye(width), torch.zeros(width))
            set_linear(hf.get_submodule("classifier"), *stack.layers[0])
            return
        set_linear(hf.get_submodule("pooler.dense"), *stack.layers[0])
        set_linear(hf.get_submodule("classifier"), *stack.layers[1])

    def from_hf(self, hf: PreTrainedModel) -> tuple[HeadStack, dict[str, Tensor]]:
        act = hf.config.pooler_hidden_act
        dense, classifier = get_linear(hf, "pooler.dense"), get_linear(hf, "classifier")
        if act in ACTIVATIONS:
            return HeadStack([dense, classifier], act), {}
        if act in ("linear", "identity"):
            # Two linear layers without activation are one: W = Wc Wd, b = Wc bd + bc.
            weight = classifier[0].double() @ dense[0].double()
            bias = classifier[0].double() @ dense[1].double() + classifier[1].double()
            return HeadStack([(weight.float(), bias.float())]), {}
        raise FarmError(
            f"pooler_hidden_act={act!r} of this DeBERTa model has no exact FARM equivalent "
            f"(FARM heads use {sorted(ACTIVATIONS)} or none)."
        )


class TokenLayout:
    """One linear layer on every token (``*ForTokenClassification``; QA's ``qa_outputs``).

    Args:
        name (str): The layer's name in the Hugging Face model.
    """

    def __init__(self, name: str = "classifier"):
        self.name = name

    def to_hf(self, stack: HeadStack, lm: LanguageModel, hf: PreTrainedModel) -> None:
        if len(stack.layers) != 1:
            raise FarmError(
                f"A per-token head with layer_dims {stack.layer_dims} cannot be converted: "
                f"Hugging Face's {self.name} is one linear layer on each token. Train the "
                "head with layer_dims=[hidden, n_labels] to make it convertible."
            )
        set_linear(hf.get_submodule(self.name), *stack.layers[0])

    def from_hf(self, hf: PreTrainedModel) -> tuple[HeadStack, dict[str, Tensor]]:
        return HeadStack([get_linear(hf, self.name)]), {}


SEQUENCE_LAYOUTS: dict[str, SequenceLayout] = {
    "bert": PoolerLinearLayout(),
    "albert": PoolerLinearLayout(),
    "roberta": PoolerAsDenseLayout(),
    "xlm-roberta": PoolerAsDenseLayout(),
    "distilbert": HiddenLayerLayout("pre_classifier", "classifier", "relu"),
    "electra": HiddenLayerLayout("classifier.dense", "classifier.out_proj", "gelu"),
    "deberta-v2": ContextPoolerLayout(),
}
"""Sequence-classifier layout per ``config.model_type`` (each one checked by the tests)."""


def sequence_layout(config: Any) -> SequenceLayout:
    """The layout of ``config.model_type``, or an error listing the supported ones."""
    model_type = getattr(config, "model_type", None)
    if model_type not in SEQUENCE_LAYOUTS:
        raise FarmError(
            f"No known mapping of FARM's per-sequence heads onto the Hugging Face classifier "
            f"of model type {model_type!r}; supported: {sorted(SEQUENCE_LAYOUTS)}. Per-token "
            "heads convert for every architecture. See docs/conversion.md to add one."
        )
    return SEQUENCE_LAYOUTS[model_type]
