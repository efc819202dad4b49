"""Tiny, learnable NER data and the FARM objects of an NER script on a tiny model.

Sentences are made from templates: person names are always followed by a verb like
"visited", places always follow "in" or "to", organisations are "... Corp" — so a tiny model
learns the tags in a few epochs. Some names and places have two words.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from farm.data_handler.processor import NERProcessor
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import TokenClassificationHead
from farm.modeling.tokenization import Tokenizer

NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
PEOPLE = [["Anna"], ["Peter", "Smith"], ["Maria"], ["John", "Brown"], ["Lena"], ["Tom"]]
PLACES = [["Paris"], ["New", "York"], ["Berlin"], ["London"], ["Rome"], ["Oslo"]]
ORGS = [["Acme", "Corp"], ["Globex", "Corp"], ["Initech", "Corp"]]
VERBS = ["visited", "called", "met", "liked"]
FILLERS = ["today", "again", "yesterday", "with friends", "at night", "this week"]

Sentence = list[tuple[str, str]]  # (word, IOB2 tag)


def entity(words: list[str], kind: str) -> Sentence:
    """IOB2-tagged words of one entity."""
    return [(w, ("B-" if i == 0 else "I-") + kind) for i, w in enumerate(words)]


def plain(text: str) -> Sentence:
    """Words tagged ``O``."""
    return [(w, "O") for w in text.split()]


def ner_sentences(n: int, seed: int = 0) -> list[Sentence]:
    """``n`` tagged sentences such as "Peter Smith visited New York today ."."""
    rng = random.Random(seed)
    sentences = []
    for i in range(n):
        person = entity(rng.choice(PEOPLE), "PER")
        place = entity(rng.choice(PLACES), "LOC")
        org = entity(rng.choice(ORGS), "ORG")
        filler = plain(rng.choice(FILLERS))
        if i % 3 == 0:
            words = person + plain(rng.choice(VERBS)) + plain("friends in") + place + filler
        elif i % 3 == 1:
            words = plain("yesterday") + person + plain("went to") + place + filler
        else:
            words = person + plain("works for") + org + plain("in") + place
        sentences.append(words + plain("."))
    return sentences


def to_iob1(tags: list[str]) -> list[str]:
    """IOB1 tags: ``I-`` everywhere, ``B-`` only between two adjacent entities of a type."""
    out = []
    for i, tag in enumerate(tags):
        previous = tags[i - 1] if i else "O"
        if tag.startswith("B-") and previous[2:] != tag[2:]:
            tag = "I-" + tag[2:]
        out.append(tag)
    return out


def write_conll(
    path: Path, sentences: list[Sentence], delimiter: str = " ", docstart: bool = True,
    iob1: bool = False, extra_columns: bool = True,
) -> Path:
    """Write sentences as a CoNLL-2003 style file (token POS chunk tag)."""
    lines = [f"-DOCSTART-{delimiter}-X-{delimiter}-X-{delimiter}O", ""] if docstart else []
    for sentence in sentences:
        tags = [t for _, t in sentence]
        tags = to_iob1(tags) if iob1 else tags
        for (word, _), tag in zip(sentence, tags, strict=True):
            fields = [word, "NNP", "I-NP", tag] if extra_columns else [word, tag]
            lines.append(delimiter.join(fields))
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ner_data(data_dir: Path, n_train: int = 48, n_test: int = 16) -> Path:
    """``train.txt`` and ``test.txt`` of template sentences in ``data_dir``."""
    write_conll(data_dir / "train.txt", ner_sentences(n_train, seed=1))
    write_conll(data_dir / "test.txt", ner_sentences(n_test, seed=2))
    return data_dir


def make_ner_processor(model_dir: Path, data_dir: Path | None, **kwargs: Any) -> NERProcessor:
    """An NER processor on a tiny model's tokenizer reading space-separated files."""
    options: dict[str, Any] = {
        "max_seq_len": 32, "label_list": NER_LABELS, "metric": "seq_f1", "delimiter": " ",
        "dev_filename": None, "dev_split": 0.0,
    }
    options.update(kwargs)
    return NERProcessor(tokenizer=Tokenizer.load(model_dir), data_dir=data_dir, **options)


def make_ner_model(model_dir: Path, n_labels: int = len(NER_LABELS), **head_kwargs: Any
                   ) -> AdaptiveModel:
    """A tiny language model with a token classification head."""
    return AdaptiveModel(
        language_model=LanguageModel.load(model_dir),
        prediction_heads=[TokenClassificationHead(num_labels=n_labels, **head_kwargs)],
        embeds_dropout_prob=0.1, lm_output_types=["per_token"], device="cpu",
    )


def conll_tags(sentences: list[Sentence]) -> list[list[str]]:
    """The tag sequences of sentences."""
    return [[t for _, t in s] for s in sentences]
