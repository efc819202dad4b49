"""Helpers for the JSON files FARM writes next to its safetensors."""

from __future__ import annotations

from typing import Any


def metric_name(metric: Any) -> Any:
    """A metric (name, function, or list of them) with functions replaced by their names,
    since JSON cannot hold code."""
    if isinstance(metric, list | tuple):
        return [metric_name(m) for m in metric]
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__)
    return metric
