"""The REST API and demo page: ``farm serve MODEL_DIR ...`` or :func:`serve` (see
``docs/serving.md``). Needs the ``serve`` extra (FastAPI, uvicorn)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from farm.serve.limits import ServerLimits

__all__ = ["ServerLimits", "create_app", "serve"]


def create_app(models: Sequence[Any], limits: ServerLimits | None = None,
               batch_size: int = 32, task_type: str | None = None, max_seq_len: int = 256,
               doc_stride: int = 128) -> Any:
    """The FastAPI app serving ``models``; see :func:`farm.serve.app.create_app`."""
    from farm.serve.app import create_app as _create_app

    return _create_app(models, limits=limits, batch_size=batch_size, task_type=task_type,
                       max_seq_len=max_seq_len, doc_stride=doc_stride)


def serve(models: Sequence[str | Path], host: str = "127.0.0.1", port: int = 8000,
          limits: ServerLimits | None = None, batch_size: int = 32,
          log_level: str = "info", task_type: str | None = None, max_seq_len: int = 256,
          doc_stride: int = 128) -> None:
    """Load ``models`` once and answer requests with uvicorn until stopped.

    Args:
        models (Sequence[str | Path]): FARM model folders or ONNX exports.
        host (str): Interface to listen on (``127.0.0.1``: this machine only).
        port (int): TCP port.
        limits (ServerLimits | None): Request limits.
        batch_size (int): Inference batch size.
        log_level (str): uvicorn's log level.
        task_type (str | None): For Hugging Face folders among ``models``.
        max_seq_len (int): Tokens per sample (capped at what each model supports).
        doc_stride (int): QA: tokens from one passage of a long text to the next.
    """
    import uvicorn

    app = create_app(models, limits=limits, batch_size=batch_size, task_type=task_type,
                     max_seq_len=max_seq_len, doc_stride=doc_stride)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
