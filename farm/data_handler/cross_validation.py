"""Cross-validation and repeated hold-out splits of a data silo's data."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
)

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.dataset import FeatureDataset
from farm.qa_features import NO_ANSWER_POSITION, PASSAGE_POSITION, QA_TASK_TYPE

logger = logging.getLogger(__name__)


class DataSiloForCrossVal(DataSilo):
    """One fold of a cross-validation: a data silo with its own train, dev and test sets.

    Build the folds with :meth:`make`; train one model per fold as with any data silo. Each
    set is a subset of the pooled data; its ``indices`` are the samples' positions in it.

    Example:
        >>> folds = DataSiloForCrossVal.make(data_silo, n_splits=5)
        >>> for fold in folds:
        ...     trainer = Trainer(model=..., data_silo=fold, ...)
    """

    def __init__(self, origsilo: DataSilo, trainset: FeatureDataset,
                 devset: FeatureDataset | None, testset: FeatureDataset | None):
        super().__init__(origsilo.processor, origsilo.batch_size,
                         eval_batch_size=origsilo.eval_batch_size,
                         distributed=origsilo.distributed, automatic_loading=False,
                         group_by_length=origsilo.group_by_length, seed=origsilo.seed)
        self.data = {"train": trainset, "dev": devset, "test": testset}
        self._finish()

    @classmethod
    def make(
        cls,
        datasilo: DataSilo,
        sets: Sequence[str] = ("train", "dev", "test"),
        n_splits: int = 5,
        shuffle: bool = True,
        random_state: int | None = None,
        stratified: bool = True,
        n_inner_splits: int | None = None,
        stratification: bool | None = None,
        n_neg_answers_per_question: int | None = 1,
    ) -> list[DataSiloForCrossVal]:
        """Split the union of ``sets`` into ``n_splits`` folds; each fold is the test set once.

        Args:
            datasilo (DataSilo): A loaded data silo.
            sets (Sequence[str]): Which of its sets to pool.
            n_splits (int): Number of folds.
            shuffle (bool): Shuffle before splitting.
            random_state (int | None): Seed of the shuffling (default: the silo's seed).
            stratified (bool): Keep the label ratio of the first task in every fold
                (classification).
            n_inner_splits (int | None): Nested cross-validation (FARM's): the training part
                of each fold is split again into ``n_inner_splits`` folds, each the dev set
                once, giving ``n_splits * n_inner_splits`` silos (those of outer fold ``i``
                at ``i * n_inner_splits ...``, sharing its test set). ``None``: one silo per
                fold, whose dev set is the processor's ``dev_split`` of its training part
                (no dev set if 0).
            stratification (bool | None): FARM's name for ``stratified``.
            n_neg_answers_per_question (int | None): Question answering only (as FARM): the
                training set of a fold keeps every passage holding an answer and at most
                this many random no-answer passages per question; ``None`` keeps all.

        Inputs of one group (a dataset's ``groups``, e.g. the passages of one QA document)
        always stay in the same fold.

        Returns:
            list[DataSiloForCrossVal]: One silo per fold (per inner fold when nested).
        """
        stratified = stratified if stratification is None else stratification
        data, labels, groups = _pool(datasilo, sets, stratified)
        seed = datasilo.seed if random_state is None else random_state
        splitter = _kfold(n_splits, labels, groups, shuffle, seed)
        folds = []
        for train_idx, test_idx in splitter.split(np.zeros(len(data)), labels, groups):
            for inner_train, dev_idx in _dev_parts(train_idx, labels, groups, n_inner_splits,
                                                   datasilo.processor.dev_split, shuffle, seed):
                inner_train = _limit_negatives(data, inner_train, datasilo,
                                               n_neg_answers_per_question, seed)
                folds.append(cls(datasilo, data.subset(inner_train),
                                 data.subset(dev_idx) if len(dev_idx) else None,
                                 data.subset(test_idx)))
        logger.info("Made %d folds of %d samples", len(folds), len(data))
        return folds


class DataSiloForHoldout(DataSiloForCrossVal):
    """Repeated random hold-out splits (train / test), each with a dev set from its train part.

    Example:
        >>> splits = DataSiloForHoldout.make(data_silo, n_splits=3, train_split=0.8)
    """

    @classmethod
    def make(  # type: ignore[override]
        cls,
        datasilo: DataSilo,
        sets: Sequence[str] = ("train", "dev", "test"),
        n_splits: int = 5,
        train_split: float = 0.8,
        random_state: int | None = None,
        stratified: bool = True,
        n_inner_splits: int | None = None,
        stratification: bool | None = None,
    ) -> list[DataSiloForCrossVal]:
        """``n_splits`` random splits with ``train_split`` of the pooled data for training.

        Arguments as for :meth:`DataSiloForCrossVal.make` (``stratification`` is FARM's name
        for ``stratified``; ``n_inner_splits`` gives ``n_splits * n_inner_splits`` silos).
        """
        stratified = stratified if stratification is None else stratification
        data, labels, groups = _pool(datasilo, sets, stratified)
        seed = datasilo.seed if random_state is None else random_state
        test_size = 1 - train_split
        if groups is not None:
            splitter: Any = GroupShuffleSplit(n_splits, test_size=test_size, random_state=seed)
        elif labels is not None:
            splitter = StratifiedShuffleSplit(n_splits, test_size=test_size, random_state=seed)
        else:
            splitter = ShuffleSplit(n_splits, test_size=test_size, random_state=seed)
        silos: list[DataSiloForCrossVal] = []
        for train_idx, test_idx in splitter.split(np.zeros(len(data)), labels, groups):
            for inner_train, dev_idx in _dev_parts(train_idx, labels, groups, n_inner_splits,
                                                   datasilo.processor.dev_split, True, seed):
                silos.append(cls(datasilo, data.subset(inner_train),
                                 data.subset(dev_idx) if len(dev_idx) else None,
                                 data.subset(test_idx)))
        return silos


def _kfold(n_splits: int, labels: np.ndarray | None, groups: np.ndarray | None,
           shuffle: bool, seed: int) -> Any:
    """The k-fold splitter: by group, stratified by label, or plain."""
    if groups is not None:
        return GroupKFold(n_splits=n_splits)
    if labels is not None:
        return StratifiedKFold(n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    return KFold(n_splits, shuffle=shuffle, random_state=seed if shuffle else None)


def _dev_parts(train_idx: np.ndarray, labels: np.ndarray | None, groups: np.ndarray | None,
               n_inner_splits: int | None, dev_split: float, shuffle: bool, seed: int
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, dev) parts of a fold's training indices: one per inner fold, or one
    split of ``dev_split``."""
    if not n_inner_splits:
        return [_split_dev(train_idx, labels, groups, dev_split, seed)]
    sub_labels = labels[train_idx] if labels is not None else None
    sub_groups = groups[train_idx] if groups is not None else None
    if sub_labels is not None and np.bincount(sub_labels)[np.bincount(sub_labels) > 0].min() < (
            n_inner_splits):
        sub_labels = None  # a class too small to appear in every inner fold
    inner = _kfold(n_inner_splits, sub_labels, sub_groups, shuffle, seed)
    return [(train_idx[a], train_idx[b]) for a, b in
            inner.split(np.zeros(len(train_idx)), sub_labels, sub_groups)]


def _limit_negatives(data: FeatureDataset, rows: np.ndarray, datasilo: DataSilo,
                     n_negatives: int | None, seed: int) -> np.ndarray:
    """Question answering: the passages of ``rows`` holding an answer, and at most
    ``n_negatives`` random no-answer passages of each question (FARM's
    ``n_neg_answers_per_question``). Other tasks: ``rows`` unchanged."""
    task = next((t for t in datasilo.processor.tasks.values()
                 if t.get("task_type") == QA_TASK_TYPE), None)
    if n_negatives is None or task is None or PASSAGE_POSITION not in data.features:
        return rows
    labels = data.features.get(task["label_tensor_name"])
    groups = data.groups
    if labels is None or groups is None:
        return rows
    keep: list[int] = []
    negatives: dict[tuple[int, int], list[int]] = {}
    for row in rows.tolist():
        if (labels[row][:2] != NO_ANSWER_POSITION).any():
            keep.append(row)  # an answer, an unlocated answer or no label: kept
        else:  # a question's passage is known by its document group and its basket
            key = (int(groups[row]), int(data.features[PASSAGE_POSITION][row][0]))
            negatives.setdefault(key, []).append(row)
    rng = np.random.default_rng(seed)
    for members in negatives.values():
        keep += rng.permutation(members)[:n_negatives].tolist()
    return np.sort(np.asarray(keep, dtype=np.int64))


def _pool(datasilo: DataSilo, sets: Sequence[str], stratified: bool
          ) -> tuple[FeatureDataset, np.ndarray | None, np.ndarray | None]:
    """The pooled samples, their labels for stratification, and their groups."""
    chosen = [datasilo.data[s] for s in sets if datasilo.data.get(s) is not None]
    if not chosen:
        raise ValueError(f"The data silo has none of the sets {list(sets)} loaded.")
    data = FeatureDataset.concat(chosen)  # type: ignore[arg-type]
    group_parts = [getattr(d, "groups", None) for d in chosen]
    groups = None
    if all(g is not None for g in group_parts):
        offset, shifted = 0, []
        for part in group_parts:  # keep groups of different sets apart
            shifted.append(np.asarray(part) + offset)
            offset = int(shifted[-1].max()) + 1 if len(shifted[-1]) else offset
        groups = np.concatenate(shifted)
    labels = None
    if stratified and groups is None:
        task = next(iter(datasilo.processor.tasks.values()), None)
        name = task["label_tensor_name"] if task else None
        values = data.features.get(name) if name else None
        if values is not None and all(len(v) == 1 for v in values):
            labels = np.concatenate(values)
            if labels.min() < 0:  # masked labels (multitask) cannot be stratified on
                labels = None
    return data, labels, groups


def _split_dev(train_idx: np.ndarray, labels: np.ndarray | None, groups: np.ndarray | None,
               share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Carve a dev set of ``share`` out of a fold's training indices."""
    if not share:
        return train_idx, np.array([], dtype=int)
    if groups is not None:
        splitter: Any = GroupShuffleSplit(1, test_size=share, random_state=seed)
    elif labels is not None and np.min(np.bincount(labels[train_idx])[
            np.bincount(labels[train_idx]) > 0]) >= 2:
        splitter = StratifiedShuffleSplit(1, test_size=share, random_state=seed)
    else:
        splitter = ShuffleSplit(1, test_size=share, random_state=seed)
    sub_labels = labels[train_idx] if labels is not None else None
    sub_groups = groups[train_idx] if groups is not None else None
    inner_train, inner_dev = next(splitter.split(np.zeros(len(train_idx)), sub_labels,
                                                 sub_groups))
    return train_idx[inner_train], train_idx[inner_dev]
