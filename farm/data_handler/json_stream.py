"""Reading a large JSON file of records one record at a time.

DPR training files are one JSON array of records and reach gigabytes; ``json.load`` would
hold all of it in memory as Python objects. :func:`iter_json_objects` reads the file in
chunks and yields one parsed record after the other, so memory stays bounded by the chunk
size plus the largest record. It reads a JSON array of objects (``[{...}, {...}]``) and JSON
Lines (one object per line, or objects just separated by white space).

Each record is parsed by the standard library's C decoder; only a record that straddles the
end of the buffered text is first scanned (strings and brackets) to find where it ends.
Errors name the file, the record's index, and the line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from farm.data_handler.input_checks import surrogate_problem
from farm.errors import DataFileError

CHUNK_CHARS = 1 << 20  # characters read at a time
MAX_RECORD_CHARS = 1 << 28

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'[{}\[\]"]')
_STRING_END = re.compile(r'["\\]')
_DECODER = json.JSONDecoder()

SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A ``\\uD800``-``\\uDFFF`` escape in JSON text: the only way JSON can hold a lone
surrogate (paired ones decode to one character and are fine)."""

TOO_DEEP = (
    "nested too deeply to be read (thousands of brackets inside each other); no FARM input "
    "needs more than a few levels, so the file is probably damaged or not a data file"
)


@dataclass
class JsonRecord:
    """One record of a JSON file.

    Args:
        index (int): Position of the record in the file (0-based).
        line (int): Line (1-based) on which the record starts.
        value (dict[str, Any]): The parsed record.
    """

    index: int
    line: int
    value: dict[str, Any]


class _Buffer:
    """The not yet consumed text of a file, refilled chunk by chunk.

    Line numbers are counted incrementally from a mark (the start of the current record),
    so a record's line costs only the characters since the previous record.
    """

    def __init__(self, handle: IO[str], path: Path, chunk_chars: int, max_record_chars: int):
        self.handle = handle
        self.path = path
        self.chunk_chars = chunk_chars
        self.max_record_chars = max_record_chars
        self.text = ""
        self.pos = 0
        self.mark = 0  # a position in text whose line and column are known
        self.mark_line = 1
        self.mark_column = 0  # 0-based
        self.eof = False

    def fill(self) -> bool:
        """Append the next chunk; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.handle.read(self.chunk_chars)
        if not chunk:
            self.eof = True
            return False
        self.text += chunk
        return True

    def move_mark(self, pos: int) -> None:
        """Make ``pos`` (not before the mark) the new mark."""
        self.mark_line, column = self.where(pos)
        self.mark_column = column - 1
        self.mark = pos

    def compact(self) -> None:
        """Drop consumed text once it exceeds a chunk (so copies stay amortised); called
        between records only, so positions of a record being parsed never move."""
        if self.pos <= self.chunk_chars and self.pos < len(self.text):
            return
        self.move_mark(self.pos)
        self.text = self.text[self.pos :]
        self.pos = self.mark = 0

    def where(self, pos: int) -> tuple[int, int]:
        """1-based line and column of ``text[pos]`` (``pos`` not before the mark)."""
        newlines = self.text.count("\n", self.mark, pos)
        if newlines:
            return self.mark_line + newlines, pos - self.text.rfind("\n", self.mark, pos)
        return self.mark_line, self.mark_column + pos - self.mark + 1

    def error(self, message: str, pos: int) -> DataFileError:
        line, column = self.where(pos)
        return DataFileError(f"{message} (line {line}, column {column}).", file=self.path,
                             line=line)

    def next_char(self) -> str:
        """Skip white space (refilling as needed); the next character, '' at the end."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            self.compact()
            if not self.fill():
                return ""

    def read_object(self, index: int) -> tuple[dict[str, Any], int]:
        """Parse the object starting at ``pos``; returns it and the line it starts on."""
        self.compact()
        start = self.pos
        self.move_mark(start)
        try:
            value, end = _DECODER.raw_decode(self.text, start)
        except RecursionError:
            raise self.error(f"record {index} is {TOO_DEEP}", start) from None
        except json.JSONDecodeError as error:
            # Only an error at the end of the text (or a string running into it) can be the
            # buffer's end rather than the record's fault.
            truncated = error.msg.startswith("Unterminated string") or (
                error.pos >= len(self.text) - 16
            )
            if not truncated or self.eof:
                raise self.error(f"record {index} is not valid JSON: {error.msg}",
                                 error.pos) from None
            end = self._scan_to_end(start, index)
            try:
                value = json.loads(self.text[start:end])
            except RecursionError:
                raise self.error(f"record {index} is {TOO_DEEP}", start) from None
            except json.JSONDecodeError as error:
                raise self.error(f"record {index} is not valid JSON: {error.msg}",
                                 start + error.pos) from None
        # A lone surrogate can only come from a \u escape: look for one before walking.
        if SURROGATE_ESCAPE.search(self.text, start, end) and (
            problem := surrogate_problem(value)
        ):
            raise self.error(f"record {index} {problem}", start)
        self.pos = end
        return value, self.mark_line

    def _scan_to_end(self, start: int, index: int) -> int:
        """End of the object starting at ``start``, reading more text until it is complete."""
        depth, pos, in_string = 0, start, False
        while True:
            if in_string:
                match = _STRING_END.search(self.text, pos)
                if match is None:
                    pos = len(self.text)
                elif match.group() == "\\":
                    if match.end() < len(self.text):
                        pos = match.end() + 1  # the escaped character
                        continue
                    pos = match.start()  # keep the backslash: its character comes next
                else:
                    in_string, pos = False, match.end()
                    continue
            else:
                match = _STRUCTURE.search(self.text, pos)
                if match is not None:
                    pos = match.end()
                    char = match.group()
                    if char == '"':
                        in_string = True
                    elif char in "{[":
                        depth += 1
                    else:
                        depth -= 1
                        if depth == 0:
                            return pos
                    continue
                pos = len(self.text)
            if len(self.text) - start > self.max_record_chars:
                raise self.error(
                    f"record {index}, which starts here, runs on for more than "
                    f"{self.max_record_chars} characters; a closing quote or bracket is "
                    "probably missing", start,
                )
            if not self.fill():
                raise self.error(
                    f"the file ends inside record {index}, which starts here; the file is "
                    "cut off or a closing quote or bracket is missing", start,
                )


def iter_json_objects(
    path: str | Path, encoding: str = "utf-8-sig", chunk_chars: int = CHUNK_CHARS,
    max_record_chars: int = MAX_RECORD_CHARS,
) -> Iterator[JsonRecord]:
    """The objects of a JSON array file (or a JSON Lines file), one at a time.

    Args:
        path (str | Path): The file.
        encoding (str): Its text encoding (the default also drops a UTF-8 byte-order mark).
        chunk_chars (int): Characters read at a time; memory stays near twice this plus
            the largest record.
        max_record_chars (int): A record longer than this is reported as malformed (a
            missing quote or bracket would otherwise make the rest of the file one record).

    Yields:
        JsonRecord: Index, start line and parsed value of each record, in file order.

    Raises:
        DataFileError: The file is missing or empty, is neither an array of objects nor JSON
            Lines, or a record is malformed (the message names the record, line and column).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError("file not found. Check data_dir and the *_filename arguments.",
                            file=path)
    try:
        with path.open(encoding=encoding, newline="") as handle:
            yield from _records(_Buffer(handle, path, chunk_chars, max_record_chars))
    except UnicodeDecodeError as error:
        raise DataFileError(
            f"the file cannot be decoded as {encoding} ({error.reason}). Pass the file's "
            "encoding to the processor, e.g. encoding='latin-1'.", file=path,
        ) from None


def _records(buffer: _Buffer) -> Iterator[JsonRecord]:
    first = buffer.next_char()
    if first == "":
        raise DataFileError("the file is empty; it needs a JSON array of records.",
                            file=buffer.path)
    in_array = first == "["
    if not in_array and first != "{":
        raise buffer.error(
            f"expected a JSON array of records ('[') or JSON Lines (one '{{...}}' object per "
            f"line), found {first!r}", buffer.pos,
        )
    if in_array:
        buffer.pos += 1
    index = 0
    while True:
        char = buffer.next_char()
        if in_array and char == "]" and index == 0:
            buffer.pos += 1
            break
        if char == "":
            if in_array:
                raise buffer.error(f"the file ends after record {index - 1} without the "
                                   "closing ']' of the array", buffer.pos)
            return
        if char != "{":
            raise buffer.error(
                f"record {index} starts with {char!r}; every record must be a JSON object "
                "('{...}')", buffer.pos,
            )
        value, line = buffer.read_object(index)
        yield JsonRecord(index, line, value)
        index += 1
        if not in_array:
            continue
        char = buffer.next_char()
        if char == "]":
            buffer.pos += 1
            break
        if char != ",":
            found = repr(char) if char else "the end of the file"
            raise buffer.error(f"expected ',' or ']' after record {index - 1}, found {found}",
                               buffer.pos)
        buffer.pos += 1
        if buffer.next_char() == "]":
            raise buffer.error(f"a ',' after the last record ({index - 1}) is not allowed in "
                               "JSON; remove it", buffer.pos)
    if buffer.next_char() != "":
        raise buffer.error("unexpected text after the closing ']' of the array", buffer.pos)


def parse_json(text: str, file: str | Path, line: int | None = None) -> Any:
    """Parse a JSON document (a whole file, or one line of a JSON Lines file).

    Args:
        text (str): The JSON text.
        file (str | Path): The file it comes from, for errors.
        line (int | None): The line ``text`` starts on (for one line of a file).

    Raises:
        DataFileError: The text is not valid JSON or is nested too deeply; the message
            names the file, line and column.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise DataFileError(f"the JSON is {TOO_DEEP}.", file=file, line=line) from None
    except json.JSONDecodeError as error:
        at = line if line is not None else error.lineno
        raise DataFileError(f"not valid JSON: {error.msg} (column {error.colno}).",
                            file=file, line=at) from None
