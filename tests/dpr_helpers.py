"""Tiny, learnable retrieval data for the DPR and passage-ranking tests.

Each question asks about a topic in a city; its positive passage is about that topic in
that city, its hard negative about the same topic in another city, so a model must learn
to match the city (the hard negative) and the topic (the other passages of a batch).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

CITIES = ["paris", "berlin", "london", "madrid", "munich", "vienna", "tokyo", "chicago"]
TOPICS = ["weather", "music", "food", "film", "train", "hotel", "river", "park"]
FILLERS = ["today", "again", "this week", "at night", "with friends", "every year"]


def passage(city: str, topic: str, rng: random.Random) -> dict[str, str]:
    """A passage (title and text) about ``topic`` in ``city``."""
    filler = " ".join(rng.sample(FILLERS, rng.randint(0, 2)))
    return {"title": city, "text": f"the {topic} in {city} is great {filler}".strip()}


def dpr_records(n: int, seed: int = 0, n_hard_negatives: int = 2) -> list[dict[str, Any]]:
    """``n`` DPR records ``{"question", "answers", "positive_ctxs", "hard_negative_ctxs"}``."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        city, topic = CITIES[i % len(CITIES)], rng.choice(TOPICS)
        others = rng.sample([c for c in CITIES if c != city], n_hard_negatives)
        records.append({
            "question": f"how is the {topic} in {city}",
            "answers": ["great"],
            "positive_ctxs": [{**passage(city, topic, rng), "passage_id": f"{city}-{topic}"}],
            "hard_negative_ctxs": [passage(other, topic, rng) for other in others],
        })
    return records


def write_dpr_file(path: Path, records: list[dict[str, Any]], indent: int | None = 2) -> Path:
    """Write ``records`` as a DPR JSON array file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=indent))
    return path


def write_dpr_data(data_dir: Path, n_train: int = 48, n_dev: int = 16, n_test: int = 16
                   ) -> Path:
    """``train.json``, ``dev.json`` and ``test.json`` of learnable records."""
    write_dpr_file(data_dir / "train.json", dpr_records(n_train, seed=1))
    write_dpr_file(data_dir / "dev.json", dpr_records(n_dev, seed=2))
    write_dpr_file(data_dir / "test.json", dpr_records(n_test, seed=3))
    return data_dir
