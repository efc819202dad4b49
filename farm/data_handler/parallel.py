"""Featurizing a large split in worker processes, with the same result as one process.

The fast tokenizer already spreads one batch over every core, so worker processes only pay
where a processor does much per-sample Python work (word alignment, windows, passages) and the
split is large. They are forked (so a user's script without a ``__main__`` guard is not run
again, and the processor needs no serialization), each works on one contiguous chunk of the
inputs with the tokenizer's own threads off (no oversubscription), and returns its features as
a few flat arrays. Chunks are joined in input order, so the features equal those of one
process exactly.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

import numpy as np

from farm.data_handler.dataset import FeatureDataset
from farm.errors import FarmError

logger = logging.getLogger(__name__)

#: Fewer inputs than this per worker are featurized in the calling process: starting workers
#: and shipping inputs and features between processes costs more than it saves.
MIN_INPUTS_PER_WORKER = 2000

# The processor the forked workers use (inherited from the parent at fork time).
_worker_processor: Any = None

FlatFeatures = tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, int]]


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def n_workers(processor: Any, n_inputs: int, max_processes: int, chunksize: int) -> int:
    """How many worker processes featurize ``n_inputs`` inputs (1: no workers)."""
    if not getattr(processor, "parallel_safe", False) or max_processes <= 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # spawned workers would re-run an unguarded user script
    by_size = n_inputs // MIN_INPUTS_PER_WORKER
    return max(1, min(max_processes, available_cores(), by_size, math.ceil(n_inputs / chunksize)))


def featurize(
    processor: Any, dicts: list[dict[str, Any]], max_processes: int = 128,
    chunksize: int = 2000, log_sample: bool = False,
) -> FeatureDataset:
    """``processor.dataset_from_dicts(dicts)[0]``, in worker processes where that pays.

    Args:
        processor (Any): A :class:`~farm.data_handler.processors.Processor`; only one whose
            ``parallel_safe`` is True (its features of an input depend on nothing but that
            input and its position) is run in workers.
        dicts (list[dict[str, Any]]): The inputs of one split.
        max_processes (int): Upper bound on worker processes (1: never use workers).
        chunksize (int): Inputs per chunk handed to a worker at a time.
        log_sample (bool): Log one preprocessed sample (done in this process).

    Returns:
        FeatureDataset: The features, in input order.
    """
    workers = n_workers(processor, len(dicts), max_processes, chunksize)
    if workers == 1:
        return processor.dataset_from_dicts(dicts, log_sample=log_sample)[0]
    processor.prepare(dicts)  # state learned from the whole split (e.g. a label scaler)
    size = math.ceil(len(dicts) / math.ceil(len(dicts) / chunksize))
    starts = range(0, len(dicts), size)
    logger.info("Featurizing %d inputs in %d worker processes (%d chunks)", len(dicts),
                workers, len(starts))
    if log_sample:
        processor.dataset_from_dicts(dicts[:1], log_sample=True)
    global _worker_processor
    _worker_processor = processor
    try:
        with _tokenizer_threads_off(), ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            parts = list(pool.map(_featurize_chunk, [(dicts[s : s + size], s) for s in starts]))
    except BrokenProcessPool as error:
        raise FarmError(
            "A preprocessing worker process died (killed, or out of memory?) while "
            f"featurizing {len(dicts)} inputs in {workers} processes. Pass max_processes=1 to "
            "the DataSilo to preprocess in this process, or a smaller "
            "max_multiprocessing_chunksize to use less memory per worker."
        ) from error
    finally:
        _worker_processor = None
    return FeatureDataset.concat([from_arrays(*part) for part in parts])


def _featurize_chunk(job: tuple[list[dict[str, Any]], int]) -> FlatFeatures:
    dicts, start = job
    dataset = _worker_processor.dataset_from_dicts(
        dicts, indices=list(range(start, start + len(dicts))), log_sample=False
    )[0]
    return to_arrays(dataset), dataset.pad_values


def to_arrays(dataset: FeatureDataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each feature as ``(values, lengths)``: all samples' arrays joined, and their lengths."""
    out = {}
    for name, values in dataset.features.items():
        lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
        out[name] = (np.concatenate(values) if values else np.zeros(0, np.int64), lengths)
    return out


def from_arrays(
    arrays: dict[str, tuple[np.ndarray, np.ndarray]], pad_values: dict[str, int]
) -> FeatureDataset:
    """Inverse of :func:`to_arrays` (the samples are views into the joined arrays)."""
    features = {
        name: np.split(values, np.cumsum(lengths)[:-1]) if len(lengths) else []
        for name, (values, lengths) in arrays.items()
    }
    return FeatureDataset(features, pad_values)


@contextmanager
def _tokenizer_threads_off() -> Iterator[None]:
    """Workers forked in this block tokenize on one thread each (and do not warn that the
    parent's tokenizer threads were used before the fork)."""
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TOKENIZERS_PARALLELISM"]
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = previous
