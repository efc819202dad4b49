"""Serving hygiene: the Host header check (DNS rebinding), the security headers and the
demo page's content security policy, ids that are strings or integers, error answers of
bounded size, and model names a person can read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from farm.serve import ServerLimits, create_app  # noqa: E402
from farm.serve.app import model_name  # noqa: E402
from farm.serve.guards import allowed_host_names, host_name, hosts_for  # noqa: E402
from tests.deploy_helpers import save_task_model  # noqa: E402


@pytest.fixture(scope="module")
def model_dirs(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("guards")
    return {"sentiment": save_task_model("text_classification", tiny_bert_dir,
                                         root / "sentiment" / "best_model"),
            "qa": save_task_model("qa", tiny_bert_dir, root / "answers")}


@pytest.fixture(scope="module")
def client(model_dirs: dict[str, Path]) -> Iterator[TestClient]:
    app = create_app(list(model_dirs.values()), limits=ServerLimits(max_errors=20))
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:80", "[::1]:8000",
                                  "LOCALHOST.", "::1"])
def test_loopback_names_are_answered(client: TestClient, host: str) -> None:
    assert client.get("/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "", "10.0.0.1"])
def test_other_host_names_are_refused(client: TestClient, host: str) -> None:
    """A page on another site that rebinds its name to 127.0.0.1 sends its own name in
    the Host header: refused, for every path."""
    for path in ["/health", "/", "/models"]:
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, (host, path)
        assert response.headers["x-frame-options"] == "DENY"
        assert f"Host '{host}' is not served here" in response.json()["detail"]
        assert "--allowed-hosts" in response.json()["detail"]
    response = client.post("/models/1/inference", json={"input": [{"text": "a"}]},
                           headers={"Host": host})
    assert response.status_code == 400


def test_allowed_hosts_add_names(model_dirs: dict[str, Path]) -> None:
    app = create_app([model_dirs["sentiment"]], allowed_hosts=["farm.internal", "10.0.0.1"])
    with TestClient(app, base_url="http://farm.internal") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": "10.0.0.1:8000"}).status_code == 200
        assert client.get("/health", headers={"Host": "localhost"}).status_code == 200
        assert client.get("/health", headers={"Host": "other.internal"}).status_code == 400
    with TestClient(create_app([model_dirs["sentiment"]], allowed_hosts=["*"]),
                    base_url="http://any.name") as client:
        assert client.get("/health").status_code == 200


def test_hosts_for_the_address_the_server_listens_on() -> None:
    assert host_name("[::1]:8000") == "::1" and host_name("Example.COM.:80") == "example.com"
    assert allowed_host_names(hosts_for("127.0.0.1", None)) == ["127.0.0.1", "::1", "localhost"]
    assert "192.168.1.5" in (allowed_host_names(hosts_for("192.168.1.5", ["farm.lan"])) or [])
    assert allowed_host_names(hosts_for("0.0.0.0", None)) is None  # every interface: any name
    assert allowed_host_names(hosts_for("0.0.0.0", ["farm.lan"])) == [
        "0.0.0.0", "127.0.0.1", "::1", "farm.lan", "localhost"]


def test_answers_carry_security_headers_and_the_page_a_policy(client: TestClient) -> None:
    too_large = client.post("/models/1/inference", content=b"x" * 2_000_000,
                            headers={"Content-Type": "application/json"})
    assert too_large.status_code == 413
    assert too_large.headers["x-content-type-options"] == "nosniff"
    for path in ["/health", "/models", "/static/app.js", "/nothing"]:
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    # The policy allows no inline script or style: the page has none.
    assert "<script>" not in page.text and "<style" not in page.text
    assert " style=" not in page.text and " onclick=" not in page.text


@pytest.mark.parametrize("bad_id", [1.5, float("nan"), None, True, [1], {"a": 1}])
def test_ids_are_strings_or_integers(client: TestClient, bad_id: object) -> None:
    found = "null" if bad_id is None else type(bad_id).__name__
    body = json.dumps({"input": [{"text": "a", "id": bad_id}]})  # NaN as JSON's NaN literal
    response = client.post("/models/1/inference", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": "input[0].id", "msg": f"expected a string or an integer; got {found}."}]
    qa = client.post("/models/2/inference", content=json.dumps({"input": [
        {"questions": [{"question": "what?", "id": bad_id}], "text": "a text"}]}),
        headers={"Content-Type": "application/json"})
    assert qa.status_code == 422
    assert qa.json()["errors"] == [{"loc": "input[0].questions[0].id",
                                    "msg": f"expected a string or an integer; got {found}."}]


def test_string_and_integer_ids_are_accepted(client: TestClient) -> None:
    for good in ["a-1", 7, -3, 10**30]:
        response = client.post("/models/1/inference", json={"input": [{"text": "a", "id": good}]})
        assert response.status_code == 200, good


def test_error_answers_are_bounded(client: TestClient) -> None:
    """Every problem is checked, at most 20 listed; the rest counted. Long field names are
    shortened where the answer repeats them, so the answer stays smaller than the request."""
    long_key = "k" * 5000
    body = {"input": [{f"field_{i}_{j}_{'x' * 40}": 1 for j in range(50)} | {long_key: 1}
                      for i in range(100)]}
    request = json.dumps(body).encode()
    response = client.post("/models/1/inference", content=request,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    answer = response.json()
    assert len(answer["errors"]) == 20
    assert answer["errors_omitted"] == 100 * 52 - 20  # 51 unknown + 1 missing field each
    assert answer["detail"].endswith("(and 5195 more)")  # the detail names 5
    assert len(response.content) < 10_000 < len(request)
    assert all(len(e["loc"]) < 100 for e in answer["errors"])

    extra = client.post("/models/1/inference", json={
        "input": [{"text": "a"}], **{f"extra_{i}_{'y' * 60}": 1 for i in range(2000)}})
    assert extra.status_code == 422
    assert len(extra.json()["errors"]) == 20 and extra.json()["errors_omitted"] == 1980
    assert len(extra.content) < 10_000


def test_model_names_a_person_can_read(model_dirs: dict[str, Path], client: TestClient,
                                       tmp_path: Path) -> None:
    """A folder named like best_model is named after the folder above; a "name" in
    farm_model.json comes first."""
    assert [m["name"] for m in client.get("/models").json()] == ["sentiment", "answers"]
    assert model_name(model_dirs["qa"]) == "answers"
    named = tmp_path / "model"
    named.mkdir()
    meta = json.loads((model_dirs["qa"] / "farm_model.json").read_text())
    (named / "farm_model.json").write_text(json.dumps({**meta, "name": "Support answers"}))
    assert model_name(named) == "Support answers"
    (named / "farm_model.json").write_text("{not json")
    assert model_name(named) == tmp_path.name
