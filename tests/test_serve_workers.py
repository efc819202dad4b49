"""The server under load, on a real loopback socket: one busy model does not hold up
``/health``, ``/models`` or another model; its queue is bounded (503 + Retry-After), each
request has a time limit (504), queued work of a client that has gone is dropped, and a
stalled body is answered 408."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from farm.infer import Inferencer  # noqa: E402
from farm.serve import ServerLimits, create_app  # noqa: E402
from tests.deploy_helpers import save_task_model  # noqa: E402
from tests.serve_helpers import HeldModel, request, running, wait_for  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers")
    return save_task_model("text_classification", tiny_bert_dir, root / "sentiment")


def held_model(model_dir: Path) -> HeldModel:
    inferencer = Inferencer.load(model_dir, return_class_probs=True, disable_tqdm=True)
    inferencer.name = "slow"
    return HeldModel(inferencer)


def text_input(text: str) -> dict[str, Any]:
    return {"input": [{"text": text}]}


def test_health_models_and_other_models_answer_while_a_model_is_saturated(
    model_dir: Path,
) -> None:
    """48 concurrent requests for a model whose inference keeps the CPU busy (as the
    review's 48 NER requests did): 1 runs, 16 wait, 31 are refused with 503 and
    Retry-After; meanwhile /health answers within 1 s, /models too, and the other model's
    requests are answered."""
    slow = held_model(model_dir)
    app = create_app([slow.inferencer, model_dir], limits=ServerLimits(max_queue=16))
    pool = app.state.models[0].workers
    with running(app) as port, ThreadPoolExecutor(48) as clients:
        answers = [clients.submit(request, port, "POST", "/models/1/inference",
                                  text_input(f"text {i}")) for i in range(48)]
        wait_for(lambda: sum(a.done() for a in answers) == 31, "31 requests refused")
        assert pool.pending == 17 and len(slow.started) == 1
        refused = [a.result() for a in answers if a.done()]
        for status, headers, body in refused:
            assert status == 503
            assert int(headers["retry-after"]) >= 1
            assert "is busy: 1 request(s) running and 16 waiting (--workers, --max-queue)" in (
                body["detail"])

        began = time.perf_counter()
        status, _, health = request(port, "GET", "/health")
        health_seconds = time.perf_counter() - began
        assert status == 200 and health["status"] == "ok"
        assert health_seconds < 1.0, f"/health took {health_seconds:.2f} s"
        status, _, models = request(port, "GET", "/models")
        assert status == 200 and [m["name"] for m in models] == ["slow", "sentiment"]
        status, _, other = request(port, "POST", "/models/2/inference", text_input("good"))
        assert status == 200 and other[0]["predictions"][0]["label"]

        slow.release()
        results = [a.result() for a in answers]
    assert sorted(status for status, _, _ in results) == [200] * 17 + [503] * 31
    assert len(slow.started) == 17


def test_a_request_past_its_time_limit_is_answered_504(model_dir: Path) -> None:
    """A request past its time limit is answered 504; one still waiting when its limit
    passes is dropped: its inference never starts (here the running one is inside one long
    model batch, so its worker stays busy until the batch ends)."""
    slow = HeldModel(Inferencer.load(model_dir, disable_tqdm=True), one_long_batch=True)
    slow.inferencer.name = "slow"
    app = create_app([slow.inferencer], limits=ServerLimits(timeout=0.5))
    try:
        with running(app) as port:
            status, _, body = request(port, "POST", "/models/1/inference", text_input("first"))
            assert status == 504
            assert body["detail"] == (
                "Model 'slow' did not answer within 0.5 s (--timeout); the request was "
                "stopped (its inference ends at its next model batch). Send fewer or shorter "
                "inputs per request.")
            status, _, body = request(port, "POST", "/models/1/inference", text_input("second"))
            assert status == 504 and "dropped from the queue" in body["detail"]
            slow.release()
            wait_for(lambda: app.state.models[0].workers.pending == 0, "the worker is free")
            status, _, _ = request(port, "POST", "/models/1/inference", text_input("third"))
            assert status == 200
    finally:
        slow.release()
    assert slow.started == ["first", "third"]


def test_an_inference_past_its_time_limit_stops_at_its_next_batch(model_dir: Path) -> None:
    """The inference of a request answered 504 stops between model batches: its worker is
    free again although the model was never released."""
    slow = held_model(model_dir)
    app = create_app([slow.inferencer], limits=ServerLimits(timeout=0.5))
    pool = app.state.models[0].workers
    try:
        with running(app) as port:
            status, _, _ = request(port, "POST", "/models/1/inference", text_input("first"))
            assert status == 504
            wait_for(lambda: pool.pending == 0, "the stopped inference frees its worker")
            slow.release()
            status, _, _ = request(port, "POST", "/models/1/inference", text_input("second"))
            assert status == 200
    finally:
        slow.release()
    assert slow.started == ["first", "second"]


def test_a_running_inference_stops_when_its_client_leaves(model_dir: Path) -> None:
    """The client of a running request closes its connection: the inference stops at its
    next model batch and the worker takes the next request, though the model was never
    released."""
    slow = held_model(model_dir)
    app = create_app([slow.inferencer])
    pool = app.state.models[0].workers
    try:
        with running(app) as port:
            body = b'{"input": [{"text": "leaves"}]}'
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"POST /models/1/inference HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                wait_for(lambda: slow.started == ["leaves"], "the request runs")
            wait_for(lambda: pool.pending == 0, "the inference of the client that left stops")
            slow.release()
            status, _, _ = request(port, "POST", "/models/1/inference", text_input("next"))
            assert status == 200
    finally:
        slow.release()
    assert slow.started == ["leaves", "next"]


def test_queued_work_of_a_client_that_left_is_dropped(model_dir: Path) -> None:
    slow = held_model(model_dir)
    app = create_app([slow.inferencer])
    pool = app.state.models[0].workers
    try:
        with running(app) as port, ThreadPoolExecutor(1) as client:
            first = client.submit(request, port, "POST", "/models/1/inference",
                                  text_input("stays"))
            wait_for(lambda: slow.started == ["stays"], "the first request runs")
            body = b'{"input": [{"text": "leaves"}]}'
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"POST /models/1/inference HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                wait_for(lambda: pool.pending == 2, "the second request waits")
            wait_for(lambda: pool.pending == 1, "the request of the client that left is dropped")
            slow.release()
            assert first.result()[0] == 200
    finally:
        slow.release()
    assert slow.started == ["stays"]


def test_a_stalled_body_is_answered_408_and_other_hosts_400(model_dir: Path) -> None:
    app = create_app([model_dir], limits=ServerLimits(body_timeout=0.5))
    with running(app) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /models/1/inference HTTP/1.1\r\nHost: localhost\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                         b'{"input": ')
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"did not arrive within 0.5 s (the server's --body-timeout)" in answer

        status, _, body = request(port, "GET", "/health", headers={"Host": "evil.example"})
        assert status == 400 and "Host 'evil.example' is not served here" in body["detail"]
        status, _, _ = request(port, "GET", "/health", headers={"Host": f"localhost:{port}"})
        assert status == 200


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
        if b"\r\n\r\n" in b"".join(chunks) and b"}" in chunk:
            break
    return b"".join(chunks)


def test_workers_run_requests_of_one_model_side_by_side(model_dir: Path) -> None:
    """With workers=2, two requests of one model run at the same time."""
    slow = held_model(model_dir)
    app = create_app([slow.inferencer], workers=2)
    try:
        with running(app) as port, ThreadPoolExecutor(2) as clients:
            answers = [clients.submit(request, port, "POST", "/models/1/inference",
                                      text_input(f"side {i}")) for i in range(2)]
            wait_for(lambda: len(slow.started) == 2, "both requests run")
            slow.release()
            assert [a.result()[0] for a in answers] == [200, 200]
    finally:
        slow.release()
    wait_for(lambda: not any(t.name.startswith("farm-slow") for t in threading.enumerate()),
             "the workers end with the app")


def test_each_worker_has_its_own_processor_and_shares_the_model(model_dir: Path) -> None:
    """A tokenizer's truncation setting is state: with several workers each thread gets
    its own copy of the processor (and tokenizer); the model is shared. One worker uses
    the inferencer as it is."""
    (one,) = create_app([model_dir]).state.models
    assert one.worker_inferencer() is one.inferencer
    (model,) = create_app([model_dir], workers=2).state.models
    seen: list[Any] = []
    threads = [threading.Thread(target=lambda: seen.append(
        (model.worker_inferencer(), model.worker_inferencer()))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a, a_again), (b, _) = seen
    assert a is a_again and a is not b
    assert a.processor is not b.processor and a.processor.tokenizer is not b.processor.tokenizer
    assert a.model is b.model is model.inferencer.model
    dicts = [{"text": "a warm film"}, {"text": "cold soup " * 50}]
    assert a.inference_from_dicts(dicts) == model.inferencer.inference_from_dicts(dicts)
