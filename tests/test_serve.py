"""The REST API through its HTTP client: every task, all batches, validation, limits, and no
way to make the server read a path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

LOCAL = "http://localhost"  # the Host the server answers to (see test_serve_guards.py)

from farm.errors import FarmError  # noqa: E402
from farm.infer import Inferencer  # noqa: E402
from farm.serve import ServerLimits, create_app  # noqa: E402
from farm.serve.app import merge_batches  # noqa: E402
from tests.deploy_helpers import save_task_model  # noqa: E402
from tests.tiny_models import TinyModelFactory  # noqa: E402

TASKS = ["text_classification", "regression", "multilabel", "text_pair", "ner", "multitask"]
TEXTS = ["Anna visited Paris", "good food", "bad movie at night in Rome", "the song", "ok"]


@pytest.fixture(scope="module")
def model_dirs(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("served")
    return {task: save_task_model(task, tiny_bert_dir, root / task) for task in TASKS}


@pytest.fixture(scope="module")
def client(model_dirs: dict[str, Path], tiny_bert_dir: Path) -> Iterator[TestClient]:
    embeddings = Inferencer.load(tiny_bert_dir, task_type="embeddings",
                                 extraction_strategy="reduce_mean", disable_tqdm=True)
    embeddings.name = "vectors"
    app = create_app([*model_dirs.values(), embeddings], batch_size=2)
    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


def inputs_for(task: str) -> list[dict[str, Any]]:
    if task == "text_pair":
        return [{"text": t, "text_b": "the food"} for t in TEXTS]
    return [{"text": t} for t in TEXTS]


def test_health_and_models(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    models = client.get("/models").json()
    assert [(m["id"], m["name"]) for m in models] == [
        (i + 1, name) for i, name in enumerate([*TASKS, "vectors"])]
    by_name = {m["name"]: m for m in models}
    assert by_name["text_classification"]["task"] == "text_classification"
    assert by_name["text_classification"]["labels"] == ["negative", "positive"]
    assert by_name["multitask"]["task"] == "multitask"
    assert [t["task_name"] for t in by_name["multitask"]["tasks"]] == ["coarse", "fine"]
    assert by_name["ner"]["labels"] == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert by_name["multilabel"]["tasks"][0]["pred_threshold"] == 0.5
    assert {m["name"]: m["form"]["name"] for m in models} == {
        **{t: "text" for t in TASKS}, "text_pair": "text_pair", "vectors": "text"}
    assert by_name["text_pair"]["form"]["fields"] == {"text": "text", "text_b": "text"}
    assert client.get("/models/2").json()["name"] == "regression"


@pytest.mark.parametrize("task", [*TASKS, "vectors"])
def test_inference_returns_every_prediction_of_every_task(
    task: str, client: TestClient, model_dirs: dict[str, Path], tiny_bert_dir: Path
) -> None:
    """Five inputs with batch size 2: all five predictions come back, as the inferencer
    gives them, one result per head."""
    dicts = inputs_for(task)
    response = client.post(f"/models/{task}/inference", json={"input": dicts})
    assert response.status_code == 200, response.text
    results = response.json()
    if task == "vectors":
        reference = Inferencer.load(tiny_bert_dir, task_type="embeddings",
                                    extraction_strategy="reduce_mean", disable_tqdm=True)
    else:
        reference = Inferencer.load(model_dirs[task], return_class_probs=True, batch_size=3,
                                    disable_tqdm=True)
    expected = merge_batches(reference.inference_from_dicts(dicts))
    assert _close(results, json.loads(json.dumps(expected)))
    assert all(len(r["predictions"]) == len(TEXTS) for r in results)
    assert len(results) == (2 if task == "multitask" else 1)


def _close(ours: Any, theirs: Any) -> bool:
    """Equal, floats within 1e-5 (batches of other sizes pad differently)."""
    if isinstance(theirs, float):
        return abs(ours - theirs) < 1e-5
    if isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(_close(ours[k], theirs[k]) for k in theirs)
    if isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_close(a, b) for a, b in
                                                zip(ours, theirs, strict=True))
    return bool(ours == theirs)


def test_ner_spans_slice_the_text(client: TestClient) -> None:
    response = client.post("/models/5/inference", json={"input": [{"text": TEXTS[2]}]})
    (result,) = response.json()
    for entity in result["predictions"][0]:
        assert TEXTS[2][entity["start"]:entity["end"]] == entity["context"]


def problems(response: Any) -> list[tuple[str, str]]:
    return [(e["loc"], e["msg"]) for e in response.json()["errors"]]


def test_invalid_inputs_are_answered_with_what_is_wrong(client: TestClient) -> None:
    response = client.post("/models/1/inference", json={"input": [
        {"txt": "typo"}, {"text": 3}, {"text": "  "}, "just a string"]})
    assert response.status_code == 422
    found = problems(response)
    assert ("input[0].txt", "unknown field 'txt'. Did you mean 'text'? This model takes "
            "['id', 'text'].") in found
    assert ("input[0].text", "missing field 'text' (the text to predict for).") in found
    assert ("input[1].text", "expected a string; got int.") in found
    assert ("input[2].text", "the text is empty.") in found
    assert found[-1][0] == "input[3]" and "expected an object like" in found[-1][1]
    assert "Invalid input for model 'text_classification'" in response.json()["detail"]

    pair = client.post("/models/text_pair/inference", json={"input": [{"text": "a"}]})
    assert pair.status_code == 422
    assert ("input[0].text_b", "missing field 'text_b' (the second text).") in problems(pair)

    assert "input is empty" in client.post("/models/1/inference", json={"input": []}).text
    no_input = client.post("/models/1/inference", json={"inputs": [{"text": "a"}]})
    assert no_input.status_code == 422
    assert {loc for loc, _ in problems(no_input)} == {"body.input", "body.inputs"}
    not_json = client.post("/models/1/inference", content=b"{input: nope",
                           headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["detail"] == "The body is not valid JSON."


def test_unknown_models_and_paths_are_not_found(client: TestClient) -> None:
    response = client.post("/models/9/inference", json={"input": [{"text": "a"}]})
    assert response.status_code == 404
    assert "No model '9'; this server has ['1 (text_classification)'" in response.json()["detail"]
    for url in ["/models/..%2F..%2Fetc%2Fpasswd", "/static/..%2F..%2Fapp.py",
                "/static/%2E%2E%2Fapp.py", "/static/index.html%00", "/static/tasks.py"]:
        assert client.get(url).status_code == 404, url
    assert client.get("/etc/passwd").status_code == 404


def test_limits_are_enforced(model_dirs: dict[str, Path]) -> None:
    limits = ServerLimits(max_body_bytes=400, max_inputs=3, max_text_chars=40)
    with TestClient(create_app([model_dirs["text_classification"]], limits=limits),
                    base_url=LOCAL) as client:
        ok = client.post("/models/1/inference", json={"input": [{"text": "fine"}] * 3})
        assert ok.status_code == 200
        many = client.post("/models/1/inference", json={"input": [{"text": "a"}] * 4})
        assert many.status_code == 422
        assert "input has 4 items; this server accepts at most 3" in many.text
        long = client.post("/models/1/inference", json={"input": [{"text": "x" * 41}]})
        assert ("input[0].text", "the text has 41 characters; this server accepts at most "
                "40 (--max-text-chars).") in problems(long)
        big = client.post("/models/1/inference", json={"input": [{"text": "y" * 500}]})
        assert big.status_code == 413
        assert "larger than this server accepts (400 bytes" in big.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"input": [{"text": "'
            for _ in range(10):
                yield b"z" * 50
            yield b'"}]}'

        chunked = client.post("/models/1/inference", content=chunks(),
                              headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413


def test_hugging_face_folders_are_served_with_a_task_type(
    tiny_model_factory: TinyModelFactory,
) -> None:
    folder = tiny_model_factory("bert", num_labels=3)
    with TestClient(create_app([folder], task_type="text_classification"),
                    base_url=LOCAL) as client:
        (model,) = client.get("/models").json()
        assert model["task"] == "text_classification"
        assert model["labels"] == ["LABEL_0", "LABEL_1", "LABEL_2"]
        response = client.post("/models/1/inference", json={"input": [{"text": "a"}]})
        assert len(response.json()[0]["predictions"][0]["probabilities"]) == 3
    with pytest.raises(FarmError, match="pass task_type="):
        create_app([folder])


def test_openapi_and_demo_page_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/health", "/models", "/models/{model_id}/inference"} <= set(schema["paths"])
    page = client.get("/")
    assert page.status_code == 200 and 'id="predict"' in page.text
    assert "http" not in page.text.replace('href="/', "").split("<body>")[0]  # offline
    script = client.get("/static/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "RENDERERS" in script.text
    assert client.get("/static/style.css").status_code == 200


def test_api_docs_pages_load_nothing_from_the_network(client: TestClient) -> None:
    """/docs (Swagger UI) and /redoc use the fastapi-offline package's copies of their files,
    served by FARM, not a CDN."""
    pytest.importorskip("fastapi_offline")
    for url, script in [("/docs", "/docs-assets/swagger-ui-bundle.js"),
                        ("/redoc", "/docs-assets/redoc.standalone.js")]:
        page = client.get(url)
        assert page.status_code == 200 and script in page.text, url
        assert "cdn." not in page.text and "fonts.googleapis" not in page.text, url
        assert "/openapi.json" in page.text
    for name, kind in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css"),
                       ("redoc.standalone.js", "text/javascript"), ("favicon.png", "image/png")]:
        asset = client.get(f"/docs-assets/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind), name
        assert len(asset.content) > 1000
    for url in ["/docs-assets/..%2Fcore.py", "/docs-assets/core.py", "/docs-assets/"]:
        assert client.get(url).status_code == 404, url
