"""The demo page in a real headless Chromium: `farm serve` on loopback, the form filled and
submitted, the rendered result read back and compared with the API's answer, screenshots
saved (in ``tmp_path``, and in ``$FARM_SCREENSHOT_DIR`` when set).

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` package (no
browser is downloaded); ``.ci/run`` installs chromium. Skipped, with the reason, without them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy_helpers import save_task_model

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); .ci/run "
                "installs it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is needed")

SENTENCE = "Anna visited Paris with friends"
QA_CONTEXT = "FARM was released by deepset in 2019. It runs on PyTorch."
SERVED_QUESTION = "Who visited Paris?"
SERVED_CONTEXT = "Anna 🚜 visited  Paris with friends.\tThe weather in Paris was sunny."
QA_MODEL = {
    "id": 1, "name": "qa-model", "task": "question_answering", "labels": None,
    "tasks": [{"task_name": "question_answering", "task": "question_answering",
               "labels": None, "pred_threshold": None}],
    "language": "english", "backend": "pytorch", "max_seq_len": 256,
    "form": {"name": "qa", "fields": {"questions": "questions", "text": "text"},
             "optional": {}, "help": {}},
}
QA_RESULT = [{"task": "qa", "task_name": "question_answering", "predictions": [{
    "question": "When was FARM released?", "id": None, "ground_truth": None,
    "answers": [
        {"score": 7.25, "probability": 0.91, "answer": "2019", "offset_answer_start": 32,
         "offset_answer_end": 36, "context": "released by deepset in 2019.",
         "offset_context_start": 9, "offset_context_end": 37, "document_id": None},
        {"score": 1.5, "probability": 0.05, "answer": "", "offset_answer_start": 0,
         "offset_answer_end": 0, "context": "", "offset_context_start": 0,
         "offset_context_end": 0, "document_id": None}],
    "no_ans_gap": 5.75}]}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m farm serve` with a sentiment, an NER, a text-pair, a QA, a passage
    ranking and a dense retrieval model."""
    root = tmp_path_factory.mktemp("demo")
    # The NER model in a folder named best_model (as EarlyStopping's save_dir often is):
    # the page names it after the folder above.
    dirs = [save_task_model(task, tiny_bert_dir, root / name) for task, name in
            [("text_classification", "sentiment"), ("ner", "entities/best_model"),
             ("text_pair", "pairs"), ("qa", "answers"), ("passage_ranking", "ranker"),
             ("text_similarity", "retriever")]]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "farm", "-q", "serve", *map(str, dirs), "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if process.poll() is not None:
                pytest.fail(f"farm serve exited: {process.stdout.read() if process.stdout else ''}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("farm serve did not answer /health within 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


# Records the page's content-security-policy violations (the server's policy allows no
# inline script or style); read back with csp_violations.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


def new_page(browser: Any, height: int) -> Any:
    page = browser.new_page(viewport={"width": 1000, "height": height})
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    return page


def open_demo(browser: Any, server: str, height: int) -> Any:
    """A new page on the demo, once the model list has loaded."""
    page = new_page(browser, height)
    page.goto(server + "/")
    page.wait_for_selector("#model option", state="attached")
    return page


def close(page: Any) -> None:
    """Close ``page`` after checking that the policy blocked nothing on it."""
    assert page.evaluate("window.cspViolations") == []
    page.close()


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    if os.environ.get("FARM_SCREENSHOT_DIR"):
        target = Path(os.environ["FARM_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


def test_classification_and_entities_render_what_the_api_returns(
    server: str, browser: Any, tmp_path: Path
) -> None:
    page = open_demo(browser, server, height=800)
    assert page.locator("#model option").all_inner_texts() == [
        "1: sentiment", "2: entities", "3: pairs", "4: answers", "5: ranker", "6: retriever"]
    assert page.is_visible("#text") and not page.is_visible("#question")
    assert page.title() == "sentiment · FARM demo"
    assert page.inner_text("#model-info").startswith("Text classification · labels: ")

    page.fill("#text", "A warm, clever film.")
    page.click("#predict")
    page.wait_for_selector(".head-result .bar-row")
    assert page.inner_text(".head-result h2").startswith("Text classification")
    body = {"input": [{"text": "A warm, clever film."}]}
    (expected,) = post(server + "/models/1/inference", body)
    prediction = expected["predictions"][0]
    assert page.inner_text(".prediction .label") == prediction["label"]
    rows = page.locator(".bar-row")
    assert rows.count() == 2
    assert [rows.nth(i).get_attribute("data-label") for i in range(2)] == ["negative", "positive"]
    shown = [rows.nth(i).locator(".bar-value").inner_text() for i in range(2)]
    assert shown == [f"{100 * p:.1f}%" for p in prediction["probabilities"]]
    top = page.locator(".bar-row.top").get_attribute("data-label")
    assert top == prediction["label"]
    screenshot(page, tmp_path, "demo_classification")

    # An example input fills the form.
    examples = page.locator("#example-buttons button")
    assert examples.count() >= 2
    examples.nth(1).click()
    example = page.input_value("#text")
    assert example and example != "A warm, clever film."
    (from_example,) = post(server + "/models/1/inference", {"input": [{"text": example}]})
    page.click("#predict")
    sync_api.expect(page.locator(".bar-row.top .bar-value")).to_have_text(
        f"{100 * max(from_example['predictions'][0]['probabilities']):.1f}%")

    page.select_option("#model", "2")
    assert page.title() == "entities · FARM demo"
    page.fill("#text", SENTENCE)
    page.click("#predict")
    page.wait_for_selector(".head-result[data-task='ner']")
    (entities,) = post(server + "/models/2/inference", {"input": [{"text": SENTENCE}]})
    spans = entities["predictions"][0]
    assert spans, "the tiny NER model tags something in the sentence"
    # Entity types in words, with a legend of the model's types (its tags are O, B-PER,
    # I-PER, B-LOC, I-LOC).
    assert page.locator(".legend .legend-item").all_inner_texts() == [
        "PER person", "LOC location"]
    words = {"PER": "person", "LOC": "location"}
    marks = page.locator(".highlighted mark.entity")
    assert marks.count() == len(spans)
    for i, span in enumerate(spans):
        assert marks.nth(i).get_attribute("data-label") == span["label"]
        assert marks.nth(i).inner_text().startswith(span["context"])
        assert marks.nth(i).locator(".tag").inner_text() == words[span["label"].split("-")[-1]]
    text_without_tags = page.evaluate(
        "() => { const p = document.querySelector('.highlighted').cloneNode(true);"
        " p.querySelectorAll('.tag').forEach((t) => t.remove()); return p.textContent; }")
    assert text_without_tags == SENTENCE
    screenshot(page, tmp_path, "demo_ner")

    page.select_option("#model", "3")
    assert page.is_visible("#pair-text") and page.is_visible("#pair-text-b")
    assert not page.is_visible("#text") and not page.is_visible("#question")
    page.fill("#pair-text", "")
    page.fill("#pair-text-b", "the food")
    page.click("#predict")
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error") == "input[0].text: the text is empty."
    close(page)


def test_qa_form_and_answer_highlighting(server: str, browser: Any, tmp_path: Path) -> None:
    """The QA form and renderer, against a stubbed API in QA's result format (API.md):
    the page shows the form only for a QA model and highlights the answer in its context."""
    page = new_page(browser, height=700)
    sent: list[Any] = []

    def models(route: Any) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps([QA_MODEL]))

    def inference(route: Any) -> None:
        sent.append(json.loads(route.request.post_data))
        route.fulfill(status=200, content_type="application/json", body=json.dumps(QA_RESULT))

    page.route("**/models", models)
    page.route("**/models/1/inference", inference)
    page.goto(server + "/")
    page.wait_for_selector("#model option", state="attached")
    assert page.is_visible("#question") and page.is_visible("#context")
    assert not page.is_visible("#text")
    page.fill("#question", "When was FARM released?")
    page.fill("#context", QA_CONTEXT)
    page.click("#predict")
    page.wait_for_selector("mark.answer")
    assert sent == [{"input": [{"questions": ["When was FARM released?"], "text": QA_CONTEXT}]}]
    assert page.inner_text("mark.answer") == "2019"
    assert page.inner_text(".qa .prediction .label") == "2019"
    assert "score 7.250" in page.inner_text(".qa .prediction .score")
    assert page.inner_text(".qa .highlighted") == QA_CONTEXT
    assert page.locator(".answers li").all_inner_texts() == [
        "2019 — score 7.250", "(no answer) — score 1.500"]
    screenshot(page, tmp_path, "demo_qa")
    close(page)


def test_served_qa_model_answer_is_highlighted_in_the_typed_text(
    server: str, browser: Any, tmp_path: Path
) -> None:
    """The QA form only for the QA model; its best answer (from the real server) marked in
    the context by its offsets, which count code points (the emoji is two UTF-16 units in
    JavaScript), with its score and the other n-best answers listed."""
    page = open_demo(browser, server, height=800)
    for model_id in ("1", "2", "3", "5", "6"):
        page.select_option("#model", model_id)
        assert not page.is_visible("#question")
    page.select_option("#model", "4")
    assert page.is_visible("#question") and page.is_visible("#context")
    assert not page.is_visible("#text")
    page.fill("#question", SERVED_QUESTION)
    page.fill("#context", SERVED_CONTEXT)
    page.click("#predict")
    page.wait_for_selector(".head-result[data-task='qa'] mark.answer")
    body = {"input": [{"questions": [SERVED_QUESTION], "text": SERVED_CONTEXT}]}
    (result,) = post(server + "/models/4/inference", body)
    answers = result["predictions"][0]["answers"]
    top = answers[0]
    start, end = top["offset_answer_start"], top["offset_answer_end"]
    assert top["answer"] and SERVED_CONTEXT[start:end] == top["answer"]
    assert page.text_content("mark.answer") == top["answer"]
    assert page.get_attribute("mark.answer", "data-start") == str(start)
    assert page.text_content(".qa .highlighted") == SERVED_CONTEXT
    before = page.evaluate("() => { const p = document.querySelector('.qa .highlighted');"
                           " return p.firstChild.nodeType === 3 ? p.firstChild.data : ''; }")
    assert before == SERVED_CONTEXT[:start]
    assert page.inner_text(".qa .prediction .label") == top["answer"]
    assert f"score {top['score']:.3f}" in page.inner_text(".qa .prediction .score")
    assert page.locator(".answers li").all_text_contents() == [
        f"{a['answer'] or '(no answer)'} — score {a['score']:.3f}" for a in answers]
    assert page.locator(".qa .offsets").count() == 0
    screenshot(page, tmp_path, "demo_qa_served")

    # Several questions, one per line (blank lines skipped): one answer block per question.
    questions = [SERVED_QUESTION, "How was the weather in Paris?"]
    page.fill("#question", f"{questions[0]}\n\n{questions[1]}\n")
    page.click("#predict")
    page.locator(".head-result .qa").nth(1).wait_for()
    body = {"input": [{"questions": questions, "text": SERVED_CONTEXT}]}
    (result,) = post(server + "/models/4/inference", body)
    assert [p["question"] for p in result["predictions"]] == questions
    blocks = page.locator(".head-result .qa")
    for i, prediction in enumerate(result["predictions"]):
        block = blocks.nth(i)
        assert block.locator(".question").inner_text() == f"Q: {questions[i]}"
        best = prediction["answers"][0]
        if best["answer"]:
            assert block.locator("mark.answer").text_content() == best["answer"]
            assert block.locator("mark.answer").get_attribute("data-start") == str(
                best["offset_answer_start"])
        else:
            assert block.locator(".no-answer").count() == 1
    screenshot(page, tmp_path, "demo_qa_two_questions")

    # The example fills the questions and the context; its answers are whole words.
    page.locator("#example-buttons button", has_text="FARM").click()
    questions = page.input_value("#question").split("\n")
    context = page.input_value("#context")
    page.click("#predict")
    sync_api.expect(page.locator(".head-result .qa .question").first).to_have_text(
        f"Q: {questions[0]}")
    (result,) = post(server + "/models/4/inference",
                     {"input": [{"questions": questions, "text": context}]})
    for prediction in result["predictions"]:
        for answer in prediction["answers"]:
            start, end = answer["offset_answer_start"], answer["offset_answer_end"]
            assert context[start:end] == answer["answer"]
            assert not (end < len(context) and context[end].isalnum()
                        and context[end - 1].isalnum())
    screenshot(page, tmp_path, "demo_qa_example")
    close(page)


def test_served_ranker_lists_the_passages_best_first(
    server: str, browser: Any, tmp_path: Path
) -> None:
    page = open_demo(browser, server, height=700)
    page.select_option("#model", "5")
    assert page.is_visible("#query") and page.is_visible("#passages")
    assert not page.is_visible("#text") and not page.is_visible("#question")
    passages = ["the food in berlin is great", "the food in paris is great", "the park"]
    page.fill("#query", "how is the food in paris")
    page.fill("#passages", "\n".join([passages[0], "", passages[1], passages[2]]))
    page.click("#predict")
    page.wait_for_selector(".head-result[data-task='passage_ranking'] .ranked li")
    body = {"input": [{"query": "how is the food in paris", "passages": passages}]}
    (result,) = post(server + "/models/5/inference", body)
    ranking = result["predictions"][0]["ranking"]
    items = page.locator(".ranked li")
    assert items.count() == 3
    assert [items.nth(i).get_attribute("data-index") for i in range(3)] == [
        str(r["index"]) for r in ranking]
    assert page.locator(".ranked .text").all_text_contents() == [r["text"] for r in ranking]
    assert page.locator(".ranked .score").all_text_contents() == [
        f"{100 * r['score']:.1f}%" for r in ranking]
    screenshot(page, tmp_path, "demo_ranking")
    close(page)


def test_served_retriever_shows_vectors_and_rankings(
    server: str, browser: Any, tmp_path: Path
) -> None:
    """A dense retriever: a query alone shows its vector, passages alone theirs, both a
    ranking by dot product; each as the API answers the same input."""
    page = open_demo(browser, server, height=800)
    page.select_option("#model", "5")
    assert not page.is_visible("#retrieval-hint")
    page.select_option("#model", "6")
    assert page.is_visible("#query") and page.is_visible("#passages")
    assert page.is_visible("#retrieval-hint")

    query = "how is the food in paris"
    page.fill("#query", query)
    page.click("#predict")
    page.wait_for_selector(".head-result[data-task='text_similarity'] .embedding")
    (result,) = post(server + "/models/6/inference", {"input": [{"query": query}]})
    vec = result["predictions"][0]["vec"]
    assert page.inner_text(".retrieval .question") == f"Query: {query}"
    norm = sum(x * x for x in vec) ** 0.5
    assert page.inner_text(".embedding p:first-child") == (
        f"Vector of size {len(vec)}, norm {norm:.4f}")
    assert page.inner_text(".embedding .vector").startswith(f"[{vec[0]:.4f}, {vec[1]:.4f},")
    screenshot(page, tmp_path, "demo_retrieval_query_vector")

    passages = ["the food in paris is great", "the park"]
    page.fill("#query", "")
    page.fill("#passages", "\n".join(passages))
    page.click("#predict")
    page.wait_for_selector(".passage-vectors li .embedding")
    (result,) = post(server + "/models/6/inference", {"input": [{"passages": passages}]})
    served = result["predictions"][0]["passages"]
    assert page.locator(".passage-vectors .text").all_text_contents() == passages
    assert page.locator(".passage-vectors .vector").all_text_contents() == [
        "[" + ", ".join(f"{x:.4f}" for x in p["vec"][:8]) + ", …]" for p in served]

    page.fill("#query", query)
    page.click("#predict")
    page.wait_for_selector(".head-result[data-task='text_similarity'] .ranked li")
    body = {"input": [{"query": query, "passages": passages}]}
    (result,) = post(server + "/models/6/inference", body)
    ranking = result["predictions"][0]["ranking"]
    assert page.locator(".ranked .text").all_text_contents() == [r["text"] for r in ranking]
    assert page.locator(".ranked .score").all_text_contents() == [
        f"{r['score']:.3f}" for r in ranking]
    screenshot(page, tmp_path, "demo_retrieval_ranking")
    close(page)


def test_api_docs_render_offline(server: str, browser: Any, tmp_path: Path) -> None:
    """Swagger UI at /docs, linked from the demo page, renders the API's operations with
    every request outside the server refused (its files are served by FARM)."""
    pytest.importorskip("fastapi_offline")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    outside: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(server + "/")
    page.click("text=API docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_text_contents()
    assert {"/health", "/models", "/models/{model_id}/inference"} <= {p.strip() for p in paths}
    assert outside == []
    screenshot(page, tmp_path, "api_docs_offline")
    page.close()
