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
from safetensors import safe_open
from torch import Tensor
from transformers import AutoModel, PretrainedConfig, PreTrainedModel

from farm.conversion.hf_heads import HEAD_CONVERTERS, PRETRAINING, HeadConverter, converter_for
from farm.conversion.hf_lm_heads import PRETRAINING_CLASSES
from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.embeddings import EmbeddingModel
from farm.modeling.hf_loading import load_config, load_pretrained
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_heads import (
    BertLMHead,
    NextSentenceHead,
    PredictionHead,
    RegressionHead,
)
from farm.serialization import apply_umask_to_weights

logger = logging.getLogger(__name__)

TOLERANCE = 1e-4


def convert_to_transformers(model: AdaptiveModel, verify: bool = True) -> list[PreTrainedModel]:
    """One Hugging Face model per head of ``model`` (FARM's ``convert_to_transformers``).

    A ``BertLMHead`` with a ``NextSentenceHead`` on BERT gives one ``BertForPreTraining``
    for both; on other architectures the next-sentence head has no Hugging Face equivalent
    and is dropped with a warning (the masked-LM head converts).

    Args:
        model (AdaptiveModel): The FARM model. An ``EmbeddingModel`` gives its plain encoder.
        verify (bool): Check on a probe batch that each converted model gives the FARM
            head's outputs (regression: its predictions in the label scale).

    Returns:
        list[PreTrainedModel]: In head order, each with ``id2label``/``label2id`` and
        ``problem_type`` set; save each with ``save_pretrained``.
    """
    return [hf for hf, _ in _convert(model, verify)]


def _convert(model: AdaptiveModel, verify: bool, only: int | None = None
             ) -> list[tuple[PreTrainedModel, list[int]]]:
    """Each converted model with the indices of the heads it holds."""
    lm = model.language_model
    was_training = model.training
    model.eval()
    try:
        if isinstance(model, EmbeddingModel):
            return [(copy.deepcopy(lm.model), [])]
        groups = head_groups(model.heads, lm.config.model_type, only)
        return [(_heads_to_hf(converter, [model.heads[i] for i in indices], lm, verify),
                 indices) for converter, indices in groups]
    finally:
        model.train(was_training)


def head_groups(heads: list[PredictionHead], model_type: str, only: int | None = None
                ) -> list[tuple[HeadConverter, list[int]]]:
    """The converter of each Hugging Face model to make and the heads (indices) it holds.

    Args:
        heads (list[PredictionHead]): The model's heads.
        model_type (str): The language model's ``config.model_type``.
        only (int | None): Convert this head alone (a masked-LM head without its
            next-sentence partner).
    """
    lm_index = next((i for i, h in enumerate(heads) if isinstance(h, BertLMHead)), None)
    nsp = [i for i, h in enumerate(heads) if isinstance(h, NextSentenceHead)]
    partner = nsp[0] if (only is None and lm_index is not None and nsp
                         and model_type in PRETRAINING_CLASSES) else None
    groups: list[tuple[HeadConverter, list[int]]] = []
    for i, head in enumerate(heads):
        if only is not None and i != only:
            continue
        name = type(head).__name__
        if isinstance(head, NextSentenceHead):
            if lm_index is None or only is not None:
                raise FarmError(
                    f"{name} (task '{head.task_name}') converts only together with a "
                    f"BertLMHead: on BERT both become {PRETRAINING_CLASSES['bert']}. Hugging "
                    "Face has no class for a next-sentence head of its own that FARM maps to."
                )
            if i != partner:
                why = (f"{model_type} has no Hugging Face class with a masked-LM and a "
                       f"next-sentence head (only {sorted(PRETRAINING_CLASSES)} have one)"
                       if partner is None else "only one pairs with the masked-LM head")
                logger.warning("%s (task '%s') is dropped from the conversion: %s; the "
                               "masked-LM head is converted without it.", name,
                               head.task_name, why)
            continue
        if i == lm_index and partner is not None:
            groups.append((PRETRAINING, [i, partner]))
            continue
        if name not in HEAD_CONVERTERS:
            raise FarmError(
                f"{name} (task '{head.task_name}') has no Hugging Face equivalent known to "
                f"FARM; convertible heads: {sorted(HEAD_CONVERTERS)}."
            )
        groups.append((HEAD_CONVERTERS[name], [i]))
    return groups


def save_transformers(
    model: AdaptiveModel, output_dir: str | Path, tokenizer: Any = None, verify: bool = True,
    head: int | None = None,
) -> list[Path]:
    """Convert and ``save_pretrained`` each head's model (with the tokenizer, if given).

    A model that converts to one Hugging Face model is saved in ``output_dir``; with
    several, each in ``output_dir/<task_name>`` (of its first head). A masked-LM model's
    folder also stores the encoder's pooler (which ``*ForMaskedLM`` classes leave out), so
    ``AutoModel.from_pretrained`` on it gives the whole encoder.

    Args:
        model (AdaptiveModel): The FARM model.
        output_dir (str | Path): Where to write.
        tokenizer (Any): Saved into each folder if given.
        verify (bool): Check each converted model's outputs (see
            :func:`convert_to_transformers`).
        head (int | None): Convert only this head (index).

    Returns:
        list[Path]: The folders written, in head order.
    """
    output_dir = Path(output_dir)
    converted = _convert(model, verify, head)
    single = len(converted) == 1
    folders = []
    for hf_model, indices in converted:
        folder = output_dir if single else output_dir / model.heads[indices[0]].task_name
        state = _with_pooler(hf_model, model, indices)
        hf_model.save_pretrained(str(folder), state_dict=state)
        apply_umask_to_weights(folder)
        if tokenizer is not None:
            tokenizer.save_pretrained(str(folder))
        folders.append(folder)
    return folders


def _with_pooler(hf: PreTrainedModel, model: AdaptiveModel, indices: list[int]
                 ) -> dict[str, Tensor] | None:
    """``hf``'s weights plus the FARM encoder's pooler, for a masked-LM model (whose
    Hugging Face class has no pooler); ``None`` when nothing is to be added."""
    if not indices or not all(getattr(HEAD_CONVERTERS.get(type(model.heads[i]).__name__),
                                      "stores_encoder_pooler", False) for i in indices):
        return None
    pooler = getattr(model.language_model.model, "pooler", None)
    if pooler is None or getattr(hf.base_model, "pooler", None) is not None:
        return None
    prefix = hf.base_model_prefix
    state = dict(hf.state_dict())
    state.update({f"{prefix}.pooler.{k}": v for k, v in pooler.state_dict().items()})
    return state


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
            ``"regression"``, ``"ner"``, ``"question_answering"``, ``"lm"`` (a
            ``*ForMaskedLM``: ``BertLMHead``) or ``"lm_nextsentence"`` (``BertForPreTraining``:
            ``BertLMHead`` and ``NextSentenceHead``); ``None`` reads it from
            ``config.architectures``. For ``"text_classification"`` the model's
            ``problem_type`` picks multilabel or regression.
        processor (Any): If given, the heads are connected to the processor's tasks (see
            :func:`connect_processor`).
        verify (bool): Check that both models give the same outputs on a probe batch.

    Returns:
        AdaptiveModel: The language model with one head (two for ``"lm_nextsentence"``).
    """
    extra: dict[str, Any] = {"revision": revision} if revision else {}
    config = load_config(model_name_or_path, **extra)
    task_type, converter = converter_for(task_type, config)
    auto_class = getattr(transformers, converter.auto_class)
    hf, info = load_pretrained(auto_class, model_name_or_path, config=config,
                               output_loading_info=True, **extra)
    hf.eval()
    base_prefix = hf.base_model_prefix
    missing_head = [k for k in info["missing_keys"] if not k.startswith(f"{base_prefix}.")]
    if missing_head:
        logger.warning(
            "%s holds no trained %s head (missing %s): the head is untrained, so its "
            "predictions are random until you fine-tune it.", model_name_or_path, task_type,
            missing_head[:4],
        )
    heads, pooler = converter.build_heads(hf)
    if not pooler and getattr(hf.base_model, "pooler", None) is None:
        pooler = _stored_pooler(model_name_or_path, hf.base_model_prefix)
    lm = _language_model(hf, pooler)
    model = AdaptiveModel(lm, heads, embeds_dropout_prob=0.0, device=device)
    if processor is not None:
        connect_processor(model, processor)
    if verify:
        _verify(model.to("cpu"), hf, converter)
        model.to(device)
    return model


def _heads_to_hf(converter: HeadConverter, heads: list[PredictionHead], lm: LanguageModel,
                 verify: bool) -> PreTrainedModel:
    config = copy.deepcopy(lm.config)
    config.architectures = None
    converter.prepare_group(config, heads)
    auto_class = getattr(transformers, converter.auto_class)
    hf = auto_class.from_config(config)
    hf.eval()
    _copy_base_weights(lm, hf)
    converter.group_to_hf(heads, lm, hf)
    if verify:
        model = AdaptiveModel(lm, heads, embeds_dropout_prob=0.0, device=lm.model.device)
        _verify(model.eval(), hf, converter)
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


def _stored_pooler(model_name_or_path: str | Path, prefix: str) -> dict[str, Tensor]:
    """Pooler weights kept in a local folder's ``model.safetensors`` beside a head class
    that does not use them (masked-LM folders written by :func:`save_transformers`, and
    original BERT checkpoints)."""
    file = Path(model_name_or_path) / "model.safetensors"
    if not file.is_file():
        return {}
    with safe_open(str(file), framework="pt") as stored:
        names = stored.keys()  # a safetensors file, not a dict
        return {name[len(prefix) + 1:]: stored.get_tensor(name) for name in names
                if name.startswith(f"{prefix}.pooler.")}


def probe_batch(config: PretrainedConfig) -> dict[str, Tensor]:
    """A small fixed batch of token ids (two rows, the second padded)."""
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(0, int(config.vocab_size), (2, 9), generator=generator)
    padding_mask = torch.ones_like(input_ids)
    padding_mask[1, 6:] = 0
    return {"input_ids": input_ids, "padding_mask": padding_mask,
            "segment_ids": torch.zeros_like(input_ids)}


def _verify(model: AdaptiveModel, hf: PreTrainedModel, converter: HeadConverter) -> None:
    """Raise if FARM's and the Hugging Face model's outputs differ on the probe batch
    (``model`` holds the converter's heads, in order)."""
    batch = probe_batch(hf.config)
    device = next(hf.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["padding_mask"]}
    if "token_type_ids" in inspect.signature(hf.forward).parameters:
        inputs["token_type_ids"] = batch["segment_ids"]
    with torch.inference_mode():
        all_farm = model(**batch)
        outputs = converter.hf_outputs(hf(**inputs))
    real = batch["padding_mask"].bool().cpu()
    for head, farm_logits, (hf_logits, per_token) in zip(model.heads, all_farm, outputs,
                                                          strict=True):
        farm_logits = farm_logits.float().cpu()
        if isinstance(head, RegressionHead):
            farm_logits = torch.tensor(head.unscale(farm_logits)).view(-1, 1)
        hf_logits = hf_logits.float().cpu()
        if per_token:
            farm_logits, hf_logits = farm_logits[real], hf_logits[real]
        difference = float((farm_logits - hf_logits).abs().max())
        scale = max(1.0, float(hf_logits.abs().max()))
        if difference > TOLERANCE * scale:
            raise FarmError(
                f"The converted {type(hf).__name__} differs from the FARM model's "
                f"{type(head).__name__} by {difference:.2e} (allowed {TOLERANCE * scale:.1e}); "
                "please report this with the model's config."
            )
        logger.info("Converted %s matches the FARM model's %s (max difference %.1e).",
                    type(hf).__name__, type(head).__name__, difference)


# Metric of a task added to a processor for a converted head, by processor task type.
_DEFAULT_METRICS = {"classification": "acc", "multilabel_classification": "acc",
                    "regression": "mse", "ner": "seq_f1", "question_answering": "squad",
                    "lm": "perplexity"}


def connect_processor(model: AdaptiveModel, processor: Any) -> None:
    """Connect a converted model's heads with ``processor``, fitting the processor's tasks.

    A head whose task the processor lacks takes the name of the processor's one task of
    the head's kind (a converted head keeps the task name it was trained under, e.g.
    ``"sentiment"``, while a new processor calls its task ``"text_classification"``). A
    processor without any task of that kind gets the head's task added. Several candidate
    tasks are ambiguous: a ``FarmError`` names them.

    Args:
        model (AdaptiveModel): The converted model.
        processor (Any): The processor it will read inputs with.
    """
    used = {h.task_name for h in model.heads if h.task_name in processor.tasks}
    for head in model.heads:
        if head.task_name in processor.tasks:
            continue
        kinds = head.processor_task_types
        fitting = [name for name, task in processor.tasks.items() if name not in used and (
            not kinds or (task.get("task_type") or "classification") in kinds)]
        if len(fitting) == 1:
            logger.info("The converted %s learned task '%s'; it now learns the processor's "
                        "task '%s'.", type(head).__name__, head.task_name, fitting[0])
            head.task_name = fitting[0]
        elif not fitting:
            task_type = kinds[0] if kinds else None
            extra = ({"scaler_mean": getattr(head, "scaler_mean", None),
                      "scaler_scale": getattr(head, "scaler_scale", None)}
                     if task_type == "regression" else {})
            processor.add_task(head.task_name, metric=head.metric or _DEFAULT_METRICS.get(
                task_type or "", "acc"), label_list=head.label_list, task_type=task_type,
                **extra)
            logger.info("Added task '%s' (%s) to the processor for the converted %s.",
                        head.task_name, task_type, type(head).__name__)
        else:
            raise FarmError(
                f"The converted {type(head).__name__} learned task '{head.task_name}', which "
                f"the processor lacks, and several of its tasks could take its place: "
                f"{fitting}. Set head.task_name to one of them before connecting."
            )
        used.add(head.task_name)
    model.connect_heads_with_processor(processor.tasks, require_labels=False)


class Converter:
    """FARM's conversion entry point (``farm.conversion.transformers.Converter``): FARM
    models to Hugging Face ``transformers`` models and back, with verified outputs.

    Example:
        >>> model = Converter.convert_from_transformers("deepset/roberta-base-squad2",
        ...                                             device="cpu")
        >>> hf_model = Converter.convert_to_transformers(model)[0]
        >>> hf_model.save_pretrained("converted")
    """

    @staticmethod
    def convert_to_transformers(adaptive_model: AdaptiveModel) -> list[PreTrainedModel]:
        """One Hugging Face model per head (see :func:`convert_to_transformers`); a
        ``BiAdaptiveModel`` gives its two encoders."""
        return list(adaptive_model.convert_to_transformers())

    @staticmethod
    def convert_from_transformers(
        model_name_or_path: str | Path,
        device: str | torch.device = "cpu",
        revision: str | None = None,
        task_type: str | None = None,
        processor: Any = None,
    ) -> AdaptiveModel:
        """A FARM model from a Hugging Face model (see :func:`convert_from_transformers`).

        Args:
            model_name_or_path (str | Path): A Hugging Face folder or hub name.
            device (str | torch.device): Where to put the model.
            revision (str | None): Hub revision.
            task_type (str | None): As :func:`convert_from_transformers`, plus
                ``"embeddings"`` (FARM's headless model: an ``EmbeddingModel`` pooling the
                ``[CLS]`` vector); None reads it from ``config.architectures``.
            processor (Any): Connected with the heads, its tasks fitted to them (see
                :func:`connect_processor`).
        """
        if task_type == "embeddings":
            extra: dict[str, Any] = {"revision": revision} if revision else {}
            return EmbeddingModel(LanguageModel.load(model_name_or_path, **extra),
                                  device=device)
        return convert_from_transformers(model_name_or_path, device=device, revision=revision,
                                         task_type=task_type, processor=processor)
