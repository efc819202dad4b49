"""How many passages (runs of the model) a QA request costs, counted before the model runs.

A QA model reads each question with its text; a text longer than a passage is read in
overlapping passages ``doc_stride`` tokens apart, once per question. So a request's cost is
questions × passages, which a short request can make large (many questions about a long
text). The count follows ``SquadProcessor``: the same tokenization, question cut to
``max_query_length`` and passage starts.
"""

from __future__ import annotations

from typing import Any

from farm.data_handler.qa_passages import passage_starts
from farm.data_handler.squad import to_document


def count_passages(processor: Any, inputs: list[dict[str, Any]]) -> int:
    """The number of passages ``processor`` (a ``SquadProcessor``) makes of ``inputs``.

    Args:
        processor (Any): The model's QA processor.
        inputs (list[dict[str, Any]]): Request dicts (already checked).

    Returns:
        int: Passages over every question of every input.
    """
    template = processor.check_lengths()
    documents = [to_document(item, i) for i, item in enumerate(inputs)]
    contexts = _n_tokens(processor.tokenizer, [d.context for d in documents])
    questions = _n_tokens(processor.tokenizer,
                          [q.text for d in documents for q in d.questions])
    total, n = 0, 0
    for document, n_context in zip(documents, contexts, strict=True):
        for _ in document.questions:
            n_question = min(questions[n], processor.max_query_length)
            passage_len = processor.max_seq_len - template.n_special - n_question
            total += len(passage_starts(n_context, passage_len, processor.doc_stride))
            n += 1
    return total


def _n_tokens(tokenizer: Any, texts: list[str]) -> list[int]:
    """Tokens of each text, without special tokens or truncation (as the processor)."""
    counts: list[int] = []
    for begin in range(0, len(texts), 256):
        batch = tokenizer(texts[begin : begin + 256], add_special_tokens=False,
                          truncation=False, verbose=False, return_attention_mask=False,
                          return_token_type_ids=False)
        counts += [len(ids) for ids in batch["input_ids"]]
    return counts
