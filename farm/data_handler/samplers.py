"""Training batches: random, length-grouped, resumable and sharded across processes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class TrainBatchSampler(Sampler[list[int]]):
    """Batches of sample indices for one epoch, a pure function of ``(seed, epoch)``.

    With ``group_by_length`` samples are shuffled, cut into groups of ``group_batches``
    global batches, sorted by length inside each group and cut into batches, whose order is
    then shuffled: little padding, random order. Without it, batches are a plain shuffle.

    Under distributed training each of the ``num_replicas`` processes gets its share
    (``rank``) of every *global* batch of ``batch_size * num_replicas`` samples, so the
    processes together see exactly the batches one process with the global batch size sees.

    Because the batches depend only on seed and epoch, a resumed run skips the batches it has
    already trained on (:meth:`set_start`) without loading them.

    Args:
        lengths (Sequence[int] | np.ndarray): Token count of each sample.
        batch_size (int): Samples per batch and process.
        seed (int): Seed of the shuffling.
        group_by_length (bool): Group samples of similar length into batches.
        group_batches (int): How many global batches one length-sorted group spans.
        drop_last (bool): Drop a last, smaller global batch.
        num_replicas (int): Number of processes sharing each global batch.
        rank (int): This process's share.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int,
        seed: int = 42,
        group_by_length: bool = True,
        group_batches: int = 50,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas}).")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.group_batches = group_batches
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffling of ``epoch`` (each epoch gets different batches)."""
        self.epoch = epoch

    def set_start(self, batch_index: int) -> None:
        """Begin the next iteration at batch ``batch_index`` of the epoch (to resume)."""
        self.start = batch_index

    def global_batches(self) -> list[np.ndarray]:
        """All global batches of the current epoch, in order."""
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        size = self.batch_size * self.num_replicas
        if self.group_by_length:
            group = size * self.group_batches
            for begin in range(0, len(order), group):
                chunk = order[begin : begin + group]
                longest_first = np.argsort(-self.lengths[chunk], kind="stable")
                order[begin : begin + group] = chunk[longest_first]
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        if batches and len(batches[-1]) < (size if self.drop_last else self.num_replicas):
            batches.pop()  # too small to give every process a sample
        if self.group_by_length:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        start, self.start = self.start, 0
        for batch in self.global_batches()[start:]:
            yield np.array_split(batch, self.num_replicas)[self.rank].tolist()

    def __len__(self) -> int:
        size = self.batch_size * self.num_replicas
        full, rest = divmod(len(self.lengths), size)
        keep_rest = rest >= (size if self.drop_last else self.num_replicas)
        return full + int(keep_rest)


def length_sorted_batches(lengths: Sequence[int] | np.ndarray, max_tokens: int) -> list[np.ndarray]:
    """Sample indices sorted by length, cut into batches of at most ``max_tokens`` padded
    tokens (samples × longest sample; a longer sample is a batch of its own).

    Args:
        lengths (Sequence[int] | np.ndarray): Token count of each sample.
        max_tokens (int): Budget of padded tokens per batch.

    Returns:
        list[np.ndarray]: The batches, shortest samples first; together they hold every index
        once.
    """
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    batches, begin = [], 0
    for end, index in enumerate(order):
        # Sorted ascending, so the newest sample is the batch's longest.
        if end > begin and (end - begin + 1) * lengths[index] > max_tokens:
            batches.append(order[begin:end])
            begin = end
    if begin < len(order):
        batches.append(order[begin:])
    return batches
