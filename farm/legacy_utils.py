"""FARM 0.8's helpers from ``farm.utils`` that the rest of this FARM does not need, kept
working for code that calls them (``farm.utils`` re-exports every name)."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import signal
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from farm.compat import warn_once
from farm.data_handler.parallel import available_cores
from farm.tracking import Tracker
from farm.visual.ascii.images import WORKER_F, WORKER_M, WORKER_X

logger = logging.getLogger(__name__)


def calc_chunksize(num_dicts: int, min_chunksize: int = 4, max_chunksize: int = 2000,
                   max_processes: int = 128) -> tuple[int, int]:
    """FARM's split of ``num_dicts`` inputs over worker processes: about five chunks per
    core (one core kept free on machines with more than three), never a chunk of a single
    left-over input (LM next-sentence pairs need two documents).

    Returns:
        tuple[int, int]: Inputs per chunk and number of processes.
    """
    cores = available_cores()
    n_cpus = max(min(cores - 1 if cores > 3 else cores, max_processes), 1)
    per_cpu = math.ceil(num_dicts / n_cpus)
    chunksize = int(np.clip(math.ceil(per_cpu / 5), min_chunksize, max_chunksize))
    while num_dicts > 1 and num_dicts % chunksize == 1:
        chunksize += 1
    n_processes = min(n_cpus, num_dicts // chunksize) or 1
    return chunksize, n_processes


class BaseMLLogger(Tracker):
    """FARM's base class of experiment loggers: a :class:`~farm.tracking.Tracker` that takes
    FARM's ``tracking_uri``. Subclass it (or ``Tracker``) for your own tracker."""

    def __init__(self, tracking_uri: str | None = None, **kwargs: Any):
        self.tracking_uri = tracking_uri


class GracefulKiller:
    """Sets ``kill_now`` when the process receives SIGTERM (FARM's helper for spot
    instances; ``Trainer(checkpoint_on_sigterm=True)`` does this for training)."""

    kill_now = False

    def __init__(self) -> None:
        signal.signal(signal.SIGTERM, self.exit_gracefully)

    def exit_gracefully(self, signum: int, frame: FrameType | None) -> None:
        self.kill_now = True


def to_numpy(container: Any) -> Any:
    """A tensor as a NumPy array; anything else unchanged."""
    if isinstance(container, torch.Tensor):
        return container.detach().cpu().numpy()
    return container


def convert_iob_to_simple_tags(preds: Sequence[str], spans: Sequence[tuple[int, int]]
                               ) -> tuple[list[str], list[tuple[int, int]]]:
    """Merge token-level IOB tags into entities: ``["B-PER", "I-PER", "O"]`` with the
    tokens' spans gives ``(["PER"], [(start of first, end of second)])``. An ``I-`` tag that
    does not continue an entity of its type closes the open one."""
    tags: list[str] = []
    merged: list[tuple[int, int]] = []
    open_tag: str | None = None
    for pred, span in zip(preds, spans, strict=True):
        kind, _, label = pred.partition("-")
        if kind == "B":
            tags.append(label)
            merged.append((span[0], span[1]))
            open_tag = label
        elif kind == "I" and open_tag == label:
            merged[-1] = (merged[-1][0], span[1])
        else:
            open_tag = None
    return tags, merged


def flatten_list(nested_list: Iterable[Any]) -> Iterator[Any]:
    """The items of an arbitrarily nested list, in order (iteratively, no recursion)."""
    stack_: list[Iterator[Any]] = [iter(nested_list)]
    while stack_:
        for item in stack_[-1]:
            if isinstance(item, list):
                stack_.append(iter(item))
                break
            yield item
        else:
            stack_.pop()


def get_dict_checksum(payload_dict: dict[str, Any]) -> str:
    """MD5 hex digest of a dict's JSON (keys sorted): a cache key, not a security check."""
    text = json.dumps(payload_dict, sort_keys=True, default=str)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def try_get(keys: Iterable[str], dictionary: dict[str, Any]) -> Any:
    """The value of the first of ``keys`` in ``dictionary`` (a list's first item); None if
    none is there."""
    for key in keys:
        if key in dictionary:
            value = dictionary[key]
            return value[0] if isinstance(value, list) and value else value
    return None


def stack(list_of_lists: Sequence[Sequence[Sequence[Any]]]) -> list[list[Any]]:
    """Join per-part lists across items: ``[[a1, b1], [a2, b2]]`` → ``[a1 + a2, b1 + b2]``."""
    joined: list[list[Any]] = [[] for _ in list_of_lists[0]]
    for parts in list_of_lists:
        for i, part in enumerate(parts):
            joined[i] += part
    return joined


def all_reduce(tensor: torch.Tensor, group: Any = None) -> Any:
    """Sum ``tensor`` over the processes of a ``torchrun`` job, in place (a no-op in a
    single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return dist.all_reduce(tensor, group=group)


def all_gather_list(data: Any, group: Any = None, max_size: int = 16384) -> list[Any]:
    """Every process's ``data`` (picklable objects of the processes of this job), in rank
    order; ``[data]`` in a single process. ``max_size`` is not needed any more."""
    if max_size != 16384:
        warn_once("all_gather_list(max_size=...)", "buffers are sized by the data")
    if not (dist.is_available() and dist.is_initialized()):
        return [data]
    gathered: list[Any] = [None] * dist.get_world_size(group)
    dist.all_gather_object(gathered, data, group=group)
    return gathered


class Benchmarker:
    """FARM's timer of an inferencer's stages: call :meth:`record` with ``"init"``,
    ``"dataset_single_proc"`` and ``"formatted_preds"``; :meth:`summary` gives the seconds
    of preprocessing and of the model."""

    def __init__(self) -> None:
        self.timing: dict[str, float] = {}
        self.record("init")

    def record(self, name: str) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.timing[name] = time.perf_counter()

    def calc_duration(self, start: float, end: float) -> float:
        return end - start

    def summary(self) -> tuple[float, float]:
        t = self.timing
        return (self.calc_duration(t["init"], t["dataset_single_proc"]),
                self.calc_duration(t["dataset_single_proc"], t["formatted_preds"]))


def log_ascii_workers(n: int, logger: logging.Logger) -> None:
    """Log ``n`` little workers side by side."""
    pictures = [WORKER_M, WORKER_F, WORKER_X]
    rows = [pictures[i % 3].strip("\n").split("\n") for i in range(n)]
    for line in zip(*rows, strict=False):
        logger.info("  ".join(part.ljust(4) for part in line))


def format_log(ascii: str, logger: logging.Logger) -> None:
    """Log an ASCII picture line by line."""
    for line in ascii.split("\n"):
        logger.info(line)


def reformat_msmarco_train(filename: str | Path, output_filename: str | Path) -> None:
    """MS MARCO training triples (TSV ``query, positive, negative``, no header) as a
    text-pair TSV ``text, text_b, label`` (1 relevant, 0 not)."""
    with Path(filename).open(encoding="utf-8", newline="") as source, \
            Path(output_filename).open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["text", "text_b", "label"])
        for row in csv.reader(source, delimiter="\t", quoting=csv.QUOTE_NONE):
            writer.writerow([row[0], row[1], 1])
            writer.writerow([row[0], row[2], 0])


def reformat_msmarco_dev(queries_filename: str | Path, passages_filename: str | Path,
                         qrels_filename: str | Path, top1000_filename: str | Path,
                         output_filename: str | Path) -> None:
    """MS MARCO's dev files (queries, passages, qrels, top-1000 candidates) as one TSV of
    ``qid, text, pid, text_b, label`` rows: each query with each of its candidates."""
    def table(path: str | Path) -> list[list[str]]:
        with Path(path).open(encoding="utf-8", newline="") as handle:
            return [row for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                    if row]

    queries = {row[0]: row[1] for row in table(queries_filename)}
    passages = {row[0]: row[1] for row in table(passages_filename)}
    relevant: dict[str, set[str]] = {}
    for row in table(qrels_filename):
        relevant.setdefault(row[0], set()).add(row[2])
    with Path(output_filename).open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["qid", "text", "pid", "text_b", "label"])
        for row in table(top1000_filename):
            qid, pid = row[0], row[1]
            writer.writerow([qid, queries[qid], pid, passages[pid],
                             int(pid in relevant.get(qid, set()))])


def write_msmarco_results(results: Iterable[dict[str, Any]], output_filename: str | Path
                          ) -> None:
    """One relevance score per line from text-pair classification results: the probability
    of label ``"1"``."""
    with Path(output_filename).open("w", encoding="utf-8") as out:
        for result in results:
            for pred in result["predictions"]:
                probability = float(pred["probability"])
                out.write(f"{probability if str(pred['label']) == '1' else 1 - probability}\n")
