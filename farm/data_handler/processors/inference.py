"""A processor for inputs without labels (inference, embeddings)."""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedTokenizerBase

from farm.data_handler.processors.text_classification import TextClassificationProcessor


class InferenceProcessor(TextClassificationProcessor):
    """Turns ``{"text": ...}`` dicts into model inputs; it has no tasks and reads no files.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        max_seq_len (int): Maximum tokens per text.

    Example:
        >>> processor = InferenceProcessor(tokenizer, max_seq_len=128)
        >>> dataset, tensor_names, _ = processor.dataset_from_dicts([{"text": "Hello"}])
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_seq_len: int,
                 proxies: Any = None, multithreading_rust: bool = True):
        super().__init__(
            tokenizer=tokenizer,
            max_seq_len=max_seq_len,
            proxies=proxies, multithreading_rust=multithreading_rust,
            data_dir=None,
            train_filename=None,
            test_filename=None,
            dev_split=0.0,
        )
