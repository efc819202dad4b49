"""Language-model heads to and from Hugging Face: ``BertLMHead`` ↔ ``*ForMaskedLM``, and
``BertLMHead`` + ``NextSentenceHead`` ↔ ``BertForPreTraining``.

A :class:`BertLMHead` *is* the head of its architecture's transformers masked-LM class (see
``farm.modeling.prediction_heads.masked_lm_parts``), so its weights go into that class 1:1,
with the decoder tied to the input embeddings where the head ties it
(``tie_word_embeddings``) and stored as a weight of its own where it does not.

BERT's pre-training class holds both of FARM's pre-training heads: ``cls.predictions`` (the
masked-LM head, named as in ``BertForMaskedLM``) and ``cls.seq_relationship`` (one linear
layer on the pooler output, FARM's one-layer ``NextSentenceHead``, labels ``is_next`` /
``not_next`` in that order). Other architectures have no such class with a next-sentence
classifier (ALBERT's sentence-order head predicts another task; RoBERTa, ELECTRA, ... were
not pre-trained with one), so there the next-sentence head is dropped with a warning.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

from torch import Tensor
from transformers import AutoModelForMaskedLM, PretrainedConfig, PreTrainedModel

from farm.conversion.hf_converter import FARM_HEAD_KEY, HeadConverter, head_stack, load_stack
from farm.conversion.hf_layouts import HeadStack, get_linear, set_linear
from farm.errors import FarmError
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads import BertLMHead, NextSentenceHead, PredictionHead
from farm.modeling.prediction_heads.masked_lm_parts import INPUT_EMBEDDINGS, quiet_transformers
from farm.modeling.prediction_heads.next_sentence import NSP_LABELS

PRETRAINING_CLASSES = {"bert": "BertForPreTraining"}
"""``config.model_type`` → its transformers class holding a masked-LM and a next-sentence
head (both exact FARM equivalents)."""

NSP_LAYER = "cls.seq_relationship"


def _lm_head(head: PredictionHead) -> BertLMHead:
    if not isinstance(head, BertLMHead):
        raise FarmError(f"Expected a BertLMHead; got {type(head).__name__}.")
    return head


def _own_decoder(head: BertLMHead) -> bool:
    """Whether the head holds an output matrix of its own (an untied decoder)."""
    return any(p.ndim == 2 and p.shape[0] == head.vocab_size
               for p in head.masked_lm.parameters())


def write_lm_head(head: BertLMHead, hf: PreTrainedModel, also_missing: tuple[str, ...] = ()
                  ) -> None:
    """Copy the head's weights into ``hf`` (its masked-LM or pre-training class).

    Args:
        head (BertLMHead): The head.
        hf (PreTrainedModel): The Hugging Face model (encoder weights are copied elsewhere).
        also_missing (tuple[str, ...]): Prefixes of ``hf`` weights that other heads fill.
    """
    prefix = hf.base_model_prefix
    model_type = hf.config.model_type
    fix = ("Build the head for this language model: BertLMHead.load(<the language model's "
           "folder>) or BertLMHead.from_language_model(language_model).")
    if head.prefix != prefix:
        raise FarmError(
            f"The LM head is the head of {type(head.masked_lm).__name__}, but the language "
            f"model is a {model_type}, whose Hugging Face class {type(hf).__name__} has "
            f"another head. {fix}"
        )
    state = {name.removeprefix("masked_lm."): value for name, value in head.state_dict().items()}
    result = hf.load_state_dict(state, strict=False)
    tied = set(head.tied_weights)
    missing = [k for k in result.missing_keys if not k.startswith(f"{prefix}.")
               and k not in tied and not k.startswith(also_missing)]
    if result.unexpected_keys or missing:
        raise FarmError(
            f"The LM head's weights do not fit {type(hf).__name__}: unexpected "
            f"{result.unexpected_keys[:4]}, missing {missing[:4]}. {fix}"
        )


def read_lm_head(hf: PreTrainedModel, task_name: str) -> BertLMHead:
    """A :class:`BertLMHead` with the masked-LM head weights of ``hf`` (copies)."""
    config = copy.deepcopy(hf.config)
    config.architectures = None
    with quiet_transformers():
        masked_lm = AutoModelForMaskedLM.from_config(config)
    result = masked_lm.load_state_dict(hf.state_dict(), strict=False)
    tied = set(getattr(masked_lm, "all_tied_weights_keys", None) or {})
    missing = [k for k in result.missing_keys if k not in tied]
    if missing:
        raise FarmError(
            f"{type(hf).__name__} lacks weights of {type(masked_lm).__name__}'s head: "
            f"{missing[:4]}."
        )
    return BertLMHead.from_masked_lm(masked_lm.eval(), task_name=task_name)


@dataclass
class MaskedLMHeadConverter(HeadConverter):
    """``BertLMHead`` → ``*ForMaskedLM`` (per-token logits over the vocabulary)."""

    stores_encoder_pooler: ClassVar[bool] = True

    def prepare_config(self, config: PretrainedConfig, head: PredictionHead) -> None:
        lm_head = _lm_head(head)
        config.vocab_size = lm_head.vocab_size
        if INPUT_EMBEDDINGS in lm_head.tied_weights.values():
            config.tie_word_embeddings = True
        elif _own_decoder(lm_head):
            config.tie_word_embeddings = False
        setattr(config, FARM_HEAD_KEY, {"name": type(head).__name__,
                                        "task_name": head.task_name})

    def to_hf(self, head: PredictionHead, lm: LanguageModel, hf: PreTrainedModel) -> None:
        write_lm_head(_lm_head(head), hf)

    def build_head(self, hf: PreTrainedModel) -> tuple[PredictionHead, dict[str, Tensor]]:
        task_name = self.recorded(hf.config).get("task_name", "lm")
        return read_lm_head(hf, task_name), {}


@dataclass
class PreTrainingConverter(HeadConverter):
    """``BertLMHead`` + one-layer ``NextSentenceHead`` → ``BertForPreTraining``."""

    masked_lm: MaskedLMHeadConverter = field(
        default_factory=lambda: MaskedLMHeadConverter("AutoModelForMaskedLM", per_token=True))

    def prepare_group(self, config: PretrainedConfig, heads: list[PredictionHead]) -> None:
        lm_head, nsp_head = heads
        self.masked_lm.prepare_config(config, lm_head)
        labels = list(nsp_head.label_list or NSP_LABELS)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        setattr(config, FARM_HEAD_KEY, {"name": type(lm_head).__name__,
                                        "task_name": lm_head.task_name,
                                        "nextsentence_task_name": nsp_head.task_name})

    def group_to_hf(self, heads: list[PredictionHead], lm: LanguageModel,
                    hf: PreTrainedModel) -> None:
        lm_head, nsp_head = heads
        stack = head_stack(nsp_head)
        if len(stack.layers) != 1:
            raise FarmError(
                f"A next-sentence head with layer_dims {stack.layer_dims} cannot be converted: "
                f"{type(hf).__name__}'s {NSP_LAYER} is one linear layer on the pooler output. "
                "Train it with layer_dims=[hidden, 2] (the default)."
            )
        write_lm_head(_lm_head(lm_head), hf, also_missing=(f"{NSP_LAYER}.",))
        set_linear(hf.get_submodule(NSP_LAYER), *stack.layers[0])

    def hf_outputs(self, output: Any) -> list[tuple[Tensor, bool]]:
        return [(output.prediction_logits, True), (output.seq_relationship_logits, False)]

    def build_heads(self, hf: PreTrainedModel) -> tuple[list[PredictionHead], dict[str, Tensor]]:
        model_type = hf.config.model_type
        if PRETRAINING_CLASSES.get(model_type) != type(hf).__name__:
            raise FarmError(
                f"task_type 'lm_nextsentence' needs a model with a masked-LM and a "
                f"next-sentence head ({sorted(PRETRAINING_CLASSES.values())}); this "
                f"{model_type} model loads as {type(hf).__name__}. Use task_type='lm' for its "
                "masked-LM head alone."
            )
        recorded = self.recorded(hf.config)
        lm_head = read_lm_head(hf, recorded.get("task_name", "lm"))
        weight, bias = get_linear(hf, NSP_LAYER)
        # Hugging Face's own checkpoints name the classes LABEL_0/1: FARM's names then.
        converted_by_farm = "nextsentence_task_name" in recorded
        nsp_head = NextSentenceHead(
            layer_dims=[int(weight.shape[1]), 2],
            task_name=recorded.get("nextsentence_task_name", "nextsentence"),
            label_list=self.id2label(hf.config) if converted_by_farm else None,
        )
        load_stack(nsp_head, HeadStack([(weight, bias)]))
        return [lm_head, nsp_head], {}
