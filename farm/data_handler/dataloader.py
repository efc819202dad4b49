"""FARM's ``NamedDataLoader``: a data loader whose batches are dicts of named tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from farm.data_handler.dataset import Collator, FeatureDataset


class _NamedStack:
    """Collates tuples of equally shaped tensors (a ``TensorDataset``'s samples) into a dict."""

    def __init__(self, tensor_names: Sequence[str]):
        self.tensor_names = list(tensor_names)

    def __call__(self, samples: Sequence[Sequence[torch.Tensor]]) -> dict[str, torch.Tensor]:
        if len(samples[0]) != len(self.tensor_names):
            raise ValueError(f"Samples have {len(samples[0])} tensors but tensor_names has "
                             f"{len(self.tensor_names)}: {self.tensor_names}.")
        return {name: torch.stack([s[i] for s in samples])
                for i, name in enumerate(self.tensor_names)}


class NamedDataLoader(DataLoader):
    """A ``DataLoader`` yielding ``{tensor name: tensor}`` batches, as FARM's.

    Over a :class:`~farm.data_handler.dataset.FeatureDataset` (what processors make) each
    batch is padded to its longest sample and named after the features; over a
    ``TensorDataset`` (FARM's ``convert_features_to_dataset``) the tensors are stacked and
    named by ``tensor_names``.

    Args:
        dataset (Dataset): The samples.
        batch_size (int): Samples per batch.
        sampler (Sampler | None): Order of the samples (default: in order).
        tensor_names (Sequence[str] | None): Names of a ``TensorDataset``'s tensors (a
            ``FeatureDataset`` names its own).
        num_workers (int): Worker processes loading batches.
        pin_memory (bool): Put batches in pinned memory.

    Example:
        >>> loader = NamedDataLoader(dataset, batch_size=32, tensor_names=names)
        >>> batch = next(iter(loader))  # {"input_ids": tensor, ...}
    """

    def __init__(self, dataset: Dataset, batch_size: int, sampler: Sampler | None = None,
                 tensor_names: Sequence[str] | None = None, num_workers: int = 0,
                 pin_memory: bool = False):
        collate: Any
        if isinstance(dataset, FeatureDataset):
            if tensor_names is not None and sorted(tensor_names) != sorted(dataset.tensor_names):
                raise ValueError(f"tensor_names {list(tensor_names)} do not match the "
                                 f"dataset's features {dataset.tensor_names}.")
            collate = Collator(dataset.pad_values)
        elif tensor_names is None:
            raise ValueError("NamedDataLoader needs tensor_names for a dataset of tensor "
                             "tuples (the second value convert_features_to_dataset returns).")
        else:
            collate = _NamedStack(tensor_names)
        self.tensor_names = list(tensor_names or getattr(dataset, "tensor_names", []))
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate,
                         num_workers=num_workers, pin_memory=pin_memory)
