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
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    return json.dumps(state, sort_keys=True)


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
    logger.info("Loaded preprocessed data from cache %s", directory)
    return datasets, meta
