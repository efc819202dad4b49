"""How much the ``farm`` command says.

By default FARM's own progress and summaries (its INFO log lines, the training progress bar
in a terminal) and every library's warnings that matter (ERROR and above for Hugging Face
Transformers, whose warnings are about its own loading details); with ``-v`` the libraries'
chatter too (their INFO lines, Hugging Face's "Loading weights" and "Writing model shards"
bars, the ONNX exporter's passes); with ``-vv`` debug lines; with ``-q`` only warnings and
errors. The set-up is made per command by :func:`cli_logging` and undone afterwards: importing
``farm`` configures no logging, and a program that calls ``farm.cli.main`` gets its own
logging set-up back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

QUIET, NORMAL, VERBOSE, DEBUG = -1, 0, 1, 2
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def verbosity_level(quiet: bool, verbose: int) -> int:
    """``-q`` → :data:`QUIET`; ``-v`` → :data:`VERBOSE`; ``-vv`` → :data:`DEBUG`."""
    return QUIET if quiet else min(verbose, DEBUG)


@contextlib.contextmanager
def cli_logging(level: int) -> Iterator[None]:
    """Logging for one ``farm`` command at ``level`` (:data:`QUIET` ... :data:`DEBUG`); the
    previous levels, handlers and Hugging Face progress-bar setting are restored afterwards.

    Args:
        level (int): :data:`QUIET`, :data:`NORMAL`, :data:`VERBOSE` or :data:`DEBUG`.
    """
    farm_level = {QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.INFO}.get(
        level, logging.DEBUG)
    library_level = {VERBOSE: logging.INFO, DEBUG: logging.DEBUG}.get(level, logging.WARNING)
    root, farm = logging.getLogger(), logging.getLogger("farm")
    handler = None
    if not root.handlers:  # as logging.basicConfig: a host program's handlers are kept
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    levels = {root: root.level, farm: farm.level}
    root.setLevel(library_level)
    farm.setLevel(farm_level)
    with _exporter_loggers(library_level if level >= VERBOSE else None), \
            _hugging_face(library_level if level >= VERBOSE else logging.ERROR,
                          progress_bars=level >= VERBOSE):
        try:
            yield
        finally:
            for logger, previous in levels.items():
                logger.setLevel(previous)
            if handler is not None:
                root.removeHandler(handler)


@contextlib.contextmanager
def _hugging_face(level: int, progress_bars: bool) -> Iterator[None]:
    """Transformers logs through its own handler (it does not propagate): its level, and
    its progress bars (which also switch those of huggingface_hub), for the command."""
    from transformers.utils import logging as hf_logging

    previous_level = hf_logging.get_verbosity()
    previous_bars = hf_logging.is_progress_bar_enabled()

    def show_bars(enabled: bool) -> None:
        if enabled:
            hf_logging.enable_progress_bar()
        else:
            hf_logging.disable_progress_bar()

    hf_logging.set_verbosity(level)
    show_bars(progress_bars)
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous_level)
        show_bars(previous_bars)


@contextlib.contextmanager
def _exporter_loggers(level: int | None) -> Iterator[None]:
    """With ``-v``, the ONNX exporter's loggers set explicitly, so that the export's own
    scoped quieting (``farm.conversion.onnx_export``) leaves them at ``level``."""
    if level is None:
        yield
        return
    from farm.conversion.onnx_export import EXPORTER_LOGGERS

    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, old in zip(loggers, previous, strict=True):
            logger.setLevel(old)
