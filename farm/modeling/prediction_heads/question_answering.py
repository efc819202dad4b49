"""Extractive question answering head: start/end logits per token, answer spans out."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from farm.modeling.prediction_heads.base import FeedForwardBlock, PredictionHead
from farm.modeling.prediction_heads.qa_spans import (
    PassageSpans,
    Span,
    aggregate,
    fit_temperature,
    group_passages,
    masked_logits,
    passage_spans,
    snap_passages,
)
from farm.modeling.predictions import QACandidate, QAPred
from farm.qa_features import CONTEXT_OFFSETS, PASSAGE_POSITION, QA_TASK_TYPE

logger = logging.getLogger(__name__)


class QuestionAnsweringHead(PredictionHead):
    """Predicts for every token whether an answer starts or ends there.

    Expects per-token vectors ``(batch, seq_len, hidden)`` and returns logits ``(batch,
    seq_len, 2)`` (start, end). The batch carries, as ``SquadProcessor`` makes them,
    ``context_offsets`` ``(batch, 2 * seq_len)`` (each token's character span in the
    document, -1 outside the passage), ``passage_position`` ``(batch, 3)`` and, for training,
    ``<task_name>_label_ids`` ``(batch, 2 * n_answers)`` (start and end position of each
    answer; the first is learned, 0/0 means no answer in this passage).

    Args:
        layer_dims (list[int] | None): Widths of the feed-forward layers, ending in 2; the
            first is fitted to the language model's width (``[768, 2]`` suits MiniLM too).
        task_name (str): Name of the task (and of the processor task) this head learns.
        no_ans_boost (float): Added to every passage's no-answer score; raise it for more
            "no answer" predictions (see ``no_ans_gap`` in the results).
        n_best (int): Answers returned per question (a no-answer counts as one).
        n_best_per_sample (int | None): Spans kept per passage before aggregation
            (default: ``n_best``).
        context_window_size (int): Characters of document around an answer in the
            results' ``context``.
        duplicate_filtering (int): Drop answers whose start or end lies within this many
            characters of a better answer's (FARM's rule; 0: no two answers share a start
            or an end; -1: only identical spans).
        temperature_for_confidence (float): Softmax temperature of the confidences; set on
            dev data by ``Evaluator.eval(model, calibrate_conf_scores=True)``. Stored, as in
            FARM, as a one-element ``nn.Parameter`` (not trained by the optimizer); assigning
            a float to the attribute sets its value.
        use_confidence_scores_for_ranking (bool): Rank answers by confidence, not score.
        max_answer_length (int): Longest answer in tokens.
        snap_to_words (bool): Widen each answer of the inference results to whole words
            (an answer found as ``"archived in 202"`` because its last token was ``202`` of
            ``2024`` is given as ``"archived in 2024"``, with offsets that select it). Off
            by default, so that inference gives the spans that evaluation scores; ``farm
            serve`` turns it on for display.
        label_list (list[str] | None): ``["start_token", "end_token"]`` (from the processor).
        metric (Any): Metric of the task (from the processor; ``"squad"``).

    Example:
        >>> head = QuestionAnsweringHead(layer_dims=[768, 2], task_name="question_answering")
        >>> logits = head(torch.randn(4, 384, 768))  # (4, 384, 2)
    """

    task_type = "qa"
    model_type = "span_classification"
    hf_task_type: ClassVar[str | None] = "question_answering"
    optional_weights: ClassVar[tuple[str, ...]] = ("temperature_for_confidence",)
    ph_output_type = "per_token"
    processor_task_types = (QA_TASK_TYPE,)
    result_per_basket = True  # one inference result dict per question, as in FARM

    def __init__(
        self,
        layer_dims: list[int] | None = None,
        task_name: str = "question_answering",
        no_ans_boost: float = 0.0,
        n_best: int = 5,
        n_best_per_sample: int | None = None,
        context_window_size: int = 100,
        duplicate_filtering: int = -1,
        temperature_for_confidence: float = 1.0,
        use_confidence_scores_for_ranking: bool = False,
        max_answer_length: int = 30,
        label_list: list[str] | None = None,
        metric: Any = None,
        snap_to_words: bool = False,
    ):
        super().__init__(task_name=task_name, label_list=label_list, metric=metric)
        layer_dims = list(layer_dims) if layer_dims is not None else [768, 2]
        if layer_dims[-1] != 2:
            raise ValueError(
                f"layer_dims {layer_dims} must end in 2 outputs (start and end logit), e.g. "
                "[768, 2]."
            )
        for name, value in (("n_best", n_best), ("max_answer_length", max_answer_length)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1; got {value}.")
        if temperature_for_confidence <= 0:
            raise ValueError(
                f"temperature_for_confidence must be positive; got {temperature_for_confidence}."
            )
        self.layer_dims = layer_dims
        self.num_labels = 2
        self.no_ans_boost = float(no_ans_boost)
        self.n_best = n_best
        self.n_best_per_sample = n_best_per_sample
        self.context_window_size = context_window_size
        self.duplicate_filtering = duplicate_filtering
        self.temperature_for_confidence = nn.Parameter(
            torch.full((1,), float(temperature_for_confidence)), requires_grad=False)
        self.use_confidence_scores_for_ranking = use_confidence_scores_for_ranking
        self.max_answer_length = max_answer_length
        self.snap_to_words = snap_to_words
        self.feed_forward = FeedForwardBlock(self.layer_dims)

    def __setattr__(self, name: str, value: Any) -> None:
        # FARM's temperature is an nn.Parameter; code that assigns a float sets its value.
        if name == "temperature_for_confidence" and not isinstance(value, nn.Parameter) and (
            name in self.__dict__.get("_parameters", {})
        ):
            temperature = float(value)
            if temperature <= 0:
                raise ValueError(f"temperature_for_confidence must be positive; got {value}.")
            with torch.no_grad():
                self._parameters[name].fill_(temperature)  # type: ignore[union-attr]
            return
        super().__setattr__(name, value)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str,
                              *args: Any, **kwargs: Any) -> None:
        # Heads saved before the temperature was a parameter keep it in their config only.
        key = f"{prefix}temperature_for_confidence"
        if key not in state_dict:
            state_dict[key] = self.temperature_for_confidence.detach().clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def temperature(self) -> float:
        """``temperature_for_confidence`` as a number."""
        return float(self.temperature_for_confidence.detach())

    def forward(self, x: Tensor) -> Tensor:
        return self.feed_forward(x)  # (batch, seq_len, 2)

    def logits_to_loss(self, logits: Tensor, **kwargs: Tensor) -> Tensor:
        """Mean of the start and end cross-entropy of the first answer, per sample
        ``(batch,)``; positions outside the passage (except the no-answer position) are
        excluded. A sample without a usable label (negative ids) has loss 0."""
        offsets = _offsets(kwargs[CONTEXT_OFFSETS])  # (batch, seq_len, 2)
        logits = masked_logits(logits, offsets[:, : logits.shape[1]])  # (batch, seq_len, 2)
        labels = kwargs[self.label_tensor_name][:, :2].long()  # (batch, 2) first answer
        labels = labels.masked_fill(labels < 0, -100)
        start = F.cross_entropy(logits[..., 0], labels[:, 0], ignore_index=-100,
                                reduction="none")  # (batch,)
        end = F.cross_entropy(logits[..., 1], labels[:, 1], ignore_index=-100,
                              reduction="none")  # (batch,)
        return (start + end) / 2

    def logits_to_preds(self, logits: Tensor, **kwargs: Any) -> list[PassageSpans]:
        """Per passage its best spans (character offsets in the document) and its
        no-answer score; joined per question by :meth:`merge_per_basket`."""
        offsets = _offsets(kwargs[CONTEXT_OFFSETS])[:, : logits.shape[1]]
        return passage_spans(
            logits, offsets, kwargs[PASSAGE_POSITION], self.n_best_per_sample or self.n_best,
            self.max_answer_length, self.temperature,
        )

    def prepare_labels(self, **kwargs: Tensor) -> list[tuple[int, int, int] | None]:
        """Per passage its place (basket, passage, number of passages); ``None`` for a
        sample without labels of this task (multitask data), which is left out. The gold
        texts come with the dataset's references (see :meth:`merge_per_basket`)."""
        labels = kwargs[self.label_tensor_name]  # (batch, 2 * n_answers)
        positions = kwargs[PASSAGE_POSITION].tolist()  # (batch, 3)
        masked = (labels == -100).all(dim=1).tolist()
        return [None if m else tuple(p) for m, p in zip(masked, positions, strict=True)]

    def merge_per_basket(
        self, preds: list[Any], labels: list[Any], references: list[Any] | None = None
    ) -> tuple[list[tuple[list[QACandidate], float | None]], list[list[str]]]:
        """Join each question's passages into its ranked answers and take its gold answer
        texts from the references, for the ``squad`` metric.

        Returns:
            tuple: Per question FARM's pair ``(candidates, no_ans_gap)`` (``QACandidate``
            objects, best first; a no-answer has empty text), and per question the list of
            gold answer texts (``[]``: unanswerable).
        """
        if references is None:
            raise ValueError(
                "question answering is evaluated on answer texts, but the data set carries no "
                "references (context and gold answers); build it with SquadProcessor."
            )
        ranked, golds = [], []
        row = 0
        for passages in group_passages(preds):
            reference = references[row]
            row += len(passages)
            document = self._aggregate(passages)
            raw = {"context": reference["context"], "document_id": None}
            ranked.append(([self._candidate(a, raw, len(passages)) for a in document.answers],
                           document.no_ans_gap))
            golds.append(list(reference["answers"]))
        return ranked, golds

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], return_json: bool = True, **kwargs: Any
    ) -> list[Any]:
        """Per basket (question) ``{"question", "id", "ground_truth", "answers",
        "no_ans_gap"}``; each answer has ``score``, ``probability``, ``answer``,
        ``offset_answer_start``/``_end`` (``context[start:end] == answer``; whole words
        with ``snap_to_words``), a ``context`` window with its offsets, and
        ``document_id``. A no-answer has empty text and offsets 0. With ``return_json=False``
        a :class:`~farm.modeling.predictions.QAPred` per basket instead
        (``pred.to_json()["predictions"][0]`` is the dict).

        ``logits`` ``(n_samples, seq_len, 2)`` hold the baskets' samples (passages) in order;
        each sample carries its ``context_offsets`` and ``passage_position`` features.
        """
        results, row = [], 0
        for basket in baskets:
            samples = basket.samples
            passages: list[PassageSpans] = []
            if samples:
                part = logits[row : row + len(samples)]  # (n_passages, seq_len, 2)
                row += len(samples)
                offsets = _stack_offsets([s.features[0][CONTEXT_OFFSETS] for s in samples],
                                         part.shape[1])
                positions = torch.as_tensor(
                    np.stack([s.features[0][PASSAGE_POSITION] for s in samples]))
                passages = passage_spans(
                    part, offsets, positions, self.n_best_per_sample or self.n_best,
                    self.max_answer_length, self.temperature,
                )
            raw = basket.raw
            if self.snap_to_words:
                passages = snap_passages(passages, raw["context"])
            document = self._aggregate(passages)
            pred = QAPred(
                id=raw["id"], question=raw["question"], context=raw["context"],
                prediction=[self._candidate(a, raw, len(samples)) for a in document.answers],
                token_offsets=_token_starts(samples), context_window_size=self.context_window_size,
                no_answer_gap=document.no_ans_gap, ground_truth_answer=raw["answers"],
                n_passages=len(samples), task_name=self.task_name,
            )
            results.append(pred.to_json()["predictions"][0] if return_json else pred)
        return results

    def calibrate_conf(self, batches: list[tuple[Tensor, dict[str, Tensor]]]) -> float:
        """Set ``temperature_for_confidence`` to the value that minimizes the NLL of the true
        start and end positions of labelled dev passages; returns it.

        Args:
            batches (list[tuple[Tensor, dict[str, Tensor]]]): Per batch the logits and the
                batch's tensors, as the evaluator collects them.
        """
        starts, ends, labels = [], [], []
        for logits, batch in batches:
            offsets = _offsets(batch[CONTEXT_OFFSETS])[:, : logits.shape[1]]
            masked = masked_logits(logits, offsets)  # (batch, seq_len, 2)
            starts.append(masked[..., 0])
            ends.append(masked[..., 1])
            labels.append(batch[self.label_tensor_name][:, :2].long())
        temperature, before, after = fit_temperature(starts, ends, labels)
        logger.info("Calibrated the confidence of head '%s': temperature %.3f (dev NLL %.4f at "
                    "temperature 1, %.4f now).", self.task_name, temperature, before, after)
        with torch.no_grad():
            self.temperature_for_confidence.fill_(temperature)
        return temperature

    def _aggregate(self, passages: list[PassageSpans]) -> Any:
        return aggregate(passages, self.n_best, self.no_ans_boost, self.duplicate_filtering,
                         self.use_confidence_scores_for_ranking)

    def _candidate(self, span: Span, raw: dict[str, Any], n_passages: int) -> QACandidate:
        """A span as FARM's answer object, with its context window."""
        context: str = raw["context"]
        if span.is_no_answer:
            window_start = window_end = 0
        else:
            room = max(self.context_window_size - (span.end - span.start), 0)
            window_start = max(0, span.start - room // 2)
            window_end = min(len(context), span.end + room - (span.start - window_start))
        return QACandidate(
            answer_type="no_answer" if span.is_no_answer else "span", score=span.score,
            offset_answer_start=span.start, offset_answer_end=span.end,
            probability=span.confidence, confidence=span.confidence,
            n_passages_in_doc=n_passages,
            passage_id=None if span.is_no_answer else str(span.passage),
            answer=context[span.start : span.end], context_window=context[window_start:window_end],
            offset_context_window_start=window_start, offset_context_window_end=window_end,
            document_id=raw.get("document_id"),
        )


def _offsets(flat: Tensor) -> Tensor:
    """``(batch, 2 * seq_len)`` flat offsets as ``(batch, seq_len, 2)``."""
    return flat.view(flat.shape[0], -1, 2)


def _token_starts(samples: list[Any]) -> list[int]:
    """Start character of each document token in a question's passages (no duplicates
    where passages overlap)."""
    starts: set[int] = set()
    for sample in samples:
        pairs = np.asarray(sample.features[0][CONTEXT_OFFSETS]).reshape(-1, 2)
        starts.update(int(start) for start in pairs[:, 0] if start >= 0)
    return sorted(starts)


def _stack_offsets(arrays: list[np.ndarray], seq_len: int) -> Tensor:
    """Per-sample flat offsets padded with -1 to ``seq_len`` tokens: ``(n, seq_len, 2)``."""
    out = np.full((len(arrays), seq_len, 2), -1, dtype=np.int64)
    for i, array in enumerate(arrays):
        pairs = np.asarray(array).reshape(-1, 2)[:seq_len]
        out[i, : len(pairs)] = pairs
    return torch.from_numpy(out)
