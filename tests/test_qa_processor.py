"""SquadProcessor: passages, answer labels at passage edges, no-answer samples, character
offsets with unicode and white space, every architecture's pair template, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from farm.data_handler.inputs import QAInput, Question
from farm.data_handler.processor import SquadProcessor
from farm.errors import DataFileError
from farm.modeling.tokenization import Tokenizer
from farm.qa_features import CONTEXT_OFFSETS, PASSAGE_POSITION
from tests.qa_helpers import make_qa_processor, squad_articles, write_squad
from tests.tiny_models import ARCHITECTURES, TinyModelFactory

LABELS = "question_answering_label_ids"
UNICODE_CONTEXT = (
    "Zoë  lives\tin  São Paulo.\u00a0Ça va? Naïve café owners in 東京 sell crème brûlée… "
    "Twice: crème brûlée!  The end."
)


def processor(model_dir: Path, **kwargs: Any) -> SquadProcessor:
    options = {"max_seq_len": 32, "doc_stride": 8, "max_query_length": 8, "max_answers": 6}
    return make_qa_processor(model_dir, None, **{**options, **kwargs})


def label_pairs(features: dict[str, np.ndarray]) -> list[tuple[int, int]]:
    flat = features[LABELS]
    return [(int(s), int(e)) for s, e in flat.reshape(-1, 2)]


def label_text(features: dict[str, np.ndarray], context: str, pair: tuple[int, int]) -> str:
    offsets = features[CONTEXT_OFFSETS].reshape(-1, 2)
    return context[offsets[pair[0]][0] : offsets[pair[1]][1]]


def squad_dict(context: str, answers: list[str], qid: str = "q") -> dict[str, Any]:
    qas = [{"question": f"where is {a}?", "id": f"{qid}{i}",
            "answers": [{"text": a, "answer_start": context.index(a)}]}
           for i, a in enumerate(answers)]
    return {"context": context, "qas": qas}


def test_passages_cover_the_document_with_doc_stride(tiny_bert_dir: Path) -> None:
    proc = processor(tiny_bert_dir)
    tokenizer = proc.tokenizer
    context = " ".join(["the river thames flows through london"] * 6)
    n_doc = len(tokenizer(context, add_special_tokens=False)["input_ids"])
    question = "where?"
    n_question = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    dataset, _, _, baskets = proc.dataset_from_dicts(
        [{"text": context, "questions": [question]}], return_baskets=True)
    passage_len = 32 - 3 - n_question
    starts = list(range(0, n_doc, 8))
    starts = starts[: next(i for i, s in enumerate(starts) if s + passage_len >= n_doc) + 1]
    assert len(dataset) == len(baskets[0].samples) == len(starts) > 3
    for p, start in enumerate(starts):
        sample = dataset[p]
        assert sample[PASSAGE_POSITION].tolist() == [0, p, len(starts)]
        assert len(sample["input_ids"]) == 3 + n_question + min(passage_len, n_doc - start)
        assert len(sample["input_ids"]) <= 32
    assert LABELS not in dataset.tensor_names  # request dicts carry no answers


def test_answers_at_passage_edges(tiny_bert_dir: Path) -> None:
    """Answers on the first and last token of passages, and just outside them: the label is
    in exactly the passages that contain the whole answer."""
    proc = processor(tiny_bert_dir, max_answers=1)
    context = ("the cat sleeps on the sofa all day and the dog plays in the park after school "
               "while the bird sings a song")
    spans = proc.tokenizer(context, add_special_tokens=False,
                           return_offsets_mapping=True)["offset_mapping"]
    question = "where is it?"
    n_question = len(proc.tokenizer(question, add_special_tokens=False)["input_ids"])
    passage_len = 32 - 3 - n_question
    targets = [0, passage_len - 1, passage_len, 8, 8 + passage_len - 1, len(spans) - 1]
    qas = [{"question": question, "id": f"t{k}", "answers": [
        {"text": context[spans[k][0] : spans[k][1]], "answer_start": spans[k][0]}]}
        for k in targets]
    dataset, _, _, baskets = proc.dataset_from_dicts([{"context": context, "qas": qas}],
                                                     return_baskets=True)
    row = 0
    offset = 1 + n_question + 1  # [CLS] question [SEP]
    for k, basket in zip(targets, baskets, strict=True):
        assert len(basket.samples) > 2
        for p in range(len(basket.samples)):
            features = dataset[row]
            row += 1
            start = 8 * p
            inside = start <= k < start + passage_len
            expected = (k - start + offset,) * 2 if inside else (0, 0)
            assert label_pairs(features) == [expected], (k, p)
            if inside:
                assert label_text(features, context, expected) == qas[targets.index(k)][
                    "answers"][0]["text"]


def test_answer_cut_by_a_passage_end_is_no_answer_there(tiny_bert_dir: Path) -> None:
    proc = processor(tiny_bert_dir, doc_stride=4)
    context = "one two three four five six seven eight nine ten eleven twelve " * 3
    dataset, _, _, baskets = proc.dataset_from_dicts(
        [squad_dict(context, ["nine ten eleven twelve one two three"])], return_baskets=True)
    n_passages = len(baskets[0].samples)
    found = []
    for p in range(n_passages):
        pairs = label_pairs(dataset[p])
        if pairs != [(0, 0)]:
            found.append(p)
            assert label_text(dataset[p], context, pairs[0]) == (
                "nine ten eleven twelve one two three")
    assert found and len(found) < n_passages


def test_no_answer_samples_and_several_answers(tiny_bert_dir: Path) -> None:
    proc = processor(tiny_bert_dir, max_seq_len=64, max_answers=2)
    context = "Rome is the capital of Italy, and Paris is the capital of France."
    qas = [
        {"question": "capital?", "id": "multi", "answers": [
            {"text": "Rome", "answer_start": 0}, {"text": "Rome", "answer_start": 0},
            {"text": "Paris", "answer_start": context.index("Paris")},
            {"text": "France", "answer_start": context.index("France")}]},
        {"question": "nothing?", "id": "none", "answers": [], "is_impossible": True},
        {"question": "plausible?", "id": "v2", "is_impossible": True,
         "answers": [{"text": "Italy", "answer_start": context.index("Italy")}]},
    ]
    dataset, _, _ = proc.dataset_from_dicts([{"context": context, "qas": qas}])
    # duplicates count once, then max_answers=2 of the three distinct answers are kept
    assert [label_text(dataset[0], context, p) for p in label_pairs(dataset[0])] == [
        "Rome", "Paris"]
    assert label_pairs(dataset[1]) == [(0, 0)]
    assert label_pairs(dataset[2]) == [(0, 0)]  # is_impossible wins over answers
    refs = dataset.references
    assert refs[0]["answers"] == ["Rome", "Rome", "Paris", "France"] and refs[1]["answers"] == []


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_unicode_and_white_space_offsets(arch: str, tiny_model_factory: TinyModelFactory
                                         ) -> None:
    """Labels and offsets map back to the exact characters, for every tokenizer family."""
    proc = processor(tiny_model_factory(arch), max_seq_len=48, doc_stride=12)
    answers = ["Zoë", "São Paulo", "Ça va", "東京", "Naïve café", "Paulo.\u00a0Ça",
               "Twice: crème brûlée"]
    dataset, _, _, baskets = proc.dataset_from_dicts(
        [squad_dict(UNICODE_CONTEXT, answers)], return_baskets=True)
    row = 0
    for answer, basket in zip(answers, baskets, strict=True):
        texts = set()
        for _ in basket.samples:
            pair = label_pairs(dataset[row])[0]
            if pair != (0, 0):
                texts.add(label_text(dataset[row], UNICODE_CONTEXT, pair))
            row += 1
        assert texts == {answer}, arch
    offsets = np.concatenate([dataset[i][CONTEXT_OFFSETS].reshape(-1, 2) for i in range(row)])
    spans = offsets[offsets[:, 0] >= 0]
    assert all(UNICODE_CONTEXT[a:b].strip() == UNICODE_CONTEXT[a:b] != "" for a, b in spans)


@pytest.mark.parametrize("arch", [*ARCHITECTURES, "minilm"])
def test_samples_equal_the_tokenizers_own_pair_encoding(
    arch: str, tiny_model_factory: TinyModelFactory
) -> None:
    """A document that fits one passage gives exactly what the tokenizer makes of the pair."""
    if arch == "minilm":
        from benchmarks.bench_utils import minilm_path

        proc = SquadProcessor(Tokenizer.load(minilm_path()), max_seq_len=256, data_dir=None)
    else:
        proc = processor(tiny_model_factory(arch), max_seq_len=128, doc_stride=64)
    question, context = "Who lives in São Paulo?", "Zoë  lives\tin  São Paulo, Brasil."
    proc.max_query_length = 32
    dataset, _, _ = proc.dataset_from_dicts([{"questions": [question], "text": context}])
    expected = proc.tokenizer(question, context)
    assert dataset[0]["input_ids"].tolist() == expected["input_ids"]
    # segment ids as every FARM processor takes them: from the tokenizer's template
    assert dataset[0]["segment_ids"].tolist() == expected.encodings[0].type_ids


def test_qa_input_objects_and_request_shapes(tiny_bert_dir: Path) -> None:
    proc = processor(tiny_bert_dir)
    context = "Paris is the capital of France."
    shapes = [
        QAInput(doc_text=context, questions=[Question("capital?", uid="a")], doc_id="d1"),
        {"text": context, "questions": ["capital?"]},
        {"context": context, "qas": ["capital?", {"question": "country?", "id": "c"}]},
    ]
    _, _, _, baskets = proc.dataset_from_dicts(shapes, return_baskets=True)
    assert [b.id_external for b in baskets] == ["a", "1-0", "2-0", "c"]
    assert [b.id_internal for b in baskets] == ["0-0", "1-0", "2-0", "2-1"]
    assert baskets[0].raw["document_id"] == "d1"
    assert baskets[0].samples[0].id == "0-0-0"
    assert baskets[3].samples[0].clear_text["question_id"] == "c"


def test_file_reading_repairs_offsets_and_counts(tiny_bert_dir: Path, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    context = "Marie Curie won the Nobel Prize twice, in 1903 and 1911."
    qas = [
        {"id": "ok", "question": "who?", "answers": [{"text": "Marie Curie", "answer_start": 0}]},
        {"id": "plus2", "question": "what?", "answers": [
            {"text": "Nobel Prize", "answer_start": context.index("Nobel") + 2}]},
        {"id": "minus3", "question": "when?", "answers": [
            {"text": "1911", "answer_start": context.index("1911") - 3}]},
        {"id": "lost", "question": "where?", "answers": [
            {"text": "Warsaw", "answer_start": 5}]},
    ]
    write_squad(tmp_path / "train.json", {"data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": qas}]}]})
    proc = make_qa_processor(tiny_bert_dir, tmp_path, dev_filename=None, test_filename=None)
    with caplog.at_level(logging.WARNING):
        dicts = proc.file_to_dicts("train.json")
    repairs = proc.answer_repairs[str(tmp_path / "train.json")]
    assert (repairs.fixed, repairs.unlocated) == (2, 1)
    assert "'lost'" in caplog.text and "moved by -2" in caplog.text
    answers = [q["answers"][0] for q in dicts[0]["qas"]]
    assert [context[a["answer_start"]:][: len(a["text"])] for a in answers[:3]] == [
        "Marie Curie", "Nobel Prize", "1911"]
    assert answers[3]["answer_start"] is None
    dataset, _, _ = proc.dataset_from_dicts(dicts)
    assert label_pairs(dataset[3]) == [(-1, -1)]  # no training label ...
    assert dataset.references[3]["answers"] == ["Warsaw"]  # ... but a gold text


def test_empty_context_and_long_question(tiny_bert_dir: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    proc = processor(tiny_bert_dir)
    long_question = "what " * 200 + "?"
    with caplog.at_level(logging.WARNING):
        dataset, _, _, baskets = proc.dataset_from_dicts(
            [{"text": "", "questions": ["anything?"], "document_id": "empty"},
             {"text": "Paris is in France.", "questions": [long_question]}],
            return_baskets=True)
    assert [len(b.samples) for b in baskets] == [1, 1]
    assert (dataset[0][CONTEXT_OFFSETS] < 0).all()
    assert len(dataset[1]["input_ids"]) <= 32
    assert "empty context" in caplog.text and "'empty'" in caplog.text
    assert "1 of 2 questions are longer than max_query_length=8" in caplog.text


def test_doc_stride_too_large_says_which_values_work(tiny_bert_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"doc_stride between 1 and 45"):
        processor(tiny_bert_dir, max_seq_len=64, max_query_length=16, doc_stride=60)
    with pytest.raises(ValueError, match=r"max_query_length < 29"):
        processor(tiny_bert_dir, max_seq_len=32, max_query_length=30)
    proc = processor(tiny_bert_dir, max_seq_len=64, max_query_length=16, doc_stride=40)
    proc.max_seq_len = 48  # as Inferencer.load(max_seq_len=...) does
    with pytest.raises(ValueError, match=r"between 1 and 29"):
        proc.dataset_from_dicts([{"text": "a text", "questions": ["a question"]}])


@pytest.mark.parametrize(("content", "message"), [
    ('{"data": [{"title": "x", "paragraphs": [}]}', r"train.json:1: not valid JSON"),
    ('{"version": "1.1"}', r"a list under \"data\""),
    ('{"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "q7"}]}]}]}',
     r"document 'T-0' \(input 0\), question 'q7': \"question\" is missing"),
    ('{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": 5, "question": "q?", '
     '"answers": [{"text": "b", "answer_start": "1"}]}]}]}]}',
     r"question '5': answer_start '1' of answer 'b' is not an integer"),
    ('{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q", "question": "q?"}]}]}]}',
     r"question 'q' has no \"answers\""),
    ('{"data": [{"paragraphs": [{"text": "abc"}]}]}',
     r"document '0-0' \(input 0\) has keys \['text'\]; a document needs"),
])
def test_malformed_files_name_the_document_and_question(
    tiny_bert_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "train.json").write_text(content)
    proc = make_qa_processor(tiny_bert_dir, tmp_path, dev_filename=None, test_filename=None)
    with pytest.raises(DataFileError, match=message):
        proc.file_to_dicts("train.json")


def test_bad_request_dicts(tiny_bert_dir: Path) -> None:
    proc = processor(tiny_bert_dir)
    with pytest.raises(DataFileError, match=r"input 1 \(document '1'\)|document '1' \(input 1\)"):
        proc.dataset_from_dicts([{"text": "a", "questions": ["q"]}, {"texts": "b"}])
    with pytest.raises(DataFileError, match="document '0' \\(input 0\\), question '0-0'"):
        proc.dataset_from_dicts([{"text": "a", "questions": [""]}])


def test_file_dicts_keep_articles_as_groups(tiny_bert_dir: Path, tmp_path: Path) -> None:
    data = squad_articles(3, seed=5, fillers=(1, 1))  # one passage each
    data["data"][1]["paragraphs"].append(data["data"][2]["paragraphs"][0])
    write_squad(tmp_path / "train.json", data)
    proc = make_qa_processor(tiny_bert_dir, tmp_path, dev_filename=None, test_filename=None)
    dicts = proc.file_to_dicts("train.json")
    assert [d["article"] for d in dicts] == [0, 1, 1, 2]
    assert [d["document_id"] for d in dicts] == ["article 0-0", "article 1-0", "article 1-1",
                                                 "article 2-0"]
    dataset, _, _ = proc.dataset_from_dicts(dicts)
    assert dataset.groups.tolist() == [0, 1, 1, 2]
    json.dumps(dicts)  # file dicts stay plain JSON


def test_a_file_with_a_byte_order_mark_reads(tiny_bert_dir: Path, tmp_path: Path) -> None:
    text = json.dumps(squad_articles(2, seed=4))
    (tmp_path / "train.json").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    proc = make_qa_processor(tiny_bert_dir, tmp_path, dev_filename=None, test_filename=None)
    assert len(proc.file_to_dicts("train.json")) == 2


def test_max_samples_reads_the_first_questions(tiny_bert_dir: Path, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    data = squad_articles(6, seed=4)
    data["data"][1]["paragraphs"][0]["qas"].append(
        {**data["data"][1]["paragraphs"][0]["qas"][0], "id": "second"})
    file = write_squad(tmp_path / "train.json", data)
    ids = [q["id"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]]
    with caplog.at_level(logging.INFO):
        dicts = make_qa_processor(tiny_bert_dir, tmp_path, max_samples=2).file_to_dicts(file)
    assert [q["id"] for d in dicts for q in d["qas"]] == ids[:2]  # cut inside paragraph 2
    assert "read the first 2 questions (max_samples=2)" in caplog.text
    everything = make_qa_processor(tiny_bert_dir, tmp_path).file_to_dicts(file)
    assert [q["id"] for d in everything for q in d["qas"]] == ids
    with pytest.raises(ValueError, match="max_samples must be at least 1"):
        make_qa_processor(tiny_bert_dir, tmp_path, max_samples=0)
