"""Building processors by name (FARM's ``Processor.load``) and for a Hugging Face model
(FARM's ``Processor.convert_from_transformers``)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from farm.data_handler.processors.base import Processor
from farm.data_handler.processors.inference import InferenceProcessor
from farm.data_handler.processors.ner import NERProcessor
from farm.data_handler.processors.squad import SquadProcessor
from farm.data_handler.processors.text_classification import TextClassificationProcessor
from farm.errors import FarmError, check_choice, did_you_mean
from farm.modeling.hf_loading import load_config  # a leaf module: config files, no model
from farm.modeling.tokenization import Tokenizer

#: The task types FARM's ``Processor.convert_from_transformers`` knew.
TRANSFORMERS_TASK_TYPES = ("question_answering", "embeddings", "text_classification", "ner")


def load_processor(processor_name: str, data_dir: str | Path | None, tokenizer: Any,
                   max_seq_len: int, train_filename: str | Path | None,
                   dev_filename: str | Path | None, test_filename: str | Path | None,
                   dev_split: float | None, **kwargs: Any) -> Processor:
    """The processor class named ``processor_name`` built with FARM's common arguments
    (those its constructor does not take are left out; a one-tokenizer call gives a
    two-tokenizer processor the same tokenizer twice) and ``kwargs``."""
    if processor_name not in Processor.subclasses:
        hint = did_you_mean(processor_name, Processor.subclasses)
        raise FarmError(f"Unknown processor '{processor_name}'.{hint} Known: "
                        f"{sorted(Processor.subclasses)}.")
    processor_cls = Processor.subclasses[processor_name]
    accepted = set(inspect.signature(processor_cls.__init__).parameters)
    common: dict[str, Any] = {
        "data_dir": data_dir, "tokenizer": tokenizer, "max_seq_len": max_seq_len,
        "train_filename": train_filename, "dev_filename": dev_filename,
        "test_filename": test_filename, "dev_split": dev_split,
    }
    if "tokenizer" not in accepted and "query_tokenizer" in accepted:
        common.update(query_tokenizer=tokenizer, passage_tokenizer=tokenizer,
                      max_seq_len_query=max_seq_len, max_seq_len_passage=max_seq_len)
    takes_kwargs = any(p.kind is p.VAR_KEYWORD
                       for p in inspect.signature(processor_cls.__init__).parameters.values())
    chosen = {k: v for k, v in common.items() if takes_kwargs or k in accepted}
    return processor_cls(**{**chosen, **kwargs})


def processor_from_transformers(
    tokenizer_name_or_path: str | Path, task_type: str, max_seq_len: int = 256,
    doc_stride: int = 128, revision: str | None = None, tokenizer_class: str | None = None,
    tokenizer_args: dict[str, Any] | None = None, use_fast: bool = True,
) -> Processor:
    """An inference processor for a Hugging Face model's task: ``SquadProcessor``
    (question answering), ``InferenceProcessor`` (embeddings), ``TextClassificationProcessor``
    or ``NERProcessor`` with the labels of the model's ``config.json`` (``id2label``)."""
    check_choice(task_type, TRANSFORMERS_TASK_TYPES, "task_type")
    options = dict(tokenizer_args or {})
    if revision is not None:
        options["revision"] = revision
    if tokenizer_class is not None:
        options["tokenizer_class"] = tokenizer_class
    tokenizer = Tokenizer.load(tokenizer_name_or_path, use_fast=use_fast, **options)
    no_files: dict[str, Any] = {"data_dir": None, "train_filename": None, "dev_filename": None,
                                "test_filename": None, "dev_split": 0.0}
    if task_type == "question_answering":
        return SquadProcessor(tokenizer, max_seq_len, label_list=["start_token", "end_token"],
                              metric="squad", doc_stride=doc_stride, **no_files)
    if task_type == "embeddings":
        return InferenceProcessor(tokenizer, max_seq_len)
    labels = _config_labels(tokenizer_name_or_path, revision)
    if task_type == "text_classification":
        return TextClassificationProcessor(tokenizer, max_seq_len, label_list=labels,
                                           metric="acc", **no_files)
    return NERProcessor(tokenizer, max_seq_len, label_list=labels, metric="seq_f1", **no_files)


def _config_labels(name_or_path: str | Path, revision: str | None) -> list[str]:
    """The label names of a Hugging Face model, in id order."""
    extra = {"revision": revision} if revision else {}
    config = load_config(name_or_path, **extra)
    id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
    return [id2label[i] for i in sorted(id2label)]
