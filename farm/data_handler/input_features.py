"""FARM's ``farm.data_handler.input_features``: the per-sample featurization of FARM's slow
tokenizer path. Every processor here featurizes whole batches with the fast tokenizer
(``processor.dataset_from_dicts``), so these names import but raise when called."""

from __future__ import annotations

from typing import Any

from farm.compat import removed_function

_REASON = "FARM's per-sample (slow tokenizer) featurization is gone"
_INSTEAD = "processor.dataset_from_dicts(dicts) featurizes dicts for every task"


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return removed_function(f"farm.data_handler.input_features.{name}", _REASON, _INSTEAD)
