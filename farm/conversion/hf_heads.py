"""Which Hugging Face class each FARM head becomes, and how each is rebuilt from one.

``HEAD_CONVERTERS`` is keyed by head class name (FARM → Hugging Face); ``TASK_TYPES`` by the
``task_type`` a user passes to ``convert_from_transformers`` / ``Inferencer.load``
(Hugging Face → FARM). A new head type adds one converter (a ``HeadConverter``
subclass, ``farm.conversion.hf_converter``) and its task types; see ``docs/conversion.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor
from transformers import PretrainedConfig, PreTrainedModel

from farm.conversion.hf_converter import FARM_HEAD_KEY, HeadConverter, head_stack, load_stack
from farm.conversion.hf_layouts import HeadStack, TokenLayout, sequence_layout
from farm.conversion.hf_lm_heads import (
    PRETRAINING_CLASSES,
    MaskedLMHeadConverter,
    PreTrainingConverter,
)
from farm.errors import FarmError, did_you_mean
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads import (
    MultiLabelTextClassificationHead,
    PredictionHead,
    QuestionAnsweringHead,
    RegressionHead,
    TextClassificationHead,
    TokenClassificationHead,
)

__all__ = ["FARM_HEAD_KEY", "HEAD_CONVERTERS", "TASK_TYPES", "HeadConverter", "converter_for",
           "head_stack", "load_stack"]


@dataclass
class SequenceHeadConverter(HeadConverter):
    """Text classification, multilabel and regression heads → ``*ForSequenceClassification``.

    A regression head's label scaler is folded into its last layer, so the Hugging Face
    model outputs values in the original label scale.
    """

    head_class: type[PredictionHead] = TextClassificationHead
    farm_options: ClassVar[tuple[str, ...]] = ("task_name", "pred_threshold")

    def stack(self, head: PredictionHead) -> HeadStack:
        stack = head_stack(head)
        if isinstance(head, RegressionHead):
            scale = head.scaler_scale if head.scaler_scale is not None else 1.0
            mean = head.scaler_mean if head.scaler_mean is not None else 0.0
            weight, bias = stack.layers[-1]
            stack.layers[-1] = (weight * scale, bias * scale + mean)
        return stack

    def prepare_config(self, config: PretrainedConfig, head: PredictionHead) -> None:
        super().prepare_config(config, head)
        sequence_layout(config).prepare_config(config, self.stack(head))

    def to_hf(self, head: PredictionHead, lm: LanguageModel, hf: PreTrainedModel) -> None:
        sequence_layout(lm.config).to_hf(self.stack(head), lm, hf)

    def build_head(self, hf: PreTrainedModel) -> tuple[PredictionHead, dict[str, Tensor]]:
        stack, pooler = sequence_layout(hf.config).from_hf(hf)
        recorded = self.recorded(hf.config)
        kwargs: dict[str, Any] = {"layer_dims": stack.layer_dims, "activation": stack.activation}
        if "task_name" in recorded:
            kwargs["task_name"] = recorded["task_name"]
        if self.head_class is RegressionHead:
            kwargs.setdefault("task_name", "regression")
        else:
            kwargs["label_list"] = self.id2label(hf.config)
        if self.head_class is MultiLabelTextClassificationHead and "pred_threshold" in recorded:
            kwargs["pred_threshold"] = recorded["pred_threshold"]
        head = self.head_class(**kwargs)
        load_stack(head, stack)
        return head, pooler


@dataclass
class TokenHeadConverter(HeadConverter):
    """Token classification (NER) heads → ``*ForTokenClassification``."""

    layout: TokenLayout = field(default_factory=TokenLayout)

    def to_hf(self, head: PredictionHead, lm: LanguageModel, hf: PreTrainedModel) -> None:
        self.layout.to_hf(head_stack(head), lm, hf)

    def build_head(self, hf: PreTrainedModel) -> tuple[PredictionHead, dict[str, Tensor]]:
        stack, _ = self.layout.from_hf(hf)
        task_name = self.recorded(hf.config).get("task_name", "ner")
        head = TokenClassificationHead(layer_dims=stack.layer_dims, task_name=task_name,
                                       label_list=self.id2label(hf.config))
        load_stack(head, stack)
        return head, {}


@dataclass
class QuestionAnsweringHeadConverter(TokenHeadConverter):
    """Question answering heads → ``*ForQuestionAnswering`` (``qa_outputs``: start and end
    logit per token, in that order, as in FARM): a per-token layer like NER's under another
    name. Span search options (``n_best``, ``max_answer_length``, ``no_ans_boost``, ...) are
    recorded in the config and restored."""

    layout: TokenLayout = field(default_factory=lambda: TokenLayout("qa_outputs"))
    farm_options: ClassVar[tuple[str, ...]] = (
        "task_name", "no_ans_boost", "n_best", "n_best_per_sample", "context_window_size",
        "duplicate_filtering", "temperature_for_confidence", "use_confidence_scores_for_ranking",
        "max_answer_length",
    )

    def labels(self, head: PredictionHead) -> list[str]:
        return ["start_token", "end_token"]

    def hf_logits(self, output: Any) -> Tensor:
        return torch.stack([output.start_logits, output.end_logits], dim=-1)

    def build_head(self, hf: PreTrainedModel) -> tuple[PredictionHead, dict[str, Tensor]]:
        stack, _ = self.layout.from_hf(hf)
        options = {k: v for k, v in self.recorded(hf.config).items()
                   if k in self.farm_options}
        head = QuestionAnsweringHead(layer_dims=stack.layer_dims, **options)
        load_stack(head, stack)
        return head, {}


HEAD_CONVERTERS: dict[str, HeadConverter] = {
    "TextClassificationHead": SequenceHeadConverter(
        "AutoModelForSequenceClassification", "single_label_classification"),
    "MultiLabelTextClassificationHead": SequenceHeadConverter(
        "AutoModelForSequenceClassification", "multi_label_classification",
        head_class=MultiLabelTextClassificationHead),
    "RegressionHead": SequenceHeadConverter(
        "AutoModelForSequenceClassification", "regression", head_class=RegressionHead),
    "TokenClassificationHead": TokenHeadConverter("AutoModelForTokenClassification",
                                                  per_token=True),
    "QuestionAnsweringHead": QuestionAnsweringHeadConverter("AutoModelForQuestionAnswering",
                                                            per_token=True),
    "BertLMHead": MaskedLMHeadConverter("AutoModelForMaskedLM", per_token=True),
}
"""FARM head class name → its converter."""

PRETRAINING = PreTrainingConverter("AutoModelForPreTraining")
"""A ``BertLMHead`` with a ``NextSentenceHead`` on BERT (see ``hf_lm_heads``)."""

TASK_TYPES: dict[str, HeadConverter] = {
    "text_classification": HEAD_CONVERTERS["TextClassificationHead"],
    "multilabel_text_classification": HEAD_CONVERTERS["MultiLabelTextClassificationHead"],
    "regression": HEAD_CONVERTERS["RegressionHead"],
    "ner": HEAD_CONVERTERS["TokenClassificationHead"],
    "question_answering": HEAD_CONVERTERS["QuestionAnsweringHead"],
    "lm": HEAD_CONVERTERS["BertLMHead"],
    "lm_nextsentence": PRETRAINING,
}
"""``task_type`` → converter, for loading a Hugging Face model as a FARM model. For
``"text_classification"`` the model's ``problem_type`` may pick the multilabel or
regression converter instead (see :func:`converter_for`)."""

_BY_PROBLEM_TYPE = {
    "multi_label_classification": "multilabel_text_classification",
    "regression": "regression",
}
# The head class a Hugging Face class name ends in, for task_type=None.
_BY_ARCHITECTURE_SUFFIX = {
    "ForSequenceClassification": "text_classification",
    "ForTokenClassification": "ner",
    "ForQuestionAnswering": "question_answering",
    "ForMaskedLM": "lm",
}


def converter_for(task_type: str | None, config: PretrainedConfig) -> tuple[str, HeadConverter]:
    """The task type and converter for a Hugging Face model with ``config``.

    ``task_type=None`` takes the task from ``config.architectures``; a sequence
    classification model's ``problem_type`` (or one label) selects multilabel / regression.
    """
    if task_type is None:
        for arch in getattr(config, "architectures", None) or []:
            for suffix, task in _BY_ARCHITECTURE_SUFFIX.items():
                if str(arch).endswith(suffix):
                    task_type = task
            if arch in PRETRAINING_CLASSES.values():
                task_type = "lm_nextsentence"
        if task_type is None:
            raise FarmError(
                f"Cannot tell the task of this model (architectures: "
                f"{getattr(config, 'architectures', None)}); pass task_type= one of "
                f"{sorted(TASK_TYPES)}."
            )
    if task_type not in TASK_TYPES:
        raise FarmError(
            f"Unknown task_type {task_type!r} for a Hugging Face model."
            f"{did_you_mean(task_type, TASK_TYPES)} Valid choices: {sorted(TASK_TYPES)}."
        )
    if task_type == "text_classification":
        problem = getattr(config, "problem_type", None)
        if problem is None and getattr(config, "num_labels", 2) == 1:
            problem = "regression"
        task_type = _BY_PROBLEM_TYPE.get(problem or "", task_type)
    return task_type, TASK_TYPES[task_type]
