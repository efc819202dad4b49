"""A FARM model exported to ONNX, run by ONNX Runtime behind the ``AdaptiveModel`` interface
that the ``Inferencer`` uses (``heads``, ``lm_output_types``, ``forward``, ``formatted_preds``),
and a dense retriever's export behind the ``BiAdaptiveModel`` interface that the
``TextSimilarityInferencer`` uses (``embed_queries``, ``embed_passages``, ``forward``).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn
from transformers import PretrainedConfig

from farm.errors import FarmError, ModelFolderError
from farm.model_folder import MODEL_META, FolderKind, inspect_folder, not_a_model
from farm.modeling.biadaptive_model import BiEncoderHeads
from farm.modeling.hf_loading import load_config
from farm.modeling.prediction_heads import PredictionHead
from farm.modeling.prediction_heads.base import load_heads
from farm.serialization import confined_path, require_fields

logger = logging.getLogger(__name__)


def is_onnx_model_dir(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by ``export_onnx``."""
    return inspect_folder(path).kind in (FolderKind.ONNX_EXPORT, FolderKind.ONNX_BI_EXPORT)


def _read_meta(load_dir: Path, model_class: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``farm_model.json`` of an export of ``model_class`` (checked for ``fields``), else a
    FarmError saying what the folder is and what opens it."""
    folder = inspect_folder(load_dir)
    if folder.kind in (FolderKind.FARM_MODEL, FolderKind.BI_ADAPTIVE_MODEL):
        raise FarmError(f"{load_dir} is not an ONNX export of a FARM model (no "
                        f"{MODEL_META} with \"backend\": \"onnx\"); it is "
                        f"{folder.kind.value}: load it with Inferencer.load.")
    if folder.kind not in (FolderKind.ONNX_EXPORT, FolderKind.ONNX_BI_EXPORT):
        raise not_a_model(folder)
    exported = folder.model_class
    if exported != model_class:
        opener = "OnnxBiAdaptiveModel" if exported == "BiAdaptiveModel" else "OnnxAdaptiveModel"
        raise FarmError(f"{load_dir} is an ONNX export of a {exported}; open it with "
                        f"{opener}.load or Inferencer.load({str(load_dir)!r}).")
    require_fields(folder.meta, load_dir / MODEL_META, fields)
    return folder.meta


def _onnx_file(load_dir: Path, meta: dict[str, Any], key: str) -> Path:
    """The graph file ``farm_model.json`` names under ``key``, inside the folder."""
    file = confined_path(load_dir, meta.get(key), load_dir / MODEL_META, key)
    if not file.is_file():
        raise ModelFolderError(f"not found: the ONNX graph that {MODEL_META} names "
                               f"('{key}'); the export is incomplete: export the model "
                               "again.", file)
    return file


def _load_config(folder: Path) -> PretrainedConfig:
    return load_config(folder)


def run_session(session: Any, input_ids: Tensor, segment_ids: Tensor | None,
                padding_mask: Tensor | None) -> list[Tensor]:
    """The session's outputs for a batch of ``(batch, sequence)`` inputs (a missing
    padding mask means no padding, missing segment ids all zero); inputs the graph does not
    use (segment ids of DistilBERT or RoBERTa) are not fed."""
    given = {"input_ids": input_ids, "padding_mask": padding_mask, "segment_ids": segment_ids}
    if given["padding_mask"] is None:
        given["padding_mask"] = torch.ones_like(input_ids)
    if given["segment_ids"] is None:
        given["segment_ids"] = torch.zeros_like(input_ids)
    feed = {i.name: given[i.name].detach().cpu().long().numpy()  # type: ignore[union-attr]
            for i in session.get_inputs()}
    return [torch.from_numpy(out) for out in session.run(None, feed)]


def copy_export(source_dir: Path | None, save_dir: str | Path) -> None:
    """Copy an exported model's files (ONNX, heads, configs) to ``save_dir``."""
    if source_dir is None:
        raise FarmError("This ONNX model was not loaded from a folder; export it again.")
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    for item in source_dir.iterdir():
        target = save_dir / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def new_session(onnx_file: str | Path, gpu: bool = False, num_threads: int | None = None
                ) -> Any:
    """An ONNX Runtime session (CPU, or CUDA when asked for and available)."""
    try:
        import onnxruntime as ort
    except ImportError as error:
        raise FarmError(
            "Running an ONNX model needs onnxruntime: pip install 'farm[onnx]'."
        ) from error
    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = num_threads
    providers = ["CPUExecutionProvider"]
    if gpu and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(onnx_file), sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime's errors (InvalidProtobuf, NoSuchFile, Fail...)
        message = " ".join(str(error).split())
        raise ModelFolderError(f"ONNX Runtime cannot open this graph ({type(error).__name__}: "
                               f"{message:.300}); the file is damaged or not an ONNX model: "
                               "export the model again.", onnx_file) from error


class OnnxLanguageModelInfo:
    """What the inferencer reads from a language model, without its weights.

    Args:
        config (PretrainedConfig): The encoder's config.
        language (str | None): Its language.
    """

    def __init__(self, config: PretrainedConfig, language: str | None):
        self.config = config
        self.language = language

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)


class OnnxAdaptiveModel(nn.Module):
    """An exported model on ONNX Runtime, used by ``Inferencer.load(onnx_folder)``.

    Args:
        session (Any): The ``onnxruntime.InferenceSession``.
        heads (list[PredictionHead]): The heads (they format the results).
        lm_output_types (list[str]): Output type per head.
        config (PretrainedConfig): The encoder's config.
        language (str | None): The encoder's language.
        source_dir (Path | None): The folder the model was loaded from.

    Example:
        >>> model = OnnxAdaptiveModel.load("exported/sentiment")
        >>> logits = model(input_ids=ids, padding_mask=mask)  # one tensor per head
    """

    backend = "onnx"

    def __init__(self, session: Any, heads: list[PredictionHead], lm_output_types: list[str],
                 config: PretrainedConfig, language: str | None = None,
                 source_dir: Path | None = None):
        super().__init__()
        self.session = session
        self.prediction_heads = nn.ModuleList(heads)
        self.lm_output_types = list(lm_output_types)
        self.language_model = OnnxLanguageModelInfo(config, language)
        self.source_dir = source_dir

    @classmethod
    def load(cls, load_dir: str | Path, gpu: bool = False, num_threads: int | None = None
             ) -> OnnxAdaptiveModel:
        """Open a folder written by ``export_onnx`` (only ONNX, JSON and safetensors files
        are read; no code from the folder runs).

        Args:
            load_dir (str | Path): The folder.
            gpu (bool): Use ONNX Runtime's CUDA provider if it is installed.
            num_threads (int | None): Threads of ONNX Runtime (default: its own choice).
        """
        load_dir = Path(load_dir)
        meta = _read_meta(load_dir, "AdaptiveModel", {"onnx_file": str, "lm_output_types": list})
        session = new_session(_onnx_file(load_dir, meta, "onnx_file"), gpu=gpu,
                              num_threads=num_threads)
        return cls(session, load_heads(load_dir), meta["lm_output_types"],
                   _load_config(load_dir / "language_model"), language=meta.get("language"),
                   source_dir=load_dir)

    @property
    def heads(self) -> list[PredictionHead]:
        return cast(list[PredictionHead], list(self.prediction_heads))

    def forward(self, input_ids: Tensor, segment_ids: Tensor | None = None,
                padding_mask: Tensor | None = None, **kwargs: Any) -> list[Tensor]:
        """Each head's logits for a batch (the same as ``AdaptiveModel.forward``)."""
        return run_session(self.session, input_ids, segment_ids, padding_mask)

    def formatted_preds(self, logits: list[Tensor], baskets: list[Any], **kwargs: Any
                        ) -> list[dict[str, Any]]:
        """One ``{"task", "task_name", "predictions"}`` dict per head for these baskets."""
        return [
            {"task": head.task_type, "task_name": head.task_name,
             "predictions": head.formatted_preds(logits=head_logits, baskets=baskets, **kwargs)}
            for head, head_logits in zip(self.heads, logits, strict=True)
        ]

    def save(self, save_dir: str | Path) -> None:
        """Copy the exported model's files (ONNX, heads, configs) to ``save_dir``."""
        copy_export(self.source_dir, save_dir)


class OnnxBiAdaptiveModel(BiEncoderHeads, nn.Module):
    """A dense retriever exported by ``BiAdaptiveModel.convert_to_onnx``, on ONNX Runtime;
    ``Inferencer.load(onnx_folder)`` returns a ``TextSimilarityInferencer`` on it.

    Each encoder's graph gives the pooled vectors; passage groups, the similarity head and
    the results are the same code as the PyTorch model's (:class:`BiEncoderHeads`).

    Args:
        query_session (Any): The query encoder's ``onnxruntime.InferenceSession``.
        passage_session (Any): The passage encoder's (the same object when shared).
        heads (list[PredictionHead]): The heads (``TextSimilarityHead``).
        pooling (str): The pooling the graphs were exported with (for information).
        query_config (PretrainedConfig): The query encoder's config.
        passage_config (PretrainedConfig): The passage encoder's config.
        language (str | None): The encoders' language.
        source_dir (Path | None): The folder the model was loaded from.

    Example:
        >>> model = OnnxBiAdaptiveModel.load("exported/dpr")
        >>> vectors = model.embed_queries(query_input_ids=ids, query_padding_mask=mask)
    """

    backend = "onnx"

    def __init__(self, query_session: Any, passage_session: Any, heads: list[PredictionHead],
                 pooling: str, query_config: PretrainedConfig,
                 passage_config: PretrainedConfig, language: str | None = None,
                 source_dir: Path | None = None):
        super().__init__()
        self.query_session = query_session
        self.passage_session = passage_session
        self.prediction_heads = nn.ModuleList(heads)
        self.dropout = nn.Identity()
        self.pooling = pooling
        self.language_model1 = OnnxLanguageModelInfo(query_config, language)
        self.language_model2 = OnnxLanguageModelInfo(passage_config, language)
        self.source_dir = source_dir

    @classmethod
    def load(cls, load_dir: str | Path, gpu: bool = False, num_threads: int | None = None
             ) -> OnnxBiAdaptiveModel:
        """Open a folder written by ``BiAdaptiveModel.convert_to_onnx`` (only ONNX, JSON and
        safetensors files are read; no code from the folder runs).

        Args:
            load_dir (str | Path): The folder.
            gpu (bool): Use ONNX Runtime's CUDA provider if it is installed.
            num_threads (int | None): Threads of ONNX Runtime (default: its own choice).
        """
        load_dir = Path(load_dir)
        meta = _read_meta(load_dir, "BiAdaptiveModel", {"query_onnx_file": str,
                                                        "shared_encoder": bool, "pooling": str})
        query_session = new_session(_onnx_file(load_dir, meta, "query_onnx_file"), gpu=gpu,
                                    num_threads=num_threads)
        shared = meta["shared_encoder"]
        passage_session = query_session if shared else new_session(
            _onnx_file(load_dir, meta, "passage_onnx_file"), gpu=gpu, num_threads=num_threads)
        query_config = _load_config(load_dir / "lm1")
        passage_config = query_config if shared else _load_config(load_dir / "lm2")
        return cls(query_session, passage_session, load_heads(load_dir), meta["pooling"],
                   query_config, passage_config, language=meta.get("language"),
                   source_dir=load_dir)

    @property
    def shared_encoder(self) -> bool:
        """Whether queries and passages go through one graph."""
        return self.query_session is self.passage_session

    def _query_vectors(self, input_ids: Tensor, segment_ids: Tensor | None,
                       padding_mask: Tensor | None) -> Tensor:
        return run_session(self.query_session, input_ids, segment_ids, padding_mask)[0]

    def _passage_vectors(self, input_ids: Tensor, segment_ids: Tensor | None,
                         padding_mask: Tensor | None) -> Tensor:
        return run_session(self.passage_session, input_ids, segment_ids, padding_mask)[0]

    def save(self, save_dir: str | Path) -> None:
        """Copy the exported model's files (ONNX graphs, heads, configs) to ``save_dir``."""
        copy_export(self.source_dir, save_dir)
