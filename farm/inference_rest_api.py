"""FARM 0.8's REST API module, now a thin front of ``farm.serve`` (FastAPI).

FARM's module loaded every model under ``saved_models/`` and ``base_models/`` when it was
imported. Here importing it does nothing; the app is built when first asked for:

- ``uvicorn farm.inference_rest_api:app`` (or ``from farm.inference_rest_api import app``)
  serves every saved model folder under ``./saved_models`` and ``./base_models``;
- ``python -m farm.inference_rest_api`` does the same on http://127.0.0.1:8000;
- ``farm serve MODEL_DIR ...`` and :func:`farm.serve.create_app` take explicit folders.

The endpoints are those of ``docs/serving.md`` (``GET /models``,
``POST /models/{id}/inference`` with ``{"input": [dicts]}``), which answer with every result
(FARM's answered with the first batch only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from farm.errors import FarmError
from farm.serve import create_app, serve

__all__ = ["MODEL_ROOTS", "create_app", "find_model_dirs", "serve"]

MODEL_ROOTS = ("saved_models", "base_models")
"""Folders (relative to the working directory) whose sub-folders are served, as in FARM."""


def find_model_dirs(roots: tuple[str, ...] = MODEL_ROOTS) -> list[Path]:
    """The saved model folders (with ``farm_model.json``) directly under ``roots``."""
    return sorted(folder for root in roots if Path(root).is_dir()
                  for folder in Path(root).iterdir() if (folder / "farm_model.json").is_file())


def _app_for_model_dirs() -> Any:
    folders = find_model_dirs()
    if not folders:
        raise FarmError(
            f"farm.inference_rest_api serves the saved models in {' and '.join(MODEL_ROOTS)} "
            f"under {Path.cwd()}, but there are none. Save a model there, or run "
            "`farm serve MODEL_DIR ...` with explicit folders (docs/serving.md)."
        )
    return create_app(folders)


def __getattr__(name: str) -> Any:
    # FARM's module-level Flask ``app``: built on first access, not at import.
    if name == "app":
        return _app_for_model_dirs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover (starts a server)
    folders = find_model_dirs()
    if not folders:
        _app_for_model_dirs()  # raises the explanation
    serve(folders)
