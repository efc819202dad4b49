"""Two encoders, one for queries and one for passages, with heads on their vectors (DPR)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from farm import __version__
from farm.errors import FarmError, ModelFolderError, check_choice
from farm.model_folder import FolderKind, inspect_folder, not_a_model
from farm.modeling import dpr_conversion
from farm.modeling.embeddings import pool_tokens
from farm.modeling.head_checks import check_task_type
from farm.modeling.language_model import LanguageModel
from farm.modeling.loss_aggregation import LossAggregation, WeightedSum
from farm.modeling.prediction_heads import PredictionHead, TextSimilarityHead
from farm.modeling.prediction_heads.base import load_heads
from farm.serialization import apply_umask_to_weights, confined_path, require_fields

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MODEL_META = "farm_model.json"
POOLING = ("cls_token", "reduce_mean", "pooled")


def text_vectors(language_model: nn.Module, pooling: str, input_ids: Tensor,
                 segment_ids: Tensor | None, padding_mask: Tensor | None) -> Tensor:
    """One vector per text ``(batch, hidden)`` of ``(batch, seq_len)`` inputs, pooled as
    ``pooling`` says (see :class:`BiAdaptiveModel`)."""
    if padding_mask is None:
        padding_mask = torch.ones_like(input_ids)
    sequence_output, pooled_output = language_model(
        input_ids=input_ids, segment_ids=segment_ids, padding_mask=padding_mask)[:2]
    if pooling == "pooled":
        return pooled_output  # (batch, hidden)
    return pool_tokens(sequence_output, padding_mask, pooling)  # (batch, hidden)


class BiEncoderHeads:
    """What a dense retriever does with its two encoders, whatever runs them (PyTorch in
    :class:`BiAdaptiveModel`, ONNX Runtime in ``OnnxBiAdaptiveModel``): passage groups,
    the heads on the vectors, and the heads' results. Subclasses give ``_query_vectors``
    and ``_passage_vectors`` of ``(batch, seq_len)`` inputs."""

    prediction_heads: nn.ModuleList
    dropout: nn.Module
    language_model1: Any

    def _query_vectors(self, input_ids: Tensor, segment_ids: Tensor | None,
                       padding_mask: Tensor | None) -> Tensor:
        raise NotImplementedError

    def _passage_vectors(self, input_ids: Tensor, segment_ids: Tensor | None,
                         padding_mask: Tensor | None) -> Tensor:
        raise NotImplementedError

    @property
    def language_model(self) -> Any:
        """The query encoder (what single-encoder code, such as tracking, describes)."""
        return self.language_model1

    @property
    def heads(self) -> list[PredictionHead]:
        """The prediction heads, in order."""
        return cast(list[PredictionHead], list(self.prediction_heads))

    @property
    def lm_output_types(self) -> list[str]:
        """One ``"per_sequence"`` per head."""
        return ["per_sequence"] * len(self.heads)

    def embed_queries(self, query_input_ids: Tensor, query_segment_ids: Tensor | None = None,
                      query_padding_mask: Tensor | None = None) -> Tensor:
        """Query vectors ``(batch, hidden)`` of ``(batch, query_len)`` inputs."""
        return self._query_vectors(query_input_ids, query_segment_ids, query_padding_mask)

    def embed_passages(self, passage_input_ids: Tensor,
                       passage_segment_ids: Tensor | None = None,
                       passage_padding_mask: Tensor | None = None) -> Tensor:
        """Passage vectors: ``(batch, hidden)`` of ``(batch, passage_len)`` inputs, or
        ``(batch, n_passages, hidden)`` of ``(batch, n_passages, passage_len)`` inputs (rows
        whose padding mask is all zero are absent passages: not encoded, zero vectors)."""
        if passage_input_ids.dim() == 2:
            return self._passage_vectors(passage_input_ids, passage_segment_ids,
                                         passage_padding_mask)
        batch, n_passages, width = passage_input_ids.shape
        flat_ids = passage_input_ids.reshape(-1, width)  # (batch * n_passages, len)
        flat_mask = (passage_padding_mask.reshape(-1, width) if passage_padding_mask is not None
                     else torch.ones_like(flat_ids))
        flat_segments = (passage_segment_ids.reshape(-1, width)
                         if passage_segment_ids is not None else None)
        present = flat_mask.amax(dim=1) > 0  # (batch * n_passages,)
        vectors = self._passage_vectors(
            flat_ids[present], flat_segments[present] if flat_segments is not None else None,
            flat_mask[present],
        )  # (n_present, hidden)
        out = vectors.new_zeros((flat_ids.shape[0], vectors.shape[-1]))
        out[present] = vectors
        return out.view(batch, n_passages, -1)  # (batch, n_passages, hidden)

    def forward(self, **batch: Tensor) -> list[Any]:
        """Each head's output for a batch: ``head(query_vectors, passage_vectors)``, where
        a vector group is None if the batch has no inputs for it."""
        queries = passages = None
        if "query_input_ids" in batch:
            queries = self.dropout(self.embed_queries(
                batch["query_input_ids"], batch.get("query_segment_ids"),
                batch.get("query_padding_mask")))
        if "passage_input_ids" in batch:
            passages = self.dropout(self.embed_passages(
                batch["passage_input_ids"], batch.get("passage_segment_ids"),
                batch.get("passage_padding_mask")))
        if queries is None and passages is None:
            raise FarmError(f"The batch has neither query_input_ids nor passage_input_ids; "
                            f"it has {sorted(batch)}.")
        return [head(queries, passages) for head in self.heads]

    def formatted_preds(self, logits: list[Any], baskets: list[Any], **kwargs: Any
                        ) -> list[dict[str, Any]]:
        """One ``{"task", "task_name", "predictions"}`` dict per head for these baskets."""
        return [{"task": head.task_type, "task_name": head.task_name,
                 "predictions": head.formatted_preds(logits=head_logits, baskets=baskets,
                                                     **kwargs)}
                for head, head_logits in zip(self.heads, logits, strict=True)]


class BiAdaptiveModel(BiEncoderHeads, nn.Module):
    """A query encoder and a passage encoder (two language models, or one shared) whose
    vectors feed prediction heads, such as :class:`TextSimilarityHead` for DPR.

    Batches carry ``query_input_ids``, ``query_segment_ids``, ``query_padding_mask``
    ``(batch, query_len)`` and ``passage_*`` ``(batch, n_passages, passage_len)``; either
    group may be absent (embedding only queries, or only passages).

    Args:
        language_model1 (LanguageModel): The query encoder.
        language_model2 (LanguageModel | None): The passage encoder; the same object (or
            None) shares one encoder between queries and passages.
        prediction_heads (Sequence[PredictionHead]): Heads that take ``(query_vectors,
            passage_vectors)``.
        embeds_dropout_prob (float): Dropout on the vectors while training.
        device (str | torch.device): Where the model lives.
        lm1_output_types (str | Sequence[str]): ``"per_sequence"`` (the only kind).
        lm2_output_types (str | Sequence[str]): ``"per_sequence"`` (the only kind).
        loss_aggregation_fn (LossAggregation | None): Combines the heads' per-query losses
            (default: their sum weighted by ``loss_weights``).
        loss_weights (Sequence[float] | None): Weight of each head's loss (default 1 each).
        pooling (str): How a text's vector is made: ``"cls_token"`` (the first token's
            last-layer vector, as DPR; converts to Hugging Face DPR classes),
            ``"reduce_mean"`` (mean over tokens, as sentence-transformers models such as
            MiniLM were trained) or ``"pooled"`` (the model's pooler output).

    Example:
        >>> model = BiAdaptiveModel(
        ...     language_model1=LanguageModel.load("bert-base-uncased"),
        ...     language_model2=LanguageModel.load("bert-base-uncased"),
        ...     prediction_heads=[TextSimilarityHead(similarity_function="dot_product")],
        ...     embeds_dropout_prob=0.1, device="cpu")
        >>> query_vectors = model.embed_queries(query_input_ids=ids, query_padding_mask=mask)
    """

    def __init__(
        self,
        language_model1: LanguageModel,
        language_model2: LanguageModel | None,
        prediction_heads: Sequence[PredictionHead],
        embeds_dropout_prob: float = 0.1,
        device: str | torch.device = "cpu",
        lm1_output_types: str | Sequence[str] = "per_sequence",
        lm2_output_types: str | Sequence[str] = "per_sequence",
        loss_aggregation_fn: LossAggregation | None = None,
        loss_weights: Sequence[float] | None = None,
        pooling: str = "cls_token",
    ):
        super().__init__()
        if not prediction_heads:
            raise ValueError("BiAdaptiveModel needs at least one prediction head.")
        for argument, types in (("lm1_output_types", lm1_output_types),
                                ("lm2_output_types", lm2_output_types)):
            for output_type in [types] if isinstance(types, str) else types:
                if output_type != "per_sequence":
                    raise ValueError(f"{argument}: a BiAdaptiveModel's heads compare one vector "
                                     f"per text ('per_sequence'); got {output_type!r}.")
        check_choice(pooling, POOLING, "pooling")
        language_model2 = language_model2 if language_model2 is not None else language_model1
        if language_model1.hidden_size != language_model2.hidden_size:
            raise ValueError(
                f"The query encoder's vectors have {language_model1.hidden_size} dimensions, "
                f"the passage encoder's {language_model2.hidden_size}; similarities need "
                "encoders of the same width."
            )
        if loss_weights is not None and len(loss_weights) != len(prediction_heads):
            raise ValueError(f"{len(loss_weights)} loss_weights for {len(prediction_heads)} "
                             "prediction heads; give one weight per head.")
        self.language_model1 = language_model1
        self.language_model2 = language_model2
        self.prediction_heads = nn.ModuleList(prediction_heads)
        self.embeds_dropout_prob = embeds_dropout_prob
        self.dropout = nn.Dropout(embeds_dropout_prob)
        self.pooling = pooling
        self.loss_weights = [float(w) for w in loss_weights or [1.0] * len(prediction_heads)]
        self.custom_loss_aggregation = loss_aggregation_fn
        self.device = torch.device(device)
        self.to(self.device)

    @property
    def shared_encoder(self) -> bool:
        """Whether queries and passages go through one language model."""
        return self.language_model1 is self.language_model2

    @property
    def language_models(self) -> list[LanguageModel]:
        """The language models (one if shared)."""
        lms = [self.language_model1, self.language_model2]
        return lms[:1] if self.shared_encoder else lms

    @property
    def loss_aggregation_fn(self) -> LossAggregation:
        """The function that combines the heads' losses (default :class:`WeightedSum`)."""
        return self.custom_loss_aggregation or WeightedSum(self.loss_weights)

    # ---- encoding -----------------------------------------------------------------------

    def _query_vectors(self, input_ids: Tensor, segment_ids: Tensor | None,
                       padding_mask: Tensor | None) -> Tensor:
        return text_vectors(self.language_model1, self.pooling, input_ids, segment_ids,
                            padding_mask)

    def _passage_vectors(self, input_ids: Tensor, segment_ids: Tensor | None,
                         padding_mask: Tensor | None) -> Tensor:
        return text_vectors(self.language_model2, self.pooling, input_ids, segment_ids,
                            padding_mask)

    # ---- the heads' side ---------------------------------------------------------------

    def logits_to_loss(self, logits: list[Any], global_step: int | None = None,
                       **kwargs: Tensor) -> Tensor:
        """Per-query loss ``(batch,)``, aggregated over heads."""
        losses = [head.logits_to_loss(logits=head_logits, **kwargs)
                  for head, head_logits in zip(self.heads, logits, strict=True)]
        return self.loss_aggregation_fn(losses, global_step=global_step, batch=kwargs)

    def logits_to_preds(self, logits: list[Any], **kwargs: Any) -> list[list[Any]]:
        """Predictions of each head."""
        return [head.logits_to_preds(logits=head_logits, **kwargs)
                for head, head_logits in zip(self.heads, logits, strict=True)]

    def prepare_labels(self, **kwargs: Tensor) -> list[list[Any]]:
        """True labels of the batch for each head."""
        return [head.prepare_labels(**kwargs) for head in self.heads]

    def connect_heads_with_processor(self, tasks: dict[str, dict[str, Any]],
                                     require_labels: bool = True) -> None:
        """Give each head the label list, label tensor name and metric of its task."""
        for head in self.heads:
            if head.task_name not in tasks:
                raise FarmError(
                    f"Head {type(head).__name__} learns task '{head.task_name}', but the "
                    f"processor's tasks are {list(tasks)}. Give the head task_name= one of them."
                )
            check_task_type(head, tasks[head.task_name])
            head.connect_task(tasks[head.task_name])

    # ---- saving ------------------------------------------------------------------------

    def save(self, save_dir: str | Path, lm1_name: str = "lm1", lm2_name: str = "lm2") -> None:
        """Save as plain files: ``lm1/`` (query encoder) and ``lm2/`` (passage encoder, absent
        when shared) in Hugging Face format, the heads, and ``farm_model.json``."""
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        self.language_model1.save(save_dir / lm1_name)
        if not self.shared_encoder:
            self.language_model2.save(save_dir / lm2_name)
        elif (save_dir / lm2_name).is_dir():  # an earlier save with two encoders
            shutil.rmtree(save_dir / lm2_name)
        for stale in save_dir.glob("prediction_head_*"):
            stale.unlink()
        for i, head in enumerate(self.heads):
            head.save(save_dir, head_num=i)
        meta = {
            "format_version": FORMAT_VERSION, "farm_version": __version__,
            "model": type(self).__name__, "pooling": self.pooling,
            "shared_encoder": self.shared_encoder, "lm1_name": lm1_name, "lm2_name": lm2_name,
            "embeds_dropout_prob": self.embeds_dropout_prob, "loss_weights": self.loss_weights,
            "language": self.language_model1.language,
            "model_type": self.language_model1.config.model_type,
            "tasks": [{"task_name": h.task_name, "head": type(h).__name__,
                       "labels": h.label_list} for h in self.heads],
        }
        (save_dir / MODEL_META).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, load_dir: str | Path, device: str | torch.device = "cpu",
             strict: bool = True, lm1_name: str | None = None, lm2_name: str | None = None,
             processor: Any = None) -> BiAdaptiveModel:
        """Load a model written by :meth:`save`; only safetensors and JSON are read.

        Args:
            load_dir (str | Path): The saved model's folder.
            device (str | torch.device): Where to put the model.
            strict (bool): Require the saved head weights to match exactly.
            lm1_name (str | None): Folder of the query encoder (default: as saved).
            lm2_name (str | None): Folder of the passage encoder (default: as saved).
            processor (Any): A processor whose tasks the heads are connected with.
        """
        from farm.modeling.adaptive_model import check_heads_fit  # it imports this module

        load_dir = Path(load_dir)
        folder = inspect_folder(load_dir)
        meta, meta_file = folder.meta, load_dir / MODEL_META
        if folder.kind in (FolderKind.ONNX_EXPORT, FolderKind.ONNX_BI_EXPORT):
            raise FarmError(
                f"{load_dir} is an ONNX export; open it with Inferencer.load({str(load_dir)!r}) "
                "(ONNX Runtime), or load the PyTorch model it was exported from."
            )
        if folder.kind is FolderKind.FARM_MODEL:
            raise FarmError(
                f"{load_dir} is not a saved BiAdaptiveModel ({meta_file} says "
                f"{meta.get('model', 'AdaptiveModel')!r}). Load an AdaptiveModel with "
                "AdaptiveModel.load, Hugging Face encoders with "
                "BiAdaptiveModel.convert_from_transformers."
            )
        if folder.kind is not FolderKind.BI_ADAPTIVE_MODEL:
            raise not_a_model(folder)
        require_fields(meta, meta_file, {"format_version": int, "shared_encoder": bool,
                                         "embeds_dropout_prob": (int, float), "pooling": str})
        if meta["format_version"] > FORMAT_VERSION:
            raise FarmError(f"{load_dir} was saved in format {meta['format_version']} by FARM "
                            f"{meta.get('farm_version')}; upgrade FARM to read it.")
        lm1_dir = confined_path(load_dir, lm1_name or meta.get("lm1_name"), meta_file,
                                "lm1_name")
        lm1 = LanguageModel.load(_encoder_dir(lm1_dir, meta_file), use_safetensors=True)
        lm2 = None
        if not meta["shared_encoder"]:
            lm2_dir = confined_path(load_dir, lm2_name or meta.get("lm2_name"), meta_file,
                                    "lm2_name")
            lm2 = LanguageModel.load(_encoder_dir(lm2_dir, meta_file), use_safetensors=True)
        heads = load_heads(load_dir, strict=strict)
        check_heads_fit(heads, meta, meta_file, lm1.hidden_size, output_types=False)
        try:
            model = cls(lm1, lm2, heads, embeds_dropout_prob=meta["embeds_dropout_prob"],
                        device=device, loss_weights=meta.get("loss_weights"),
                        pooling=meta["pooling"])
        except (ValueError, TypeError) as error:
            raise ModelFolderError(f"does not fit the saved encoders and heads: {error}",
                                   meta_file) from error
        if processor is not None:
            model.connect_heads_with_processor(processor.tasks, require_labels=False)
        return model

    def convert_to_onnx(self, output_dir: str | Path, processor: Any = None,
                        opset_version: int | None = None, verify: bool = True) -> Path:
        """Export to ONNX: one graph per encoder (one when shared) from a text's
        ``input_ids``, ``padding_mask``, ``segment_ids`` to its pooled vector, in a folder
        that ``Inferencer.load`` runs on ONNX Runtime as a ``TextSimilarityInferencer``
        (see ``docs/onnx.md``).

        Args:
            output_dir (str | Path): Folder to write.
            processor (Any): The model's ``TextSimilarityProcessor``, saved with it.
            opset_version (int | None): ONNX opset (default: the exporter's).
            verify (bool): Compare each graph's vectors with PyTorch's (within 1e-4).

        Returns:
            Path: The query encoder's ``.onnx`` file.
        """
        from farm.conversion.onnx_export import export_bi_onnx  # the exporter imports this

        return export_bi_onnx(self, output_dir, processor=processor,
                              opset_version=opset_version, verify=verify)

    # ---- Hugging Face ------------------------------------------------------------------

    def convert_to_transformers(self, verify: bool = True) -> list[PreTrainedModel]:
        """The encoders as Hugging Face models: ``[DPRQuestionEncoder, DPRContextEncoder]``
        for BERT encoders with ``cls_token`` pooling (their ``pooler_output`` is the vector),
        else the encoders' own ``AutoModel`` objects (with a warning).

        Args:
            verify (bool): Check on a probe batch that each exported model gives FARM's
                vectors (raises ``FarmError`` otherwise).
        """
        was_training = self.training
        self.eval()
        try:
            models = [
                dpr_conversion.to_transformers(self.language_model1, "query", self.pooling),
                dpr_conversion.to_transformers(self.language_model2, "passage", self.pooling),
            ]
            if verify:
                dpr_conversion.verify_vectors(models[0], self.embed_queries, self.pooling,
                                              "query")
                dpr_conversion.verify_vectors(models[1], self.embed_passages, self.pooling,
                                              "passage")
        finally:
            self.train(was_training)
        return models

    def save_transformers(
        self, save_dir: str | Path, query_tokenizer: PreTrainedTokenizerBase | None = None,
        passage_tokenizer: PreTrainedTokenizerBase | None = None, verify: bool = True,
    ) -> tuple[Path, Path]:
        """Write ``query_encoder/`` and ``passage_encoder/`` Hugging Face folders (see
        :meth:`convert_to_transformers`), each with its tokenizer if given.

        Returns:
            tuple[Path, Path]: The two folders.
        """
        folders = (Path(save_dir) / "query_encoder", Path(save_dir) / "passage_encoder")
        tokenizers = (query_tokenizer, passage_tokenizer or query_tokenizer)
        converted = self.convert_to_transformers(verify=verify)
        for model, folder, tokenizer in zip(converted, folders, tokenizers, strict=True):
            model.save_pretrained(str(folder))
            apply_umask_to_weights(folder)
            if tokenizer is not None:
                tokenizer.save_pretrained(str(folder))
        return folders

    @classmethod
    def convert_from_transformers(
        cls,
        model_name_or_path1: str | Path,
        model_name_or_path2: str | Path | None,
        device: str | torch.device = "cpu",
        task_type: str = "text_similarity",
        processor: Any = None,
        similarity_function: str = "dot_product",
        pooling: str | None = None,
        embeds_dropout_prob: float = 0.1,
    ) -> BiAdaptiveModel:
        """A model with a fresh :class:`TextSimilarityHead` on two Hugging Face encoders.

        Args:
            model_name_or_path1 (str | Path): The query encoder: a ``DPRQuestionEncoder``
                folder or any ``AutoModel`` encoder.
            model_name_or_path2 (str | Path | None): The passage encoder
                (``DPRContextEncoder`` or ``AutoModel``); None shares the query encoder.
            device (str | torch.device): Where the model lives.
            task_type (str): ``"text_similarity"`` (the only one).
            processor (Any): A ``TextSimilarityProcessor`` to connect the head with.
            similarity_function (str): ``"dot_product"`` or ``"cosine"``.
            pooling (str | None): Default ``"cls_token"`` (what DPR models need).
            embeds_dropout_prob (float): Dropout on the vectors while training.
        """
        check_choice(task_type, ["text_similarity"], "task_type")
        paths = [model_name_or_path1, model_name_or_path2]
        lms = [None if p is None else dpr_conversion.language_model_from_dpr(p)
               if dpr_conversion.is_dpr_folder(p) else LanguageModel.load(p) for p in paths]
        assert lms[0] is not None
        model = cls(lms[0], lms[1], [TextSimilarityHead(similarity_function=similarity_function)],
                    embeds_dropout_prob=embeds_dropout_prob, device=device,
                    pooling=pooling or "cls_token")
        if processor is not None:
            model.connect_heads_with_processor(processor.tasks, require_labels=False)
        return model


def _encoder_dir(folder: Path, meta_file: Path) -> Path:
    """An encoder's folder named in ``farm_model.json``, which must exist."""
    if not folder.is_dir():
        raise ModelFolderError(f"names the encoder folder {folder.name!r}, which is missing "
                               "from the model folder: save the model again.", meta_file)
    return folder
