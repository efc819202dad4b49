"""Plain-text corpora for language modelling: documents made of sentences."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from farm.errors import DataFileError

# A sentence ends at ., ! or ? (optionally followed by closing quotes or brackets) before
# white space. Simple on purpose: abbreviations ("Mr. Smith") split too.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences at sentence-ending punctuation followed by white space."""
    sentences, begin = [], 0
    for match in _SENTENCE_END.finditer(text):
        sentences.append(text[begin : match.end()].strip())
        begin = match.end()
    sentences.append(text[begin:].strip())
    return [s for s in sentences if s]


def read_documents(
    path: Path, one_doc_per_line: bool, encoding: str, max_docs: int | None
) -> list[dict[str, Any]]:
    """Read a plain-text corpus into ``{"doc": [sentence, ...], "line": n}`` dicts.

    Args:
        path (Path): The file.
        one_doc_per_line (bool): Each non-empty line is a document (split into sentences by
            :func:`split_sentences`); otherwise each line is a sentence and empty lines
            separate documents.
        encoding (str): Text encoding of the file.
        max_docs (int | None): Read at most this many documents.

    Returns:
        list[dict[str, Any]]: One dict per document; ``line`` is its first line (1-based).
    """
    if not path.is_file():
        raise DataFileError("file not found. Check data_dir= and the file name.", file=path)
    docs: list[dict[str, Any]] = []
    current: list[str] = []
    first_line = 0
    n_lines = 0
    try:
        with path.open(encoding=encoding) as handle:
            for n_lines, line in enumerate(handle, start=1):
                if max_docs is not None and len(docs) >= max_docs:
                    break
                text = line.strip()
                if one_doc_per_line:
                    if text:
                        docs.append({"doc": split_sentences(text), "line": n_lines})
                    continue
                if text:
                    first_line = first_line or n_lines
                    current.append(text)
                elif current:
                    docs.append({"doc": current, "line": first_line})
                    current, first_line = [], 0
    except UnicodeDecodeError as error:
        raise DataFileError(
            f"cannot be read as {encoding} text ({error.reason} at byte {error.start}). "
            "Pass the file's encoding with encoding=, e.g. encoding='latin-1'.", file=path,
        ) from error
    if current and (max_docs is None or len(docs) < max_docs):
        docs.append({"doc": current, "line": first_line})
    if not docs:
        what = "is empty" if n_lines == 0 else f"has {n_lines} lines, all of them empty"
        raise DataFileError(
            f"the file {what}: there is no text to learn from. Put one sentence per line "
            "with an empty line between documents (or one document per line with "
            "one_doc_per_line=True).", file=path,
        )
    return docs
