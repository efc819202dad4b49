"""Regression: label scaling, RegressionHead, the regression metrics, and a tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.preprocessing import StandardScaler
from torch import Tensor

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import Processor, RegressionProcessor
from farm.errors import DataFileError, FarmError
from farm.evaluation.metrics import compute_metrics
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.prediction_head import PredictionHead, RegressionHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.farm_helpers import tokenize_batch
from tests.task_helpers import scored_rows, train_model, write_rows
from tests.test_heads import HeadContract

LABEL_IDS = "regression_label_ids"


def make_processor(model_dir: Path, data_dir: Path | None = None, **kwargs) -> RegressionProcessor:
    return RegressionProcessor(tokenizer=Tokenizer.load(model_dir), max_seq_len=32,
                               data_dir=data_dir, **kwargs)


class TestRegressionHead(HeadContract):
    """RegressionHead fulfils the head contract."""

    head_class = RegressionHead

    def make_head(self) -> PredictionHead:
        return RegressionHead(scaler_mean=2.5, scaler_scale=1.5)

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        n = batch["input_ids"].shape[0]
        return {LABEL_IDS: torch.linspace(-1, 1, n).view(-1, 1)}  # (n, 1)

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        return (batch["input_ids"].shape[0], 1)


def test_class_weights_of_a_regression_task_are_refused(tiny_bert_dir: Path, tmp_path: Path
                                                         ) -> None:
    write_rows(tmp_path / "train.tsv", ["text", "label"], scored_rows(8))
    silo = DataSilo(make_processor(tiny_bert_dir, tmp_path, test_filename=None, dev_split=0.0),
                    batch_size=4)
    with pytest.raises(FarmError, match="'regression' has task_type 'regression': class "
                       "weights are for classification"):
        silo.calculate_class_weights("regression")


def test_scaler_round_trip(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Labels are scaled as scikit-learn's StandardScaler scales them; the scaler travels
    through task, processor config and head config, and predictions come back in the
    original scale."""
    scores = [0.5, 1.0, 2.25, 4.0, 5.0, 3.5]
    dicts = [{"text": f"text {i}", "regression_label": str(s)} for i, s in enumerate(scores)]
    processor = make_processor(tiny_bert_dir)
    assert processor.scaler_mean is None
    dataset, _, _ = processor.dataset_from_dicts(dicts)

    reference = StandardScaler().fit(np.array(scores).reshape(-1, 1))
    scaled = np.concatenate([dataset[i][LABEL_IDS] for i in range(len(scores))])
    assert dataset[0][LABEL_IDS].dtype == np.float32
    np.testing.assert_allclose(scaled, reference.transform(np.array(scores)[:, None])[:, 0],
                               rtol=1e-6)
    assert processor.scaler_mean == pytest.approx(reference.mean_[0])
    assert processor.scaler_scale == pytest.approx(reference.scale_[0])
    assert processor.tasks["regression"]["label_list"] is None

    processor.save(tmp_path / "saved")
    loaded = Processor.load_from_dir(tmp_path / "saved")
    assert isinstance(loaded, RegressionProcessor)
    assert loaded.scaler_mean == processor.scaler_mean
    assert loaded.scaler_scale == processor.scaler_scale
    again, _, _ = loaded.dataset_from_dicts(dicts)  # the saved scaler, not a refit
    np.testing.assert_array_equal(again[2][LABEL_IDS], dataset[2][LABEL_IDS])

    head = RegressionHead()
    head.connect_task(processor.tasks["regression"])
    labels = torch.from_numpy(scaled).view(-1, 1)
    assert head.logits_to_preds(labels) == pytest.approx(scores, rel=1e-5)
    assert head.prepare_labels(**{LABEL_IDS: labels}) == pytest.approx(scores, rel=1e-5)
    config = head.generate_config()
    assert config["scaler_mean"] == processor.scaler_mean
    assert config["scaler_scale"] == processor.scaler_scale


def test_given_scaler_is_used_and_not_refitted(tiny_bert_dir: Path) -> None:
    processor = make_processor(tiny_bert_dir, scaler_mean=2.0, scaler_scale=0.5)
    dataset, _, _ = processor.dataset_from_dicts([{"text": "a", "regression_label": 3.0}])
    assert float(dataset[0][LABEL_IDS][0]) == pytest.approx(2.0)
    assert processor.scaler_mean == 2.0


def test_non_numeric_label_names_file_and_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "label"],
                      [("good", "4.0"), ("bad", "1.5"), ("meh", "three")])
    with pytest.raises(DataFileError) as error:
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts(file)
    message = str(error.value)
    assert f"{file}:4:" in message
    assert "'three'" in message and "not a number" in message


def test_non_numeric_label_in_dicts_names_the_input(tiny_bert_dir: Path) -> None:
    dicts = [{"text": "a", "regression_label": "1.0"}, {"text": "b", "regression_label": "x"}]
    with pytest.raises(DataFileError, match=r"input dict 1: label 'x' .* not a number"):
        make_processor(tiny_bert_dir).dataset_from_dicts(dicts)


def test_empty_label_cell_names_file_and_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "label"], [("good", "4.0"), ("bad", "")])
    with pytest.raises(DataFileError) as error:
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts(file)
    assert f"{file}:3:" in str(error.value)
    assert "label of task 'regression'" in str(error.value) and "empty" in str(error.value)


def test_loss_is_the_squared_error_and_skips_masked_labels() -> None:
    head = RegressionHead()
    logits = torch.tensor([[0.5], [-1.0], [2.0]])
    labels = torch.tensor([[1.0], [float("nan")], [0.0]])
    loss = head.logits_to_loss(logits, **{LABEL_IDS: labels})
    expected = F.mse_loss(logits.view(-1), torch.nan_to_num(labels).view(-1), reduction="none")
    torch.testing.assert_close(loss, torch.stack([expected[0], torch.tensor(0.0), expected[2]]))
    assert head.prepare_labels(**{LABEL_IDS: labels})[1] is None


def test_regression_metrics_match_scipy_and_sklearn() -> None:
    rng = np.random.default_rng(0)
    labels = rng.normal(size=50)
    preds = labels + rng.normal(scale=0.5, size=50)
    result = compute_metrics(["mse", "r2", "pear_spear"], preds.tolist(), labels.tolist())
    assert result["mse"] == pytest.approx(mean_squared_error(labels, preds))
    assert result["r2"] == pytest.approx(r2_score(labels, preds))
    assert result["pearson"] == pytest.approx(pearsonr(preds, labels)[0])
    assert result["spearman"] == pytest.approx(spearmanr(preds, labels)[0])
    assert result["corr"] == pytest.approx((result["pearson"] + result["spearman"]) / 2)


def test_layer_dims_must_end_in_one() -> None:
    with pytest.raises(ValueError, match="must end in 1"):
        RegressionHead(layer_dims=[768, 2])


def test_tiny_regression_trains_evaluates_and_predicts_in_the_original_scale(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    set_all_seeds(42)
    write_rows(tmp_path / "train.tsv", ["text", "label"], scored_rows(64, seed=1))
    write_rows(tmp_path / "test.tsv", ["text", "label"], scored_rows(16, seed=2))
    processor = make_processor(tiny_bert_dir, tmp_path, dev_split=0.0)
    data_silo = DataSilo(processor, batch_size=8)
    trainer = train_model(tiny_bert_dir, [RegressionHead()], data_silo, epochs=6)
    model = trainer.model
    assert isinstance(model, AdaptiveModel)
    assert processor.scaler_mean == pytest.approx(2.5, abs=0.2)
    assert model.heads[0].scaler_mean == processor.scaler_mean  # type: ignore[attr-defined]
    assert trainer.test_result is not None
    (test_result,) = trainer.test_result
    assert {"loss", "mse", "r2", "pearson", "spearman", "corr", "report"} <= set(test_result)
    assert test_result["pearson"] > 0.8, test_result
    assert test_result["report"].startswith("n=16")

    save_dir = tmp_path / "saved"
    model.save(save_dir)
    processor.save(save_dir)
    head_config = json.loads((save_dir / "prediction_head_0_config.json").read_text())
    assert head_config["scaler_mean"] == processor.scaler_mean

    texts = ["good movie", "bad food at night", "good music with friends"]
    inferencer = Inferencer.load(save_dir, batch_size=2, disable_tqdm=True)
    batches = inferencer.inference_from_dicts([{"text": t} for t in texts])
    assert [b["task"] for b in batches] == ["regression", "regression"]
    predictions = [p for b in batches for p in b["predictions"]]
    assert [sorted(p) for p in predictions] == [["context", "pred"]] * 3
    assert [p["context"] for p in predictions] == texts
    loaded = AdaptiveModel.load(save_dir).eval()
    with torch.no_grad():
        scaled = torch.cat([loaded(**tokenize_batch(tiny_bert_dir, [t]))[0] for t in texts])
    expected = scaled.view(-1) * processor.scaler_scale + processor.scaler_mean
    assert [p["pred"] for p in predictions] == pytest.approx(expected.tolist(), abs=1e-4)
    assert predictions[0]["pred"] > 3.0 > 2.0 > predictions[1]["pred"]
