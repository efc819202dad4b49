"""``farm serve``'s options reach the app (uvicorn.run is replaced by a catcher), and
``--task-type embeddings`` serves a saved language model's vectors as ``farm predict``
gives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from farm.cli import EXIT_INPUT, EXIT_OK, main  # noqa: E402
from farm.modeling.adaptive_model import AdaptiveModel  # noqa: E402
from farm.modeling.language_model import LanguageModel  # noqa: E402
from farm.modeling.prediction_head import BertLMHead  # noqa: E402
from tests.lm_helpers import make_lm_processor  # noqa: E402

TEXTS = ["the film was long", "good food in paris"]


@pytest.fixture(scope="module")
def lm_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved FARM language model (masked-LM head), as `farm train` writes one."""
    folder = tmp_path_factory.mktemp("lm") / "adapted_lm"
    processor = make_lm_processor(tiny_bert_dir, None, train_filename=None, test_filename=None)
    head = BertLMHead(hidden_size=32, vocab_size=len(processor.tokenizer))
    model = AdaptiveModel(LanguageModel.load(tiny_bert_dir), [head], 0.0,
                          lm_output_types=["per_token"])
    model.save(folder)
    processor.save(folder)
    return folder


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `farm serve` hands to uvicorn.run."""
    import uvicorn

    caught: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: caught.update(app=app, **kwargs))
    return caught


def test_task_type_embeddings_serves_a_language_model_as_predict_does(
    lm_dir: Path, served: dict[str, Any], tmp_path: Path
) -> None:
    assert main(["-q", "serve", str(lm_dir), "--task-type", "embeddings",
                 "--extraction-strategy", "reduce_mean"]) == EXIT_OK
    with TestClient(served["app"], base_url="http://localhost") as client:
        (model,) = client.get("/models").json()
        assert (model["name"], model["task"], model["form"]["name"]) == (
            "adapted_lm", "embeddings", "text")
        response = client.post("/models/1/inference", json={
            "input": [{"text": t} for t in TEXTS]})
        assert response.status_code == 200, response.text
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    assert main(["-q", "predict", str(lm_dir), str(inputs), "--task-type", "embeddings",
                 "--extraction-strategy", "reduce_mean", "--output",
                 str(tmp_path / "out.json")]) == EXIT_OK
    predicted = json.loads((tmp_path / "out.json").read_text())
    ours = [p["vec"] for p in response.json()[0]["predictions"]]
    theirs = [p["vec"] for p in predicted[0]["predictions"]]
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs, strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5

    # Without the option the folder is refused, naming what to do.
    assert main(["-q", "serve", str(lm_dir)]) == EXIT_INPUT


def test_serve_options_reach_the_app(lm_dir: Path, served: dict[str, Any]) -> None:
    assert main(["-q", "serve", str(lm_dir), "--task-type", "embeddings", "--host",
                 "192.168.7.7", "--port", "8123", "--workers", "2", "--max-queue", "3",
                 "--timeout", "7.5", "--body-timeout", "4", "--max-passages", "99",
                 "--allowed-hosts", "farm.lan", "--threads", "2"]) == EXIT_OK
    app = served["app"]
    assert (served["host"], served["port"]) == ("192.168.7.7", 8123)
    limits = app.state.limits
    assert (limits.max_queue, limits.timeout, limits.body_timeout, limits.max_passages) == (
        3, 7.5, 4.0, 99)
    (model,) = app.state.models
    assert (model.workers.workers, model.workers.capacity) == (2, 5)
    with TestClient(app, base_url="http://farm.lan") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": "192.168.7.7:8123"}).status_code == 200
        assert client.get("/health", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize("option", [["--workers", "0"], ["--threads", "-1"],
                                    ["--max-queue", "-1"], ["--timeout", "0"]])
def test_bad_serve_options_are_refused(lm_dir: Path, served: dict[str, Any],
                                       option: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    args = ["-q", "serve", str(lm_dir), "--task-type", "embeddings", *option]
    assert main(args) == EXIT_INPUT
    name = option[0][2:].replace("-", "_")
    assert f"{name} must be" in capsys.readouterr().err
    assert "app" not in served
