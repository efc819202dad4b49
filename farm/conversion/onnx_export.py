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

``export_bi_onnx`` (``BiAdaptiveModel.convert_to_onnx``) writes a dense retriever as one graph
per encoder, each giving a text's pooled vector: ``query_encoder.onnx`` and
``passage_encoder.onnx`` (one graph, ``query_encoder.onnx``, when the encoder is shared),
outputs ``vectors`` ``(batch, hidden)``; ``lm1/config.json`` (and ``lm2/``) hold the encoders'
configs, and ``farm_model.json`` says ``"model": "BiAdaptiveModel"``.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from farm import __version__
from farm.conversion.onnx_model import is_onnx_model_dir, new_session
from farm.conversion.transformers import probe_batch
from farm.errors import FarmError
from farm.modeling.adaptive_model import FORMAT_VERSION, MODEL_META, AdaptiveModel
from farm.modeling.biadaptive_model import BiAdaptiveModel, text_vectors
from farm.modeling.prediction_heads import PredictionHead

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
QUERY_ONNX_FILE = "query_encoder.onnx"
PASSAGE_ONNX_FILE = "passage_encoder.onnx"
VECTORS = "vectors"
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


class _ExportableEncoder(nn.Module):
    """One encoder of a dense retriever: its inputs to its pooled vectors ``(batch, hidden)``."""

    def __init__(self, language_model: nn.Module, pooling: str):
        super().__init__()
        self.language_model = language_model
        self.pooling = pooling

    def forward(self, input_ids: Tensor, padding_mask: Tensor, segment_ids: Tensor
                ) -> tuple[Tensor]:
        return (text_vectors(self.language_model, self.pooling, input_ids, segment_ids,
                             padding_mask),)


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
    output_dir = _output_folder(output_dir)
    output_names = [f"logits_{i}" for i in range(len(model.heads))]
    with _on_cpu_for_inference(model):
        onnx_file = output_dir / ONNX_FILE
        program = _export_program(_Exportable(model), model.language_model.config,
                                  output_names, onnx_file, opset_version)
        _write_companions(model, output_dir, processor, program)
        if verify:
            _verify(onnx_file, model.language_model.config,
                    lambda batch: list(model(**batch)),
                    [f"head {i} ('{h.task_name}')" for i, h in enumerate(model.heads)])
    return onnx_file


def _output_folder(output_dir: str | Path) -> Path:
    """``output_dir``, created; a FarmError if it holds a saved (PyTorch) FARM model, which
    the export would overwrite (an earlier ONNX export there is replaced)."""
    output_dir = Path(output_dir)
    meta_file = output_dir / MODEL_META
    if meta_file.is_file() and not is_onnx_model_dir(output_dir):
        raise FarmError(f"{output_dir} holds a saved FARM model ({meta_file}); the ONNX "
                        "export would overwrite it. Export into another folder.")
    output_dir.mkdir(parents=True, exist_ok=True)
    return output_dir


@contextmanager
def _on_cpu_for_inference(model: nn.Module) -> Iterator[None]:
    """The model on the CPU in eval mode while exporting; where and as it was afterwards."""
    device = next(model.parameters()).device
    was_training = model.training
    model.to("cpu").eval()
    try:
        yield
    finally:
        model.to(device).train(was_training)


EXPORTER_LOGGERS = ("onnxscript", "onnx_ir")
"""Loggers of the exporter's graph passes (about a hundred INFO lines per export)."""


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """While exporting, the exporter's passes log warnings only, unless their loggers'
    levels were set explicitly (``farm -v`` does); and its warning that torchvision's
    operators are missing (FARM does not use them) is dropped."""
    exporter = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    levels = {logger: logging.WARNING for logger in exporter if logger.level == logging.NOTSET}
    levels[logging.getLogger("torch.onnx._internal.exporter._registration")] = logging.ERROR
    previous = {logger: logger.level for logger in levels}
    for logger, level in levels.items():
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, level in previous.items():
            logger.setLevel(level)


def _export_program(module: nn.Module, config: Any, output_names: list[str],
                    onnx_file: Path, opset_version: int | None) -> Any:
    """Trace ``module(input_ids, padding_mask, segment_ids)`` on a probe batch of
    ``config``'s vocabulary with dynamic batch and sequence axes; write ``onnx_file``."""
    batch = probe_batch(config)
    example = tuple(batch[name] for name in INPUT_NAMES)
    batch_dim = torch.export.Dim("batch")
    sequence_dim = torch.export.Dim("sequence")
    with torch.no_grad(), warnings.catch_warnings(), _quiet_exporter():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, example, dynamo=True, input_names=list(INPUT_NAMES),
            output_names=output_names, opset_version=opset_version, verbose=False,
            dynamic_shapes={name: {0: batch_dim, 1: sequence_dim} for name in INPUT_NAMES},
        )
    if program is None:
        raise FarmError("torch.onnx.export returned no program.")
    program.save(str(onnx_file))
    return program


def _opset(program: Any) -> int | None:
    return next((o.version for o in program.model_proto.opset_import if o.domain == ""), None)


def export_bi_onnx(
    model: BiAdaptiveModel,
    output_dir: str | Path,
    processor: Any = None,
    opset_version: int | None = None,
    verify: bool = True,
) -> Path:
    """Write a dense retriever as an ONNX folder that ``Inferencer.load(output_dir)`` runs
    (a ``TextSimilarityInferencer`` on ONNX Runtime): one graph per encoder (one in all when
    the encoder is shared), each from ``input_ids``, ``padding_mask``, ``segment_ids``
    ``(batch, sequence)`` to the pooled ``vectors`` ``(batch, hidden)``. The heads (the
    similarity function) run in Python on those vectors.

    Args:
        model (BiAdaptiveModel): The retriever (any pooling, shared or separate encoders).
        output_dir (str | Path): Folder to write.
        processor (Any): Its ``TextSimilarityProcessor``, saved with it.
        opset_version (int | None): ONNX opset (default: the exporter's).
        verify (bool): Compare each graph's vectors with PyTorch's on a batch of another
            size and length than the one traced (max difference 1e-4).

    Returns:
        Path: The query encoder's ``.onnx`` file.
    """
    output_dir = _output_folder(output_dir)
    encoders: list[tuple[str, str, Any, Callable[..., Tensor]]] = [
        ("query", QUERY_ONNX_FILE, model.language_model1, model.embed_queries)]
    if not model.shared_encoder:
        encoders.append(("passage", PASSAGE_ONNX_FILE, model.language_model2,
                         model.embed_passages))
    for stale in (PASSAGE_ONNX_FILE, "lm2"):  # an earlier export with two encoders
        if (output_dir / stale).is_file():
            (output_dir / stale).unlink()
        elif (output_dir / stale).is_dir():
            shutil.rmtree(output_dir / stale)
    with _on_cpu_for_inference(model):
        programs = [
            _export_program(_ExportableEncoder(lm, model.pooling), lm.config, [VECTORS],
                            output_dir / file_name, opset_version)
            for _, file_name, lm, _ in encoders
        ]
        _write_heads_and_processor(model.heads, output_dir, processor)
        for folder, lm in zip(("lm1", "lm2"), model.language_models, strict=False):
            lm.config.save_pretrained(str(output_dir / folder))
        meta = {
            **_export_meta(programs[0]),
            "model": type(model).__name__,
            "pooling": model.pooling,
            "shared_encoder": model.shared_encoder,
            "query_onnx_file": QUERY_ONNX_FILE,
            "passage_onnx_file": encoders[-1][1],
            "outputs": [VECTORS],
            "language": model.language_model1.language,
            "model_type": model.language_model1.config.model_type,
            "tasks": _task_list(model.heads),
        }
        (output_dir / MODEL_META).write_text(json.dumps(meta, indent=2))
        if verify:
            for side, file_name, lm, embed in encoders:
                _verify(output_dir / file_name, lm.config, _vectors_of(embed),
                        [f"the {side} encoder"])
    return output_dir / QUERY_ONNX_FILE


def _vectors_of(embed: Callable[..., Tensor]) -> Callable[[dict[str, Tensor]], list[Tensor]]:
    """``embed`` (``embed_queries`` or ``embed_passages``) on a batch of ``INPUT_NAMES``."""
    return lambda batch: [embed(batch["input_ids"], batch["segment_ids"],
                                batch["padding_mask"])]


def _write_heads_and_processor(heads: list[PredictionHead], output_dir: Path,
                               processor: Any) -> None:
    for stale in output_dir.glob("prediction_head_*"):
        stale.unlink()
    for i, head in enumerate(heads):
        head.save(output_dir, head_num=i)
    if processor is not None:
        processor.save(output_dir)


def _export_meta(program: Any) -> dict[str, Any]:
    """The parts of ``farm_model.json`` that every export has."""
    return {
        "format_version": FORMAT_VERSION,
        "farm_version": __version__,
        "backend": "onnx",
        "opset_version": _opset(program),
        "torch_version": torch.__version__,
        "inputs": list(INPUT_NAMES),
    }


def _task_list(heads: list[PredictionHead]) -> list[dict[str, Any]]:
    return [{"task_name": h.task_name, "head": type(h).__name__, "labels": h.label_list}
            for h in heads]


def _write_companions(model: AdaptiveModel, output_dir: Path, processor: Any,
                      program: Any) -> None:
    """Heads, the encoder's config, the processor and ``farm_model.json``."""
    _write_heads_and_processor(model.heads, output_dir, processor)
    model.language_model.config.save_pretrained(str(output_dir / "language_model"))
    meta = {
        **_export_meta(program),
        "onnx_file": ONNX_FILE,
        "outputs": [f"logits_{i}" for i in range(len(model.heads))],
        "lm_output_types": list(model.lm_output_types),
        "language": model.language_model.language,
        "model_type": model.language_model.config.model_type,
        "tasks": _task_list(model.heads),
    }
    (output_dir / MODEL_META).write_text(json.dumps(meta, indent=2))


def _verify(onnx_file: Path, config: Any, run_torch: Callable[[dict[str, Tensor]], list[Tensor]],
            names: list[str]) -> None:
    """Compare ONNX Runtime and PyTorch (``run_torch``) on a batch unlike the traced one
    (3 x 13 tokens of ``config``'s vocabulary, one row padded); ``names`` name the outputs."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, int(config.vocab_size), (3, 13), generator=generator)
    padding_mask = torch.ones_like(input_ids)
    padding_mask[1, 8:] = 0
    batch = {"input_ids": input_ids, "padding_mask": padding_mask,
             "segment_ids": torch.zeros_like(input_ids)}
    session = new_session(onnx_file)
    feed = {i.name: batch[i.name].numpy() for i in session.get_inputs()}
    onnx_outputs = session.run(None, feed)
    with torch.inference_mode():
        torch_outputs = run_torch(batch)
    for name, ours, theirs in zip(names, onnx_outputs, torch_outputs, strict=True):
        difference = float(np.abs(ours - theirs.float().numpy()).max())
        if difference > TOLERANCE:
            raise FarmError(
                f"The ONNX export of {name} differs from PyTorch by {difference:.2e} "
                f"(allowed {TOLERANCE}); please report this with the model's config "
                f"({onnx_file})."
            )
    logger.info("ONNX export verified against PyTorch: %s", onnx_file)
