"""Tiny, learnable question-answering data and the FARM objects of a QA script.

Each document is a few sentences of the tiny models' corpus with one "key sentence" at a
random place: "the answer is <word>." — the question "what is the answer?" is answered by
the word, a made-up one. Half of the documents also hold a distractor, "the colour was
<word>.", so the cue, not the odd word, marks the answer. Some documents have no key
sentence, and their question is unanswerable (SQuAD 2.0 style). A tiny model learns to point
at the word after "the answer is" in a few hundred steps, wherever the sentence is, so
predictions across the passages of long documents can be checked.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from farm.data_handler.processor import SquadProcessor
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.tokenization import Tokenizer
from tests.tiny_models import CORPUS

WORDS = ["blorf", "quax", "zindle", "mupo", "trelk", "vosh", "gribba", "plimt"]
QUESTION = "what is the answer?"


def key_sentence(word: str) -> str:
    """The sentence that answers QUESTION with ``word``."""
    return f"the answer is {word}."


def distractor(word: str) -> str:
    """A sentence like the key sentence that does not answer QUESTION."""
    return f"the colour was {word}."


def qa_paragraph(rng: random.Random, n_fillers: int, answerable: bool, qid: str
                 ) -> dict[str, Any]:
    """A SQuAD paragraph: filler sentences with (or without) a key sentence among them."""
    sentences = rng.sample(CORPUS, n_fillers)
    word, other = rng.sample(WORDS, 2)
    answers: list[dict[str, Any]] = []
    if rng.random() < 0.5:
        sentences.insert(rng.randint(0, len(sentences)), distractor(other))
    if answerable:
        sentences.insert(rng.randint(0, len(sentences)), key_sentence(word))
    context = " ".join(sentences)
    if answerable:
        start = context.index(key_sentence(word)) + len("the answer is ")
        answers = [{"text": word, "answer_start": start}]
    qa = {"question": QUESTION, "id": qid, "answers": answers, "is_impossible": not answerable}
    return {"context": context, "qas": [qa]}


def squad_articles(n: int, seed: int = 0, no_answer_share: float = 0.25,
                   fillers: tuple[int, int] = (1, 4)) -> dict[str, Any]:
    """A SQuAD 2.0 object with ``n`` one-paragraph articles."""
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        paragraph = qa_paragraph(rng, rng.randint(*fillers), rng.random() >= no_answer_share,
                                 f"q{seed}-{i}")
        articles.append({"title": f"article {i}", "paragraphs": [paragraph]})
    return {"version": "v2.0", "data": articles}


def write_squad(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_qa_data(data_dir: Path, n_train: int = 240, n_dev: int = 32, n_test: int = 48,
                  fillers: tuple[int, int] = (3, 8)) -> Path:
    """``train.json``, ``dev.json`` and ``test.json`` of learnable documents with
    ``fillers`` corpus sentences each."""
    for name, n, seed in (("train", n_train, 1), ("dev", n_dev, 2), ("test", n_test, 3)):
        write_squad(data_dir / f"{name}.json", squad_articles(n, seed=seed, fillers=fillers))
    return data_dir


def make_qa_processor(model_dir: Path, data_dir: Path | None, **kwargs: Any) -> SquadProcessor:
    """The tutorial's SquadProcessor on a tiny model's tokenizer (short passages)."""
    options: dict[str, Any] = {
        "max_seq_len": 64, "label_list": ["start_token", "end_token"], "metric": "squad",
        "train_filename": "train.json", "dev_filename": "dev.json",
        "test_filename": "test.json", "doc_stride": 16, "max_query_length": 16,
        "max_answers": 1,
    }
    options.update(kwargs)
    return SquadProcessor(tokenizer=Tokenizer.load(model_dir), data_dir=data_dir, **options)


def make_qa_model(model_dir: Path, **head_kwargs: Any) -> AdaptiveModel:
    """A tiny language model with the tutorial's QuestionAnsweringHead."""
    head = QuestionAnsweringHead(layer_dims=[768, 2], task_name="question_answering",
                                 **head_kwargs)
    return AdaptiveModel(language_model=LanguageModel.load(model_dir), prediction_heads=[head],
                         embeds_dropout_prob=0.1, lm_output_types=["per_token"], device="cpu")
