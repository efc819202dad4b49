"""ASGI middleware that guards every answer: the ``Host`` header check (a defence against
DNS rebinding, where a web page on another site makes the browser talk to a server on this
machine under the page's own host name) and headers that keep browsers from sniffing
content types or framing the pages."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import JSONResponse

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")  # listening on every interface
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
# The demo page loads only its own script and style sheet and talks only to this server.
DEMO_PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                 "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'")


def host_name(header: str) -> str:
    """The host of a ``Host`` header, lower case, without port, brackets or final dot
    (``"[::1]:8000"`` → ``"::1"``, ``"LocalHost.:80"`` → ``"localhost"``)."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 address
        return header[1:].split("]", 1)[0]
    if header.count(":") == 1:
        header = header.split(":", 1)[0]
    return header.rstrip(".")


def allowed_host_names(extra: Iterable[str] | None) -> list[str] | None:
    """The host names a server answers to: this machine's loopback names and ``extra``;
    ``None`` (any name) when ``extra`` holds ``"*"``."""
    names = [host_name(h) for h in extra or []]
    if "*" in names:
        return None
    return sorted({*LOOPBACK_HOSTS, *names})


def hosts_for(bind_host: str, allowed_hosts: Sequence[str] | None) -> list[str]:
    """The ``allowed_hosts`` of a server listening on ``bind_host``: the given names and
    the address itself; ``["*"]`` (any) for a server listening on every interface
    (``0.0.0.0``) without ``allowed_hosts``, which is reached by names this machine cannot
    know (as Jupyter does)."""
    if bind_host in WILDCARD_ADDRESSES and not allowed_hosts:
        logger.warning("Listening on every interface (%s) answers requests for any host name; "
                       "name the ones to answer with --allowed-hosts to refuse the others "
                       "(a defence against DNS rebinding).", bind_host or "all")
        return ["*"]
    return [*(allowed_hosts or []), bind_host]


class HostCheck:
    """ASGI middleware: answers 400 to a request whose ``Host`` header names none of
    ``allowed`` (``None``: any host).

    Args:
        app (Any): The ASGI app.
        allowed (list[str] | None): Host names, without port.
    """

    def __init__(self, app: Any, allowed: list[str] | None):
        self.app = app
        self.allowed = None if allowed is None else frozenset(allowed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.allowed is None:
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if host_name(header) not in self.allowed:
            shown = header if len(header) <= 100 else header[:100] + "…"
            response = JSONResponse({"detail": (
                f"Host '{shown}' is not served here: this server answers to "
                f"{sorted(self.allowed)} (a defence against DNS rebinding). To reach it by "
                "this name, start it with --allowed-hosts NAME (create_app(allowed_hosts=[...]))."),
                "errors": []}, status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware: adds ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options:
    DENY`` to every answer.

    Args:
        app (Any): The ASGI app.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
