"""Property-based fuzz tests of every reader (issue 17): whatever a file or an input holds,
reading and preprocessing it either works or raises a FarmError; never another exception.

Inputs mix random text and bytes (tabs, quotes, line ends of every kind, byte-order marks,
lone surrogates written as JSON escapes, deep nesting) with files that have the right shape
and random values in it, so that the fuzzer also reaches the code behind the first checks.
Examples are few (the suite stays fast) and the processors are built once per module.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from farm.data_handler.input_files import read_input_file
from farm.data_handler.processor import (
    BertStyleLMProcessor,
    NERProcessor,
    SquadProcessor,
    TextClassificationProcessor,
    TextSimilarityProcessor,
)
from farm.errors import FarmError
from farm.modeling.tokenization import Tokenizer
from tests.deploy_helpers import NO_FILES

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Characters readers treat specially, and some they should not.
SPECIAL = ["\t", ",", ";", '"', "'", "\n", "\r", "\r\n", " ", "\ufeff", "\u2028", "\x85",
           "\x00", "-DOCSTART-", "B-PER", "I-LOC", "O", "[", "]", "{", "}", ":", "\\", "é",
           "\U0001f600", "text", "label"]
clean_text = st.lists(st.one_of(st.sampled_from(SPECIAL), st.text(max_size=8)),
                      max_size=12).map("".join)
# A word: visible characters without white space (what CoNLL lines and labels hold).
word = st.text(st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=6)
sentence = st.lists(word, min_size=1, max_size=6).map(" ".join)


def mostly(good: st.SearchStrategy[Any], other: st.SearchStrategy[Any], weight: int = 4
           ) -> st.SearchStrategy[Any]:
    """``good`` ``weight`` times as often as ``other``."""
    return st.sampled_from([True] * weight + [False]).flatmap(
        lambda pick: good if pick else other)


# Text of JSON strings: sometimes with a lone surrogate (JSON writes it as an escape).
json_text = mostly(sentence, st.one_of(clean_text, st.tuples(
    clean_text, st.sampled_from(["\ud800", "\udfff"]), clean_text).map("".join)), weight=12)
garbage = st.one_of(clean_text.map(str.encode), st.binary(max_size=200))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), json_text),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(json_text, children, max_size=4)),
    max_leaves=12,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right kind of value most of the time, anything JSON sometimes."""
    return mostly(strategy, json_values, weight=16)


def dumps(value: Any) -> bytes:
    """JSON as a file holds it: lone surrogates become ``\\ud800`` escapes."""
    return json.dumps(value).encode("utf-8")


def json_lines(values: list[Any]) -> bytes:
    return "\n".join(json.dumps(v) for v in values).encode()


def deep(opening: str) -> st.SearchStrategy[bytes]:
    return st.sampled_from([5_000, 100_000]).map(lambda n: (opening * n).encode())


def broken(prefix: str) -> st.SearchStrategy[bytes]:
    """Garbage of every kind: bytes, any JSON, nesting deep enough to exhaust the stack."""
    kinds = [garbage, json_values.map(dumps), deep("["), deep(prefix)]
    return st.sampled_from(range(len(kinds))).flatmap(kinds.__getitem__)


question = st.fixed_dictionaries({
    "question": maybe(json_text), "id": maybe(json_text),
    "answers": maybe(st.lists(st.fixed_dictionaries({
        "text": maybe(json_text), "answer_start": maybe(st.integers(-5, 50))}), max_size=2)),
}, optional={"is_impossible": maybe(st.booleans())})
squad = st.fixed_dictionaries({"data": maybe(st.lists(st.fixed_dictionaries({
    "title": maybe(json_text),
    "paragraphs": maybe(st.lists(st.fixed_dictionaries({
        "context": maybe(json_text), "qas": maybe(st.lists(maybe(question), max_size=3)),
    }), min_size=1, max_size=3)),
}), min_size=1, max_size=2))})
squad_files = mostly(squad.map(dumps), broken('{"data": ['))

passages = st.lists(maybe(st.fixed_dictionaries(
    {"text": maybe(json_text)}, optional={"title": maybe(json_text)})), min_size=1, max_size=3)
dpr_record = st.fixed_dictionaries({
    "question": maybe(json_text), "positive_ctxs": maybe(passages),
}, optional={"answers": maybe(st.lists(json_text, max_size=2)),
             "hard_negative_ctxs": maybe(passages)})
dpr_records = st.lists(maybe(dpr_record), min_size=1, max_size=4)
dpr_files = mostly(st.one_of(dpr_records.map(dumps), dpr_records.map(json_lines)),
                   broken('[{"question": ['))

input_item = maybe(st.fixed_dictionaries({"text": maybe(json_text)}))
input_lists = st.lists(input_item, min_size=1, max_size=4)
input_files = st.tuples(st.sampled_from([".json", ".jsonl"]), mostly(st.one_of(
    input_lists.map(dumps), input_lists.map(dumps).map(lambda b: b"\xef\xbb\xbf" + b),
    input_lists.map(lambda items: {"input": items}).map(dumps), input_lists.map(json_lines),
), broken('{"text": [')))


def text_file(lines: st.SearchStrategy[list[str]]) -> st.SearchStrategy[bytes]:
    """Lines joined by one kind of line end, or (sometimes) garbage."""
    joined = st.tuples(lines, st.sampled_from(["\n", "\r", "\r\n"])).map(
        lambda lines_end: lines_end[1].join(lines_end[0]).encode())
    return mostly(joined, garbage)


tags = st.sampled_from(["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-PER", "S-LOC",
                        "X", "B-ORG"])
conll_files = text_file(st.lists(mostly(st.tuples(word, tags).map(" ".join), st.one_of(
    st.sampled_from(["", "-DOCSTART- O"]), clean_text), weight=6), min_size=1, max_size=16))
labels = st.sampled_from(["neg", "pos", "pos", "neg,pos", "", ",", "other"])
tsv_files = text_file(st.lists(
    st.tuples(mostly(sentence, clean_text), labels).map("\t".join), min_size=1, max_size=6,
).map(lambda rows: ["text\tlabel", *rows]))
lm_document = st.lists(mostly(sentence.map(lambda t: t + "."), clean_text), min_size=1,
                       max_size=4)
lm_files = text_file(st.lists(lm_document, min_size=1, max_size=5).map(
    lambda docs: [line for doc in docs for line in [*doc, ""]]))


OUTCOMES: Counter[str] = Counter()  # of the running test


def accepted_or_farm_error(read: Callable[[], Any]) -> None:
    """Run ``read``: a result or a FarmError are fine, anything else fails the test."""
    try:
        read()
        OUTCOMES["accepted"] += 1
    except FarmError:
        OUTCOMES["farm_error"] += 1


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir: Path) -> Any:
    return Tokenizer.load(tiny_bert_dir)


def write(workdir: Path, name: str, content: bytes) -> Path:
    path = workdir / name
    path.write_bytes(content)
    return path


def test_fuzz_delimited_files(workdir: Path, tokenizer: Any) -> None:
    single = TextClassificationProcessor(tokenizer, 16, data_dir=workdir, label_list=["neg", "pos"],
                                         metric="acc", train_filename="train.tsv",
                                         dev_filename=None, test_filename=None)
    multi = TextClassificationProcessor(tokenizer, 16, data_dir=workdir, label_list=["neg", "pos"],
                                        multilabel=True, train_filename="train.tsv",
                                        dev_filename=None, test_filename=None)
    csv = TextClassificationProcessor(tokenizer, 16, data_dir=workdir, delimiter=",",
                                      label_list=["neg", "pos"], metric="acc",
                                      train_filename="train.tsv", dev_filename=None,
                                      test_filename=None)

    @FUZZ
    @given(content=tsv_files)
    @example(content=b"text\tlabel\n" + b"good " * 40_000 + b"\tpos\n")  # over csv's limit
    @example(content=b"text\tlabel\ngood\t,\n")  # labels that are separators only
    def check(content: bytes) -> None:
        write(workdir, "train.tsv", content)
        for processor in (single, multi, csv):
            accepted_or_farm_error(
                lambda p=processor: p.dataset_from_dicts(p.file_to_dicts("train.tsv")))

    OUTCOMES.clear()
    check()
    assert OUTCOMES["accepted"] >= 5, OUTCOMES  # the fuzzer gets past the first checks


def test_fuzz_conll_files(workdir: Path, tokenizer: Any) -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "E-PER", "S-LOC"]
    ner = NERProcessor(tokenizer, 16, data_dir=workdir, label_list=labels, metric="seq_f1",
                       train_filename="train.txt", dev_filename=None, test_filename=None,
                       delimiter=" ")

    @FUZZ
    @given(content=conll_files)
    @example(content=b"EU B-ORG\rrejects O\r\rPeter B-PER\r")  # CR line ends
    def check(content: bytes) -> None:
        write(workdir, "train.txt", content)
        accepted_or_farm_error(lambda: ner.dataset_from_dicts(ner.file_to_dicts("train.txt")))

    OUTCOMES.clear()
    check()
    assert OUTCOMES["accepted"] >= 5, OUTCOMES  # the fuzzer gets past the first checks


def test_fuzz_squad_files(workdir: Path, tokenizer: Any) -> None:
    qa = SquadProcessor(tokenizer, 64, data_dir=workdir, label_list=["start_token", "end_token"],
                        doc_stride=16, max_query_length=16, train_filename="train.json",
                        dev_filename=None, test_filename=None)

    @FUZZ
    @given(content=squad_files)
    @example(content=b'{"data": ' + b"[" * 100_000)
    @example(content=dumps({"data": [{"paragraphs": [{"context": "a \ud800", "qas": []}]}]}))
    def check(content: bytes) -> None:
        write(workdir, "train.json", content)
        accepted_or_farm_error(lambda: qa.dataset_from_dicts(qa.file_to_dicts("train.json")))

    OUTCOMES.clear()
    check()
    assert OUTCOMES["accepted"] >= 5, OUTCOMES  # the fuzzer gets past the first checks


def test_fuzz_dpr_files(workdir: Path, tokenizer: Any) -> None:
    dpr = TextSimilarityProcessor(tokenizer, tokenizer, 16, 16, data_dir=workdir,
                                  train_filename="train.json", dev_filename=None,
                                  test_filename=None)

    @FUZZ
    @given(content=dpr_files)
    @example(content=b'[{"question": ' + b"[" * 100_000)
    @example(content=b"[]")
    @example(content=dumps([{"question": "q \ud800", "positive_ctxs": [{"text": "t"}]}]))
    def check(content: bytes) -> None:
        write(workdir, "train.json", content)
        accepted_or_farm_error(lambda: dpr.dataset_from_dicts(dpr.file_to_dicts("train.json")))

    OUTCOMES.clear()
    check()
    assert OUTCOMES["accepted"] >= 5, OUTCOMES  # the fuzzer gets past the first checks


def test_fuzz_inference_input_files_and_dicts(workdir: Path, tokenizer: Any) -> None:
    processor = TextClassificationProcessor(tokenizer, 16, label_list=["neg", "pos"],
                                            metric="acc", **NO_FILES)

    def read_and_featurize(path: Path) -> None:
        dicts = read_input_file(path)
        if dicts:
            processor.dataset_from_dicts(dicts, return_baskets=True)

    @FUZZ
    @given(file=input_files, items=st.lists(input_item, max_size=4))
    @example(file=(".json", b"[" * 100_000), items=["good movie", 5, None])
    @example(file=(".jsonl", b'{"text": "a"}\n["a"]\n'), items=[{"text": "a \ud800"}])
    @example(file=(".jsonl", b'\xef\xbb\xbf{"text": "a"}\nnull\n'), items=[{"\ud800": "a"}])
    def check(file: tuple[str, bytes], items: list[Any]) -> None:
        suffix, content = file
        path = write(workdir, f"in{suffix}", content)
        accepted_or_farm_error(lambda: read_and_featurize(path))
        accepted_or_farm_error(lambda: processor.dataset_from_dicts(items, return_baskets=True))

    OUTCOMES.clear()
    check()
    assert OUTCOMES["accepted"] >= 5, OUTCOMES  # the fuzzer gets past the first checks


def test_fuzz_language_model_documents(workdir: Path, tokenizer: Any) -> None:
    lm = BertStyleLMProcessor(tokenizer, 16, data_dir=workdir, train_filename="train.txt",
                              dev_filename=None, test_filename=None)

    @FUZZ
    @given(content=lm_files, one_doc_per_line=st.booleans())
    def check(content: bytes, one_doc_per_line: bool) -> None:
        write(workdir, "train.txt", content)
        lm.one_doc_per_line = one_doc_per_line
        accepted_or_farm_error(lambda: lm.dataset_from_dicts(lm.file_to_dicts("train.txt")))

    OUTCOMES.clear()
    check()
    assert OUTCOMES["accepted"] >= 5, OUTCOMES  # the fuzzer gets past the first checks
