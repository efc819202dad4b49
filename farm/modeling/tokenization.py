"""Loading Hugging Face fast tokenizers (FARM's ``Tokenizer.load``), and FARM's token-level
helpers (``tokenize_with_metadata``, ``truncate_sequences``, ``insert_at_special_tokens_pos``,
``tokenize_batch_question_answering``)."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from transformers import PreTrainedTokenizerBase

from farm.compat import removed_class, warn_once
from farm.errors import FarmError, ModelFolderError, did_you_mean
from farm.modeling.hf_loading import load_tokenizer
from farm.modeling.token_metadata import (
    insert_at_special_tokens_pos,
    tokenize_with_metadata,
    tokenized_view,
    truncate_sequences,
)

__all__ = [
    "EmbeddingTokenizer",
    "Tokenizer",
    "insert_at_special_tokens_pos",
    "tokenize_with_metadata",
    "tokenized_view",
    "truncate_sequences",
]

logger = logging.getLogger(__name__)

# Keyword arguments passed on to ``AutoTokenizer.from_pretrained``; anything else is a typo.
_LOAD_KWARGS = {
    "revision", "cache_dir", "local_files_only", "token", "subfolder", "force_download",
    "proxies", "add_prefix_space", "model_max_length", "strip_accents",
    "tokenize_chinese_chars", "trim_offsets", "padding_side", "truncation_side", "bos_token",
    "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
    "additional_special_tokens", "extra_special_tokens",
}
# Named arguments of Tokenizer.load, so a misspelling of them gets a suggestion too.
_OWN_ARGS = {"pretrained_model_name_or_path", "revision", "tokenizer_class", "do_lower_case",
             "use_fast"}
# Arguments of FARM's old Tokenizer.load that no longer mean anything here.
_IGNORED_FARM_KWARGS = {"tokenizer_class", "vocab_size"}

EmbeddingTokenizer = removed_class(
    "EmbeddingTokenizer", "word-embedding models (word2vec, GloVe, fasttext) are not supported",
    "a transformer encoder with Tokenizer.load(model_name_or_path); for sentence vectors, "
    "Inferencer.load(model, task_type='embeddings')")


class Tokenizer:
    """Entry point to load a tokenizer, as in FARM: ``Tokenizer.load(name_or_path)``.

    Example:
        >>> from farm.modeling.tokenization import Tokenizer
        >>> tokenizer = Tokenizer.load("bert-base-uncased", do_lower_case=True)
    """

    @staticmethod
    def load(
        pretrained_model_name_or_path: str | Path,
        revision: str | None = None,
        tokenizer_class: str | None = None,
        use_fast: bool = True,
        do_lower_case: bool | None = None,
        **kwargs: Any,
    ) -> PreTrainedTokenizerBase:
        """Load the fast Hugging Face tokenizer of a model.

        Args:
            pretrained_model_name_or_path (str | Path): A hub name (needs network), a local
                Hugging Face folder, or a saved FARM model folder.
            revision (str | None): Hub revision (branch, tag or commit) of a hub model.
            tokenizer_class (str | None): FARM's explicit class name; accepted with a one-time
                warning: the class is the one the model folder names (``AutoTokenizer``).
            use_fast (bool): Accepted for FARM compatibility; FARM always uses fast
                tokenizers because every task needs their character offsets
                (``use_fast=False`` logs a one-time warning).
            do_lower_case (bool | None): Lower-case the input; ``None`` keeps the tokenizer's
                own setting. Honoured by tokenizers that support the option (e.g. BERT).
            **kwargs: Options of ``AutoTokenizer.from_pretrained`` such as ``cache_dir``,
                ``local_files_only`` or special tokens. FARM's ``vocab_size`` is accepted
                with a one-time warning.

        Returns:
            PreTrainedTokenizerBase: A fast tokenizer (``tokenizer.is_fast`` is True).

        Raises:
            TypeError: An unknown keyword argument.
            FarmError: The model has no fast tokenizer.
            ModelFolderError: A local folder without tokenizer files, or whose tokenizer
                has no vocabulary.
        """
        if revision is not None:
            kwargs["revision"] = revision
        if tokenizer_class is not None:
            kwargs["tokenizer_class"] = tokenizer_class
        for key in list(kwargs):
            if key in _IGNORED_FARM_KWARGS:
                warn_once(f"Tokenizer.load({key}=...)", "the tokenizer class is the one the "
                          "model folder names (AutoTokenizer), always a fast tokenizer")
                kwargs.pop(key)
            elif key not in _LOAD_KWARGS:
                raise TypeError(
                    f"Tokenizer.load() got an unexpected keyword argument '{key}'."
                    f"{did_you_mean(key, _LOAD_KWARGS | _OWN_ARGS)}"
                )
        if not use_fast:
            warn_once("Tokenizer.load(use_fast=False)",
                      "FARM needs a fast tokenizer for offset mappings; one is loaded")
        if do_lower_case is not None:
            kwargs["do_lower_case"] = do_lower_case
        tokenizer = load_tokenizer(pretrained_model_name_or_path, **kwargs)
        if len(tokenizer) <= len(set(tokenizer.all_special_ids)):
            raise ModelFolderError(
                f"the tokenizer has only its {len(tokenizer)} special tokens and no "
                "vocabulary, so every word would become the unknown token; its vocabulary "
                "file (tokenizer.json, vocab.txt, ...) is missing or empty.",
                pretrained_model_name_or_path)
        if not tokenizer.is_fast:
            raise FarmError(
                f"'{pretrained_model_name_or_path}' has only a slow tokenizer "
                f"({type(tokenizer).__name__}), but FARM needs a fast one for character "
                "offsets. Install 'sentencepiece' and 'protobuf' so transformers can convert "
                "it, or save a tokenizer.json for the model with the 'tokenizers' library."
            )
        if do_lower_case is not None and _lower_cases(tokenizer) != do_lower_case:
            logger.warning(
                "do_lower_case=%s is ignored: the %s tokenizer of '%s' has no such option and "
                "%s lower-case.",
                do_lower_case, type(tokenizer).__name__, pretrained_model_name_or_path,
                "does" if not do_lower_case else "does not",
            )
        return tokenizer


def _lower_cases(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the tokenizer's normalizer lower-cases its input."""
    normalizer = tokenizer.backend_tokenizer.normalizer
    return normalizer is not None and normalizer.normalize_str("A") == "a"


def check_vocabulary(tokenizer: PreTrainedTokenizerBase, vocab_size: int | None,
                     where: str | Path) -> None:
    """Check that a model's tokenizer fits its input embeddings.

    Args:
        tokenizer (PreTrainedTokenizerBase): The tokenizer loaded with the model.
        vocab_size (int | None): Rows of the model's input embeddings (``None``: unknown,
            nothing is checked).
        where (str | Path): The model folder, for the message.

    Raises:
        ModelFolderError: The tokenizer has more tokens than the model has embeddings (ids
            beyond them would fail), or fewer than half as many (it is not the tokenizer the
            model was trained with).
    """
    if not vocab_size:
        return
    n_tokens = len(tokenizer)
    if n_tokens > vocab_size:
        raise ModelFolderError(
            f"the tokenizer has {n_tokens} tokens, but the model has embeddings for only "
            f"{vocab_size}: it is another model's tokenizer (or tokens were added without "
            "resizing the model; see LanguageModel.load(..., n_added_tokens=)). Use the "
            "tokenizer files the model was trained with.", where)
    if n_tokens < vocab_size // 2:
        raise ModelFolderError(
            f"the tokenizer has only {n_tokens} tokens for the model's {vocab_size} "
            "embeddings: it is not the tokenizer the model was trained with (is a file such "
            "as tokenizer.json missing?). Use the tokenizer files the model was trained "
            "with.", where)


def check_model_vocabulary(model: Any, processor: Any, where: str | Path) -> None:
    """:func:`check_vocabulary` for each tokenizer of ``processor`` and the language model
    it feeds (the query and passage encoders of a dense retriever)."""
    pairs = [("query_tokenizer", "language_model1"), ("passage_tokenizer", "language_model2")]
    if not all(hasattr(processor, t) and hasattr(model, m) for t, m in pairs):
        pairs = [("tokenizer", "language_model")]
    for tokenizer_name, model_name in pairs:
        language_model = getattr(model, model_name, None)
        tokenizer = getattr(processor, tokenizer_name, None)
        if language_model is None or tokenizer is None:
            continue
        embeddings = getattr(getattr(language_model, "model", None), "get_input_embeddings",
                             None)
        rows = (embeddings().weight.shape[0] if embeddings is not None
                else getattr(language_model.config, "vocab_size", None))
        check_vocabulary(tokenizer, rows, where)


def __getattr__(name: str) -> Any:
    """``tokenize_batch_question_answering`` makes FARM's ``SampleBasket`` objects, which
    belong to the data handler; it lives there and is imported from here on first use."""
    if name == "tokenize_batch_question_answering":
        module = importlib.import_module("farm.data_handler.qa_tokenization")
        return module.tokenize_batch_question_answering
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
