"""What a folder given as a model is, decided in one place.

``Inferencer.load``, ``AdaptiveModel.load``, ``BiAdaptiveModel.load``, the ONNX loaders and
the CLI ask :func:`inspect_folder` whether a path is a saved FARM model, a dense retriever,
an ONNX export of either, a Hugging Face model, training checkpoints, or nothing a model
loads from, and :func:`not_a_model` for the error that says which and what opens it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from farm.errors import ModelFolderError, did_you_mean
from farm.serialization import read_json_file, require_fields

MODEL_META = "farm_model.json"
HF_CONFIG = "config.json"
CHECKPOINT_STATE = "trainer_state.json"
MODEL_CLASSES = ("AdaptiveModel", "BiAdaptiveModel")
# Files of data sets, to tell a data folder given as a model.
_DATA_SUFFIXES = {".tsv", ".csv", ".txt", ".json", ".jsonl", ".conll", ".iob", ".iob2", ".bio"}
_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
# What a saved model's folder holds (model, processor, tokenizer, experiment summary).
_MODEL_ENTRIES = re.compile(
    r"farm_model\.json|processor_config\.json|experiment\.json|language_model|lm[12]|"
    r"passage_tokenizer|prediction_head_\d+(_config\.json|\.safetensors)|tokenizer.*\.json|"
    r"special_tokens_map\.json|added_tokens\.json|chat_template\.jinja|vocab\.\w+|"
    r"merges\.txt|.*\.model")

OPENS = ("Give a folder written by model.save / EarlyStopping / farm train (it holds "
         "farm_model.json), an ONNX export, or a Hugging Face model folder (config.json) "
         "with a task type.")


class FolderKind(Enum):
    """The kinds of folder (and of non-folder) a model path can be."""

    FARM_MODEL = "a saved FARM model"
    BI_ADAPTIVE_MODEL = "a saved BiAdaptiveModel (dense retriever)"
    ONNX_EXPORT = "an ONNX export of a FARM model"
    ONNX_BI_EXPORT = "an ONNX export of a BiAdaptiveModel"
    HUGGING_FACE = "a Hugging Face model folder"
    DPR_ENCODERS = "Hugging Face DPR encoders (query_encoder/, passage_encoder/)"
    CHECKPOINT = "a training checkpoint"
    CHECKPOINTS = "a folder of training checkpoints"
    NOT_FOUND = "not found"
    FILE = "a file"
    NOTHING = "no model"


FARM_KINDS = (FolderKind.FARM_MODEL, FolderKind.BI_ADAPTIVE_MODEL, FolderKind.ONNX_EXPORT,
              FolderKind.ONNX_BI_EXPORT)


@dataclass(frozen=True)
class ModelFolder:
    """A model path and what it holds.

    Attributes:
        path (Path): The path as given.
        kind (FolderKind): What it is.
        meta (dict[str, Any]): ``farm_model.json`` for the FARM kinds (checked), else empty.
    """

    path: Path
    kind: FolderKind
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def model_class(self) -> str:
        """``"AdaptiveModel"`` or ``"BiAdaptiveModel"`` for the FARM kinds."""
        return str(self.meta.get("model", "AdaptiveModel"))


def read_model_meta(folder: Path) -> dict[str, Any]:
    """``farm_model.json`` of ``folder``, checked for what every loader reads from it.

    Raises:
        ModelFolderError: It is unreadable, not a JSON object, or names an unknown model.
    """
    file = folder / MODEL_META
    meta: dict[str, Any] = read_json_file(file, dict)
    model = meta.get("model", "AdaptiveModel")
    if model not in MODEL_CLASSES:
        raise ModelFolderError(f"'model' is {model!r:.60}; FARM saves {' and '.join(MODEL_CLASSES)}"
                               " models.", file)
    if "format_version" in meta:
        require_fields(meta, file, {"format_version": int})
    if meta.get("backend", "pytorch") not in ("pytorch", "onnx"):
        raise ModelFolderError(f"'backend' is {meta['backend']!r:.60}; expected 'onnx' (an "
                               "ONNX export) or none (a PyTorch model).", file)
    return meta


def inspect_folder(path: str | Path) -> ModelFolder:
    """What ``path`` holds. Never loads weights; reads and checks only ``farm_model.json``.

    Raises:
        ModelFolderError: ``farm_model.json`` exists but is damaged.
    """
    path = Path(path)
    if not path.exists():
        return ModelFolder(path, FolderKind.NOT_FOUND)
    if not path.is_dir():
        return ModelFolder(path, FolderKind.FILE)
    if (path / MODEL_META).is_file():
        meta = read_model_meta(path)
        bi = meta.get("model") == "BiAdaptiveModel"
        if meta.get("backend") == "onnx":
            return ModelFolder(path, FolderKind.ONNX_BI_EXPORT if bi else FolderKind.ONNX_EXPORT,
                               meta)
        return ModelFolder(path, FolderKind.BI_ADAPTIVE_MODEL if bi else FolderKind.FARM_MODEL,
                           meta)
    if (path / CHECKPOINT_STATE).is_file():
        return ModelFolder(path, FolderKind.CHECKPOINT)
    if (path / HF_CONFIG).is_file():
        return ModelFolder(path, FolderKind.HUGGING_FACE)
    if (path / "query_encoder").is_dir():
        return ModelFolder(path, FolderKind.DPR_ENCODERS)
    if _checkpoints(path):
        return ModelFolder(path, FolderKind.CHECKPOINTS)
    return ModelFolder(path, FolderKind.NOTHING)


def looks_like_hub_name(name: str | Path) -> bool:
    """Whether a path that does not exist could be a Hugging Face hub name
    (``name`` or ``owner/name``)."""
    return _HUB_NAME.fullmatch(str(name)) is not None


def not_a_model(folder: ModelFolder, hub_hint: bool = False) -> ModelFolderError:
    """The error for a path that no model loads from (not found, a file, a data folder,
    checkpoints, DPR encoders to convert first), saying what it is and what would open it.

    Args:
        folder (ModelFolder): What :func:`inspect_folder` found.
        hub_hint (bool): Add how to load a Hugging Face hub model (for callers that can).
    """
    path, kind = folder.path, folder.kind
    if kind is FolderKind.NOT_FOUND:
        siblings = ([p.name for p in path.parent.iterdir()] if path.parent.is_dir() else [])
        hint = (" To load a model from the Hugging Face hub, also give its task type "
                "(task_type= / --task-type)." if hub_hint else "")
        return ModelFolderError(f"not found: there is no such folder."
                                f"{did_you_mean(path.name, siblings)}{hint}", path)
    if kind is FolderKind.FILE:
        inside = f" Give its folder {path.parent} instead." if path.name in (
            MODEL_META, HF_CONFIG) else ""
        return ModelFolderError(f"is a file, not a model folder.{inside} {OPENS}", path)
    if kind is FolderKind.CHECKPOINT:
        return ModelFolderError(f"is {kind.value}: its model is in {path / 'model'} (load "
                                "that), and training resumes from it with "
                                "Trainer.create_or_load_checkpoint.", path)
    if kind is FolderKind.CHECKPOINTS:
        newest = _checkpoints(path)[-1]
        return ModelFolderError(f"is {kind.value}; the newest one's model is in "
                                f"{newest / 'model'} (load that).", path)
    if kind is FolderKind.HUGGING_FACE:
        return ModelFolderError(f"is {kind.value}, not a saved FARM model (no {MODEL_META}); "
                                "open it with Inferencer.load(path, task_type=...) (farm "
                                "commands: --task-type) or convert it with "
                                "AdaptiveModel.convert_from_transformers.", path)
    if kind is FolderKind.DPR_ENCODERS:
        return ModelFolderError(f"holds {kind.value}; convert them to a FARM model first: "
                                f"farm convert {path} OUTPUT_DIR --to farm (or "
                                "BiAdaptiveModel.convert_from_transformers).", path)
    entries = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    found = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "") if entries else (
        "nothing")
    data = [e for e in entries if Path(e).suffix.lower() in _DATA_SUFFIXES]
    looks_like_data = (f" It looks like a data folder ({', '.join(data[:3])}): give it as "
                       "data (a processor's data_dir, data.data_dir in a config, a file in "
                       "it as the input of farm predict / farm eval) and a model folder as "
                       "the model." if data else "")
    return ModelFolderError(f"is not a model folder: it has no {MODEL_META} (FARM model or "
                            f"ONNX export) and no {HF_CONFIG} (Hugging Face model); it holds "
                            f"{found}.{looks_like_data} {OPENS}", path)


def kept_beside_a_model(name: str) -> bool:
    """Whether an entry of a model's folder is something other than a part of the saved
    model (checkpoints kept in the same folder, a user's notes): what a new save that
    replaces the folder must carry over."""
    return _MODEL_ENTRIES.fullmatch(name) is None


def _checkpoints(path: Path) -> list[Path]:
    found = [(int(m.group(1)), p) for p in path.iterdir()
             if (m := re.fullmatch(r"step_(\d+)", p.name)) and (p / CHECKPOINT_STATE).is_file()]
    return [p for _, p in sorted(found)]
