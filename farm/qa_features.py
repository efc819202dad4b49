"""The features that question answering adds to each sample: written by ``SquadProcessor``,
read by ``QuestionAnsweringHead`` (the two rooms agree here, as NER's do in
``farm.tagging``)."""

from __future__ import annotations

CONTEXT_OFFSETS = "context_offsets"
"""Per position of the sample, the character span ``[start, end)`` of its token in the
document, flattened to ``2 * seq_len`` values; ``-1`` for question and special tokens (and
for passage tokens of white space only): those are never part of an answer."""

PASSAGE_POSITION = "passage_position"
"""Per sample ``[basket, passage, number of passages]``: the question-document pair it
belongs to (its position in the input) and its place among that pair's passages."""

NO_ANSWER_POSITION = 0
"""Label (start and end) of a passage that does not contain the answer: the first token."""

UNLOCATED_ANSWER = -1
"""Label of an answerable question whose answer could not be found in its context: no loss,
still evaluated on its gold texts."""

QA_TASK_TYPE = "question_answering"
"""The processor task type of extractive question answering."""
