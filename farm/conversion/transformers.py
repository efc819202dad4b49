"""FARM models to Hugging Face ``AutoModelFor...`` models and back, with identical outputs.

Each conversion is checked: both models run on a probe batch and their outputs must agree
(``max |difference| <= 1e-4 * max(1, max |logit|)``), else the conversion raises.
"""

from __future__ import annotations

import copy
import inspect
import logging
from pathlib import Path
from typing import Any

import torch
import transformers
from torch import Tensor
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

from farm.conversion.hf_heads import HEAD_CONVERTERS, HeadConverter, converter_for
from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.embeddings import EmbeddingModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads import PredictionHead, RegressionHead

logger = logging.getLogger(__name__)

TOLERANCE = 1e-4


def convert_to_transformers(model: AdaptiveModel, verify: bool = True) -> list[PreTrainedModel]:
    """One Hugging Face model per head of ``model`` (FARM's ``convert_to_transformers``).

    Args:
        model (AdaptiveModel): The FARM model. An ``EmbeddingModel`` gives its plain encoder.
        verify (bool): Check on a probe batch that each converted model gives the FARM
            head's outputs (regression: its predictions in the label scale).

    Returns:
        list[PreTrainedModel]: In head order, each with ``id2label``/``label2id`` and
        ``problem_type`` set; save each with ``save_pretrained``.
    """
    lm = model.language_model
    was_training = model.training
    model.eval()
    try:
        if isinstance(model, EmbeddingModel):
            return [copy.deepcopy(lm.model)]
        return [_head_to_hf(head, lm, verify) for head in model.heads]
    finally:
        model.train(was_training)


def save_transformers(
    model: AdaptiveModel, output_dir: str | Path, tokenizer: Any = None, verify: bool = True
) -> list[Path]:
    """Convert and ``save_pretrained`` each head's model (with the tokenizer, if given).

    A model with one head is saved in ``output_dir``; with several heads, each in
    ``output_dir/<task_name>``.

    Returns:
        list[Path]: The folders written, in head order.
    """
    output_dir = Path(output_dir)
    converted = convert_to_transformers(model, verify=verify)
    names = [h.task_name for h in model.heads]
    folders = [output_dir] if len(converted) == 1 else [output_dir / n for n in names]
    for hf_model, folder in zip(converted, folders, strict=True):
        hf_model.save_pretrained(str(folder))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(folder))
    return folders


def convert_from_transformers(
    model_name_or_path: str | Path,
    device: str | torch.device = "cpu",
    revision: str | None = None,
    task_type: str | None = None,
    processor: Any = None,
    verify: bool = True,
) -> AdaptiveModel:
    """A FARM model from a Hugging Face model (FARM's ``convert_from_transformers``).

    The Hugging Face head's weights become the FARM head's (a plain encoder folder gets an
    untrained head, with a warning). Remote code is never run.

    Args:
        model_name_or_path (str | Path): A Hugging Face folder or hub name.
        device (str | torch.device): Where to put the model.
        revision (str | None): Hub revision.
        task_type (str | None): ``"text_classification"``, ``"multilabel_text_classification"``,
            ``"regression"`` or ``"ner"``; ``None`` reads it from ``config.architectures``.
            For ``"text_classification"`` the model's ``problem_type`` picks multilabel or
            regression.
        processor (Any): If given, the head is connected to the processor's task.
        verify (bool): Check that both models give the same outputs on a probe batch.

    Returns:
        AdaptiveModel: The language model with one head.
    """
    extra: dict[str, Any] = {"revision": revision} if revision else {}
    config = AutoConfig.from_pretrained(str(model_name_or_path), trust_remote_code=False,
                                        **extra)
    task_type, converter = converter_for(task_type, config)
    auto_class = getattr(transformers, converter.auto_class)
    hf, info = auto_class.from_pretrained(
        str(model_name_or_path), config=config, trust_remote_code=False,
        output_loading_info=True, **extra,
    )
    hf.eval()
    base_prefix = hf.base_model_prefix
    missing_head = [k for k in info["missing_keys"] if not k.startswith(f"{base_prefix}.")]
    if missing_head:
        logger.warning(
            "%s holds no trained %s head (missing %s): the head is untrained, so its "
            "predictions are random until you fine-tune it.", model_name_or_path, task_type,
            missing_head[:4],
        )
    head, pooler = converter.build_head(hf)
    lm = _language_model(hf, pooler)
    model = AdaptiveModel(lm, [head], embeds_dropout_prob=0.0, device=device)
    if processor is not None:
        model.connect_heads_with_processor(processor.tasks, require_labels=False)
    if verify:
        _verify(model.to("cpu"), 0, hf, converter)
        model.to(device)
    return model


def _head_to_hf(head: PredictionHead, lm: LanguageModel, verify: bool) -> PreTrainedModel:
    name = type(head).__name__
    if name not in HEAD_CONVERTERS:
        raise FarmError(
            f"{name} (task '{head.task_name}') has no Hugging Face equivalent known to FARM; "
            f"convertible heads: {sorted(HEAD_CONVERTERS)}."
        )
    converter = HEAD_CONVERTERS[name]
    config = copy.deepcopy(lm.config)
    config.architectures = None
    converter.prepare_config(config, head)
    auto_class = getattr(transformers, converter.auto_class)
    hf = auto_class.from_config(config)
    hf.eval()
    _copy_base_weights(lm, hf)
    converter.to_hf(head, lm, hf)
    if verify:
        model = AdaptiveModel(lm, [head], embeds_dropout_prob=0.0, device=lm.model.device)
        _verify(model.eval(), 0, hf, converter)
    return hf


def _copy_base_weights(lm: LanguageModel, hf: PreTrainedModel) -> None:
    """The encoder's weights into ``hf``'s base model; only a pooler may be left over (it
    is moved into the classifier where the architecture needs it)."""
    result = hf.base_model.load_state_dict(lm.model.state_dict(), strict=False)
    left_over = [k for k in result.unexpected_keys if not k.startswith("pooler")]
    if result.missing_keys or left_over:
        raise FarmError(
            f"The encoder's weights do not fit {type(hf).__name__}: missing "
            f"{result.missing_keys[:5]}, unexpected {left_over[:5]}."
        )


def _language_model(hf: PreTrainedModel, pooler: dict[str, Tensor]) -> LanguageModel:
    """A FARM language model with the encoder weights of ``hf`` (and its classifier's
    pooler, where the architecture keeps it there)."""
    config: PretrainedConfig = copy.deepcopy(hf.config)
    config.architectures = None
    base = AutoModel.from_config(config)
    state = {**hf.base_model.state_dict(), **pooler}
    result = base.load_state_dict(state, strict=False)
    if result.unexpected_keys or [k for k in result.missing_keys if not k.startswith("pooler")]:
        raise FarmError(
            f"The encoder of {type(hf).__name__} does not fit {type(base).__name__}: missing "
            f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}."
        )
    if result.missing_keys:
        logger.info("%s has no pooler weights; the FARM pooler is initialised at random "
                    "(per-token heads do not use it).", type(hf).__name__)
    return LanguageModel(base.eval())


def probe_batch(config: PretrainedConfig) -> dict[str, Tensor]:
    """A small fixed batch of token ids (two rows, the second padded)."""
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(0, int(config.vocab_size), (2, 9), generator=generator)
    padding_mask = torch.ones_like(input_ids)
    padding_mask[1, 6:] = 0
    return {"input_ids": input_ids, "padding_mask": padding_mask,
            "segment_ids": torch.zeros_like(input_ids)}


def _verify(model: AdaptiveModel, head_index: int, hf: PreTrainedModel,
            converter: HeadConverter) -> None:
    """Raise if FARM's and the Hugging Face model's outputs differ on the probe batch."""
    batch = probe_batch(hf.config)
    device = next(hf.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["padding_mask"]}
    if "token_type_ids" in inspect.signature(hf.forward).parameters:
        inputs["token_type_ids"] = batch["segment_ids"]
    with torch.inference_mode():
        farm_logits = model(**batch)[head_index].float()
        head = model.heads[head_index]
        if isinstance(head, RegressionHead):
            farm_logits = torch.tensor(head.unscale(farm_logits)).view(-1, 1)
        hf_logits = converter.hf_logits(hf(**inputs)).float().cpu()
    farm_logits = farm_logits.cpu()
    if converter.per_token:
        real = batch["padding_mask"].bool().cpu()
        farm_logits, hf_logits = farm_logits[real], hf_logits[real]
    difference = float((farm_logits - hf_logits).abs().max())
    scale = max(1.0, float(hf_logits.abs().max()))
    if difference > TOLERANCE * scale:
        raise FarmError(
            f"The converted {type(hf).__name__} differs from the FARM model by {difference:.2e} "
            f"(allowed {TOLERANCE * scale:.1e}); please report this with the model's config."
        )
    logger.info("Converted %s matches the FARM model (max difference %.1e).",
                type(hf).__name__, difference)
