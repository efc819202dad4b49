"""DataSilo (loaders, dev split, class weights, cache) and the batching building blocks."""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from sklearn.utils.class_weight import compute_class_weight
from transformers import PreTrainedTokenizerBase

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.dataset import (
    LABEL_PAD_VALUE,
    Collator,
    FeatureDataset,
)
from farm.data_handler.processor import TextClassificationProcessor
from farm.data_handler.samplers import TrainBatchSampler, length_sorted_batches
from farm.errors import FarmError
from farm.modeling.tokenization import Tokenizer
from tests.tiny_models import CORPUS

LABEL_IDS = "text_classification_label_ids"
TEXTS = list(dict.fromkeys(t.lower() for t in CORPUS))  # unique also after lower-casing


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir: Path) -> PreTrainedTokenizerBase:
    """The tiny lower-casing BERT tokenizer."""
    return Tokenizer.load(tiny_bert_dir)


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> Path:
    """Write ``(text, label)`` rows as a TSV file with a header."""
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in rows))
    return path


def make_processor(
    tokenizer: PreTrainedTokenizerBase, data_dir: Path, **kwargs: Any
) -> TextClassificationProcessor:
    """A processor over ``data_dir`` with labels neg/pos and no dev/test file by default."""
    options: dict[str, Any] = {
        "label_list": ["neg", "pos"],
        "metric": "acc",
        "max_seq_len": 64,
        "test_filename": None,
    }
    options.update(kwargs)
    return TextClassificationProcessor(tokenizer=tokenizer, data_dir=data_dir, **options)


def rows(n: int, start: int = 0, labels: tuple[str, ...] = ("neg", "pos")) -> list[tuple[str, str]]:
    """``n`` distinct texts from the corpus with labels cycling through ``labels``."""
    return [(TEXTS[start + i], labels[i % len(labels)]) for i in range(n)]


def ids_by_text(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> dict[tuple, str]:
    """Map the input ids of each text (as the tokenizer makes them) back to the text."""
    return {tuple(tokenizer(t)["input_ids"]): t for t in texts}


def texts_of(dataset: FeatureDataset, lookup: dict[tuple, str]) -> list[str]:
    """The texts a dataset was made from, in dataset order."""
    return [lookup[tuple(dataset[i]["input_ids"].tolist())] for i in range(len(dataset))]


# ---- loaders and batches -------------------------------------------------------------------


def test_loaders_for_each_split_and_batch_counts(tokenizer, tmp_path):
    """Each split gets a loader; the number of batches is ceil(n / batch_size)."""
    write_tsv(tmp_path / "train.tsv", rows(23))
    write_tsv(tmp_path / "dev.tsv", rows(7, start=23))
    write_tsv(tmp_path / "test.tsv", rows(5, start=30))
    processor = make_processor(
        tokenizer, tmp_path, dev_filename="dev.tsv", test_filename="test.tsv"
    )
    silo = DataSilo(processor, batch_size=4, eval_batch_size=3)
    assert silo.counts == {"train": 23, "dev": 7, "test": 5}
    assert len(silo.loaders["train"]) == math.ceil(23 / 4) == 6
    assert len(silo.loaders["dev"]) == math.ceil(7 / 3)
    assert len(silo.loaders["test"]) == math.ceil(5 / 3)
    for split in ("train", "dev", "test"):
        assert silo.get_data_loader(split) is silo.loaders[split]
    with pytest.raises(KeyError, match="Unknown split 'validation'"):
        silo.get_data_loader("validation")

    train_batches = list(silo.loaders["train"])
    assert len(train_batches) == 6
    assert sorted(len(b["input_ids"]) for b in train_batches) == [3, 4, 4, 4, 4, 4]
    dev_sizes = [len(b["input_ids"]) for b in silo.loaders["dev"]]
    assert dev_sizes == [3, 3, 1]  # eval_batch_size honoured


def test_eval_batch_size_defaults_to_batch_size(tokenizer, tmp_path):
    """Without eval_batch_size, dev and test batches use batch_size."""
    write_tsv(tmp_path / "train.tsv", rows(10))
    write_tsv(tmp_path / "test.tsv", rows(9, start=10))
    silo = DataSilo(
        make_processor(tokenizer, tmp_path, test_filename="test.tsv", dev_split=0), batch_size=4
    )
    assert [len(b["input_ids"]) for b in silo.loaders["test"]] == [4, 4, 1]
    assert silo.loaders["dev"] is None


def test_every_train_sample_once_per_epoch(tokenizer, tmp_path):
    """The training loader yields every sample exactly once per epoch, with its label."""
    data = rows(23)
    write_tsv(tmp_path / "train.tsv", data)
    silo = DataSilo(make_processor(tokenizer, tmp_path, dev_split=0), batch_size=4)
    lookup = ids_by_text(tokenizer, [t for t, _ in data])
    label_of = {t: ["neg", "pos"].index(label) for t, label in data}
    seen = []
    for batch in silo.loaders["train"]:
        for ids, mask, label in zip(
            batch["input_ids"], batch["padding_mask"], batch[LABEL_IDS], strict=True
        ):
            text = lookup[tuple(ids[mask.bool()].tolist())]
            assert label.tolist() == [label_of[text]]
            seen.append(text)
    assert sorted(seen) == sorted(t for t, _ in data)


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_batches_are_padded_to_their_longest_sample(tiny_model_factory, tmp_path, arch):
    """Each batch is as wide as its longest sample, padded with the tokenizer's pad id."""
    tokenizer = Tokenizer.load(tiny_model_factory(arch))
    data = rows(40)
    write_tsv(tmp_path / "train.tsv", data)
    write_tsv(tmp_path / "test.tsv", rows(9, start=40))
    processor = make_processor(
        tokenizer, tmp_path, test_filename="test.tsv", dev_split=0, max_seq_len=128
    )
    silo = DataSilo(processor, batch_size=5, eval_batch_size=3)
    lengths = {len(tokenizer(t)["input_ids"]) for t, _ in data}
    assert max(lengths) < 128 and len(lengths) > 5
    widths = set()
    for split in ("train", "test"):
        for batch in silo.loaders[split]:
            mask = batch["padding_mask"]
            real = mask.sum(dim=1)
            assert batch["input_ids"].shape == mask.shape == batch["segment_ids"].shape
            assert batch["input_ids"].shape[1] == int(real.max())  # not max_seq_len
            widths.add(batch["input_ids"].shape[1])
            for row, n in enumerate(real.tolist()):
                assert mask[row, :n].eq(1).all() and mask[row, n:].eq(0).all()
                assert batch["input_ids"][row, n:].eq(tokenizer.pad_token_id).all()
                assert batch["input_ids"][row, n - 1] == tokenizer.sep_token_id
                assert batch["segment_ids"][row, n:].eq(0).all()
            assert batch[LABEL_IDS].shape == (len(real), 1)
    assert len(widths) > 1, "all batches equally wide: padded to a global length?"
    if arch == "roberta":
        assert tokenizer.pad_token_id == 1  # a pad id that differs from the default 0


def test_dev_and_test_loaders_keep_file_order(tokenizer, tmp_path):
    """Evaluation batches follow the file order (predictions line up with the rows)."""
    write_tsv(tmp_path / "train.tsv", rows(8))
    test = rows(7, start=8)
    write_tsv(tmp_path / "test.tsv", test)
    silo = DataSilo(
        make_processor(tokenizer, tmp_path, test_filename="test.tsv"),
        batch_size=2,
        eval_batch_size=3,
    )
    lookup = ids_by_text(tokenizer, [t for t, _ in test])
    order = [
        lookup[tuple(ids[mask.bool()].tolist())]
        for batch in silo.loaders["test"]
        for ids, mask in zip(batch["input_ids"], batch["padding_mask"], strict=True)
    ]
    assert order == [t for t, _ in test]


# ---- dev split -----------------------------------------------------------------------------


def dev_split_silo(tokenizer, data_dir: Path, seed: int, **kwargs: Any) -> DataSilo:
    """A silo that splits the dev set off ``train.tsv`` in ``data_dir``."""
    processor = make_processor(tokenizer, data_dir, **kwargs)
    return DataSilo(processor, batch_size=4, seed=seed)


def test_dev_split_carves_dev_out_of_train(tokenizer, tmp_path):
    """dev_split takes a share of train: sizes add up, no overlap, nothing lost."""
    data = rows(40)
    write_tsv(tmp_path / "train.tsv", data)
    silo = dev_split_silo(tokenizer, tmp_path, seed=1, dev_split=0.25)
    assert silo.counts["train"] == 30 and silo.counts["dev"] == 10
    lookup = ids_by_text(tokenizer, [t for t, _ in data])
    train, dev = texts_of(silo.data["train"], lookup), texts_of(silo.data["dev"], lookup)
    assert not set(train) & set(dev)
    assert sorted(train + dev) == sorted(t for t, _ in data)


def test_dev_split_is_reproducible_by_seed(tokenizer, tmp_path):
    """The same seed gives the same dev set; another seed gives another one."""
    data = rows(40)
    write_tsv(tmp_path / "train.tsv", data)
    lookup = ids_by_text(tokenizer, [t for t, _ in data])

    def dev_texts(seed: int) -> set[str]:
        silo = dev_split_silo(tokenizer, tmp_path, seed=seed, dev_split=0.25)
        return set(texts_of(silo.data["dev"], lookup))

    assert dev_texts(3) == dev_texts(3)
    assert dev_texts(3) != dev_texts(4)


def test_dev_stratification_of_a_multilabel_task_is_refused(tokenizer, tmp_path):
    """Label combinations are no classes: stratifying on them would shrink the dev set."""
    write_tsv(tmp_path / "train.tsv", [(TEXTS[i], "neg,pos" if i % 3 else "pos")
                                       for i in range(20)])
    with pytest.raises(FarmError, match="task 'text_classification' has task_type "
                       "'multilabel_classification', whose labels are not classes"):
        dev_split_silo(tokenizer, tmp_path, seed=0, dev_split=0.25, dev_stratification=True,
                       multilabel=True)


def test_dev_stratification_keeps_the_class_ratio(tokenizer, tmp_path):
    """With stratification the dev set has the 80/20 ratio of the data; without, it varies."""
    labels = ["pos"] * 32 + ["neg"] * 8
    data = [(TEXTS[i], label) for i, label in enumerate(labels)]
    write_tsv(tmp_path / "train.tsv", data)

    def dev_counts(seed: int, stratify: bool) -> Counter:
        silo = dev_split_silo(
            tokenizer, tmp_path, seed=seed, dev_split=0.25, dev_stratification=stratify
        )
        train_counts = Counter(int(x[0]) for x in silo.data["train"].features[LABEL_IDS])
        dev = Counter(int(x[0]) for x in silo.data["dev"].features[LABEL_IDS])
        assert train_counts + dev == Counter({1: 32, 0: 8})
        return dev

    seeds = range(8)
    stratified = [dev_counts(s, stratify=True) for s in seeds]
    assert all(c == Counter({1: 8, 0: 2}) for c in stratified)
    plain = [dev_counts(s, stratify=False) for s in seeds]
    assert all(sum(c.values()) == 10 for c in plain)
    assert any(c != Counter({1: 8, 0: 2}) for c in plain)


def test_no_split_when_a_dev_file_is_given(tokenizer, tmp_path):
    """With a dev file, train stays whole and dev is that file."""
    write_tsv(tmp_path / "train.tsv", rows(20))
    write_tsv(tmp_path / "dev.tsv", rows(3, start=20))
    processor = make_processor(tokenizer, tmp_path, dev_filename="dev.tsv", dev_split=0.5)
    silo = DataSilo(processor, batch_size=4)
    assert silo.counts == {"train": 20, "dev": 3, "test": 0}


def test_dev_split_that_leaves_no_training_data_is_an_error(tokenizer, tmp_path):
    """A split that would take every training input says how to fix it."""
    write_tsv(tmp_path / "train.tsv", rows(1))
    with pytest.raises(Exception, match="lower dev_split or provide a dev file"):
        dev_split_silo(tokenizer, tmp_path, seed=0, dev_split=0.5)


# ---- class weights -------------------------------------------------------------------------


def test_class_weights_match_sklearn(tokenizer, tmp_path):
    """Balanced class weights equal scikit-learn's on imbalanced 3-class data."""
    label_list = ["a", "b", "c"]
    train_labels = ["a"] * 12 + ["b"] * 5 + ["c"] * 3
    test_labels = ["c"] * 4 + ["a"]
    write_tsv(tmp_path / "train.tsv", [(TEXTS[i], x) for i, x in enumerate(train_labels)])
    write_tsv(tmp_path / "test.tsv", [(TEXTS[30 + i], x) for i, x in enumerate(test_labels)])
    processor = make_processor(
        tokenizer, tmp_path, label_list=label_list, dev_split=0, test_filename="test.tsv"
    )
    silo = DataSilo(processor, batch_size=4)

    def reference(labels: list[str]) -> np.ndarray:
        y = np.array([label_list.index(x) for x in labels])
        return compute_class_weight("balanced", classes=np.arange(3), y=y)

    weights = silo.calculate_class_weights("text_classification")
    np.testing.assert_allclose(weights, reference(train_labels))
    assert weights[0] < weights[1] < weights[2]
    np.testing.assert_allclose(
        silo.calculate_class_weights("text_classification", source="all"),
        reference(train_labels + test_labels),
    )
    with pytest.raises(KeyError, match="Unknown task 'ner'"):
        silo.calculate_class_weights("ner")
    with pytest.raises(ValueError, match="Unknown source 'training'.*Did you mean 'train'"):
        silo.calculate_class_weights("text_classification", source="training")
    with pytest.raises(FarmError, match="No dev data"):
        silo.calculate_class_weights("text_classification", source="dev")


# ---- cache ---------------------------------------------------------------------------------


def cached_silo(tokenizer, data_dir: Path, cache: Path, **kwargs: Any) -> DataSilo:
    """A caching silo whose label_list is read from the train file."""
    processor = make_processor(tokenizer, data_dir, label_list=None, **kwargs)
    return DataSilo(processor, batch_size=4, caching=True, cache_path=cache)


def assert_same_datasets(a: DataSilo, b: DataSilo) -> None:
    """Both silos hold the same features in every split."""
    for split in ("train", "dev", "test"):
        if a.data[split] is None:
            assert b.data[split] is None
            continue
        assert a.data[split].tensor_names == b.data[split].tensor_names
        assert len(a.data[split]) == len(b.data[split])
        for name in a.data[split].tensor_names:
            for x, y in zip(
                a.data[split].features[name], b.data[split].features[name], strict=True
            ):
                np.testing.assert_array_equal(x, y)
                assert x.dtype == y.dtype


def test_cache_is_reused_and_keyed_by_content(tokenizer, tiny_model_factory, tmp_path, caplog):
    """A second silo loads from the cache; new bytes, a new max_seq_len or another tokenizer
    make a new entry."""
    data_dir, cache = tmp_path / "data", tmp_path / "cache"
    data_dir.mkdir()
    write_tsv(data_dir / "train.tsv", rows(20, labels=("neg", "pos", "neutral")))
    write_tsv(data_dir / "test.tsv", rows(5, start=20))
    with caplog.at_level(logging.INFO, logger="farm"):
        first = cached_silo(tokenizer, data_dir, cache, test_filename="test.tsv")
    assert "Loaded preprocessed data from cache" not in caplog.text
    entries = sorted(p for p in cache.iterdir())
    assert len(entries) == 1

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="farm"):
        second = cached_silo(tokenizer, data_dir, cache, test_filename="test.tsv")
    assert "Loaded preprocessed data from cache" in caplog.text
    assert sorted(p for p in cache.iterdir()) == entries
    assert_same_datasets(first, second)
    # The label_list read from the train file comes back with the cache.
    assert second.processor.tasks["text_classification"]["label_list"] == ["neg", "neutral", "pos"]
    assert second.processor.label_list == ["neg", "neutral", "pos"]  # as without the cache
    assert second.counts == first.counts and second.counts["dev"] == 2

    # One byte more in the train file: a new entry.
    train = data_dir / "train.tsv"
    train.write_bytes(train.read_bytes().replace(b"weather", b"weathers", 1))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="farm"):
        cached_silo(tokenizer, data_dir, cache, test_filename="test.tsv")
    assert "Loaded preprocessed data from cache" not in caplog.text
    assert len(list(cache.iterdir())) == 2

    # Another max_seq_len: another entry, with truncated features.
    short = cached_silo(tokenizer, data_dir, cache, test_filename="test.tsv", max_seq_len=8)
    assert len(list(cache.iterdir())) == 3
    assert short.data["train"].lengths.max() == 8

    # Another tokenizer (same texts, other vocabulary): another entry.
    cased = Tokenizer.load(tiny_model_factory("bert", lower_case=False))
    other = cached_silo(cased, data_dir, cache, test_filename="test.tsv")
    assert len(list(cache.iterdir())) == 4
    assert not np.array_equal(other.data["train"][0]["input_ids"],
                              first.data["train"][0]["input_ids"])

    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files and {p.suffix for p in files} <= {".safetensors", ".json"}
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp")]


def test_without_caching_nothing_is_written(tokenizer, tmp_path):
    """``caching=False`` leaves the cache folder alone."""
    write_tsv(tmp_path / "train.tsv", rows(6))
    processor = make_processor(tokenizer, tmp_path)
    DataSilo(processor, batch_size=2, cache_path=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


# ---- TrainBatchSampler -------------------------------------------------------------


def padding_of(batches: list[list[int]], lengths: np.ndarray) -> int:
    """Pad positions needed when each batch is padded to its longest sample."""
    return int(sum(lengths[b].max() * len(b) - lengths[b].sum() for b in batches))


def test_length_grouped_sampler_covers_every_index_once():
    """Every index appears exactly once per epoch; len() is the number of batches."""
    lengths = np.random.default_rng(0).integers(3, 120, size=1003)
    sampler = TrainBatchSampler(lengths, batch_size=16, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == math.ceil(1003 / 16)
    assert sorted(i for b in batches for i in b) == list(range(1003))
    assert sum(len(b) < 16 for b in batches) == 1


def test_length_grouped_sampler_drop_last():
    """With drop_last every batch is full and len() agrees."""
    lengths = np.random.default_rng(0).integers(3, 120, size=1003)
    sampler = TrainBatchSampler(lengths, batch_size=16, seed=1, drop_last=True)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 1003 // 16
    assert all(len(b) == 16 for b in batches)
    assert len({i for b in batches for i in b}) == 1003 // 16 * 16


def test_length_grouped_batches_need_far_less_padding_than_random():
    """Batches are nearly length-homogeneous: much less padding than random batches."""
    lengths = np.random.default_rng(0).integers(3, 200, size=2000)
    grouped = list(TrainBatchSampler(lengths, batch_size=16, seed=5))
    order = np.random.default_rng(5).permutation(len(lengths))
    random_batches = [order[i : i + 16] for i in range(0, len(order), 16)]
    assert padding_of(grouped, lengths) < 0.1 * padding_of(random_batches, lengths)


def test_length_grouped_sampler_is_reproducible_and_changes_per_epoch():
    """Same seed and epoch: same batches; another epoch or seed: another order."""
    lengths = np.random.default_rng(0).integers(3, 100, size=500)
    a = TrainBatchSampler(lengths, batch_size=8, seed=7)
    b = TrainBatchSampler(lengths, batch_size=8, seed=7)
    assert list(a) == list(b)
    assert list(a) == list(a)  # iterating again repeats the epoch
    epoch0 = list(a)
    a.set_epoch(1)
    epoch1 = list(a)
    assert epoch1 != epoch0
    assert sorted(i for x in epoch1 for i in x) == list(range(500))
    b.set_epoch(1)
    assert list(b) == epoch1
    assert list(TrainBatchSampler(lengths, batch_size=8, seed=8)) != epoch0
    # The batch order is shuffled, not sorted by length.
    first_lengths = [lengths[batch].max() for batch in epoch0]
    assert first_lengths != sorted(first_lengths) and first_lengths != sorted(first_lengths)[::-1]


# ---- FeatureDataset and Collator -----------------------------------------------------------


def test_length_sorted_batches_keep_to_the_token_budget():
    """Inference batches: every index once, sorted by length, at most max_tokens padded."""
    lengths = np.random.default_rng(0).integers(1, 60, size=500)
    lengths[17] = 300  # longer than the budget: a batch of its own
    batches = length_sorted_batches(lengths, max_tokens=256)
    order = np.concatenate(batches)
    assert sorted(order.tolist()) == list(range(500))
    assert np.all(np.diff(lengths[order]) >= 0)
    for batch in batches:
        assert len(batch) == 1 or len(batch) * lengths[batch].max() <= 256
    assert [17] in [b.tolist() for b in batches]
    # Greedy: adding the next sample would have broken the budget.
    for batch, following in zip(batches[:-1], batches[1:], strict=True):
        assert (len(batch) + 1) * lengths[following[0]] > 256


def test_feature_dataset_flat_round_trip(tmp_path):
    """to_flat → safetensors → from_flat gives back every array, dtype and pad value."""
    features = {
        "input_ids": [np.array([101, 7, 8, 102], np.int32), np.array([101, 102], np.int32)],
        "padding_mask": [np.ones(4, np.int8), np.ones(2, np.int8)],
        "ner_label_ids": [np.array([-100, 3, 1, -100]), np.array([], np.int64)],
        "regression_label_ids": [np.array([0.5], np.float32), np.array([-1.25], np.float32)],
    }
    pad_values = {"input_ids": 1, "ner_label_ids": LABEL_PAD_VALUE}
    dataset = FeatureDataset(features, pad_values)
    tensors, pads = dataset.to_flat()
    assert FeatureDataset.from_flat(tensors, pads).tensor_names == dataset.tensor_names
    save_file(tensors, str(tmp_path / "data.safetensors"))
    loaded = load_file(str(tmp_path / "data.safetensors"))
    restored = FeatureDataset.from_flat(loaded, pads, tensor_names=dataset.tensor_names)
    assert restored.tensor_names == dataset.tensor_names
    assert restored.pad_values == pad_values
    assert len(restored) == 2
    for name, values in features.items():
        for original, back in zip(values, restored.features[name], strict=True):
            np.testing.assert_array_equal(back, original)
            assert back.dtype == original.dtype


def test_feature_dataset_rejects_uneven_features():
    """Features with different sample counts are an error naming the counts."""
    with pytest.raises(ValueError, match="one entry per sample"):
        FeatureDataset({"input_ids": [np.array([1])], "padding_mask": []})


def test_feature_dataset_subset_and_concat():
    """subset picks samples by index; concat joins datasets in order."""
    ds = FeatureDataset(
        {"input_ids": [np.array([i] * (i + 1)) for i in range(5)]}, {"input_ids": 9}
    )
    sub = ds.subset([3, 0])
    assert [x.tolist() for x in sub.features["input_ids"]] == [[3, 3, 3, 3], [0]]
    joined = FeatureDataset.concat([sub, ds.subset([1])])
    assert joined.lengths.tolist() == [4, 1, 2]
    assert joined.pad_values == {"input_ids": 9}


def test_collator_pads_each_feature_with_its_pad_value():
    """Sequence and label arrays are padded to the batch maximum with their own values."""
    samples = [
        {
            "input_ids": np.array([5, 6, 7], np.int32),
            "padding_mask": np.ones(3, np.int8),
            "ner_label_ids": np.array([2, 0, 1]),
            "score": np.array([0.5], np.float32),
        },
        {
            "input_ids": np.array([5], np.int32),
            "padding_mask": np.ones(1, np.int8),
            "ner_label_ids": np.array([4]),
            "score": np.array([2.0], np.float32),
        },
    ]
    batch = Collator({"input_ids": 1, "ner_label_ids": LABEL_PAD_VALUE})(samples)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 1, 1]]
    assert batch["padding_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["ner_label_ids"].tolist() == [[2, 0, 1], [4, -100, -100]]
    assert batch["input_ids"].dtype == torch.int64
    assert batch["score"].dtype == torch.float32
    assert batch["score"].tolist() == [[0.5], [2.0]]


def test_from_flat_rejects_wrong_tensor_names():
    """Restoring with feature names the tensors do not hold is an error."""
    tensors, pads = FeatureDataset({"input_ids": [np.array([1, 2])]}).to_flat()
    with pytest.raises(ValueError, match="do not match"):
        FeatureDataset.from_flat(tensors, pads, tensor_names=["input_ids", "padding_mask"])


def test_stratified_split_of_small_classes_still_gives_a_dev_set(tokenizer, tmp_path):
    """When per-class rounding gives no dev sample at all, one is taken anyway."""
    write_tsv(tmp_path / "train.tsv", rows(4))
    silo = dev_split_silo(tokenizer, tmp_path, seed=1, dev_stratification=True)
    assert silo.counts["dev"] == 1 and silo.counts["train"] == 3
    assert silo.loaders["dev"] is not None


def test_tokenizer_state_ignores_and_keeps_truncation_and_padding(tiny_bert_dir):
    """The cache key's tokenizer part does not change when a call sets truncation or
    padding, and reading it leaves those settings as they were."""
    from farm.data_handler.cache import tokenizer_state

    tokenizer = Tokenizer.load(tiny_bert_dir)  # its own: this test adds a token
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    plain = tokenizer_state(tokenizer)
    tokenizer(["a b c"], truncation=True, max_length=5, padding="max_length")
    truncation, padding = backend.truncation, backend.padding
    assert truncation is not None and padding is not None
    assert tokenizer_state(tokenizer) == plain
    assert backend.truncation == truncation and backend.padding == padding
    tokenizer.add_tokens(["zzyzx"])
    assert tokenizer_state(tokenizer) != plain
