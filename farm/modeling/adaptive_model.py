"""A language model with one or more prediction heads: the model FARM trains and serves."""

from __future__ import annotations

import json
import logging
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from farm import __version__
from farm.compat import log_once
from farm.errors import FarmError, ModelFolderError
from farm.model_folder import MODEL_META, FolderKind, inspect_folder, not_a_model
from farm.modeling.head_checks import OUTPUT_TYPES, check_output_types, check_task_type
from farm.modeling.language_model import LanguageModel
from farm.modeling.loss_aggregation import LossAggregation, WeightedSum, sum_losses
from farm.modeling.prediction_heads import PredictionHead
from farm.modeling.prediction_heads.base import load_heads
from farm.serialization import require_fields

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1

__all__ = [
    "FORMAT_VERSION", "MODEL_META", "OUTPUT_TYPES", "AdaptiveModel", "BaseAdaptiveModel",
    "LossAggregation", "WeightedSum", "sum_losses",
]


class BaseAdaptiveModel:
    """FARM's common base of the model classes; its :meth:`load` opens any saved model."""

    @classmethod
    def load(cls, load_dir: str | Path, device: str | torch.device = "cpu",
             strict: bool = True, **kwargs: Any) -> Any:
        """Open what a folder holds: a saved ``AdaptiveModel`` or ``BiAdaptiveModel``, or an
        ONNX export (an ``OnnxAdaptiveModel`` run by ONNX Runtime), as FARM's
        ``BaseAdaptiveModel.load`` did.

        Args:
            load_dir (str | Path): The folder.
            device (str | torch.device): Where to put a PyTorch model (``"cuda"`` also
                runs an ONNX export on the GPU).
            strict (bool): Require saved head weights to match exactly.
            **kwargs: Further arguments of the class's own ``load``.
        """
        from farm.conversion.onnx_model import is_onnx_model_dir  # builds on this module

        load_dir = Path(load_dir)
        if is_onnx_model_dir(load_dir):
            from farm.conversion.onnx_model import OnnxAdaptiveModel

            return OnnxAdaptiveModel.load(load_dir, gpu=torch.device(device).type == "cuda")
        meta_file = load_dir / MODEL_META
        if meta_file.is_file() and json.loads(meta_file.read_text()).get(
                "model") == "BiAdaptiveModel":
            from farm.modeling.biadaptive_model import BiAdaptiveModel

            return BiAdaptiveModel.load(load_dir, device=device, strict=strict, **kwargs)
        return AdaptiveModel.load(load_dir, device=device, strict=strict, **kwargs)


class _ClassOrInstanceMethod:
    """A method that may be called on the class or on an instance; the function gets
    whichever it was called on first (for FARM's ``AdaptiveModel.convert_to_onnx(...)``,
    a class method in FARM 0.8, which an instance method here as well)."""

    def __init__(self, function: Callable[..., Any]):
        self.function = function
        self.__doc__ = function.__doc__

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        return types.MethodType(self.function, owner if instance is None else instance)


def _convert_to_onnx(
    target: Any,
    model_name: str | Path | None = None,
    output_path: str | Path | None = None,
    task_type: str | None = None,
    convert_to_float16: bool = False,
    quantize: bool = False,
    opset_version: int | None = None,
    processor: Any = None,
    verify: bool = True,
    output_dir: str | Path | None = None,
) -> Path:
    """Export to ONNX (dynamic batch and sequence axes) in a folder that
    ``Inferencer.load`` runs on ONNX Runtime (see ``docs/onnx.md``).

    On a model: ``model.convert_to_onnx(output_dir, processor=processor)`` (the first
    argument is the output folder). On the class, as in FARM 0.8:
    ``AdaptiveModel.convert_to_onnx(model_name=..., output_path=..., task_type=...)``
    converts a Hugging Face model (folder or hub name) of ``task_type`` (see
    ``Inferencer.load``) and exports it with its processor.

    Args:
        model_name (str | Path | None): On the class: the Hugging Face model. On a model:
            the output folder.
        output_path (str | Path | None): The output folder (FARM's name).
        task_type (str | None): On the class: the model's task, e.g.
            ``"question_answering"``.
        convert_to_float16 (bool): FARM's fp16 rewrite (onnxruntime_tools, gone); accepted
            with a warning, the export stays float32.
        quantize (bool): FARM's int8 quantization; accepted with a warning, not applied
            (run ``onnxruntime.quantization.quantize_dynamic`` on the file yourself).
        opset_version (int | None): ONNX opset (default: the exporter's).
        processor (Any): The model's processor, saved with it.
        verify (bool): Compare ONNX Runtime's outputs with PyTorch's.
        output_dir (str | Path | None): The output folder.

    Returns:
        Path: The ``model.onnx`` file.
    """
    from farm.conversion.onnx_export import export_onnx  # the exporter imports this module

    for name, value in (("convert_to_float16", convert_to_float16), ("quantize", quantize)):
        if value:
            log_once(f"convert_to_onnx:{name}",
                      f"convert_to_onnx({name}=True) has no effect: the export is float32 and "
                      "verified against PyTorch. Quantize the written model.onnx with "
                      "onnxruntime.quantization if you need it smaller.")
    if isinstance(target, type):
        folder = output_dir or output_path
        if model_name is None or folder is None:
            raise TypeError("AdaptiveModel.convert_to_onnx(model_name=..., output_path=..., "
                            "task_type=...) needs the Hugging Face model and the output folder; "
                            "on a model call model.convert_to_onnx(output_dir, processor=...).")
        from farm.conversion.hf_inference import load_hugging_face

        model, hf_processor = load_hugging_face(model_name, task_type)
        return export_onnx(model, folder, processor=processor or hf_processor,
                           opset_version=opset_version, verify=verify)
    folder = output_dir or output_path or model_name
    if folder is None:
        raise TypeError("convert_to_onnx() needs the output folder: "
                        "model.convert_to_onnx(output_dir, processor=...).")
    if task_type is not None:
        log_once("convert_to_onnx:task_type",
                  "model.convert_to_onnx(task_type=...) has no effect on a model: its heads "
                  "define the task.")
    return export_onnx(target, folder, processor=processor, opset_version=opset_version,
                       verify=verify)


class AdaptiveModel(BaseAdaptiveModel, nn.Module):
    """A :class:`LanguageModel` plus prediction heads, each fed the vectors it declares.

    Args:
        language_model (LanguageModel): The encoder.
        prediction_heads (Sequence[PredictionHead]): One head per task.
        embeds_dropout_prob (float): Dropout on the encoder's output before the heads.
        lm_output_types (str | Sequence[str] | None): ``"per_sequence"`` or ``"per_token"`` per
            head (one string applies to all). Checked against what each head declares;
            ``None`` takes the heads' declarations.
        device (str | torch.device): Where the model lives.
        loss_aggregation_fn (LossAggregation | None): Combines the heads' per-sample losses
            ``(batch,)`` each into one ``(batch,)`` tensor, called as
            ``fn(loss_per_head, global_step=..., batch=...)``; default: their sum weighted by
            ``loss_weights``. A function is not saved with the model: pass it again after
            loading if you train on.
        loss_weights (Sequence[float] | None): Weight of each head's loss in the default
            aggregation (default 1.0 each); saved with the model.

    Example:
        >>> model = AdaptiveModel(
        ...     language_model=LanguageModel.load("bert-base-cased"),
        ...     prediction_heads=[TextClassificationHead(num_labels=2)],
        ...     embeds_dropout_prob=0.1, lm_output_types=["per_sequence"], device="cpu")
    """

    def __init__(
        self,
        language_model: LanguageModel,
        prediction_heads: Sequence[PredictionHead],
        embeds_dropout_prob: float = 0.1,
        lm_output_types: str | Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        loss_aggregation_fn: LossAggregation | None = None,
        loss_weights: Sequence[float] | None = None,
    ):
        super().__init__()
        if not prediction_heads:
            raise ValueError("AdaptiveModel needs at least one prediction head.")
        self.language_model = language_model
        self.prediction_heads = nn.ModuleList(prediction_heads)
        self.embeds_dropout_prob = embeds_dropout_prob
        self.dropout = nn.Dropout(embeds_dropout_prob)
        self.lm_output_types = check_output_types(lm_output_types, prediction_heads)
        if loss_weights is not None and len(loss_weights) != len(prediction_heads):
            raise ValueError(
                f"{len(loss_weights)} loss_weights for {len(prediction_heads)} prediction "
                "heads; give one weight per head."
            )
        self.loss_weights = [float(w) for w in loss_weights or [1.0] * len(prediction_heads)]
        self.custom_loss_aggregation = loss_aggregation_fn
        for head in self.heads:
            head.resize_input(language_model.hidden_size)
            head.connect_language_model(language_model)
        self.device = torch.device(device)
        self.to(self.device)

    @property
    def heads(self) -> list[PredictionHead]:
        """The prediction heads, in order."""
        return cast(list[PredictionHead], list(self.prediction_heads))

    @property
    def language_models(self) -> list[LanguageModel]:
        """The model's language models: one here (a ``BiAdaptiveModel`` has two)."""
        return [self.language_model]

    @property
    def loss_aggregation_fn(self) -> LossAggregation:
        """The function that combines the heads' losses (default: :class:`WeightedSum`)."""
        return self.custom_loss_aggregation or WeightedSum(self.loss_weights)

    @loss_aggregation_fn.setter
    def loss_aggregation_fn(self, fn: LossAggregation | None) -> None:
        self.custom_loss_aggregation = fn

    def head_index(self, task_name: str) -> int:
        """Position of the head that learns ``task_name``."""
        names = [head.task_name for head in self.heads]
        if task_name not in names:
            raise KeyError(f"No head learns task '{task_name}'; the heads learn {names}.")
        return names.index(task_name)

    def drop_head(self, task_name: str) -> PredictionHead:
        """Remove the head of ``task_name`` (with its output type and loss weight); returns it.

        Example:
            >>> model.drop_head("fine")
            >>> model.save("saved_models/coarse_only")
        """
        if len(self.heads) == 1:
            raise ValueError(
                f"Cannot drop '{task_name}': it is the model's only head. Add or swap in "
                "another head first (replace_head)."
            )
        index = self.head_index(task_name)
        head = self.heads[index]
        del self.prediction_heads[index]
        del self.lm_output_types[index]
        del self.loss_weights[index]
        return head

    def add_head(self, head: PredictionHead, loss_weight: float = 1.0) -> None:
        """Append a head (its first layer fitted to the language model); its output type is
        the one it declares."""
        if head.task_name in [h.task_name for h in self.heads]:
            raise ValueError(
                f"The model already has a head for task '{head.task_name}'; use "
                "replace_head() or give the new head another task_name."
            )
        head.resize_input(self.language_model.hidden_size)
        head.connect_language_model(self.language_model)
        self.prediction_heads.append(head.to(self.device))
        self.lm_output_types.append(head.ph_output_type)
        self.loss_weights.append(float(loss_weight))

    def replace_head(self, task_name: str, head: PredictionHead) -> PredictionHead:
        """Put ``head`` in the place of the head of ``task_name``; returns the old head.

        The new head may learn another task (its own ``task_name``); the language model
        and the other heads keep their weights.
        """
        index = self.head_index(task_name)
        old = self.heads[index]
        head.resize_input(self.language_model.hidden_size)
        head.connect_language_model(self.language_model)
        self.prediction_heads[index] = head.to(self.device)
        self.lm_output_types[index] = head.ph_output_type
        return old

    def forward(
        self,
        input_ids: Tensor,
        segment_ids: Tensor | None = None,
        padding_mask: Tensor | None = None,
        **kwargs: Any,
    ) -> list[Tensor]:
        """Logits of every head for a batch of named tensors (labels are ignored here).

        Args:
            input_ids (Tensor): ``(batch, seq_len)``.
            segment_ids (Tensor | None): ``(batch, seq_len)``.
            padding_mask (Tensor | None): ``(batch, seq_len)``.

        Returns:
            list[Tensor]: One logits tensor per head.
        """
        sequence_output, pooled_output = self.language_model(
            input_ids=input_ids, segment_ids=segment_ids, padding_mask=padding_mask
        )[:2]
        outputs = {"per_token": sequence_output, "per_sequence": pooled_output}
        return [
            head(self.dropout(outputs[output_type]), **head.batch_inputs(kwargs))
            for head, output_type in zip(self.heads, self.lm_output_types, strict=True)
        ]

    def logits_to_loss(
        self, logits: list[Tensor], global_step: int | None = None, **kwargs: Tensor
    ) -> Tensor:
        """Per-sample loss ``(batch,)``, aggregated over heads by ``loss_aggregation_fn``."""
        losses = [
            head.logits_to_loss(logits=head_logits, **kwargs)
            for head, head_logits in zip(self.heads, logits, strict=True)
        ]
        return self.loss_aggregation_fn(losses, global_step=global_step, batch=kwargs)

    def logits_to_preds(self, logits: list[Tensor], **kwargs: Any) -> list[list[Any]]:
        """Predictions of each head."""
        return [
            head.logits_to_preds(logits=head_logits, **kwargs)
            for head, head_logits in zip(self.heads, logits, strict=True)
        ]

    def prepare_labels(self, **kwargs: Tensor) -> list[list[Any]]:
        """True labels of the batch for each head."""
        return [head.prepare_labels(**kwargs) for head in self.heads]

    def formatted_preds(
        self, logits: list[Tensor], baskets: list[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        """One ``{"task", "task_name", "predictions"}`` dict per head for these baskets."""
        return [
            {
                "task": head.task_type,
                "task_name": head.task_name,
                "predictions": head.formatted_preds(logits=head_logits, baskets=baskets, **kwargs),
            }
            for head, head_logits in zip(self.heads, logits, strict=True)
        ]

    def connect_heads_with_processor(
        self, tasks: dict[str, dict[str, Any]], require_labels: bool = True
    ) -> None:
        """Give each head the label list, label tensor name and metric of its task.

        Args:
            tasks (dict[str, dict[str, Any]]): ``processor.tasks``.
            require_labels (bool): Fail if a head's task has no ``label_list``.
        """
        for head in self.heads:
            if head.task_name not in tasks:
                raise FarmError(
                    f"Head {type(head).__name__} learns task '{head.task_name}', but the "
                    f"processor has no such task: the model's heads learn "
                    f"{[h.task_name for h in self.heads]}, the processor's tasks are "
                    f"{list(tasks)}. Give the head task_name= one of the processor's tasks, "
                    "or add the task with processor.add_task()."
                )
            task = tasks[head.task_name]
            check_task_type(head, task)
            if require_labels and not task.get("label_list") and task.get("task_type") not in (
                "regression", "embeddings", "lm"
            ):
                raise FarmError(f"Task '{head.task_name}' has no label_list.")
            head.connect_task(task)
            num_labels = getattr(head, "num_labels", None)
            labels = task.get("label_list")
            if labels and num_labels is not None and num_labels != len(labels):
                raise FarmError(
                    f"Head for task '{head.task_name}' predicts {num_labels} labels but the "
                    f"task has {len(labels)}: {labels}. Create the head with "
                    f"num_labels={len(labels)}."
                )

    def save(self, save_dir: str | Path) -> None:
        """Save as plain files: ``language_model/`` (Hugging Face format), one
        safetensors + JSON pair per head, and ``farm_model.json``."""
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        self.language_model.save(save_dir / "language_model")
        for stale in save_dir.glob("prediction_head_*"):  # heads of an earlier save
            stale.unlink()
        for i, head in enumerate(self.heads):
            head.save(save_dir, head_num=i)
        meta = {
            "format_version": FORMAT_VERSION,
            "farm_version": __version__,
            "embeds_dropout_prob": self.embeds_dropout_prob,
            "lm_output_types": list(self.lm_output_types),
            "loss_weights": list(self.loss_weights),
            "language": self.language_model.language,
            "model_type": self.language_model.config.model_type,
            "tasks": [
                {"task_name": h.task_name, "head": type(h).__name__, "labels": h.label_list}
                for h in self.heads
            ],
        }
        (save_dir / MODEL_META).write_text(json.dumps(meta, indent=2))

    def convert_to_transformers(self, verify: bool = True) -> list[Any]:
        """One Hugging Face ``AutoModelFor...`` model per head, with identical outputs
        (see ``docs/conversion.md`` and ``farm.conversion.transformers``)."""
        from farm.conversion.transformers import convert_to_transformers

        return convert_to_transformers(self, verify=verify)

    @classmethod
    def convert_from_transformers(
        cls,
        model_name_or_path: str | Path,
        device: str | torch.device = "cpu",
        revision: str | None = None,
        task_type: str | None = None,
        processor: Any = None,
    ) -> AdaptiveModel:
        """A FARM model from a Hugging Face model folder or hub name, its head's weights
        included (see ``farm.conversion.transformers.convert_from_transformers``)."""
        from farm.conversion.transformers import convert_from_transformers

        return convert_from_transformers(model_name_or_path, device=device, revision=revision,
                                         task_type=task_type, processor=processor)

    convert_to_onnx = _ClassOrInstanceMethod(_convert_to_onnx)

    def forward_lm(self, **kwargs: Tensor) -> tuple[Tensor, Tensor]:
        """The language model's ``(sequence_output, pooled_output)`` for a batch (FARM's
        method; ``forward`` calls the language model itself)."""
        return cast(tuple[Tensor, Tensor], tuple(self.language_model(**kwargs)[:2]))

    def logits_to_loss_per_head(self, logits: list[Tensor], **kwargs: Tensor) -> list[Tensor]:
        """Each head's per-sample loss ``(batch,)``, before aggregation."""
        return [head.logits_to_loss(logits=head_logits, **kwargs)
                for head, head_logits in zip(self.heads, logits, strict=True)]

    def verify_vocab_size(self, vocab_size: int) -> None:
        """Raise if the language model's input embeddings do not have ``vocab_size`` rows
        (e.g. tokens were added to the tokenizer but ``n_added_tokens`` was not given)."""
        embeddings = cast(nn.Embedding, self.language_model.model.get_input_embeddings())
        rows = int(embeddings.weight.shape[0])
        if rows != vocab_size:
            raise FarmError(
                f"The tokenizer has {vocab_size} tokens but the language model's embeddings "
                f"have {rows} rows. After tokenizer.add_tokens(...), load the model with "
                f"LanguageModel.load(..., n_added_tokens={vocab_size - rows})."
            )

    def get_language(self) -> str | None:
        """The language recorded with the language model."""
        return self.language_model.language

    @classmethod
    def load(  # type: ignore[override]
        cls, load_dir: str | Path, device: str | torch.device = "cpu", strict: bool = True,
        lm_name: str | None = None, processor: Any = None,
    ) -> AdaptiveModel:
        """Load a model written by :meth:`save`. Only safetensors and JSON are read.

        Args:
            load_dir (str | Path): The saved model's folder.
            device (str | torch.device): Where to put the model.
            strict (bool): Require the saved weights to match the heads exactly.
            lm_name (str | None): FARM's name for the loaded language model; accepted with
                a warning (the model keeps the name it was saved with).
            processor (Any): A processor whose tasks the heads are connected with.
        """
        if lm_name is not None:
            log_once("AdaptiveModel.load:lm_name",
                      f"AdaptiveModel.load(lm_name={lm_name!r}) has no effect: the language "
                      "model is always read from the folder's language_model/.")
        load_dir = Path(load_dir)
        folder = inspect_folder(load_dir)
        meta, meta_file = folder.meta, load_dir / MODEL_META
        if folder.kind in (FolderKind.ONNX_EXPORT, FolderKind.ONNX_BI_EXPORT):
            raise FarmError(
                f"{load_dir} is an ONNX export; open it with Inferencer.load({str(load_dir)!r}) "
                "(ONNX Runtime), or load the PyTorch model it was exported from."
            )
        if folder.kind is FolderKind.BI_ADAPTIVE_MODEL:
            raise FarmError(f"{load_dir} holds a {meta['model']}; load it with "
                            f"{meta['model']}.load (Inferencer.load opens either).")
        if folder.kind is not FolderKind.FARM_MODEL:
            raise not_a_model(folder)
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise FarmError(
                f"{load_dir} was saved in format {meta['format_version']} by FARM "
                f"{meta.get('farm_version')}; this FARM {__version__} reads format "
                f"{FORMAT_VERSION}. Upgrade FARM."
            )
        require_fields(meta, meta_file, {"embeds_dropout_prob": (int, float),
                                         "lm_output_types": list})
        language_model = LanguageModel.load(load_dir, use_safetensors=True)
        heads = load_heads(load_dir, strict=strict)
        check_heads_fit(heads, meta, meta_file, language_model.hidden_size)
        try:
            model = cls(
                language_model=language_model,
                prediction_heads=heads,
                embeds_dropout_prob=meta["embeds_dropout_prob"],
                lm_output_types=meta["lm_output_types"],
                device=device,
                loss_weights=meta.get("loss_weights"),
            )
        except (ValueError, TypeError) as error:
            raise ModelFolderError(f"does not fit the saved heads: {error}", meta_file) from error
        if processor is not None:
            model.connect_heads_with_processor(processor.tasks, require_labels=False)
        return model


def check_heads_fit(heads: Sequence[PredictionHead], meta: dict[str, Any], meta_file: Path,
                    hidden_size: int, output_types: bool = True) -> None:
    """Check loaded heads against ``farm_model.json`` (one output type and loss weight per
    head) and the language model's width (a head whose input width differs would be
    re-initialised at random when it is fitted to the language model)."""
    counts = {"lm_output_types": len(meta.get("lm_output_types") or []) if output_types
              else len(heads)}
    if meta.get("loss_weights") is not None:
        counts["loss_weights"] = len(meta["loss_weights"]) if isinstance(
            meta["loss_weights"], list) else -1
    for key, count in counts.items():
        if count != len(heads):
            raise ModelFolderError(f"'{key}' must be a list with one entry per head "
                                   f"({len(heads)} heads are saved); found {meta[key]!r:.80}.",
                                   meta_file)
    for number, head in enumerate(heads):
        layer_dims = getattr(head, "layer_dims", None)
        if isinstance(layer_dims, list) and layer_dims and layer_dims[0] != hidden_size:
            raise ModelFolderError(
                f"the head takes vectors of width {layer_dims[0]}, but the saved language "
                f"model gives {hidden_size}; the files belong to different models.",
                meta_file.with_name(f"prediction_head_{number}_config.json"))


def __getattr__(name: str) -> Any:
    # FARM users import BiAdaptiveModel from here; it lives in its own module, loaded on
    # first use because it builds on this one.
    if name == "BiAdaptiveModel":
        from farm.modeling.biadaptive_model import BiAdaptiveModel

        return BiAdaptiveModel
    if name == "ONNXAdaptiveModel":  # FARM's name; needs the onnx extra
        from farm.conversion.onnx_model import OnnxAdaptiveModel

        return OnnxAdaptiveModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
