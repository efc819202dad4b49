"""FARM's ``tokenize_batch_question_answering``: the first step of FARM's QA preprocessing,
kept for code that calls it (``SquadProcessor`` does its own tokenization)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from farm.data_handler.samples import SampleBasket
from farm.errors import FarmError
from farm.modeling.tokenization import tokenized_view


def tokenize_batch_question_answering(
    pre_baskets: Sequence[dict[str, Any]], tokenizer: PreTrainedTokenizerBase,
    indices: Sequence[Any],
) -> list[SampleBasket]:
    """One basket per question of each document, its ``raw`` holding the document's and the
    question's token ids, character offsets and start-of-word flags (no special tokens).

    Args:
        pre_baskets (Sequence[dict[str, Any]]): SQuAD paragraphs ``{"context": ..., "qas":
            [{"question", "id", "answers"}]}``.
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer.
        indices (Sequence[Any]): One id per document; a basket's id is ``"<id>-<question>"``.

    Returns:
        list[SampleBasket]: Baskets without samples; ``raw`` has ``document_text``,
        ``document_tokens``, ``document_offsets``, ``document_start_of_word``,
        ``question_text``, ``question_tokens``, ``question_offsets``,
        ``question_start_of_word``, ``answers`` and the token strings
        (``document_tokens_strings``, ``question_tokens_strings``).
    """
    if len(indices) != len(pre_baskets):
        raise ValueError(f"{len(indices)} indices for {len(pre_baskets)} documents.")
    if not getattr(tokenizer, "is_fast", False):
        raise FarmError("tokenize_batch_question_answering needs a fast tokenizer "
                        "(Tokenizer.load(...)).")
    texts = [d["context"] for d in pre_baskets]
    documents = tokenizer(texts, add_special_tokens=False, verbose=False).encodings
    baskets = []
    for i_doc, (item, doc) in enumerate(zip(pre_baskets, documents, strict=True)):
        doc_view = tokenized_view(doc, [item["context"]])
        for i_q, qa in enumerate(item["qas"]):
            question = tokenizer(qa["question"], add_special_tokens=False,
                                 verbose=False).encodings[0]
            q_view = tokenized_view(question, [qa["question"]])
            raw = {
                "document_text": item["context"],
                "document_tokens": list(doc.ids),
                "document_offsets": np.asarray(doc_view["offsets"]),
                "document_start_of_word": [int(x) for x in doc_view["start_of_word"]],
                "question_text": qa["question"],
                "question_tokens": list(question.ids),
                "question_offsets": list(q_view["offsets"]),
                "question_start_of_word": [int(x) for x in q_view["start_of_word"]],
                "answers": qa.get("answers", []),
                "document_tokens_strings": list(doc.tokens),
                "question_tokens_strings": list(question.tokens),
            }
            baskets.append(SampleBasket(id_internal=f"{indices[i_doc]}-{i_q}", raw=raw,
                                        id_external=qa.get("id"), samples=[]))
    return baskets
