"""Checks that the heads of an :class:`AdaptiveModel` fit its language model and tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from farm.compat import log_once
from farm.errors import FarmError
from farm.modeling.prediction_heads import PredictionHead

OUTPUT_TYPES = ("per_sequence", "per_token")
# FARM's finer output type names: the same vectors, told apart by the head in FARM.
OUTPUT_TYPE_ALIASES = {"per_sequence_continuous": "per_sequence", "per_token_squad": "per_token"}


def check_task_type(head: PredictionHead, task: dict[str, Any]) -> None:
    """A head must read the kind of labels its processor task makes."""
    task_type = task.get("task_type") or "classification"
    if not head.processor_task_types or task_type in head.processor_task_types:
        return
    fitting = [name for name, cls in PredictionHead.subclasses.items()
               if task_type in cls.processor_task_types]
    raise FarmError(
        f"Head {type(head).__name__} learns {list(head.processor_task_types)} tasks, but the "
        f"processor's task '{head.task_name}' has task_type '{task_type}'. Use "
        f"{' or '.join(fitting) or 'a head for that task type'} for it."
    )


def check_output_types(
    lm_output_types: str | Sequence[str] | None, heads: Sequence[PredictionHead]
) -> list[str]:
    """Check the user's output types against what the heads declare.

    FARM's names ``"per_sequence_continuous"`` (regression) and ``"per_token_squad"``
    (question answering) stand for ``"per_sequence"`` and ``"per_token"``. One string for
    several heads was FARM's shorthand, which FARM applied to the first head only (its
    forward zipped the one-element list with the heads); here each head gets the vectors it
    declares, with a warning where the string says otherwise.
    """
    declared = [head.ph_output_type for head in heads]
    if lm_output_types is None:
        return declared
    if isinstance(lm_output_types, str):
        output_type = OUTPUT_TYPE_ALIASES.get(lm_output_types, lm_output_types)
        if len(heads) > 1:
            if output_type not in OUTPUT_TYPES:
                raise ValueError(f"Unknown lm_output_type '{lm_output_types}'; use one of "
                                 f"{OUTPUT_TYPES}.")
            if any(expected != output_type for expected in declared):
                log_once(
                    f"lm_output_types:{lm_output_types}:{declared}",
                    f"lm_output_types={lm_output_types!r} (one string for {len(heads)} heads) "
                    f"does not fit every head; each head gets the vectors it declares: "
                    f"{declared}. Pass lm_output_types={declared} to silence this.",
                )
            return declared
        lm_output_types = [lm_output_types]
    given = [OUTPUT_TYPE_ALIASES.get(t, t) for t in lm_output_types]
    if len(given) != len(heads):
        raise ValueError(
            f"lm_output_types has {len(given)} entries for {len(heads)} prediction heads; "
            f"give one per head: {declared}."
        )
    for output_type, head, expected in zip(given, heads, declared, strict=True):
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"Unknown lm_output_type '{output_type}'; use one of {OUTPUT_TYPES}.")
        if output_type != expected:
            raise ValueError(
                f"lm_output_types says '{output_type}' for {type(head).__name__} (task "
                f"'{head.task_name}'), but that head works on '{expected}' vectors. Use "
                f"lm_output_types={declared}."
            )
    return given
