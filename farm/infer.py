"""Predictions from a trained model (FARM's ``farm.infer.Inferencer``)."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from farm.cancel import check_cancelled
from farm.compat import FeatureRemovedError, log_once, removed_class
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
# Input dicts per chunk of ``inference_from_dicts(..., streaming=True)`` (rounded up to a
# multiple of ``batch_size``, so the results are grouped as without streaming).
DEFAULT_STREAMING_CHUNKSIZE = 256
_S3E = ("S3E pooling of word embeddings was removed with the word-embedding models",
        "extraction_strategy='reduce_mean' on a transformer encoder (see docs/embeddings.md)")


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
        extraction_strategy (str | None): FARM's way to get vectors: with it (or
            ``task_type="embeddings"``) only the model's language model runs, pooled this
            way (see ``Inferencer.load``).
        extraction_layer (int | None): The layer for ``extraction_strategy``.
        s3e_stats (Any): FARM's S3E statistics; S3E no longer exists (``FarmError``).
        num_processes (int | None): FARM's inference process pool; accepted (with a warning
            for a number above 0): inputs are tokenized in batches by the fast tokenizer.
        benchmarking (bool): FARM's timing switch; accepted with a warning, no effect.
        dummy_ph (bool): FARM's benchmarking switch; accepted with a warning, no effect.

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
        extraction_strategy: str | None = None,
        extraction_layer: int | None = None,
        s3e_stats: Any = None,
        num_processes: int | None = None,
        benchmarking: bool = False,
        dummy_ph: bool = False,
    ):
        _check_farm_options(s3e_stats=s3e_stats, num_processes=num_processes,
                            benchmarking=benchmarking, dummy_ph=dummy_ph)
        if (task_type == "embeddings" or extraction_strategy is not None) and not isinstance(
                model, EmbeddingModel | OnnxAdaptiveModel):
            # FARM's Inferencer dropped the heads and pooled the language model's vectors.
            strategy = extraction_strategy or "cls_token"
            _check_strategy(strategy)
            model = EmbeddingModel(model.language_model, strategy, extraction_layer)
            processor = InferenceProcessor(processor.tokenizer, max_seq_len=processor.max_seq_len)
            task_type = "embeddings"
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
        tokenizer_class: str | None = None,
        use_fast: bool = True,
        tokenizer_args: dict[str, Any] | None = None,
        multithreading_rust: bool = True,
        s3e_stats: Any = None,
        dummy_ph: bool = False,
        benchmarking: bool = False,
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
            num_processes (int | None): Accepted for FARM compatibility (with a warning for a
                number above 0); tokenization is batched in the fast tokenizer, so no
                process pool is used.
            disable_tqdm (bool): Hide the progress bar.
            strict (bool): Require saved head weights to match exactly.
            max_tokens_per_batch (int | None): Padded tokens per model batch (see the class).
            torch_compile (bool): Compile the model with ``torch.compile``.
            tokenizer_class (str | None): FARM's tokenizer class name; accepted with a
                warning (the tokenizer is read from the model's folder).
            use_fast (bool): FARM's switch for slow tokenizers; only fast tokenizers are
                used (``False`` is accepted with a warning).
            tokenizer_args (dict[str, Any] | None): FARM's extra tokenizer arguments;
                accepted with a warning (the saved tokenizer's settings are used).
            multithreading_rust (bool): FARM's switch for the tokenizer's threads;
                ``False`` is accepted with a warning (set ``RAYON_NUM_THREADS=1`` instead).
            s3e_stats (Any): FARM's S3E statistics; S3E no longer exists (``FarmError``).
            dummy_ph (bool): FARM's benchmarking switch; accepted with a warning.
            benchmarking (bool): FARM's timing switch; accepted with a warning.

        Returns:
            Inferencer: Ready to predict.
        """
        _check_farm_options(s3e_stats=s3e_stats, num_processes=num_processes,
                            benchmarking=benchmarking, dummy_ph=dummy_ph)
        for name, value, default in (("tokenizer_class", tokenizer_class, None),
                                     ("use_fast", use_fast, True),
                                     ("tokenizer_args", tokenizer_args, None),
                                     ("multithreading_rust", multithreading_rust, True)):
            if value != default:
                log_once(f"Inferencer.load:{name}",
                          f"Inferencer.load({name}={value!r}) has no effect: the model's fast "
                          "tokenizer is loaded as saved with it.")
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
        dicts: Iterable[dict[str, Any]],
        return_json: bool = True,
        multiprocessing_chunksize: int | None = None,
        streaming: bool = False,
    ) -> Any:
        """Predict for a list of input dicts (e.g. ``[{"text": "..."}]``).

        Args:
            dicts (Iterable[dict[str, Any]]): The inputs (with ``streaming``, any iterable).
            return_json (bool): ``True``: JSON-able dicts (the documented result shapes).
                ``False``: FARM's objects: a ``QAPred`` per question for question answering,
                a flat list ``[{"context", "vec": np.ndarray}]`` for embeddings, numpy
                float32 probabilities and predictions in the other tasks' dicts.
            multiprocessing_chunksize (int | None): With ``streaming``, input dicts
                processed per chunk (default 256, rounded up to a multiple of
                ``batch_size``); without it, accepted for FARM compatibility.
            streaming (bool): Return a generator that yields the results chunk by chunk
                while it reads ``dicts``, instead of a list: the same results in the same
                order, without holding them all in memory.

        Returns:
            list[Any]: Per ``batch_size`` inputs and per head,
            ``{"task", "task_name", "predictions"}``, in input order (one per question for
            question answering). With ``streaming=True`` a generator of the same items.
        """
        if streaming:
            return self._stream(dicts, return_json, multiprocessing_chunksize)
        if multiprocessing_chunksize is not None:
            log_once("inference_from_dicts:multiprocessing_chunksize",
                      "inference_from_dicts(multiprocessing_chunksize=...) has an effect only "
                      "with streaming=True (inputs read per chunk); no process pool is used.")
        return _farm_objects(self._predict(list(dicts), return_json), return_json)

    def run_inference(self, dicts: Iterable[dict[str, Any]], return_json: bool = True) -> Any:
        """FARM's old name of :meth:`inference_from_dicts` (deprecated)."""
        log_once("Inferencer.run_inference", "Inferencer.run_inference is FARM's old name; "
                  "use inference_from_dicts (the same results).")
        return self.inference_from_dicts(dicts, return_json=return_json)

    def extract_vectors(
        self, dicts: list[dict[str, Any]], extraction_strategy: str = "cls_token",
        extraction_layer: int = -1,
    ) -> list[dict[str, Any]]:
        """FARM's deprecated way to get vectors from the model's language model: a flat list
        ``[{"context", "vec": np.ndarray}]``, one per input dict. Prefer
        ``Inferencer.load(model, task_type="embeddings", extraction_strategy=...)``.

        Args:
            dicts (list[dict[str, Any]]): ``[{"text": ...}]``.
            extraction_strategy (str): ``"cls_token"``, ``"reduce_mean"``, ``"reduce_max"``,
                ``"per_token"`` or ``"pooled"``.
            extraction_layer (int): The layer (-1: the last).
        """
        log_once("Inferencer.extract_vectors", "Inferencer.extract_vectors is deprecated (as "
                  "in FARM): load the model with task_type='embeddings' and call "
                  "inference_from_dicts.")
        _check_strategy(extraction_strategy)
        model = EmbeddingModel(self.model.language_model, extraction_strategy, extraction_layer)
        processor = InferenceProcessor(self.processor.tokenizer,
                                       max_seq_len=self.processor.max_seq_len)
        embedder = Inferencer(model, processor, task_type="embeddings",
                              batch_size=self.batch_size, gpu=self.device.type == "cuda",
                              disable_tqdm=self.disable_tqdm,
                              max_tokens_per_batch=self.max_tokens_per_batch)
        return list(embedder.inference_from_dicts(dicts, return_json=False))

    def inference_from_file(
        self,
        file: str | Path,
        multiprocessing_chunksize: int | None = None,
        return_json: bool = True,
        streaming: bool = False,
    ) -> Any:
        """Read ``file`` with the model's processor and predict for every input in it
        (arguments as :meth:`inference_from_dicts`)."""
        return self.inference_from_dicts(
            self.processor.file_to_dicts(file), return_json=return_json,
            multiprocessing_chunksize=multiprocessing_chunksize, streaming=streaming)

    def _stream(self, dicts: Iterable[dict[str, Any]], return_json: bool,
                chunksize: int | None) -> Iterator[Any]:
        """The results of ``dicts`` chunk by chunk (chunks a multiple of ``batch_size``)."""
        size = DEFAULT_STREAMING_CHUNKSIZE if chunksize is None else chunksize
        if size < 1:
            raise ValueError(f"multiprocessing_chunksize must be positive; got {size}.")
        size = math.ceil(size / self.batch_size) * self.batch_size
        inputs = iter(dicts)
        while chunk := list(itertools.islice(inputs, size)):
            yield from _farm_objects(self._predict(chunk, return_json), return_json)

    def _predict(self, dicts: list[dict[str, Any]], return_json: bool = True
                 ) -> list[dict[str, Any]]:
        """The results of a list of dicts (QA heads give ``QAPred`` objects as predictions
        when ``return_json`` is False)."""
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
                return_class_probs=self.return_class_probs, return_json=return_json,
            )
        return results

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
                check_cancelled()  # a served request whose client left stops here
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
        multiprocessing_chunksize: int | None = None, streaming: bool = False,
    ) -> Any:
        """Predict for ``QAInput`` objects (or dicts); ``return_json=False`` gives a
        ``QAPred`` per question (arguments as :meth:`inference_from_dicts`)."""
        return self.inference_from_dicts(
            [o.to_dict() if hasattr(o, "to_dict") else o for o in objects],
            return_json=return_json, multiprocessing_chunksize=multiprocessing_chunksize,
            streaming=streaming,
        )


FasttextInferencer = removed_class(
    "FasttextInferencer", "fasttext word-embedding models are not supported any more",
    "a transformer encoder: Inferencer.load(model_folder, task_type='embeddings', "
    "extraction_strategy='reduce_mean')",
)


def _check_farm_options(s3e_stats: Any, num_processes: int | None, benchmarking: bool,
                        dummy_ph: bool) -> None:
    """FARM's Inferencer options: S3E is gone, the others have no effect any more."""
    if s3e_stats is not None:
        raise FeatureRemovedError(
            f"s3e_stats was part of FARM 0.8 and is not available any more: {_S3E[0]}. "
            f"Instead: {_S3E[1]} (see docs/migrating_from_farm.md).")
    if num_processes not in (None, 0):
        log_once("Inferencer:num_processes",
                  f"Inferencer num_processes={num_processes} has no effect: inputs are "
                  "tokenized in batches by the fast tokenizer, without a process pool.")
    for name, value in (("benchmarking", benchmarking), ("dummy_ph", dummy_ph)):
        if value:
            log_once(f"Inferencer:{name}", f"Inferencer {name}=True has no effect (FARM's "
                      "benchmarking switch); time inference_from_dicts yourself.")


def _check_strategy(strategy: str) -> None:
    if strategy == "s3e":
        raise FeatureRemovedError(
            f"extraction_strategy='s3e' was part of FARM 0.8 and is not available any more: "
            f"{_S3E[0]}. Instead: {_S3E[1]} (see docs/migrating_from_farm.md).")
    check_choice(strategy, EXTRACTION_STRATEGIES, "extraction_strategy")


def _farm_objects(results: list[dict[str, Any]], return_json: bool) -> list[Any]:
    """``results`` as FARM returned them when ``return_json`` is False: the QA heads'
    ``QAPred`` objects one by one, embeddings as a flat list with numpy vectors, and numpy
    float32 numbers in the other tasks' predictions."""
    if return_json:
        return results
    objects: list[Any] = []
    for result in results:
        if result["task"] == "qa":
            objects += result["predictions"]
        elif result["task"] == "embeddings":
            objects += [{**p, "vec": np.asarray(p["vec"], dtype=np.float32)}
                        for p in result["predictions"]]
        else:
            objects.append({**result, "predictions": _as_numpy(result["predictions"])})
    return objects


def _as_numpy(predictions: list[Any]) -> list[Any]:
    """Classification, regression and NER predictions with numpy float32 numbers, as FARM
    returned them (``probability``, ``pred``, ``probabilities``)."""
    converted: list[Any] = []
    for prediction in predictions:
        if isinstance(prediction, list):  # NER: the spans of one input
            converted.append(_as_numpy(prediction))
        elif isinstance(prediction, dict):
            converted.append({
                k: (np.float32(v) if k in ("probability", "pred") and isinstance(v, float)
                    else np.asarray(v, dtype=np.float32)
                    if k == "probabilities" or (k == "probability" and isinstance(v, list))
                    else v)
                for k, v in prediction.items()})
        else:
            converted.append(prediction)
    return converted


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
    _check_strategy(strategy)
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
