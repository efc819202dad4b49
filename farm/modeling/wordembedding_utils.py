"""FARM's ``farm.modeling.wordembedding_utils``: word2vec/GloVe/fasttext models and S3E
pooling. Word-embedding models are not supported, so these names import but raise when
called or instantiated, saying what to use instead."""

from __future__ import annotations

from typing import Any

from farm.compat import removed_class, removed_function

_REASON = "word-embedding models (word2vec, GloVe, fasttext) and S3E pooling are not supported"
_INSTEAD = ("a transformer encoder: Inferencer.load(model, task_type='embeddings', "
            "extraction_strategy='reduce_mean') gives sentence vectors (a sentence-transformers "
            "model such as all-MiniLM-L6-v2 gives good ones)")

Fasttext_converter = removed_class("Fasttext_converter", _REASON, _INSTEAD)
convert_WordEmbeddings = removed_function("convert_WordEmbeddings", _REASON, _INSTEAD)
fit_s3e_on_corpus = removed_function("fit_s3e_on_corpus", _REASON, _INSTEAD)
s3e_pooling = removed_function("s3e_pooling", _REASON, _INSTEAD)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return removed_function(f"farm.modeling.wordembedding_utils.{name}", _REASON, _INSTEAD)
