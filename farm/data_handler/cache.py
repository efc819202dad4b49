"""Content-keyed cache of preprocessed datasets, stored as safetensors + JSON (never pickle)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from farm.data_handler.dataset import FeatureDataset
from farm.serialization import atomic_directory

logger = logging.getLogger(__name__)

CACHE_FORMAT = 2  # bump when the feature layout changes, so old caches are not reused


def cache_key(
    files: Mapping[str, Path | None], processor_config: Any, tokenizer_state: str, extra: Any
) -> str:
    """A hash of everything the features depend on.

    Args:
        files (Mapping[str, Path | None]): Data files by split; their bytes are hashed.
        processor_config (Any): The processor's JSON-able configuration and tasks.
        tokenizer_state (str): The serialized tokenizer (vocabulary, normalizer, ...).
        extra (Any): Anything else that changes the result (dev split, seed, ...).
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_FORMAT, processor_config, extra], sort_keys=True,
                             default=str).encode())
    digest.update(tokenizer_state.encode())
    for split in sorted(files):
        path = files[split]
        digest.update(split.encode())
        if path is not None and path.is_file():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:32]


def tokenizer_state(tokenizer: Any) -> str:
    """The fast tokenizer's vocabulary, normalizer, pre-tokenizer, ... as a string, without its
    truncation and padding settings (a call with ``truncation=True`` changes those, not the
    tokens a processor makes: the processor truncates per call)."""
    backend = tokenizer.backend_tokenizer
    truncation, padding = backend.truncation, backend.padding
    backend.no_truncation()
    backend.no_padding()
    try:
        return str(backend.to_str())  # about 10x faster than a JSON round trip
    finally:
        if truncation is not None:
            backend.enable_truncation(**truncation)
        if padding is not None:
            backend.enable_padding(**padding)


def save_datasets(
    directory: Path, datasets: Mapping[str, FeatureDataset | None], meta: dict[str, Any]
) -> None:
    """Write datasets and metadata atomically: a temporary folder renamed into place."""
    pad_values, tensor_names = {}, {}
    with atomic_directory(directory) as tmp:
        for split, dataset in datasets.items():
            if dataset is None:
                continue
            tensors, pad_values[split] = dataset.to_flat()
            tensor_names[split] = dataset.tensor_names  # safetensors sorts its keys
            save_file(tensors, str(tmp / f"{split}.safetensors"))
            if dataset.references is not None:
                (tmp / f"{split}_references.json").write_text(
                    json.dumps(pack_references(dataset.references))
                )
        layout = {"pad_values": pad_values, "tensor_names": tensor_names}
        (tmp / "meta.json").write_text(json.dumps({**meta, **layout}, indent=2))
    logger.info("Cached preprocessed data in %s", directory)


def load_datasets(directory: Path) -> tuple[dict[str, FeatureDataset | None], dict[str, Any]]:
    """Read what :func:`save_datasets` wrote."""
    meta = json.loads((directory / "meta.json").read_text())
    pad_values = meta.pop("pad_values")
    tensor_names = meta.pop("tensor_names")
    datasets: dict[str, FeatureDataset | None] = {}
    for split in ("train", "dev", "test"):
        file = directory / f"{split}.safetensors"
        datasets[split] = (
            FeatureDataset.from_flat(load_file(str(file)), pad_values[split], tensor_names[split])
            if file.is_file() else None
        )
        refs = directory / f"{split}_references.json"
        dataset = datasets[split]
        if dataset is not None and refs.is_file():
            dataset.references = unpack_references(json.loads(refs.read_text()))
    logger.info("Loaded preprocessed data from cache %s", directory)
    return datasets, meta


_LONG = 256  # strings at least this long (contexts) are stored once in the cache


def pack_references(references: list[Any]) -> dict[str, Any]:
    """References as JSON: each shared object once, long strings (contexts) once."""
    objects: list[Any] = []
    position: dict[int, int] = {}  # id of an object -> its place in `objects`
    strings: list[str] = []
    string_position: dict[str, int] = {}
    for ref in references:
        if id(ref) in position:
            continue
        position[id(ref)] = len(objects)
        if isinstance(ref, dict):
            ref = dict(ref)
            for key, value in ref.items():
                if isinstance(value, str) and len(value) >= _LONG:
                    if value not in string_position:
                        string_position[value] = len(strings)
                        strings.append(value)
                    ref[key] = {"$string": string_position[value]}
        objects.append(ref)
    return {"objects": objects, "strings": strings,
            "index": [position[id(ref)] for ref in references]}


def unpack_references(packed: dict[str, Any]) -> list[Any]:
    """Inverse of :func:`pack_references` (samples that shared an object share it again)."""
    strings = packed["strings"]
    objects = []
    for obj in packed["objects"]:
        if isinstance(obj, dict):
            obj = {k: strings[v["$string"]] if isinstance(v, dict) and "$string" in v else v
                   for k, v in obj.items()}
        objects.append(obj)
    return [objects[i] for i in packed["index"]]
