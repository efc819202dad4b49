"""Checks every input passes before a processor tokenizes it: it is a dict, and all its text
(values and field names) is valid Unicode.

A Python ``str`` (and a JSON string, through ``\\ud800``-style escapes) can hold a lone UTF-16
surrogate: one half of a surrogate pair, left by text cut between the two halves of an emoji
or by a bad escape. It is not a character; tokenizers refuse it with a ``TypeError`` and JSON
encoders cannot write it out. FARM refuses such input with an error that names the input, the
field and the position, so the caller can repair the text at its source (or replace the
character with U+FFFD, ``"\\ufffd"``, before sending it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from farm.errors import DataFileError

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""Matches a lone surrogate in a Python string (a valid pair is decoded to one character)."""

INPUT_EXAMPLE = '{"text": ...}'


def check_input_dicts(
    dicts: Sequence[Any],
    indices: Sequence[int] | None = None,
    example: str = INPUT_EXAMPLE,
    file: str | Path | None = None,
    lines: Sequence[int] | None = None,
) -> None:
    """Raise a :class:`DataFileError` for the first input that is not a dict or holds a
    lone surrogate.

    Args:
        dicts (Sequence[Any]): The inputs.
        indices (Sequence[int] | None): Their positions in the caller's data (default:
            positions in ``dicts``), used to name an input in the error.
        example (str): The input shape the processor expects, for the error message.
        file (str | Path | None): The file the inputs come from.
        lines (Sequence[int] | None): The line each input starts on in ``file``.

    Raises:
        DataFileError: An input is not a dict, or holds a lone surrogate; the message names
            the input (and its line), the field and the character offset.
    """
    for i, item in enumerate(dicts):
        if isinstance(item, dict):
            problem = surrogate_problem(item)
            if problem is None:
                continue
        else:
            problem = f"is {kind_of(item)}; expected a dict like {example}"
        position = indices[i] if indices is not None else i
        line = lines[i] if lines is not None else None
        where = f"input {position}" + (f" (line {line})" if line is not None else "")
        raise DataFileError(f"{where} {problem}.", file=file, line=line)


def kind_of(value: Any) -> str:
    """``value``'s type with an article, as in "input 1 is a str" (``None``: JSON null)."""
    if value is None:
        return "None (JSON null)"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def surrogate_problem(value: Any) -> str | None:
    """Where ``value`` (a string, or dicts and lists of them, nested) holds a lone
    surrogate, as the end of a sentence naming the input; ``None`` if it holds none.
    """
    if _clean(value, 0):
        return None
    return _locate(value)


def _clean(value: Any, depth: int) -> bool:
    """Whether ``value`` surely holds no lone surrogate: the fast check run on every input.

    ASCII strings are skipped in constant time (CPython marks them); deeper nesting than a
    request needs, or a container holding itself, is left to :func:`_locate`.
    """
    kind = type(value)
    if kind is str:
        return value.isascii() or LONE_SURROGATE.search(value) is None
    if depth > _FAST_DEPTH:
        return _locate(value) is None
    if kind is dict:
        for key, item in value.items():
            if type(key) is str and not key.isascii() and LONE_SURROGATE.search(key):
                return False
            if type(item) is str:
                if not item.isascii() and LONE_SURROGATE.search(item):
                    return False
            elif not _clean(item, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if type(item) is str:
                if not item.isascii() and LONE_SURROGATE.search(item):
                    return False
            elif not _clean(item, depth + 1):
                return False
        return True
    if isinstance(value, str | dict | list | tuple):  # subclasses
        return _locate(value) is None
    return True


_FAST_DEPTH = 32


_Path = tuple[Any, str] | None  # (parent path, step): built in constant time per element


def _locate(value: Any) -> str | None:
    """The message part of :func:`surrogate_problem`, found by a walk that is iterative
    (deep nesting cannot exhaust the stack) and visits every container once (a container
    holding itself does not loop)."""
    stack: list[tuple[Any, _Path]] = [(value, None)]
    seen: set[int] = set()
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            match = LONE_SURROGATE.search(current)
            if match is not None:
                where = f"field {_render(path)}" if path else "text"
                return _describe(current, match.start(), where)
            continue
        if not isinstance(current, dict | list | tuple) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, dict):
            entries = list(current.items())
            for key, _ in entries:
                if isinstance(key, str) and (match := LONE_SURROGATE.search(key)):
                    inside = f" inside field {_render(path)}" if path else ""
                    return _describe(key, match.start(), f"a field name{inside}")
            steps = [repr(k) if path is None else f"[{k!r}]" for k, _ in entries]
            stack += [(v, (path, step)) for (_, v), step in zip(reversed(entries),
                                                                  reversed(steps), strict=True)]
        else:
            stack += [(v, (path, f"[{j}]")) for j, v in reversed(list(enumerate(current)))]
    return None


def _render(path: _Path) -> str:
    """``'qas'[0]['question']``; a path into deeply nested lists is shortened."""
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(step)
    steps.reverse()
    if len(steps) > 20:
        steps = [*steps[:10], f"...({len(steps) - 20} more)...", *steps[-10:]]
    return "".join(steps)


def _describe(text: str, offset: int, what: str) -> str:
    shown = repr(text[max(0, offset - 20) : offset + 20])  # repr escapes the surrogate
    return (
        f"holds a lone UTF-16 surrogate {text[offset]!r} in {what}, at character offset "
        f"{offset} (in {shown}). A lone surrogate is half of a surrogate pair, not a "
        "character: the text was cut inside an emoji or another character, or a JSON "
        "\\u escape is broken. Repair the text, or replace the character with U+FFFD"
    )
