"""FARM 0.8's word-embedding tools (fasttext conversion, GloVe/word2vec loading, S3E).

Word-embedding models and S3E pooling were removed; the names stay importable and raise a
``FarmError`` naming the replacement: a small transformer encoder such as all-MiniLM-L6-v2
with ``Inferencer.load(folder, task_type="embeddings", extraction_strategy="reduce_mean")``.
"""

from farm.removed import removed_class, removed_function

_REASON = ("word-embedding models (GloVe, word2vec, fasttext) and S3E pooling were removed "
           "with FARM's slow tokenizer path")
_INSTEAD = ("a transformer encoder: Inferencer.load(model_folder, task_type='embeddings', "
            "extraction_strategy='reduce_mean')")

Fasttext_converter = removed_class("Fasttext_converter", _REASON, _INSTEAD)
convert_WordEmbeddings = removed_function("convert_WordEmbeddings", _REASON, _INSTEAD)
fit_s3e_on_corpus = removed_function("fit_s3e_on_corpus", _REASON, _INSTEAD)
s3e_pooling = removed_function("s3e_pooling", _REASON, _INSTEAD)

__all__ = ["Fasttext_converter", "convert_WordEmbeddings", "fit_s3e_on_corpus", "s3e_pooling"]
