"""A Hugging Face model folder as a FARM model plus the processor its task reads inputs with.

``Inferencer.load(hf_folder, task_type=...)`` calls :func:`load_hugging_face`. Each task type
names the FARM task of the converted head (see ``farm.conversion.hf_heads.TASK_TYPES``) and
the processor that turns request dicts into features. A new task adds one entry to
``INFERENCE_TASKS``. The language-model task types (``"lm"``, ``"lm_nextsentence"``) load for
``farm convert --to farm`` and further training; their heads make no inference results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from farm.conversion.transformers import convert_from_transformers
from farm.data_handler.processors import (
    BertStyleLMProcessor,
    InferenceProcessor,
    NERProcessor,
    Processor,
    SquadProcessor,
    TextPairClassificationProcessor,
)
from farm.errors import FarmError, check_choice
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.tokenization import Tokenizer, check_vocabulary

_NO_FILES: dict[str, Any] = {"data_dir": None, "train_filename": None, "dev_filename": None,
                             "test_filename": None}


def _text(tokenizer: PreTrainedTokenizerBase, labels: list[str] | None) -> Processor:
    return InferenceProcessor(tokenizer, max_seq_len=256)


def _pair(tokenizer: PreTrainedTokenizerBase, labels: list[str] | None) -> Processor:
    return TextPairClassificationProcessor(tokenizer, max_seq_len=256, dev_split=0.0,
                                           **_NO_FILES)


def _ner(tokenizer: PreTrainedTokenizerBase, labels: list[str] | None) -> Processor:
    return NERProcessor(tokenizer, max_seq_len=256, label_list=labels, **_NO_FILES)


def _qa(tokenizer: PreTrainedTokenizerBase, labels: list[str] | None) -> Processor:
    return SquadProcessor(tokenizer, max_seq_len=384, **_NO_FILES)


def _lm(tokenizer: PreTrainedTokenizerBase, labels: list[str] | None) -> Processor:
    return BertStyleLMProcessor(tokenizer, max_seq_len=256, next_sent_pred=False, **_NO_FILES)


def _lm_nsp(tokenizer: PreTrainedTokenizerBase, labels: list[str] | None) -> Processor:
    return BertStyleLMProcessor(tokenizer, max_seq_len=256, next_sent_pred=True, **_NO_FILES)


@dataclass(frozen=True)
class InferenceTask:
    """A task type for Hugging Face folders.

    Attributes:
        head_task_type (str | None): The converter's task type (``hf_heads.TASK_TYPES``);
            ``None`` lets ``problem_type`` pick among the sequence heads.
        processor (Callable): ``(tokenizer, label_list) -> Processor`` for request dicts.
    """

    head_task_type: str | None
    processor: Callable[[PreTrainedTokenizerBase, list[str] | None], Processor]


INFERENCE_TASKS: dict[str, InferenceTask] = {
    "text_classification": InferenceTask("text_classification", _text),
    "multilabel_text_classification": InferenceTask("multilabel_text_classification", _text),
    "regression": InferenceTask("regression", _text),
    "text_pair_classification": InferenceTask("text_classification", _pair),
    "text_pair_regression": InferenceTask("regression", _pair),
    "ner": InferenceTask("ner", _ner),
    "question_answering": InferenceTask("question_answering", _qa),
    "lm": InferenceTask("lm", _lm),
    "lm_nextsentence": InferenceTask("lm_nextsentence", _lm_nsp),
}


def load_hugging_face(
    name_or_path: str | Path, task_type: str | None, revision: str | None = None
) -> tuple[AdaptiveModel, Processor]:
    """The FARM model (head weights converted) and an inference processor for a Hugging Face
    model folder or hub name."""
    if task_type is None:
        raise FarmError(
            f"{name_or_path} is not a saved FARM model (no farm_model.json). To load a Hugging "
            f"Face model, pass task_type= one of {sorted(INFERENCE_TASKS)} or 'embeddings'."
        )
    check_choice(task_type, [*INFERENCE_TASKS, "embeddings"], "task_type")
    task = INFERENCE_TASKS[task_type]
    model = convert_from_transformers(name_or_path, revision=revision,
                                      task_type=task.head_task_type)
    extra: dict[str, Any] = {"revision": revision} if revision else {}
    tokenizer = Tokenizer.load(name_or_path, **extra)
    check_vocabulary(tokenizer, model.language_model.config.vocab_size, name_or_path)
    return model, task.processor(tokenizer, model.heads[0].label_list)
