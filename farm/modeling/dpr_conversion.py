"""Query and passage encoders to and from Hugging Face DPR models.

Hugging Face's ``DPRQuestionEncoder`` and ``DPRContextEncoder`` wrap a BERT without pooler
and take the last layer's first-token vector. A FARM encoder converts to them exactly when
it is a BERT pooled by ``"cls_token"``; any other encoder (RoBERTa, ELECTRA, a mean-pooled
BERT such as MiniLM, ...) is exported as its own ``AutoModel`` folder, which the DPR classes
cannot represent.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor
from transformers import (
    BertConfig,
    BertModel,
    DPRConfig,
    DPRContextEncoder,
    DPRQuestionEncoder,
    PretrainedConfig,
    PreTrainedModel,
)

from farm.errors import FarmError
from farm.modeling.embeddings import pool_tokens
from farm.modeling.hf_loading import load_config, load_pretrained
from farm.modeling.language_model import LanguageModel

logger = logging.getLogger(__name__)

# Per role: the DPR class and the prefix of the BERT weights inside it.
DPR_CLASSES: dict[str, tuple[type[PreTrainedModel], str]] = {
    "query": (DPRQuestionEncoder, "question_encoder.bert_model."),
    "passage": (DPRContextEncoder, "ctx_encoder.bert_model."),
}
_ROLE_OF_ARCHITECTURE = {"DPRQuestionEncoder": "query", "DPRContextEncoder": "passage"}


def converts_to_dpr(language_model: LanguageModel, pooling: str) -> bool:
    """Whether the DPR classes compute exactly this encoder's vectors."""
    return language_model.config.model_type == "bert" and pooling == "cls_token"


def to_transformers(language_model: LanguageModel, role: str, pooling: str) -> PreTrainedModel:
    """A Hugging Face model computing the encoder's vectors.

    Args:
        language_model (LanguageModel): The encoder.
        role (str): ``"query"`` or ``"passage"``.
        pooling (str): How the encoder's vectors are pooled (``"cls_token"``, ...).

    Returns:
        PreTrainedModel: ``DPRQuestionEncoder`` / ``DPRContextEncoder`` (whose
        ``pooler_output`` is the vector) for a BERT with ``cls_token`` pooling, else the
        encoder's own ``AutoModel`` (pool its output with ``pooling`` yourself).
    """
    if not converts_to_dpr(language_model, pooling):
        logger.warning(
            "The %s encoder (%s, pooling %r) has no Hugging Face DPR equivalent (DPR classes "
            "wrap a BERT and take the [CLS] vector); it is exported as a plain AutoModel: "
            "pool its last hidden state with %r to get the vectors.",
            role, language_model.config.model_type, pooling, pooling,
        )
        return language_model.model
    dpr_class, prefix = DPR_CLASSES[role]
    model = dpr_class(dpr_config(language_model.config))
    state = {prefix + name: tensor for name, tensor in language_model.model.state_dict().items()
             if not name.startswith("pooler.")}
    model.load_state_dict(state, strict=True)
    return model.eval()


def verify_vectors(hf: PreTrainedModel, encode: Callable[..., Tensor], pooling: str,
                   role: str, tolerance: float = 1e-4) -> float:
    """Raise unless ``hf`` gives the FARM encoder's vectors on a probe batch.

    Args:
        hf (PreTrainedModel): The exported model (DPR class or plain ``AutoModel``).
        encode (Callable[..., Tensor]): FARM's ``embed_queries`` / ``embed_passages``.
        pooling (str): The FARM model's pooling (applied to a plain ``AutoModel``'s output).
        role (str): ``"query"`` or ``"passage"``, for the message.
        tolerance (float): Largest allowed difference, times ``max(1, max |vector|)``.

    Returns:
        float: The largest difference found.
    """
    generator = torch.Generator().manual_seed(0)
    device = next(hf.parameters()).device
    ids = torch.randint(0, int(hf.config.vocab_size), (2, 9), generator=generator).to(device)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    segments = torch.zeros_like(ids)
    inputs = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in inspect.signature(hf.forward).parameters:
        inputs["token_type_ids"] = segments
    with torch.inference_mode():
        ours = encode(ids, segments, mask).float()  # (2, hidden)
        output = hf.eval()(**inputs)
        if isinstance(hf, DPRQuestionEncoder | DPRContextEncoder) or pooling == "pooled":
            theirs = output.pooler_output
        else:
            theirs = pool_tokens(output.last_hidden_state, mask, pooling)
    difference = float((ours - theirs.float()).abs().max())
    allowed = tolerance * max(1.0, float(theirs.abs().max()))
    if difference > allowed:
        raise FarmError(
            f"The exported {role} encoder ({type(hf).__name__}) differs from FARM's vectors by "
            f"{difference:.2e} (allowed {allowed:.1e}); please report this with the model's "
            "config."
        )
    logger.info("Exported %s encoder %s matches FARM's vectors (max difference %.1e).", role,
                type(hf).__name__, difference)
    return difference


def dpr_config(bert_config: PretrainedConfig) -> DPRConfig:
    """The ``DPRConfig`` of a BERT config (no projection layer)."""
    accepted = set(inspect.signature(DPRConfig.__init__).parameters) - {"self", "architectures"}
    values = {k: v for k, v in bert_config.to_dict().items() if k in accepted}
    return DPRConfig(**values, projection_dim=0)


def is_dpr_folder(name_or_path: str | Path) -> bool:
    """Whether a Hugging Face folder (or hub name) holds a DPR model (no code from the
    folder runs)."""
    return load_config(name_or_path).model_type == "dpr"


def language_model_from_dpr(name_or_path: str | Path) -> LanguageModel:
    """The BERT inside a ``DPRQuestionEncoder`` or ``DPRContextEncoder`` folder.

    Args:
        name_or_path (str | Path): The DPR model (a folder, or a hub name with network).

    Returns:
        LanguageModel: A BERT without pooler; pool it with ``"cls_token"`` as DPR does.
    """
    config = load_config(name_or_path)
    architecture = (config.architectures or ["?"])[0]
    role = _ROLE_OF_ARCHITECTURE.get(architecture)
    if role is None:
        raise FarmError(
            f"{name_or_path} is a DPR model of architecture {architecture}; only "
            f"{sorted(_ROLE_OF_ARCHITECTURE)} folders hold a query or passage encoder."
        )
    if config.projection_dim:
        raise FarmError(
            f"{name_or_path} projects its vectors to projection_dim={config.projection_dim}; "
            "FARM's encoders use the [CLS] vector itself. Only DPR models with "
            "projection_dim=0 (like Facebook's) can be loaded."
        )
    dpr_class, prefix = DPR_CLASSES[role]
    dpr = load_pretrained(dpr_class, name_or_path, config=config)
    values = {k: v for k, v in config.to_dict().items()
              if k not in ("model_type", "projection_dim", "architectures", "auto_map")}
    bert = BertModel(BertConfig.from_dict(values), add_pooling_layer=False)
    inner = {name[len(prefix):]: tensor for name, tensor in dpr.state_dict().items()
             if name.startswith(prefix)}
    bert.load_state_dict(inner, strict=True)
    return LanguageModel(bert.eval())
