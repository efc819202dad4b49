"""The REST API on a real loopback socket (uvicorn in a thread), and a model whose
inference can be held: what the tests of the server's workers, queue and time limits need."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from farm.infer import Inferencer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(app: Any) -> Iterator[int]:
    """``app`` served by uvicorn on 127.0.0.1 in a thread; yields the port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "uvicorn did not start")
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def wait_for(condition: Callable[[], bool], message: str, seconds: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail with ``message`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.01)


def request(port: int, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """One HTTP request on a new connection: status, headers (lower-case names), JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers={
            "Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        payload = response.read()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                json.loads(payload) if payload else None)
    finally:
        connection.close()


class HeldModel:
    """An inferencer whose inference, once started, keeps running (the real model, again
    and again: a busy CPU) until :meth:`release`; records the texts of each started request.

    Args:
        inferencer (Inferencer): A text model (inputs ``{"text": ...}``).
        one_long_batch (bool): Hold inside one model batch instead (no point between
            batches where a cancelled request could stop).
    """

    def __init__(self, inferencer: Inferencer, one_long_batch: bool = False):
        self.inferencer = inferencer
        self.released = threading.Event()
        self.started: list[str] = []
        inner = inferencer.inference_from_dicts

        def held(dicts: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
            self.started.append(dicts[0]["text"])
            results = inner(dicts, **kwargs)
            if one_long_batch:
                self.released.wait()
            while not self.released.wait(0.001):
                results = inner(dicts, **kwargs)
            return results

        inferencer.inference_from_dicts = held  # type: ignore[method-assign]

    def release(self) -> None:
        self.released.set()
