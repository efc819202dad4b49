"""The head of a transformers masked-LM model, run on FARM's vectors.

Every masked-LM class of transformers (``BertForMaskedLM``, ``RobertaForMaskedLM``,
``ElectraForMaskedLM``, ``DistilBertForMaskedLM``, ...) runs its encoder, takes the encoder's
first output and passes it through its own head code. Putting :class:`EncoderOutput` in the
encoder's place turns such a model into just its head: the vectors FARM's language model made
go in as ``inputs_embeds`` and come out of the stand-in unchanged, so the architecture's own
head code (its layers, activation, layer norm and decoder) computes the scores. No
architecture is special-cased here.

Weights that the model ties to the encoder's input embeddings (the decoder) are not
parameters of the head: :class:`TiedWeights` binds them to the language model's embedding
matrix before every call, so head and language model always share one tensor, also after
``resize_token_embeddings`` or loading.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, cast

import torch
import transformers
from torch import Tensor, nn
from transformers import CONFIG_MAPPING, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput

from farm.errors import FarmError

logger = logging.getLogger(__name__)

# In ``tied_weights``: the weight is the language model's input embedding matrix.
INPUT_EMBEDDINGS = "input_embeddings"


class EncoderOutput(nn.Module):
    """Stands in for the encoder of a masked-LM model: returns ``inputs_embeds`` as the
    encoder's output. Other attributes (a head may read ``encoder.embeddings``) are looked up
    on the real encoder once :meth:`attach` has been called."""

    def forward(
        self, *args: Any, inputs_embeds: Tensor | None = None, **kwargs: Any
    ) -> BaseModelOutput:
        return BaseModelOutput(last_hidden_state=inputs_embeds)

    def attach(self, encoder: nn.Module) -> None:
        """Use ``encoder`` for attribute look-ups (kept out of the module tree, so its
        weights are not the head's)."""
        self.__dict__["_encoder"] = encoder

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            encoder = self.__dict__.get("_encoder")
            if encoder is None:
                raise
            return getattr(encoder, name)


class TiedWeights:
    """The head weights that are tied to another weight, bound before every forward pass.

    Args:
        ties (dict[str, str]): Parameter name in the masked-LM model → its source:
            :data:`INPUT_EMBEDDINGS` or the name of another head parameter.
        shapes (dict[str, list[int]]): Shape each tied weight had when it was split off.
    """

    def __init__(self, ties: dict[str, str], shapes: dict[str, list[int]]):
        self.ties = dict(ties)
        self.shapes = dict(shapes)

    @property
    def needs_encoder(self) -> bool:
        """Whether a weight is tied to the language model's input embeddings."""
        return INPUT_EMBEDDINGS in self.ties.values()

    def bind(self, model: nn.Module, encoder: PreTrainedModel | None) -> None:
        """Set every tied weight of ``model`` to its source (the same tensor, not a copy);
        without ``encoder`` only the ties inside the head."""
        for target, source in self.ties.items():
            owner, attr = _owner(model, target)
            if source == INPUT_EMBEDDINGS:
                if encoder is None:
                    continue
                value = encoder.get_input_embeddings().weight
            else:
                value = model.get_parameter(source)
            # Not registered: the language model owns the tensor, the head only uses it.
            object.__setattr__(owner, attr, value)


def split_off_encoder(
    masked_lm: PreTrainedModel, ties: dict[str, str] | None
) -> tuple[nn.Module, TiedWeights]:
    """Replace the encoder of ``masked_lm`` by :class:`EncoderOutput` and un-register the
    tied weights.

    Args:
        masked_lm (PreTrainedModel): A transformers ``...ForMaskedLM`` model.
        ties (dict[str, str] | None): Ties to apply (as saved with a head); ``None`` takes
            the model's own (``all_tied_weights_keys``, which follows the config's
            ``tie_word_embeddings`` and what the checkpoint held).

    Returns:
        tuple: The encoder that was removed, and the tied weights.
    """
    prefix = masked_lm.base_model_prefix
    encoder = cast(PreTrainedModel, getattr(masked_lm, prefix))
    if ties is None:
        ties = _own_ties(masked_lm, prefix, encoder)
    shapes = {}
    for target in ties:
        owner, attr = _owner(masked_lm, target)
        param = owner._parameters.pop(attr, None)
        if param is None:
            raise FarmError(
                f"{type(masked_lm).__name__} has no parameter '{target}' to tie; the saved "
                "head does not fit this transformers version's model class."
            )
        shapes[target] = list(param.shape)
    setattr(masked_lm, prefix, EncoderOutput())
    return encoder, TiedWeights(ties, shapes)


def _own_ties(
    masked_lm: PreTrainedModel, prefix: str, encoder: PreTrainedModel
) -> dict[str, str]:
    """The model's tied weights inside its head, with sources renamed for FARM."""
    embedding = encoder.get_input_embeddings().weight
    embedding_names = {f"{prefix}.{n}" for n, p in encoder.named_parameters() if p is embedding}
    found = getattr(masked_lm, "all_tied_weights_keys", None) or {}
    ties = {}
    for target, source in found.items():
        if target.startswith(f"{prefix}."):
            continue  # a weight inside the encoder: the language model's business
        if source in embedding_names:
            ties[target] = INPUT_EMBEDDINGS
        elif source.startswith(f"{prefix}."):
            raise FarmError(
                f"{type(masked_lm).__name__} ties its head weight '{target}' to the encoder "
                f"weight '{source}', which is not the input embedding matrix; FARM's LM head "
                "cannot share that weight."
            )
        else:
            ties[target] = source
    return ties


def _owner(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    path, _, attr = name.rpartition(".")
    return (model.get_submodule(path) if path else model), attr


def config_from_dict(values: dict[str, Any]) -> PretrainedConfig:
    """A transformers config from ``config.to_dict()`` output (no code is run)."""
    model_type = str(values.get("model_type"))
    if model_type not in CONFIG_MAPPING:
        raise FarmError(
            f"Unknown model_type {model_type!r} in the LM head's model_config; this "
            "transformers version knows no such architecture."
        )
    return CONFIG_MAPPING[model_type].from_dict(dict(values))


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report inside the block (FARM logs its own summary)."""
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)


def resize_rows(param: nn.Parameter, rows: int) -> nn.Parameter:
    """A copy of a 1-D output bias with ``rows`` entries: new entries are 0, as
    transformers' ``resize_token_embeddings`` makes them."""
    data = torch.zeros(rows, dtype=param.dtype, device=param.device)
    keep = min(rows, param.shape[0])
    data[:keep] = param.detach()[:keep]
    return nn.Parameter(data, requires_grad=param.requires_grad)
