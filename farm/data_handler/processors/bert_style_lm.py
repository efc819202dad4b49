"""Masked language modelling (and next-sentence prediction) from plain text."""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.dataset import LABEL_PAD_VALUE, FeatureDataset
from farm.data_handler.input_checks import check_input_dicts
from farm.data_handler.lm_documents import read_documents, split_sentences
from farm.data_handler.lm_masking import mask_tokens
from farm.data_handler.lm_packing import (
    Piece,
    SpecialLayout,
    bert_style_pairs,
    pack_single,
    sentence_pairs,
    truncate_pair,
)
from farm.data_handler.processors.base import Processor
from farm.data_handler.samples import Sample, SampleBasket
from farm.errors import DataFileError, FarmError, check_choice
from farm.modeling.tokenization import tokenized_view

logger = logging.getLogger(__name__)

LM_TASK = "lm"
NSP_TASK = "nextsentence"
# Index 0: segment B follows A (BERT's and transformers' convention; see NextSentenceHead).
NEXT_SENTENCE_LABELS = ["is_next", "not_next"]
NSP_STYLES = ("bert-style", "sentence")
_CHUNK = 4096  # sentences per tokenizer call


class BertStyleLMProcessor(Processor):
    """Plain text for masked language modelling, optionally with next-sentence prediction.

    A file holds one sentence per line and an empty line between documents (or, with
    ``one_doc_per_line=True``, one document per line, split into sentences at ``.``, ``!``
    and ``?``). Consecutive sentences of a document are packed into sequences of up to
    ``max_seq_len`` tokens; ``masked_lm_prob`` of each sequence's tokens are chosen for
    prediction, whole words at a time (a word's sub-tokens follow the tokenizer's word ids),
    and turned into the mask token (80%), a random token (10%) or left as they are (10%).
    Special tokens are never chosen. With ``next_sent_pred`` a sequence is a pair of segments
    whose second follows the first in the document or, half of the time, is taken from a
    random other document of the whole file. The random choices are seeded by ``seed`` and
    the document's text, so the same data gives the same samples every time.

    Features: ``input_ids``, ``padding_mask``, ``segment_ids``, ``lm_label_ids`` (the true
    token at chosen positions, -100 elsewhere) and with ``next_sent_pred``
    ``nextsentence_label_ids`` (0: B follows A, 1: B is random). Tasks: ``lm`` (metric
    ``perplexity``) and ``nextsentence`` (``acc``). See ``docs/language_modeling.md``.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer with a mask token.
        max_seq_len (int): Tokens per sequence, special tokens included.
        data_dir (str | Path | None): Folder of the data files.
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` of the
            training documents off.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of training documents used as dev set without a dev file.
        next_sent_pred (bool): Add the next-sentence task.
        next_sent_pred_style (str): ``"bert-style"`` (segments of several sentences filling
            ``max_seq_len``, as BERT was pre-trained) or ``"sentence"`` (one sentence each).
        max_docs (int | None): Read at most this many documents per file.
        masked_lm_prob (float): Share of tokens to predict.
        whole_word_masking (bool): Mask all sub-tokens of a chosen word together.
        one_doc_per_line (bool): Each line of a file is a whole document.
        seed (int): Seed of masking and of the next-sentence choices.
        encoding (str): Text encoding of the files.

    Example:
        >>> processor = BertStyleLMProcessor(
        ...     tokenizer=tokenizer, max_seq_len=128, data_dir="data/my_domain",
        ...     train_filename="train.txt", dev_filename="dev.txt", test_filename=None,
        ...     next_sent_pred=False)
    """

    input_example = '{"text": ...} or {"doc": [sentence, ...]}'

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        data_dir: str | Path | None,
        train_filename: str | Path | None = "train.txt",
        dev_filename: str | Path | None = "dev.txt",
        test_filename: str | Path | None = "test.txt",
        dev_split: float = 0.0,
        next_sent_pred: bool = True,
        next_sent_pred_style: str = "bert-style",
        max_docs: int | None = None,
        masked_lm_prob: float = 0.15,
        whole_word_masking: bool = True,
        one_doc_per_line: bool = False,
        seed: int = 42,
        encoding: str = "utf-8-sig",
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        check_choice(next_sent_pred_style, NSP_STYLES, "next_sent_pred_style")
        if not 0.0 < masked_lm_prob < 1.0:
            raise ValueError(f"masked_lm_prob must be in (0, 1); got {masked_lm_prob}.")
        self.next_sent_pred = next_sent_pred
        self.next_sent_pred_style = next_sent_pred_style
        self.max_docs = max_docs
        self.masked_lm_prob = masked_lm_prob
        self.whole_word_masking = whole_word_masking
        self.one_doc_per_line = one_doc_per_line
        self.seed = seed
        self.encoding = encoding
        self.stats: dict[str, int] = {}
        super().__init__(
            tokenizer=tokenizer, max_seq_len=max_seq_len, train_filename=train_filename,
            dev_filename=dev_filename, test_filename=test_filename, dev_split=dev_split,
            data_dir=data_dir, proxies=proxies, multithreading_rust=multithreading_rust,
        )
        # Both tasks take their labels from the text itself, the dicts' "doc".
        self.add_task(LM_TASK, metric="perplexity", label_list=None, task_type="lm",
                      label_name="doc")
        self.tasks[LM_TASK]["vocab_size"] = len(tokenizer)
        if next_sent_pred:
            self.add_task(NSP_TASK, metric="acc", label_list=NEXT_SENTENCE_LABELS,
                          task_type="classification", label_name="doc")

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """Read a text file into ``{"doc": [sentence, ...], "line": first line}`` dicts, one
        per document."""
        return read_documents(self.file_path(file), self.one_doc_per_line, self.encoding,
                              self.max_docs)

    def dataset_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """Pack, mask and featurize documents.

        Args:
            dicts (list[dict[str, Any]]): Documents: ``{"doc": [sentence, ...]}`` (as
                :meth:`file_to_dicts` makes them) or ``{"text": "..."}`` (split into
                sentences). Negatives of the next-sentence task come from all of them.
            indices (list[int] | None): Basket ids (defaults to positions).
            return_baskets (bool): Also return the baskets.
            log_sample (bool): Log one preprocessed sample.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)`` and, if asked, the baskets.
        """
        if not dicts:
            return self.empty_result(return_baskets)
        check_input_dicts(dicts, indices, self.input_example)
        ids = list(indices) if indices is not None else list(range(len(dicts)))
        layout, capacity = self._layout()
        docs, salts = self._tokenized_documents(dicts)
        usable = self._usable(docs, dicts)
        mask_id, replacement_ids = self._mask_vocabulary()
        label_names = [t["label_tensor_name"] for t in self.tasks.values()]
        features: dict[str, list[np.ndarray]] = {
            n: [] for n in ("input_ids", "padding_mask", "segment_ids", *label_names)
        }
        baskets = [SampleBasket(id_internal=i, raw=d) for i, d in zip(ids, dicts, strict=True)]
        corpus = [docs[k] for k in usable]
        n_truncated = n_cut = n_masked = n_tokens = 0
        repeats: Counter[int] = Counter()
        for position, k in enumerate(usable):
            # Packing is seeded by the document's text alone, so the number of sequences a
            # document yields does not depend on its position or on the documents it is
            # featurized with (a streamed epoch counts them beforehand). Masks are seeded
            # also by how often the same text came before: a repeated document gets others.
            pairs, cut = self._sequences(position, corpus, capacity, self._packing_rng(salts[k]))
            rng = np.random.default_rng([self.seed, salts[k], repeats[salts[k]]])
            repeats[salts[k]] += 1
            n_cut += cut
            for s, (a, b, is_next) in enumerate(pairs):
                if b is not None:
                    a, b, truncated = truncate_pair(a, b, capacity, rng)
                    n_truncated += truncated
                arrays = layout.assemble(a, b)
                corrupted, labels = mask_tokens(
                    arrays["input_ids"], arrays["word_starts"], arrays["maskable"], rng,
                    mask_id, replacement_ids, self.masked_lm_prob, self.whole_word_masking,
                )
                n_masked += int(np.sum(labels != LABEL_PAD_VALUE))
                n_tokens += int(np.sum(arrays["maskable"]))
                features["input_ids"].append(corrupted)
                features["padding_mask"].append(np.ones(len(corrupted), np.int8))
                features["segment_ids"].append(arrays["segment_ids"])
                features[self.tasks[LM_TASK]["label_tensor_name"]].append(labels)
                if self.next_sent_pred:
                    features[self.tasks[NSP_TASK]["label_tensor_name"]].append(
                        np.array([0 if is_next else 1], np.int64))
                if return_baskets or (log_sample and not baskets[k].samples and position == 0):
                    baskets[k].samples.append(self._sample(f"{ids[k]}-{s}", arrays, corrupted,
                                                           labels, is_next, b is not None))
        self.stats.update(sequences=len(features["input_ids"]), truncated_pairs=n_truncated,
                          cut_sentences=n_cut, masked_tokens=n_masked, tokens=n_tokens)
        self._report()
        pad_values = {**self.pad_values(self.tokenizer),
                      self.tasks[LM_TASK]["label_tensor_name"]: LABEL_PAD_VALUE}
        dataset = FeatureDataset(features, pad_values)
        if log_sample and usable and baskets[usable[0]].samples:
            self.log_sample(baskets[usable[0]])
        if return_baskets:
            return dataset, dataset.tensor_names, set(), baskets
        return dataset, dataset.tensor_names, set()

    def samples_per_input(self, dicts: list[dict[str, Any]]) -> list[int]:
        """The number of sequences each document yields (packing and pairing only, no
        masking); documents too short to use yield none.

        Args:
            dicts (list[dict[str, Any]]): Documents, as for :meth:`dataset_from_dicts`.

        Returns:
            list[int]: One count per document.
        """
        if not dicts:
            return []
        _, capacity = self._layout()
        docs, salts = self._tokenized_documents(dicts)
        usable = self._usable(docs, dicts)
        corpus = [docs[k] for k in usable]
        counts = [0] * len(dicts)
        for position, k in enumerate(usable):
            rng = self._packing_rng(salts[k])
            counts[k] = len(self._sequences(position, corpus, capacity, rng)[0])
        return counts

    def estimate_n_samples(self, filepath: str | Path, max_docs: int = 500) -> int:
        """FARM's estimate of the sequences a file yields: those of its first ``max_docs``
        documents, scaled by the file's lines over theirs.

        Args:
            filepath (str | Path): A text file as :meth:`file_to_dicts` reads it.
            max_docs (int): Documents featurized for the estimate.

        Returns:
            int: Estimated number of samples (exact if the file has at most ``max_docs``
            documents).
        """
        path = self.file_path(filepath)
        docs = read_documents(path, self.one_doc_per_line, self.encoding, max_docs)
        n_samples = sum(self.samples_per_input(docs))
        with path.open(encoding=self.encoding) as handle:
            n_lines = sum(1 for _ in handle)
        if len(docs) < max_docs:
            return n_samples
        last = docs[-1]
        lines_read = last["line"] + (0 if self.one_doc_per_line else len(last["doc"]))
        return round(n_samples * n_lines / max(lines_read, 1))

    def get_added_tokens(self) -> list[str]:
        """The tokens added to the tokenizer's vocabulary (ids from ``tokenizer.vocab_size``
        on), in id order: what the model's embeddings must be resized for."""
        added = self.tokenizer.get_added_vocab()
        return [t for t, i in sorted(added.items(), key=lambda x: x[1])
                if i >= self.tokenizer.vocab_size]

    def _packing_rng(self, salt: int) -> np.random.Generator:
        """The generator of a document's packing and pairing choices (seeded by its text)."""
        return np.random.default_rng([self.seed, salt])

    def _layout(self) -> tuple[SpecialLayout, int]:
        """The tokenizer's special-token layout, and the tokens of text a sequence holds."""
        layout = SpecialLayout.of(self.tokenizer)
        capacity = self.max_seq_len - (layout.n_pair if self.next_sent_pred else layout.n_single)
        if capacity < 2:
            raise ValueError(f"max_seq_len={self.max_seq_len} leaves {capacity} tokens besides "
                             "the special tokens; raise max_seq_len.")
        return layout, capacity

    def _sequences(
        self, position: int, corpus: list[list[Piece]], capacity: int, rng: np.random.Generator
    ) -> tuple[list[tuple[Piece, Piece | None, bool]], int]:
        """The (A, B, is_next) segments of one document, and its sentences cut apart."""
        if not self.next_sent_pred:
            singles, n_cut = pack_single(corpus[position], capacity)
            return [(a, None, True) for a in singles], n_cut
        if self.next_sent_pred_style == "sentence":
            return list(sentence_pairs(position, corpus, rng)), 0
        return list(bert_style_pairs(position, corpus, capacity, rng)), 0

    def _document(self, item: dict[str, Any], index: int) -> list[str]:
        """The sentences of an input dict."""
        doc = item.get("doc", item.get("text"))
        if isinstance(doc, str):
            return split_sentences(doc)
        if not isinstance(doc, list) or not all(isinstance(s, str) for s in doc):
            raise DataFileError(
                f"input {index} needs 'doc' (a list of sentences) or 'text' (a string); got "
                f"keys {sorted(item)}" + (f" with 'doc' of type {type(doc).__name__}"
                                          if doc is not None else "") + "."
            )
        return [s.strip() for s in doc if s.strip()]

    def _tokenized_documents(
        self, dicts: list[dict[str, Any]]
    ) -> tuple[list[list[Piece]], list[int]]:
        """Every document's sentences as pieces with word starts (empty ones dropped), and
        a checksum of each document's text."""
        texts = [self._document(d, i) for i, d in enumerate(dicts)]
        salts = [zlib.crc32("\n".join(doc).encode("utf-8")) for doc in texts]
        flat = [s for doc in texts for s in doc]
        # Words are the pre-tokenizer's; a tokenizer without one has no word ids worth the
        # name (a whole text would be one word), so white space delimits its words.
        by_word_ids = self.tokenizer.backend_tokenizer.pre_tokenizer is not None
        pieces: list[Piece] = []
        for begin in range(0, len(flat), _CHUNK):
            batch = flat[begin : begin + _CHUNK]
            encoded = self.tokenizer(batch, add_special_tokens=False, verbose=False,
                                     return_attention_mask=False, return_token_type_ids=False)
            pieces += [_piece(e, t, by_word_ids)
                       for e, t in zip(encoded.encodings, batch, strict=True)]
        docs, start = [], 0
        n_empty = 0
        for doc in texts:
            sentences = [p for p in pieces[start : start + len(doc)] if len(p)]
            n_empty += len(doc) - len(sentences)
            docs.append(sentences)
            start += len(doc)
        self.stats = {"documents": len(docs), "empty_sentences": n_empty}
        return docs, salts

    def _usable(self, docs: list[list[Piece]], dicts: list[dict[str, Any]]) -> list[int]:
        """Positions of the documents that can make samples; the others are counted."""
        need = 2 if self.next_sent_pred else 1
        usable = [k for k, doc in enumerate(docs) if len(doc) >= need]
        short = [k for k, doc in enumerate(docs) if len(doc) < need]
        self.stats["skipped_documents"] = len(short)
        if short:
            where = [f"line {dicts[k]['line']}" if "line" in dicts[k] else f"input {k}"
                     for k in short[:3]]
            logger.warning(
                "Skipped %d of %d documents with fewer than %d sentence(s)%s (first: %s).",
                len(short), len(docs), need,
                " (next-sentence prediction needs two)" if need == 2 else "", ", ".join(where))
        if self.next_sent_pred and len(usable) < 2:
            raise DataFileError(
                f"next-sentence prediction needs at least two documents of two or more "
                f"sentences, but {len(usable)} of the {len(docs)} documents have that. Put one "
                "sentence per line and an empty line between documents, or set "
                "next_sent_pred=False."
            )
        if not usable:
            raise DataFileError(f"none of the {len(docs)} documents has any text the "
                                "tokenizer makes tokens of.")
        return usable

    def _mask_vocabulary(self) -> tuple[int, np.ndarray]:
        """The mask token's id, and the ids random replacements are drawn from."""
        mask_id = self.tokenizer.mask_token_id
        if mask_id is None:
            raise FarmError(
                f"The tokenizer ({type(self.tokenizer).__name__}) has no mask token, which "
                "masked language modelling needs. Add one: tokenizer.add_special_tokens("
                "{'mask_token': '[MASK]'}) (and resize the model's embeddings)."
            )
        self.tasks[LM_TASK]["vocab_size"] = len(self.tokenizer)
        special = set(self.tokenizer.all_special_ids)
        replacement = np.array([i for i in range(len(self.tokenizer)) if i not in special])
        return int(mask_id), replacement

    def _sample(self, sample_id: str, arrays: dict[str, np.ndarray], corrupted: np.ndarray,
                labels: np.ndarray, is_next: bool, pair: bool) -> Sample:
        tokens = self.tokenizer.convert_ids_to_tokens(arrays["input_ids"].tolist())
        clear: dict[str, Any] = {"text": self.tokenizer.decode(arrays["input_ids"].tolist())}
        if pair:
            clear[f"{NSP_TASK}_label"] = NEXT_SENTENCE_LABELS[0 if is_next else 1]
        return Sample(
            id=sample_id, clear_text=clear,
            tokenized={"tokens": tokens, "start_of_word": arrays["word_starts"].tolist(),
                       "masked": (labels != LABEL_PAD_VALUE).tolist()},
            features=[{"input_ids": corrupted, "lm_label_ids": labels}],
        )

    def _report(self) -> None:
        s = self.stats
        logger.info("%d documents → %d sequences; %d of %d tokens (%.1f%%) chosen for "
                    "prediction.", s["documents"], s["sequences"], s["masked_tokens"],
                    s["tokens"], 100 * s["masked_tokens"] / max(s["tokens"], 1))
        if s["empty_sentences"]:
            logger.warning("%d sentences gave no tokens and were left out.",
                           s["empty_sentences"])
        if s["cut_sentences"]:
            logger.info("%d sentences were longer than a sequence and were cut into several.",
                        s["cut_sentences"])
        if s["truncated_pairs"]:
            logger.info("%d segment pairs were shortened to max_seq_len=%d.",
                        s["truncated_pairs"], self.max_seq_len)


def _piece(encoding: Any, text: str, by_word_ids: bool) -> Piece:
    """A sentence's token ids and word starts: a token begins a word when its word id
    (the pre-tokenizer's word) differs from the previous token's."""
    if by_word_ids:
        words = encoding.word_ids
        starts = np.array([i == 0 or words[i] != words[i - 1] for i in range(len(words))],
                          dtype=bool)
    else:
        starts = np.array(tokenized_view(encoding, [text])["start_of_word"], dtype=bool)
        if len(starts):
            starts[0] = True
    return Piece(np.asarray(encoding.ids, np.int32), starts)
