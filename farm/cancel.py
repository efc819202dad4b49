"""Stopping a running inference between model batches, from another thread.

The REST server runs each request's inference on a worker thread. When the request's client
goes away or its time limit passes, the server sets the request's event; the inferencer
checks it before each model batch (:func:`check_cancelled`) and stops with
:class:`InferenceCancelled`, so the worker is free for the next request instead of finishing
work nobody will read.

Example:
    >>> import threading
    >>> stop = threading.Event()
    >>> with cancel_on(stop):   # in the thread that runs the inference
    ...     check_cancelled()    # raises InferenceCancelled once stop.set() was called
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from farm.errors import FarmError

_current = threading.local()


class InferenceCancelled(FarmError):
    """The inference was stopped between two model batches (its client left, or its time
    limit passed)."""


@contextmanager
def cancel_on(event: threading.Event) -> Iterator[None]:
    """Within the block, in this thread, inference stops at its next model batch once
    ``event`` is set.

    Args:
        event (threading.Event): Set (from any thread) to stop the inference.
    """
    previous = getattr(_current, "event", None)
    _current.event = event
    try:
        yield
    finally:
        _current.event = previous


def check_cancelled() -> None:
    """Raise :class:`InferenceCancelled` if this thread's inference was asked to stop."""
    event = getattr(_current, "event", None)
    if event is not None and event.is_set():
        raise InferenceCancelled("inference stopped: its request was cancelled")
