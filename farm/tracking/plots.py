"""A PNG of the training curves, for the tracking run's artifacts."""

from __future__ import annotations

from pathlib import Path


def save_history_plot(history: dict[str, list[tuple[int, float]]], path: Path) -> bool:
    """Plot each recorded series (train loss, dev metrics) against the step.

    Args:
        history (dict[str, list[tuple[int, float]]]): ``{name: [(step, value), ...]}``.
        path (Path): The PNG to write.

    Returns:
        bool: False if matplotlib is not installed (nothing written).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    series = {name: points for name, points in history.items() if points}
    figure = Figure(figsize=(7, 2.6 * max(len(series), 1)))
    FigureCanvasAgg(figure)
    for row, (name, points) in enumerate(sorted(series.items()), start=1):
        axes = figure.add_subplot(len(series), 1, row)
        steps, values = zip(*points, strict=True)
        axes.plot(steps, values, marker="." if len(points) < 50 else None)
        axes.set_title(name)
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True
