"""Multilabel classification: separated labels in one cell, the head, metrics, a tiny run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import Tensor

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.errors import DataFileError, FarmError
from farm.eval import Evaluator
from farm.evaluation.metrics import compute_metrics
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import (
    MultiLabelTextClassificationHead,
    PredictionHead,
    TextClassificationHead,
)
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.farm_helpers import tokenize_batch
from tests.task_helpers import TOPICS, topic_rows, train_model, write_rows
from tests.test_heads import HeadContract

LABEL_KEY = "text_classification_label"
LABEL_IDS = "text_classification_label_ids"


def make_processor(model_dir: Path, data_dir: Path | None = None, **kwargs
                   ) -> TextClassificationProcessor:
    options = {"label_list": TOPICS, "multilabel": True, "max_seq_len": 32, **kwargs}
    return TextClassificationProcessor(tokenizer=Tokenizer.load(model_dir), data_dir=data_dir,
                                       **options)


class TestMultiLabelHead(HeadContract):
    """MultiLabelTextClassificationHead fulfils the head contract."""

    head_class = MultiLabelTextClassificationHead

    def make_head(self) -> PredictionHead:
        return MultiLabelTextClassificationHead(num_labels=3, label_list=TOPICS)

    def make_labels(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        n = batch["input_ids"].shape[0]
        return {LABEL_IDS: (torch.arange(n * 3).view(n, 3) % 2).float()}  # (n, 3)

    def logits_shape(self, batch: dict[str, Tensor]) -> tuple[int, ...]:
        return (batch["input_ids"].shape[0], 3)


def test_cell_with_separated_labels_becomes_multi_hot(tiny_bert_dir: Path, tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "label"],
                      [("soup song", "food|music"), ("train", "travel"), ("all", "travel|food")])
    processor = make_processor(tiny_bert_dir, tmp_path, label_separator="|")
    dicts = processor.file_to_dicts(file)
    assert dicts[0] == {"text": "soup song", LABEL_KEY: "food|music"}
    dataset, _, _ = processor.dataset_from_dicts(dicts)
    assert dataset[0][LABEL_IDS].dtype == np.float32
    assert [dataset[i][LABEL_IDS].tolist() for i in range(3)] == [
        [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 1.0],
    ]
    assert processor.tasks["text_classification"]["task_type"] == "multilabel_classification"
    assert processor.tasks["text_classification"]["metric"] == ["f1_micro", "f1_macro"]


def test_dicts_take_label_lists_too(tiny_bert_dir: Path) -> None:
    dataset, _, _ = make_processor(tiny_bert_dir).dataset_from_dicts(
        [{"text": "a", LABEL_KEY: ["music", "travel"]}, {"text": "b", LABEL_KEY: "food"}]
    )
    assert dataset[0][LABEL_IDS].tolist() == [0.0, 1.0, 1.0]
    assert dataset[1][LABEL_IDS].tolist() == [1.0, 0.0, 0.0]


def test_label_list_is_read_from_the_train_file(tiny_bert_dir: Path, tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "label"],
                      [("a", "zeta,alpha"), ("b", "mid"), ("c", "alpha")])
    processor = make_processor(tiny_bert_dir, tmp_path, label_list=None, metric="f1_macro")
    processor.file_to_dicts(file)
    assert processor.label_list == ["alpha", "mid", "zeta"]
    assert processor.tasks["text_classification"]["label_list"] == ["alpha", "mid", "zeta"]


def test_unknown_label_inside_a_cell_names_file_line_and_label(tiny_bert_dir: Path,
                                                               tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "label"],
                      [("soup", "food"), ("song soup", "music,sports,food")])
    with pytest.raises(DataFileError) as error:
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts(file)
    message = str(error.value)
    assert f"{file}:3:" in message
    assert "['sports']" in message and "'music,sports,food'" in message
    assert "label_separator" in message


def test_empty_label_cell_names_file_and_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "label"], [("soup", "food"), ("song", "")])
    with pytest.raises(DataFileError) as error:
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts(file)
    assert f"{file}:3:" in str(error.value) and "empty" in str(error.value)


def test_threshold_decides_the_predicted_labels() -> None:
    logits = torch.tensor([[2.0, -0.5, 0.1], [-3.0, -1.0, -2.0]])  # (batch, 3)
    probs = torch.sigmoid(logits)  # [[.88, .38, .52], [.05, .27, .12]]
    default = MultiLabelTextClassificationHead(num_labels=3, label_list=TOPICS)
    low = MultiLabelTextClassificationHead(num_labels=3, label_list=TOPICS, pred_threshold=0.25)
    assert default.logits_to_preds(logits) == [[1, 0, 1], [0, 0, 0]]
    assert low.logits_to_preds(logits) == [[1, 1, 1], [0, 1, 0]]

    class Basket:
        def __init__(self, text: str):
            self.raw = {"text": text}

    formatted = low.formatted_preds(logits, [Basket("x"), Basket("y")])
    assert formatted[0]["label"] == ["food", "music", "travel"]
    assert formatted[1]["label"] == ["music"]
    assert formatted[1]["probability"] == pytest.approx([probs[1, 1].item()])
    assert formatted[0]["probabilities"] == pytest.approx(probs[0].tolist())
    assert formatted[0]["context"] == "x"
    assert default.formatted_preds(logits, [Basket("x"), Basket("y")])[1]["label"] == []
    with pytest.raises(ValueError, match="pred_threshold"):
        MultiLabelTextClassificationHead(num_labels=3, pred_threshold=1.5)


def test_loss_is_bce_with_pos_weight_and_skips_masked_rows() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 3, generator=generator)
    labels = torch.tensor([[1.0, 0, 1], [0, 0, 1], [float("nan")] * 3, [0, 1, 0]])
    weights = [2.0, 0.5, 1.0]
    head = MultiLabelTextClassificationHead(num_labels=3, class_weights=weights)
    loss = head.logits_to_loss(logits, **{LABEL_IDS: labels})
    expected = F.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(labels), pos_weight=torch.tensor(weights), reduction="none"
    ).sum(dim=-1)
    torch.testing.assert_close(loss[[0, 1, 3]], expected[[0, 1, 3]])
    assert loss[2] == 0
    assert head.prepare_labels(**{LABEL_IDS: labels}) == [[1, 0, 1], [0, 0, 1], None, [0, 1, 0]]


def test_class_weights_are_negatives_over_positives(tiny_bert_dir: Path, tmp_path: Path) -> None:
    rows = [("a", "food"), ("b", "food,music"), ("c", "food"), ("d", "travel")]
    write_rows(tmp_path / "train.tsv", ["text", "label"], rows)
    processor = make_processor(tiny_bert_dir, tmp_path, dev_split=0.0, test_filename=None)
    weights = DataSilo(processor, batch_size=2).calculate_class_weights("text_classification")
    assert weights == pytest.approx([1 / 3, 3 / 1, 3 / 1])  # food 3 of 4, music 1, travel 1


def test_f1_micro_and_macro_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    labels = (rng.random((40, 5)) > 0.6).astype(int)
    preds = np.where(rng.random((40, 5)) > 0.8, 1 - labels, labels)
    result = compute_metrics(["f1_micro", "f1_macro"], preds.tolist(), labels.tolist())
    assert result["f1_micro"] == pytest.approx(f1_score(labels, preds, average="micro"))
    assert result["f1_macro"] == pytest.approx(f1_score(labels, preds, average="macro"))


def test_single_label_head_on_a_multilabel_task_is_refused(tiny_bert_dir: Path) -> None:
    processor = make_processor(tiny_bert_dir)
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir),
                          [TextClassificationHead(num_labels=3)], 0.1)
    with pytest.raises(FarmError, match="MultiLabelTextClassificationHead") as error:
        model.connect_heads_with_processor(processor.tasks)
    assert "multilabel_classification" in str(error.value)


def test_tiny_multilabel_run_evaluates_per_label_and_predicts_label_lists(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    set_all_seeds(42)
    write_rows(tmp_path / "train.tsv", ["text", "label"], topic_rows(96, seed=1))
    write_rows(tmp_path / "test.tsv", ["text", "label"], topic_rows(24, seed=2))
    processor = make_processor(tiny_bert_dir, tmp_path, dev_split=0.0)
    data_silo = DataSilo(processor, batch_size=8)
    head = MultiLabelTextClassificationHead(num_labels=3)
    trainer = train_model(tiny_bert_dir, [head], data_silo, epochs=8, learning_rate=3e-3)
    assert trainer.test_result is not None
    (result,) = trainer.test_result
    assert result["f1_micro"] > 0.8, result
    for topic in TOPICS:
        assert topic in result["report"]
    assert "micro avg" in result["report"]

    evaluation = Evaluator(data_silo.get_data_loader("test"), processor.tasks, "cpu").eval(
        trainer.model, return_preds_and_labels=True
    )[0]
    assert evaluation["f1_macro"] == pytest.approx(
        f1_score(np.array(evaluation["labels"]), np.array(evaluation["preds"]), average="macro")
    )

    save_dir = tmp_path / "saved"
    Inferencer(trainer.model, processor).save(save_dir)  # type: ignore[arg-type]
    inferencer = Inferencer.load(save_dir, disable_tqdm=True)
    texts = ["soup song", "train"]
    (batch,) = inferencer.inference_from_dicts([{"text": t} for t in texts])
    assert batch["task"] == "multilabel_text_classification"
    loaded = AdaptiveModel.load(save_dir).eval()
    with torch.no_grad():
        probs = torch.sigmoid(loaded(**tokenize_batch(tiny_bert_dir, texts))[0])
    for prediction, row in zip(batch["predictions"], probs, strict=True):
        assert prediction["probabilities"] == pytest.approx(row.tolist(), abs=1e-5)
        assert prediction["label"] == [t for t, p in zip(TOPICS, row, strict=True) if p >= 0.5]
    assert batch["predictions"][0]["label"] == ["food", "music"]
    assert batch["predictions"][1]["label"] == ["travel"]
