"""Documents of tokenized sentences → model inputs for language modelling.

Sentences are packed into sequences of up to ``max_seq_len`` tokens; with next-sentence
prediction, a sequence is a pair of segments (A, B) where B follows A in the document or,
half of the time, comes from a random other document of the whole corpus (the algorithm of
BERT's ``create_pretraining_data.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerBase


@dataclass
class Piece:
    """Tokens of one sentence (or of a stretch of sentences).

    Args:
        ids (np.ndarray): ``(n,)`` token ids, no special tokens.
        starts (np.ndarray): ``(n,)`` bool, True where a token begins a word.
    """

    ids: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def join(pieces: list[Piece]) -> Piece:
        if not pieces:
            return Piece(np.zeros(0, np.int32), np.zeros(0, bool))
        return Piece(np.concatenate([p.ids for p in pieces]),
                     np.concatenate([p.starts for p in pieces]))

    def cut(self, begin: int, end: int) -> Piece:
        return Piece(self.ids[begin:end], self.starts[begin:end])


@dataclass
class SpecialLayout:
    """Where a tokenizer puts its special tokens around one text and around a pair.

    Each part is ``(ids, segment ids)``; ``type_a`` and ``type_b`` are the segment ids of the
    two texts' own tokens.
    """

    single: tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]
    pair: tuple[tuple[list[int], list[int]], ...]
    type_a: int
    type_b: int

    @classmethod
    def of(cls, tokenizer: PreTrainedTokenizerBase) -> SpecialLayout:
        """Read the layout off the encodings of a dummy text and a dummy pair."""
        single = tokenizer("a", verbose=False).encodings[0]
        pair = tokenizer("a", "b", verbose=False).encodings[0]
        single_parts = _special_runs(single, n_texts=1)
        pair_parts = _special_runs(pair, n_texts=2)
        types = {seq: t for seq, t in zip(pair.sequence_ids, pair.type_ids, strict=True)
                 if seq is not None}
        return cls(single=(single_parts[0], single_parts[1]), pair=tuple(pair_parts),
                   type_a=types.get(0, 0), type_b=types.get(1, 0))

    @property
    def n_single(self) -> int:
        """Special tokens around one text."""
        return sum(len(ids) for ids, _ in self.single)

    @property
    def n_pair(self) -> int:
        """Special tokens around a pair."""
        return sum(len(ids) for ids, _ in self.pair)

    def assemble(self, a: Piece, b: Piece | None = None) -> dict[str, np.ndarray]:
        """``input_ids``, ``segment_ids``, ``word_starts`` and ``maskable`` of a sequence."""
        texts = [(a, self.type_a)] + ([(b, self.type_b)] if b is not None else [])
        specials = self.single if b is None else self.pair
        ids, types, starts, maskable = [], [], [], []
        for k, (special_ids, special_types) in enumerate(specials):
            ids.append(np.asarray(special_ids, np.int32))
            types.append(np.asarray(special_types, np.int8))
            starts.append(np.zeros(len(special_ids), bool))
            maskable.append(np.zeros(len(special_ids), bool))
            if k < len(texts):
                text, type_id = texts[k]
                ids.append(text.ids.astype(np.int32))
                types.append(np.full(len(text), type_id, np.int8))
                starts.append(text.starts)
                maskable.append(np.ones(len(text), bool))
        return {"input_ids": np.concatenate(ids), "segment_ids": np.concatenate(types),
                "word_starts": np.concatenate(starts), "maskable": np.concatenate(maskable)}


def _special_runs(encoding: object, n_texts: int) -> list[tuple[list[int], list[int]]]:
    """The special tokens before, between and after the texts of an encoding."""
    runs: list[tuple[list[int], list[int]]] = [([], [])]
    previous = None
    for token_id, type_id, seq in zip(encoding.ids, encoding.type_ids,  # type: ignore[attr-defined]
                                      encoding.sequence_ids, strict=True):  # type: ignore[attr-defined]
        if seq is None:
            runs[-1][0].append(int(token_id))
            runs[-1][1].append(int(type_id))
        elif seq != previous:  # a text begins: what follows it is the next run
            runs.append(([], []))
            previous = seq
    while len(runs) < n_texts + 1:
        runs.append(([], []))
    return runs[: n_texts + 1]


def pack_single(doc: list[Piece], capacity: int) -> tuple[list[Piece], int]:
    """Consecutive sentences packed into sequences of at most ``capacity`` tokens.

    Returns:
        tuple[list[Piece], int]: The sequences, and how many sentences were longer than
        ``capacity`` and were cut into several sequences.
    """
    sequences: list[Piece] = []
    current: list[Piece] = []
    size = n_cut = 0
    for sentence in doc:
        if len(sentence) > capacity:
            n_cut += 1
            if current:
                sequences.append(Piece.join(current))
                current, size = [], 0
            sequences += [sentence.cut(i, i + capacity) for i in range(0, len(sentence), capacity)]
            continue
        if size + len(sentence) > capacity:
            sequences.append(Piece.join(current))
            current, size = [], 0
        current.append(sentence)
        size += len(sentence)
    if current:
        sequences.append(Piece.join(current))
    return sequences, n_cut


def bert_style_pairs(
    index: int, docs: list[list[Piece]], capacity: int, rng: np.random.Generator
) -> list[tuple[Piece, Piece, bool]]:
    """Segment pairs of document ``index`` filling ``capacity`` tokens, as BERT's
    pre-training data: a chunk of sentences is split at a random sentence boundary into A
    and B; half of the time (always for a one-sentence chunk) B is replaced by sentences from
    a random other document, and the sentences B would have used are used again.

    Returns:
        list[tuple[Piece, Piece, bool]]: ``(A, B, is_next)`` per sequence, not yet
        truncated to ``capacity``.
    """
    doc = docs[index]
    pairs = []
    chunk: list[Piece] = []
    size = 0
    i = 0
    while i < len(doc):
        chunk.append(doc[i])
        size += len(doc[i])
        if i == len(doc) - 1 or size >= capacity:
            a_end = 1 if len(chunk) < 2 else int(rng.integers(1, len(chunk)))
            a = Piece.join(chunk[:a_end])
            if len(chunk) == 1 or rng.random() < 0.5:
                b = _random_continuation(index, docs, capacity - len(a), rng)
                i -= len(chunk) - a_end  # the unused sentences start the next chunk
                pairs.append((a, b, False))
            else:
                pairs.append((a, Piece.join(chunk[a_end:]), True))
            chunk, size = [], 0
        i += 1
    return pairs


def sentence_pairs(
    index: int, docs: list[list[Piece]], rng: np.random.Generator
) -> list[tuple[Piece, Piece, bool]]:
    """One pair per sentence of document ``index`` (but its last): the sentence and the next
    one, or half of the time a random sentence of a random other document."""
    doc = docs[index]
    pairs = []
    for i in range(len(doc) - 1):
        if rng.random() < 0.5:
            pairs.append((doc[i], doc[i + 1], True))
        else:
            other = docs[_other_document(index, len(docs), rng)]
            pairs.append((doc[i], other[int(rng.integers(len(other)))], False))
    return pairs


def _other_document(index: int, n_docs: int, rng: np.random.Generator) -> int:
    """A random document other than ``index`` (there are at least two)."""
    other = int(rng.integers(n_docs - 1))
    return other + 1 if other >= index else other


def _random_continuation(
    index: int, docs: list[list[Piece]], target: int, rng: np.random.Generator
) -> Piece:
    """Sentences of a random other document, from a random one on, until ``target`` tokens."""
    other = docs[_other_document(index, len(docs), rng)]
    taken: list[Piece] = []
    size = 0
    for sentence in other[int(rng.integers(len(other))) :]:
        taken.append(sentence)
        size += len(sentence)
        if size >= max(target, 1):
            break
    return Piece.join(taken)


def truncate_pair(
    a: Piece, b: Piece, capacity: int, rng: np.random.Generator
) -> tuple[Piece, Piece, bool]:
    """Shorten the longer segment, at a random end, until the pair fits ``capacity``.

    Returns:
        tuple[Piece, Piece, bool]: The segments, and whether tokens were removed.
    """
    excess = len(a) + len(b) - capacity
    if excess <= 0:
        return a, b, False
    a_begin, a_end, b_begin, b_end = 0, len(a), 0, len(b)
    for _ in range(excess):
        if a_end - a_begin >= b_end - b_begin:
            if rng.random() < 0.5:
                a_begin += 1
            else:
                a_end -= 1
        elif rng.random() < 0.5:
            b_begin += 1
        else:
            b_end -= 1
    return a.cut(a_begin, a_end), b.cut(b_begin, b_end), True
