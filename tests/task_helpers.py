"""Tiny, learnable data for the regression, multilabel, text-pair and multitask tests.

Every label follows from the words of the text, so a tiny model can learn it in a few
steps: the score of a text is 4 with "good" and 1 with "bad" (plus a little noise); its
topics are the topic words it contains; a pair is a paraphrase when both texts share
their cue word.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from farm.data_handler.data_silo import DataSilo
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads import PredictionHead
from farm.train import Trainer
from tests.farm_helpers import FILLERS, NOUNS, make_trainer

TOPICS = ["food", "music", "travel"]
TOPIC_WORDS = {"food": "soup", "music": "song", "travel": "train"}


def scored_rows(n: int, seed: int = 0) -> list[tuple[str, float]]:
    """``n`` (text, score) rows: about 4.0 with "good", about 1.0 with "bad"."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        cue, base = ("good", 4.0) if i % 2 else ("bad", 1.0)
        words = [cue, rng.choice(NOUNS)] + rng.sample(FILLERS, rng.randint(0, 2))
        rows.append((" ".join(words), round(base + rng.uniform(-0.3, 0.3), 3)))
    rng.shuffle(rows)
    return rows


def topic_rows(n: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    """``n`` (text, topics) rows: each text names one to three topics by their words."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        topics = sorted(rng.sample(TOPICS, rng.randint(1, 3)))
        words = [TOPIC_WORDS[t] for t in topics] + rng.sample(FILLERS, rng.randint(0, 2))
        rng.shuffle(words)
        rows.append((" ".join(words), topics))
    return rows


def pair_rows(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """``n`` (text, text_b, label) rows: "1" when both texts carry the same cue word."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        cue_a = rng.choice(["good", "bad"])
        same = i % 2 == 0
        cue_b = cue_a if same else ("bad" if cue_a == "good" else "good")
        text = " ".join([cue_a, rng.choice(NOUNS)] + rng.sample(FILLERS, rng.randint(0, 2)))
        text_b = " ".join([rng.choice(NOUNS), cue_b])
        rows.append((text, text_b, "1" if same else "0"))
    return rows


def write_rows(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> Path:
    """Write a TSV file with a header; list values are joined with commas."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)]
    for row in rows:
        lines.append("\t".join(",".join(v) if isinstance(v, list) else str(v) for v in row))
    path.write_text("\n".join(lines) + "\n")
    return path


def train_model(
    model_dir: Path, heads: list[PredictionHead], data_silo: DataSilo, epochs: int,
    learning_rate: float = 2e-3, **kwargs: Any,
) -> Trainer:
    """Train ``heads`` on a tiny language model with the quiet CPU trainer; returns the
    trainer (``trainer.model``: the trained model, ``trainer.test_result``)."""
    model = AdaptiveModel(LanguageModel.load(model_dir), heads, embeds_dropout_prob=0.1,
                          device="cpu", **kwargs)
    trainer = make_trainer(model, data_silo, epochs=epochs, learning_rate=learning_rate)
    trainer.train()
    return trainer
