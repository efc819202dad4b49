"""Inference with a dense retriever (``BiAdaptiveModel``): vectors, rankings, retrieval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from farm.cancel import check_cancelled
from farm.conversion.onnx_model import OnnxBiAdaptiveModel, is_onnx_model_dir
from farm.data_handler.dataset import Collator, FeatureDataset
from farm.data_handler.processors import Processor, TextSimilarityProcessor
from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.biadaptive_model import BiAdaptiveModel
from farm.modeling.prediction_heads import TextSimilarityHead
from farm.modeling.tokenization import check_model_vocabulary


class TextSimilarityInferencer(Inferencer):
    """An :class:`Inferencer` for DPR models; ``Inferencer.load`` returns one for a saved
    ``BiAdaptiveModel``.

    ``inference_from_dicts`` takes ``{"query": ...}`` dicts (query vectors),
    ``{"passages": [...]}`` dicts (passage vectors) or ``{"query": ..., "passages": [...]}``
    dicts (the passages ranked for the query); results come per ``batch_size`` inputs as
    ``{"task": "text_similarity", "task_name", "predictions"}`` (see
    ``TextSimilarityHead.formatted_preds``). :meth:`embed_queries`, :meth:`embed_passages`
    and :meth:`retrieve` work on plain lists and return arrays.

    Args:
        model (BiAdaptiveModel | OnnxBiAdaptiveModel): The retriever (in PyTorch, or its
            ONNX export).
        processor (TextSimilarityProcessor): Its processor.
        task_type (str | None): ``"text_similarity"``.
        batch_size (int): Inputs per batch.
        gpu (bool): Use the GPU if available.
        name (str | None): A name for the model.
        disable_tqdm (bool): Hide the progress bar.

    Example:
        >>> retriever = Inferencer.load("saved_models/dpr")
        >>> passage_vectors = retriever.embed_passages([{"title": "Paris", "text": "..."}])
        >>> top = retriever.retrieve(["Where is the Louvre?"], passages, top_k=5)
    """

    def __init__(
        self,
        model: BiAdaptiveModel | OnnxBiAdaptiveModel,
        processor: Processor,
        task_type: str | None = "text_similarity",
        batch_size: int = 16,
        gpu: bool = False,
        name: str | None = None,
        return_class_probs: bool = False,
        disable_tqdm: bool = False,
    ):
        if not isinstance(processor, TextSimilarityProcessor):
            raise FarmError(f"A BiAdaptiveModel needs a TextSimilarityProcessor; got "
                            f"{type(processor).__name__}.")
        super().__init__(model, processor, task_type=task_type, batch_size=batch_size,  # type: ignore[arg-type]
                         gpu=gpu, name=name, disable_tqdm=disable_tqdm)
        self.retriever = model.to(self.device).eval()
        self.similarity_processor = processor

    @classmethod
    def from_saved(cls, path: str | Path, batch_size: int = 16, gpu: bool = False,
                   disable_tqdm: bool = False, strict: bool = True) -> TextSimilarityInferencer:
        """Open a folder written by ``BiAdaptiveModel.save`` and ``processor.save``, or by
        ``BiAdaptiveModel.convert_to_onnx`` (run on ONNX Runtime)."""
        path = Path(path)
        model: BiAdaptiveModel | OnnxBiAdaptiveModel = (
            OnnxBiAdaptiveModel.load(path, gpu=gpu) if is_onnx_model_dir(path)
            else BiAdaptiveModel.load(path, device="cpu", strict=strict))
        processor = Processor.load_from_dir(path)
        check_model_vocabulary(model, processor, path)
        return cls(model, processor, batch_size=batch_size, gpu=gpu, name=path.name,
                   disable_tqdm=disable_tqdm)

    def _predict(self, dicts: list[dict[str, Any]], return_json: bool = True
                 ) -> list[dict[str, Any]]:
        """Vectors or rankings for the dicts, one result dict per head and per
        ``batch_size`` inputs, in input order (``inference_from_dicts`` calls this)."""
        if not dicts:
            return []
        dataset, _, _, baskets = self.processor.dataset_from_dicts(
            dicts, return_baskets=True, log_sample=False)
        collate = Collator(dataset.pad_values)
        results = []
        with torch.inference_mode():
            for begin in tqdm(range(0, len(dataset), self.batch_size), desc="Inferencing",
                              disable=self.disable_tqdm):
                check_cancelled()  # a served request whose client left stops here
                rows = range(begin, min(begin + self.batch_size, len(dataset)))
                batch = self._to_device(collate([dataset[i] for i in rows]))
                logits = [tuple(_cpu(t) for t in head_logits)
                          for head_logits in self.retriever(**batch)]
                results += self.retriever.formatted_preds(
                    logits=logits, baskets=baskets[rows.start : rows.stop])
        return results

    def embed_queries(self, queries: list[str]) -> np.ndarray:
        """Query vectors ``(n_queries, hidden)``."""
        dataset, _, problematic = self.processor.dataset_from_dicts(
            [{"query": q} for q in queries], log_sample=False)
        _refuse_problematic(problematic, "queries")
        return self._embed(dataset, queries=True)

    def embed_passages(self, passages: list[str | dict[str, str]]) -> np.ndarray:
        """Passage vectors ``(n_passages, hidden)``; a passage is a text or a dict with
        ``"text"`` (and ``"title"``)."""
        dataset, _, problematic = self.processor.dataset_from_dicts(
            [{"passages": [p]} for p in passages], log_sample=False)
        _refuse_problematic(problematic, "passages")
        return self._embed(dataset, queries=False)

    def retrieve(self, queries: list[str], passages: list[str | dict[str, str]],
                 top_k: int = 10, passage_vectors: np.ndarray | None = None
                 ) -> list[list[dict[str, Any]]]:
        """The ``top_k`` passages for each query, best first.

        Args:
            queries (list[str]): The queries.
            passages (list[str | dict[str, str]]): The collection to search.
            top_k (int): Passages per query.
            passage_vectors (np.ndarray | None): :meth:`embed_passages` of ``passages``,
                to search a collection many times without encoding it again.

        Returns:
            list[list[dict[str, Any]]]: Per query ``{"index", "score"}`` per passage
            (``index`` into ``passages``).
        """
        scores = self.similarity_scores(queries, passages, passage_vectors)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
        return [[{"index": int(j), "score": float(scores[i, j])} for j in row]
                for i, row in enumerate(top)]

    def similarity_scores(self, queries: list[str], passages: list[str | dict[str, str]],
                          passage_vectors: np.ndarray | None = None) -> np.ndarray:
        """Scores ``(n_queries, n_passages)`` by the model's similarity function."""
        if passage_vectors is None:
            passage_vectors = self.embed_passages(passages)
        head = self._head()
        scores = head.similarity(torch.from_numpy(self.embed_queries(queries)),
                                 torch.from_numpy(passage_vectors))
        return scores.numpy()

    def _head(self) -> TextSimilarityHead:
        heads = [h for h in self.retriever.heads if isinstance(h, TextSimilarityHead)]
        if not heads:
            raise FarmError("The model has no TextSimilarityHead to score with.")
        return heads[0]

    def _embed(self, dataset: FeatureDataset, queries: bool) -> np.ndarray:
        """Vectors of a dataset of queries or of one-passage samples, in dataset order."""
        order = np.argsort(dataset.lengths, kind="stable")
        collate = Collator(dataset.pad_values)
        out = np.zeros((len(dataset), self.retriever.language_model1.hidden_size), np.float32)
        with torch.inference_mode():
            for begin in tqdm(range(0, len(order), self.batch_size), desc="Embedding",
                              disable=self.disable_tqdm):
                check_cancelled()
                rows = order[begin : begin + self.batch_size]
                batch = self._to_device(collate([dataset[i] for i in rows]))
                if queries:
                    vectors = self.retriever.embed_queries(
                        batch["query_input_ids"], batch["query_segment_ids"],
                        batch["query_padding_mask"])
                else:
                    vectors = self.retriever.embed_passages(
                        batch["passage_input_ids"][:, 0], batch["passage_segment_ids"][:, 0],
                        batch["passage_padding_mask"][:, 0])
                out[rows] = vectors.float().cpu().numpy()
        return out

    def _to_device(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return {k: v.to(self.device) for k, v in batch.items()}


def _cpu(tensor: Tensor | None) -> Tensor | None:
    return tensor.float().cpu() if tensor is not None else None


def _refuse_problematic(problematic: set[Any], what: str) -> None:
    """Vectors are returned in input order, so no input may be skipped."""
    if problematic:
        raise FarmError(
            f"{what} at positions {sorted(problematic)[:10]} cannot be encoded (see the log "
            f"for why); give non-empty texts so every input gets a vector."
        )
