"""Reading CoNLL-style files: one token per line, blank lines between sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from farm.data_handler.readers import read_text
from farm.errors import DataFileError

DOCSTART = "-DOCSTART-"


@dataclass
class ConllSentence:
    """One sentence of a CoNLL file.

    Args:
        rows (list[list[str]]): Per token, the fields of its line (token, tags, ...).
        lines (list[int]): 1-based line of each token.
    """

    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def column(self, index: int) -> list[str]:
        """The values of column ``index`` (negative counts from the end), one per token."""
        return [row[index] for row in self.rows]


@dataclass
class ConllFile:
    """The sentences of a CoNLL file and its layout.

    Args:
        file (Path): Where the sentences came from.
        n_columns (int): Fields per token line (the same on every line).
        sentences (list[ConllSentence]): The sentences, in file order.
        n_documents (int): Number of ``-DOCSTART-`` lines skipped.
    """

    file: Path
    n_columns: int
    sentences: list[ConllSentence]
    n_documents: int = 0


def read_conll(
    file: str | Path,
    delimiter: str = "\t",
    encoding: str = "utf-8-sig",
    max_sentences: int | None = None,
) -> ConllFile:
    """Read a CoNLL-style file.

    Each non-blank line holds one token and its tags, separated by ``delimiter``; blank lines
    separate sentences (several in a row, and at the end of the file, are fine); lines
    starting with ``-DOCSTART-`` end the current sentence and are skipped. Lines may end in
    ``\\n``, ``\\r\\n`` or ``\\r``; trailing white space is ignored; fields are stripped.

    Args:
        file (str | Path): The file.
        delimiter (str): Field separator, ``"\\t"`` or ``" "``.
        encoding (str): Text encoding.
        max_sentences (int | None): Read at most this many sentences.

    Returns:
        ConllFile: The sentences with the line number of every token.

    Raises:
        DataFileError: The file is missing, not decodable, holds no sentence, or a line has
            another number of fields than the first token line or an empty field.
    """
    if not isinstance(delimiter, str) or not delimiter:
        raise ValueError(f"delimiter must be a non-empty string such as '\\t' or ' '; got "
                         f"{delimiter!r}.")
    path = Path(file)
    text = read_text(path, encoding)
    sentences: list[ConllSentence] = []
    current = ConllSentence()
    n_columns: int | None = None
    first_line = 0
    n_documents = 0
    # Lines end in "\n", "\r\n" or a lone "\r" (old Mac files); all three are line ends.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line or line.lstrip().startswith(DOCSTART):
            n_documents += bool(line)
            if current.rows:
                sentences.append(current)
                current = ConllSentence()
                if max_sentences is not None and len(sentences) >= max_sentences:
                    break
            continue
        fields = [f.strip() for f in line.split(delimiter)]
        if not all(fields):
            raise DataFileError(
                f"empty field in {line[:80]!r} (fields separated by {delimiter!r}): the line "
                "has the delimiter twice in a row or at its start. Remove the extra "
                "delimiter, or check delimiter=.",
                file=path,
                line=number,
            )
        if n_columns is None:
            n_columns, first_line = len(fields), number
        if len(fields) != n_columns:
            raise DataFileError(
                f"expected {n_columns} fields separated by {delimiter!r} (as on line "
                f"{first_line}), found {len(fields)} in {line[:80]!r}. A CoNLL file has one "
                "token per line followed by its tags, and a blank line after each sentence. "
                "Check delimiter= (tab or space) and that this is a CoNLL file.",
                file=path,
                line=number,
            )
        current.rows.append(fields)
        current.lines.append(number)
    if current.rows and (max_sentences is None or len(sentences) < max_sentences):
        sentences.append(current)
    if not sentences or n_columns is None:
        raise DataFileError(
            "the file holds no sentence (only blank or -DOCSTART- lines). A CoNLL file has "
            "one token per line followed by its tags, and a blank line after each sentence.",
            file=path,
        )
    return ConllFile(path, n_columns, sentences, n_documents)
