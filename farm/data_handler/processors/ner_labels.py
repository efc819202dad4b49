"""Checks of the NER processor's inputs: words of a dict, tags of a file or a dict."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from farm.data_handler.conll import ConllFile
from farm.data_handler.word_windows import locate_words, split_words, whitespace_words
from farm.errors import DataFileError, did_you_mean
from farm.tagging import PLACEHOLDER_LABELS, count_iob2_begins, is_entity_tag, repair_tags

logger = logging.getLogger(__name__)

_PLACEHOLDER_HELP = (
    "marks sub-tokens or padding in FARM's label lists and cannot be a word's tag; give the "
    "word its real tag (e.g. 'O')."
)


def sentence_words(
    item: dict[str, Any], position: int, tasks: dict[str, dict[str, Any]]
) -> tuple[str, list[str], list[tuple[int, int]]]:
    """The text, words and word spans (character offsets in the text) of an input dict.

    Words are ``item["words"]`` when given (found in order in ``item["text"]``, or joined by
    spaces to make it); else, with tags, the white-space separated words of the text (one tag
    each, as in FARM); else the words of the text split CoNLL style (punctuation apart).

    Args:
        item (dict[str, Any]): The input dict.
        position (int): Its position, for error messages.
        tasks (dict[str, dict[str, Any]]): The tasks whose tags the dicts carry.
    """
    words, text = item.get("words"), item.get("text")
    labelled = any(task["label_name"] in item for task in tasks.values())
    if words is not None:
        if isinstance(words, str) or not all(isinstance(w, str) and w.strip() for w in words):
            raise DataFileError(
                f"input dict {position}: 'words' must be a list of non-empty strings; got "
                f"{str(words)[:80]}."
            )
        words = list(words)
        text = " ".join(words) if text is None else text
        spans = locate_words(words, text) if isinstance(text, str) else None
        if spans is None:
            raise DataFileError(
                f"input dict {position}: its 'words' do not all occur, in order, in its "
                f"'text' {str(text)[:80]!r}. Give words taken from the text, or leave out "
                "'text' (the words are then joined by spaces)."
            )
    elif not isinstance(text, str):
        raise DataFileError(
            f"input dict {position} needs a 'text' string (or 'words'); it has keys "
            f"{sorted(item)}."
        )
    else:
        spans = whitespace_words(text) if labelled else split_words(text)
        words = [text[a:b] for a, b in spans]
    if not words and labelled:
        raise DataFileError(
            f"input dict {position} has tags but no words (an empty sentence). Remove it or "
            "give it words."
        )
    return text, words, spans


def label_ids(
    dicts: list[dict[str, Any]],
    sentences: list[tuple[str, list[str], list[tuple[int, int]]]],
    name: str,
    task: dict[str, Any],
) -> list[np.ndarray]:
    """Per dict, the index in ``label_list`` of each word's tag (``I-`` tags that begin an
    entity repaired to ``B-``, counted and logged).

    Args:
        dicts (list[dict[str, Any]]): The inputs; all or none carry the task's tags.
        sentences (list[tuple[str, list[str], list[tuple[int, int]]]]): Their words.
        name (str): The task's name.
        task (dict[str, Any]): The task (``label_name``, ``label_list``).
    """
    key, known = task["label_name"], task["label_list"]
    missing = [i for i, d in enumerate(dicts) if key not in d]
    if missing:
        raise DataFileError(
            f"input dict {missing[0]} has no '{key}' although other inputs have one; give "
            "every input tags or none."
        )
    if not known:
        raise DataFileError(f"task '{name}' has no label_list; pass label_list= to the "
                            "processor.")
    index = {label: i for i, label in enumerate(known)}
    out, n_repaired = [], 0
    for i, (item, (_, words, _)) in enumerate(zip(dicts, sentences, strict=True)):
        tags = item[key]
        if isinstance(tags, str) or not isinstance(tags, list | tuple):
            raise DataFileError(
                f"input dict {i}: '{key}' must be a list with one tag per word; got "
                f"{str(tags)[:80]!r}."
            )
        if len(tags) != len(words):
            raise DataFileError(
                f"input dict {i} has {len(tags)} tags in '{key}' for {len(words)} words "
                f"{words[:8]}{'...' if len(words) > 8 else ''}. Give one tag per word (words "
                "are separated by white space, or pass them as 'words')."
            )
        repaired, changed = repair_tags([str(t) for t in tags])
        n_repaired += len(changed)
        for position, tag in enumerate(repaired):
            if tag in PLACEHOLDER_LABELS or tag not in index:
                problem = _PLACEHOLDER_HELP if tag in PLACEHOLDER_LABELS else (
                    f"is not in label_list {known}.{did_you_mean(tag, known)}"
                )
                raise DataFileError(
                    f"input dict {i}, word {position} ({words[position]!r}): tag {tag!r} of "
                    f"task '{name}' {problem}"
                )
        out.append(np.array([index[t] for t in repaired], dtype=np.int64))
    if n_repaired:
        logger.warning("%d I- tags of task '%s' begin an entity (after O or another type); "
                       "read as B- tags, as seqeval reads them.", n_repaired, name)
    return out


def check_tags(
    conll: ConllFile, column: int, name: str, task: dict[str, Any], path: Path, collect: bool
) -> tuple[list[str] | None, list[int], bool]:
    """Check and repair the tags of one column of a CoNLL file, in place.

    Args:
        conll (ConllFile): The file's sentences; repaired tags are written back.
        column (int): The tag column.
        name (str): The task's name.
        task (dict[str, Any]): The task (``label_list``, ``task_type``).
        path (Path): The file, for error messages.
        collect (bool): Return the file's tags as the label list (``O`` first).

    Returns:
        tuple[list[str] | None, list[int], bool]: The collected label list (or None), the
        lines whose ``I-`` tag became ``B-``, and whether the tags look like IOB1 (more
        entities begin with ``I-`` than with ``B-``).
    """
    known = set(task["label_list"] or [])
    check_shape = collect and task.get("task_type") == "ner"
    seen: set[str] = set()
    changed_lines: list[int] = []
    n_iob2_begins = 0
    for sentence in conll.sentences:
        tags = sentence.column(column)
        for tag, line in zip(tags, sentence.lines, strict=True):
            if tag in PLACEHOLDER_LABELS:
                raise DataFileError(f"tag {tag!r} of task '{name}' {_PLACEHOLDER_HELP}",
                                    file=path, line=line)
            if check_shape and not is_entity_tag(tag):
                raise DataFileError(
                    f"column {column} holds {tag!r}, which is not an entity tag (O, B-TYPE, "
                    "I-TYPE, E-TYPE or S-TYPE). Is this a CoNLL NER file? Check "
                    "tag_column= and delimiter=, or pass label_list=.",
                    file=path, line=line,
                )
        n_iob2_begins += count_iob2_begins(tags)
        repaired, changed = repair_tags(tags)
        changed_lines += [sentence.lines[i] for i in changed]
        for i, tag in enumerate(repaired):
            sentence.rows[i][column] = tag
            if collect:
                seen.add(tag)
            elif tag not in known:
                hint = (
                    f" The file's tag {tags[i]!r} begins an entity, so it is read as {tag!r} "
                    "(IOB1 is converted to IOB2): add the B- tags to label_list."
                    if i in changed else
                    f"{did_you_mean(tag, known)} Add it to label_list or correct the line."
                )
                raise DataFileError(
                    f"tag {tag!r} of task '{name}' is not in label_list "
                    f"{task['label_list']}.{hint}",
                    file=path, line=sentence.lines[i],
                )
    labels = None
    if collect:
        others = sorted(seen - {"O"}, key=lambda t: (t[2:], t))
        labels = (["O"] if "O" in seen else []) + others
    # IOB1 begins most entities with I- (a few B- may be annotation slips, as in CoNLL-2003).
    return labels, changed_lines, len(changed_lines) > n_iob2_begins


def report_repairs(path: Path, name: str, changed_lines: list[int], iob1: bool) -> None:
    """Log the ``I-`` tags turned into ``B-`` in a file."""
    if not changed_lines:
        return
    if iob1:
        logger.info("%s: tags of task '%s' read as IOB1 and converted to IOB2 (%d I- tags that "
                    "begin an entity became B-).", path, name, len(changed_lines))
        return
    shown = ", ".join(map(str, changed_lines[:5]))
    logger.warning("%s: %d I- tags of task '%s' begin an entity (after O or another type), on "
                   "lines %s%s; read as B- tags, as seqeval reads them.", path,
                   len(changed_lines), name, shown, ", ..." if len(changed_lines) > 5 else "")
