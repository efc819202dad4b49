"""The REST API and demo page: ``farm serve MODEL_DIR ...`` or :func:`serve` (see
``docs/serving.md``). Needs the ``serve`` extra (FastAPI, uvicorn)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from farm.serve.limits import ServerLimits

__all__ = ["DEFAULT_THREADS", "ServerLimits", "create_app", "serve"]

DEFAULT_THREADS = 1
"""torch intra-op threads per worker unless told otherwise (see ``docs/serving.md``)."""


def create_app(models: Sequence[Any], limits: ServerLimits | None = None,
               batch_size: int = 32, task_type: str | None = None, max_seq_len: int = 256,
               doc_stride: int = 128, extraction_strategy: str | None = None,
               workers: int = 1, threads: int | None = DEFAULT_THREADS,
               allowed_hosts: Sequence[str] | None = None, snap_answers: bool = True) -> Any:
    """The FastAPI app serving ``models``; see :func:`farm.serve.app.create_app`."""
    from farm.serve.app import create_app as _create_app

    return _create_app(models, limits=limits, batch_size=batch_size, task_type=task_type,
                       max_seq_len=max_seq_len, doc_stride=doc_stride,
                       extraction_strategy=extraction_strategy, workers=workers,
                       threads=threads, allowed_hosts=allowed_hosts,
                       snap_answers=snap_answers)


def serve(models: Sequence[str | Path], host: str = "127.0.0.1", port: int = 8000,
          limits: ServerLimits | None = None, batch_size: int = 32,
          log_level: str = "info", task_type: str | None = None, max_seq_len: int = 256,
          doc_stride: int = 128, extraction_strategy: str | None = None, workers: int = 1,
          threads: int | None = DEFAULT_THREADS,
          allowed_hosts: Sequence[str] | None = None, snap_answers: bool = True) -> None:
    """Load ``models`` once and answer requests with uvicorn until stopped.

    Args:
        models (Sequence[str | Path]): FARM model folders or ONNX exports.
        host (str): Interface to listen on (``127.0.0.1``: this machine only).
        port (int): TCP port.
        limits (ServerLimits | None): Request limits, queue length and time limits.
        batch_size (int): Inference batch size.
        log_level (str): uvicorn's log level.
        task_type (str | None): For Hugging Face folders among ``models``; ``"embeddings"``
            serves every folder's language-model vectors.
        max_seq_len (int): Tokens per sample (capped at what each model supports).
        doc_stride (int): QA: tokens from one passage of a long text to the next.
        extraction_strategy (str | None): Embeddings: how a text's vector is made.
        workers (int): Requests per model that run at the same time.
        threads (int | None): torch intra-op threads per worker (``None``: torch's default).
        allowed_hosts (Sequence[str] | None): Host names to answer to besides this
            machine's loopback names and ``host`` (``["*"]``: any; the default for ``host``
            ``0.0.0.0``).
        snap_answers (bool): QA answers widened to whole words (off: the spans as found).
    """
    import uvicorn

    from farm.serve.guards import hosts_for

    app = create_app(models, limits=limits, batch_size=batch_size, task_type=task_type,
                     max_seq_len=max_seq_len, doc_stride=doc_stride,
                     extraction_strategy=extraction_strategy, workers=workers, threads=threads,
                     allowed_hosts=hosts_for(host, allowed_hosts), snap_answers=snap_answers)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
