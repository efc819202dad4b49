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
