"""Train, dev and test sets of one processor, with their data loaders."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, SequentialSampler

from farm.data_handler.cache import cache_key, load_datasets, save_datasets
from farm.data_handler.dataset import LABEL_PAD_VALUE, Collator, FeatureDataset
from farm.data_handler.labels import CLASSIFICATION, MULTILABEL, positive_weights
from farm.data_handler.parallel import featurize
from farm.data_handler.processors.base import Processor
from farm.data_handler.samplers import TrainBatchSampler
from farm.data_handler.unknown_tokens import report_unknown_tokens
from farm.distributed import rank as global_rank
from farm.distributed import world_size
from farm.errors import DataFileError, FarmError, check_choice
from farm.tracking import get_tracker

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")


class DataSilo:
    """Loads the train/dev/test files of a processor into datasets and data loaders.

    Features are stored unpadded; each batch is padded to its longest sample. Training
    batches group samples of similar length (in random order, reproducible by ``seed``).

    Args:
        processor (Processor): Reads and featurizes the files named in it.
        batch_size (int): Samples per training batch.
        eval_batch_size (int | None): Samples per dev/test batch (default ``batch_size``).
        distributed (bool): Shard the training data over the processes of a ``torchrun``
            job: each process gets its share of every global batch of
            ``batch_size * world_size`` samples.
        automatic_loading (bool): Load the data in the constructor (else call
            :meth:`load_data`).
        max_multiprocessing_chunksize (int): Inputs per chunk featurized by a worker process.
        max_processes (int): Most worker processes that featurize a split (never more than
            the cores; 1 turns them off). Workers are used only for a split of at least
            ``2 * MIN_INPUTS_PER_WORKER`` inputs (4,000) and a processor whose per-input work
            is its own (``parallel_safe``; FARM's delimited and NER processors are), on
            systems that can fork (Linux). Results equal those of one process.
        caching (bool): Reuse preprocessed data stored under ``cache_path``. The cache key
            covers the files' bytes, the processor's configuration and the tokenizer.
        cache_path (str | Path): Folder of the cache.
        group_by_length (bool): Batch training samples of similar length together.
        seed (int): Seed of the dev split and of the batch order.

    Example:
        >>> data_silo = DataSilo(processor=processor, batch_size=32)
        >>> n_batches = len(data_silo.loaders["train"])
    """

    def __init__(
        self,
        processor: Processor,
        batch_size: int,
        eval_batch_size: int | None = None,
        distributed: bool = False,
        automatic_loading: bool = True,
        max_multiprocessing_chunksize: int = 2000,
        max_processes: int = 128,
        caching: bool = False,
        cache_path: str | Path = Path("cache/data_silo"),
        group_by_length: bool = True,
        seed: int = 42,
    ):
        self.processor = processor
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.distributed = distributed
        self.max_multiprocessing_chunksize = max_multiprocessing_chunksize
        self.max_processes = max_processes
        self.caching = caching
        self.cache_path = Path(cache_path)
        self.group_by_length = group_by_length
        self.seed = seed
        self.data: dict[str, FeatureDataset | None] = dict.fromkeys(SPLITS)
        self.loaders: dict[str, DataLoader | None] = dict.fromkeys(SPLITS)
        self.counts: dict[str, int] = {}
        if automatic_loading:
            self.load_data()

    def load_data(self) -> None:
        """Read, split and featurize the files (or take them from the cache)."""
        self._load_data()

    def _load_data(
        self,
        train_dicts: list[dict[str, Any]] | None = None,
        dev_dicts: list[dict[str, Any]] | None = None,
        test_dicts: list[dict[str, Any]] | None = None,
    ) -> None:
        """FARM's way to load input dicts instead of files: each split given as dicts is
        featurized as such, the others are read from the processor's files; a dev set is
        split off the training data as for files. The cache is used for files only.

        Args:
            train_dicts (list[dict[str, Any]] | None): Training inputs.
            dev_dicts (list[dict[str, Any]] | None): Dev inputs.
            test_dicts (list[dict[str, Any]] | None): Test inputs.
        """
        given = {"train": train_dicts, "dev": dev_dicts, "test": test_dicts}
        files = self._files()
        key = None
        if self.caching and all(v is None for v in given.values()):
            key = cache_key(
                files,
                {**self.processor.generate_config(), "tasks": self.processor.tasks},
                self.processor.tokenizer_state(),
                {"seed": self.seed, "processor": type(self.processor).__name__},
            )
            if (self.cache_path / key / "meta.json").is_file():
                self.data, meta = load_datasets(self.cache_path / key)
                self.processor.restore_tasks(meta["tasks"])
                self._finish()
                return
        dicts = self._read_dicts(files, given)
        for split in SPLITS:
            split_dicts = dicts[split]
            if split_dicts is not None:
                self.data[split] = featurize(
                    self.processor, split_dicts, self.max_processes,
                    self.max_multiprocessing_chunksize, log_sample=split == "train",
                )
        if key is not None:
            save_datasets(self.cache_path / key, self.data, {"tasks": self.processor.tasks})
        self._finish()

    def _files(self) -> dict[str, Path | None]:
        processor = self.processor
        names = {
            "train": processor.train_filename,
            "dev": processor.dev_filename,
            "test": processor.test_filename,
        }
        return {s: processor.file_path(n) if n else None for s, n in names.items()}

    def _read_dicts(self, files: dict[str, Path | None],
                    given: dict[str, list[dict] | None] | None = None
                    ) -> dict[str, list[dict] | None]:
        given = given or dict.fromkeys(SPLITS)
        dicts: dict[str, list[dict] | None] = dict.fromkeys(SPLITS)
        for split in SPLITS:  # train first: a missing label_list is read from it
            path = files[split]
            if given[split] is not None:
                dicts[split] = list(given[split] or [])
                self._check_labels(dicts[split] or [], None)
            elif path is not None:
                dicts[split] = self.processor.file_to_dicts(path)
                self._check_labels(dicts[split] or [], path)
                logger.info("Read %d inputs from %s", len(dicts[split] or []), path)
        has_dev = given["dev"] is not None or files["dev"] is not None
        if not has_dev and dicts["train"] and self.processor.dev_split > 0:
            dicts["train"], dicts["dev"] = self._split_dev(dicts["train"])
        return dicts

    def _check_labels(self, dicts: list[dict[str, Any]], path: Path | None) -> None:
        """Training and evaluation files need every task's labels."""
        for name, task in self.processor.tasks.items():
            if dicts and task["label_name"] not in dicts[0]:
                raise DataFileError(
                    f"the file has no labels of task '{name}' (column "
                    f"{task.get('label_column_name')!r}), but training and evaluation need "
                    "them. Check label_column_name=, header= and delimiter=.",
                    file=path,
                )

    def _split_dev(self, dicts: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
        """Split ``dev_split`` of the training inputs off as dev set (stratified on request)."""
        rng = np.random.default_rng(self.seed)
        share = self.processor.dev_split
        if self.processor.dev_stratification:
            name, task = next(iter(self.processor.tasks.items()))
            if task.get("task_type") not in (None, CLASSIFICATION):
                raise FarmError(
                    f"dev_stratification keeps the class ratios of the first task, but task "
                    f"'{name}' has task_type '{task['task_type']}', whose labels are not "
                    "classes. Use dev_stratification=False, or add a classification task first."
                )
            label_key = task["label_name"]
            groups: dict[Any, list[int]] = {}
            for i, item in enumerate(dicts):
                groups.setdefault(str(item.get(label_key)), []).append(i)
            dev_idx = []
            for members in groups.values():
                take = int(round(len(members) * share))
                dev_idx += rng.permutation(members)[:take].tolist()
            if not dev_idx:  # every class too small to give a dev sample: take one anyway
                largest = max(groups.values(), key=len)
                dev_idx = [int(rng.choice(largest))]
        else:
            take = max(1, int(round(len(dicts) * share)))
            dev_idx = rng.permutation(len(dicts))[:take].tolist()
        if len(dev_idx) >= len(dicts):
            raise FarmError(
                f"dev_split={share} leaves no training data from {len(dicts)} inputs; "
                "lower dev_split or provide a dev file."
            )
        chosen = set(dev_idx)
        train = [d for i, d in enumerate(dicts) if i not in chosen]
        dev = [dicts[i] for i in sorted(chosen)]
        logger.info("Split %d of %d training inputs off as dev set", len(dev), len(dicts))
        return train, dev

    def _finish(self) -> None:
        for split in SPLITS:
            dataset = self.data[split]
            self.counts[split] = len(dataset) if dataset is not None else self.counts.get(split, 0)
            self.loaders[split] = self._make_loader(split, dataset) if dataset else None
        logger.info("Samples per split: %s", self.counts)
        unknown = {split: report_unknown_tokens(split, dataset.features, self.processor)
                   for split in SPLITS if (dataset := self.data[split])}
        get_tracker().log_metrics({f"unknown_token_rate_{split}": counts.rate
                                   for split, counts in unknown.items() if counts.n_tokens})
        get_tracker().log_params({
            "n_samples_train": self.counts["train"],
            "n_samples_dev": self.counts["dev"],
            "n_samples_test": self.counts["test"],
            "batch_size": self.batch_size,
            "max_seq_len": self.processor.max_seq_len,
            "processor": type(self.processor).__name__,
            "tokenizer": type(self.processor.tokenizer).__name__,
        })

    def _make_loader(self, split: str, dataset: FeatureDataset) -> DataLoader:
        collate = Collator(dataset.pad_values)
        # A loader of its own generator: starting an epoch must not draw from the global
        # random state, or a resumed run would see other dropout masks than the original.
        generator = torch.Generator().manual_seed(self.seed)
        if split != "train":
            return DataLoader(
                dataset, batch_size=self.eval_batch_size, sampler=SequentialSampler(dataset),
                collate_fn=collate, generator=generator,
            )
        replicas, rank = (world_size(), global_rank()) if self.distributed else (1, 0)
        batches = TrainBatchSampler(
            dataset.lengths, self.batch_size, seed=self.seed,
            group_by_length=self.group_by_length, num_replicas=replicas, rank=rank,
        )
        return DataLoader(dataset, batch_sampler=batches, collate_fn=collate, generator=generator)

    def n_samples(self, dataset_name: str) -> int:
        """Number of samples of ``"train"``, ``"dev"`` or ``"test"`` (FARM's helper)."""
        check_choice(dataset_name, list(SPLITS), "dataset_name")
        return self.counts.get(dataset_name, 0)

    def get_data_loader(self, dataset_name: str) -> DataLoader | None:
        """The loader of ``"train"``, ``"dev"`` or ``"test"`` (None if that split is absent)."""
        if dataset_name not in self.loaders:
            raise KeyError(f"Unknown split '{dataset_name}'; choose one of {list(SPLITS)}.")
        return self.loaders[dataset_name]

    def calculate_class_weights(self, task_name: str, source: str = "train") -> list[float]:
        """Class weights inversely proportional to label frequencies.

        Equal to scikit-learn's ``compute_class_weight("balanced", ...)``:
        ``n_samples / (n_classes * count(class))``. A class that never occurs gets weight 0
        (with a warning), as it cannot contribute to the loss anyway.

        Args:
            task_name (str): Task whose labels are counted.
            source (str): ``"train"``, ``"dev"``, ``"test"`` or ``"all"``.

        For a multilabel task the weights are ``pos_weight`` of its loss: negatives /
        positives per label. Inputs whose label is masked (multitask) are not counted.

        Returns:
            list[float]: One weight per entry of the task's ``label_list``.
        """
        if task_name not in self.processor.tasks:
            raise KeyError(f"Unknown task '{task_name}'; tasks: {list(self.processor.tasks)}.")
        check_choice(source, [*SPLITS, "all"], "source")
        task = self.processor.tasks[task_name]
        if task.get("task_type") not in (None, CLASSIFICATION, MULTILABEL, "ner"):
            raise FarmError(
                f"Task '{task_name}' has task_type '{task['task_type']}': class weights "
                "are for classification, multilabel and NER tasks, whose labels are classes. "
                "Leave class_weights out of this task's head."
            )
        splits = list(SPLITS) if source == "all" else [source]
        datasets = [d for s in splits if (d := self.data[s]) is not None and len(d)]
        if not datasets:
            raise FarmError(f"No {source} data to count the labels of task '{task_name}' in.")
        if task.get("task_type") == MULTILABEL:
            return positive_weights(np.stack(
                [row for d in datasets for row in d.features[task["label_tensor_name"]]]
            ))
        labels = np.concatenate([
            np.concatenate(d.features[task["label_tensor_name"]]) for d in datasets
        ])
        labels = labels[labels != LABEL_PAD_VALUE]
        n_classes = len(task["label_list"])
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        weights = np.where(counts > 0, len(labels) / (n_classes * np.maximum(counts, 1)), 0.0)
        absent = [task["label_list"][i] for i in np.flatnonzero(counts == 0)]
        if absent:
            logger.warning("Labels %s never occur in %s; their class weight is 0.", absent, source)
        return weights.tolist()


# FARM's users import these from here; they live in their own modules, which import this one.
_ELSEWHERE = {
    "StreamingDataSilo": "farm.data_handler.streaming",
    "DataSiloForCrossVal": "farm.data_handler.cross_validation",
    "DataSiloForHoldout": "farm.data_handler.cross_validation",
}


def __getattr__(name: str) -> Any:
    """``from farm.data_handler.data_silo import StreamingDataSilo`` (and the cross-validation
    silos) as in FARM, imported on first use to keep the module graph acyclic."""
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
