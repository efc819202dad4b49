"""A saved FARM model as an MLflow model with a pyfunc flavour.

``MLFlowLogger.log_model`` writes the FARM folder into an MLflow model whose ``MLmodel`` names
this module as its loader: ``mlflow.pyfunc.load_model(uri)`` imports ``farm.tracking.pyfunc``
from the installed FARM and calls :func:`_load_pyfunc` on the FARM folder, which
:class:`~farm.infer.Inferencer` loads as usual (safetensors and JSON; no pickle, no code
from the model's files). Importing this module needs pandas (as MLflow's pyfunc does).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from farm.errors import FarmError

#: Name of the FARM model folder inside the MLflow model (``<model>/data/farm_model``).
FARM_FOLDER = "farm_model"
_REQUIREMENTS = ("torch", "transformers", "tokenizers", "safetensors", "mlflow-skinny", "pandas")


class FarmPyfuncModel:
    """What ``mlflow.pyfunc.load_model`` returns (wrapped in MLflow's ``PyFuncModel``).

    Args:
        model_dir (str): The saved FARM model folder.

    Example:
        >>> model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
        >>> model.predict([{"text": "A great film."}])  # one prediction per input
    """

    def __init__(self, model_dir: str):
        from farm.infer import Inferencer

        self.inferencer = Inferencer.load(model_dir, disable_tqdm=True)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Predict for each input, in order.

        Args:
            model_input (Any): A DataFrame with one row per input (columns as the model's
                input dicts: ``text``, or ``text`` and ``text_b``, or ``qas`` and ``context``),
                a list of such dicts, one dict, or strings (taken as ``text``).
            params (dict[str, Any] | None): Not used.

        Returns:
            list[Any]: One prediction dict per input, as in ``Inferencer`` results; for a
            model with several heads, one ``{task_name: prediction}`` dict per input.
        """
        dicts = _input_dicts(model_input)
        per_head: dict[str, list[Any]] = {}
        for result in self.inferencer.inference_from_dicts(dicts):
            per_head.setdefault(result["task_name"], []).extend(result["predictions"])
        if len(per_head) == 1:
            return next(iter(per_head.values()))
        return [dict(zip(per_head, row, strict=True)) for row in zip(*per_head.values(),
                                                                      strict=True)]


def _load_pyfunc(data_path: str) -> FarmPyfuncModel:
    """MLflow's entry point for models whose ``loader_module`` is this module."""
    return FarmPyfuncModel(data_path)


def save_pyfunc_model(model_dir: str | Path, path: str | Path) -> None:
    """Write the FARM model folder ``model_dir`` as an MLflow pyfunc model to ``path`` (a
    folder that must not exist yet); the FARM folder goes to ``path/data/farm_model``."""
    with tempfile.TemporaryDirectory() as folder:
        # MLflow copies the data folder under its own name: give it a fixed one.
        named = Path(folder) / FARM_FOLDER
        try:
            os.symlink(Path(model_dir).resolve(), named, target_is_directory=True)
        except OSError:
            shutil.copytree(model_dir, named)
        mlflow.pyfunc.save_model(
            path=str(path), loader_module=__name__, data_path=str(named),
            pip_requirements=_pip_requirements(),
        )


def _pip_requirements() -> list[str]:
    """FARM and the packages its pyfunc model needs, at the installed versions."""
    from farm import __version__

    pinned = [f"farm=={__version__}"]
    for name in _REQUIREMENTS:
        try:
            version = importlib.metadata.version(name).split("+")[0]  # drop "+cpu"
        except importlib.metadata.PackageNotFoundError:
            pinned.append(name)
        else:
            pinned.append(f"{name}=={version}")
    return pinned


def _input_dicts(model_input: Any) -> list[dict[str, Any]]:
    """The model input as a list of input dicts."""
    if isinstance(model_input, pd.DataFrame):
        rows = model_input.to_dict(orient="records")
        # Columns missing in a row (NaN) are left out, as if the key were absent.
        return [{str(k): v for k, v in row.items() if not _is_missing(v)} for row in rows]
    model_input = _plain(model_input)
    if isinstance(model_input, str):
        return [{"text": model_input}]
    if isinstance(model_input, dict):
        columns = {k: _plain(v) for k, v in model_input.items()}
        if columns and all(isinstance(c, list) for c in columns.values()):  # {"text": [...]}
            return [dict(zip(columns, row, strict=True))
                    for row in zip(*columns.values(), strict=True)]
        return [model_input]
    if isinstance(model_input, list | tuple):
        dicts = []
        for position, item in enumerate(model_input):
            if isinstance(item, str):
                item = {"text": item}
            if not isinstance(item, dict):
                raise FarmError(f"Input {position} is of type {type(item).__name__}; expected a "
                                'dict like {"text": ...} or a string.')
            dicts.append({k: _plain(v) for k, v in item.items()})
        return dicts
    raise FarmError(f"Cannot predict for a {type(model_input).__name__}: give a DataFrame, "
                    'a list of dicts like {"text": ...}, or a list of strings.')


def _plain(value: Any) -> Any:
    """A NumPy value (MLflow's server parses JSON inputs into arrays) as a Python one."""
    return value.tolist() if hasattr(value, "tolist") else value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
