"""What a training run reports to the tracker: parameters, curves, and artifacts."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from farm.modeling.adaptive_model import AdaptiveModel
from farm.tracking import get_tracker
from farm.tracking.plots import save_history_plot


class RunRecord:
    """Collects the training curves of a run and sends them, with the best model, to the
    active tracker at the end."""

    def __init__(self) -> None:
        self.history: dict[str, list[tuple[int, float]]] = {}

    def add(self, name: str, step: int, value: float) -> None:
        """Record one point of the curve ``name``."""
        self.history.setdefault(name, []).append((step, value))

    def add_results(self, prefix: str, step: int, results: list[dict[str, Any]]) -> None:
        """Record every number of an evaluation (one dict per head)."""
        for head in results:
            for key, value in head.items():
                if isinstance(value, int | float) and key != "task_name":
                    self.add(f"{prefix}_{key}_{head['task_name']}", step, float(value))

    @staticmethod
    def model_params(model: AdaptiveModel) -> dict[str, Any]:
        """The model's description for the tracker."""
        language_model = model.language_model
        return {
            "language_model": language_model.name,
            "model_type": language_model.config.model_type,
            "hidden_size": language_model.hidden_size,
            "language": language_model.language,
            "heads": [type(h).__name__ for h in model.heads],
            "lm_output_types": list(model.lm_output_types),
            "embeds_dropout_prob": model.embeds_dropout_prob,
        }

    def send_artifacts(self, best_model_dir: Path | None) -> None:
        """The curves as a PNG (``plots/``) and the best model (``model/``), if the tracker
        takes artifacts."""
        tracker = get_tracker()
        if not tracker.wants_artifacts:
            return
        with tempfile.TemporaryDirectory() as folder:
            if save_history_plot(self.history, Path(folder) / "training_curves.png"):
                tracker.log_artifacts(folder, "plots")
        if best_model_dir is not None:
            with tempfile.TemporaryDirectory() as folder:
                # Only the model: checkpoints may live in the same folder (FARM's tutorial
                # uses one folder for both), and they are many times its size.
                model = Path(folder) / "model"
                shutil.copytree(best_model_dir, model, copy_function=_link_or_copy,
                                ignore=shutil.ignore_patterns("step_*", ".tmp-*"))
                tracker.log_model(str(model), "model")


def _link_or_copy(source: str, target: str) -> None:
    """A hard link where the file system allows one (no second copy of the weights)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
