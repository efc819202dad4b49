"""Helpers for the JSON files FARM writes next to its safetensors."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def metric_name(metric: Any) -> Any:
    """A metric (name, function, or list of them) with functions replaced by their names,
    since JSON cannot hold code."""
    if isinstance(metric, list | tuple):
        return [metric_name(m) for m in metric]
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__)
    return metric


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``final`` that replaces ``final`` once the block ends
    without error, so a crash while writing never leaves a half-written ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{final.name}-"))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
