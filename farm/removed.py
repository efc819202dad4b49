"""Names FARM 0.8 had that cannot work any more: importable, and a clear ``FarmError`` with
the replacement when used (never an ``ImportError`` at the top of a user's script).

Example:
    >>> from farm.infer import FasttextInferencer   # imports
    >>> FasttextInferencer.load("model.bin")        # raises FarmError naming the replacement
"""

from __future__ import annotations

from typing import Any, NoReturn

from farm.errors import FarmError


class RemovedFeatureError(FarmError):
    """A FARM 0.8 feature that no longer exists; the message names its replacement."""


def _message(name: str, reason: str, replacement: str) -> str:
    return (f"{name} was part of FARM 0.8 and is not available any more: {reason}. Instead: "
            f"{replacement} (see docs/migrating_from_farm.md).")


def removed_function(name: str, reason: str, replacement: str) -> Any:
    """A function that raises :class:`RemovedFeatureError` whatever it is called with."""

    def removed(*args: Any, **kwargs: Any) -> NoReturn:
        raise RemovedFeatureError(_message(name, reason, replacement))

    removed.__name__ = name.rsplit(".", 1)[-1]
    removed.__qualname__ = removed.__name__
    removed.__doc__ = f"Removed: {reason}. Use {replacement}."
    return removed


class _RemovedMeta(type):
    """Any attribute of a removed class that is not defined raises too (``Cls.load``,
    ``Cls.from_scratch``, ...)."""

    def __getattr__(cls, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return removed_function(f"{cls.__name__}.{attribute}", cls._reason, cls._replacement)


def removed_class(name: str, reason: str, replacement: str) -> type:
    """A class whose construction and every class attribute (``load`` ...) raise
    :class:`RemovedFeatureError`."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RemovedFeatureError(_message(name, reason, replacement))

    return _RemovedMeta(name, (), {
        "__init__": __init__, "_reason": reason, "_replacement": replacement,
        "__doc__": f"Removed: {reason}. Use {replacement}.", "__module__": "farm.removed",
    })
