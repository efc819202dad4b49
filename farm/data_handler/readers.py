"""Reading delimited text files (TSV, CSV) with errors that name the file and line."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farm.errors import DataFileError, did_you_mean, near_misses


@dataclass
class Table:
    """Rows of a delimited file with the line each row started on.

    Args:
        file (Path): Where the rows came from.
        columns (list[str | int]): Column names from the header, or positions without one.
        rows (list[list[str]]): Data rows, each with ``len(columns)`` fields.
        line_numbers (list[int]): 1-based line on which each row starts.
        skipped (list[tuple[int, str]]): ``(line, reason)`` of rows skipped on request.
    """

    file: Path
    columns: list[str | int]
    rows: list[list[str]]
    line_numbers: list[int]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    header_line: int | None = None

    def column_index(self, name: str | int, argument: str) -> int:
        """Position of column ``name``; a clear error naming ``argument`` if it is missing."""
        if name in self.columns:
            return self.columns.index(name)
        if isinstance(name, str) and name.isdigit() and int(name) in self.columns:
            return self.columns.index(int(name))
        shown = ", ".join(repr(c) for c in self.columns)
        hint = did_you_mean(str(name), [str(c) for c in self.columns])
        raise DataFileError(
            f"column {name!r} ({argument}) not found; the file's columns are {shown}.{hint} "
            f"Pass {argument}= one of them, or check header= and delimiter=.",
            file=self.file,
            line=self.header_line,
        )


def read_text(file: Path, encoding: str = "utf-8-sig") -> str:
    """The decoded content of ``file``; errors name the file, the line and the fix."""
    if not file.is_file():
        raise DataFileError(
            f"file not found.{near_misses(file)} Check data_dir and the *_filename arguments of "
            "the processor.",
            file=file,
        )
    data = file.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataFileError(
            f"bytes {data[error.start:error.end]!r} cannot be decoded as {encoding}. "
            "If the file uses another encoding, pass it to the processor, e.g. "
            "encoding='latin-1'.",
            file=file,
            line=line,
        ) from None


def read_delimited(
    file: str | Path,
    delimiter: str = "\t",
    quote_char: str | None = '"',
    skiprows: int | None = None,
    header: int | None = 0,
    max_samples: int | None = None,
    encoding: str = "utf-8-sig",
    skip_bad_rows: bool = False,
) -> Table:
    """Read a TSV/CSV file into a :class:`Table`.

    Args:
        file (str | Path): The file.
        delimiter (str): Field separator.
        quote_char (str | None): Quote character of quoted fields; ``None`` turns quoting off
            (use it when texts contain quote characters that are not CSV quoting).
        skiprows (int | None): Number of lines to skip before the header.
        header (int | None): Row (after ``skiprows``) holding the column names; ``None`` when
            the file has no header: columns are then named by position 0, 1, ...
        max_samples (int | None): Read at most this many data rows.
        encoding (str): Text encoding; the default also removes a UTF-8 byte-order mark.
        skip_bad_rows (bool): Skip rows with the wrong number of fields (they are listed in
            ``Table.skipped``) instead of raising.

    Returns:
        Table: The rows with their line numbers.
    """
    path = Path(file)
    text = read_text(path, encoding)
    if not text.strip():
        raise DataFileError("the file is empty; it needs a header and data rows.", file=path)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar=quote_char,
        quoting=csv.QUOTE_NONE if quote_char is None else csv.QUOTE_MINIMAL,
    )
    with _field_limit(len(text) + 1):
        return _read_records(reader, path, delimiter, skiprows, header, max_samples,
                             skip_bad_rows)


_MAX_FIELD_LIMIT = 2**31 - 1  # the csv module keeps its limit in a C long (32 bits on Windows)
_limit_lock = threading.Lock()
_limit_users = 0  # reads running with a raised limit
_saved_limit = 0  # the limit before the first of them


@contextmanager
def _field_limit(n_chars: int) -> Iterator[None]:
    """Let the ``csv`` module read fields of up to ``n_chars`` characters.

    Its default limit (131,072 characters) would refuse a long text, which FARM reads and
    truncates to ``max_seq_len`` tokens like any other. The limit is global to the ``csv``
    module, so it is raised only while FARM reads, and set back when the last of
    concurrent reads ends.
    """
    global _limit_users, _saved_limit
    with _limit_lock:
        if _limit_users == 0:
            _saved_limit = csv.field_size_limit()
        _limit_users += 1
        csv.field_size_limit(max(csv.field_size_limit(), min(n_chars, _MAX_FIELD_LIMIT)))
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                csv.field_size_limit(_saved_limit)


def _read_records(
    reader: Any, path: Path, delimiter: str, skiprows: int | None, header: int | None,
    max_samples: int | None, skip_bad_rows: bool,
) -> Table:
    """The rows of ``reader`` as a :class:`Table` (see :func:`read_delimited`)."""
    columns: list[str | int] | None = None
    header_line: int | None = None
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    skipped: list[tuple[int, str]] = []
    to_skip = (skiprows or 0) + (header or 0)
    first_line = 1
    try:
        for record in reader:
            start, first_line = first_line, reader.line_num + 1
            if start <= to_skip or not record:
                continue
            if columns is None:
                if header is not None:
                    columns = [name.strip() for name in record]
                    header_line = start
                    continue
                columns = list(range(len(record)))
            problem = _record_problem(record, columns, delimiter, start, reader.line_num)
            if problem:
                if not skip_bad_rows:
                    raise DataFileError(problem, file=path, line=start)
                skipped.append((start, problem))
                continue
            rows.append(record)
            line_numbers.append(start)
            if max_samples is not None and len(rows) >= max_samples:
                break
    except csv.Error as error:
        raise DataFileError(
            f"cannot parse the file as delimited text ({error}).", file=path, line=first_line
        ) from None
    if columns is None or (not rows and not skipped):
        raise DataFileError(
            "the file has no data rows (only a header, or only skipped lines). Check the file, "
            "skiprows= and header=.",
            file=path,
            line=header_line,
        )
    return Table(path, columns, rows, line_numbers, skipped, header_line)


def _record_problem(
    record: list[str], columns: list[str | int], delimiter: str, start: int, end: int
) -> str | None:
    """Describe what is wrong with a record, or return None if it is fine."""
    if end > start and any("\n" in f and delimiter in f for f in record):
        return (
            f"a quote character opens a field here that runs on to line {end} (the next quote "
            "character, or the end of the file), swallowing the rows in between. If quotes in "
            "your texts are not CSV quoting, pass quote_char=None to the processor."
        )
    if len(record) != len(columns):
        return (
            f"expected {len(columns)} fields separated by {delimiter!r} (columns "
            f"{', '.join(repr(c) for c in columns)}), found {len(record)}. If a text contains "
            "the delimiter, quote that field; or pick the right delimiter= for this file."
        )
    return None
