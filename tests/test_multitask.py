"""Multitask: several heads on one language model, masking, loss aggregation, head swaps."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextClassificationProcessor
from farm.errors import FarmError
from farm.eval import Evaluator
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import RegressionHead, TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.farm_helpers import FILLERS, NOUNS, model_state, same_weights, tokenize_batch
from tests.task_helpers import train_model, write_rows

COARSE = ["OTHER", "OFFENSE"]
FINE = ["OTHER", "ABUSE", "INSULT"]


def germeval_like_rows(n: int, seed: int = 0, missing_fine: int = 0
                       ) -> list[tuple[str, str, str]]:
    """(text, coarse, fine) rows: "bad" is an insult, "awful" abuse, anything else other.
    The fine label of the first ``missing_fine`` rows is left empty."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        cue, coarse, fine = [("good", "OTHER", "OTHER"), ("bad", "OFFENSE", "INSULT"),
                             ("awful", "OFFENSE", "ABUSE")][i % 3]
        text = " ".join([cue, rng.choice(NOUNS)] + rng.sample(FILLERS, rng.randint(0, 2)))
        rows.append((text, coarse, "" if i < missing_fine else fine))
    return rows


def make_processor(model_dir: Path, data_dir: Path | None = None, **kwargs: Any
                   ) -> TextClassificationProcessor:
    """FARM's multitask example: no default task, then one add_task per label column."""
    processor = TextClassificationProcessor(
        tokenizer=Tokenizer.load(model_dir), max_seq_len=32, data_dir=data_dir, **kwargs
    )
    processor.add_task("coarse", "f1_macro", COARSE, label_column_name="coarse_label")
    processor.add_task("fine", "acc", FINE, label_column_name="fine_label")
    return processor


def two_heads() -> list[TextClassificationHead]:
    return [TextClassificationHead(num_labels=2, task_name="coarse"),
            TextClassificationHead(num_labels=3, task_name="fine")]


def write_data(data_dir: Path, missing_fine: int = 0) -> None:
    header = ["text", "coarse_label", "fine_label"]
    write_rows(data_dir / "train.tsv", header, germeval_like_rows(60, 1, missing_fine))
    write_rows(data_dir / "test.tsv", header, germeval_like_rows(18, 2, missing_fine=3))


def test_every_task_reads_its_column_and_missing_labels_are_masked(tiny_bert_dir: Path,
                                                                    tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "coarse_label", "fine_label"],
                      [("bad film", "OFFENSE", "INSULT"), ("good day", "OTHER", ""),
                       ("awful", "", "ABUSE")])
    processor = make_processor(tiny_bert_dir, tmp_path)
    dicts = processor.file_to_dicts(file)
    assert dicts[1] == {"text": "good day", "coarse_label": "OTHER", "fine_label": None}
    dataset, names, _ = processor.dataset_from_dicts(dicts)
    assert names[-2:] == ["coarse_label_ids", "fine_label_ids"]
    assert [int(dataset[i]["coarse_label_ids"][0]) for i in range(3)] == [1, 0, -100]
    assert [int(dataset[i]["fine_label_ids"][0]) for i in range(3)] == [2, -100, 1]


def test_default_loss_aggregation_is_the_weighted_sum(tiny_bert_dir: Path) -> None:
    set_all_seeds(0)
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), two_heads(), 0.0,
                          loss_weights=[1.0, 0.25])
    batch = tokenize_batch(tiny_bert_dir, ["good film", "bad soup", "awful"])
    batch["coarse_label_ids"] = torch.tensor([[0], [1], [1]])
    batch["fine_label_ids"] = torch.tensor([[0], [-100], [1]])
    logits = model(**batch)
    per_head = [h.logits_to_loss(lg, **batch) for h, lg in zip(model.heads, logits, strict=True)]
    assert per_head[1][1] == 0  # masked: no loss
    total = model.logits_to_loss(logits, global_step=3, **batch)
    torch.testing.assert_close(total, per_head[0] + 0.25 * per_head[1])

    calls = []

    def first_head_only(loss_per_head: list[torch.Tensor], global_step: int | None = None,
                        batch: Any = None) -> torch.Tensor:
        calls.append((global_step, sorted(batch)))
        return loss_per_head[0]

    model.loss_aggregation_fn = first_head_only
    torch.testing.assert_close(model.logits_to_loss(logits, global_step=7, **batch), per_head[0])
    assert calls[0][0] == 7 and "fine_label_ids" in calls[0][1]
    with pytest.raises(ValueError, match="one weight per head"):
        AdaptiveModel(LanguageModel.load(tiny_bert_dir), two_heads(), 0.0, loss_weights=[1.0])


def test_heads_and_tasks_that_do_not_match_name_both_sides(tiny_bert_dir: Path) -> None:
    processor = make_processor(tiny_bert_dir)
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir),
                          [TextClassificationHead(num_labels=2, task_name="coarse"),
                           TextClassificationHead(num_labels=3, task_name="fin")], 0.1)
    with pytest.raises(FarmError) as error:
        model.connect_heads_with_processor(processor.tasks)
    message = str(error.value)
    assert "'fin'" in message
    assert "['coarse', 'fin']" in message and "['coarse', 'fine']" in message


def test_two_heads_train_evaluate_per_head_and_predict_per_head(tiny_bert_dir: Path,
                                                                 tmp_path: Path) -> None:
    set_all_seeds(42)
    write_data(tmp_path, missing_fine=6)
    processor = make_processor(tiny_bert_dir, tmp_path, dev_split=0.0)
    data_silo = DataSilo(processor, batch_size=6)
    for batch in data_silo.get_data_loader("train"):
        assert {"coarse_label_ids", "fine_label_ids"} <= set(batch)
    trainer = train_model(tiny_bert_dir, two_heads(), data_silo, epochs=10, learning_rate=3e-3)
    assert trainer.test_result is not None
    coarse, fine = trainer.test_result
    assert (coarse["task_name"], fine["task_name"]) == ("coarse", "fine")
    assert "f1_macro" in coarse and "acc" not in coarse
    assert "acc" in fine and "f1_macro" not in fine
    assert coarse["f1_macro"] > 0.9 and fine["acc"] > 0.9, (coarse, fine)

    results = Evaluator(data_silo.get_data_loader("test"), processor.tasks, "cpu").eval(
        trainer.model, return_preds_and_labels=True
    )
    assert len(results[0]["labels"]) == 18 and len(results[1]["labels"]) == 15  # 3 masked
    assert results[0]["f1_macro"] == pytest.approx(
        f1_score(results[0]["labels"], results[0]["preds"], average="macro"))
    assert results[1]["acc"] == pytest.approx(
        accuracy_score(results[1]["labels"], results[1]["preds"]))
    assert "ABUSE" in results[1]["report"]

    save_dir = tmp_path / "saved"
    Inferencer(trainer.model, processor).save(save_dir)  # type: ignore[arg-type]
    inferencer = Inferencer.load(save_dir, batch_size=2, disable_tqdm=True)
    result = inferencer.inference_from_dicts([{"text": t} for t in ["bad film", "good day",
                                                                    "awful music"]])
    assert [(r["task_name"], len(r["predictions"])) for r in result] == [
        ("coarse", 2), ("fine", 2), ("coarse", 1), ("fine", 1)]
    assert [p["label"] for p in result[1]["predictions"] + result[3]["predictions"]] == [
        "INSULT", "OTHER", "ABUSE"]


def test_a_head_can_be_dropped_or_swapped_then_saved_and_loaded(tiny_bert_dir: Path,
                                                                tmp_path: Path) -> None:
    set_all_seeds(0)
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), two_heads(), 0.1,
                          loss_weights=[1.0, 0.5]).eval()
    batch = tokenize_batch(tiny_bert_dir, ["good film", "bad soup with friends"])
    with torch.no_grad():
        coarse_before = model(**batch)[0]
    model.save(tmp_path / "model")

    dropped = model.drop_head("fine")
    assert dropped.task_name == "fine"
    assert (model.lm_output_types, model.loss_weights) == (["per_sequence"], [1.0])
    model.save(tmp_path / "model")  # over the two-head save: the old head files go
    assert sorted(p.name for p in (tmp_path / "model").glob("prediction_head_*")) == [
        "prediction_head_0.safetensors", "prediction_head_0_config.json"]
    loaded = AdaptiveModel.load(tmp_path / "model").eval()
    assert [h.task_name for h in loaded.heads] == ["coarse"]
    assert json.loads((tmp_path / "model" / "farm_model.json").read_text())["loss_weights"] == [
        1.0]
    with torch.no_grad():
        torch.testing.assert_close(loaded(**batch)[0], coarse_before)

    old = loaded.replace_head("coarse", RegressionHead(task_name="score", scaler_mean=3.0,
                                                       scaler_scale=2.0))
    assert isinstance(old, TextClassificationHead)
    loaded.add_head(TextClassificationHead(num_labels=3, task_name="fine"), loss_weight=0.3)
    loaded.save(tmp_path / "swapped")
    again = AdaptiveModel.load(tmp_path / "swapped").eval()
    assert [type(h).__name__ for h in again.heads] == ["RegressionHead", "TextClassificationHead"]
    assert again.heads[0].scaler_mean == 3.0  # type: ignore[attr-defined]
    assert again.loss_weights == [1.0, 0.3]
    assert same_weights(model_state(again), model_state(loaded))
    with pytest.raises(KeyError, match="the heads learn"):
        again.drop_head("coarse")
    with pytest.raises(ValueError, match="already has a head"):
        again.add_head(TextClassificationHead(num_labels=3, task_name="fine"))
