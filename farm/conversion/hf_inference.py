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
    NERProcessor,
    Processor,
    RegressionProcessor,
    SquadProcessor,
    TextClassificationProcessor,
    TextPairClassificationProcessor,
    TextPairRegressionProcessor,
)
from farm.errors import FarmError, check_choice
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.prediction_heads import (
    MultiLabelTextClassificationHead,
    PredictionHead,
    RegressionHead,
)
from farm.modeling.tokenization import Tokenizer, check_vocabulary

_NO_FILES: dict[str, Any] = {"data_dir": None, "train_filename": None, "dev_filename": None,
                             "test_filename": None}


def _sequence(tokenizer: PreTrainedTokenizerBase, head: PredictionHead, pair: bool) -> Processor:
    """The processor FARM trains such a head with: its task (labels, metric, columns
    ``text``/``text_b``/``label``) lets ``farm eval`` read labelled files. The head decides,
    as ``problem_type`` may have turned a text classification model into a regression or
    multilabel one."""
    processor: Processor
    if isinstance(head, RegressionHead):
        # The converter folded the label scaler into the head: it predicts in label scale.
        regression = TextPairRegressionProcessor if pair else RegressionProcessor
        processor = regression(tokenizer, max_seq_len=256, dev_split=0.0, scaler_mean=0.0,
                               scaler_scale=1.0, **_NO_FILES)
    else:
        classification = TextPairClassificationProcessor if pair else (
            TextClassificationProcessor)
        processor = classification(
            tokenizer, max_seq_len=256, dev_split=0.0, label_list=head.label_list,
            multilabel=isinstance(head, MultiLabelTextClassificationHead), **_NO_FILES)
    return _task_named_after(head, processor)


def _text(tokenizer: PreTrainedTokenizerBase, head: PredictionHead) -> Processor:
    return _sequence(tokenizer, head, pair=False)


def _pair(tokenizer: PreTrainedTokenizerBase, head: PredictionHead) -> Processor:
    return _sequence(tokenizer, head, pair=True)


def _ner(tokenizer: PreTrainedTokenizerBase, head: PredictionHead) -> Processor:
    processor = NERProcessor(tokenizer, max_seq_len=256, label_list=head.label_list,
                             **_NO_FILES)
    return _task_named_after(head, processor)


def _qa(tokenizer: PreTrainedTokenizerBase, head: PredictionHead) -> Processor:
    return SquadProcessor(tokenizer, max_seq_len=384, **_NO_FILES)


def _lm(tokenizer: PreTrainedTokenizerBase, head: PredictionHead) -> Processor:
    return BertStyleLMProcessor(tokenizer, max_seq_len=256, next_sent_pred=False, **_NO_FILES)


def _lm_nsp(tokenizer: PreTrainedTokenizerBase, head: PredictionHead) -> Processor:
    return BertStyleLMProcessor(tokenizer, max_seq_len=256, next_sent_pred=True, **_NO_FILES)


def _task_named_after(head: PredictionHead, processor: Processor) -> Processor:
    """The processor's one task under the head's ``task_name`` (a FARM model converted to
    Hugging Face and back keeps its task name), so the head finds its labels."""
    ((name, task),) = processor.tasks.items()
    if name != head.task_name:
        del processor.tasks[name]
        regression = {k: task[k] for k in ("scaler_mean", "scaler_scale") if k in task}
        processor.add_task(
            name=head.task_name, metric=task["metric"], label_list=task["label_list"],
            label_column_name=task["label_column_name"], task_type=task["task_type"],
            text_column_name=task["text_column_name"], **regression)
    return processor


@dataclass(frozen=True)
class InferenceTask:
    """A task type for Hugging Face folders.

    Attributes:
        head_task_type (str | None): The converter's task type (``hf_heads.TASK_TYPES``);
            ``None`` lets ``problem_type`` pick among the sequence heads.
        processor (Callable): ``(tokenizer, converted head) -> Processor``: reads request
            dicts, and labelled files in the format FARM trains the task on (for
            ``farm eval``).
    """

    head_task_type: str | None
    processor: Callable[[PreTrainedTokenizerBase, PredictionHead], Processor]


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
    return model, task.processor(tokenizer, model.heads[0])
