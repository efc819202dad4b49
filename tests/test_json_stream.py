"""The incremental JSON reader: same records as ``json.load``, bounded memory, errors that
name the record, line and column."""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path

import pytest

from farm.data_handler.json_stream import iter_json_objects
from farm.errors import DataFileError


def tricky_records(n: int, seed: int = 0) -> list[dict]:
    """Records whose strings hold brackets, quotes, escapes, non-ASCII and newlines."""
    rng = random.Random(seed)
    return [
        {"question": f'q{i} "quoted" {{not a brace}} \\ back ] é ☃',
         "positive_ctxs": [{"title": f"t{i}", "text": "x" * rng.randint(0, 400) + "\n\t\u0000"}],
         "nested": [[], {}, [1, 2.5e3, {"a": None, "b": True}]]}
        for i in range(n)
    ]


@pytest.mark.parametrize("chunk_chars", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("indent", [None, 2])
def test_records_equal_json_load(tmp_path: Path, chunk_chars: int, indent: int | None) -> None:
    records = tricky_records(40)
    path = tmp_path / "data.json"
    path.write_text(json.dumps(records, indent=indent, ensure_ascii=bool(indent)))
    got = list(iter_json_objects(path, chunk_chars=chunk_chars))
    assert [r.value for r in got] == json.loads(path.read_text())
    assert [r.index for r in got] == list(range(40))
    lines = path.read_text().split("\n")
    for record in got:  # each record starts on the line its '{' is on
        assert "{" in lines[record.line - 1]
    if indent:
        assert [r.line for r in got] == [i + 2 for i, line in enumerate(lines[1:])
                                         if line == "  {"]


def test_json_lines_and_empty_array(tmp_path: Path) -> None:
    records = tricky_records(5)
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    got = list(iter_json_objects(path, chunk_chars=10))
    assert [r.value for r in got] == records
    assert [r.line for r in got] == [1, 2, 3, 4, 5]
    path.write_text(" [ ] \n")
    assert list(iter_json_objects(path)) == []


@pytest.mark.parametrize("text, message, line, column", [
    ('[{"a": 1},\n {"a": 2,}]', "record 1 is not valid JSON: Expecting property name", 2, 10),
    ('[{"a": 1} {"a": 2}]', "expected ',' or ']' after record 0, found '{'", 1, 11),
    ('[{"a": 1},]', "a ',' after the last record (0)", 1, 11),
    ('[{"a": 1}, 7]', "record 1 starts with '7'", 1, 12),
    ('[{"a": 1}, {"b": "cut off', "the file ends inside record 1", 1, 12),
    ('[{"a": 1}', "expected ',' or ']' after record 0, found the end of the file", 1, 10),
    ('[{"a": 1}] trailing', "unexpected text after the closing ']'", 1, 12),
    ('"just a string"', "expected a JSON array of records", 1, 1),
])
@pytest.mark.parametrize("chunk_chars", [2, 1 << 20])
def test_malformed_files_name_record_line_and_column(
    tmp_path: Path, text: str, message: str, line: int, column: int, chunk_chars: int
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataFileError) as error:
        list(iter_json_objects(path, chunk_chars=chunk_chars))
    assert message in str(error.value)
    assert f"(line {line}, column {column})" in str(error.value)
    assert error.value.file == str(path) and error.value.line == line
    if "not valid JSON" in message:  # the position json.loads itself reports
        with pytest.raises(json.JSONDecodeError) as reference:
            json.loads(text)
        assert (reference.value.lineno, reference.value.colno) == (line, column)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("  \n")
    with pytest.raises(DataFileError, match="the file is empty"):
        list(iter_json_objects(tmp_path / "empty.json"))
    with pytest.raises(DataFileError, match="file not found"):
        list(iter_json_objects(tmp_path / "missing.json"))


def test_records_before_a_bad_one_arrive_first(tmp_path: Path) -> None:
    """Reading is incremental: the good records come out before the broken one is reached."""
    good = tricky_records(30)
    path = tmp_path / "data.json"
    path.write_text(json.dumps(good)[:-1] + ', {"broken": tru}]')
    seen = []
    with pytest.raises(DataFileError, match="record 30 is not valid JSON"):
        for record in iter_json_objects(path, chunk_chars=256):
            seen.append(record.value)
    assert seen == good


def test_unclosed_string_is_reported_without_reading_on_forever(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('[{"a": "no end, ' + "x" * 5000 + '"}]')
    with pytest.raises(DataFileError, match="runs on for more than 1000 characters"):
        list(iter_json_objects(path, chunk_chars=100, max_record_chars=1000))


def test_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    """A 24 MB file is read with a few MB of peak memory; json.load needs far more."""
    path = tmp_path / "large.json"
    rng = random.Random(1)
    with path.open("w") as handle:
        handle.write("[\n")
        for i in range(6000):
            record = {"question": f"question {i}", "answers": ["a"],
                      "positive_ctxs": [{"title": "t", "text": "word " * rng.randint(200, 800)}],
                      "hard_negative_ctxs": [{"title": "u", "text": "other " * 200}]}
            handle.write(("," if i else "") + json.dumps(record) + "\n")
        handle.write("]\n")
    size = path.stat().st_size
    assert size > 20_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_json_objects(path, chunk_chars=1 << 18))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 6000
    assert peak < 4_000_000, f"peak {peak} bytes for a {size}-byte file"
