"""The REST API serving rankers: a passage-ranking cross-encoder (AdaptiveModel) and a dense
retriever (BiAdaptiveModel) rank the passages of each query; validation and limits. A
masked-LM model, which gives no inference results, is refused at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

LOCAL = "http://localhost"  # the Host the server answers to (see test_serve_guards.py)

from farm.errors import FarmError  # noqa: E402
from farm.infer import Inferencer  # noqa: E402
from farm.infer_similarity import TextSimilarityInferencer  # noqa: E402
from farm.modeling.adaptive_model import AdaptiveModel  # noqa: E402
from farm.modeling.language_model import LanguageModel  # noqa: E402
from farm.modeling.prediction_head import BertLMHead  # noqa: E402
from farm.serve import ServerLimits, create_app  # noqa: E402
from farm.serve.app import merge_batches  # noqa: E402
from tests.deploy_helpers import save_task_model  # noqa: E402
from tests.lm_helpers import make_lm_processor  # noqa: E402

RANKERS = ["passage_ranking", "text_similarity"]
INPUTS = [
    {"query": "how is the food in paris", "passages": [
        "the food in berlin is great", {"title": "paris", "text": "the food in paris"},
        "the park in paris is great"]},
    {"query": "how is the film in tokyo", "passages": ["the film in tokyo is great"]},
    {"query": "music in vienna", "passages": [{"text": "a concert"}, "the river"]},
]


@pytest.fixture(scope="module")
def model_dirs(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rankers")
    return {task: save_task_model(task, tiny_bert_dir, root / task) for task in RANKERS}


@pytest.fixture(scope="module")
def client(model_dirs: dict[str, Path]) -> Iterator[TestClient]:
    with TestClient(create_app(list(model_dirs.values()), batch_size=2),
                    base_url=LOCAL) as test_client:
        yield test_client


def test_models_report_their_task_and_the_ranking_form(client: TestClient) -> None:
    models = client.get("/models").json()
    assert [(m["name"], m["task"]) for m in models] == [(t, t) for t in RANKERS]
    assert [m["form"]["name"] for m in models] == ["ranking", "retrieval"]
    for model in models:
        assert model["form"]["fields"] == {"query": "text", "passages": "passages"}
    # A dense retriever also takes a query alone or passages alone (their vectors).
    assert "alternatives" not in models[0]["form"]
    assert [(a["name"], a["fields"]) for a in models[1]["form"]["alternatives"]] == [
        ("query_vector", {"query": "text"}), ("passage_vectors", {"passages": "passages"})]


def test_a_dense_retriever_serves_query_and_passage_vectors(
    client: TestClient, model_dirs: dict[str, Path]
) -> None:
    reference = Inferencer.load(model_dirs["text_similarity"], disable_tqdm=True)
    assert isinstance(reference, TextSimilarityInferencer)
    queries = [{"query": "how is the food in paris"}, {"query": "music in vienna", "id": 7}]
    response = client.post("/models/text_similarity/inference", json={"input": queries})
    assert response.status_code == 200, response.text
    (result,) = response.json()
    assert [p["query"] for p in result["predictions"]] == [q["query"] for q in queries]
    expected = reference.embed_queries([q["query"] for q in queries])
    assert np.abs(np.array([p["vec"] for p in result["predictions"]]) - expected).max() <= 1e-5

    groups = [{"passages": INPUTS[0]["passages"]}, {"passages": ["the river"]}]
    response = client.post("/models/text_similarity/inference", json={"input": groups})
    assert response.status_code == 200, response.text
    (result,) = response.json()
    served = [p for prediction in result["predictions"] for p in prediction["passages"]]
    assert [p["text"] for p in served] == [
        "the food in berlin is great", "the food in paris", "the park in paris is great",
        "the river"]
    assert served[1]["title"] == "paris"
    expected = reference.embed_passages([*INPUTS[0]["passages"], "the river"])
    assert np.abs(np.array([p["vec"] for p in served]) - expected).max() <= 1e-5

    # Passages alone count towards the limits too; a cross-encoder has no vectors to give.
    many = client.post("/models/text_similarity/inference",
                       json={"input": [{"passages": ["a"] * 300}]})
    assert many.status_code == 422
    assert "input has 300 passages in all" in many.json()["errors"][0]["msg"]
    ranker = client.post("/models/passage_ranking/inference", json={"input": queries[:1]})
    assert ranker.status_code == 422
    assert ranker.json()["errors"] == [{"loc": "input[0].passages", "msg": "missing field "
                                        "'passages' (the candidate passages (strings, or "
                                        "objects {\"title\", \"text\"}))."}]


def test_a_dense_retriever_asks_for_one_kind_of_input_per_request(client: TestClient) -> None:
    mixed = client.post("/models/text_similarity/inference",
                        json={"input": [{"query": "a query"}, INPUTS[1]]})
    assert mixed.status_code == 422
    assert "Some input dicts have" in mixed.json()["detail"]
    typo = client.post("/models/text_similarity/inference",
                       json={"input": [{"qery": "q", "passages": ["a"]}]})
    assert typo.status_code == 422
    assert [e["loc"] for e in typo.json()["errors"]] == ["input[0].qery", "input[0].query"]


@pytest.mark.parametrize("task", RANKERS)
def test_every_querys_passages_are_ranked(task: str, client: TestClient,
                                          model_dirs: dict[str, Path]) -> None:
    response = client.post(f"/models/{task}/inference", json={"input": INPUTS})
    assert response.status_code == 200, response.text
    (result,) = response.json()
    assert (result["task"], result["task_name"]) == (task, task)
    predictions = result["predictions"]
    assert [p["query"] for p in predictions] == [i["query"] for i in INPUTS]
    for prediction, item in zip(predictions, INPUTS, strict=True):
        ranking = prediction["ranking"]
        assert sorted(r["index"] for r in ranking) == list(range(len(item["passages"])))
        for r in ranking:
            given = item["passages"][r["index"]]
            assert r["text"] == (given if isinstance(given, str) else given["text"])
        scores = [r["score"] for r in ranking]
        assert scores == sorted(scores, reverse=True)
    reference = Inferencer.load(model_dirs[task], batch_size=3, disable_tqdm=True)
    expected = merge_batches(reference.inference_from_dicts(INPUTS))
    assert [[r["index"] for r in p["ranking"]] for p in predictions] == [
        [r["index"] for r in p["ranking"]] for p in expected[0]["predictions"]]
    assert [r["score"] for p in predictions for r in p["ranking"]] == pytest.approx(
        [r["score"] for p in expected[0]["predictions"] for r in p["ranking"]], abs=1e-5)


def test_invalid_ranking_inputs_are_answered_with_what_is_wrong(client: TestClient) -> None:
    response = client.post("/models/1/inference", json={"input": [
        {"query": "q", "passages": []},
        {"query": "", "passages": [{"title": 3, "txt": "a"}, 7]},
        {"qery": "q", "passages": ["a"]},
    ]})
    assert response.status_code == 422
    assert [(e["loc"], e["msg"]) for e in response.json()["errors"]] == [
        ("input[0].passages", 'expected a non-empty list of passages (strings or {"text": '
         '...}); got an empty list.'),
        ("input[1].query", "the text is empty."),
        ("input[1].passages[0].txt", "unknown field 'txt' of a passage. Did you mean "
         "'text'? A passage takes ['text', 'title']."),
        ("input[1].passages[0].text", "expected the passage text (a string); got nothing."),
        ("input[1].passages[0].title", "expected a string; got int."),
        ("input[1].passages[1]", "expected a string; got int."),
        ("input[2].qery", "unknown field 'qery'. Did you mean 'query'? This model takes "
         "['id', 'passages', 'query']."),
        ("input[2].query", "missing field 'query' (the query the passages are ranked for)."),
    ]


def test_passages_count_towards_the_input_limit(model_dirs: dict[str, Path]) -> None:
    limits = ServerLimits(max_inputs=3)
    with TestClient(create_app([model_dirs["text_similarity"]], limits=limits),
                    base_url=LOCAL) as client:
        ok = client.post("/models/1/inference", json={"input": [INPUTS[0]]})
        assert ok.status_code == 200
        many = client.post("/models/1/inference", json={"input": INPUTS[:2]})
        assert many.status_code == 422
        errors: list[dict[str, Any]] = many.json()["errors"]
        assert errors == [{"loc": "input", "msg": "input has 4 passages in all; this server "
                           "accepts at most 3 per request (--max-inputs). Split the request."}]


def test_a_masked_lm_model_is_refused_at_start(tiny_bert_dir: Path, tmp_path: Path) -> None:
    processor = make_lm_processor(tiny_bert_dir, None, train_filename=None, test_filename=None)
    head = BertLMHead(hidden_size=32, vocab_size=len(processor.tokenizer))
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [head], 0.0,
                          lm_output_types=["per_token"])
    model.save(tmp_path / "lm")
    processor.save(tmp_path / "lm")
    with pytest.raises(FarmError, match=r"Model 1 \(.*lm\) cannot be served: its masked-LM "
                       r"head \(BertLMHead\) gives no inference results"):
        create_app([tmp_path / "lm"])
