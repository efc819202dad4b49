"""Word-level tagging shared by the NER processor, head and metric: entity spans as seqeval
reads them, and the repair of I- tags that start an entity (IOB1 → IOB2).

Entities are read exactly as seqeval's default mode (conlleval-compatible) reads them: a tag's
first character is its role (``B``, ``I``, ``E``, ``S``, ``O``), the text after the first
``-`` its type. So ``I-PER`` after ``O`` starts a ``PER`` entity, and BIOES tags (``S-LOC``,
``E-ORG``) are understood too.

The processor and the head also agree here on the names of the features that word-level tasks
add to each sample.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

# Feature names of word-level tasks (written by NERProcessor, read by TokenClassificationHead).
WORD_STARTS = "word_starts"
"""Per word a sample owns: position of its first sub-token in the sample, ``NO_SUB_TOKEN`` if
the tokenizer dropped all of the word's characters; padded with ``WORD_STARTS_PAD``."""
NO_SUB_TOKEN = -1
WORD_STARTS_PAD = -2
WINDOW_POSITION = "window_position"
"""Per sample: ``[basket index, window index, number of windows]`` of its sentence."""

# Labels of FARM's old label lists that mark sub-tokens and padding; never a word's tag.
PLACEHOLDER_LABELS = ("X", "[PAD]")

Entity = tuple[str, int, int]
"""``(type, first word, last word)``, both positions inclusive, as seqeval returns them."""


def tag_parts(tag: str) -> tuple[str, str]:
    """Role and type of a tag as seqeval reads them: ``"B-PER"`` → ``("B", "PER")``, ``"O"``
    → ``("O", "_")``."""
    return tag[:1], tag[1:].split("-", maxsplit=1)[-1] or "_"


def _ends_chunk(prev_role: str, role: str, prev_type: str, type_: str) -> bool:
    if prev_role in ("E", "S"):
        return True
    if prev_role in ("B", "I") and role in ("B", "S", "O"):
        return True
    return prev_role not in ("O", ".") and prev_type != type_


def _starts_chunk(prev_role: str, role: str, prev_type: str, type_: str) -> bool:
    if role in ("B", "S"):
        return True
    if prev_role in ("E", "S", "O") and role in ("E", "I"):
        return True
    return role not in ("O", ".") and prev_type != type_


def _flatten(sequences: Sequence[Sequence[str]]) -> Iterator[str]:
    """The tags of all sequences with an ``O`` after each, as seqeval joins sentences."""
    for sequence in sequences:
        yield from sequence
        yield "O"


def get_entities(sequences: Sequence[Sequence[str]] | Sequence[str]) -> list[Entity]:
    """Entities of tag sequences, identical to ``seqeval.metrics.sequence_labeling
    .get_entities``.

    Args:
        sequences (Sequence[Sequence[str]] | Sequence[str]): One sentence's tags, or a list of
            sentences (positions then count through all sentences, each followed by one
            extra position, as in seqeval).

    Returns:
        list[Entity]: ``(type, first, last)`` per entity, in order.

    Example:
        >>> get_entities(["B-PER", "I-PER", "O", "I-LOC"])
        [('PER', 0, 1), ('LOC', 3, 3)]
    """
    if any(not isinstance(s, str) for s in sequences):
        tags: list[str] = list(_flatten(cast(Sequence[Sequence[str]], sequences)))
    else:
        tags = list(cast(Sequence[str], sequences))
    prev_role, prev_type, begin = "O", "", 0
    entities: list[Entity] = []
    i = -1
    for i, tag in enumerate([*tags, "O"]):
        role, type_ = tag_parts(tag)
        if _ends_chunk(prev_role, role, prev_type, type_):
            entities.append((prev_type, begin, i - 1))
        if _starts_chunk(prev_role, role, prev_type, type_):
            begin = i
        prev_role, prev_type = role, type_
    return entities


def repair_tags(tags: Sequence[str]) -> tuple[list[str], list[int]]:
    """Turn each ``I-`` tag that starts an entity into ``B-``, as seqeval reads it.

    This converts IOB1 to IOB2 and repairs IOB2 sequences with an ``I-`` after ``O`` (or
    after another type); the entities do not change. Other tags are kept.

    Args:
        tags (Sequence[str]): One sentence's tags.

    Returns:
        tuple[list[str], list[int]]: The repaired tags and the positions that changed.

    Example:
        >>> repair_tags(["I-PER", "I-PER", "O", "I-LOC", "B-LOC"])
        (['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC'], [0, 3])
    """
    repaired, changed = list(tags), []
    prev_role, prev_type = "O", ""
    for i, tag in enumerate(tags):
        role, type_ = tag_parts(tag)
        if tag.startswith("I-") and _starts_chunk(prev_role, role, prev_type, type_):
            repaired[i] = "B-" + tag[2:]
            changed.append(i)
            role = "B"
        prev_role, prev_type = role, type_
    return repaired, changed


def count_iob2_begins(tags: Sequence[str]) -> int:
    """How many tags begin an entity the IOB2 or BIOES way: ``B-`` after ``O`` or another
    type (IOB1 uses ``B-`` only between two adjacent entities of one type), or ``S-``."""
    count, previous = 0, "O"
    for tag in tags:
        if tag.startswith("S-") or (
            tag.startswith("B-") and tag_parts(previous)[1] != tag_parts(tag)[1]
        ):
            count += 1
        previous = tag
    return count


def is_entity_tag(tag: str) -> bool:
    """Whether ``tag`` is ``O`` or an IOB/BIOES tag such as ``B-PER`` or ``S-LOC``."""
    return tag == "O" or (len(tag) > 2 and tag[0] in "BIES" and tag[1] == "-")
