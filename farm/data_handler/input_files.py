"""Reading the input file of ``farm predict``: JSON Lines or a JSON list of input dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from farm.data_handler.input_checks import check_input_dicts, kind_of
from farm.data_handler.json_stream import parse_json
from farm.data_handler.readers import read_text
from farm.errors import DataFileError

INPUT_SUFFIXES = (".jsonl", ".json")


def read_input_file(path: str | Path, encoding: str = "utf-8-sig") -> list[dict[str, Any]] | None:
    """The input dicts of a ``.jsonl`` or ``.json`` file.

    A ``.jsonl`` file holds one input dict per line (blank lines are skipped); a ``.json``
    file holds a list of input dicts, or ``{"input": [...]}`` (the REST API's request body).
    A UTF-8 byte-order mark is dropped, as every FARM reader does.

    Args:
        path (str | Path): The file.
        encoding (str): Its text encoding.

    Returns:
        list[dict[str, Any]] | None: The inputs; ``None`` for another suffix and for a SQuAD
        file (``{"data": [...]}``), which the model's processor reads itself.

    Raises:
        DataFileError: The file is missing or not decodable, a line or the file is not valid
            JSON (or nested too deeply), an input is not a dict, or a text holds a lone
            surrogate; the message names the file, the input and its line.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in INPUT_SUFFIXES:
        return None
    text = read_text(path, encoding)
    if suffix == ".jsonl":
        dicts, lines = [], []
        # Only "\n" ends a line: str.splitlines() would also split at U+2028 and other
        # separators that JSON strings may hold unescaped.
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                dicts.append(parse_json(line, path, number))
                lines.append(number)
        check_input_dicts(dicts, file=path, lines=lines)
        return dicts
    data = parse_json(text, path)
    if isinstance(data, dict) and "input" not in data and "data" in data:
        return None  # SQuAD format
    inputs = data.get("input") if isinstance(data, dict) else data
    if not isinstance(inputs, list):
        raise DataFileError(
            f'expected a list of input dicts, or {{"input": [...]}}; found {kind_of(inputs)}'
            + (f" (keys {sorted(map(str, data))[:10]})" if isinstance(data, dict) else "")
            + ". A .jsonl file holds one input dict per line instead.",
            file=path,
        )
    check_input_dicts(inputs, file=path)
    return inputs
