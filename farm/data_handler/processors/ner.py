"""Named-entity recognition (and other word tagging) from CoNLL files or request dicts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.conll import ConllFile, read_conll
from farm.data_handler.dataset import LABEL_PAD_VALUE, FeatureDataset
from farm.data_handler.encoding import encode_untruncated, special_token_layout
from farm.data_handler.input_checks import check_input_dicts
from farm.data_handler.processors.base import Processor
from farm.data_handler.processors.ner_labels import (
    check_tags,
    label_ids,
    report_repairs,
    sentence_words,
)
from farm.data_handler.samples import Sample, SampleBasket
from farm.data_handler.word_windows import Alignment, Window, align, plan_windows
from farm.errors import DataFileError
from farm.tagging import NO_SUB_TOKEN, WINDOW_POSITION, WORD_STARTS, WORD_STARTS_PAD

logger = logging.getLogger(__name__)

DEFAULT_TASK = "ner"


class NERProcessor(Processor):
    """Tagged words from CoNLL-style files (or request dicts) for named-entity recognition.

    A file has one token per line followed by its tags, separated by ``delimiter``, a blank
    line after each sentence, and optionally ``-DOCSTART-`` lines (skipped). Tags may be IOB2,
    IOB1 (converted to IOB2) or BIOES. Each sentence becomes one basket; a sentence longer
    than ``max_seq_len`` tokens is cut into overlapping windows (several samples), never
    truncated. Each sample holds ``input_ids``, ``padding_mask``, ``segment_ids``,
    ``word_starts`` (per word the sample predicts for, the position of its first sub-token) and
    ``window_position``, plus ``<task>_label_ids`` (per such word its tag's index in
    ``label_list``) when the dicts carry tags. See ``docs/ner.md``.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer (``Tokenizer.load``).
        max_seq_len (int): Maximum tokens per sample, special tokens included.
        data_dir (str | Path | None): Folder of the data files.
        label_list (list[str] | None): The tags, e.g. ``["O", "B-PER", "I-PER", ...]``;
            FARM's lists with ``"X"`` and ``"[PAD]"`` work too (those are never predicted).
            ``None`` reads them from the train file.
        metric (Any): Metric of the default task (default ``"seq_f1"``).
        train_filename (str | Path | None): Training file.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float): Share of train used as dev set when there is no dev file.
        delimiter (str): Field separator of the files, ``"\\t"`` or ``" "`` (CoNLL-2003).
        tag_column (int): Column of the tags (``-1``: the last).
        token_column (int): Column of the tokens.
        window_overlap (int | None): Tokens that consecutive windows of a long sentence
            share; ``None``: a quarter of a window.
        max_samples (int | None): Read at most this many sentences per file.
        encoding (str): Text encoding of the files.

    Example:
        >>> processor = NERProcessor(
        ...     tokenizer=tokenizer, max_seq_len=128, data_dir="data/conll03",
        ...     label_list=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], metric="seq_f1",
        ...     train_filename="train.txt", dev_filename="valid.txt", test_filename="test.txt",
        ...     delimiter=" ")
    """

    parallel_safe = True

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        data_dir: str | Path | None,
        label_list: list[str] | None = None,
        metric: Any = None,
        train_filename: str | Path | None = "train.txt",
        dev_filename: str | Path | None = "dev.txt",
        test_filename: str | Path | None = "test.txt",
        dev_split: float = 0.0,
        delimiter: str = "\t",
        tag_column: int = -1,
        token_column: int = 0,
        window_overlap: int | None = None,
        max_samples: int | None = None,
        encoding: str = "utf-8-sig",
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        self.label_list = label_list
        self.metric = metric
        self.delimiter = delimiter
        self.tag_column = tag_column
        self.token_column = token_column
        self.window_overlap = window_overlap
        self.max_samples = max_samples
        self.encoding = encoding
        self.repaired_tags: dict[str, list[int]] = {}
        super().__init__(
            tokenizer=tokenizer,
            max_seq_len=max_seq_len,
            train_filename=train_filename,
            dev_filename=dev_filename,
            test_filename=test_filename,
            dev_split=dev_split,
            data_dir=data_dir,
            proxies=proxies, multithreading_rust=multithreading_rust,
        )
        if metric is not None or label_list is not None:
            self.add_task(
                name=DEFAULT_TASK, metric=metric or "seq_f1", label_list=label_list,
                label_column_name=tag_column, task_type="ner",
            )
        else:
            logger.info("No task added: pass label_list (and metric) to the processor, or "
                        "call processor.add_task(...).")

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """Read a CoNLL file into ``{"text", "words", "<label_name>"}`` dicts, one per
        sentence (``text`` is the words joined by single spaces).

        Tags are checked against each task's ``label_list``; ``I-`` tags that begin an entity
        are turned into ``B-`` (IOB1 → IOB2, or a repair of IOB2; counted, logged and kept
        in ``processor.repaired_tags[file]``). Any other problem raises a ``DataFileError``
        naming the file and line. A file that is not one of the processor's train, dev and
        test files may hold only the token column (texts to predict).

        Args:
            file (str | Path): The file (a path relative to ``data_dir`` works too).

        Returns:
            list[dict[str, Any]]: One dict per sentence.
        """
        path = self.file_path(file)
        conll = read_conll(path, self.delimiter, self.encoding, self.max_samples)
        labelled = self.is_data_file(path)
        if labelled and not self.tasks:
            raise DataFileError(
                "the processor has no task, so it does not know the tags. Pass label_list= "
                "and metric= to the processor, or call processor.add_task().", file=path,
            )
        token_col = self._column(conll, self._token_column(), "token_column")
        self.repaired_tags.pop(str(path), None)
        dicts: list[dict[str, Any]] = [
            {"text": " ".join(words), "words": words}
            for words in (s.column(token_col) for s in conll.sentences)
        ]
        for name, task in self.tasks.items():
            column = task["label_column_name"]
            if not labelled and (conll.n_columns == 1 or column is None):
                logger.info("%s has no tag column: reading it without tags of task '%s'.",
                            path, name)
                continue
            argument = "tag_column" if name == DEFAULT_TASK else "label_column_name"
            col = self._column(conll, int(column), argument)
            if col == token_col:
                raise DataFileError(
                    f"the tags of task '{name}' would be read from column {col}, the token "
                    f"column, because the file has only {conll.n_columns} column(s) separated "
                    f"by {self.delimiter!r}. Check delimiter= (tab or space).",
                    file=path, line=conll.sentences[0].lines[0],
                )
            fill = task["label_list"] is None and self.is_data_file(path, splits=("train",))
            if task["label_list"] is None and not fill:
                raise DataFileError(
                    f"task '{name}' has no label_list yet. Pass label_list= to the processor, "
                    "or read the train file first so the tags can be taken from it.",
                    file=path,
                )
            tags, changed, iob1 = check_tags(conll, col, name, task, path, collect=fill)
            if fill:
                task["label_list"] = tags
                self.on_label_list_read(name, task["label_list"])
                logger.info("label_list of task '%s' read from %s: %s", name, path, tags)
            report_repairs(path, name, changed, iob1)
            if changed:
                self.repaired_tags.setdefault(str(path), []).extend(changed)
            for item, sentence in zip(dicts, conll.sentences, strict=True):
                item[task["label_name"]] = sentence.column(col)
        return dicts

    def on_label_list_read(self, task_name: str, labels: list[str]) -> None:
        if task_name == DEFAULT_TASK:
            self.label_list = labels

    def _token_column(self) -> int:
        """The word column: ``token_column``, or the ``text_column_name`` that
        ``add_task`` was given (CoNLL files have one word column for all tasks)."""
        given = {task["text_column_name"] for task in self.tasks.values()
                 if task.get("text_column_name") is not None}
        if not given:
            return self.token_column
        if len(given) > 1 or not all(isinstance(c, int) for c in given):
            raise ValueError(
                f"add_task() got text_column_name {sorted(map(str, given))}: CoNLL files have "
                "one word column and no header, so give every task the same column index "
                "(an int, e.g. 0), or leave text_column_name out and set token_column= on the "
                "processor."
            )
        return int(given.pop())

    def _column(self, conll: ConllFile, index: int, argument: str) -> int:
        """``index`` as a non-negative column position, or an error naming ``argument``."""
        if not -conll.n_columns <= index < conll.n_columns:
            raise DataFileError(
                f"{argument}={index}, but the lines have {conll.n_columns} field(s) separated "
                f"by {self.delimiter!r}. Check {argument}= and delimiter= (tab or space).",
                file=conll.file, line=conll.sentences[0].lines[0],
            )
        return index % conll.n_columns

    def _window_size(self, n_special: int) -> tuple[int, int]:
        """Content tokens per window and tokens shared by consecutive windows."""
        capacity = self.max_seq_len - n_special
        overlap = capacity // 4 if self.window_overlap is None else self.window_overlap
        if capacity < 1 or not 0 <= overlap < capacity:
            raise ValueError(
                f"max_seq_len={self.max_seq_len} leaves {capacity} tokens per window besides "
                f"the special tokens, and window_overlap must be in [0, {max(capacity, 1)}); "
                f"got {overlap}. Raise max_seq_len or lower window_overlap."
            )
        return capacity, overlap

    def samples_per_input(self, dicts: list[dict[str, Any]]) -> list[int]:
        """Windows per sentence: one, or several for a sentence longer than ``max_seq_len``
        (none for a sentence without words)."""
        if not dicts:
            return []
        dataset = self.dataset_from_dicts(dicts, indices=list(range(len(dicts))),
                                          log_sample=False)[0]
        return _owner_counts(dataset, len(dicts))

    def dataset_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """Tokenize sentences into (windowed) samples with word-level labels.

        Args:
            dicts (list[dict[str, Any]]): Inputs: ``{"text": ...}`` (words are found in the
                text, see ``docs/ner.md``), or with ``"words"`` and/or tags under each task's
                label name (e.g. ``"ner_label"``: one tag per word).
            indices (list[int] | None): Basket ids (defaults to positions).
            return_baskets (bool): Also return the baskets (with words and their spans).
            log_sample (bool): Log one preprocessed sample.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)`` and, if asked, the baskets.
        """
        if not dicts:
            return self.empty_result(return_baskets)
        check_input_dicts(dicts, indices, self.input_example)
        ids = indices if indices is not None else list(range(len(dicts)))
        tasks = {
            name: task for name, task in self.tasks.items()
            if any(task["label_name"] in d for d in dicts)
        }
        sentences = [sentence_words(d, i, tasks) for i, d in enumerate(dicts)]
        labels = {name: label_ids(dicts, sentences, name, task) for name, task in tasks.items()}
        encodings = encode_untruncated(self.tokenizer, [" ".join(s[1]) for s in sentences])
        n_before, n_after = special_token_layout(self.tokenizer)
        capacity, overlap = self._window_size(n_before + n_after)
        label_names = [t["label_tensor_name"] for t in tasks.values()]
        features: dict[str, list[np.ndarray]] = {
            name: [] for name in ("input_ids", "padding_mask", "segment_ids", WORD_STARTS,
                                  WINDOW_POSITION, *label_names)
        }
        baskets: list[SampleBasket] = []
        rows: list[tuple[Sample, int]] = []  # each sample's row in the dataset
        n_long = n_dropped = n_cut = 0
        for i, (text, words, spans) in enumerate(sentences):
            basket = SampleBasket(id_internal=ids[i], raw=dicts[i], id_external=dicts[i].get("id"))
            baskets.append(basket)
            if not words:
                continue
            # Each property of a tokenizers Encoding builds a new list on every access: read
            # them once per sentence, not per window or token (that was quadratic).
            encoding = _SentenceEncoding.of(encodings[i], words)
            alignment = align(encoding.offsets, words, n_before, n_after)
            windows = plan_windows(alignment, capacity, overlap)
            n_long += len(windows) > 1
            n_dropped += int(np.sum(alignment.n_tokens == 0))
            n_cut += int(np.sum(alignment.n_tokens > capacity))
            for w, window in enumerate(windows):
                arrays = _window_arrays(encoding, alignment, window, n_before, n_after)
                arrays[WINDOW_POSITION] = np.array([ids[i], w, len(windows)], np.int64)
                owned = slice(window.word_start, window.word_end)
                for name, task in tasks.items():
                    arrays[task["label_tensor_name"]] = labels[name][i][owned]
                for name, array in arrays.items():
                    features[name].append(array)
                if return_baskets or (log_sample and i == 0):
                    sample = _sample(f"{ids[i]}-{w}", text, words, spans, window, alignment,
                                     encoding, n_before, dicts[i], tasks)
                    basket.samples.append(sample)
                    rows.append((sample, len(features["input_ids"]) - 1))
        _report(len(sentences), n_long, n_dropped, n_cut, capacity)
        pad_values = {**self.pad_values(self.tokenizer), WORD_STARTS: WORD_STARTS_PAD}
        pad_values.update({t["label_tensor_name"]: LABEL_PAD_VALUE for t in tasks.values()})
        dataset = FeatureDataset(features, pad_values)
        for sample, row in rows:
            sample.features = [dataset[row]]
        if log_sample and baskets and baskets[0].samples:
            self.log_sample(baskets[0])
        if return_baskets:
            return dataset, dataset.tensor_names, set(), baskets
        return dataset, dataset.tensor_names, set()


def _owner_counts(dataset: FeatureDataset, n_inputs: int) -> list[int]:
    """Samples (windows) per input, from each window's ``window_position`` (input, ...)."""
    owners = np.fromiter((int(p[0]) for p in dataset.features.get(WINDOW_POSITION, [])),
                         dtype=np.int64)
    return np.bincount(owners, minlength=n_inputs).tolist()


@dataclass
class _SentenceEncoding:
    """The parts of a sentence's encoding that samples are cut from, read once.

    Args:
        ids (np.ndarray): ``(n,)`` token ids, special tokens included.
        type_ids (np.ndarray): ``(n,)`` segment ids.
        offsets (list[tuple[int, int]]): Character span of each token.
        tokens (list[str]): Token strings.
        word_begin (np.ndarray): ``(n_words,)`` where each word begins in the words joined by
            single spaces (the text that was tokenized).
    """

    ids: np.ndarray
    type_ids: np.ndarray
    offsets: list[tuple[int, int]]
    tokens: list[str]
    word_begin: np.ndarray

    @classmethod
    def of(cls, encoding: Any, words: list[str]) -> _SentenceEncoding:
        return cls(np.asarray(encoding.ids, dtype=np.int32),
                   np.asarray(encoding.type_ids, dtype=np.int8),
                   encoding.offsets, encoding.tokens,
                   np.cumsum([0] + [len(w) + 1 for w in words[:-1]]))


def _window_arrays(
    encoding: _SentenceEncoding, alignment: Alignment, window: Window, n_before: int, n_after: int
) -> dict[str, np.ndarray]:
    """``input_ids``, ``padding_mask``, ``segment_ids`` and ``word_starts`` of one window:
    its content tokens between the tokenizer's special tokens."""
    ids = encoding.ids
    n = len(ids)
    keep = np.r_[0:n_before, n_before + window.token_start : n_before + window.token_end,
                 n - n_after : n]
    owned = slice(window.word_start, window.word_end)
    starts = alignment.first_token[owned] - window.token_start + n_before
    starts[alignment.n_tokens[owned] == 0] = NO_SUB_TOKEN
    return {
        "input_ids": ids[keep],
        "padding_mask": np.ones(len(keep), dtype=np.int8),
        "segment_ids": encoding.type_ids[keep],
        WORD_STARTS: starts.astype(np.int32),
    }


def _sample(
    sample_id: str, text: str, words: list[str], spans: list[tuple[int, int]], window: Window,
    alignment: Alignment, encoding: _SentenceEncoding, n_before: int, item: dict[str, Any],
    tasks: dict[str, dict[str, Any]],
) -> Sample:
    """A window's sample: the words it owns with their spans in ``text``, and its tokens."""
    owned = slice(window.word_start, window.word_end)
    clear_text: dict[str, Any] = {"text": text, "words": words[owned], "word_spans": spans[owned]}
    for task in tasks.values():
        clear_text[task["label_name"]] = list(item[task["label_name"]][owned])
    word_begin = encoding.word_begin
    tokens, offsets, start_of_word = [], [], []
    for k in range(window.token_start, window.token_end):
        word = int(alignment.word_of_token[k])
        start = encoding.offsets[n_before + k][0]
        tokens.append(encoding.tokens[n_before + k])
        offsets.append(spans[word][0] + max(0, start - int(word_begin[word])))
        start_of_word.append(bool(k == alignment.first_token[word]))
    return Sample(
        id=sample_id, clear_text=clear_text,
        tokenized={"tokens": tokens, "offsets": offsets, "start_of_word": start_of_word},
    )


def _report(n_sentences: int, n_long: int, n_dropped: int, n_cut: int, capacity: int) -> None:
    """Log what happened to sentences and words that did not fit plainly."""
    if n_long:
        logger.info("%d of %d sentences are longer than %d tokens and were cut into "
                    "overlapping windows; their predictions are merged per word.",
                    n_long, n_sentences, capacity)
    if n_dropped:
        logger.warning("%d words consist only of characters the tokenizer drops; they have no "
                       "sub-token, are ignored by the loss and are predicted as 'O'.", n_dropped)
    if n_cut:
        logger.warning("%d words have more than %d sub-tokens; only their first %d sub-tokens "
                       "are fed to the model (their label sits on the first).",
                       n_cut, capacity, capacity)
