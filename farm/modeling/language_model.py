"""One wrapper around ``transformers.AutoModel`` for every encoder architecture."""

from __future__ import annotations

import inspect
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from transformers import (
    CONFIG_MAPPING,
    AutoModel,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from farm.compat import log_once
from farm.errors import FarmError, ModelFolderError, did_you_mean
from farm.modeling.hf_loading import load_config, load_pretrained
from farm.serialization import apply_umask_to_weights

logger = logging.getLogger(__name__)

LM_META = "farm_language_model.json"
# Options of ``from_pretrained`` itself; other keyword arguments must be config attributes.
_LOAD_KWARGS = {
    "revision", "cache_dir", "local_files_only", "token", "force_download", "subfolder",
    "ignore_mismatched_sizes", "torch_dtype", "dtype", "attn_implementation", "use_safetensors",
}
# Arguments of FARM's old LanguageModel.load that the single AutoModel wrapper does not need.
_IGNORED_FARM_KWARGS = {"farm_lm_name"}
_LAYER_INDEX = re.compile(r"\.layers?\.(\d+)\.")


class LanguageModel(nn.Module):
    """A pretrained Hugging Face encoder that gives per-token and per-sequence vectors.

    Args:
        model (PreTrainedModel): The encoder (any ``AutoModel`` architecture).
        language (str | None): Language of the model's training data, recorded with it.

    Example:
        >>> lm = LanguageModel.load("bert-base-cased", language="english")
        >>> sequence_output, pooled_output = lm(input_ids=ids, padding_mask=mask)
    """

    def __init__(self, model: PreTrainedModel, language: str | None = None):
        super().__init__()
        self.model = model
        self.language = language
        self._takes_token_types = "token_type_ids" in inspect.signature(model.forward).parameters
        # FARM's switches for embedding extraction (see formatted_preds) and hidden states.
        self.extraction_strategy: str | None = None
        self.extraction_layer: int | None = None
        self.output_hidden_states = False

    @classmethod
    def load(
        cls, pretrained_model_name_or_path: str | Path, language: str | None = None,
        revision: str | None = None, n_added_tokens: int = 0,
        language_model_class: str | None = None, **kwargs: Any,
    ) -> LanguageModel:
        """Load an encoder from the hub, a local Hugging Face folder, or a saved FARM model.

        Args:
            pretrained_model_name_or_path (str | Path): Hub name (needs network), folder with
                ``config.json`` and weights, or a folder written by ``AdaptiveModel.save``.
            language (str | None): Language of the model; default: what was saved with it.
            revision (str | None): Hub revision (branch, tag or commit).
            n_added_tokens (int): Grow the input embeddings by that many rows for tokens
                added to the tokenizer with ``tokenizer.add_tokens`` (as FARM did).
            language_model_class (str | None): FARM's per-architecture class name; accepted
                and ignored (with a warning): the architecture is read from the config.
            **kwargs: ``from_pretrained`` options (``cache_dir``, ``local_files_only``, ...)
                or config attributes to override (e.g. ``hidden_dropout_prob=0.2``). Unknown
                names raise ``TypeError``. Weights are read from safetensors only;
                ``use_safetensors=False`` reads a ``pytorch_model.bin`` (a pickle) for a
                model you trust.

        Returns:
            LanguageModel: The wrapped encoder.

        Raises:
            ModelFolderError: A local folder that is missing, incomplete or damaged (the
                message names the file), or with weights only in ``pytorch_model.bin``.
        """
        path = Path(pretrained_model_name_or_path)
        farm_folder = (path / "farm_model.json").is_file()
        if farm_folder:
            path = path / "language_model"
            if not path.is_dir():
                raise ModelFolderError("not found: the saved model's encoder is missing; "
                                       "save the model again.", path)
        source = str(path) if path.exists() else str(pretrained_model_name_or_path)
        if revision is not None:
            kwargs["revision"] = revision
        if language_model_class is not None:
            log_once("LanguageModel.load:language_model_class",
                      f"LanguageModel.load(language_model_class={language_model_class!r}) has no "
                      "effect: FARM has one wrapper for every architecture and reads the "
                      "architecture from the model's config.")
        load_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _LOAD_KWARGS}
        for key in _IGNORED_FARM_KWARGS & set(kwargs):
            logger.info("LanguageModel.load: '%s' is not needed any more and is ignored.", key)
            kwargs.pop(key)
        hub_kwargs = {k: v for k, v in load_kwargs.items() if k in
                      ("revision", "cache_dir", "local_files_only", "token", "force_download",
                       "subfolder")}
        n_added_tokens = int(n_added_tokens or 0)
        config = load_config(source, **hub_kwargs)
        _override_config(config, kwargs)
        model, info = load_pretrained(AutoModel, source, config=config,
                                      output_loading_info=True, **load_kwargs)
        if farm_folder or (Path(source) / LM_META).is_file():
            _require_all_weights(info, Path(source))
        if n_added_tokens:
            rows = model.get_input_embeddings().weight.shape[0]
            model.resize_token_embeddings(rows + n_added_tokens)
            logger.info("Resized the input embeddings of %s from %d to %d tokens for the "
                        "added tokens.", source, rows, rows + n_added_tokens)
        meta_file = Path(source) / LM_META
        if language is None and meta_file.is_file():
            language = json.loads(meta_file.read_text()).get("language")
        return cls(model, language=language)

    @classmethod
    def from_scratch(
        cls,
        model_type: str,
        vocab_size: int,
        language: str | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        **config_kwargs: Any,
    ) -> LanguageModel:
        """A new, randomly initialised encoder of an architecture, to pre-train yourself.

        Args:
            model_type (str): The architecture as transformers names it (``"bert"``,
                ``"roberta"``, ``"electra"``, ``"distilbert"``, ``"deberta-v2"``, ...).
            vocab_size (int): Rows of the input embeddings; at least ``len(tokenizer)``.
            language (str | None): Language of the text you will train it on.
            tokenizer (PreTrainedTokenizerBase | None): The tokenizer to use with it (e.g.
                from ``train_tokenizer``): its size is checked against ``vocab_size`` and
                its pad/bos/eos token ids are written into the config.
            **config_kwargs: Attributes of the architecture's config, e.g.
                ``hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                intermediate_size=1024``. Unknown names raise ``TypeError``.

        Returns:
            LanguageModel: The untrained encoder; ``save`` writes it in Hugging Face format.

        Example:
            >>> tokenizer = train_tokenizer("corpus.txt", vocab_size=8000)
            >>> lm = LanguageModel.from_scratch("bert", vocab_size=len(tokenizer),
            ...                                 tokenizer=tokenizer, hidden_size=256,
            ...                                 num_hidden_layers=4, num_attention_heads=4,
            ...                                 intermediate_size=1024)
        """
        if model_type not in CONFIG_MAPPING:
            raise ValueError(
                f"Unknown model_type '{model_type}'.{did_you_mean(model_type, CONFIG_MAPPING)}"
                " Use a transformers model type such as 'bert', 'roberta', 'electra', "
                "'distilbert' or 'deberta-v2'."
            )
        config_cls = CONFIG_MAPPING[model_type]
        defaults = config_cls()
        known = set(defaults.to_dict()) | set(getattr(defaults, "attribute_map", {}))
        for key in config_kwargs:
            if key not in known:
                raise TypeError(
                    f"LanguageModel.from_scratch() got an unexpected keyword argument '{key}': "
                    f"{config_cls.__name__} has no such attribute.{did_you_mean(key, known)}"
                )
        if tokenizer is not None:
            if len(tokenizer) > vocab_size:
                raise FarmError(
                    f"vocab_size={vocab_size} is smaller than the tokenizer's {len(tokenizer)} "
                    "tokens, so some token ids would have no embedding. Pass "
                    "vocab_size=len(tokenizer)."
                )
            for name in ("pad_token_id", "bos_token_id", "eos_token_id"):
                value = getattr(tokenizer, name, None)
                if value is not None and name in known:
                    config_kwargs.setdefault(name, value)
        config = config_cls(vocab_size=vocab_size, **config_kwargs)  # type: ignore[call-arg]
        return cls.from_config(config, language=language)

    @classmethod
    def from_config(
        cls, config: PretrainedConfig | dict[str, Any] | str | Path, language: str | None = None
    ) -> LanguageModel:
        """A new, randomly initialised encoder from a transformers config.

        Args:
            config (PretrainedConfig | dict[str, Any] | str | Path): A config object, its
                ``to_dict()`` (with ``model_type``), or a ``config.json`` (or its folder).
            language (str | None): Language of the text you will train it on.
        """
        if isinstance(config, str | Path):
            config = load_config(config)
        elif isinstance(config, dict):
            model_type = str(config.get("model_type"))
            if model_type not in CONFIG_MAPPING:
                raise ValueError(f"The config dict needs a known 'model_type'; got "
                                 f"{config.get('model_type')!r}.")
            config = CONFIG_MAPPING[model_type].from_dict(dict(config))
        assert isinstance(config, PretrainedConfig)
        model = AutoModel.from_config(config, trust_remote_code=False)
        logger.info("Created a new %s (%.1fM parameters) with random weights.",
                    type(model).__name__, sum(p.numel() for p in model.parameters()) / 1e6)
        return cls(model, language=language)

    def forward(
        self,
        input_ids: Tensor,
        segment_ids: Tensor | None = None,
        padding_mask: Tensor | None = None,
        output_hidden_states: bool | None = None,
        **_: Any,
    ) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, tuple[Tensor, ...]]:
        """Encode a batch.

        Args:
            input_ids (Tensor): ``(batch, seq_len)`` token ids.
            segment_ids (Tensor | None): ``(batch, seq_len)`` segment (token type) ids; ignored
                by architectures without them (DistilBERT).
            padding_mask (Tensor | None): ``(batch, seq_len)``, 1 for real tokens, 0 for padding.
            output_hidden_states (bool | None): Also return the output of every layer
                (default: as set by :meth:`enable_hidden_states_output`, off at first).

        Returns:
            tuple: ``sequence_output`` ``(batch, seq_len, hidden)``, ``pooled_output``
            ``(batch, hidden)`` (the model's pooler where it has one, else the first token's
            vector), and with ``output_hidden_states`` the tuple of all layers' outputs.
        """
        if output_hidden_states is None:
            output_hidden_states = self.output_hidden_states
        inputs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": padding_mask}
        if self._takes_token_types and segment_ids is not None:
            inputs["token_type_ids"] = segment_ids
        output = self.model(**inputs, output_hidden_states=output_hidden_states, return_dict=True)
        sequence_output = output.last_hidden_state  # (batch, seq_len, hidden)
        pooled_output = getattr(output, "pooler_output", None)
        if pooled_output is None:
            pooled_output = sequence_output[:, 0]  # (batch, hidden)
        if output_hidden_states:
            return sequence_output, pooled_output, output.hidden_states
        return sequence_output, pooled_output

    @property
    def hidden_size(self) -> int:
        """Width of the vectors the model outputs."""
        return int(self.model.config.hidden_size)

    @property
    def config(self) -> PretrainedConfig:
        """The Hugging Face config of the encoder."""
        return self.model.config

    @property
    def name(self) -> str:
        """Where the model was loaded from (its ``name_or_path``)."""
        return str(getattr(self.model.config, "name_or_path", "") or "")

    def get_output_dims(self) -> int:
        """Width of the vectors the model outputs (FARM's name for :attr:`hidden_size`)."""
        return self.hidden_size

    @classmethod
    def get_language_model_class(cls, model_name_or_path: str | Path, **kwargs: Any) -> str:
        """FARM's class name for a model's architecture (``"Bert"``, ``"Roberta"``, ...), read
        from its config (never guessed from the name); ``"LanguageModel"`` for architectures
        FARM had no class for. Every name loads through the same wrapper.

        Args:
            model_name_or_path (str | Path): Hub name, Hugging Face folder or saved FARM model.
            **kwargs: ``from_pretrained`` options such as ``revision``.
        """
        from farm.modeling.architectures import farm_class_name  # builds on this module

        path = Path(model_name_or_path)
        if (path / "farm_model.json").is_file():
            path = path / "language_model"
        source = str(path) if path.exists() else str(model_name_or_path)
        try:
            config = load_config(source, **kwargs)
        except (OSError, ValueError, FarmError) as error:
            raise FarmError(
                f"Cannot read the config of {model_name_or_path!r} ({error}); FARM reads the "
                "architecture from config.json and does not guess it from the model's name."
            ) from error
        return farm_class_name(config)

    def freeze(self, layers: int | None = None) -> None:
        """Stop training the embeddings and the first ``layers`` transformer layers
        (``None``: the whole encoder); the rest and the heads keep learning.

        FARM 0.8 declared this method but raised ``NotImplementedError``. Create the
        optimizer after freezing, so that it leaves out the frozen parameters.

        Args:
            layers (int | None): Number of transformer layers, from the bottom, to freeze.
        """
        for name, param in self.model.named_parameters():
            match = _LAYER_INDEX.search(f".{name}")
            frozen = layers is None or "embeddings" in name or (
                match is not None and int(match.group(1)) < layers)
            if frozen:
                param.requires_grad_(False)

    def unfreeze(self) -> None:
        """Train every parameter of the encoder again (undoes :meth:`freeze`)."""
        for param in self.model.parameters():
            param.requires_grad_(True)

    def enable_hidden_states_output(self) -> None:
        """Make :meth:`forward` also return every layer's output (FARM's switch)."""
        self.output_hidden_states = True

    def disable_hidden_states_output(self) -> None:
        """Make :meth:`forward` return only the last layer's and the pooled vectors."""
        self.output_hidden_states = False

    def formatted_preds(
        self, input_ids: Tensor, padding_mask: Tensor | None = None,
        segment_ids: Tensor | None = None, samples: list[Any] | None = None,
        logits: Any = None, **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Vectors of a batch as FARM's language model returned them: ``[{"context",
        "vec": np.ndarray}]``, pooled by the attributes ``extraction_strategy`` (default
        ``"cls_token"``) and ``extraction_layer`` (default -1, the last).

        ``Inferencer.load(..., task_type="embeddings")`` is the usual way to get vectors;
        this method serves code that set FARM's attributes on the language model itself.

        Args:
            input_ids (Tensor): ``(batch, seq_len)``.
            padding_mask (Tensor | None): ``(batch, seq_len)``.
            segment_ids (Tensor | None): ``(batch, seq_len)``.
            samples (list[Any] | None): The batch's samples; their text becomes ``context``.
            logits (Any): Accepted for FARM's call; the vectors are computed here.
            **kwargs: Other tensors of the batch (not used).
        """
        from farm.modeling.embeddings import pool_tokens  # builds on this module

        strategy = self.extraction_strategy or "cls_token"
        layer = -1 if self.extraction_layer is None else int(self.extraction_layer)
        if padding_mask is None:
            padding_mask = torch.ones_like(input_ids)
        with torch.inference_mode():
            sequence, pooled, hidden = self.forward(
                input_ids=input_ids, segment_ids=segment_ids, padding_mask=padding_mask,
                output_hidden_states=True)  # type: ignore[misc]
            vectors = pooled if strategy == "pooled" else pool_tokens(
                hidden[layer], padding_mask, strategy)
        contexts = [_sample_text(s) for s in samples] if samples else [None] * len(vectors)
        return [{"context": context, "vec": np.asarray(vec.float().cpu().numpy())}
                for context, vec in zip(contexts, vectors, strict=True)]

    def save(self, save_dir: str | Path) -> None:
        """Save in Hugging Face format (``config.json`` + ``model.safetensors``) plus the
        recorded language."""
        save_dir = Path(save_dir)
        self.model.save_pretrained(str(save_dir))
        apply_umask_to_weights(save_dir)
        meta = {"language": self.language, "name": self.name}
        (save_dir / LM_META).write_text(json.dumps(meta, indent=2))


def _sample_text(sample: Any) -> Any:
    """The input text of a sample or basket, for ``formatted_preds``."""
    for source in (getattr(sample, "clear_text", None), getattr(sample, "raw", None)):
        if isinstance(source, dict) and "text" in source:
            return source["text"]
    return None


def __getattr__(name: str) -> Any:
    # FARM's per-architecture classes (Bert, Roberta, ...) and the word-embedding models
    # that no longer exist; they live in their own module, which builds on this one.
    from farm.modeling import architectures

    if name in architectures.__all__:
        return getattr(architectures, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _override_config(config: PretrainedConfig, overrides: dict[str, Any]) -> None:
    """Set config attributes, refusing names the config does not have."""
    for key, value in overrides.items():
        if not hasattr(config, key):
            options = [k for k in config.to_dict() if not k.startswith("_")]
            raise TypeError(
                f"LanguageModel.load() got an unexpected keyword argument '{key}': it is neither "
                f"a from_pretrained option nor an attribute of {type(config).__name__}."
                f"{did_you_mean(key, options + sorted(_LOAD_KWARGS))}"
            )
        setattr(config, key, value)



def _require_all_weights(info: dict[str, Any], folder: Path) -> None:
    """A language model FARM saved must load whole: transformers would initialise missing
    or mismatched weights at random and only log it. Only a pooler may be missing (an
    encoder built without one, such as a DPR model's BERT, is saved without it)."""
    problems = {name: sorted(key for key in info.get(name) or []
                             if name != "missing_keys" or not key.startswith("pooler."))[:5]
                for name in ("missing_keys", "mismatched_keys", "unexpected_keys")}
    if any(problems.values()):
        found = "; ".join(f"{name.replace('_', ' ')}: {keys}" for name, keys in
                          problems.items() if keys)
        raise ModelFolderError(f"the weights do not match config.json ({found}); the "
                               "folder is damaged: save the model again.",
                               folder / "model.safetensors")
