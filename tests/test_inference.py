"""Inferencer: loading, the FARM result format, input order, files, save and load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.utils import set_all_seeds
from tests.farm_helpers import (
    LABELS,
    make_model,
    make_processor,
    make_trainer,
    separable_rows,
    tokenize_batch,
    torch_threads,
    write_separable_data,
    write_tsv,
)
from tests.tiny_models import TinyModelFactory

# Very different lengths, so that length-sorted batches differ from input order.
TEXTS = [
    "good movie with friends at night in paris this week again and again here today",
    "bad",
    "good film",
    "bad food with friends at night in paris this week and the music was loud and long",
    "good",
    "bad music at night",
    "good book here today with friends",
    "bad trip",
    "good show at night in paris with friends this week again and again",
]


@pytest.fixture(scope="module")
def saved_model_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT trained briefly on separable data, saved with its processor."""
    with torch_threads(1):
        set_all_seeds(42)
        data_dir = write_separable_data(tmp_path_factory.mktemp("data"), n_train=48, n_test=8)
        data_silo = DataSilo(make_processor(tiny_bert_dir, data_dir, dev_split=0.0),
                             batch_size=8)
        trainer = make_trainer(make_model(tiny_bert_dir), data_silo, epochs=8,
                               learning_rate=2e-3)
        model = trainer.train()
        save_dir = tmp_path_factory.mktemp("saved_model")
        model.save(save_dir)
        data_silo.processor.save(save_dir)
    return save_dir


def flatten(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All predictions of an inference result, in order."""
    return [p for batch in result for p in batch["predictions"]]


def reference_probabilities(model_dir: Path, saved_model_dir: Path, texts: list[str]
                            ) -> torch.Tensor:
    """Softmax of the saved model's logits, each text run alone: ``(n_texts, n_labels)``."""
    model = AdaptiveModel.load(saved_model_dir).eval()
    with torch.no_grad():
        logits = [model(**tokenize_batch(model_dir, [t]))[0][0] for t in texts]
    return torch.softmax(torch.stack(logits), dim=-1)


def test_results_come_in_input_order_one_dict_per_batch(tiny_bert_dir: Path,
                                                        saved_model_dir: Path) -> None:
    inferencer = Inferencer.load(saved_model_dir, batch_size=4, disable_tqdm=True)
    result = inferencer.inference_from_dicts([{"text": t} for t in TEXTS])

    assert [len(batch["predictions"]) for batch in result] == [4, 4, 1]
    for batch in result:
        assert set(batch) == {"task", "task_name", "predictions"}
        assert batch["task"] == batch["task_name"] == "text_classification"
    predictions = flatten(result)
    assert [p["context"] for p in predictions] == TEXTS
    expected = reference_probabilities(tiny_bert_dir, saved_model_dir, TEXTS)
    for prediction, probs in zip(predictions, expected, strict=True):
        assert set(prediction) == {"start", "end", "context", "label", "probability"}
        assert prediction["start"] is None
        assert prediction["end"] is None
        assert prediction["label"] == LABELS[int(probs.argmax())]
        assert 0 < prediction["probability"] <= 1
        assert prediction["probability"] == pytest.approx(float(probs.max()), abs=1e-5)


def test_class_probabilities_are_the_softmax(tiny_bert_dir: Path, saved_model_dir: Path) -> None:
    inferencer = Inferencer.load(saved_model_dir, batch_size=4, return_class_probs=True,
                                 disable_tqdm=True)
    predictions = flatten(inferencer.inference_from_dicts([{"text": t} for t in TEXTS]))
    expected = reference_probabilities(tiny_bert_dir, saved_model_dir, TEXTS)
    probabilities = torch.tensor([p["probabilities"] for p in predictions])
    torch.testing.assert_close(probabilities, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(probabilities.sum(dim=-1), torch.ones(len(TEXTS)))
    assert [p["probability"] for p in predictions] == [max(p["probabilities"])
                                                       for p in predictions]


def test_trained_model_predicts_the_obvious_labels(saved_model_dir: Path) -> None:
    inferencer = Inferencer.load(saved_model_dir, disable_tqdm=True)
    predictions = flatten(inferencer.inference_from_dicts([{"text": t} for t in TEXTS]))
    expected = ["positive" if t.startswith("good") else "negative" for t in TEXTS]
    assert [p["label"] for p in predictions] == expected


def test_batch_sizes_do_not_change_predictions(saved_model_dir: Path) -> None:
    dicts = [{"text": t} for t in TEXTS]
    one = flatten(Inferencer.load(saved_model_dir, batch_size=1, return_class_probs=True,
                                  max_tokens_per_batch=1,  # every input alone
                                  disable_tqdm=True).inference_from_dicts(dicts))
    seven = flatten(Inferencer.load(saved_model_dir, batch_size=7, return_class_probs=True,
                                    disable_tqdm=True).inference_from_dicts(dicts))
    assert [p["context"] for p in one] == [p["context"] for p in seven] == TEXTS
    assert [p["label"] for p in one] == [p["label"] for p in seven]
    torch.testing.assert_close(torch.tensor([p["probabilities"] for p in one]),
                               torch.tensor([p["probabilities"] for p in seven]),
                               atol=1e-5, rtol=1e-4)


def test_torch_compile_gives_the_same_predictions(saved_model_dir: Path) -> None:
    pytest.importorskip("torch._inductor")
    dicts = [{"text": t} for t in TEXTS]
    eager = Inferencer.load(saved_model_dir, return_class_probs=True, disable_tqdm=True)
    compiled = Inferencer.load(saved_model_dir, return_class_probs=True, disable_tqdm=True,
                               torch_compile=True)
    expected, got = (flatten(i.inference_from_dicts(dicts)) for i in (eager, compiled))
    assert [p["label"] for p in got] == [p["label"] for p in expected]
    torch.testing.assert_close(torch.tensor([p["probabilities"] for p in got]),
                               torch.tensor([p["probabilities"] for p in expected]),
                               atol=1e-5, rtol=1e-4)


def test_inference_from_file_reads_a_tsv(saved_model_dir: Path, tmp_path: Path) -> None:
    rows = separable_rows(6, seed=7)
    file = write_tsv(tmp_path / "to_predict.tsv", rows)
    inferencer = Inferencer.load(saved_model_dir, batch_size=4, disable_tqdm=True)
    from_file = flatten(inferencer.inference_from_file(file))
    from_dicts = flatten(inferencer.inference_from_dicts([{"text": t} for t, _ in rows]))
    assert [p["context"] for p in from_file] == [t for t, _ in rows]
    assert [p["label"] for p in from_file] == [p["label"] for p in from_dicts]


def test_no_inputs_give_no_results(saved_model_dir: Path) -> None:
    assert Inferencer.load(saved_model_dir, disable_tqdm=True).inference_from_dicts([]) == []


def test_max_seq_len_is_capped_at_what_the_model_supports(saved_model_dir: Path) -> None:
    inferencer = Inferencer.load(saved_model_dir, max_seq_len=100_000, disable_tqdm=True)
    assert inferencer.processor.max_seq_len == 512
    assert Inferencer.load(saved_model_dir, max_seq_len=16).processor.max_seq_len == 16


def test_save_then_load_round_trip(saved_model_dir: Path, tmp_path: Path) -> None:
    dicts = [{"text": t} for t in TEXTS]
    inferencer = Inferencer.load(saved_model_dir, return_class_probs=True, disable_tqdm=True)
    inferencer.save(tmp_path / "copy")
    copy = Inferencer.load(tmp_path / "copy", return_class_probs=True, disable_tqdm=True)
    assert flatten(copy.inference_from_dicts(dicts)) == flatten(
        inferencer.inference_from_dicts(dicts)
    )


def test_hugging_face_folder_loads_with_a_task_type(tiny_model_factory: TinyModelFactory,
                                                    tmp_path: Path) -> None:
    """A plain Hugging Face folder gets an untrained head with the config's labels."""
    model_dir = tiny_model_factory("bert", num_labels=3)
    inferencer = Inferencer.load(model_dir, task_type="text_classification",
                                 return_class_probs=True, disable_tqdm=True)
    predictions = flatten(inferencer.inference_from_dicts([{"text": t} for t in TEXTS]))
    assert [p["context"] for p in predictions] == TEXTS
    assert all(p["label"] in {"LABEL_0", "LABEL_1", "LABEL_2"} for p in predictions)
    assert all(len(p["probabilities"]) == 3 for p in predictions)

    inferencer.save(tmp_path / "saved")
    reloaded = Inferencer.load(tmp_path / "saved", return_class_probs=True, disable_tqdm=True)
    assert flatten(reloaded.inference_from_dicts([{"text": t} for t in TEXTS])) == predictions


def test_hugging_face_folder_without_task_type_raises(tiny_bert_dir: Path) -> None:
    with pytest.raises(FarmError, match="task_type") as error:
        Inferencer.load(tiny_bert_dir)
    assert "text_classification" in str(error.value)
    assert "not a saved FARM model" in str(error.value)
    with pytest.raises(ValueError, match="Unknown task_type 'text_clasification'"):
        Inferencer.load(tiny_bert_dir, task_type="text_clasification")


def test_inference_from_a_file_of_texts_only(saved_model_dir: Path, tmp_path: Path) -> None:
    """A TSV with only a text column (nothing to evaluate against) can be predicted."""
    file = tmp_path / "to_predict.tsv"
    file.write_text("text\n" + "".join(f"{t}\n" for t in TEXTS))
    inferencer = Inferencer.load(saved_model_dir, batch_size=4, disable_tqdm=True)
    predictions = flatten(inferencer.inference_from_file(file))
    assert [p["context"] for p in predictions] == TEXTS
