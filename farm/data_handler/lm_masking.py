"""Masked-LM targets: whole-word masking with BERT's 80/10/10 rule."""

from __future__ import annotations

import numpy as np

from farm.data_handler.dataset import LABEL_PAD_VALUE


def word_groups(
    word_starts: np.ndarray, maskable: np.ndarray, whole_words: bool
) -> list[np.ndarray]:
    """Positions of the maskable tokens, grouped into words.

    Args:
        word_starts (np.ndarray): ``(seq_len,)`` bool, True where a token begins a word.
        maskable (np.ndarray): ``(seq_len,)`` bool, True for tokens that may be masked (not
            special tokens).
        whole_words (bool): Group the sub-tokens of a word; False: every token alone.

    Returns:
        list[np.ndarray]: One array of positions per word, in order.
    """
    positions = np.flatnonzero(maskable)
    if len(positions) == 0:
        return []
    if not whole_words:
        return [positions[i : i + 1] for i in range(len(positions))]
    starts = word_starts[positions].copy()
    starts[0] = True  # a sequence never begins inside a word it does not hold
    return np.split(positions, np.flatnonzero(starts)[1:])


def mask_tokens(
    ids: np.ndarray,
    word_starts: np.ndarray,
    maskable: np.ndarray,
    rng: np.random.Generator,
    mask_token_id: int,
    replacement_ids: np.ndarray,
    masked_lm_prob: float = 0.15,
    whole_words: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose tokens to predict and corrupt them as BERT does.

    ``round(masked_lm_prob * n)`` of the ``n`` maskable tokens (at least one) are chosen,
    whole words at a time, in random word order: a word that would overshoot that number is
    passed over, so the rate is at most ``masked_lm_prob`` and close to it. Each chosen token
    becomes the mask token (80%), a random token of ``replacement_ids`` (10%) or stays (10%).

    Args:
        ids (np.ndarray): ``(seq_len,)`` token ids, special tokens included.
        word_starts (np.ndarray): ``(seq_len,)`` bool, True where a token begins a word.
        maskable (np.ndarray): ``(seq_len,)`` bool, False for special tokens.
        rng (np.random.Generator): Source of the random choices (seeded by the caller).
        mask_token_id (int): Id of the mask token.
        replacement_ids (np.ndarray): Ids that random replacements are drawn from.
        masked_lm_prob (float): Share of tokens to predict.
        whole_words (bool): Mask all sub-tokens of a chosen word.

    Returns:
        tuple[np.ndarray, np.ndarray]: The corrupted ids, and the labels: the original id at
        chosen positions, -100 elsewhere.
    """
    labels = np.full(len(ids), LABEL_PAD_VALUE, dtype=np.int32)
    words = word_groups(word_starts, maskable, whole_words)
    n_maskable = sum(len(w) for w in words)
    if n_maskable == 0:
        return ids.copy(), labels
    budget = max(1, int(round(n_maskable * masked_lm_prob)))
    chosen: list[np.ndarray] = []
    n_chosen = 0
    for index in rng.permutation(len(words)):
        if n_chosen >= budget:
            break
        if n_chosen + len(words[index]) > budget:
            continue
        chosen.append(words[index])
        n_chosen += len(words[index])
    if not chosen:  # every word is longer than the budget: take the shortest one
        chosen = [min(words, key=len)]
    positions = np.sort(np.concatenate(chosen))
    labels[positions] = ids[positions]
    corrupted = ids.copy()
    action = rng.random(len(positions))
    to_mask = positions[action < 0.8]
    to_random = positions[(action >= 0.8) & (action < 0.9)]
    corrupted[to_mask] = mask_token_id
    corrupted[to_random] = rng.choice(replacement_ids, size=len(to_random))
    return corrupted, labels
