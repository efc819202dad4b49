"""Metrics and evaluation helpers."""

from farm.evaluation.metrics import compute_metrics, register_metrics

__all__ = ["compute_metrics", "register_metrics"]
