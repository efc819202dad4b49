"""The REST API serving an extractive QA model: every question's answers in API.md's QA
format, offsets that slice the text sent, both input shapes, validation and limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

LOCAL = "http://localhost"  # the Host the server answers to (see test_serve_guards.py)

from farm.errors import FarmError  # noqa: E402
from farm.infer import QAInferencer  # noqa: E402
from farm.serve import ServerLimits, create_app  # noqa: E402
from farm.serve.app import merge_batches  # noqa: E402
from farm.serve.passages import count_passages  # noqa: E402
from tests.deploy_helpers import save_task_model  # noqa: E402
from tests.tiny_models import CORPUS  # noqa: E402

ANSWER_KEYS = {"score", "probability", "answer", "offset_answer_start", "offset_answer_end",
               "context", "offset_context_start", "offset_context_end", "document_id"}
# Repeated whitespace, accents and a character outside the BMP before the answers.
UNICODE_TEXT = "Zoë  met   Anna 🚜 in Paris.\tThe answer is blorf, she said  twice."
LONG_TEXT = " ".join(CORPUS[:40])  # several passages of 256 tokens
INPUTS = [
    {"questions": ["what is the answer?", "who met Anna?"], "text": UNICODE_TEXT},
    {"questions": ["where did she go?"], "text": LONG_TEXT, "document_id": "long"},
    {"questions": [{"question": "what is the answer?", "id": "q-7"}], "text": CORPUS[0]},
]


@pytest.fixture(scope="module")
def qa_dir(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_task_model("qa", tiny_bert_dir, tmp_path_factory.mktemp("served") / "answers")


@pytest.fixture(scope="module")
def client(qa_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app([qa_dir], batch_size=2), base_url=LOCAL) as test_client:
        yield test_client


def problems(response: Any) -> list[tuple[str, str]]:
    return [(e["loc"], e["msg"]) for e in response.json()["errors"]]


def test_models_report_the_qa_task_and_both_input_shapes(client: TestClient) -> None:
    (model,) = client.get("/models").json()
    assert (model["name"], model["task"], model["labels"]) == ("answers", "qa", None)
    assert model["tasks"] == [{"task_name": "question_answering", "task": "qa",
                               "labels": None, "pred_threshold": None}]
    form = model["form"]
    assert form["name"] == "qa"
    assert form["fields"] == {"questions": "questions", "text": "text"}
    assert form["optional"] == {"document_id": "id"}
    assert [a["fields"] for a in form["alternatives"]] == [{"qas": "questions", "context": "text"}]


def test_every_question_is_answered_with_offsets_into_its_text(
    client: TestClient, qa_dir: Path
) -> None:
    response = client.post("/models/answers/inference", json={"input": INPUTS})
    assert response.status_code == 200, response.text
    (result,) = response.json()
    assert (result["task"], result["task_name"]) == ("qa", "question_answering")
    predictions = result["predictions"]
    questions = [(q if isinstance(q, str) else q["question"], item["text"])
                 for item in INPUTS for q in item["questions"]]
    assert len(predictions) == len(questions) == 4
    for prediction, (question, text) in zip(predictions, questions, strict=True):
        assert prediction["question"] == question
        assert set(prediction) == {"question", "id", "ground_truth", "answers", "no_ans_gap"}
        assert 1 <= len(prediction["answers"]) <= 3  # the head's n_best
        for answer in prediction["answers"]:
            assert set(answer) == ANSWER_KEYS
            start, end = answer["offset_answer_start"], answer["offset_answer_end"]
            assert text[start:end] == answer["answer"]
            window = text[answer["offset_context_start"]:answer["offset_context_end"]]
            assert window == answer["context"]
        assert prediction["answers"][0]["answer"]  # no_ans_boost=-100: a span comes first
    assert [p["id"] for p in predictions] == ["0-0", "0-1", "1-0", "q-7"]
    assert predictions[2]["answers"][0]["document_id"] == "long"

    reference = snapping(QAInferencer.load(qa_dir, disable_tqdm=True))
    expected = merge_batches(reference.inference_from_dicts(INPUTS))
    assert [[(a["answer"], a["offset_answer_start"]) for a in p["answers"]] for p in predictions
            ] == [[(a["answer"], a["offset_answer_start"]) for a in p["answers"]]
                  for p in expected[0]["predictions"]]


def snapping(inferencer: QAInferencer) -> QAInferencer:
    """``inferencer`` with answers widened to whole words, as the server gives them."""
    (head,) = inferencer.model.heads
    head.snap_to_words = True
    return inferencer


def test_answers_are_whole_words_unless_asked_otherwise(qa_dir: Path) -> None:
    """The served answers are the QA head's spans widened to whole words (the head's
    snap_to_words); with snap_answers=False the spans as the model found them, some of
    which (this untrained model's) start or end inside a word."""
    texts = [item["text"] for item in INPUTS for _ in item["questions"]]

    def inside_a_word(snap: bool) -> int:
        with TestClient(create_app([qa_dir], snap_answers=snap), base_url=LOCAL) as client:
            (result,) = client.post("/models/1/inference", json={"input": INPUTS}).json()
        cut = 0
        for prediction, text in zip(result["predictions"], texts, strict=True):
            for answer in prediction["answers"]:
                start, end = answer["offset_answer_start"], answer["offset_answer_end"]
                assert text[start:end] == answer["answer"]
                cut += bool(answer["answer"]) and (
                    (start > 0 and text[start - 1].isalnum() and text[start].isalnum())
                    or (end < len(text) and text[end].isalnum() and text[end - 1].isalnum()))
        return cut

    assert inside_a_word(snap=False) > 0
    assert inside_a_word(snap=True) == 0


def test_squad_shaped_inputs_give_the_same_answers(client: TestClient) -> None:
    ours = client.post("/models/1/inference", json={"input": [INPUTS[0]]}).json()
    squad = client.post("/models/1/inference", json={"input": [{
        "context": UNICODE_TEXT,
        "qas": [{"question": "what is the answer?", "id": "a"}, "who met Anna?"]}]}).json()
    assert [p["answers"] for p in squad[0]["predictions"]] == [
        p["answers"] for p in ours[0]["predictions"]]
    assert [p["id"] for p in squad[0]["predictions"]] == ["a", "0-1"]


def test_invalid_qa_inputs_are_answered_with_what_is_wrong(client: TestClient) -> None:
    response = client.post("/models/1/inference", json={"input": [
        {"questions": [], "text": "a text"},
        {"questions": "what?", "text": "a text"},
        {"questions": ["", 3, {"q": "what?"}], "text": "  "},
        {"qustions": ["what?"], "text": "a text"},
        {"questions": ["what?"], "document_id": True},
        {"context": "a text", "qas": [{"question": "what?", "answer": []}]},
    ]})
    assert response.status_code == 422
    found = problems(response)
    assert found == [
        ("input[0].questions", 'expected a non-empty list of questions (strings or '
         '{"question": ...}); got an empty list.'),
        ("input[1].questions", 'expected a non-empty list of questions (strings or '
         '{"question": ...}); got str.'),
        ("input[2].questions[0]", "the text is empty."),
        ("input[2].questions[1]", "expected a string; got int."),
        ("input[2].questions[2].q", "unknown field 'q' of a question. A question takes "
         "['question', 'id', 'answers', 'is_impossible']."),
        ("input[2].questions[2].question", "expected the question text (a string); got "
         "nothing."),
        ("input[2].text", "the text is empty."),
        ("input[3].qustions", "unknown field 'qustions'. Did you mean 'questions'? This "
         "model takes ['document_id', 'id', 'questions', 'text']."),
        ("input[3].questions", "missing field 'questions' (one or more questions about the "
         'text (strings, or objects {"question", "id"})).'),
        ("input[4].text", "missing field 'text' (the context the answers are taken from)."),
        ("input[4].document_id", "expected a string or an integer; got bool."),
        ("input[5].qas[0].answer", "unknown field 'answer' of a question. Did you mean "
         "'answers'? A question takes ['question', 'id', 'answers', 'is_impossible']."),
    ]
    assert 'inputs like {"questions": ["..."], "text": "..."}' in response.json()["detail"]


def test_limits_apply_to_questions_and_texts(qa_dir: Path) -> None:
    limits = ServerLimits(max_inputs=3, max_text_chars=30)
    with TestClient(create_app([qa_dir], limits=limits), base_url=LOCAL) as client:
        ok = client.post("/models/1/inference", json={"input": [
            {"questions": ["what is the answer?"] * 3, "text": "the answer is blorf."}]})
        assert ok.status_code == 200, ok.text
        assert len(ok.json()[0]["predictions"]) == 3
        many = client.post("/models/1/inference", json={"input": [
            {"questions": ["a?", "b?"], "text": "x"}, {"qas": ["c?", "d?"], "context": "y"}]})
        assert many.status_code == 422
        assert problems(many) == [("input", "input has 4 questions in all; this server "
                                   "accepts at most 3 per request (--max-inputs). Split the "
                                   "request.")]
        long = client.post("/models/1/inference", json={"input": [
            {"questions": ["q" * 31], "text": "t" * 31}]})
        assert problems(long) == [
            ("input[0].questions[0]", "the text has 31 characters; this server accepts at "
             "most 30 (--max-text-chars)."),
            ("input[0].text", "the text has 31 characters; this server accepts at most 30 "
             "(--max-text-chars).")]


def test_lengths_and_stride_are_the_servers_choice(qa_dir: Path) -> None:
    with TestClient(create_app([qa_dir], max_seq_len=64, doc_stride=16), base_url=LOCAL) as client:
        assert client.get("/models/1").json()["max_seq_len"] == 64
        (result,) = client.post("/models/1/inference", json={"input": INPUTS[1:2]}).json()
    reference = snapping(QAInferencer.load(qa_dir, max_seq_len=64, doc_stride=16,
                                           disable_tqdm=True))
    (expected,) = reference.inference_from_dicts(INPUTS[1:2])
    assert [a["offset_answer_start"] for a in result["predictions"][0]["answers"]] == [
        a["offset_answer_start"] for a in expected["predictions"][0]["answers"]]
    with pytest.raises(FarmError, match=r"cannot be served with these lengths \(--max-seq-len, "
                       r"--doc-stride\): doc_stride=128 does not fit"):
        create_app([qa_dir], max_seq_len=64)


def test_passages_are_counted_as_the_processor_makes_them(qa_dir: Path) -> None:
    processor = QAInferencer.load(qa_dir, max_seq_len=64, doc_stride=16,
                                  disable_tqdm=True).processor
    question = "what is the answer to the question that is asked here, in many words? " * 3
    for inputs in [INPUTS, [{"questions": ["a?", question], "text": LONG_TEXT}],
                   [{"qas": ["b?"], "context": ""}, {"qas": [question], "context": "short"}]]:
        dataset = processor.dataset_from_dicts(inputs, log_sample=False)[0]
        assert count_passages(processor, inputs) == len(dataset)


def test_a_request_for_too_many_passages_is_refused_before_the_model_runs(
    qa_dir: Path,
) -> None:
    """The review's request: 256 questions about a 20,000-character text, within every
    other limit, asks for thousands of passages; refused (422) with the limit's name,
    without running the model."""
    text = (LONG_TEXT + " ") * (20_000 // len(LONG_TEXT) + 1)
    attack = {"input": [{"questions": ["who?"] * 256, "text": text[:20_000]}]}
    app = create_app([qa_dir])
    (served,) = app.state.models
    calls: list[int] = []
    inner = served.inferencer.inference_from_dicts
    served.inferencer.inference_from_dicts = lambda dicts, **kw: calls.append(1) or inner(dicts)
    with TestClient(app, base_url=LOCAL) as client:
        response = client.post("/models/1/inference", json=attack)
        assert response.status_code == 422
        detail = response.json()["detail"]
        n = count_passages(served.inferencer.processor, attack["input"])
        assert n > 512 * 10
        assert detail.startswith(f"This request asks for {n} passages")
        assert "this server reads at most 512 per request (--max-passages)" in detail
        assert calls == []
        one = {"input": [{"questions": ["who?"] * 2, "text": text[:20_000]}]}
        n_one = count_passages(served.inferencer.processor, one["input"])
    limits = ServerLimits(max_passages=n_one)
    with TestClient(create_app([qa_dir], limits=limits), base_url=LOCAL) as client:
        assert client.post("/models/1/inference", json=one).status_code == 200
        one["input"][0]["questions"].append("why?")
        assert client.post("/models/1/inference", json=one).status_code == 422
