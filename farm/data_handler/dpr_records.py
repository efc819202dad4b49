"""Checking DPR records: a question with positive and hard negative passages.

Both the dense retrieval processor and the passage ranking processor read DPR files; a
record's problems are reported here, with the record's index, file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farm.errors import DataFileError

DPR_SHAPE = ('{"question": ..., "answers": [...], "positive_ctxs": [{"title": ..., "text": '
             '...}], "hard_negative_ctxs": [...]}')


@dataclass
class DprRecord:
    """The parts of a DPR record FARM uses.

    Args:
        question (str): The question.
        answers (list[Any]): Its answers (kept, not used for training).
        positives (list[dict[str, Any]]): ``{"title", "text", "external_id"}`` per positive.
        hard_negatives (list[dict[str, Any]]): The same per hard negative.
        id (Any): The record's ``"id"``, if it has one.
    """

    question: str
    answers: list[Any]
    positives: list[dict[str, Any]]
    hard_negatives: list[dict[str, Any]]
    id: Any = None


def read_dpr_record(value: Any, where: str, file: Path | None = None,
                    line: int | None = None) -> DprRecord:
    """Check one DPR record and take out its question and passages.

    Args:
        value (Any): The parsed record.
        where (str): How to name it in errors (``"record 12"``, ``"input dict 3"``).
        file (Path | None): The file it comes from.
        line (int | None): The line it starts on.

    Raises:
        DataFileError: The record is not an object, has no question, no ``positive_ctxs``
            list, or a passage without text.
    """

    def fail(problem: str) -> DataFileError:
        return DataFileError(f"{where} {problem}. DPR records look like {DPR_SHAPE}.",
                             file=file, line=line)

    if not isinstance(value, dict):
        raise fail(f"is a {type(value).__name__}, not an object")
    question = value.get("question")
    if not isinstance(question, str) or not question.strip():
        raise fail(f"has no 'question' text (keys: {sorted(value)})")
    groups = []
    for key, default in (("positive_ctxs", None), ("hard_negative_ctxs", [])):
        contexts = value.get(key, default)
        if not isinstance(contexts, list):
            raise fail(f"has no '{key}' list (keys: {sorted(value)})")
        passages = []
        for j, ctx in enumerate(contexts):
            if not isinstance(ctx, dict) or not isinstance(ctx.get("text"), str):
                raise fail(f"has a {key}[{j}] without a 'text' string")
            title = ctx.get("title") or ""
            if not isinstance(title, str):
                raise fail(f"has a {key}[{j}] whose 'title' is not a string")
            passages.append({"title": title, "text": ctx["text"],
                             "external_id": ctx.get("passage_id", ctx.get("id"))})
        groups.append(passages)
    answers = value.get("answers", [])
    return DprRecord(question, answers if isinstance(answers, list) else [answers],
                     groups[0], groups[1], value.get("id"))


def no_usable_records(path: Path, skipped: list[tuple[int, str]]) -> DataFileError:
    """The error for a DPR file that gives no record to train or evaluate on.

    Args:
        path (Path): The file.
        skipped (list[tuple[int, str]]): ``(line, reason)`` of the records skipped in it.
    """
    if not skipped:
        found = "holds no record (an empty array or no JSON object)"
    else:
        first = "; ".join(f"line {line}: {reason}" for line, reason in skipped[:3])
        found = (f"holds {len(skipped)} record(s), all skipped (first: {first}): a record "
                 "needs at least one positive passage in 'positive_ctxs'")
    return DataFileError(
        f"the file {found}, so there is nothing to train or evaluate on. DPR records look "
        f"like {DPR_SHAPE}. Check the file, or leave it out of the processor's "
        "*_filename arguments.",
        file=path,
    )
