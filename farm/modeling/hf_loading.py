"""Every Hugging Face config, model and tokenizer FARM loads goes through this module.

The rules live here once: ``trust_remote_code=False`` (a folder's Python code never runs,
and transformers never asks whether to run it), weights from safetensors only (a
``pytorch_model.bin`` is a pickle), and a local folder is checked before transformers reads
it, so a missing or damaged file is a :class:`~farm.errors.ModelFolderError` naming the file
rather than an exception from deep inside transformers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError
from transformers import CONFIG_MAPPING, AutoConfig, AutoTokenizer, PretrainedConfig

from farm.errors import ModelFolderError, did_you_mean
from farm.serialization import confined_path, read_json_file, safetensors_shapes

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
# Files that hold a tokenizer's vocabulary, in any of the formats transformers reads.
_VOCABULARY_FILE = re.compile(r"tokenizer\.json|vocab\.\w+|merges\.txt|.*\.model|.*\.spm|"
                              r".*\.tiktoken")
_TOKENIZER_CONFIGS = ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
_PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack"}
CONVERT_HINT = (
    "Convert it once, if you trust where it comes from: load it in Python with its "
    "transformers class (e.g. AutoModelForSequenceClassification.from_pretrained(path, "
    "use_safetensors=False)) and call save_pretrained(new_path), which writes "
    "model.safetensors; then load new_path."
)


def local_folder(source: str | Path, subfolder: str | None = None) -> Path | None:
    """The local folder ``source`` (and ``subfolder``) names, or None for a hub name."""
    path = Path(source)
    if not path.is_dir():
        return None
    return path / subfolder if subfolder else path


def check_config(folder: Path) -> dict[str, Any]:
    """``config.json`` of a local Hugging Face folder (or that file itself), checked for a
    ``model_type`` that this transformers knows (never one that needs the folder's own
    code)."""
    file = folder if folder.is_file() else folder / CONFIG
    if not file.is_file():
        raise ModelFolderError(f"has no {CONFIG}, so it is not a Hugging Face model folder.",
                               folder)
    config: dict[str, Any] = read_json_file(file, dict)
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise ModelFolderError("has no 'model_type' (a string such as \"bert\"); the file is "
                               "damaged or not a transformers config.", file)
    if model_type not in CONFIG_MAPPING:
        if "auto_map" in config:
            raise ModelFolderError(
                f"model_type {model_type!r} needs Python code from the model folder "
                "(auto_map); FARM never runs code from a model folder. Use a model whose "
                "architecture transformers includes.", file)
        raise ModelFolderError(
            f"unknown model_type {model_type!r}.{did_you_mean(model_type, CONFIG_MAPPING)} "
            "It is not an architecture this transformers version includes; a newer "
            "transformers may know it.", file)
    return config


def check_weights(folder: Path) -> None:
    """Check that a local folder's weights are complete safetensors files.

    Raises:
        ModelFolderError: No ``model.safetensors`` (saying how to convert a
            ``pytorch_model.bin``), or a weights file that is damaged or cut short.
    """
    if (folder / WEIGHTS).is_file():
        safetensors_shapes(folder / WEIGHTS)
        return
    index = folder / WEIGHTS_INDEX
    if index.is_file():
        weight_map = read_json_file(index, dict).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelFolderError("has no 'weight_map' object naming the weight files.",
                                   index)
        for shard in sorted(set(weight_map.values())):
            safetensors_shapes(confined_path(folder, shard, index, "weight_map"))
        return
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickles:
        raise ModelFolderError(
            f"has no {WEIGHTS}, only {', '.join(pickles)}. FARM reads weights from "
            f"safetensors only (.bin and .pt files are pickles, which can run code when "
            f"read). {CONVERT_HINT}", folder)
    raise ModelFolderError(f"has no {WEIGHTS} (the model's weights); the folder is "
                           "incomplete: save or download the model again.", folder)


@contextmanager
def _clear_errors(source: str | Path, folder: Path | None) -> Iterator[None]:
    """Turn what transformers raises for a bad folder or an unknown name into a
    ModelFolderError naming it."""
    where = folder if folder is not None else source
    try:
        yield
    except ModelFolderError:
        raise
    except (OSError, ValueError, RuntimeError, TypeError, AttributeError, KeyError,
            SafetensorError, StrictDataclassError) as error:
        if folder is None and not isinstance(error, OSError | ValueError):
            raise  # not about the name: a hub model loads or fails as transformers says
        message = " ".join(str(error).split())
        if "custom code" in message:
            raise ModelFolderError("needs Python code from the model's repository "
                                   "(trust_remote_code); FARM never runs a model's own code. "
                                   "Use a model whose architecture transformers includes.",
                                   where) from error
        if folder is None:
            raise ModelFolderError(f"no such local folder, and it could not be loaded as a "
                                   f"Hugging Face hub name: {message}", where) from error
        raise ModelFolderError(f"cannot be loaded ({type(error).__name__}: {message}); the "
                               "folder is damaged or incomplete.", where) from error


def load_config(source: str | Path, **kwargs: Any) -> PretrainedConfig:
    """``AutoConfig.from_pretrained`` without remote code, a local folder checked first."""
    folder = local_folder(source, kwargs.get("subfolder"))
    if folder is None and Path(source).is_file():  # a config.json given as a file
        folder = Path(source)
    if folder is not None:
        check_config(folder)
    with _clear_errors(source, folder):
        return AutoConfig.from_pretrained(str(source), trust_remote_code=False, **kwargs)


def load_pretrained(model_class: Any, source: str | Path, **kwargs: Any) -> Any:
    """``model_class.from_pretrained`` without remote code and, unless
    ``use_safetensors=False`` is passed, from safetensors only; a local folder's config
    and weight files are checked first.

    Args:
        model_class (Any): A transformers model class (``AutoModel``, ``BertModel``, ...).
        source (str | Path): A local folder or hub name.
        **kwargs: Further ``from_pretrained`` options.
    """
    use_safetensors = kwargs.pop("use_safetensors", True)
    folder = local_folder(source, kwargs.get("subfolder"))
    if folder is not None:
        if "config" not in kwargs:
            check_config(folder)
        if use_safetensors:
            check_weights(folder)
    with _clear_errors(source, folder):
        return model_class.from_pretrained(str(source), trust_remote_code=False,
                                           use_safetensors=use_safetensors, **kwargs)


def check_tokenizer_files(folder: Path) -> None:
    """Check that a local folder holds a tokenizer's vocabulary and that its JSON configs
    are readable.

    Raises:
        ModelFolderError: No vocabulary file (``tokenizer.json``, ``vocab.txt``, ...) or
            a damaged tokenizer config.
    """
    if not any(_VOCABULARY_FILE.fullmatch(p.name) for p in folder.iterdir()):
        raise ModelFolderError(
            "has no tokenizer files (tokenizer.json, or vocab.txt, vocab.json + merges.txt, "
            "a sentencepiece .model): without them every word would become the unknown "
            "token. Copy the tokenizer files of the model it was trained from into the "
            "folder, or save them with tokenizer.save_pretrained(folder) / "
            "processor.save(folder).", folder)
    for name in _TOKENIZER_CONFIGS:
        if (folder / name).is_file():
            read_json_file(folder / name, dict)


def load_tokenizer(source: str | Path, **kwargs: Any) -> Any:
    """``AutoTokenizer.from_pretrained`` (fast) without remote code; a local folder's
    tokenizer files are checked first."""
    folder = local_folder(source, kwargs.get("subfolder"))
    if folder is None:
        with _clear_errors(source, folder):
            return AutoTokenizer.from_pretrained(str(source), use_fast=True,
                                                 trust_remote_code=False, **kwargs)
    check_tokenizer_files(folder)
    try:
        return AutoTokenizer.from_pretrained(str(source), use_fast=True,
                                             trust_remote_code=False, **kwargs)
    except Exception as error:  # the tokenizers library raises plain Exceptions
        message = " ".join(str(error).split())
        raise ModelFolderError(f"the tokenizer cannot be read ({type(error).__name__}: "
                               f"{message}); tokenizer.json or tokenizer_config.json is "
                               "damaged: copy the tokenizer files again from the original "
                               "model.", folder) from error
