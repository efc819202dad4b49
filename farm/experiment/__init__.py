"""Experiment configs: one YAML/JSON file describes data, processor, model, heads, optimizer,
trainer and tracking; ``farm train CONFIG`` validates it whole, expands list values into a
grid, and trains each run (see ``docs/cli.md``).

FARM 0.8's names work here too: ``load_experiments`` and ``run_experiment`` for FARM's JSON
configs, ``get_adaptive_model``, and ``initialize_optimizer`` (FARM's examples imported it
from here); they are imported on first use, so reading a config stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from farm.experiment.config import (
    ConfigError,
    Experiment,
    Run,
    build_experiment,
    load_experiment,
)

__all__ = ["ConfigError", "Experiment", "Run", "build_experiment", "load_experiment"]

_FARM_NAMES = {
    "load_experiments": "farm.experiment.farm_configs",
    "run_experiment": "farm.experiment.farm_configs",
    "get_adaptive_model": "farm.experiment.farm_configs",
    "initialize_optimizer": "farm.modeling.optimization",
    "read_config": "farm.file_utils",
    "unnestConfig": "farm.file_utils",
}


def __getattr__(name: str) -> Any:
    if name in _FARM_NAMES:
        return getattr(importlib.import_module(_FARM_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
