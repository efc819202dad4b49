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
from farm.data_handler.dataset import Collator, FeatureDataset
from farm.data_handler.processors.base import Processor
from farm.distributed import rank as global_rank
from farm.distributed import world_size
from farm.errors import DataFileError

logger = logging.getLogger(__name__)

#: Inputs counted together when the silo counts the samples of a stream.
COUNT_CHUNK = 1000
#: A last buffer of fewer inputs is preprocessed with the buffer before it (a processor may
#: need several inputs together, e.g. next-sentence negatives from another document).
MIN_TAIL = 2


def iter_dicts(processor: Processor, file: Path) -> Iterator[dict[str, Any]]:
    """The input dicts of one file: streamed if the processor can (``iter_dicts``), else
    read whole (then memory is bounded by the size of one shard)."""
    reader = getattr(processor, "iter_dicts", None)
    yield from reader(file) if reader is not None else processor.file_to_dicts(file)


def chunked(items: Iterator[Any], size: int) -> Iterator[tuple[list[Any], bool]]:
    """Lists of ``size`` items, each with whether it is the last; a last list shorter than
    ``MIN_TAIL`` is joined to the one before it (so at most ``size + MIN_TAIL`` items are
    held at a time)."""
    size = max(size, MIN_TAIL)
    held: list[Any] | None = None  # a full list, kept until we know a tail follows it
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if held is not None and len(chunk) >= MIN_TAIL:
            yield held, False
            held = None
        if len(chunk) == size:
            held, chunk = chunk, []
    if held is not None:
        yield held + chunk, True
    elif chunk:
        yield chunk, True


class StreamingDataset(IterableDataset):
    """Batches made on the fly from a file or a folder of shard files.

    Inputs are dealt to processes (``torchrun``) and data-loader workers by their position in
    the shards (in file order), so each gets the same inputs every epoch. Each epoch reads the
    shards in a seeded random order; a worker shuffles its inputs within a buffer of
    ``shuffle_buffer`` inputs and preprocesses a buffer at a time. The samples they yield (an
    input may yield several: the passages of a QA document, the sequences of an LM
    document) are shuffled, grouped by length and batched; samples short of a full batch
    wait for the next buffer, so every sample is used once per epoch and a worker yields
    ``ceil(its samples / batch_size)`` batches.

    Args:
        processor (Processor): Reads and featurizes the inputs.
        files (list[Path]): The shard files.
        batch_size (int): Samples per batch and process.
        shard_sizes (list[int]): Inputs per shard (counted beforehand).
        sample_counts (np.ndarray | None): Samples of each input, in shard order (counted
            beforehand with ``processor.samples_per_input``); None: one sample per input.
        shuffle_buffer (int): Inputs shuffled and preprocessed together.
        seed (int): Seed of the shuffling (combined with the epoch).
        num_workers (int): Data-loader workers the inputs are dealt to.
    """

    def __init__(self, processor: Processor, files: list[Path], batch_size: int,
                 shard_sizes: list[int], sample_counts: np.ndarray | None = None,
                 shuffle_buffer: int = 10_000, seed: int = 42, num_workers: int = 0):
        if len(shard_sizes) != len(files):
            raise ValueError(f"{len(shard_sizes)} shard sizes for {len(files)} files.")
        self.processor = processor
        self.files = files
        self.batch_size = batch_size
        self.shard_sizes = list(shard_sizes)
        self.n_inputs = sum(shard_sizes)
        if sample_counts is not None and len(sample_counts) != self.n_inputs:
            raise ValueError(f"{len(sample_counts)} sample counts for {self.n_inputs} inputs.")
        self.sample_counts = sample_counts
        self.shuffle_buffer = max(shuffle_buffer, batch_size)
        self.seed = seed
        self.num_workers = num_workers
        self.epoch = 0
        self.replicas, self.rank = world_size(), global_rank()

    @property
    def n_samples(self) -> int:
        """Samples per epoch, over all processes."""
        return self.n_inputs if self.sample_counts is None else int(self.sample_counts.sum())

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffling of ``epoch``."""
        self.epoch = epoch

    def _share(self, rank: int, worker: int) -> int:
        """Samples of the inputs dealt to one worker of one process."""
        workers = max(self.num_workers, 1)
        if self.sample_counts is None:
            per_rank = len(range(rank, self.n_inputs, self.replicas))
            return len(range(worker, per_rank, workers))
        return int(self.sample_counts[rank :: self.replicas][worker::workers].sum())

    def _own_batches(self, rank: int) -> list[int]:
        return [math.ceil(self._share(rank, w) / self.batch_size)
                for w in range(max(self.num_workers, 1))]

    def __len__(self) -> int:
        # Every process must take the same number of steps: the smallest share decides.
        return min(sum(self._own_batches(r)) for r in range(self.replicas))

    def _budget(self, worker: int) -> int:
        """Batches one worker of this process yields: its own, less its part of the excess
        over the smallest process's count (taken from the first workers)."""
        own = self._own_batches(self.rank)
        excess = sum(own) - len(self)
        for w in range(worker):
            excess -= min(excess, own[w])
        return own[worker] - min(excess, own[worker])

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        worker = get_worker_info()
        n_workers, worker_id = (worker.num_workers, worker.id) if worker else (1, 0)
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker_id])
        budget = self._budget(worker_id)
        produced = 0
        while produced < budget:
            before = produced
            for batch in self._worker_batches(worker_id, n_workers, rng):
                if produced == budget:
                    return
                produced += 1
                yield batch
            if produced == before:
                return
            if produced < budget:  # the inputs gave fewer samples than counted beforehand
                logger.warning(
                    "The stream gave %d of the %d batches counted for this epoch (worker %d); "
                    "the rest are taken from its inputs again.", produced, budget, worker_id)

    def _worker_batches(self, worker_id: int, n_workers: int, rng: np.random.Generator
                        ) -> Iterator[dict[str, torch.Tensor]]:
        """One pass over this worker's inputs: full batches as buffers are preprocessed, the
        remaining samples (at most one partial batch) at the end."""
        waiting: FeatureDataset | None = None  # samples short of a full batch
        for buffer, last in chunked(self._own_dicts(worker_id, n_workers), self.shuffle_buffer):
            buffer = [buffer[i] for i in rng.permutation(len(buffer))]
            dataset = self.processor.dataset_from_dicts(buffer, log_sample=False)[0]
            if waiting is None or not len(dataset):  # a buffer may give no samples at all
                pool = dataset if waiting is None else waiting
            else:
                pool = FeatureDataset.concat([waiting, dataset])
            order = rng.permutation(len(pool))
            n_used = len(pool) if last else len(pool) - len(pool) % self.batch_size
            yield from self._batches(pool, order[:n_used], rng)
            waiting = pool.subset(order[n_used:]) if n_used < len(pool) else None

    def _own_dicts(self, worker_id: int, n_workers: int) -> Iterator[dict[str, Any]]:
        """This worker's inputs, shards in the epoch's order; an input's place in the shards
        (in file order) decides which process and worker it belongs to."""
        starts = np.concatenate([[0], np.cumsum(self.shard_sizes)])
        shard_order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.files))
        for index in shard_order:
            for offset, item in enumerate(iter_dicts(self.processor, self.files[index])):
                position = int(starts[index]) + offset
                if position % self.replicas != self.rank:
                    continue
                if (position // self.replicas) % n_workers == worker_id:
                    yield item

    def _batches(self, dataset: FeatureDataset, rows: np.ndarray, rng: np.random.Generator
                 ) -> Iterator[dict[str, torch.Tensor]]:
        """Batches of the samples at ``rows``, samples of similar length together, in random
        order."""
        if not len(rows):
            return
        rows = rows[np.argsort(-dataset.lengths[rows], kind="stable")]
        batches = [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        collate = Collator(dataset.pad_values)
        for b in rng.permutation(len(batches)):
            yield collate([dataset[int(i)] for i in batches[b]])


class StreamingDataSilo(DataSilo):
    """A data silo whose training data streams from disk instead of living in memory.

    ``train_filename`` (in ``data_dir``) names a file or a folder of shard files; training
    batches are preprocessed lazily (in ``dataloader_workers`` worker processes) as they are
    needed, so memory stays bounded by ``shuffle_buffer`` inputs. Before training, the silo
    reads the stream once and counts the samples its inputs yield
    (``processor.samples_per_input``), so an epoch has as many samples as a :class:`DataSilo`
    of the same data (an LM document or a QA document yields several). Dev and test sets are
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
        """Count the training inputs and their samples, and load dev and test sets."""
        files = self._files()
        train = files["train"]
        if train is None:
            raise DataFileError("StreamingDataSilo needs a train_filename (file or folder).")
        shards = sorted(p for p in train.iterdir() if p.is_file()) if train.is_dir() else [train]
        if not shards:
            raise DataFileError("the training folder holds no files.", file=train)
        shard_sizes, sample_counts = self._count(shards)
        self.train_stream = StreamingDataset(
            self.processor, shards, self.batch_size, shard_sizes, sample_counts,
            self.shuffle_buffer, self.seed, num_workers=self.dataloader_workers,
        )
        logger.info("Streaming %d training inputs (%d samples) from %d file(s)",
                    sum(shard_sizes), self.train_stream.n_samples, len(shards))
        for split in ("dev", "test"):
            path = files[split]
            if path is not None:
                dicts = self.processor.file_to_dicts(path)
                self.data[split] = self.processor.dataset_from_dicts(dicts, log_sample=False)[0]
        self.counts["train"] = self.train_stream.n_samples
        self._finish()
        self.loaders["train"] = DataLoader(
            self.train_stream, batch_size=None, num_workers=self.dataloader_workers,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def _count(self, shards: list[Path]) -> tuple[list[int], np.ndarray | None]:
        """Inputs per shard, and samples per input (None if each input is one sample)."""
        shard_sizes: list[int] = []
        counts: list[np.ndarray] = []
        for shard in shards:
            n_inputs = 0
            for chunk, _ in chunked(iter_dicts(self.processor, shard), COUNT_CHUNK):
                n_inputs += len(chunk)
                counts.append(np.asarray(self.processor.samples_per_input(chunk), np.int32))
            shard_sizes.append(n_inputs)
        sample_counts = np.concatenate(counts) if counts else np.zeros(0, np.int32)
        if len(sample_counts) and (sample_counts == 1).all():
            return shard_sizes, None
        return shard_sizes, sample_counts

    def calculate_class_weights(self, task_name: str, source: str = "train") -> list[float]:
        """Not available for streamed training data (it is never all in memory)."""
        raise NotImplementedError(
            "calculate_class_weights needs the training data in memory; compute the weights "
            "from label counts of your files and pass class_weights= to the head."
        )
