"""Cross-validation folds and hold-out splits of a data silo."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from farm.data_handler.cross_validation import DataSiloForCrossVal, DataSiloForHoldout
from farm.data_handler.data_silo import DataSilo
from farm.qa_features import PASSAGE_POSITION
from tests.farm_helpers import (
    make_model,
    make_processor,
    make_trainer,
    write_tsv,
)
from tests.qa_helpers import make_qa_processor, squad_articles, write_squad

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


def test_nested_folds_as_farm_made_them(silo: DataSilo) -> None:
    """FARM's nested cross-validation: n_splits x n_inner_splits silos; the silos of one
    outer fold share its test set, and their dev sets are the inner folds of its train part."""
    folds = DataSiloForCrossVal.make(silo, sets=["train", "test"], n_splits=4, n_inner_splits=5,
                                     stratification=True)
    assert len(folds) == 20
    for outer in range(4):
        group = folds[outer * 5 : outer * 5 + 5]
        test = group[0].data["test"].indices
        assert all(np.array_equal(f.data["test"].indices, test) for f in group)
        devs = [f.data["dev"].indices for f in group]
        assert all(len(d) == 12 for d in devs)
        assert sorted(np.concatenate(devs).tolist()) == sorted(
            set(range(80)) - set(test.tolist()))  # the inner folds partition the train part
        for fold in group:
            assert len(fold.data["train"]) == 48
            assert not ids(fold.data["dev"]) & ids(fold.data["train"])
            assert not ids(fold.data["test"]) & ids(fold.data["train"])
    assert not np.array_equal(folds[0].data["test"].indices, folds[5].data["test"].indices)


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


def test_holdout_takes_farms_stratification_argument(silo: DataSilo) -> None:
    stratified = DataSiloForHoldout.make(silo, sets=["train", "test"], n_splits=4,
                                         train_split=0.75, stratification=True)
    assert [positive_share(s.data["test"]) for s in stratified] == [0.25] * 4
    plain = DataSiloForHoldout.make(silo, sets=["train", "test"], n_splits=8, train_split=0.75,
                                    stratification=False, random_state=1)
    assert {positive_share(s.data["test"]) for s in plain} != {0.25}


def test_training_on_a_fold(silo: DataSilo, tiny_bert_dir: Path) -> None:
    fold = DataSiloForCrossVal.make(silo, sets=["train", "test"], n_splits=4,
                                    n_inner_splits=4)[0]
    trainer = make_trainer(make_model(tiny_bert_dir), fold, epochs=1, evaluate_every=5)
    trainer.train()
    assert trainer.test_result is not None and len(trainer.test_result) == 1


def test_question_answering_folds_keep_n_negative_passages_per_question(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    """FARM's n_neg_answers_per_question: a training fold keeps every passage with an answer
    and at most n no-answer passages per question; test folds keep all passages."""
    write_squad(tmp_path / "train.json", squad_articles(24, seed=4, fillers=(6, 12)))
    processor = make_qa_processor(tiny_bert_dir, tmp_path, dev_filename=None,
                                  test_filename=None, max_seq_len=48, doc_stride=12)
    qa_silo = DataSilo(processor, batch_size=4)
    train = qa_silo.data["train"]
    assert train is not None
    label = "question_answering_label_ids"

    def negatives_per_question(dataset) -> Counter[tuple[int, int]]:  # type: ignore[no-untyped-def]
        return Counter((int(dataset.groups[i]), int(dataset.features[PASSAGE_POSITION][i][0]))
                       for i in range(len(dataset)) if not dataset.features[label][i][:2].any())

    assert max(negatives_per_question(train).values()) > 2
    for n in (1, 2):
        folds = DataSiloForCrossVal.make(qa_silo, sets=["train"], n_splits=3,
                                         n_neg_answers_per_question=n)
        for fold in folds:
            fold_train, fold_test = fold.data["train"], fold.data["test"]
            assert max(negatives_per_question(fold_train).values()) == n
            kept = set(fold_train.indices.tolist())
            positives = {i for i in range(len(train)) if train.features[label][i][:2].any()}
            held_out = set(fold_test.indices.tolist())
            assert positives - held_out <= kept  # every answer passage of training documents
    everything = DataSiloForCrossVal.make(qa_silo, sets=["train"], n_splits=3,
                                          n_neg_answers_per_question=None)
    assert sum(len(f.data["train"]) for f in everything) == 2 * len(train)
