"""Request limits of the REST API and the middleware that enforces the body's size and the
time it may take to arrive."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask of the server, and how much work the server takes on.

    Attributes:
        max_body_bytes (int): Largest request body (answered with 413 beyond).
        max_inputs (int): Most input dicts per inference request (422 beyond).
        max_text_chars (int): Most characters per text field of an input (422 beyond).
        max_passages (int): QA: most passages per request, counted over every question (a
            question about a long text is read in several passages, each a run of the
            model); 422 beyond, before the model runs.
        max_queue (int): Requests per model that may wait for a free worker; once that many
            wait, further ones are answered 503 with ``Retry-After``.
        timeout (float): Seconds a request may take from its arrival at the model's queue
            to its answer (504 beyond).
        body_timeout (float): Seconds a request body may take to arrive, from the headers on
            (408 beyond): a stalled client does not hold a connection open for ever.
        max_errors (int): Problems listed in a 4xx answer; the rest are counted.
    """

    max_body_bytes: int = 1_000_000
    max_inputs: int = 256
    max_text_chars: int = 20_000
    max_passages: int = 512
    max_queue: int = 16
    timeout: float = 60.0
    body_timeout: float = 30.0
    max_errors: int = 20

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_inputs", "max_text_chars", "max_passages",
                     "max_errors"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}.")
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be at least 0; got {self.max_queue}.")
        for name in ("timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive (seconds); got {getattr(self, name)}.")


def too_large(limit: int) -> str:
    return (f"The request body is larger than this server accepts ({limit} bytes; the "
            "server's --max-body-bytes). Send fewer or shorter inputs per request.")


def too_slow(seconds: float) -> str:
    return (f"The request body did not arrive within {seconds:g} s (the server's "
            "--body-timeout); send it at once.")


class BodyLimits:
    """ASGI middleware: refuses bodies over ``max_bytes`` with 413, by their Content-Length
    or, for chunked bodies, as soon as more bytes have arrived; and bodies that have not
    arrived in full ``timeout`` seconds after the headers with 408.

    Args:
        app (Any): The ASGI app.
        max_bytes (int): Largest body accepted.
        timeout (float): Seconds the whole body may take to arrive.
    """

    def __init__(self, app: Any, max_bytes: int, timeout: float):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = JSONResponse({"detail": too_large(self.max_bytes), "errors": []},
                                    status_code=413)
            await response(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        received = 0
        complete = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received, complete
            if complete:  # after the body: waits for the client to disconnect, unbounded
                return dict(await receive())
            try:
                message = dict(await asyncio.wait_for(receive(), deadline - loop.time()))
            except asyncio.TimeoutError:  # TimeoutError from Python 3.11 on
                raise HTTPException(status_code=408, detail=too_slow(self.timeout)) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=too_large(self.max_bytes))
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        await self.app(scope, limited_receive, send)
