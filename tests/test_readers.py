"""Reading TSV/CSV files: options of ``read_delimited`` and ``file_to_dicts``, and bad input."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from transformers import PreTrainedTokenizerBase

from farm.data_handler.processor import TextClassificationProcessor
from farm.data_handler.readers import read_delimited
from farm.errors import DataFileError
from farm.modeling.tokenization import Tokenizer

LABEL_KEY = "text_classification_label"


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir: Path) -> PreTrainedTokenizerBase:
    """The tiny lower-casing BERT tokenizer."""
    return Tokenizer.load(tiny_bert_dir)


def write(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (UTF-8 for text) to ``path`` and return the path."""
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def make_processor(
    tokenizer: PreTrainedTokenizerBase, data_dir: Path, **kwargs: Any
) -> TextClassificationProcessor:
    """A text classification processor with labels neg/pos unless told otherwise."""
    options: dict[str, Any] = {"label_list": ["neg", "pos"], "metric": "acc"}
    options.update(kwargs)
    return TextClassificationProcessor(
        tokenizer=tokenizer, max_seq_len=32, data_dir=data_dir, **options
    )


def texts_and_labels(dicts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(text, label)`` of each dict."""
    return [(d["text"], d[LABEL_KEY]) for d in dicts]


def read_error(processor: TextClassificationProcessor, file: Path) -> str:
    """The message of the DataFileError that reading ``file`` raises."""
    with pytest.raises(DataFileError) as info:
        processor.file_to_dicts(file)
    return str(info.value)


# ---- options -------------------------------------------------------------------------------


def test_tsv_with_header_finds_columns_by_name(tokenizer, tmp_path):
    """Columns are found by header name, in any order."""
    file = write(tmp_path / "train.tsv", "label\tid\ttext\npos\t1\tA good film.\nneg\t2\tBad.\n")
    dicts = make_processor(tokenizer, tmp_path).file_to_dicts(file)
    assert dicts == [
        {"text": "A good film.", LABEL_KEY: "pos"},
        {"text": "Bad.", LABEL_KEY: "neg"},
    ]


def test_relative_file_name_is_looked_up_in_data_dir(tokenizer, tmp_path):
    """A bare file name is resolved inside ``data_dir``."""
    write(tmp_path / "train.tsv", "text\tlabel\nFine.\tpos\n")
    dicts = make_processor(tokenizer, tmp_path).file_to_dicts("train.tsv")
    assert texts_and_labels(dicts) == [("Fine.", "pos")]


def test_csv_with_comma_delimiter_and_quoted_fields(tokenizer, tmp_path):
    """CSV quoting protects commas and doubled quotes inside texts."""
    file = write(
        tmp_path / "train.csv",
        'text,label\n"Great, really ""great"" film",pos\nplain text,neg\n',
    )
    dicts = make_processor(tokenizer, tmp_path, delimiter=",").file_to_dicts(file)
    assert texts_and_labels(dicts) == [
        ('Great, really "great" film', "pos"),
        ("plain text", "neg"),
    ]


def test_tab_file_read_with_comma_delimiter_fails_with_hint(tokenizer, tmp_path):
    """The wrong delimiter gives one column; the error says to check delimiter=."""
    file = write(tmp_path / "train.tsv", "text\tlabel\nGood.\tpos\n")
    message = read_error(make_processor(tokenizer, tmp_path, delimiter=","), file)
    assert "train.tsv" in message
    assert "'text\\tlabel'" in message
    assert "delimiter=" in message


def test_quote_char_none_keeps_quotes_in_texts(tokenizer, tmp_path):
    """With ``quote_char=None`` quote characters are plain text; by default they quote."""
    content = 'text\tlabel\n"Best film" ever\tpos\nHe said "meh\tneg\n'
    file = write(tmp_path / "train.tsv", content)
    unquoted = make_processor(tokenizer, tmp_path, quote_char=None).file_to_dicts(file)
    assert texts_and_labels(unquoted) == [('"Best film" ever', "pos"), ('He said "meh', "neg")]
    quoted = make_processor(tokenizer, tmp_path).file_to_dicts(file)
    assert quoted[0]["text"] == "Best film ever"


def test_quote_char_none_reads_unbalanced_leading_quote(tokenizer, tmp_path):
    """A text starting with an unbalanced quote is read row by row when quoting is off."""
    content = 'text\tlabel\n"Unbalanced start\tpos\nnext row\tneg\nlast row\tpos\n'
    file = write(tmp_path / "train.tsv", content)
    dicts = make_processor(tokenizer, tmp_path, quote_char=None).file_to_dicts(file)
    assert texts_and_labels(dicts) == [
        ('"Unbalanced start', "pos"),
        ("next row", "neg"),
        ("last row", "pos"),
    ]


def test_skiprows_skips_lines_before_the_header(tokenizer, tmp_path):
    """``skiprows`` lines before the header are ignored."""
    content = "# exported 2024-01-01\t\n# second comment\nlabel\ttext\npos\tNice.\n"
    file = write(tmp_path / "train.tsv", content)
    dicts = make_processor(tokenizer, tmp_path, skiprows=2).file_to_dicts(file)
    assert texts_and_labels(dicts) == [("Nice.", "pos")]


def test_header_none_names_columns_by_position(tokenizer, tmp_path):
    """Without a header the columns are 0, 1, ... and the first line is data."""
    file = write(tmp_path / "train.tsv", "pos\tFirst text.\nneg\tSecond text.\n")
    table = read_delimited(file, header=None)
    assert table.columns == [0, 1]
    assert table.rows == [["pos", "First text."], ["neg", "Second text."]]
    assert table.line_numbers == [1, 2]
    processor = make_processor(
        tokenizer, tmp_path, header=None, text_column_name=1, label_column_name=0
    )
    assert texts_and_labels(processor.file_to_dicts(file)) == [
        ("First text.", "pos"),
        ("Second text.", "neg"),
    ]


def test_header_none_accepts_column_numbers_as_strings(tokenizer, tmp_path):
    """Column positions given as strings ("1") work too, e.g. from a YAML config."""
    file = write(tmp_path / "train.tsv", "pos\tFirst text.\n")
    processor = make_processor(
        tokenizer, tmp_path, header=None, text_column_name="1", label_column_name="0"
    )
    assert texts_and_labels(processor.file_to_dicts(file)) == [("First text.", "pos")]


def test_header_none_with_skiprows(tmp_path):
    """``skiprows`` also works without a header."""
    file = write(tmp_path / "data.tsv", "junk line\nneg\tA.\npos\tB.\n")
    table = read_delimited(file, header=None, skiprows=1)
    assert table.rows == [["neg", "A."], ["pos", "B."]]
    assert table.line_numbers == [2, 3]


def test_max_samples_limits_the_rows(tokenizer, tmp_path):
    """``max_samples`` reads only the first rows."""
    rows = "".join(f"text {i}\t{'pos' if i % 2 else 'neg'}\n" for i in range(10))
    file = write(tmp_path / "train.tsv", "text\tlabel\n" + rows)
    dicts = make_processor(tokenizer, tmp_path, max_samples=3).file_to_dicts(file)
    assert [d["text"] for d in dicts] == ["text 0", "text 1", "text 2"]


def test_utf8_byte_order_mark_is_removed(tokenizer, tmp_path):
    """A UTF-8 BOM does not end up in the first column name."""
    file = write(tmp_path / "train.tsv", b"\xef\xbb\xbftext\tlabel\nCaf\xc3\xa9.\tpos\n")
    assert read_delimited(file).columns == ["text", "label"]
    dicts = make_processor(tokenizer, tmp_path).file_to_dicts(file)
    assert texts_and_labels(dicts) == [("Café.", "pos")]


def test_latin1_encoding(tokenizer, tmp_path):
    """``encoding='latin-1'`` decodes a Latin-1 file."""
    file = write(tmp_path / "train.tsv", "text\tlabel\nCafé crème, naïve.\tpos\n".encode("latin-1"))
    dicts = make_processor(tokenizer, tmp_path, encoding="latin-1").file_to_dicts(file)
    assert texts_and_labels(dicts) == [("Café crème, naïve.", "pos")]


def test_multiline_quoted_text_and_line_numbers(tmp_path):
    """A quoted text may span lines; later rows keep their real line numbers."""
    content = 'text\tlabel\n"first line\nsecond line"\tpos\nnext\tneg\n\nafter blank\tpos\n'
    table = read_delimited(write(tmp_path / "train.tsv", content))
    assert table.rows[0] == ["first line\nsecond line", "pos"]
    assert table.line_numbers == [2, 4, 6]


def test_windows_line_endings(tokenizer, tmp_path):
    """CRLF line endings leave no carriage return in labels or texts."""
    file = write(tmp_path / "train.tsv", "text\tlabel\r\nGood.\tpos\r\nBad.\tneg\r\n")
    dicts = make_processor(tokenizer, tmp_path).file_to_dicts(file)
    assert texts_and_labels(dicts) == [("Good.", "pos"), ("Bad.", "neg")]


# ---- bad input: clear errors naming file, line and fix -------------------------------------


def test_missing_file_lists_the_folder(tokenizer, tmp_path):
    """A missing file names the path and lists what the folder holds."""
    write(tmp_path / "train.csv", "text,label\n")
    write(tmp_path / "dev.tsv", "text\tlabel\n")
    message = read_error(make_processor(tokenizer, tmp_path), tmp_path / "train.tsv")
    assert str(tmp_path / "train.tsv") in message
    assert "not found" in message
    assert "dev.tsv" in message and "train.csv" in message
    assert "data_dir" in message


def test_missing_column_names_it_and_suggests(tokenizer, tmp_path):
    """A missing column names the column, lists the file's columns and suggests one."""
    file = write(tmp_path / "train.tsv", "text\tlabels\nGood.\tpos\n")
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert "train.tsv" in message
    assert "'label'" in message
    assert "'text', 'labels'" in message
    assert "Did you mean 'labels'?" in message
    assert "label_column_name=" in message


def test_missing_text_column(tokenizer, tmp_path):
    """The text column is checked the same way."""
    file = write(tmp_path / "train.tsv", "sentence\tlabel\nGood.\tpos\n")
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert "'text'" in message and "'sentence', 'label'" in message
    assert "text_column_name=" in message


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tokenizer, tmp_path, content):
    """An empty (or blank) file is an error naming the file."""
    file = write(tmp_path / "train.tsv", content)
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert message.startswith(f"{file}: ")
    assert "empty" in message


def test_header_only_file(tokenizer, tmp_path):
    """A file with a header but no data rows is an error with a hint."""
    file = write(tmp_path / "train.tsv", "text\tlabel\n")
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert "train.tsv" in message
    assert "no data rows" in message
    assert "header=" in message


def test_unknown_label_names_label_line_and_label_list(tokenizer, tmp_path):
    """A label outside label_list names the label, the line and the label_list."""
    file = write(tmp_path / "train.tsv", "text\tlabel\nGood.\tpos\nSo-so.\tneutral\nBad.\tneg\n")
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert f"{file}:3:" in message
    assert "'neutral'" in message
    assert "['neg', 'pos']" in message
    assert "Add it to label_list" in message


def test_wrong_number_of_fields_names_the_line(tokenizer, tmp_path):
    """A row with too many fields is reported at its line with the expected columns."""
    content = "text\tlabel\nGood.\tpos\nBad.\tneg\nA tab\tin text\tpos\nOk.\tpos\n"
    file = write(tmp_path / "train.tsv", content)
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert f"{file}:4:" in message
    assert "expected 2 fields" in message and "found 3" in message
    assert "quote that field" in message and "delimiter=" in message


def test_wrong_number_of_fields_after_multiline_field(tokenizer, tmp_path):
    """Line numbers count physical lines, also after a quoted field spanning lines."""
    content = (
        'text\tlabel\n"first line\nsecond line\nthird line"\tpos\nfine\tneg\n'
        "no delimiter here\nok\tpos\n"
    )
    file = write(tmp_path / "train.tsv", content)
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert f"{file}:6:" in message
    assert "found 1" in message


def test_undecodable_bytes_name_line_and_encoding(tokenizer, tmp_path):
    """Bytes that are not UTF-8 give the line and suggest ``encoding=``."""
    file = write(tmp_path / "train.tsv", b"text\tlabel\nGood.\tpos\nCaf\xe9.\tneg\n")
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert f"{file}:3:" in message
    assert "\\xe9" in message
    assert "encoding=" in message


def test_empty_text_names_the_line(tokenizer, tmp_path):
    """A row whose text is blank is an error at its line."""
    file = write(tmp_path / "train.tsv", "text\tlabel\nGood.\tpos\n   \tneg\n")
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert f"{file}:3:" in message
    assert "text is empty" in message


def test_unclosed_quote_swallowing_rows(tokenizer, tmp_path):
    """A quote that never closes swallows the rows after it: reported where it opens."""
    content = 'text\tlabel\nGood.\tpos\n"Unclosed quote\tpos\nswallowed\tneg\nswallowed too\tpos\n'
    file = write(tmp_path / "train.tsv", content)
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert f"{file}:3:" in message
    assert "swallowing" in message
    assert "quote_char=None" in message


def test_quote_closing_rows_later(tokenizer, tmp_path):
    """A quote closing lines later names the line where it opens and where the field ends."""
    content = 'text\tlabel\n"Opens here\tpos\nswallowed\tneg\ncloses" here\tpos\nlast\tneg\n'
    file = write(tmp_path / "train.tsv", content)
    message = read_error(make_processor(tokenizer, tmp_path), file)
    assert f"{file}:2:" in message
    assert "runs on to line 4" in message
    assert "quote_char=None" in message


# ---- skip_bad_rows -------------------------------------------------------------------------


def test_skip_bad_rows_skips_counts_and_warns(tokenizer, tmp_path, caplog):
    """Bad rows are skipped, recorded with line and reason, and a warning is logged."""
    content = (
        "text\tlabel\n"
        "Good.\tpos\n"  # 2
        "Too\tmany\tfields\n"  # 3
        "Meh.\tneutral\n"  # 4
        "  \tneg\n"  # 5
        "Bad.\tneg\n"  # 6
    )
    file = write(tmp_path / "train.tsv", content)
    processor = make_processor(tokenizer, tmp_path, skip_bad_rows=True)
    with caplog.at_level(logging.WARNING, logger="farm"):
        dicts = processor.file_to_dicts(file)
    assert texts_and_labels(dicts) == [("Good.", "pos"), ("Bad.", "neg")]
    skipped = processor.skipped_rows[str(file)]
    assert [line for line, _ in skipped] == [3, 4, 5]
    assert "found 3" in skipped[0][1]
    assert "neutral" in skipped[1][1]
    assert "empty" in skipped[2][1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Skipped 3 bad rows" in m and str(file) in m for m in warnings)


def test_skip_bad_rows_reports_nothing_for_a_clean_file(tokenizer, tmp_path, caplog):
    """A clean file skips nothing and warns nothing."""
    file = write(tmp_path / "train.tsv", "text\tlabel\nGood.\tpos\n")
    processor = make_processor(tokenizer, tmp_path, skip_bad_rows=True)
    with caplog.at_level(logging.WARNING, logger="farm"):
        assert len(processor.file_to_dicts(file)) == 1
    assert processor.skipped_rows == {}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_skip_bad_rows_with_only_bad_rows_gives_no_dicts_but_warns(tokenizer, tmp_path, caplog):
    """If every row is bad the result is empty, and the warning says so."""
    file = write(tmp_path / "train.tsv", "text\tlabel\na\tb\tc\n")
    processor = make_processor(tokenizer, tmp_path, skip_bad_rows=True)
    with caplog.at_level(logging.WARNING, logger="farm"):
        assert processor.file_to_dicts(file) == []
    assert processor.skipped_rows[str(file)][0][0] == 2
    assert "Skipped 1 bad rows" in caplog.text


# ---- label_list from the train file --------------------------------------------------------


def test_label_list_none_reads_sorted_labels_from_train(tokenizer, tmp_path):
    """Without label_list the sorted labels of the train file become the label_list."""
    content = "text\tlabel\nA.\tpos\nB.\tneutral\nC.\tneg\nD.\tpos\n"
    file = write(tmp_path / "train.tsv", content)
    processor = make_processor(tokenizer, tmp_path, label_list=None)
    dicts = processor.file_to_dicts(file)
    assert len(dicts) == 4
    assert processor.tasks["text_classification"]["label_list"] == ["neg", "neutral", "pos"]
    assert processor.label_list == ["neg", "neutral", "pos"]
    # The test file is now checked against that list.
    test = write(tmp_path / "test.tsv", "text\tlabel\nE.\tPos\n")
    message = read_error(processor, test)
    assert f"{test}:2:" in message and "Did you mean 'pos'?" in message


def test_label_list_none_test_file_first_is_an_error(tokenizer, tmp_path):
    """Reading another file before the train file without label_list is a clear error."""
    write(tmp_path / "train.tsv", "text\tlabel\nA.\tpos\n")
    test = write(tmp_path / "test.tsv", "text\tlabel\nB.\tneg\n")
    message = read_error(make_processor(tokenizer, tmp_path, label_list=None), test)
    assert "test.tsv" in message
    assert "no label_list" in message
    assert "label_list=" in message and "train file first" in message


def test_processor_without_task_cannot_read_labels(tokenizer, tmp_path):
    """No label_list and no metric means no task: reading a file says how to add one."""
    file = write(tmp_path / "train.tsv", "text\tlabel\nA.\tpos\n")
    message = read_error(make_processor(tokenizer, tmp_path, label_list=None, metric=None), file)
    assert "no task" in message and "add_task" in message


# ---- where files are found, files without labels, label types ------------------------------


def test_relative_names_are_found_in_data_dir_before_the_working_directory(
    tokenizer, tmp_path, monkeypatch
):
    """A stray train.tsv in the working directory does not shadow the one in data_dir."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write(data_dir / "train.tsv", "text\tlabel\nFrom data_dir.\tpos\n")
    write(tmp_path / "train.tsv", "text\tlabel\nFrom the working directory.\tneg\n")
    monkeypatch.chdir(tmp_path)
    dicts = make_processor(tokenizer, data_dir).file_to_dicts("train.tsv")
    assert texts_and_labels(dicts) == [("From data_dir.", "pos")]


def test_a_file_to_predict_needs_no_label_column(tokenizer, tmp_path):
    """A file that is not one of the processor's data files may hold only texts."""
    file = write(tmp_path / "to_predict.tsv", "text\nFirst.\nSecond.\n")
    assert make_processor(tokenizer, tmp_path).file_to_dicts(file) == [
        {"text": "First."}, {"text": "Second."}
    ]


def test_the_test_file_needs_its_label_column(tokenizer, tmp_path):
    """The processor's own test file without labels is an error naming the header line."""
    file = write(tmp_path / "test.tsv", "# exported\ntext\tsentiment\nGood.\tpos\n")
    message = read_error(make_processor(tokenizer, tmp_path, skiprows=1), file)
    assert f"{file}:2:" in message and "'label'" in message


def test_integer_label_list_matches_labels_read_from_files(tokenizer, tmp_path):
    """label_list=[0, 1] works with the labels "0"/"1" of a file (labels are strings)."""
    file = write(tmp_path / "train.tsv", "text\tlabel\nBad.\t0\nGood.\t1\n")
    processor = make_processor(tokenizer, tmp_path, label_list=[0, 1])
    assert processor.tasks["text_classification"]["label_list"] == ["0", "1"]
    assert texts_and_labels(processor.file_to_dicts(file)) == [("Bad.", "0"), ("Good.", "1")]
