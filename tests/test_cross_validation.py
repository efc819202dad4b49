"""Cross-validation folds and hold-out splits of a data silo."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from farm.data_handler.cross_validation import DataSiloForCrossVal, DataSiloForHoldout
from farm.data_handler.data_silo import DataSilo
from tests.farm_helpers import (
    make_model,
    make_processor,
    make_trainer,
    write_tsv,
)

LABEL_IDS = "text_classification_label_ids"


@pytest.fixture(scope="module")
def silo(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> DataSilo:
    """60 train + 20 test inputs, 25% positive, with unique texts."""
    data_dir = tmp_path_factory.mktemp("data")
    rows = [(f"review number {i} of the film", "positive" if i % 4 == 0 else "negative")
            for i in range(80)]
    write_tsv(data_dir / "train.tsv", rows[:60])
    write_tsv(data_dir / "test.tsv", rows[60:])
    return DataSilo(make_processor(tiny_bert_dir, data_dir, dev_split=0.0), batch_size=4)


def ids(dataset) -> set[tuple[int, ...]]:  # type: ignore[no-untyped-def]
    return {tuple(x.tolist()) for x in dataset.features["input_ids"]}


def positive_share(dataset) -> float:  # type: ignore[no-untyped-def]
    labels = np.concatenate(dataset.features[LABEL_IDS])
    return float((labels == 1).mean())


def test_folds_partition_the_pooled_data(silo: DataSilo) -> None:
    folds = DataSiloForCrossVal.make(silo, sets=["train", "test"], n_splits=4)
    assert len(folds) == 4
    tests = [ids(f.data["test"]) for f in folds]
    assert [len(t) for t in tests] == [20, 20, 20, 20]
    assert set().union(*tests) == ids(silo.data["train"]) | ids(silo.data["test"])
    for fold, test in zip(folds, tests, strict=True):
        assert not ids(fold.data["train"]) & test
        assert len(fold.data["train"]) == 60 and fold.data["dev"] is None
        assert len(fold.get_data_loader("train")) == 15


def test_stratified_folds_keep_the_label_ratio(silo: DataSilo) -> None:
    folds = DataSiloForCrossVal.make(silo, sets=["train", "test"], n_splits=4, stratified=True)
    assert [positive_share(f.data["test"]) for f in folds] == [0.25] * 4


def test_inner_dev_split(silo: DataSilo) -> None:
    folds = DataSiloForCrossVal.make(silo, sets=["train", "test"], n_splits=4, n_inner_splits=5)
    for fold in folds:
        assert len(fold.data["dev"]) == 12 and len(fold.data["train"]) == 48
        assert not ids(fold.data["dev"]) & ids(fold.data["train"])


def test_groups_stay_in_one_fold(silo: DataSilo) -> None:
    train = silo.data["train"]
    train.groups = np.arange(len(train)) // 3  # e.g. passages of one document
    try:
        folds = DataSiloForCrossVal.make(silo, sets=["train"], n_splits=5)
        for fold in folds:
            test_groups = Counter(
                int(train.groups[i]) for i, x in enumerate(train.features["input_ids"])
                if tuple(x.tolist()) in ids(fold.data["test"])
            )
            assert set(test_groups.values()) == {3}
    finally:
        del train.groups


def test_holdout_splits(silo: DataSilo) -> None:
    splits = DataSiloForHoldout.make(silo, sets=["train", "test"], n_splits=3, train_split=0.75)
    assert len(splits) == 3
    assert all(len(s.data["test"]) == 20 and len(s.data["train"]) == 60 for s in splits)
    assert ids(splits[0].data["test"]) != ids(splits[1].data["test"])


def test_training_on_a_fold(silo: DataSilo, tiny_bert_dir: Path) -> None:
    fold = DataSiloForCrossVal.make(silo, sets=["train", "test"], n_splits=4,
                                    n_inner_splits=4)[0]
    trainer = make_trainer(make_model(tiny_bert_dir), fold, epochs=1, evaluate_every=5)
    trainer.train()
    assert trainer.test_result is not None and len(trainer.test_result) == 1
