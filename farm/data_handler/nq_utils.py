"""FARM's ``farm.data_handler.nq_utils``: Natural Questions helpers. Natural Questions is not
supported (see ``NaturalQuestionsProcessor``), so these names import but raise when called."""

from __future__ import annotations

from typing import Any

from farm.compat import removed_function

_REASON = "Natural Questions preprocessing is not supported"
_INSTEAD = ("convert the data to SQuAD JSON and use SquadProcessor (no-answer questions are "
            "SQuAD 2.0's is_impossible)")


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return removed_function(f"farm.data_handler.nq_utils.{name}", _REASON, _INSTEAD)
