"""Small, learnable sample data for the FARM-style example scripts, in the file formats
FARM's examples read (TSV, CoNLL, SQuAD JSON, plain text, DPR JSON).

    python examples/farm_style/sample_data.py data/farm_style   # writes every data set

Each task has a cue the model can learn in a few steps ("good"/"bad" texts, "the answer is
<word>" sentences, ...), so the scripts show learning on a tiny budget. Use your own data by
passing its folder to a script instead.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

NOUNS = ["film", "meal", "song", "book", "trip", "hotel", "game", "show", "phone", "class"]
EXTRAS = ["today", "again", "this week", "with my family", "in the city", "last night"]
NAMES = ["Anna", "Peter", "Maria", "Jonas", "Clara", "Felix"]
CITIES = ["Berlin", "Paris", "Madrid", "Vienna", "Lisbon", "Oslo"]
WORDS = ["blorf", "quax", "zindle", "mupo", "trelk", "vosh"]
FILLERS = ["The weather was mild.", "Many people came early.", "The room was quiet.",
           "It had rained before.", "A bus passed by.", "The shop opened at nine."]


def _sentiment(rng: random.Random, positive: bool) -> str:
    words = ["good" if positive else "bad", rng.choice(NOUNS), *rng.sample(EXTRAS, 1)]
    return " ".join(words)


def write_doc_classification(folder: Path, n_train: int = 64, n_test: int = 24) -> Path:
    """``train.tsv``/``test.tsv`` with ``text``, ``coarse_label`` (OFFENSE/OTHER as in
    GermEval18) and ``fine_label``."""
    rng = random.Random(1)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.tsv", n_train), ("test.tsv", n_test)):
        lines = ["text\tcoarse_label\tfine_label"]
        for i in range(n):
            positive = i % 2 == 0
            fine = "OTHER" if positive else ("INSULT" if i % 4 == 1 else "ABUSE")
            lines.append(f"{_sentiment(rng, positive)}\t{'OTHER' if positive else 'OFFENSE'}"
                         f"\t{fine}")
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def write_doc_regression(folder: Path, n_train: int = 64, n_test: int = 24) -> Path:
    """``train.tsv``/``test.tsv`` with ``text`` and a numeric ``label`` (about 4 for
    "good" texts, about 1 for "bad" ones)."""
    rng = random.Random(2)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.tsv", n_train), ("test.tsv", n_test)):
        lines = ["text\tlabel"]
        for i in range(n):
            positive = i % 2 == 0
            score = (4.0 if positive else 1.0) + rng.uniform(-0.3, 0.3)
            lines.append(f"{_sentiment(rng, positive)}\t{score:.2f}")
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def write_text_pair(folder: Path, n_train: int = 64, n_test: int = 24) -> Path:
    """``train.tsv``/``test.tsv`` with ``text``, ``text_b``, ``label`` (1: both texts share
    their opinion)."""
    rng = random.Random(3)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.tsv", n_train), ("test.tsv", n_test)):
        lines = ["text\ttext_b\tlabel"]
        for i in range(n):
            first = rng.random() < 0.5
            same = i % 2 == 0
            second = first if same else not first
            lines.append(f"{_sentiment(rng, first)}\t{_sentiment(rng, second)}"
                         f"\t{int(same)}")
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def write_ner(folder: Path, n_train: int = 64, n_test: int = 24) -> Path:
    """CoNLL-2003 style ``train.txt``/``test.txt`` (token POS chunk tag, IOB2 tags)."""
    rng = random.Random(4)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.txt", n_train), ("test.txt", n_test)):
        lines = ["-DOCSTART- -X- -X- O", ""]
        for _ in range(n):
            tokens = [(rng.choice(NAMES), "B-PER"), ("lives", "O"), ("in", "O"),
                      (rng.choice(CITIES), "B-LOC"), (".", "O")]
            lines += [f"{word} NN O {tag}" for word, tag in tokens] + [""]
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def _squad(rng: random.Random, n: int, prefix: str) -> dict[str, object]:
    articles = []
    for i in range(n):
        sentences = rng.sample(FILLERS, 3)
        word = rng.choice(WORDS)
        answerable = i % 4 != 3
        if answerable:
            sentences.insert(rng.randint(0, 3), f"The answer is {word}.")
        context = " ".join(sentences)
        answers = ([{"text": word, "answer_start": context.index(f"The answer is {word}.")
                     + len("The answer is ")}] if answerable else [])
        qa = {"id": f"{prefix}{i}", "question": "What is the answer?", "answers": answers,
              "is_impossible": not answerable}
        articles.append({"title": f"doc {i}", "paragraphs": [{"context": context,
                                                              "qas": [qa]}]})
    return {"version": "v2.0", "data": articles}


def write_squad(folder: Path, n_train: int = 96, n_dev: int = 24, n_test: int = 24) -> Path:
    """SQuAD 2.0 ``train-v2.0.json``, ``dev-v2.0.json``, ``test-v2.0.json``."""
    rng = random.Random(5)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train-v2.0.json", n_train), ("dev-v2.0.json", n_dev),
                    ("test-v2.0.json", n_test)):
        (folder / name).write_text(json.dumps(_squad(rng, n, name[:3])))
    return folder


def write_lm(folder: Path, n_train: int = 40, n_test: int = 8) -> Path:
    """``train.txt``/``test.txt``: one sentence per line, a blank line between documents."""
    rng = random.Random(6)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.txt", n_train), ("test.txt", n_test)):
        docs = ["\n".join(f"{rng.choice(NAMES)} travels to {rng.choice(CITIES)} by train."
                          for _ in range(4)) for _ in range(n)]
        (folder / name).write_text("\n\n".join(docs) + "\n")
    return folder


def write_dpr(folder: Path, n_train: int = 48, n_dev: int = 12, n_test: int = 12) -> Path:
    """DPR ``train.json``/``dev.json``/``test.json``: a question about a city, its passage as
    the positive and another city's as the hard negative."""
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)

    def passage(city: str) -> dict[str, str]:
        return {"title": city, "text": f"{city} is a city with a river and a museum.",
                "passage_id": city}

    for name, n in (("train.json", n_train), ("dev.json", n_dev), ("test.json", n_test)):
        records = []
        for _ in range(n):
            city, other = rng.sample(CITIES, 2)
            records.append({"dataset": "sample", "question": f"Tell me about {city}",
                            "answers": [city], "positive_ctxs": [passage(city)],
                            "negative_ctxs": [], "hard_negative_ctxs": [passage(other)]})
        (folder / name).write_text(json.dumps(records))
    return folder


WRITERS = {
    "doc_class": write_doc_classification, "doc_regr": write_doc_regression,
    "text_pair": write_text_pair, "ner": write_ner, "squad20": write_squad,
    "lm_finetune": write_lm, "dpr": write_dpr,
}
"""Sub-folder name → writer; the scripts' default ``data_dir`` is ``data/farm_style/<name>``."""


def write_all(root: Path) -> Path:
    """Write every sample data set under ``root``."""
    for name, writer in WRITERS.items():
        writer(root / name)
    return root


if __name__ == "__main__":
    print(write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "data/farm_style")))
