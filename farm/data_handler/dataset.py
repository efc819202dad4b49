"""Unpadded feature storage and padding per batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, TensorDataset

# Per-token label arrays are padded with the value that cross-entropy ignores.
LABEL_PAD_VALUE = -100

GROUP_FEATURE = "group_id"
"""Optional feature ``[group]`` per sample: samples of one group (the passages of a question
answering document, say) stay together in cross-validation folds (``dataset.groups``)."""


class FeatureDataset(Dataset):
    """Named features of many samples, each stored at its real length.

    Args:
        features (Mapping[str, Sequence[np.ndarray]]): One list per feature name, holding one
            1-D array per sample (``input_ids``, ``padding_mask``, ``segment_ids``, label
            arrays named after their task, ...).
        pad_values (Mapping[str, int] | None): Value each feature is padded with in a batch;
            0 where not given.
        references (Sequence[Any] | None): Per sample, what a head needs besides tensors to
            score its predictions (question answering: the context and the gold answer
            texts); handed to the head's ``merge_per_basket`` by the evaluator. Samples of
            one basket may share one object.

    Example:
        >>> ds = FeatureDataset({"input_ids": [np.array([101, 7, 102]), np.array([101, 102])]},
        ...                     pad_values={"input_ids": 0})
        >>> collate = Collator(ds.pad_values)
        >>> collate([ds[0], ds[1]])["input_ids"].shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        features: Mapping[str, Sequence[np.ndarray]],
        pad_values: Mapping[str, int] | None = None,
        references: Sequence[Any] | None = None,
    ):
        sizes = {name: len(values) for name, values in features.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"All features need one entry per sample; got counts {sizes}.")
        self.features = {name: list(values) for name, values in features.items()}
        self.pad_values = dict(pad_values or {})
        self._len = next(iter(sizes.values()), 0)
        if references is not None and len(references) != self._len:
            raise ValueError(f"{len(references)} references for {self._len} samples.")
        self.references = list(references) if references is not None else None
        self._groups: np.ndarray | None = None
        #: For a :meth:`subset`: the samples' positions in the dataset it was taken from
        #: (as ``torch.utils.data.Subset.indices``, which FARM's folds were).
        self.indices: np.ndarray | None = None

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {name: values[index] for name, values in self.features.items()}

    @property
    def tensor_names(self) -> list[str]:
        """Names of the features, in storage order."""
        return list(self.features)

    @property
    def groups(self) -> np.ndarray | None:
        """Group of each sample: the ``group_id`` feature, or None without one. Assigning
        an array overrides it for this object (subsets and the cache keep the feature)."""
        if self._groups is not None:
            return self._groups
        values = self.features.get(GROUP_FEATURE)
        if values is None:
            return None
        return np.concatenate(values) if values else np.zeros(0, dtype=np.int64)

    @groups.setter
    def groups(self, groups: np.ndarray | None) -> None:
        if groups is not None and len(groups) != self._len:
            raise ValueError(f"{len(groups)} groups for {self._len} samples.")
        self._groups = groups

    @groups.deleter
    def groups(self) -> None:
        self._groups = None

    @property
    def tensors(self) -> tuple[torch.Tensor, ...]:
        """All samples as padded tensors, one per feature in :attr:`tensor_names` order (as
        ``TensorDataset.tensors``, which FARM's datasets were). Built on each access: for
        inspecting data, not for training loops."""
        if not self._len:
            return ()
        batch = Collator(self.pad_values)([self[i] for i in range(self._len)])
        return tuple(batch[name] for name in self.tensor_names)

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens of each sample: the length of its ``input_ids``, or for samples
        with inputs of several encoders (``query_input_ids``, ``passage_input_ids`` of
        DPR) the number of token ids in all ``*input_ids`` features together."""
        if "input_ids" in self.features:
            return np.fromiter((len(x) for x in self.features["input_ids"]), dtype=np.int64)
        names = [name for name in self.features if name.endswith("input_ids")]
        if not names:
            raise KeyError(f"No input_ids feature to measure samples by: {list(self.features)}")
        return np.asarray(
            [sum(int(self.features[name][i].size) for name in names) for i in range(len(self))],
            dtype=np.int64,
        )

    def subset(self, indices: Sequence[int] | np.ndarray) -> FeatureDataset:
        """A new dataset with the samples at ``indices``."""
        picked = {name: [values[i] for i in indices] for name, values in self.features.items()}
        refs = [self.references[i] for i in indices] if self.references is not None else None
        subset = FeatureDataset(picked, self.pad_values, refs)
        subset.indices = np.asarray(indices, dtype=np.int64)
        return subset

    @classmethod
    def concat(cls, datasets: Sequence[FeatureDataset]) -> FeatureDataset:
        """Join datasets with the same feature names."""
        if not datasets:
            return cls({})
        names = datasets[0].tensor_names
        for dataset in datasets[1:]:
            if dataset.tensor_names != names:
                raise ValueError(f"Cannot join features {dataset.tensor_names} and {names}.")
        joined = {name: [x for d in datasets for x in d.features[name]] for name in names}
        refs = None
        if all(d.references is not None for d in datasets):
            refs = [r for d in datasets for r in d.references or []]
        return cls(joined, datasets[0].pad_values, refs)

    def to_flat(self) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
        """Flat tensors (values + offsets per feature) for safetensors, and the pad values."""
        tensors: dict[str, torch.Tensor] = {}
        for name, values in self.features.items():
            lengths = np.fromiter((v.size for v in values), dtype=np.int64, count=len(values))
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            flat = (np.concatenate([v.reshape(-1) for v in values]) if values
                    else np.zeros(0, dtype=np.int64))
            tensors[f"{name}.values"] = torch.from_numpy(np.ascontiguousarray(flat))
            tensors[f"{name}.offsets"] = torch.from_numpy(offsets)
            if values and values[0].ndim == 2:  # rows per sample (DPR passages): keep shapes
                shapes = np.asarray([v.shape for v in values], dtype=np.int64)
                tensors[f"{name}.shapes"] = torch.from_numpy(shapes)
        return tensors, self.pad_values

    @classmethod
    def from_flat(
        cls,
        tensors: Mapping[str, torch.Tensor],
        pad_values: Mapping[str, int],
        tensor_names: Sequence[str] | None = None,
    ) -> FeatureDataset:
        """Inverse of :meth:`to_flat`.

        Args:
            tensors (Mapping[str, torch.Tensor]): What :meth:`to_flat` returned.
            pad_values (Mapping[str, int]): The pad values :meth:`to_flat` returned.
            tensor_names (Sequence[str] | None): Feature order to restore; safetensors files
                come back with their keys sorted, so pass ``tensor_names`` of the original.
        """
        names = [key[: -len(".values")] for key in tensors if key.endswith(".values")]
        if tensor_names is not None:
            if sorted(tensor_names) != sorted(names):
                raise ValueError(f"tensor_names {list(tensor_names)} do not match {names}.")
            names = list(tensor_names)
        features = {}
        for name in names:
            flat = tensors[f"{name}.values"].numpy()
            offsets = tensors[f"{name}.offsets"].numpy()
            features[name] = [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
            if f"{name}.shapes" in tensors:
                shapes = tensors[f"{name}.shapes"].numpy()
                features[name] = [v.reshape(tuple(shape)) for v, shape in
                                  zip(features[name], shapes, strict=True)]
        return cls(features, pad_values)


class Collator:
    """Pads each feature to the longest sample of the batch and stacks it into a tensor.

    A feature of one row per sample gives ``(batch, width)``; a feature of several rows per
    sample (the passages of a DPR sample, ``(n_rows, width)`` each) gives
    ``(batch, max_rows, max_width)``, missing rows filled with the pad value.

    Args:
        pad_values (Mapping[str, int]): Padding value per feature name (0 where missing).
    """

    def __init__(self, pad_values: Mapping[str, int]):
        self.pad_values = dict(pad_values)

    def __call__(self, samples: Sequence[Mapping[str, np.ndarray]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for name in samples[0]:
            arrays = [s[name] for s in samples]
            dtype = np.float32 if arrays[0].dtype.kind == "f" else np.int64
            pad = self.pad_values.get(name, 0)
            if arrays[0].ndim == 2:
                rows = max(a.shape[0] for a in arrays)
                width = max(a.shape[1] for a in arrays)
                out = np.full((len(arrays), rows, width), pad, dtype=dtype)
                for i, array in enumerate(arrays):
                    out[i, : array.shape[0], : array.shape[1]] = array
            else:
                width = max(len(a) for a in arrays)
                out = np.full((len(arrays), width), pad, dtype=dtype)
                for row, array in enumerate(arrays):
                    out[row, : len(array)] = array
            batch[name] = torch.from_numpy(out)
        return batch


def convert_features_to_dataset(features: Sequence[Mapping[str, Any]]
                                ) -> tuple[TensorDataset, list[str]]:
    """FARM's helper: feature dicts (one per sample, arrays or lists) to a ``TensorDataset``
    of padded tensors and the names of its tensors, in the first dict's order.

    Example:
        >>> dataset, names = convert_features_to_dataset(
        ...     [{"input_ids": [101, 7, 102]}, {"input_ids": [101, 102]}])
        >>> names, dataset.tensors[0].shape
        (['input_ids'], torch.Size([2, 3]))
    """
    if not features:
        raise ValueError("convert_features_to_dataset needs at least one feature dict.")
    names = list(features[0])
    batch = Collator({})([{name: np.asarray(f[name]) for name in names} for f in features])
    return TensorDataset(*(batch[name] for name in names)), names


class ConcatTensorDataset(ConcatDataset):
    """Several ``TensorDataset``s as one (FARM's), with ``tensors`` joined along the samples."""

    @property
    def tensors(self) -> tuple[torch.Tensor, ...]:
        parts = [getattr(d, "tensors", None) for d in self.datasets]
        if any(p is None for p in parts):
            raise TypeError("ConcatTensorDataset.tensors needs datasets that have tensors.")
        return tuple(torch.cat(columns) for columns in zip(*parts, strict=True))
