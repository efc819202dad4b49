"""FARM 0.8's inference and conversion API: streaming, FARM's result objects
(``return_json=False``), deprecated names, the Converter, the REST API module and the names
that cannot work any more."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from farm.conversion.transformers import Converter
from farm.data_handler.processor import InferenceProcessor, TextClassificationProcessor
from farm.errors import FarmError
from farm.infer import FasttextInferencer, Inferencer, QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.predictions import QACandidate, QAPred
from farm.modeling.tokenization import Tokenizer
from tests.farm_helpers import make_model, make_processor, separable_rows, write_separable_data
from tests.qa_helpers import QUESTION, make_qa_model, make_qa_processor, squad_articles

TEXTS = [{"text": text} for text, _ in separable_rows(11, seed=5)]


@pytest.fixture
def farm_warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    from farm import compat

    compat._warned.clear()
    caplog.set_level(logging.WARNING, logger="farm.compat")
    return caplog


@pytest.fixture
def classifier_dir(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "classifier"
    make_model(tiny_bert_dir).save(folder)
    make_processor(tiny_bert_dir, write_separable_data(tmp_path / "data")).save(folder)
    return folder


@pytest.fixture
def qa_dir(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "qa"
    make_qa_model(tiny_bert_dir).save(folder)
    make_qa_processor(tiny_bert_dir, None).save(folder)
    return folder


def qa_inputs() -> list[dict[str, object]]:
    articles = squad_articles(3, seed=4, fillers=(6, 9))["data"]
    return [{"questions": [QUESTION, "what was the colour?"],
             "text": a["paragraphs"][0]["context"]} for a in articles]


def test_streaming_yields_the_same_results_lazily(classifier_dir: Path) -> None:
    inferencer = Inferencer.load(classifier_dir, batch_size=2)
    expected = inferencer.inference_from_dicts(TEXTS)
    consumed = []

    def inputs():  # a generator: streaming must not need a list
        for d in TEXTS:
            consumed.append(d)
            yield d

    stream = inferencer.inference_from_dicts(inputs(), streaming=True,
                                             multiprocessing_chunksize=3)
    assert not consumed  # nothing is read before the first result is asked for
    first = next(stream)
    assert len(consumed) == 4  # one chunk: 3 rounded up to a multiple of batch_size 2
    assert [first, *stream] == expected
    assert list(inferencer.inference_from_file(
        classifier_dir.parent / "data" / "test.tsv", streaming=True)) == (
        inferencer.inference_from_file(classifier_dir.parent / "data" / "test.tsv"))


def test_return_json_false_gives_farms_numpy_values(classifier_dir: Path) -> None:
    inferencer = Inferencer.load(classifier_dir, return_class_probs=True)
    as_json = inferencer.inference_from_dicts(TEXTS[:3])
    as_objects = inferencer.inference_from_dicts(TEXTS[:3], return_json=False)
    pred = as_objects[0]["predictions"][0]
    assert isinstance(pred["probability"], np.float32)
    assert isinstance(pred["probabilities"], np.ndarray)
    assert pred["label"] == as_json[0]["predictions"][0]["label"]
    assert float(pred["probability"]) == pytest.approx(as_json[0]["predictions"][0][
        "probability"])
    assert isinstance(as_json[0]["predictions"][0]["probability"], float)


def test_qa_objects_are_farms_qapred_and_give_the_json_back(qa_dir: Path) -> None:
    inferencer = QAInferencer.load(qa_dir, task_type="question_answering", max_seq_len=64,
                                   doc_stride=16)
    dicts = qa_inputs()
    as_json = inferencer.inference_from_dicts(dicts)
    preds = inferencer.inference_from_dicts(dicts, return_json=False)
    assert len(preds) == len(as_json) == 6 and all(isinstance(p, QAPred) for p in preds)
    assert [p.to_json() for p in preds] == as_json
    pred = preds[0]
    assert pred.question == QUESTION and pred.context == dicts[0]["text"]
    assert pred.n_passages is not None and pred.n_passages > 1  # a long text: passages
    assert pred.token_offsets == sorted(set(pred.token_offsets))
    for candidate in pred.prediction:
        assert isinstance(candidate, QACandidate)
        assert candidate.aggregation_level == "document" and candidate.offset_unit == "char"
        if candidate.answer_type == "span":
            start, end = candidate.offset_answer_start, candidate.offset_answer_end
            assert pred.context[start:end] == candidate.answer
            assert candidate.answer in (candidate.context_window or "")
            assert candidate.passage_id is not None
        else:
            assert candidate.answer == "" and candidate.passage_id is None
    squad = pred.to_squad_eval()
    assert squad["id"] == pred.id and squad["preds"][0] == pred.prediction[0].to_list()
    assert "question_id" in pred.to_json(squad=True)["predictions"][0]
    objects = inferencer.inference_from_objects(dicts, return_json=False, streaming=True)
    assert [p.to_json() for p in objects] == as_json


def test_embeddings_with_return_json_false_and_extract_vectors(
        classifier_dir: Path, farm_warnings: pytest.LogCaptureFixture) -> None:
    embedder = Inferencer.load(classifier_dir, task_type="embeddings",
                               extraction_strategy="reduce_mean", batch_size=4)
    as_json = embedder.inference_from_dicts(TEXTS[:5])
    flat = embedder.inference_from_dicts(TEXTS[:5], return_json=False)
    assert len(flat) == 5 and isinstance(flat[0]["vec"], np.ndarray)
    assert flat[0]["vec"].dtype == np.float32 and flat[0]["context"] == TEXTS[0]["text"]
    np.testing.assert_allclose(flat[4]["vec"], as_json[1]["predictions"][0]["vec"], rtol=1e-6)
    classifier = Inferencer.load(classifier_dir)
    vectors = classifier.extract_vectors(TEXTS[:5], extraction_strategy="reduce_mean",
                                         extraction_layer=-1)
    assert "deprecated" in farm_warnings.text
    for got, want in zip(vectors, flat, strict=True):
        np.testing.assert_allclose(got["vec"], want["vec"], rtol=1e-5, atol=1e-6)
    # FARM's __init__ arguments: the heads are dropped and the language model pooled.
    direct = Inferencer(classifier.model, classifier.processor, task_type="embeddings",
                        extraction_strategy="reduce_mean")
    np.testing.assert_allclose(direct.inference_from_dicts(TEXTS[:1], return_json=False)[0][
        "vec"], flat[0]["vec"], rtol=1e-5, atol=1e-6)


def test_run_inference_and_farm_load_options(
        classifier_dir: Path, farm_warnings: pytest.LogCaptureFixture) -> None:
    inferencer = Inferencer.load(classifier_dir, use_fast=False, multithreading_rust=False,
                                 tokenizer_class="BertTokenizer", num_processes=4)
    for name in ("use_fast", "multithreading_rust", "tokenizer_class", "num_processes"):
        assert name in farm_warnings.text
    assert inferencer.run_inference(TEXTS[:2]) == inferencer.inference_from_dicts(TEXTS[:2])
    inferencer.close_multiprocessing_pool(join=True)


def test_removed_inference_features_raise_with_the_replacement(classifier_dir: Path) -> None:
    with pytest.raises(FarmError, match="reduce_mean"):
        Inferencer.load(classifier_dir, task_type="embeddings", s3e_stats={"a": 1})
    with pytest.raises(FarmError, match="s3e"):
        Inferencer.load(classifier_dir, task_type="embeddings", extraction_strategy="s3e")
    with pytest.raises(FarmError, match="fasttext"):
        FasttextInferencer.load("model.bin")


def test_converter_round_trip_fits_the_processors_task(tiny_bert_dir: Path,
                                                       tmp_path: Path) -> None:
    model = make_model(tiny_bert_dir, task_name="sentiment", label_list=["negative",
                                                                         "positive"])
    hf_model = Converter.convert_to_transformers(model)[0]
    hf_model.save_pretrained(tmp_path / "hf")
    Tokenizer.load(tiny_bert_dir).save_pretrained(tmp_path / "hf")
    # A new processor calls its task "text_classification"; the converted head learned
    # "sentiment" (FARM's example expects the conversion to fit them together).
    processor = TextClassificationProcessor(
        Tokenizer.load(tmp_path / "hf"), max_seq_len=32, data_dir=None, train_filename=None,
        test_filename=None, dev_split=0.0, label_list=["negative", "positive"], metric="acc")
    back = Converter.convert_from_transformers(tmp_path / "hf", device="cpu",
                                               processor=processor)
    assert isinstance(back, AdaptiveModel)
    assert back.heads[0].task_name == "text_classification"
    assert back.heads[0].label_tensor_name == "text_classification_label_ids"
    # A processor without tasks gets the converted head's task.
    bare = InferenceProcessor(Tokenizer.load(tmp_path / "hf"), max_seq_len=32)
    again = Converter.convert_from_transformers(tmp_path / "hf", processor=bare)
    assert list(bare.tasks) == ["sentiment"] and again.heads[0].task_name == "sentiment"
    assert bare.tasks["sentiment"]["label_list"] == ["negative", "positive"]
    embedder = Converter.convert_from_transformers(tmp_path / "hf", task_type="embeddings")
    assert embedder.heads[0].task_type == "embeddings"


def test_converter_refuses_an_ambiguous_processor(tiny_bert_dir: Path, tmp_path: Path) -> None:
    model = make_model(tiny_bert_dir, task_name="sentiment")
    Converter.convert_to_transformers(model)[0].save_pretrained(tmp_path / "hf")
    Tokenizer.load(tiny_bert_dir).save_pretrained(tmp_path / "hf")
    processor = InferenceProcessor(Tokenizer.load(tmp_path / "hf"), max_seq_len=32)
    processor.add_task("coarse", "acc", ["a", "b"])
    processor.add_task("fine", "acc", ["a", "b"])
    with pytest.raises(FarmError, match="coarse"):
        Converter.convert_from_transformers(tmp_path / "hf", processor=processor)


def test_tf_conversion_is_gone_with_a_replacement() -> None:
    from farm.conversion.convert_tf_checkpoint_to_pytorch import (
        convert_tf_checkpoint_to_pytorch,
    )

    with pytest.raises(FarmError, match="from_tf=True"):
        convert_tf_checkpoint_to_pytorch("model.ckpt", "bert_config.json", "out")


def test_rest_api_module_builds_its_app_on_first_use_only(
        classifier_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    monkeypatch.chdir(tmp_path)
    sys.modules.pop("farm.inference_rest_api", None)
    module = importlib.import_module("farm.inference_rest_api")  # loads nothing
    with pytest.raises(FarmError, match="saved_models"):
        module.app  # noqa: B018 (the attribute builds the app)
    (tmp_path / "saved_models").mkdir()
    classifier_dir.rename(tmp_path / "saved_models" / "sentiment")
    client = TestClient(module.app, base_url="http://localhost")  # the server's Host check
    models = client.get("/models").json()
    assert [m["name"] for m in models] == ["sentiment"]


def test_farm_numbers_for_multilabel_ner_and_regression_predictions() -> None:
    from farm.infer import _as_numpy

    multilabel, ner, regression = _as_numpy([
        {"label": ["a"], "probability": [0.9], "probabilities": [0.9, 0.1]},
        [{"label": "LOC", "probability": 0.5, "start": 0}],
        {"context": "x", "pred": 2.5},
    ])
    assert multilabel["probability"].dtype == np.float32 and multilabel["label"] == ["a"]
    assert isinstance(ner[0]["probability"], np.float32) and ner[0]["start"] == 0
    assert isinstance(regression["pred"], np.float32) and regression["context"] == "x"
