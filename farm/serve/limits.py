"""Request limits of the REST API and the middleware that enforces the body size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask of the server.

    Attributes:
        max_body_bytes (int): Largest request body (answered with 413 beyond).
        max_inputs (int): Most input dicts per inference request (422 beyond).
        max_text_chars (int): Most characters per text field of an input (422 beyond).
    """

    max_body_bytes: int = 1_000_000
    max_inputs: int = 256
    max_text_chars: int = 20_000

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_inputs", "max_text_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}.")


def too_large(limit: int) -> str:
    return (f"The request body is larger than this server accepts ({limit} bytes; the "
            "server's --max-body-bytes). Send fewer or shorter inputs per request.")


class BodySizeLimit:
    """ASGI middleware: refuses bodies over ``max_bytes`` with 413, by their Content-Length
    or, for chunked bodies, as soon as more bytes have arrived.

    Args:
        app (Any): The ASGI app.
        max_bytes (int): Largest body accepted.
    """

    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = JSONResponse({"detail": too_large(self.max_bytes)}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=too_large(self.max_bytes))
            return message

        await self.app(scope, limited_receive, send)
