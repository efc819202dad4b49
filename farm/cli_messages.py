"""FARM's messages in the words of the ``farm`` command.

Library messages name the Python argument that fixes a problem: ``Pass text_column_name= one
of them``, ``pass task_type= one of [...]``, ``doc_stride=128 does not fit``, ``open it with
Inferencer.load(path, task_type=...)``. Where the running command has a flag for that
argument, the command line shows the flag instead (``--text-column``, ``--task-type``,
``--doc-stride 128``), so a message is written once, in the library, and reads right for
both callers. An argument the command has no flag for keeps its Python spelling.

The rule for library messages: name an argument as ``name=`` (or ``name=value``, or
``(name)`` after the thing it names), and a Python entry point as ``Inferencer.load(path,
name=...)``; the command line then shows the flag.
"""

from __future__ import annotations

import re
from collections.abc import Container

ARGUMENT_FLAGS: dict[str, str] = {
    "text_column_name": "--text-column",
    "label_column_name": "--label-column",
    "task_type": "--task-type",
    "max_seq_len": "--max-seq-len",
    "doc_stride": "--doc-stride",
    "extraction_strategy": "--extraction-strategy",
    "batch_size": "--batch-size",
    "return_class_probs": "--return-class-probs",
    "overwrite": "--overwrite",
}
"""Python argument → the ``farm`` flag that sets it."""

# Arguments whose bare name in a message always means the argument ("raise max_seq_len");
# others may name an attribute too ("the task has task_type 'ner'") and change only as
# "name=" or "(name)".
BARE_NAMES = ("max_seq_len", "doc_stride")

# Python entry points named in a message, reduced to the argument they are called with
# (which then becomes the flag): "Inferencer.load(path, task_type=...)" → "task_type=",
# 'Inferencer.load(folder, task_type="embeddings") passed to create_app' →
# "task_type=embeddings".
_ENTRY_POINTS = re.compile(
    r"(?:Q?A?Inferencer|TextSimilarityInferencer)\.load\([^()]*?\b(?P<argument>\w+)="
    r"(?P<quote>[\"']?)(?P<value>[\w.-]*)(?P=quote)[^()]*\)(?: passed to create_app)?")
# A value written after "name=": quoted, or a word, number or path (not the full stop after it).
_VALUE = r"(?P<value>'[^']*'|\"[^\"]*\"|[\w/\[-]+(?:\.[\w/-]+)*)?"


def flags_of(namespace: dict[str, object]) -> set[str]:
    """The flags of the command that parsed ``namespace`` (``vars(args)``) that
    :data:`ARGUMENT_FLAGS` knows."""
    return {flag for flag in ARGUMENT_FLAGS.values()
            if flag[2:].replace("-", "_") in namespace}


def in_cli_words(message: str, flags: Container[str]) -> str:
    """``message`` with each Python argument the command has a flag for named by the flag.

    Args:
        message (str): A FARM error message.
        flags (Container[str]): The running command's flags (:func:`flags_of`).

    Returns:
        str: The message for the command line.

    Example:
        >>> in_cli_words("Pass text_column_name= one of them.", {"--text-column"})
        'Pass --text-column one of them.'
    """
    def entry_point(match: re.Match[str]) -> str:
        argument, value = match["argument"], match["value"]
        if ARGUMENT_FLAGS.get(argument) not in flags:
            return match[0]
        return f"{argument}={value}" if value and value != "..." else f"{argument}="

    message = _ENTRY_POINTS.sub(entry_point, message)
    for argument, flag in ARGUMENT_FLAGS.items():
        if flag not in flags:
            continue

        def spelled(match: re.Match[str], flag: str = flag) -> str:
            value = match["value"]
            return f"{flag} {value}" if value and value != "True" else flag

        message = re.sub(rf"(?<![\w.-]){argument}={_VALUE}", spelled, message)
        message = re.sub(rf"\({argument}\)", f"({flag})", message)
        if argument in BARE_NAMES:
            message = re.sub(rf"(?<![\w.'\"-]){argument}(?![\w=])", flag, message)
    return message
