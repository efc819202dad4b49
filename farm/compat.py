"""FARM 0.8 compatibility: a warning logged once per process for arguments without effect."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("farm.compat")

_warned: set[str] = set()
_lock = threading.Lock()


def warn_once(key: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process.

    Args:
        key (str): Identifies the warning (e.g. ``"Inferencer.load:num_processes"``).
        message (str): What the user passed, why it has no effect, and what to do instead.
    """
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message)
