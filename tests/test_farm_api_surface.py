"""Every name of FARM 0.8's API (tests/farm_api_inventory.py) imports from FARM's path and
takes FARM's argument names; what cannot exist any more raises a FarmError with the
replacement; FARM internals that are gone are named in the migration guide."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from farm.errors import FarmError
from tests.farm_api_inventory import DATA_SIDE, MODEL_SIDE, Entry

GUIDE = Path(__file__).parents[1] / "docs" / "migrating_from_farm.md"


def resolve(path: str) -> Any:
    """The object at ``"module:Name.attribute"`` (the class attribute, not bound)."""
    module_name, _, dotted = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in dotted.split("."):
        owner = obj
        obj = getattr(obj, part)
        if isinstance(owner, type):  # unwrap staticmethod/classmethod for the signature
            raw = inspect.getattr_static(owner, part, None)
            if isinstance(raw, staticmethod | classmethod):
                obj = getattr(owner, part)
    return obj


def parameters(obj: Any) -> set[str]:
    """The names a call of ``obj`` takes explicitly (a class: its constructor, with those of
    the base-class constructors it passes ``**kwargs`` on to)."""
    names = set(inspect.signature(obj).parameters)
    if isinstance(obj, type):
        for base in obj.__mro__[1:]:
            if "kwargs" not in names or "__init__" not in vars(base):
                break
            names |= set(inspect.signature(base.__init__).parameters)
    return names


def check_entry(entry: Entry) -> None:
    if entry.status == "internal":
        name = entry.path.partition(":")[2].rsplit(".", 1)[-1]
        assert re.search(rf"`(\w+\.)?{re.escape(name)}`", GUIDE.read_text()), (
            f"{entry.path} is a FARM internal that is gone; docs/migrating_from_farm.md must "
            "name it and say why.")
        return
    obj = resolve(entry.path)
    if entry.status == "removed":
        with pytest.raises(FarmError, match="migrating_from_farm"):
            obj()
        if isinstance(obj, type):
            with pytest.raises(FarmError, match="Instead"):
                obj.load("anything")
        return
    if entry.args:
        missing = set(entry.args) - parameters(obj)
        assert not missing, f"{entry.path} does not take FARM's arguments {sorted(missing)}"


@pytest.mark.parametrize("entry", MODEL_SIDE, ids=[e.path for e in MODEL_SIDE])
def test_model_side_name_works_as_in_farm(entry: Entry) -> None:
    check_entry(entry)


@pytest.mark.parametrize("entry", DATA_SIDE, ids=[e.path for e in DATA_SIDE])
def test_data_side_name_works_as_in_farm(entry: Entry) -> None:
    check_entry(entry)


def test_the_inventory_covers_each_farm_module() -> None:
    """A guard against an accidentally truncated table."""
    modules = {e.path.partition(":")[0] for e in MODEL_SIDE + DATA_SIDE}
    for module in ("farm.modeling.language_model", "farm.modeling.prediction_head",
                   "farm.modeling.adaptive_model", "farm.modeling.biadaptive_model",
                   "farm.modeling.optimization", "farm.train", "farm.eval",
                   "farm.evaluation.metrics", "farm.infer", "farm.modeling.predictions",
                   "farm.conversion.transformers", "farm.data_handler.processor",
                   "farm.data_handler.data_silo", "farm.utils", "farm.modeling.tokenization"):
        assert module in modules
    assert len(MODEL_SIDE) > 130 and len(DATA_SIDE) > 90
