"""The keys of an experiment config: their types, defaults and valid choices.

Fixed sections (``experiment``, ``data``, ``model``, ``optimizer``, ``trainer``,
``tracking``) are described here; ``processor`` and ``heads`` take the constructor
arguments of the class they name, checked against its signature and type hints, so a new
processor or head needs no schema change.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any

REQUIRED = object()
"""Default of a key that must be given."""


@dataclass(frozen=True)
class Key:
    """One config key.

    Attributes:
        type (Any): Type hint of its value (``int``, ``float | None``, ``list[str]``, ...).
        default (Any): Its default (``REQUIRED``: must be given).
        choices (tuple[Any, ...] | None): The valid values, if limited.
        minimum (float | None): Smallest valid number.
        path (bool): A path, resolved relative to the config file.
        help (str): What it means.
    """

    type: Any
    default: Any = None
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    path: bool = False
    help: str = ""


EARLY_STOPPING: dict[str, Key] = {
    "metric": Key(str, "loss", help="a head's dev result key: loss, acc, f1_macro, seq_f1, "
                  "f1, perplexity, mrr_at_10, ..."),
    "mode": Key(str, "min", choices=("min", "max"), help="min: lower is better (loss); "
                "max: higher is better (acc, f1)"),
    "patience": Key(int, 0, minimum=0, help="evaluations without improvement before "
                    "training stops"),
    "min_delta": Key(float, 0.001, minimum=0, help="the smallest change that counts as an "
                     "improvement"),
    "min_evals": Key(int, 0, minimum=0, help="evaluations before training may stop"),
    "head": Key(int, 0, minimum=0, help="position of the head whose metric is watched"),
}

SECTIONS: dict[str, dict[str, Key]] = {
    "experiment": {
        "name": Key(str, "farm", help="experiment name (MLflow experiment, run names)"),
        "seed": Key(int, 42, help="seed of the random numbers (weights, shuffling, dev split)"),
        "output_dir": Key(str, "saved_models", path=True,
                          help="the trained model is saved here (one sub-folder per grid "
                          "run); a folder holding an earlier run's model is refused unless "
                          "farm train --overwrite"),
        "device": Key(str, "auto", choices=("auto", "cpu", "cuda"),
                      help="auto: a GPU if there is one"),
    },
    "data": {
        "data_dir": Key(str, REQUIRED, path=True, help="folder of the data files"),
        "train_filename": Key(str, "train.tsv", help="training file in data_dir"),
        "dev_filename": Key(str | None, None, help="dev file; null: dev_split of the "
                            "training file"),
        "test_filename": Key(str | None, None, help="test file (evaluated after training)"),
        "dev_split": Key(float, 0.1, minimum=0.0, help="share of the training file used as "
                         "dev set when there is no dev file"),
        "dev_stratification": Key(bool, False, help="keep the label ratios in that split"),
        "caching": Key(bool, False, help="store the features, to skip preprocessing next "
                       "time"),
        "cache_path": Key(str, "cache/data_silo", path=True, help="folder of that cache"),
    },
    "model": {
        "language_model": Key(str, REQUIRED, help="hub name, folder, or package:NAME for "
                              "the model shipped by an installed package"),
        "language": Key(str | None, None, help="language of the model's training data, "
                        "recorded with it"),
        "do_lower_case": Key(bool | None, None, help="lower-case the texts; null: the "
                             "tokenizer's own setting"),
        "embeds_dropout_prob": Key(float, 0.1, minimum=0.0, help="dropout on the encoder's "
                                   "output"),
        "loss_weights": Key(list[float] | None, None, help="one weight per head (multitask)"),
        "type": Key(str, "AdaptiveModel", choices=("AdaptiveModel", "BiAdaptiveModel"),
                    help="BiAdaptiveModel: query and passage encoders (dense retrieval)"),
        "passage_language_model": Key(str | None, None, help="BiAdaptiveModel: the passage "
                                      "encoder (default: a second copy of language_model)"),
        "shared_encoder": Key(bool, False, help="BiAdaptiveModel: one encoder for queries "
                              "and passages"),
        "pooling": Key(str, "cls_token", choices=("cls_token", "reduce_mean", "pooled"),
                       help="BiAdaptiveModel: how token vectors become one vector"),
    },
    "optimizer": {
        "learning_rate": Key(float, 5e-5, minimum=0.0, help="peak learning rate"),
        "optimizer_opts": Key(dict | None, None, help="e.g. {name: AdamW, weight_decay: "
                              "0.01}"),
        "schedule_opts": Key(dict | None, None, help="e.g. {name: LinearWarmup, "
                             "warmup_proportion: 0.1}"),
        "grad_acc_steps": Key(int, 1, minimum=1, help="batches whose gradients are "
                              "averaged into one optimizer step"),
        "use_amp": Key(str | bool | None, None, help="mixed precision: true, bf16, fp16 "
                       "(GPU), or null for full precision"),
    },
    "trainer": {
        "epochs": Key(int, 1, minimum=1, help="passes over the training data"),
        "batch_size": Key(int, 32, minimum=1, help="training batch size"),
        "eval_batch_size": Key(int | None, None, minimum=1, help="dev/test batch size; "
                               "null: batch_size"),
        "evaluate_every": Key(int, 100, minimum=0, help="evaluate on dev every this many "
                              "steps (0: never during training)"),
        "max_grad_norm": Key(float | None, 1.0, help="clip gradients to this norm (null: "
                             "no clipping)"),
        "log_loss_every": Key(int, 10, minimum=1, help="track the training loss every this "
                              "many steps"),
        "early_stopping": Key(dict | None, None, help="the keys below, or null: no early "
                              "stopping (the final model is saved)"),
        "checkpoint_every": Key(int | None, None, minimum=1, help="save a checkpoint every "
                                "this many steps, to resume from"),
        "checkpoint_root_dir": Key(str | None, None, path=True, help="folder of the "
                                   "checkpoints (needed with checkpoint_every)"),
        "checkpoints_to_keep": Key(int, 3, minimum=0, help="most recent checkpoints kept "
                                   "(0: all)"),
        "evaluator_test": Key(bool, True, help="evaluate on the test file after training"),
        "disable_tqdm": Key(bool | None, None, help="hide the progress bar; null: shown when "
                            "stderr is a terminal and farm runs without -q"),
    },
    "tracking": {
        "type": Key(str, "none", choices=("none", "stdout", "mlflow"),
                    help="where parameters and metrics go"),
        "tracking_uri": Key(str | None, None, help="e.g. sqlite:///mlflow.db (mlflow only)"),
        "experiment_name": Key(str | None, None, help="default: experiment.name"),
        "run_name": Key(str | None, None, help="default: experiment.name plus the grid values"),
    },
}

REQUIRED_SECTIONS = ("data", "processor", "model", "heads")
ALL_SECTIONS = ("experiment", "data", "processor", "model", "heads", "optimizer", "trainer",
                "tracking")
DATA_KEYS_OF_PROCESSOR = ("data_dir", "train_filename", "dev_filename", "test_filename",
                          "dev_split", "dev_stratification")
# Processors (base classes, inference only) that an experiment cannot train with.
NOT_TRAINABLE = ("Processor", "DelimitedProcessor", "InferenceProcessor")
# Heads that are not trained by an experiment.
NOT_TRAINED_HEADS = ("EmbeddingsHead",)
# Model keys that only a BiAdaptiveModel takes.
BI_MODEL_KEYS = ("passage_language_model", "shared_encoder", "pooling")
# Processor arguments the runner fills in (from model.language_model's tokenizer).
TOKENIZER_ARGS = ("tokenizer", "query_tokenizer", "passage_tokenizer")
# Heads built with ``cls.load(language_model)`` (the model's own pretrained head, or a new
# one of its architecture) when the config gives them no argument but task_name.
PRETRAINED_HEADS = ("BertLMHead", "NextSentenceHead")


def constructor_hints(cls: type) -> dict[str, tuple[Any, Any]]:
    """``{parameter: (type hint, default)}`` of ``cls.__init__``, following ``**kwargs`` to
    the parent's constructor as the processors do."""
    found: dict[str, tuple[Any, Any]] = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        try:
            hints = typing.get_type_hints(init)
        except Exception:  # unresolvable annotations: accept any value
            hints = {}
        params = inspect.signature(init).parameters.values()
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "self":
                continue
            default = REQUIRED if p.default is p.empty else p.default
            found.setdefault(p.name, (hints.get(p.name, Any), default))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return found


def _options(hint: Any) -> list[Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return [o for arg in typing.get_args(hint) for o in _options(arg)]
    return [hint]


_SEQUENCES = (list, tuple, collections.abc.Sequence)


def accepts_list(hint: Any) -> bool:
    """Whether a list is a valid value (so a list is not a grid of values)."""
    return any(option is Any or option in _SEQUENCES or typing.get_origin(option) in _SEQUENCES
               for option in _options(hint))


def accepts_float(hint: Any) -> bool:
    return any(o is float for o in _options(hint))


def type_problem(value: Any, hint: Any) -> str | None:
    """Why ``value`` does not fit ``hint`` (``None`` if it does)."""
    for option in _options(hint):
        if _fits(value, option):
            return None
    return f"expected {_describe(hint)}; got {type(value).__name__} {value!r}"


def _fits(value: Any, option: Any) -> bool:
    if option is Any or option is object:
        return True
    if option is None or option is type(None):
        return value is None
    origin = typing.get_origin(option)
    if origin in (list, tuple, collections.abc.Sequence):
        args = typing.get_args(option)
        return isinstance(value, list) and (not args or all(
            type_problem(v, args[0]) is None for v in value))
    if origin is dict or option is dict:
        return isinstance(value, dict)
    if option is bool:
        return isinstance(value, bool)
    if option is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if option is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if option is str:
        return isinstance(value, str)
    if isinstance(option, type) and option.__name__ == "Path":
        return isinstance(value, str)
    if origin is typing.Literal:
        return value in typing.get_args(option)
    return True  # callables, tensors, ...: not checked here


def describe(hint: Any) -> str:
    """A type hint in words: ``int | None`` → ``an integer or null``."""
    return _describe(hint)


def _describe(hint: Any) -> str:
    names = []
    for option in _options(hint):
        if option is None or option is type(None):
            names.append("null")
        elif typing.get_origin(option) in (list, tuple, collections.abc.Sequence):
            args = typing.get_args(option)
            plural = {"a string": "strings", "an integer": "integers", "a number": "numbers"}
            inner = _describe(args[0]) if args else ""
            names.append(f"a list of {plural.get(inner, inner)}" if args else "a list")
        elif isinstance(option, type):
            names.append({"str": "a string", "int": "an integer", "float": "a number",
                          "bool": "true/false", "dict": "a mapping", "Path": "a path"}.get(
                option.__name__, option.__name__))
        else:
            names.append(str(option))
    return " or ".join(dict.fromkeys(names))
