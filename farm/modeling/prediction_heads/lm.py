"""Masked language modelling head for every architecture with a transformers masked-LM model."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import AutoModelForMaskedLM, BertConfig, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

from farm.errors import FarmError
from farm.modeling.hf_loading import load_config, load_pretrained
from farm.modeling.prediction_heads.base import PredictionHead
from farm.modeling.prediction_heads.masked_lm_parts import (
    INPUT_EMBEDDINGS,
    EncoderOutput,
    config_from_dict,
    quiet_transformers,
    resize_rows,
    split_off_encoder,
)

logger = logging.getLogger(__name__)

IGNORE = -100  # label of a token that is not predicted


@dataclass
class MaskedTokenScores:
    """How well one sample's masked tokens were predicted (what perplexity is made of).

    Args:
        nll (float): Summed negative log-likelihood (natural log) of the masked tokens.
        n_tokens (int): Number of masked tokens.
        n_correct (int): Masked tokens whose most probable prediction is the true token.
    """

    nll: float
    n_tokens: int
    n_correct: int


class BertLMHead(PredictionHead):
    """Predicts masked tokens, with the decoder tied to the language model's input embeddings.

    The head is the masked-LM head of the architecture in transformers (``BertForMaskedLM``,
    ``RobertaForMaskedLM``, ``ElectraForMaskedLM``, ``DistilBertForMaskedLM``,
    ``AlbertForMaskedLM``, ``DebertaV2ForMaskedLM``, ...), run on FARM's per-token vectors.
    Its decoder is no weight of its own: it is the language model's input embedding matrix,
    bound before every forward pass, so the two stay one tensor during training, after
    ``save``/``load`` and after ``resize_token_embeddings`` (the output bias grows with the
    embeddings when the head is connected). :meth:`load` takes a pretrained model's head
    where its checkpoint has one and initialises a new one (as transformers does) otherwise.

    Expects ``(batch, seq_len, hidden)`` vectors. With the batch's ``<task>_label_ids``
    ``(batch, seq_len)`` (token id at masked positions, -100 elsewhere) it returns the logits
    of the masked positions only, ``(n_masked, vocab)`` in row-major order (this saves most
    of the decoder's work); without labels ``(batch, seq_len, vocab)``. The loss is the mean
    cross-entropy over the batch's masked tokens; the metric ``perplexity`` is computed from
    the summed log-likelihood of all evaluated masked tokens.

    Args:
        hidden_size (int | None): Width of a new BERT-style head (without ``model_config``).
        vocab_size (int | None): Its vocabulary size.
        hidden_act (str): Its activation.
        task_name (str): Name of the task (and of the processor task) this head learns.
        model_config (dict[str, Any] | None): The transformers config (``config.to_dict()``)
            of the architecture whose head this is; how saved heads are rebuilt.
        tied_weights (dict[str, str] | None): Head weights tied to the input embeddings
            (``"input_embeddings"``) or to another head weight; default: the architecture's.
        label_list (list[str] | None): Not used (the vocabulary is the tokenizer's).
        metric (Any): Metric of the task (default ``"perplexity"``).

    Example:
        >>> head = BertLMHead.load("all-MiniLM-L6-v2")  # no MLM head in it: a new one
        >>> model = AdaptiveModel(LanguageModel.load("all-MiniLM-L6-v2"), [head],
        ...                       embeds_dropout_prob=0.0, lm_output_types=["per_token"])
    """

    task_type = "lm"
    model_type = "language_modelling"
    ph_output_type = "per_token"
    processor_task_types = ("lm",)

    def __init__(
        self,
        hidden_size: int | None = None,
        vocab_size: int | None = None,
        hidden_act: str = "gelu",
        task_name: str = "lm",
        model_config: dict[str, Any] | None = None,
        tied_weights: dict[str, str] | None = None,
        label_list: list[str] | None = None,
        metric: Any = "perplexity",
    ):
        super().__init__(task_name=task_name, label_list=label_list, metric=metric)
        if model_config is None:
            if hidden_size is None or vocab_size is None:
                raise ValueError(
                    "Give BertLMHead hidden_size and vocab_size (a new BERT-style head) or "
                    "model_config, or use BertLMHead.load(model_name_or_path) for the head of "
                    "a model's own architecture."
                )
            # Only the head is kept, so the encoder built alongside is the smallest there is.
            model_config = BertConfig(
                hidden_size=hidden_size, vocab_size=vocab_size, hidden_act=hidden_act,
                num_hidden_layers=1, num_attention_heads=1, intermediate_size=1,
            ).to_dict()
        elif hidden_size is not None or vocab_size is not None:
            raise ValueError("Give BertLMHead either model_config or hidden_size/vocab_size.")
        with quiet_transformers():
            masked_lm = AutoModelForMaskedLM.from_config(config_from_dict(model_config))
        self._adopt(masked_lm, tied_weights)

    @classmethod
    def load(  # type: ignore[override]
        cls,
        pretrained_model_name_or_path: str | Path,
        revision: str | None = None,
        n_added_tokens: int = 0,
        task_name: str = "lm",
        strict: bool = True,
        **kwargs: Any,
    ) -> BertLMHead:
        """The masked-LM head of a pretrained model, or a new one if it has none.

        Args:
            pretrained_model_name_or_path (str | Path): A Hugging Face folder or hub name, a
                saved FARM model (its LM head if it has one, else a new head for its language
                model), or a saved head's ``prediction_head_<n>_config.json``.
            revision (str | None): Hub revision.
            n_added_tokens (int): Accepted for FARM compatibility: the head follows the
                language model's (resized) embeddings by itself.
            task_name (str): Task name of the head.
            strict (bool): For a saved head's config file: require its weights to match.
            **kwargs: ``from_pretrained`` options (``cache_dir``, ``local_files_only``,
                ``token``); other names raise ``TypeError``.

        Returns:
            BertLMHead: The head (connect it to the language model via ``AdaptiveModel``).
        """
        allowed = {"cache_dir", "local_files_only", "token"}
        if unknown := set(kwargs) - allowed:
            raise TypeError(
                f"BertLMHead.load() got unexpected keyword arguments {sorted(unknown)}; it "
                f"takes revision, task_name and {sorted(allowed)}."
            )
        path = Path(pretrained_model_name_or_path)
        if path.name.endswith("_config.json") and path.is_file():
            return PredictionHead.load(path, strict=strict)  # type: ignore[return-value]
        if (path / "farm_model.json").is_file():
            saved = _saved_lm_head(path)
            if saved is not None:
                return PredictionHead.load(saved, strict=strict)  # type: ignore[return-value]
            path = path / "language_model"
        source = str(path) if path.exists() else str(pretrained_model_name_or_path)
        hub = {k: v for k, v in {"revision": revision, **kwargs}.items() if v is not None}
        config = load_config(source, **hub)
        if config.model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            raise FarmError(
                f"{source}: transformers has no masked-LM model for this architecture "
                f"({config.model_type}). Use an encoder with a masked-LM class (BERT, "
                "RoBERTa, ELECTRA, DistilBERT, ALBERT, DeBERTa, XLM-R, ...)."
            )
        with quiet_transformers():
            masked_lm, info = load_pretrained(AutoModelForMaskedLM, source, config=config,
                                              output_loading_info=True, **hub)
        head = cls.from_masked_lm(masked_lm, task_name=task_name)
        own = set(head.state_dict())
        missing = {f"masked_lm.{k}" for k in info["missing_keys"]} & own
        if missing == own:
            logger.info("%s has no masked-LM head: a new %s head was initialised.", source,
                        type(masked_lm).__name__)
        elif missing:
            logger.warning("%s has only part of a masked-LM head; newly initialised: %s",
                           source, sorted(missing))
        else:
            logger.info("Loaded the masked-LM head of %s.", source)
        if n_added_tokens:
            logger.info("BertLMHead.load: n_added_tokens is not needed; the head follows the "
                        "language model's embeddings when it is connected.")
        return head

    @classmethod
    def from_masked_lm(cls, masked_lm: PreTrainedModel, task_name: str = "lm") -> BertLMHead:
        """The head of a transformers ``...ForMaskedLM`` model (its weights, not copies; the
        model's encoder is replaced by a stand-in, so pass a model you no longer need).

        Args:
            masked_lm (PreTrainedModel): E.g. from ``AutoModelForMaskedLM.from_pretrained``.
            task_name (str): Task name of the head.
        """
        head = cls.__new__(cls)
        PredictionHead.__init__(head, task_name=task_name, metric="perplexity")
        head._adopt(masked_lm, None)
        return head

    @classmethod
    def from_language_model(cls, language_model: nn.Module, task_name: str = "lm") -> BertLMHead:
        """A new head of the language model's architecture (e.g. for a model from
        ``LanguageModel.from_scratch``), initialised as transformers initialises it.

        Args:
            language_model (nn.Module): A FARM ``LanguageModel``.
            task_name (str): Task name of the head.
        """
        config = cast(PreTrainedModel, language_model.model).config
        return cls(model_config=config.to_dict(), task_name=task_name)

    def _adopt(self, masked_lm: PreTrainedModel, tied_weights: dict[str, str] | None) -> None:
        """Keep the head part of ``masked_lm``."""
        self.model_config = masked_lm.config.to_dict()
        self.prefix = masked_lm.base_model_prefix
        _, self._ties = split_off_encoder(masked_lm, tied_weights)
        self.tied_weights = self._ties.ties
        self.masked_lm = masked_lm
        self.__dict__["_encoder"] = None
        self._ties.bind(masked_lm, None)

    @property
    def decoder(self) -> nn.Module:
        """The output layer over the vocabulary (FARM's attribute); once the head is in an
        ``AdaptiveModel``, its weight is the language model's input embedding matrix."""
        layer = self.masked_lm.get_output_embeddings()
        if layer is None:
            raise FarmError(f"The {type(self.masked_lm).__name__} of this head has no output "
                            "layer over the vocabulary.")
        return cast(nn.Module, layer)

    @property
    def vocab_size(self) -> int:
        """Number of tokens the head predicts."""
        return int(self.model_config["vocab_size"])

    def generate_config(self) -> dict[str, Any]:
        return {
            "task_name": self.task_name, "model_config": self.model_config,
            "tied_weights": self.tied_weights, "label_list": self.label_list,
            "metric": super().generate_config().get("metric"),
        }

    def resize_input(self, input_dim: int) -> None:
        width = int(self.masked_lm.config.hidden_size)
        if input_dim != width:
            raise FarmError(
                f"The LM head takes {width}-wide vectors but the language model makes "
                f"{input_dim}-wide ones. Load the head for this language model: "
                "BertLMHead.load(<the language model's folder>)."
            )

    def connect_language_model(self, language_model: nn.Module) -> None:
        """Tie the decoder to ``language_model``'s input embeddings (and fit the output bias
        to their number of rows)."""
        encoder = cast(PreTrainedModel, language_model.model)
        embedding = cast(Tensor, encoder.get_input_embeddings().weight)  # (vocab, width)
        rows, width_in = embedding.shape
        for target, source in self.tied_weights.items():
            width = self._ties.shapes[target][-1]
            if source == INPUT_EMBEDDINGS and width_in != width:
                raise FarmError(
                    f"The LM head's decoder takes {width}-wide vectors, but the language "
                    f"model's input embeddings are {width_in} wide. Load the head "
                    "for this language model: BertLMHead.load(<its folder>)."
                )
        self._fit_vocab(int(rows))
        self.__dict__["_encoder"] = encoder
        stand_in = getattr(self.masked_lm, self.prefix)
        assert isinstance(stand_in, EncoderOutput)
        stand_in.attach(encoder)
        self._ties.bind(self.masked_lm, encoder)

    def _fit_vocab(self, rows: int) -> None:
        old = self.vocab_size
        if rows == old:
            return
        for name, param in list(self.masked_lm.named_parameters()):
            if param.shape[0] != old or name.rpartition(".")[2] != "bias" or param.ndim != 1:
                if param.ndim == 2 and param.shape[0] == old:
                    raise FarmError(
                        f"The LM head has its own (untied) decoder '{name}' of {old} tokens "
                        f"and cannot follow embeddings resized to {rows} tokens."
                    )
                continue
            path, _, attr = name.rpartition(".")
            setattr(self.masked_lm.get_submodule(path), attr, resize_rows(param, rows))
        logger.info("The LM head's output bias was fitted to the language model's %d tokens "
                    "(was %d).", rows, old)
        self.model_config["vocab_size"] = rows
        self.masked_lm.config.vocab_size = rows

    def batch_inputs(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        labels = batch.get(self.label_tensor_name)
        return {"labels": labels} if labels is not None else {}

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        encoder = self.__dict__["_encoder"]
        if encoder is None and self._ties.needs_encoder:
            raise FarmError(
                "The LM head is not connected to a language model yet, so its decoder (the "
                "input embeddings) has no weights. Put it into an AdaptiveModel (which "
                "connects it), or call head.connect_language_model(language_model)."
            )
        if encoder is not None and encoder.get_input_embeddings().weight.shape[0] != (
            self.vocab_size
        ):
            raise FarmError(
                f"The language model's input embeddings now have "
                f"{encoder.get_input_embeddings().weight.shape[0]} rows, but the LM head was "
                f"connected when they had {self.vocab_size}: resize_token_embeddings was "
                "called after the AdaptiveModel was built. Resize first (or load the language "
                "model with n_added_tokens=...), then build the model and its optimizer."
            )
        self._ties.bind(self.masked_lm, encoder)
        if labels is not None:
            x = x[labels != IGNORE]  # (n_masked, hidden)
            return self.masked_lm(inputs_embeds=x.unsqueeze(0))[0][0]  # (n_masked, vocab)
        return self.masked_lm(inputs_embeds=x)[0]  # (batch, seq_len, vocab)

    def logits_to_loss(self, logits: Tensor, **kwargs: Tensor) -> Tensor:
        """Cross-entropy of the masked tokens summed per sample ``(batch,)`` and scaled so
        that the batch mean is the mean over the batch's masked tokens."""
        labels = kwargs[self.label_tensor_name]  # (batch, seq_len)
        nll, rows, _ = self._token_scores(logits, labels)  # (n_masked,) each
        per_sample = nll.new_zeros(labels.shape[0]).index_add(0, rows, nll)  # (batch,)
        return per_sample * labels.shape[0] / max(int(nll.numel()), 1)

    def logits_to_preds(self, logits: Tensor, **kwargs: Any) -> list[MaskedTokenScores]:
        """Per sample the summed log-likelihood, count and top-1 hits of its masked tokens."""
        labels = kwargs[self.label_tensor_name]  # (batch, seq_len)
        nll, rows, correct = self._token_scores(logits, labels)
        n = labels.shape[0]
        sums = torch.zeros(n, dtype=torch.float64).index_add(0, rows.cpu(), nll.double().cpu())
        counts = torch.bincount(rows.cpu(), minlength=n)
        hits = torch.bincount(rows.cpu(), weights=correct.double().cpu(), minlength=n)
        return [
            MaskedTokenScores(nll=float(s), n_tokens=int(c), n_correct=int(h))
            for s, c, h in zip(sums.tolist(), counts.tolist(), hits.tolist(), strict=True)
        ]

    def prepare_labels(self, **kwargs: Tensor) -> list[list[int]]:
        """Per sample the true ids of its masked tokens."""
        labels = kwargs[self.label_tensor_name]
        return [[i for i in row if i != IGNORE] for row in labels.tolist()]

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        raise FarmError(
            "BertLMHead makes no inference results: it is for (domain) language-model "
            "training, evaluated by perplexity. Fine-tune a task head on the adapted language "
            "model, or export it with save_masked_lm() for a transformers fill-mask pipeline."
        )

    def _token_scores(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """NLL, sample row and top-1 hit of each masked token, row-major."""
        masked = labels != IGNORE  # (batch, seq_len)
        if logits.dim() == 3:  # full logits (no labels were given to forward)
            logits = logits[masked]  # (n_masked, vocab)
        targets = labels[masked]  # (n_masked,)
        if logits.shape[0] != targets.shape[0]:
            raise FarmError(
                f"{logits.shape[0]} masked-token logits for {targets.shape[0]} masked tokens; "
                f"pass the batch's '{self.label_tensor_name}' to the model's forward."
            )
        nll = F.cross_entropy(logits.float(), targets, reduction="none")  # (n_masked,)
        rows = masked.nonzero()[:, 0]  # (n_masked,)
        return nll, rows, logits.argmax(dim=-1) == targets

    def connect_task(self, task: dict[str, Any]) -> None:
        super().connect_task(task)
        n_tokens = task.get("vocab_size")
        if n_tokens is not None and int(n_tokens) > self.vocab_size:
            raise FarmError(
                f"The processor's tokenizer has {n_tokens} tokens, but the language model and "
                f"its LM head know only {self.vocab_size}. After tokenizer.add_tokens(...), "
                "load the language model with LanguageModel.load(..., n_added_tokens=<how many "
                "you added>) or call language_model.model.resize_token_embeddings("
                "len(tokenizer)) before building the AdaptiveModel."
            )


def _saved_lm_head(model_dir: Path) -> Path | None:
    """The config file of the first ``BertLMHead`` of a saved FARM model, if any."""
    for config_file in sorted(model_dir.glob("prediction_head_*_config.json")):
        if json.loads(config_file.read_text()).get("name") == BertLMHead.__name__:
            return config_file
    return None
