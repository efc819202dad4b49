"""Exceptions that tell a user what went wrong and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class FarmError(Exception):
    """Base class of the errors FARM raises on purpose."""


class DataFileError(FarmError, ValueError):
    """A data file (or a list of input dicts) that cannot be read as the processor expects.

    Args:
        message (str): What was expected, what was found, and how to fix it.
        file (str | Path | None): The file the problem is in, if any.
        line (int | None): The 1-based line number in that file, if known.
    """

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None):
        self.file = str(file) if file is not None else None
        self.line = line
        if self.file is not None:
            where = f"{self.file}:{line}" if line is not None else self.file
            message = f"{where}: {message}"
        super().__init__(message)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix naming the closest valid choice, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def check_choice(value: str, choices: Iterable[str], what: str) -> None:
    """Raise ValueError naming the valid choices if ``value`` is not one of them."""
    options = list(choices)
    if value not in options:
        raise ValueError(
            f"Unknown {what} '{value}'.{did_you_mean(value, options)} "
            f"Valid choices: {', '.join(repr(o) for o in options)}."
        )


def near_misses(path: str | Path, shown: int = 8) -> str:
    """For a path that does not exist: a ' Did you mean ...?' naming the closest entry of
    the nearest folder that does exist (the full corrected path where that exists), and a
    few of that folder's entries; '' when there is no such folder.

    Example:
        >>> near_misses("examples/sentimnt/train.tsv")  # doctest: +SKIP
        " Did you mean 'examples/sentiment/train.tsv'? In examples: configs/, sentiment/."
    """
    path = Path(path)
    if path.exists():
        return ""
    folder, missing = path.parent, [path.name]
    while not folder.is_dir():
        if folder == folder.parent:
            return ""
        folder, missing = folder.parent, [folder.name, *missing]
    try:
        entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    except OSError:
        return ""
    names = [entry.name for entry in entries if not entry.name.startswith(".")]
    close = difflib.get_close_matches(missing[0], names, n=1)
    hint = ""
    if close:
        corrected = folder / close[0] / Path(*missing[1:]) if missing[1:] else folder / close[0]
        suggestion = corrected if corrected.exists() else folder / close[0]
        hint = f" Did you mean '{suggestion}'?"
    if not names:
        return f"{hint} {folder} is empty."
    listed = [f"{e.name}/" if e.is_dir() else e.name for e in entries if e.name in names]
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    where = "the working directory" if folder == Path() else str(folder)
    return f"{hint} In {where}: {', '.join(listed[:shown])}{more}."


class ModelFolderError(FarmError):
    """A model folder (or a file in it) that FARM cannot load: not found, not a model, or
    damaged; the message names the file and says what would open or repair it.

    Args:
        message (str): What was expected, what was found, and how to fix it.
        file (str | Path | None): The file or folder the problem is in.
    """

    def __init__(self, message: str, file: str | Path | None = None):
        self.file = str(file) if file is not None else None
        super().__init__(f"{self.file}: {message}" if self.file is not None else message)
