"""Reading CoNLL files with NERProcessor: layouts, tag schemes, and bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from farm.data_handler.processor import Processor
from farm.errors import DataFileError
from tests.ner_helpers import (
    NER_LABELS,
    conll_tags,
    make_ner_processor,
    ner_sentences,
    write_conll,
)

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O


"""
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
WORDS = [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"],
         ["BRUSSELS", "1996-08-22"]]
TAGS = [["B-ORG", "O", "B-MISC", "O", "O"], ["B-PER", "I-PER"], ["B-LOC", "O"]]


def read(tiny_bert_dir: Path, path: Path, **kwargs: object) -> list[dict]:
    """The dicts of ``path`` read as the processor's train file."""
    options: dict = {"label_list": LABELS, "train_filename": path.name, "test_filename": None}
    options.update(kwargs)
    return make_ner_processor(tiny_bert_dir, path.parent, **options).file_to_dicts(path.name)


def test_reads_sentences_skipping_docstart_and_trailing_blank_lines(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    """Three sentences, each with its words, tags and space-joined text."""
    path = tmp_path / "train.txt"
    path.write_text(CONLL)
    dicts = read(tiny_bert_dir, path)
    assert [d["words"] for d in dicts] == WORDS
    assert [d["ner_label"] for d in dicts] == TAGS
    assert [d["text"] for d in dicts] == [" ".join(w) for w in WORDS]


def test_tabs_crlf_and_a_tag_column_that_is_not_last(tiny_bert_dir: Path, tmp_path: Path
                                                     ) -> None:
    """Tab-separated lines with Windows line ends; the tags in column 1 of three."""
    lines = []
    for words, tags in zip(WORDS, TAGS, strict=True):
        lines += [f"{w}\t{t}\tX  \r" for w, t in zip(words, tags, strict=True)] + ["\r"]
    path = tmp_path / "train.tsv"
    path.write_text("\n".join(lines) + "\n\n\n")
    dicts = read(tiny_bert_dir, path, delimiter="\t", tag_column=1)
    assert [d["words"] for d in dicts] == WORDS
    assert [d["ner_label"] for d in dicts] == TAGS


def test_iob1_file_is_converted_to_iob2(tiny_bert_dir: Path, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """The IOB1 copy of a file reads exactly as its IOB2 copy; the conversion is counted."""
    sentences = ner_sentences(12, seed=4)
    iob2 = read(tiny_bert_dir, write_conll(tmp_path / "iob2" / "train.txt", sentences),
                label_list=NER_LABELS)
    processor = make_ner_processor(tiny_bert_dir, tmp_path / "iob1", test_filename=None)
    write_conll(tmp_path / "iob1" / "train.txt", sentences, iob1=True)
    with caplog.at_level(logging.INFO):
        iob1 = processor.file_to_dicts("train.txt")
    assert [d["ner_label"] for d in iob1] == [d["ner_label"] for d in iob2]
    assert [d["ner_label"] for d in iob1] == conll_tags(sentences)
    n_entities = sum(t.startswith("B-") for s in conll_tags(sentences) for t in s)
    assert len(processor.repaired_tags[str(tmp_path / "iob1" / "train.txt")]) == n_entities
    assert "read as IOB1 and converted to IOB2" in caplog.text


def test_i_tag_after_o_in_an_iob2_file_is_repaired_and_reported(
    tiny_bert_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An I- tag after O becomes B- (as seqeval reads it), with a warning naming the line."""
    path = tmp_path / "train.txt"
    path.write_text(CONLL.replace("Peter NNP B-NP B-PER", "Peter NNP B-NP I-PER"))
    processor = make_ner_processor(tiny_bert_dir, tmp_path, label_list=LABELS,
                                   test_filename=None)
    with caplog.at_level(logging.WARNING):
        dicts = processor.file_to_dicts("train.txt")
    assert [d["ner_label"] for d in dicts] == TAGS
    assert processor.repaired_tags[str(path)] == [9]
    assert "1 I- tags of task 'ner' begin an entity" in caplog.text and "lines 9" in caplog.text


def test_bioes_tags_are_kept(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """BIOES files are read as they are."""
    path = tmp_path / "train.txt"
    path.write_text("Peter S-PER\nvisited O\nNew B-LOC\nYork E-LOC\n")
    dicts = read(tiny_bert_dir, path, label_list=None)
    assert dicts[0]["ner_label"] == ["S-PER", "O", "B-LOC", "E-LOC"]


def test_label_list_is_read_from_the_train_file(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Without label_list the train file's tags are used, O first; the processor keeps it."""
    path = tmp_path / "train.txt"
    path.write_text(CONLL)
    processor = make_ner_processor(tiny_bert_dir, tmp_path, label_list=None, metric="seq_f1",
                                   test_filename=None)
    processor.file_to_dicts("train.txt")
    assert processor.tasks["ner"]["label_list"] == [
        "O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"]
    assert processor.label_list == processor.tasks["ner"]["label_list"]
    processor.save(tmp_path / "saved")
    assert Processor.load_from_dir(tmp_path / "saved").label_list == processor.label_list


def test_max_samples_limits_the_sentences(tiny_bert_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text(CONLL)
    assert [d["words"] for d in read(tiny_bert_dir, path, max_samples=2)] == WORDS[:2]


def test_a_file_to_predict_may_hold_only_tokens(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A file that is not train/dev/test needs no tag column."""
    (tmp_path / "words.txt").write_text("Peter\nvisited\nParis\n\nThanks\n")
    processor = make_ner_processor(tiny_bert_dir, tmp_path, train_filename=None,
                                   test_filename=None)
    dicts = processor.file_to_dicts("words.txt")
    assert dicts == [{"text": "Peter visited Paris", "words": ["Peter", "visited", "Paris"]},
                     {"text": "Thanks", "words": ["Thanks"]}]


@pytest.mark.parametrize(
    ("content", "kwargs", "line", "message"),
    [
        (CONLL.replace("call NN I-NP O", "call NN O"), {}, 6,
         r"expected 4 fields separated by ' ' \(as on line 3\), found 3"),
        (CONLL.replace("call NN I-NP O", "call  NN I-NP O"), {}, 6, "empty field"),
        (CONLL.replace("German JJ B-NP B-MISC", "German JJ B-NP B-MICS"), {}, 5,
         "tag 'B-MICS' of task 'ner' is not in label_list .* Did you mean 'B-MISC'"),
        (CONLL.replace("rejects VBZ B-VP O", "rejects VBZ B-VP X"),
         {"label_list": ["[PAD]", "X", *LABELS]}, 4, "tag 'X' .* marks sub-tokens"),
        (CONLL.replace("Peter NNP B-NP B-PER", "Peter NNP B-NP I-PER"),
         {"label_list": ["O", "I-PER", "I-LOC", "B-ORG", "B-MISC", "B-LOC"]}, 9,
         "read as 'B-PER' .* add the B- tags to label_list"),
        (CONLL, {"delimiter": "\t"}, 3, "from column 0, the token column, .* Check delimiter="),
        ("text\tlabel\nA warm, clever film.\tpositive\nCold soup.\tnegative\n", {}, 2,
         r"expected 1 fields separated by ' ' \(as on line 1\), found 4 .* a CoNLL file"),
        ("text label\nwarm positive\ncold negative\n", {"label_list": None}, 1,
         "'label', which is not an entity tag .* Is this a CoNLL NER file"),
        ("\n-DOCSTART- -X- O O\n\n\n", {}, None, "holds no sentence"),
    ],
    ids=["columns", "empty-field", "unknown-tag", "placeholder-tag", "iob1-label-list",
         "wrong-delimiter", "tsv", "not-tags", "no-sentence"],
)
def test_bad_input_names_the_file_and_line(
    tiny_bert_dir: Path, tmp_path: Path, content: str, kwargs: dict, line: int | None,
    message: str,
) -> None:
    """Every problem is an error naming the file and line and saying what to fix."""
    path = tmp_path / "train.txt"
    path.write_text(content)
    with pytest.raises(DataFileError, match=message) as error:
        read(tiny_bert_dir, path, **kwargs)
    assert error.value.file == str(path)
    assert error.value.line == line
    where = f"{path}:{line}:" if line else f"{path}:"
    assert str(error.value).startswith(where)


def test_tag_of_a_dev_file_missing_from_the_train_tags(tiny_bert_dir: Path, tmp_path: Path
                                                       ) -> None:
    """A label list read from train does not silently grow on the dev file."""
    (tmp_path / "train.txt").write_text("Peter B-PER\nvisited O\n")
    (tmp_path / "dev.txt").write_text("Paris B-LOC\n")
    processor = make_ner_processor(tiny_bert_dir, tmp_path, label_list=None, metric="seq_f1",
                                   dev_filename="dev.txt", test_filename=None)
    with pytest.raises(DataFileError, match="task 'ner' has no label_list yet"):
        processor.file_to_dicts("dev.txt")
    processor.file_to_dicts("train.txt")
    with pytest.raises(DataFileError, match="'B-LOC' of task 'ner' is not in label_list"):
        processor.file_to_dicts("dev.txt")


def test_missing_file_lists_the_folder(tiny_bert_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "valid.txt").write_text("x O\n")
    processor = make_ner_processor(tiny_bert_dir, tmp_path)
    with pytest.raises(DataFileError, match="file not found.*valid.txt"):
        processor.file_to_dicts("train.txt")


def test_add_task_text_column_name_is_the_word_column(tiny_bert_dir: Path, tmp_path: Path
                                                      ) -> None:
    """Words in column 1, tags in column 0: add_task(text_column_name=1) reads them; a
    header name (CoNLL files have none) or two different columns is a clear error."""
    lines = []
    for words, tags in zip(WORDS, TAGS, strict=True):
        lines += [f"{t} {w}" for w, t in zip(words, tags, strict=True)] + [""]
    path = tmp_path / "train.txt"
    path.write_text("\n".join(lines) + "\n")
    processor = make_ner_processor(tiny_bert_dir, tmp_path, label_list=None, metric=None,
                                   train_filename=path.name, test_filename=None)
    processor.tasks.clear()
    processor.add_task("ner", "seq_f1", LABELS, label_column_name=0, task_type="ner",
                       text_column_name=1)
    dicts = processor.file_to_dicts(path.name)
    assert [d["words"] for d in dicts] == WORDS
    assert [d["ner_label"] for d in dicts] == TAGS
    processor.add_task("pos", "seq_f1", LABELS, label_column_name=0, task_type="ner",
                       text_column_name="word")
    with pytest.raises(ValueError, match="one word column and no header"):
        processor.file_to_dicts(path.name)
