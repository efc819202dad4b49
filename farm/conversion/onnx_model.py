"""A FARM model exported to ONNX, run by ONNX Runtime behind the ``AdaptiveModel`` interface
that the ``Inferencer`` uses (``heads``, ``lm_output_types``, ``forward``, ``formatted_preds``).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn
from transformers import AutoConfig, PretrainedConfig

from farm.errors import FarmError
from farm.modeling.adaptive_model import MODEL_META
from farm.modeling.prediction_heads import PredictionHead

logger = logging.getLogger(__name__)


def is_onnx_model_dir(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by ``export_onnx``."""
    meta_file = Path(path) / MODEL_META
    if not meta_file.is_file():
        return False
    return json.loads(meta_file.read_text()).get("backend") == "onnx"


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
    return ort.InferenceSession(str(onnx_file), sess_options=options, providers=providers)


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

    def __init__(self, session: Any, heads: list[PredictionHead], lm_output_types: list[str],
                 config: PretrainedConfig, language: str | None = None,
                 source_dir: Path | None = None):
        super().__init__()
        self.session = session
        self.prediction_heads = nn.ModuleList(heads)
        self.lm_output_types = list(lm_output_types)
        self.language_model = OnnxLanguageModelInfo(config, language)
        self.input_names = [i.name for i in session.get_inputs()]
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
        if not is_onnx_model_dir(load_dir):
            raise FarmError(f"{load_dir} is not an ONNX export of a FARM model (no "
                            f"{MODEL_META} with \"backend\": \"onnx\").")
        meta = json.loads((load_dir / MODEL_META).read_text())
        session = new_session(load_dir / meta["onnx_file"], gpu=gpu, num_threads=num_threads)
        head_files = sorted(load_dir.glob("prediction_head_*_config.json"),
                            key=lambda p: int(p.name.split("_")[2]))
        heads = [PredictionHead.load(f) for f in head_files]
        config = AutoConfig.from_pretrained(str(load_dir / "language_model"),
                                            trust_remote_code=False)
        return cls(session, heads, meta["lm_output_types"], config,
                   language=meta.get("language"), source_dir=load_dir)

    @property
    def heads(self) -> list[PredictionHead]:
        return cast(list[PredictionHead], list(self.prediction_heads))

    def forward(self, input_ids: Tensor, segment_ids: Tensor | None = None,
                padding_mask: Tensor | None = None, **kwargs: Any) -> list[Tensor]:
        """Each head's logits for a batch (the same as ``AdaptiveModel.forward``)."""
        given = {"input_ids": input_ids, "padding_mask": padding_mask,
                 "segment_ids": segment_ids}
        if given["padding_mask"] is None:
            given["padding_mask"] = torch.ones_like(input_ids)
        if given["segment_ids"] is None:
            given["segment_ids"] = torch.zeros_like(input_ids)
        feed = {name: given[name].detach().cpu().long().numpy()  # type: ignore[union-attr]
                for name in self.input_names}
        return [torch.from_numpy(out) for out in self.session.run(None, feed)]

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
        if self.source_dir is None:
            raise FarmError("This ONNX model was not loaded from a folder; export it again.")
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        for item in self.source_dir.iterdir():
            target = save_dir / item.name
            if item.is_dir():
                shutil.copytree(item, target, dirs_exist_ok=True)
            else:
                shutil.copy2(item, target)
