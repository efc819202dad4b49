"""The tracking interface and the active tracker."""

from __future__ import annotations

from typing import Any


class Tracker:
    """Base tracker: every method is a no-op, so it also serves as the null tracker.

    Subclasses override what they support. ``init_experiment`` makes the tracker active.
    """

    #: Whether the trainer should prepare artifacts (plots, model files) for this tracker.
    wants_artifacts = False

    def init_experiment(
        self, experiment_name: str, run_name: str | None = None, nested: bool = False
    ) -> Tracker:
        """Start a run and make this tracker the active one.

        Args:
            experiment_name (str): Experiment (group of runs) to log into.
            run_name (str | None): Name of this run.
            nested (bool): Start the run nested in the currently active one (MLflow only).

        Returns:
            Tracker: ``self``, so calls can be chained.
        """
        set_tracker(self)
        return self

    def log_params(self, params: dict[str, Any]) -> None:
        """Record parameters of the run (values are converted to strings)."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Record metric values at a training step."""

    def log_artifacts(self, dir_path: str, artifact_path: str | None = None) -> None:
        """Record the files of a directory with the run (under ``artifact_path``)."""

    def log_model(self, model_dir: str, artifact_path: str = "model") -> None:
        """Record a saved FARM model with the run (by default: its files, as artifacts)."""
        self.log_artifacts(model_dir, artifact_path)

    def end_run(self) -> None:
        """Finish the current run."""


_active: Tracker = Tracker()


def get_tracker() -> Tracker:
    """The active tracker (a no-op tracker until a logger's ``init_experiment`` is called)."""
    return _active


def set_tracker(tracker: Tracker | None) -> None:
    """Make ``tracker`` the active tracker; ``None`` switches tracking off."""
    global _active
    _active = tracker if tracker is not None else Tracker()


def flatten_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested dicts into ``{"a.b": "value"}`` with string values, for loggers."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_params(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)
    return flat
