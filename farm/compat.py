"""Support for code written against FARM 0.8: one-time warnings for FARM arguments that no
longer have an effect, and stand-ins for FARM names that cannot work any more.

Helpers for every module that keeps a FARM name or argument alive:

- :func:`warn_once` — an accepted FARM argument that changes nothing: log it once per process.
- :func:`log_once` — any other one-time warning about a FARM call (a renamed method, an
  argument that now means something slightly different), worded by the caller.
- :func:`removed_function` / :func:`removed_class` — a FARM name that imports fine but raises
  :class:`FeatureRemovedError` (a :class:`~farm.errors.FarmError`) naming the replacement when
  it is called or instantiated, so a FARM script fails at the call, never at its imports.

Example:
    >>> from farm.compat import warn_once
    >>> warn_once("NERProcessor(multithreading_rust=...)",
    ...           "tokenization always runs in the fast tokenizer's own threads")
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, NoReturn

from farm.errors import FarmError

logger = logging.getLogger("farm.compat")

_warned: set[str] = set()
_lock = threading.Lock()


class FeatureRemovedError(FarmError):
    """A FARM 0.8 feature that this FARM does not have; the message names the replacement."""


def warn_once(name: str, reason: str) -> None:
    """Log a warning the first time a FARM argument (or name) without effect is used.

    Args:
        name (str): What the user wrote, e.g. ``"NERProcessor(multithreading_rust=...)"``;
            one warning per distinct name and process.
        reason (str): Why it has no effect, and what to do instead if anything.
    """
    if _first_time(name):
        logger.warning("%s is accepted for FARM compatibility but has no effect: %s", name,
                       reason)


def log_once(key: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process.

    Args:
        key (str): Identifies the warning (e.g. ``"Inferencer.load:num_processes"``).
        message (str): What the user passed, what happens instead, and what to do.
    """
    if _first_time(key):
        logger.warning(message)


def _first_time(key: str) -> bool:
    """Whether ``key`` is new (and remember it); safe across threads."""
    with _lock:
        if key in _warned:
            return False
        _warned.add(key)
        return True


def forget_warnings() -> None:
    """Let every :func:`warn_once` warning be logged again (for tests)."""
    _warned.clear()


def removed_message(name: str, reason: str, instead: str) -> str:
    """The message of a removed feature: what, why, and the replacement."""
    return (f"{name} is not available in this FARM: {reason}. Instead: {instead} (see "
            "docs/migrating_from_farm.md).")


def removed_function(name: str, reason: str, instead: str) -> Callable[..., NoReturn]:
    """A stand-in for a removed FARM function: importable, raises when called.

    Args:
        name (str): The FARM name, e.g. ``"farm.file_utils.download_from_s3"``.
        reason (str): Why it cannot work any more.
        instead (str): What to use instead.

    Returns:
        Callable[..., NoReturn]: A function raising :class:`FeatureRemovedError`.
    """
    message = removed_message(name, reason, instead)

    def stand_in(*args: Any, **kwargs: Any) -> NoReturn:
        raise FeatureRemovedError(message)

    short = name.rsplit(".", 1)[-1]
    stand_in.__name__ = stand_in.__qualname__ = short
    stand_in.__doc__ = f"Removed. {message}"
    return stand_in


class _RemovedClass(type):
    """Metaclass of removed-class stand-ins: any class attribute they lack (``.load``,
    ``.convert_on_data``) is a function raising the removal message when called."""

    _removed_name: str
    _reason: str
    _instead: str

    def __getattr__(cls, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return removed_function(f"{cls._removed_name}.{attribute}", cls._reason, cls._instead)


def removed_class(name: str, reason: str, instead: str) -> type:
    """A stand-in for a removed FARM class: importable (and subclassable in annotations),
    raises when instantiated or when a class method such as ``load`` is used.

    Args:
        name (str): The FARM name, e.g. ``"NaturalQuestionsProcessor"``.
        reason (str): Why it cannot work any more.
        instead (str): What to use instead.

    Returns:
        type: The stand-in class.
    """
    message = removed_message(name, reason, instead)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise FeatureRemovedError(message)

    short = name.rsplit(".", 1)[-1]
    return _RemovedClass(short, (), {
        "__init__": __init__, "_removed_name": name, "_reason": reason, "_instead": instead,
        "__doc__": f"Removed. {message}",
    })
