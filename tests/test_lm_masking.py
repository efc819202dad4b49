"""Masked-LM targets: masking rate, whole words, special tokens, 80/10/10, reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from farm.data_handler.lm_masking import mask_tokens, word_groups
from tests.lm_helpers import documents, make_lm_processor
from tests.tiny_models import TinyModelFactory

MASK_ID = 4
SPECIAL_IDS = [0, 1, 2, 3, 4]
VOCAB = np.arange(5, 1005)


def random_sequences(n: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``n`` sequences ``[CLS] words [SEP]`` of 20 to 120 tokens, words of 1 to 4 tokens."""
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(n):
        lengths = rng.integers(1, 5, size=rng.integers(10, 40))
        starts = np.concatenate([[True] + [False] * (k - 1) for k in lengths])
        ids = np.concatenate([[2], rng.choice(VOCAB, size=len(starts)), [3]]).astype(np.int32)
        starts = np.concatenate([[False], starts, [False]])
        maskable = np.concatenate([[False], np.ones(len(starts) - 2, bool), [False]])
        sequences.append((ids, starts, maskable))
    return sequences


@pytest.fixture(scope="module")
def masked() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(42)
    out = []
    for ids, starts, maskable in random_sequences(1000):
        corrupted, labels = mask_tokens(ids, starts, maskable, rng, MASK_ID, VOCAB)
        out.append((ids, starts, maskable, corrupted, labels))
    return out


def test_rate_is_fifteen_percent_and_never_above_the_budget(masked: list) -> None:
    """About 15% of the maskable tokens, and per sequence at most round(15%) of them."""
    n_maskable = sum(int(m.sum()) for _, _, m, _, _ in masked)
    n_chosen = sum(int((labels != -100).sum()) for *_, labels in masked)
    assert 0.14 <= n_chosen / n_maskable <= 0.155  # per sequence round(0.15 * n)
    for _, _, maskable, _, labels in masked:
        assert 1 <= (labels != -100).sum() <= max(1, round(0.15 * maskable.sum()))


def test_special_tokens_are_never_chosen_nor_changed(masked: list) -> None:
    for ids, _, maskable, corrupted, labels in masked:
        assert (labels[~maskable] == -100).all()
        assert (corrupted[~maskable] == ids[~maskable]).all()


def test_whole_words_are_masked_together(masked: list) -> None:
    n_multi = 0
    for _, starts, maskable, _, labels in masked:
        for word in word_groups(starts, maskable, whole_words=True):
            chosen = labels[word] != -100
            assert chosen.all() or not chosen.any()
            n_multi += len(word) > 1 and chosen.all()
    assert n_multi > 100  # words of several tokens were chosen, as a whole


def test_chosen_tokens_follow_the_80_10_10_rule(masked: list) -> None:
    chosen = [(ids[labels != -100], corrupted[labels != -100], labels[labels != -100])
              for ids, _, _, corrupted, labels in masked]
    original = np.concatenate([c[0] for c in chosen])
    corrupted = np.concatenate([c[1] for c in chosen])
    labels = np.concatenate([c[2] for c in chosen])
    assert (labels == original).all()  # labels hold the true tokens
    n = len(original)
    to_mask = np.mean(corrupted == MASK_ID)
    kept = np.mean(corrupted == original)
    replaced = np.mean((corrupted != MASK_ID) & (corrupted != original))
    assert n > 8000
    assert abs(to_mask - 0.8) < 0.02 and abs(kept - 0.1) < 0.015 and abs(replaced - 0.1) < 0.015
    replacements = corrupted[(corrupted != MASK_ID) & (corrupted != original)]
    assert np.isin(replacements, VOCAB).all()  # never a special token
    for ids, _, _, corrupted_ids, labels_ in masked:  # untouched outside the chosen tokens
        assert (corrupted_ids[labels_ == -100] == ids[labels_ == -100]).all()


def test_same_seed_same_masks_other_seed_other_masks() -> None:
    sequences = random_sequences(20)

    def run(seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [mask_tokens(i, s, m, rng, MASK_ID, VOCAB)[1] for i, s, m in sequences]

    assert all((a == b).all() for a, b in zip(run(1), run(1), strict=True))
    assert not all((a == b).all() for a, b in zip(run(1), run(2), strict=True))


def test_token_masking_splits_words_when_asked() -> None:
    rng = np.random.default_rng(0)
    split = 0
    for ids, starts, maskable in random_sequences(100):
        _, labels = mask_tokens(ids, starts, maskable, rng, MASK_ID, VOCAB, whole_words=False)
        for word in word_groups(starts, maskable, whole_words=True):
            chosen = labels[word] != -100
            split += bool(chosen.any() and not chosen.all())
    assert split > 0


@pytest.mark.parametrize(("arch", "continuation"), [("bert", "##"), ("xlm-roberta", "")])
def test_processor_masks_whole_words_of_the_tokenizer(
    arch: str, continuation: str, tiny_model_factory: TinyModelFactory
) -> None:
    """Checked on the tokens themselves: a WordPiece token with ``##`` (a SentencePiece
    token without ``▁``) continues the word before it, so both are masked or neither."""
    model_dir: Path = tiny_model_factory(arch)
    processor = make_lm_processor(model_dir, None, max_seq_len=64)
    tokenizer = processor.tokenizer
    dataset = processor.dataset_from_dicts([{"doc": d} for d in documents()])[0]
    special = set(tokenizer.all_special_ids)
    n_chosen = n_maskable = n_continued = 0
    for ids, labels in zip(dataset.features["input_ids"], dataset.features["lm_label_ids"],
                           strict=True):
        original = np.where(labels != -100, labels, ids)
        tokens = tokenizer.convert_ids_to_tokens(original.tolist())
        is_special = np.isin(original, list(special))
        assert len(ids) <= 64 and (labels[is_special] == -100).all()
        for k in range(1, len(tokens)):
            continues = (tokens[k].startswith("##") if continuation == "##"
                         else not tokens[k].startswith("\u2581"))
            if continues and not is_special[k] and not is_special[k - 1]:
                n_continued += 1
                assert (labels[k] != -100) == (labels[k - 1] != -100), tokens[k - 1 : k + 1]
        n_chosen += int((labels != -100).sum())
        n_maskable += int((~is_special).sum())
    assert n_continued > 50
    assert 0.13 <= n_chosen / n_maskable <= 0.16
    assert processor.stats["masked_tokens"] == n_chosen


def test_processor_masks_reproducibly(tiny_bert_dir: Path) -> None:
    """The same documents give the same samples; another seed other masks."""
    dicts = [{"doc": d} for d in documents(60)]

    def labels(seed: int) -> list[np.ndarray]:
        processor = make_lm_processor(tiny_bert_dir, None, seed=seed, next_sent_pred=True)
        return processor.dataset_from_dicts(dicts)[0].features["lm_label_ids"]

    first, again, other = labels(7), labels(7), labels(8)
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert any(len(a) != len(b) or (a != b).any() for a, b in zip(first, other, strict=False))


def test_a_repeated_document_gets_other_masks_but_the_same_sequences(tiny_bert_dir: Path
                                                                     ) -> None:
    """Packing depends on a document's text only (a stream counts its sequences beforehand);
    the masks of a repeated document differ, as the docs promise for repeating a corpus."""
    doc = {"doc": documents(60)[0]}
    processor = make_lm_processor(tiny_bert_dir, None, max_seq_len=16)
    alone = processor.dataset_from_dicts([doc])[0]
    twice = processor.dataset_from_dicts([{"doc": ["Other text."]}, doc, doc])[0]
    n = len(alone)
    assert n > 1 and len(twice) == 1 + 2 * n
    assert processor.samples_per_input([doc, doc]) == [n, n]
    first = twice.features["lm_label_ids"][1 : 1 + n]
    second = twice.features["lm_label_ids"][1 + n :]
    assert all(len(a) == len(b) for a, b in zip(first, second, strict=True))
    assert any((a != b).any() for a, b in zip(first, second, strict=True))
    assert all((a == b).all() for a, b in zip(alone.features["lm_label_ids"], first, strict=True))
