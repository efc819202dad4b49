"""Predictions from a trained model (FARM's ``farm.infer.Inferencer``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from farm.conversion.onnx_model import OnnxAdaptiveModel
from farm.data_handler.dataset import Collator
from farm.data_handler.processors import InferenceProcessor, Processor
from farm.data_handler.samplers import length_sorted_batches
from farm.errors import FarmError, check_choice
from farm.model_folder import (
    FolderKind,
    ModelFolder,
    inspect_folder,
    looks_like_hub_name,
    not_a_model,
)
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.biadaptive_model import BiAdaptiveModel
from farm.modeling.embeddings import EXTRACTION_STRATEGIES, EmbeddingModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.tokenization import Tokenizer, check_model_vocabulary

logger = logging.getLogger(__name__)

# Padded tokens per model batch. On a 2-core CPU, MiniLM's throughput peaks between 1,024 and
# 2,048 tokens and falls beyond (cache pressure; see docs/speed.md); GPUs want far larger
# batches (a choice, not measured here).
DEFAULT_MAX_TOKENS = {"cpu": 2048, "cuda": 16384}


class Inferencer:
    """Runs a trained model on dicts or files and returns FARM-shaped predictions.

    Inputs are processed in batches of similar length (little padding); results come back
    in input order, as one ``{"task", "task_name", "predictions"}`` dict per head and per
    ``batch_size`` inputs (FARM's format): ``result[0]["predictions"]`` holds the first
    ``batch_size`` predictions.

    Args:
        model (AdaptiveModel): The model.
        processor (Processor): Turns input dicts into features.
        task_type (str | None): The task (informational for trained models).
        batch_size (int): Inputs per result dict.
        gpu (bool): Run on the GPU if one is available.
        max_tokens_per_batch (int | None): The model runs on batches of inputs of similar
            length, as many as fit in this many (padded) tokens, whatever ``batch_size`` is:
            large batches of short texts, small batches of long ones. Default: 2,048 on the
            CPU, 16,384 on a GPU.
        torch_compile (bool): Compile the model with ``torch.compile`` (dynamic shapes); the
            first batches are slow while it compiles.
        name (str | None): A name for the model (used by the REST API).
        return_class_probs (bool): Add every class's probability to classification results.
        disable_tqdm (bool): Hide the progress bar.

    Example:
        >>> inferencer = Inferencer.load("saved_models/sentiment")
        >>> result = inferencer.inference_from_dicts([{"text": "A great film."}])
        >>> result[0]["predictions"][0]["label"], result[0]["predictions"][0]["probability"]
    """

    def __init__(
        self,
        model: AdaptiveModel,
        processor: Processor,
        task_type: str | None = None,
        batch_size: int = 4,
        gpu: bool = False,
        name: str | None = None,
        return_class_probs: bool = False,
        disable_tqdm: bool = False,
        max_tokens_per_batch: int | None = None,
        torch_compile: bool = False,
    ):
        self.device = torch.device("cuda" if gpu and torch.cuda.is_available() else "cpu")
        if max_tokens_per_batch is None:
            max_tokens_per_batch = DEFAULT_MAX_TOKENS.get(self.device.type, 2048)
        if max_tokens_per_batch < 1:
            raise ValueError(f"max_tokens_per_batch must be positive; got {max_tokens_per_batch}.")
        self.model = model.to(self.device).eval()
        self.max_tokens_per_batch = max_tokens_per_batch
        self._forward: Any = torch.compile(self.model, dynamic=True) if torch_compile else (
            self.model)
        self.processor = processor
        self.task_type = task_type
        self.batch_size = batch_size
        self.name = name
        self.return_class_probs = return_class_probs
        self.disable_tqdm = disable_tqdm

    @classmethod
    def load(
        cls,
        model_name_or_path: str | Path,
        revision: str | None = None,
        task_type: str | None = None,
        batch_size: int = 4,
        gpu: bool = False,
        max_seq_len: int = 256,
        doc_stride: int = 128,
        return_class_probs: bool = False,
        extraction_strategy: str | None = None,
        extraction_layer: int | None = None,
        num_processes: int | None = None,
        disable_tqdm: bool = False,
        strict: bool = True,
        max_tokens_per_batch: int | None = None,
        torch_compile: bool = False,
    ) -> Inferencer:
        """Load a saved FARM model, or a Hugging Face model folder with a ``task_type``.

        Args:
            model_name_or_path (str | Path): A folder written by ``model.save`` /
                ``EarlyStopping``, a folder written by ``model.convert_to_onnx`` (run on
                ONNX Runtime), or a Hugging Face model (folder or hub name). A saved or
                exported ``BiAdaptiveModel`` gives a ``TextSimilarityInferencer``.
            revision (str | None): Hub revision of a Hugging Face model.
            task_type (str | None): Needed for Hugging Face models: ``"text_classification"``,
                ``"multilabel_text_classification"``, ``"regression"``,
                ``"text_pair_classification"``, ``"text_pair_regression"``, ``"ner"`` or
                ``"question_answering"``; the
                model's head weights are converted (a plain encoder gets an untrained head,
                its labels from ``id2label``).
                ``"embeddings"``: vectors of the language model (of a FARM model or a
                Hugging Face folder), no head needed. Otherwise ignored for FARM models.
            batch_size (int): Inputs per result dict (FARM's format).
            gpu (bool): Use the GPU if available.
            max_seq_len (int): Maximum tokens per input (capped at what the model supports).
            doc_stride (int): Stride of passages for tasks that split long inputs.
            return_class_probs (bool): Return every class's probability too.
            extraction_strategy (str | None): Embeddings: ``"cls_token"`` (default),
                ``"reduce_mean"``, ``"reduce_max"``, ``"per_token"`` or ``"pooled"``.
                Question answering accepts ``"per_token"`` (what it uses anyway).
            extraction_layer (int | None): Embeddings: the layer (-1, the default, is the
                last; -2 the one before).
            num_processes (int | None): Accepted for FARM compatibility; tokenization is
                batched in the fast tokenizer, so no process pool is used.
            disable_tqdm (bool): Hide the progress bar.
            strict (bool): Require saved head weights to match exactly.
            max_tokens_per_batch (int | None): Padded tokens per model batch (see the class).
            torch_compile (bool): Compile the model with ``torch.compile``.

        Returns:
            Inferencer: Ready to predict.
        """
        path = Path(model_name_or_path)
        folder = _model_folder(model_name_or_path, task_type)
        if task_type == "question_answering":
            # FARM's QA scripts pass extraction_strategy="per_token": what QA uses anyway.
            check_choice(extraction_strategy or "per_token", ["per_token"],
                         "extraction_strategy for question answering")
            extraction_strategy = None
        onnx = folder.kind in (FolderKind.ONNX_EXPORT, FolderKind.ONNX_BI_EXPORT)
        if task_type == "embeddings" or extraction_strategy is not None or (
            extraction_layer is not None
        ):
            if folder.kind not in (FolderKind.FARM_MODEL, FolderKind.HUGGING_FACE,
                                   FolderKind.NOT_FOUND):
                raise FarmError(
                    f"{path} is {folder.kind.value}; embeddings (task_type='embeddings', "
                    "extraction_strategy) come from the language model of a saved FARM "
                    "model or a Hugging Face folder. A dense retriever gives its vectors "
                    "with Inferencer.load(path).embed_queries / embed_passages."
                )
            model, processor = _embedding_model(
                model_name_or_path, task_type, extraction_strategy, extraction_layer, revision
            )
            task_type = "embeddings"
        elif onnx and torch_compile:
            raise FarmError(f"{path} is an ONNX export, run on ONNX Runtime: torch_compile "
                            "applies to PyTorch models only. Drop torch_compile=True.")
        elif folder.kind in (FolderKind.BI_ADAPTIVE_MODEL, FolderKind.ONNX_BI_EXPORT):
            from farm.infer_similarity import TextSimilarityInferencer  # builds on this module

            return TextSimilarityInferencer.from_saved(
                path, batch_size=batch_size, gpu=gpu, disable_tqdm=disable_tqdm, strict=strict)
        elif folder.kind is FolderKind.ONNX_EXPORT:
            model = OnnxAdaptiveModel.load(path, gpu=gpu)  # type: ignore[assignment]
            processor = Processor.load_from_dir(path)
            check_model_vocabulary(model, processor, path)
            task_type = task_type or str(model.heads[0].task_type)
        elif folder.kind is FolderKind.FARM_MODEL:
            model, processor = load_saved_model(path, strict=strict)
            task_type = task_type or str(model.heads[0].task_type)
        else:
            model, processor = _from_hugging_face(model_name_or_path, task_type, revision)
        processor.max_seq_len = _usable_length(max_seq_len, model, processor)
        if hasattr(processor, "doc_stride"):
            processor.doc_stride = doc_stride
        return cls(
            model=model, processor=processor, task_type=task_type, batch_size=batch_size,
            gpu=gpu, name=path.name, return_class_probs=return_class_probs,
            disable_tqdm=disable_tqdm, max_tokens_per_batch=max_tokens_per_batch,
            torch_compile=torch_compile,
        )

    def inference_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        return_json: bool = True,
        multiprocessing_chunksize: int | None = None,
    ) -> list[dict[str, Any]]:
        """Predict for a list of input dicts (e.g. ``[{"text": "..."}]``).

        Args:
            dicts (list[dict[str, Any]]): The inputs.
            return_json (bool): Accepted for FARM compatibility; results are always dicts.
            multiprocessing_chunksize (int | None): Accepted for FARM compatibility.

        Returns:
            list[dict[str, Any]]: Per ``batch_size`` inputs and per head,
            ``{"task", "task_name", "predictions"}``, in input order.
        """
        if not dicts:
            return []
        dataset, _, _, baskets = self.processor.dataset_from_dicts(
            dicts, return_baskets=True, log_sample=False
        )
        logits = self._logits_per_sample(dataset)
        # Dataset rows are the baskets' samples in order; a basket may hold several.
        first_row = np.cumsum([0] + [len(b.samples) for b in baskets])
        # Question answering gives one result dict per question, as FARM did.
        per_basket = any(h.result_per_basket for h in self.model.heads)
        group = 1 if per_basket else self.batch_size
        results = []
        for begin in range(0, len(baskets), group):
            end = min(begin + group, len(baskets))
            rows = range(first_row[begin], first_row[end])
            group_logits = [_pad_stack([per_head[r] for r in rows]) for per_head in logits]
            results += self.model.formatted_preds(
                logits=group_logits, baskets=baskets[begin:end],
                return_class_probs=self.return_class_probs,
            )
        return results

    def inference_from_file(
        self,
        file: str | Path,
        multiprocessing_chunksize: int | None = None,
        return_json: bool = True,
    ) -> list[dict[str, Any]]:
        """Read ``file`` with the model's processor and predict for every input in it."""
        return self.inference_from_dicts(self.processor.file_to_dicts(file))

    def _logits_per_sample(self, dataset: Any) -> list[list[Tensor]]:
        """Each head's logits per sample, computed in length-sorted batches (per-token
        logits cut to the sample's length)."""
        lengths = dataset.lengths
        per_token = [t == "per_token" for t in self.model.lm_output_types]
        collate = Collator(dataset.pad_values)
        n_heads = len(self.model.heads)
        per_sample: list[list[Tensor | None]] = [[None] * len(dataset) for _ in range(n_heads)]
        batches = length_sorted_batches(lengths, self.max_tokens_per_batch)
        with torch.inference_mode():
            for indices in tqdm(batches, desc="Inferencing", disable=self.disable_tqdm):
                batch = collate([dataset[i] for i in indices])
                batch = {k: v.to(self.device) for k, v in batch.items()}
                for head, head_logits in enumerate(self._forward(**batch)):
                    head_logits = head_logits.float().cpu()
                    for row, i in enumerate(indices):
                        cut = lengths[i] if per_token[head] else None
                        per_sample[head][i] = head_logits[row, :cut]
        return per_sample  # type: ignore[return-value]

    def save(self, path: str | Path) -> None:
        """Save model and processor so that :meth:`load` can open ``path``."""
        self.model.save(path)
        self.processor.save(path)

    def close_multiprocessing_pool(self, join: bool = False) -> None:
        """Kept for FARM compatibility: no process pool is used."""


def load_saved_model(path: str | Path, strict: bool = True) -> tuple[Any, Processor]:
    """A saved FARM model (``AdaptiveModel`` or ``BiAdaptiveModel``, in PyTorch, on the CPU)
    and its processor, their vocabularies checked against each other.

    Raises:
        ModelFolderError: ``path`` is not such a folder, or a file in it is missing or
            damaged (the message names it).
    """
    folder = inspect_folder(path)
    model: Any = (BiAdaptiveModel.load(path, strict=strict)
                  if folder.kind is FolderKind.BI_ADAPTIVE_MODEL
                  else AdaptiveModel.load(path, strict=strict))
    processor = Processor.load_from_dir(path)
    check_model_vocabulary(model, processor, path)
    return model, processor


def _model_folder(name_or_path: str | Path, task_type: str | None) -> ModelFolder:
    """What ``name_or_path`` is, refusing paths no model loads from (a path that does not
    exist is allowed as a hub name when a task type is given)."""
    folder = inspect_folder(name_or_path)
    hub_name = folder.kind is FolderKind.NOT_FOUND and looks_like_hub_name(name_or_path)
    if hub_name and task_type is not None:
        return folder
    if folder.kind in (FolderKind.NOT_FOUND, FolderKind.FILE, FolderKind.NOTHING,
                       FolderKind.CHECKPOINT, FolderKind.CHECKPOINTS, FolderKind.DPR_ENCODERS):
        raise not_a_model(folder, hub_hint=hub_name)
    return folder


class QAInferencer(Inferencer):
    """An :class:`Inferencer` for question answering models; also takes ``QAInput`` objects.

    Results come as one ``{"task": "qa", "predictions": [prediction]}`` dict per question,
    in input order (see ``docs/question_answering.md``).

    Example:
        >>> inferencer = QAInferencer.load("saved_models/qa", task_type="question_answering")
        >>> result = inferencer.inference_from_dicts(
        ...     [{"questions": ["Who wrote Faust?"], "text": "Faust was written by Goethe."}])
        >>> result[0]["predictions"][0]["answers"][0]["answer"]
    """

    def inference_from_objects(
        self, objects: list[Any], return_json: bool = True,
        multiprocessing_chunksize: int | None = None,
    ) -> list[dict[str, Any]]:
        """Predict for ``QAInput`` objects (or dicts)."""
        return self.inference_from_dicts(
            [o.to_dict() if hasattr(o, "to_dict") else o for o in objects]
        )


def _pad_stack(tensors: list[Tensor]) -> Tensor:
    """Stack per-sample tensors, zero-padding their first dimension to the longest."""
    if not tensors:
        return torch.zeros(0)
    if all(t.shape == tensors[0].shape for t in tensors):
        return torch.stack(tensors)
    width = max(t.shape[0] for t in tensors)
    out = tensors[0].new_zeros((len(tensors), width, *tensors[0].shape[1:]))
    for row, tensor in enumerate(tensors):
        out[row, : tensor.shape[0]] = tensor
    return out


def _from_hugging_face(
    name_or_path: str | Path, task_type: str | None, revision: str | None
) -> tuple[AdaptiveModel, Processor]:
    """A Hugging Face model with its head converted (an untrained head for a plain
    encoder), and the processor of ``task_type`` (see ``farm.conversion.hf_inference``)."""
    from farm.conversion.hf_inference import load_hugging_face

    return load_hugging_face(name_or_path, task_type, revision)


def _embedding_model(
    name_or_path: str | Path, task_type: str | None, extraction_strategy: str | None,
    extraction_layer: int | None, revision: str | None,
) -> tuple[AdaptiveModel, Processor]:
    """An :class:`EmbeddingModel` on the language model of a FARM or Hugging Face folder."""
    if task_type not in (None, "embeddings"):
        raise FarmError(
            f"extraction_strategy/extraction_layer are for task_type='embeddings', but "
            f"task_type={task_type!r} was given. Drop them, or use task_type='embeddings'."
        )
    strategy = extraction_strategy or "cls_token"
    check_choice(strategy, EXTRACTION_STRATEGIES, "extraction_strategy")
    extra: dict[str, Any] = {"revision": revision} if revision else {}
    language_model = LanguageModel.load(name_or_path, **extra)
    tokenizer = Tokenizer.load(name_or_path, **extra)
    model = EmbeddingModel(language_model, strategy, extraction_layer)
    processor = InferenceProcessor(tokenizer, max_seq_len=256)
    check_model_vocabulary(model, processor, name_or_path)
    return model, processor


def _usable_length(max_seq_len: int, model: AdaptiveModel, processor: Processor) -> int:
    """``max_seq_len`` capped by the tokenizer's and the model's maximum length."""
    limits = [max_seq_len, getattr(model.language_model.config, "max_position_embeddings", 0)]
    tokenizer_max = getattr(processor.tokenizer, "model_max_length", 0)
    limits.append(tokenizer_max if 0 < tokenizer_max < 100_000 else 0)
    return min(limit for limit in limits if limit > 0)
