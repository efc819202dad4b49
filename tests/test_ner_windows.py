"""Sentences longer than max_seq_len: overlapping windows, merged back per word."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from seqeval.metrics import f1_score
from torch.utils.data import DataLoader

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.dataset import Collator
from farm.data_handler.word_windows import Alignment, plan_windows
from farm.errors import FarmError
from farm.eval import Evaluator
from farm.modeling.prediction_head import TokenClassificationHead
from farm.tagging import WINDOW_POSITION, WORD_STARTS
from farm.utils import set_all_seeds
from tests.ner_helpers import (
    NER_LABELS,
    Sentence,
    entity,
    make_ner_model,
    make_ner_processor,
    ner_sentences,
    plain,
    write_conll,
)


def alignment_of(counts: list[int]) -> Alignment:
    """An alignment with ``counts[j]`` tokens for word j."""
    n_tokens = np.array(counts, dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(n_tokens)[:-1]]).astype(np.int64)
    return Alignment(np.repeat(np.arange(len(counts)), n_tokens), first, n_tokens)


def test_windows_cover_every_word_once_and_fit() -> None:
    """On random sentences: windows start at word starts, hold at most ``capacity`` tokens,
    share at most ``overlap`` tokens, and own every word exactly once, with its first
    sub-token inside the window."""
    rng = random.Random(0)
    for _ in range(2000):
        counts = [rng.choice([0, 1, 1, 1, 2, 3, 7]) for _ in range(rng.randint(1, 40))]
        capacity = rng.randint(1, 20)
        overlap = rng.randint(0, capacity - 1)
        alignment = alignment_of(counts)
        windows = plan_windows(alignment, capacity, overlap)
        first = alignment.first_token
        owned = [j for w in windows for j in range(w.word_start, w.word_end)]
        assert owned == list(range(len(counts)))
        for i, w in enumerate(windows):
            assert 0 < w.token_end - w.token_start <= capacity or sum(counts) == 0
            assert w.token_start in first.tolist()
            for j in range(w.word_start, w.word_end):
                assert counts[j] == 0 or w.token_start <= first[j] < w.token_end
            if i:
                shared = windows[i - 1].token_end - w.token_start
                assert shared <= overlap
                assert w.token_start > windows[i - 1].token_start
        if sum(counts) <= capacity:
            assert len(windows) == 1


def long_sentence(n_parts: int, seed: int = 0) -> Sentence:
    """One sentence made of many template sentences (entities everywhere)."""
    return [pair for s in ner_sentences(n_parts, seed=seed) for pair in s]


def test_long_sentence_is_split_never_truncated(tiny_bert_dir: Path) -> None:
    """Every word of a sentence far longer than max_seq_len is in exactly one window."""
    sentence = long_sentence(12)
    processor = make_ner_processor(tiny_bert_dir, None, max_seq_len=24, window_overlap=6)
    item = {"words": [w for w, _ in sentence], "ner_label": [t for _, t in sentence]}
    dataset, _, _, baskets = processor.dataset_from_dicts([item], return_baskets=True)
    assert len(dataset) == len(baskets[0].samples) > 4
    rows = [dataset[i] for i in range(len(dataset))]
    assert all(len(r["input_ids"]) <= 24 for r in rows)
    labels = np.concatenate([r["ner_label_ids"] for r in rows]).tolist()
    assert labels == [NER_LABELS.index(t) for _, t in sentence]
    words = [w for s in baskets[0].samples for w in s.clear_text["words"]]
    assert words == item["words"]
    assert [r[WINDOW_POSITION].tolist() for r in rows] == [
        [0, i, len(rows)] for i in range(len(rows))]
    shared = [len(set(a["input_ids"][1:-1]) & set(b["input_ids"][1:-1]))
              for a, b in zip(rows, rows[1:], strict=False)]
    assert max(shared) > 0  # consecutive windows overlap


def test_window_overlap_must_leave_room(tiny_bert_dir: Path) -> None:
    processor = make_ner_processor(tiny_bert_dir, None, max_seq_len=10, window_overlap=8)
    with pytest.raises(ValueError, match=r"window_overlap must be in \[0, 8\); got 8"):
        processor.dataset_from_dicts([{"text": "Anna visited Rome"}])


def test_evaluation_merges_windows_per_sentence(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Preds and labels reach the metric as one tag list per sentence of the file."""
    sentences = [long_sentence(6, seed=1)] + ner_sentences(5, seed=2) + [long_sentence(4)]
    write_conll(tmp_path / "test.txt", sentences)
    write_conll(tmp_path / "train.txt", ner_sentences(4))
    processor = make_ner_processor(tiny_bert_dir, tmp_path, max_seq_len=20)
    silo = DataSilo(processor, batch_size=3)
    assert silo.counts["test"] > len(sentences)
    set_all_seeds(1)
    model = make_ner_model(tiny_bert_dir)
    model.connect_heads_with_processor(processor.tasks)
    loader = silo.get_data_loader("test")
    result = Evaluator(loader, processor.tasks, "cpu").eval(model, return_preds_and_labels=True)
    preds, labels = result[0]["preds"], result[0]["labels"]
    assert labels == [[t for _, t in s] for s in sentences]
    assert [len(p) for p in preds] == [len(s) for s in sentences]
    assert result[0]["seq_f1"] == pytest.approx(f1_score(labels, preds))
    assert "micro avg" in result[0]["report"]

    shuffled = DataLoader(loader.dataset, batch_size=3, shuffle=True,
                          generator=torch.Generator().manual_seed(0),
                          collate_fn=Collator(loader.dataset.pad_values))
    with pytest.raises(FarmError, match="keeps the dataset's order"):
        Evaluator(shuffled, processor.tasks, "cpu").eval(model)


def test_spans_are_merged_across_windows(tiny_bert_dir: Path) -> None:
    """An entity whose words fall into two windows comes back as one span."""
    sentence = plain("so") * 12 + entity(["Peter", "Smith", "Jones"], "PER") + plain("so") * 12
    text = "  ".join(w for w, _ in sentence)
    processor = make_ner_processor(tiny_bert_dir, None, max_seq_len=10, window_overlap=2)
    _, _, _, baskets = processor.dataset_from_dicts([{"text": text}], return_baskets=True)
    samples = baskets[0].samples
    owners = [s for s in samples if {"Peter", "Smith", "Jones"} & set(s.clear_text["words"])]
    assert len(owners) >= 2
    logits = scripted_logits(samples, [t for _, t in sentence])
    head = TokenClassificationHead(num_labels=len(NER_LABELS), label_list=NER_LABELS)
    (entities,) = head.formatted_preds(logits, baskets)
    assert entities == [{"start": text.index("Peter"), "end": text.index("Jones") + 5,
                         "context": "Peter  Smith  Jones", "label": "PER",
                         "probability": pytest.approx(0.9)}]


def scripted_logits(samples: list, tags: list[str], probability: float = 0.9) -> torch.Tensor:
    """Logits that give each word's first sub-token ``tags[word]`` with ``probability``."""
    width = max(len(s.features[0]["input_ids"]) for s in samples)
    n = len(NER_LABELS)
    rest = np.log((1 - probability) / (n - 1))
    logits = torch.full((len(samples), width, n), float(rest))
    word = 0
    for row, sample in enumerate(samples):
        for start in sample.features[0][WORD_STARTS].tolist():
            logits[row, start, NER_LABELS.index(tags[word])] = float(np.log(probability))
            word += 1
    return logits
