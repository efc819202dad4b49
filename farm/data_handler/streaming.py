"""Training data streamed from disk: for data sets larger than memory."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.dataset import Collator
from farm.data_handler.processors.base import Processor
from farm.distributed import rank as global_rank
from farm.distributed import world_size
from farm.errors import DataFileError

logger = logging.getLogger(__name__)


def iter_dicts(processor: Processor, file: Path) -> Iterator[dict[str, Any]]:
    """The input dicts of one file: streamed if the processor can (``iter_dicts``), else
    read whole (then memory is bounded by the size of one shard)."""
    reader = getattr(processor, "iter_dicts", None)
    yield from reader(file) if reader is not None else processor.file_to_dicts(file)


class StreamingDataset(IterableDataset):
    """Batches made on the fly from a file or a folder of shard files.

    Each epoch reads the shards in a seeded random order; inputs are shuffled within a buffer
    of ``shuffle_buffer`` inputs, preprocessed a buffer at a time, grouped by length and
    batched. Inputs are dealt to processes (``torchrun``) and data-loader workers by position,
    so each input is used exactly once per epoch.

    Args:
        processor (Processor): Reads and featurizes the inputs.
        files (list[Path]): The shard files.
        batch_size (int): Samples per batch and process.
        n_samples (int): Inputs per epoch (counted beforehand).
        shuffle_buffer (int): Inputs shuffled and preprocessed together.
        seed (int): Seed of the shuffling (combined with the epoch).
    """

    def __init__(self, processor: Processor, files: list[Path], batch_size: int,
                 n_samples: int, shuffle_buffer: int = 10_000, seed: int = 42,
                 num_workers: int = 0):
        self.processor = processor
        self.files = files
        self.batch_size = batch_size
        self.n_samples = n_samples
        self.shuffle_buffer = max(shuffle_buffer, batch_size)
        self.seed = seed
        self.num_workers = num_workers
        self.epoch = 0
        self.replicas, self.rank = world_size(), global_rank()

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffling of ``epoch``."""
        self.epoch = epoch

    def _share(self, rank: int, worker: int) -> int:
        """Inputs dealt to one worker of one process."""
        per_rank = len(range(rank, self.n_samples, self.replicas))
        return len(range(worker, per_rank, max(self.num_workers, 1)))

    def _n_batches(self, rank: int) -> int:
        workers = range(max(self.num_workers, 1))
        return sum(math.ceil(self._share(rank, w) / self.batch_size) for w in workers)

    def __len__(self) -> int:
        # Every process must take the same number of steps: the smallest share decides.
        return min(self._n_batches(r) for r in range(self.replicas))

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        worker = get_worker_info()
        n_workers, worker_id = (worker.num_workers, worker.id) if worker else (1, 0)
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker_id])
        shard_order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.files))
        # Batches this worker may yield so that all processes take len(self) steps.
        own = math.ceil(self._share(self.rank, worker_id) / self.batch_size)
        budget = own - max(self._n_batches(self.rank) - len(self), 0) * (worker_id == 0)
        produced = 0
        buffer: list[dict[str, Any]] = []
        for position, item in enumerate(self._all_dicts(shard_order)):
            if position % self.replicas != self.rank:
                continue
            if (position // self.replicas) % n_workers != worker_id:
                continue
            buffer.append(item)
            if len(buffer) >= self.shuffle_buffer:
                buffer = [buffer[i] for i in rng.permutation(len(buffer))]
                full = len(buffer) - len(buffer) % self.batch_size
                for batch in self._batches(buffer[:full], rng):
                    if produced == budget:
                        return
                    produced += 1
                    yield batch
                buffer = buffer[full:]  # the rest waits for the next buffer
        for batch in self._batches(buffer, rng):
            if produced == budget:
                return
            produced += 1
            yield batch

    def _all_dicts(self, shard_order: np.ndarray) -> Iterator[dict[str, Any]]:
        for index in shard_order:
            yield from iter_dicts(self.processor, self.files[index])

    def _batches(self, dicts: list[dict[str, Any]], rng: np.random.Generator
                 ) -> Iterator[dict[str, torch.Tensor]]:
        """Preprocess one buffer and batch it, samples of similar length together."""
        if not dicts:
            return
        dataset = self.processor.dataset_from_dicts(dicts, log_sample=False)[0]
        order = np.argsort(-dataset.lengths, kind="stable")
        batches = [order[i : i + self.batch_size]
                   for i in range(0, len(order), self.batch_size)]
        collate = Collator(dataset.pad_values)
        for b in rng.permutation(len(batches)):
            yield collate([dataset[i] for i in batches[b]])


class StreamingDataSilo(DataSilo):
    """A data silo whose training data streams from disk instead of living in memory.

    ``train_filename`` (in ``data_dir``) names a file or a folder of shard files; training
    batches are preprocessed lazily (in ``dataloader_workers`` worker processes) as they are
    needed, so memory stays bounded by ``shuffle_buffer`` inputs. Dev and test sets are
    loaded into memory as by :class:`DataSilo` (a dev set is not split off streamed training
    data: give a dev file).

    Args:
        processor (Processor): Reads and featurizes the files.
        batch_size (int): Samples per training batch (and process, under ``torchrun``).
        eval_batch_size (int | None): Samples per dev/test batch.
        distributed (bool): Accepted for FARM compatibility; the stream is always dealt to the
            processes of a ``torchrun`` job.
        automatic_loading (bool): Prepare the loaders in the constructor.
        dataloader_workers (int): Worker processes that preprocess training batches.
        shuffle_buffer (int): Inputs shuffled (and preprocessed) together.
        seed (int): Seed of the shuffling.

    Example:
        >>> silo = StreamingDataSilo(processor, batch_size=32, dataloader_workers=2)
        >>> n_batches = len(silo.get_data_loader("train"))
    """

    def __init__(
        self,
        processor: Processor,
        batch_size: int,
        eval_batch_size: int | None = None,
        distributed: bool = False,
        automatic_loading: bool = True,
        dataloader_workers: int = 1,
        shuffle_buffer: int = 10_000,
        seed: int = 42,
    ):
        self.dataloader_workers = dataloader_workers
        self.shuffle_buffer = shuffle_buffer
        super().__init__(processor, batch_size, eval_batch_size=eval_batch_size,
                         distributed=distributed, automatic_loading=automatic_loading,
                         seed=seed)

    def load_data(self) -> None:
        """Count the training inputs and load dev and test sets."""
        files = self._files()
        train = files["train"]
        if train is None:
            raise DataFileError("StreamingDataSilo needs a train_filename (file or folder).")
        shards = sorted(p for p in train.iterdir() if p.is_file()) if train.is_dir() else [train]
        if not shards:
            raise DataFileError("the training folder holds no files.", file=train)
        n_samples = sum(1 for shard in shards for _ in iter_dicts(self.processor, shard))
        logger.info("Streaming %d training inputs from %d file(s)", n_samples, len(shards))
        self.train_stream = StreamingDataset(
            self.processor, shards, self.batch_size, n_samples, self.shuffle_buffer, self.seed,
            num_workers=self.dataloader_workers,
        )
        for split in ("dev", "test"):
            path = files[split]
            if path is not None:
                dicts = self.processor.file_to_dicts(path)
                self.data[split] = self.processor.dataset_from_dicts(dicts, log_sample=False)[0]
        self.counts["train"] = n_samples
        self._finish()
        self.loaders["train"] = DataLoader(
            self.train_stream, batch_size=None, num_workers=self.dataloader_workers,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def calculate_class_weights(self, task_name: str, source: str = "train") -> list[float]:
        """Not available for streamed training data (it is never all in memory)."""
        raise NotImplementedError(
            "calculate_class_weights needs the training data in memory; compute the weights "
            "from label counts of your files and pass class_weights= to the head."
        )
