"""Export of a FARM model to ONNX with dynamic batch and sequence axes.

``export_onnx(model, output_dir, processor)`` (or ``model.convert_to_onnx``) traces the model
with ``torch.onnx.export(..., dynamo=True)`` and writes a folder that ``Inferencer.load``
opens on ONNX Runtime::

    output_dir/
      model.onnx                      inputs input_ids, padding_mask, segment_ids
                                      (batch, sequence); outputs logits_0 ... one per head
      farm_model.json                 "backend": "onnx", heads, output types, opset
      prediction_head_<n>_config.json (+ .safetensors)   the heads, for formatting results
      language_model/config.json      the encoder's config (lengths, labels); no weights
      processor_config.json, tokenizer files             when a processor is given
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from farm import __version__
from farm.conversion.transformers import probe_batch
from farm.errors import FarmError
from farm.modeling.adaptive_model import FORMAT_VERSION, MODEL_META, AdaptiveModel

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
INPUT_NAMES = ("input_ids", "padding_mask", "segment_ids")
TOLERANCE = 1e-4


class _Exportable(nn.Module):
    """The model with positional inputs and a tuple of outputs, as the exporter wants."""

    def __init__(self, model: AdaptiveModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids: Tensor, padding_mask: Tensor, segment_ids: Tensor
                ) -> tuple[Tensor, ...]:
        return tuple(self.model(input_ids=input_ids, padding_mask=padding_mask,
                                segment_ids=segment_ids))


def export_onnx(
    model: AdaptiveModel,
    output_dir: str | Path,
    processor: Any = None,
    opset_version: int | None = None,
    verify: bool = True,
) -> Path:
    """Write ``model`` as an ONNX folder that ``Inferencer.load(output_dir)`` runs.

    Args:
        model (AdaptiveModel): Any FARM model (every head type, ``EmbeddingModel`` too).
        output_dir (str | Path): Folder to write.
        processor (Any): The model's processor; saved with it so that ``Inferencer.load``
            can read inputs. Without it, save one into ``output_dir`` yourself.
        opset_version (int | None): ONNX opset (default: the exporter's).
        verify (bool): Run ONNX Runtime on a batch of another size and length than the one
            traced and compare every head's outputs with PyTorch (max difference 1e-4).

    Returns:
        Path: The ``model.onnx`` file.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = next(model.parameters()).device
    was_training = model.training
    model.to("cpu").eval()
    config = model.language_model.config
    batch = probe_batch(config)
    example = tuple(batch[name] for name in INPUT_NAMES)
    batch_dim = torch.export.Dim("batch")
    sequence_dim = torch.export.Dim("sequence")
    n_heads = len(model.heads)
    output_names = [f"logits_{i}" for i in range(n_heads)]
    # The exporter warns that torchvision's operators are missing; FARM does not use them.
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                _Exportable(model), example, dynamo=True, input_names=list(INPUT_NAMES),
                output_names=output_names, opset_version=opset_version, verbose=False,
                dynamic_shapes={name: {0: batch_dim, 1: sequence_dim} for name in INPUT_NAMES},
            )
        if program is None:
            raise FarmError("torch.onnx.export returned no program.")
        onnx_file = output_dir / ONNX_FILE
        program.save(str(onnx_file))
        _write_companions(model, output_dir, processor, program)
        if verify:
            _verify(model, onnx_file)
    finally:
        registration.setLevel(level)
        model.to(device).train(was_training)
    return onnx_file


def _write_companions(model: AdaptiveModel, output_dir: Path, processor: Any,
                      program: Any) -> None:
    """Heads, the encoder's config, the processor and ``farm_model.json``."""
    for stale in output_dir.glob("prediction_head_*"):
        stale.unlink()
    for i, head in enumerate(model.heads):
        head.save(output_dir, head_num=i)
    model.language_model.config.save_pretrained(str(output_dir / "language_model"))
    if processor is not None:
        processor.save(output_dir)
    opset = next((o.version for o in program.model_proto.opset_import if o.domain == ""), None)
    meta = {
        "format_version": FORMAT_VERSION,
        "farm_version": __version__,
        "backend": "onnx",
        "onnx_file": ONNX_FILE,
        "opset_version": opset,
        "torch_version": torch.__version__,
        "inputs": list(INPUT_NAMES),
        "outputs": [f"logits_{i}" for i in range(len(model.heads))],
        "lm_output_types": list(model.lm_output_types),
        "language": model.language_model.language,
        "model_type": model.language_model.config.model_type,
        "tasks": [
            {"task_name": h.task_name, "head": type(h).__name__, "labels": h.label_list}
            for h in model.heads
        ],
    }
    (output_dir / MODEL_META).write_text(json.dumps(meta, indent=2))


def _verify(model: AdaptiveModel, onnx_file: Path) -> None:
    """Compare ONNX Runtime and PyTorch on a batch unlike the traced one (3 x 13, padded)."""
    from farm.conversion.onnx_model import new_session

    generator = torch.Generator().manual_seed(1)
    vocab = int(model.language_model.config.vocab_size)
    input_ids = torch.randint(0, vocab, (3, 13), generator=generator)
    padding_mask = torch.ones_like(input_ids)
    padding_mask[1, 8:] = 0
    batch = {"input_ids": input_ids, "padding_mask": padding_mask,
             "segment_ids": torch.zeros_like(input_ids)}
    session = new_session(onnx_file)
    feed = {i.name: batch[i.name].numpy() for i in session.get_inputs()}
    onnx_outputs = session.run(None, feed)
    with torch.inference_mode():
        torch_outputs = model(**batch)
    for i, (ours, theirs) in enumerate(zip(onnx_outputs, torch_outputs, strict=True)):
        difference = float(np.abs(ours - theirs.float().numpy()).max())
        if difference > TOLERANCE:
            raise FarmError(
                f"The ONNX export of head {i} ('{model.heads[i].task_name}') differs from "
                f"PyTorch by {difference:.2e} (allowed {TOLERANCE}); please report this "
                f"with the model's config ({onnx_file})."
            )
    logger.info("ONNX export verified against PyTorch: %s", onnx_file)
