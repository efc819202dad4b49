"""FARM 0.8's per-architecture language model classes, as thin names for the one wrapper.

FARM had a class per architecture (``Bert``, ``Roberta``, ...). Here each is a
:class:`LanguageModel` that loads any encoder through ``AutoModel``; its name only says
what the user expects, and a model of another architecture loads too, with a warning.
``from farm.modeling.language_model import Roberta`` and ``Roberta.load(...)`` work as in
FARM. The word-embedding models (``WordEmbedding_LM``, ``EmbeddingConfig``,
``EmbeddingModel``) no longer exist and raise a ``FarmError`` naming the replacement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from transformers import PretrainedConfig

from farm.compat import log_once, removed_class
from farm.modeling.language_model import LanguageModel

__all__ = [
    "Albert", "Bert", "BigBird", "Camembert", "DPRContextEncoder", "DPRQuestionEncoder",
    "DistilBert", "Electra", "EmbeddingConfig", "EmbeddingModel", "Roberta", "WordEmbedding_LM",
    "XLMRoberta", "XLNet",
]


class FarmArchitecture(LanguageModel):
    """A :class:`LanguageModel` under one of FARM's architecture names.

    Attributes:
        model_types (tuple[str, ...]): The ``config.model_type`` values the name stands for.
    """

    model_types: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def load(
        cls, pretrained_model_name_or_path: str | Path, language: str | None = None,
        revision: str | None = None, n_added_tokens: int = 0,
        language_model_class: str | None = None, **kwargs: Any,
    ) -> LanguageModel:
        """Load like :meth:`LanguageModel.load`; a model of another architecture than the
        class name says loads as well (it is an ``AutoModel``), with a warning."""
        model = super().load(pretrained_model_name_or_path, language=language,
                             revision=revision, n_added_tokens=n_added_tokens,
                             language_model_class=language_model_class, **kwargs)
        cls._check_type(model.config, pretrained_model_name_or_path)
        return model

    @classmethod
    def _check_type(cls, config: PretrainedConfig, source: str | Path) -> None:
        if config.model_type not in cls.model_types:
            log_once(
                f"{cls.__name__}.load:{config.model_type}",
                f"{cls.__name__}.load({str(source)!r}) loaded a '{config.model_type}' model, "
                f"not {' or '.join(repr(t) for t in cls.model_types)}: FARM reads the "
                "architecture from the config (LanguageModel.load does the same for any).",
            )


class Bert(FarmArchitecture):
    """BERT (and BERT-shaped models such as MiniLM)."""

    model_types = ("bert",)


class Albert(FarmArchitecture):
    """ALBERT."""

    model_types = ("albert",)


class Roberta(FarmArchitecture):
    """RoBERTa."""

    model_types: ClassVar[tuple[str, ...]] = ("roberta",)


class XLMRoberta(FarmArchitecture):
    """XLM-RoBERTa."""

    model_types = ("xlm-roberta",)


class Camembert(Roberta):
    """CamemBERT (a RoBERTa)."""

    model_types = ("camembert", "roberta")


class DistilBert(FarmArchitecture):
    """DistilBERT (no pooler: its pooled vector is the first token's)."""

    model_types = ("distilbert",)


class Electra(FarmArchitecture):
    """ELECTRA's discriminator."""

    model_types = ("electra",)


class XLNet(FarmArchitecture):
    """XLNet."""

    model_types = ("xlnet",)


class BigBird(FarmArchitecture):
    """BigBird."""

    model_types = ("big_bird",)


class _DprEncoder(FarmArchitecture):
    """A DPR encoder: a Hugging Face ``DPRQuestionEncoder``/``DPRContextEncoder`` folder loads
    as the BERT inside it (pool with ``"cls_token"``, as DPR does); any other encoder loads
    as itself."""

    model_types = ("dpr", "bert")

    @classmethod
    def load(
        cls, pretrained_model_name_or_path: str | Path, language: str | None = None,
        revision: str | None = None, n_added_tokens: int = 0,
        language_model_class: str | None = None, **kwargs: Any,
    ) -> LanguageModel:
        from farm.modeling import dpr_conversion  # builds on the language model module

        saved_farm_model = (Path(pretrained_model_name_or_path) / "farm_model.json").is_file()
        if saved_farm_model or not dpr_conversion.is_dpr_folder(pretrained_model_name_or_path):
            return super().load(pretrained_model_name_or_path, language=language,
                                revision=revision, n_added_tokens=n_added_tokens,
                                language_model_class=language_model_class, **kwargs)
        inner = dpr_conversion.language_model_from_dpr(pretrained_model_name_or_path)
        return cls(inner.model, language=language)


class DPRQuestionEncoder(_DprEncoder):
    """The query encoder of a dense retriever (FARM's ``DPRQuestionEncoder``)."""


class DPRContextEncoder(_DprEncoder):
    """The passage encoder of a dense retriever (FARM's ``DPRContextEncoder``)."""


_BY_MODEL_TYPE: dict[str, type[FarmArchitecture]] = {
    "bert": Bert, "albert": Albert, "roberta": Roberta, "xlm-roberta": XLMRoberta,
    "camembert": Camembert, "distilbert": DistilBert, "electra": Electra, "xlnet": XLNet,
    "big_bird": BigBird,
}


def farm_class_name(config: PretrainedConfig) -> str:
    """FARM's class name for the architecture of ``config`` (``"LanguageModel"`` if FARM had
    no class for it)."""
    if config.model_type == "dpr":
        architecture = (config.architectures or ["DPRQuestionEncoder"])[0]
        return "DPRContextEncoder" if "Context" in architecture else "DPRQuestionEncoder"
    found = _BY_MODEL_TYPE.get(config.model_type)
    return found.__name__ if found else "LanguageModel"


_WORD_EMBEDDINGS = (
    "word-embedding models (GloVe, word2vec, fasttext) and S3E pooling were removed with "
    "FARM's slow tokenizer path"
)
_WORD_EMBEDDINGS_INSTEAD = (
    "a small transformer encoder, e.g. Inferencer.load(path_to_all-MiniLM-L6-v2, "
    "task_type='embeddings', extraction_strategy='reduce_mean')"
)
WordEmbedding_LM = removed_class("WordEmbedding_LM", _WORD_EMBEDDINGS, _WORD_EMBEDDINGS_INSTEAD)
EmbeddingConfig = removed_class("EmbeddingConfig", _WORD_EMBEDDINGS, _WORD_EMBEDDINGS_INSTEAD)
EmbeddingModel = removed_class("EmbeddingModel", _WORD_EMBEDDINGS, _WORD_EMBEDDINGS_INSTEAD)
