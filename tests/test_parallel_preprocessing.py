"""Worker-process preprocessing gives exactly the features of one process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from farm.data_handler import parallel
from farm.data_handler.data_silo import DataSilo
from farm.data_handler.dataset import FeatureDataset
from farm.data_handler.processor import RegressionProcessor, TextClassificationProcessor
from farm.errors import FarmError
from farm.modeling.tokenization import Tokenizer
from tests.farm_helpers import make_processor, write_separable_data
from tests.ner_helpers import make_ner_processor, write_ner_data
from tests.task_helpers import scored_rows, write_rows

pytestmark = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="worker processes are forked; this system cannot fork",
)


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for small test data, and two cores even on a one-core runner."""
    monkeypatch.setattr(parallel, "MIN_INPUTS_PER_WORKER", 10)
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)


def assert_same_features(a: FeatureDataset, b: FeatureDataset) -> None:
    assert a.tensor_names == b.tensor_names
    assert a.pad_values == b.pad_values
    assert len(a) == len(b)
    for name in a.tensor_names:
        for x, y in zip(a.features[name], b.features[name], strict=True):
            assert x.dtype == y.dtype, name
            np.testing.assert_array_equal(x, y, err_msg=name)


def silos(processor_factory: Any, **silo_kwargs: Any) -> tuple[DataSilo, DataSilo]:
    serial = DataSilo(processor_factory(), batch_size=8, max_processes=1, **silo_kwargs)
    workers = DataSilo(processor_factory(), batch_size=8, max_processes=2,
                       max_multiprocessing_chunksize=7, **silo_kwargs)
    return serial, workers


def test_workers_are_used_only_where_they_pay(tiny_bert_dir: Path, tmp_path: Path) -> None:
    processor = make_processor(tiny_bert_dir, tmp_path)
    assert parallel.n_workers(processor, 100, max_processes=8, chunksize=7) == 2  # cores
    assert parallel.n_workers(processor, 100, max_processes=1, chunksize=7) == 1
    assert parallel.n_workers(processor, 19, max_processes=8, chunksize=7) == 1  # too few
    assert parallel.n_workers(processor, 100, max_processes=8, chunksize=100) == 1  # one chunk

    class Stateful(TextClassificationProcessor):
        parallel_safe = False

    stateful = Stateful(tokenizer=processor.tokenizer, max_seq_len=16, data_dir=None,
                        label_list=["a"], metric="acc")
    assert parallel.n_workers(stateful, 100, max_processes=8, chunksize=7) == 1


def test_text_classification_features_equal_one_process(tiny_bert_dir: Path,
                                                        tmp_path: Path) -> None:
    write_separable_data(tmp_path, n_train=90, n_test=30)
    serial, workers = silos(lambda: make_processor(tiny_bert_dir, tmp_path, dev_split=0.2))
    for split in ("train", "dev", "test"):
        assert_same_features(serial.data[split], workers.data[split])  # type: ignore[arg-type]


def test_ner_windows_and_positions_equal_one_process(tiny_bert_dir: Path,
                                                    tmp_path: Path) -> None:
    write_ner_data(tmp_path, n_train=60, n_test=20)
    # Short windows: long sentences become several samples, whose window positions carry
    # the sentence's index in the whole split.
    serial, workers = silos(lambda: make_ner_processor(tiny_bert_dir, tmp_path, max_seq_len=8))
    assert_same_features(serial.data["train"], workers.data["train"])  # type: ignore[arg-type]
    positions = np.stack(workers.data["train"].features["window_position"])  # type: ignore
    assert positions[:, 0].max() == 59


def test_regression_scaler_is_fitted_on_the_whole_split(tiny_bert_dir: Path,
                                                        tmp_path: Path) -> None:
    write_rows(tmp_path / "train.tsv", ["text", "label"], scored_rows(80, seed=1))

    def processor() -> RegressionProcessor:
        return RegressionProcessor(tokenizer=Tokenizer.load(tiny_bert_dir), max_seq_len=16,
                                   data_dir=tmp_path, dev_split=0.0, test_filename=None,
                                   metric="mse")

    serial, workers = silos(processor)
    assert serial.processor.scaler_mean == workers.processor.scaler_mean  # type: ignore
    assert serial.processor.scaler_scale == workers.processor.scaler_scale  # type: ignore
    assert_same_features(serial.data["train"], workers.data["train"])  # type: ignore[arg-type]


class DyingProcessor(TextClassificationProcessor):
    """Kills the worker process that featurizes its second chunk."""

    parent = os.getpid()

    def dataset_from_dicts(self, dicts: list[dict[str, Any]], indices: list[int] | None = None,
                           return_baskets: bool = False, log_sample: bool = True) -> Any:
        if os.getpid() != self.parent and indices and indices[0] > 0:
            os._exit(3)
        return super().dataset_from_dicts(dicts, indices, return_baskets, log_sample)


def test_a_dying_worker_is_a_clear_error_not_a_hang(tiny_bert_dir: Path,
                                                    tmp_path: Path) -> None:
    write_separable_data(tmp_path, n_train=40, n_test=4)
    processor = DyingProcessor(tokenizer=Tokenizer.load(tiny_bert_dir), max_seq_len=16,
                               data_dir=tmp_path, label_list=["negative", "positive"],
                               metric="acc", dev_split=0.0)
    with pytest.raises(FarmError, match="worker process died.*max_processes=1"):
        DataSilo(processor, batch_size=8, max_processes=2, max_multiprocessing_chunksize=10)


def test_errors_in_workers_keep_their_message(tiny_bert_dir: Path, tmp_path: Path) -> None:
    write_separable_data(tmp_path, n_train=40, n_test=4)
    processor = make_processor(tiny_bert_dir, tmp_path, dev_split=0.0)
    dicts = processor.file_to_dicts(tmp_path / "train.tsv")
    dicts[25]["text_classification_label"] = "neutral"
    with pytest.raises(ValueError, match="neutral"):
        parallel.featurize(processor, dicts, max_processes=2, chunksize=10)
