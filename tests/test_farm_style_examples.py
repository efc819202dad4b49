"""The FARM-style example scripts (examples/farm_style/) run end to end, unchanged apart from
the model name and the data paths: here on a tiny model and the scripts' own sample data."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.tokenization import Tokenizer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "farm_style"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"farm_style_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("farm_style_data")
    return load_script("sample_data").write_all(root)  # type: ignore[no-any-return]


def run(name: str, function: str, model: Path, data: Path | None, save: Path,
        **budget: Any) -> dict[str, Any]:
    result: dict[str, Any] = getattr(load_script(name), function)(
        lang_model=str(model), data_dir=data, save_dir=save, **budget)
    return result


def test_every_script_is_covered() -> None:
    scripts = {p.stem for p in EXAMPLES.glob("*.py")} - {"sample_data"}
    assert scripts == {
        "doc_classification", "doc_regression", "text_pair_classification", "ner",
        "question_answering", "lm_finetuning", "embeddings_extraction", "dpr",
        "conversion_huggingface_models", "onnx_question_answering", "mtl_doc_classification",
    }


@pytest.mark.parametrize(("script", "function", "data", "metric"), [
    ("doc_classification", "doc_classification", "doc_class", "f1_macro"),
    ("doc_regression", "doc_regression", "doc_regr", "mse"),
    ("text_pair_classification", "text_pair_classification", "text_pair", "f1_macro"),
    ("ner", "ner", "ner", "seq_f1"),
])
def test_single_task_scripts_train_save_and_predict(
        script: str, function: str, data: str, metric: str, tiny_bert_dir: Path,
        sample_data: Path, tmp_path: Path) -> None:
    result = run(script, function, tiny_bert_dir, sample_data / data, tmp_path / "save",
                 n_epochs=1)
    assert metric in result["test"][0]
    assert (tmp_path / "save" / "farm_model.json").is_file()
    assert len(result["predictions"]) in (1, 2) and result["predictions"][0]


def test_multitask_script_predicts_per_head(tiny_bert_dir: Path, sample_data: Path,
                                            tmp_path: Path) -> None:
    result = run("mtl_doc_classification", "mtl_doc_classification", tiny_bert_dir,
                 sample_data / "doc_class", tmp_path / "save", n_epochs=1)
    assert [r["task_name"] for r in result["test"]] == ["coarse", "fine"]
    assert result["predictions"]["coarse"] in ("OTHER", "OFFENSE")
    assert result["predictions"]["fine"] in ("OTHER", "INSULT", "ABUSE")


def test_question_answering_script(tiny_bert_dir: Path, sample_data: Path,
                                   tmp_path: Path) -> None:
    result = run("question_answering", "question_answering", tiny_bert_dir,
                 sample_data / "squad20", tmp_path / "save", n_epochs=1)
    assert result["id"] == "my-question" and sum(result["count_per_bin"]) == 24
    assert result["squad_eval"]["preds"][0][0] == result["answer"]
    assert 0.0 <= result["confidence"] <= 1.0


def test_lm_finetuning_script(tiny_bert_dir: Path, sample_data: Path, tmp_path: Path) -> None:
    result = run("lm_finetuning", "lm_finetuning", tiny_bert_dir, sample_data / "lm_finetune",
                 tmp_path / "save")
    assert [r["task_name"] for r in result["test"]] == ["lm", "nextsentence"]
    assert result["vector_size"] == LanguageModel.load(tiny_bert_dir).hidden_size


def test_embeddings_script(tiny_bert_dir: Path, tmp_path: Path) -> None:
    result = run("embeddings_extraction", "embeddings_extraction", tiny_bert_dir, None,
                 tmp_path / "save")
    assert result["shape"] == [2, LanguageModel.load(tiny_bert_dir).hidden_size]
    assert -1.0 <= result["cosine_similarity"] <= 1.0


def test_dpr_script(tiny_bert_dir: Path, sample_data: Path, tmp_path: Path) -> None:
    result = run("dpr", "dense_passage_retrieval", tiny_bert_dir, sample_data / "dpr",
                 tmp_path / "save", n_epochs=1)
    assert "mrr_at_10" in result["test"][0]
    assert result["converted"] == ["DPRQuestionEncoder", "DPRContextEncoder"]


@pytest.fixture
def hf_qa_dir(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    """A Hugging Face QA model folder (the role of deepset/roberta-base-squad2)."""
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [QuestionAnsweringHead()], 0.1,
                          lm_output_types=["per_token"], device="cpu")
    folder = tmp_path / "hf_qa"
    model.convert_to_transformers()[0].save_pretrained(folder)
    Tokenizer.load(tiny_bert_dir).save_pretrained(folder)
    return folder


def test_conversion_script(hf_qa_dir: Path, tmp_path: Path) -> None:
    result = run("conversion_huggingface_models", "conversion", hf_qa_dir, None,
                 tmp_path / "save")
    assert result["farm_answer"] == result["transformers_answer"]
    assert result["heads"] == ["question_answering", "question_answering"]
    assert result["label_tensor"] == "question_answering_label_ids"


def test_onnx_script(hf_qa_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    result = run("onnx_question_answering", "onnx_question_answering", hf_qa_dir, None,
                 tmp_path / "onnx")
    assert result["answer"] == result["pytorch_answer"]
    assert result["score"] == pytest.approx(result["pytorch_score"], abs=1e-3)
