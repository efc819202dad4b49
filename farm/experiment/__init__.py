"""Experiment configs: one YAML/JSON file describes data, processor, model, heads, optimizer,
trainer and tracking; ``farm train CONFIG`` validates it whole, expands list values into a
grid, and trains each run (see ``docs/cli.md``)."""

from farm.experiment.config import (
    ConfigError,
    Experiment,
    Run,
    build_experiment,
    load_experiment,
)

__all__ = ["ConfigError", "Experiment", "Run", "build_experiment", "load_experiment"]
