"""The prediction head base class: declared task, labels, loss, predictions, save/load."""

from __future__ import annotations

import inspect
import json
import logging
import re
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file
from torch import Tensor, nn

from farm.errors import FarmError, ModelFolderError, did_you_mean
from farm.serialization import metric_name, read_json_file, safetensors_shapes, save_tensors

logger = logging.getLogger(__name__)


class PredictionHead(nn.Module):
    """A task-specific layer on top of a language model.

    A head declares its ``task_name``, the name of its label tensor (``label_tensor_name``,
    by default ``"<task_name>_label_ids"`` as the processors name it), its output type
    (``ph_output_type``: ``"per_sequence"`` or ``"per_token"``) and its metric. Subclasses
    implement ``forward``, ``logits_to_loss``, ``logits_to_preds``, ``prepare_labels`` and
    ``formatted_preds``. They register themselves by class name, so :meth:`load` rebuilds
    them from JSON without running code from the saved folder.

    A head saves itself as ``prediction_head_<n>.safetensors`` plus
    ``prediction_head_<n>_config.json`` holding its constructor arguments.
    """

    subclasses: ClassVar[dict[str, type[PredictionHead]]] = {}
    ph_output_type: ClassVar[str] = "per_sequence"
    task_type: ClassVar[str] = ""
    # FARM's name for the kind of head (``"text_classification"``, ``"span_classification"``
    # ...), kept for code that reads it.
    model_type: ClassVar[str] = ""
    # The ``task_type`` of ``convert_from_transformers`` whose head this class is, so that
    # ``load`` can take a Hugging Face model (FARM's ``TextClassificationHead.load(name)``).
    hf_task_type: ClassVar[str | None] = None
    # Weights that heads saved by earlier versions lack; loading fills them in itself.
    optional_weights: ClassVar[tuple[str, ...]] = ()
    # The processor task types (``add_task(task_type=...)``) whose labels the head reads;
    # empty: not checked.
    processor_task_types: ClassVar[tuple[str, ...]] = ()
    # Inference gives one result dict per basket (a QA question) instead of one per
    # ``batch_size`` inputs.
    result_per_basket: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        PredictionHead.subclasses[cls.__name__] = cls

    def __init__(
        self, task_name: str, label_list: list[str] | None = None, metric: Any = None
    ):
        super().__init__()
        self.task_name = task_name
        self.label_list = list(label_list) if label_list is not None else None
        self.metric = metric
        self.label_tensor_name = f"{task_name}_label_ids"

    def resize_input(self, input_dim: int) -> None:
        """Fit the head's first layer to the language model's width ``input_dim``.

        Heads made of a ``FeedForwardBlock`` (``self.layer_dims``, ``self.feed_forward``,
        optional ``self.activation``) get a new block; other heads override this.
        """
        layer_dims = getattr(self, "layer_dims", None)
        if not isinstance(getattr(self, "feed_forward", None), FeedForwardBlock) or (
            layer_dims is None or layer_dims[0] == input_dim
        ):
            return
        logger.info(
            "Fitting the first layer of head '%s' to the language model's width: %d -> %d",
            self.task_name, layer_dims[0], input_dim,
        )
        layer_dims[0] = input_dim
        self.feed_forward = FeedForwardBlock(layer_dims, getattr(self, "activation", "relu"))

    def connect_language_model(self, language_model: nn.Module) -> None:
        """Called by ``AdaptiveModel`` with its language model; a head that shares weights
        with it (the LM head's decoder is the input embedding matrix) ties them here."""

    def batch_inputs(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Tensors of the batch that ``forward`` takes besides the language model's vectors
        (none by default; the LM head takes its labels, to decode only masked tokens)."""
        return {}

    def logits_to_loss(self, logits: Tensor, **kwargs: Tensor) -> Tensor:
        """Per-sample loss ``(batch,)`` from the logits and the batch's label tensor."""
        raise NotImplementedError

    def logits_to_preds(self, logits: Tensor, **kwargs: Any) -> list[Any]:
        """Predictions (e.g. label strings) of a batch, one per sample."""
        raise NotImplementedError

    def prepare_labels(self, **kwargs: Tensor) -> list[Any]:
        """The batch's true labels, in the format of :meth:`logits_to_preds`."""
        raise NotImplementedError

    def merge_per_basket(
        self, preds: list[Any], labels: list[Any], references: list[Any] | None = None
    ) -> tuple[list[Any], list[Any]]:
        """Join the predictions and labels that the evaluator collected per sample into one
        entry per basket, before the metric sees them (e.g. the windows of a long sentence
        for NER, the passages of a question's document for QA). ``references`` are the
        data set's per-sample references, aligned with ``preds`` (None if it has none). By
        default each sample is its own entry."""
        return preds, labels

    def formatted_preds(
        self, logits: Tensor, baskets: list[Any], **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Predictions in FARM's inference result format, one entry per basket.

        ``baskets`` are the processor's ``SampleBasket`` objects of the batch (the model
        reads their ``raw`` input and ``samples``; it does not import the data handler).
        """
        raise NotImplementedError

    def connect_task(self, task: dict[str, Any]) -> None:
        """Take label list, label tensor name and metric from a processor task."""
        self.label_tensor_name = task["label_tensor_name"]
        self.label_list = task["label_list"]
        self.metric = task["metric"]

    def generate_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this head, read from its attributes.

        A metric given as a function is recorded by its name, since JSON cannot hold code.
        """
        config = {
            name: plain_value(getattr(self, name))
            for name in inspect.signature(type(self).__init__).parameters
            if name != "self" and hasattr(self, name)
        }
        if "metric" in config:
            config["metric"] = metric_name(config["metric"])
        return config

    def save(self, save_dir: str | Path, head_num: int = 0) -> None:
        """Write the head's weights (safetensors) and constructor arguments (JSON)."""
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        config = {"name": type(self).__name__, **self.generate_config()}
        (save_dir / f"prediction_head_{head_num}_config.json").write_text(
            json.dumps(config, indent=2)
        )
        state = {k: v.contiguous() for k, v in self.state_dict().items()}
        save_tensors(state, save_dir / f"prediction_head_{head_num}.safetensors")

    @classmethod
    def create(
        cls, prediction_head_name: str, layer_dims: list[int],
        class_weights: list[float] | None = None,
    ) -> PredictionHead:
        """A new head by class name (FARM's factory), e.g.
        ``PredictionHead.create("TextClassificationHead", layer_dims=[768, 2])``.

        Args:
            prediction_head_name (str): Name of a head class (``"RegressionHead"``, ...).
            layer_dims (list[int]): Widths of its feed-forward layers.
            class_weights (list[float] | None): Loss weight per label, for heads that take it.
        """
        if prediction_head_name not in PredictionHead.subclasses:
            raise FarmError(
                f"Unknown prediction head '{prediction_head_name}'."
                f"{did_you_mean(prediction_head_name, PredictionHead.subclasses)} Known heads: "
                f"{sorted(PredictionHead.subclasses)}."
            )
        head_cls = PredictionHead.subclasses[prediction_head_name]
        kwargs: dict[str, Any] = {"layer_dims": layer_dims}
        if class_weights is not None:
            kwargs["class_weights"] = class_weights
        return head_cls(**kwargs)

    @classmethod
    def load(
        cls, config_file: str | Path, strict: bool = True, load_weights: bool = True,
        revision: str | None = None,
    ) -> PredictionHead:
        """Rebuild a head from ``prediction_head_<n>_config.json`` and its weights, or (on a
        head class such as ``TextClassificationHead``) take the head of a Hugging Face model.

        The sizes the config gives are checked against the weights file's header before
        the head is built, so a damaged or crafted config cannot make the loader allocate
        more than the weights hold.

        Args:
            config_file (str | Path): The head's config file (its weights file
                ``prediction_head_<n>.safetensors`` must lie beside it), or a Hugging Face
                model folder or hub name holding a model for this head's task
                (``*ForSequenceClassification``, ``*ForTokenClassification``,
                ``*ForQuestionAnswering``).
            strict (bool): Require the weights to match the head's parameters exactly;
                ``False`` also accepts a missing weights file (an untrained head, with a
                warning).
            load_weights (bool): Load the saved weights (False: a freshly initialised head
                with the saved configuration).
            revision (str | None): Hub revision of a Hugging Face model.

        Raises:
            ModelFolderError: The config or weights are missing, damaged, or do not fit.
        """
        config_file = Path(config_file)
        if config_file.suffix != ".json":
            return cls._from_transformers(config_file, revision)
        config = read_json_file(config_file, dict)
        name = config.pop("name", None)
        if not isinstance(name, str):
            raise ModelFolderError("has no 'name' (the head's class, such as "
                                   "\"TextClassificationHead\"); the file is damaged: save "
                                   "the model again.", config_file)
        if name not in PredictionHead.subclasses:
            raise ModelFolderError(
                f"unknown prediction head '{name}'."
                f"{did_you_mean(name, PredictionHead.subclasses)} Known heads: "
                f"{sorted(PredictionHead.subclasses)}.", config_file)
        head_class = PredictionHead.subclasses[name]
        if not load_weights:
            return _build_head(head_class, config, config_file)
        weights = config_file.with_name(config_file.name.replace("_config.json", ".safetensors"))
        if not weights.is_file():
            if strict:
                raise ModelFolderError(
                    f"not found: the weights of the head configured in {config_file.name}; "
                    "the folder is incomplete: save the model again.", weights)
            logger.warning("%s not found: head '%s' starts untrained.", weights, name)
            return _build_head(head_class, config, config_file)
        shapes = safetensors_shapes(weights)
        skeleton = _build_head(head_class, config, config_file, device="meta")
        _check_head_shapes(skeleton, shapes, weights, config_file, strict)
        head = _build_head(head_class, config, config_file)
        head.load_state_dict(load_file(str(weights)), strict=strict)
        return head

    @classmethod
    def _from_transformers(cls, name_or_path: Path, revision: str | None) -> PredictionHead:
        """The head (with its weights) of a Hugging Face model for this class's task."""
        if cls.hf_task_type is None:
            raise FarmError(
                f"{name_or_path} is not a prediction head config file (prediction_head_<n>_"
                f"config.json), and {cls.__name__} cannot be taken from a Hugging Face model; "
                "load Hugging Face models with TextClassificationHead, TokenClassificationHead, "
                "QuestionAnsweringHead, RegressionHead or BertLMHead."
            )
        from farm.conversion.transformers import convert_from_transformers  # builds on heads

        model = convert_from_transformers(name_or_path, revision=revision,
                                          task_type=cls.hf_task_type)
        head = model.heads[0]
        if not isinstance(head, cls):
            raise FarmError(f"{name_or_path} holds a {type(head).__name__}, not a "
                            f"{cls.__name__}.")
        return head


def plain_value(value: Any) -> Any:
    """A config value as JSON can hold it: one-element tensors (such as the QA head's
    temperature parameter) become floats."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    return value


_HEAD_CONFIG = re.compile(r"prediction_head_(\d+)_config\.json")
_HEAD_WEIGHTS = re.compile(r"prediction_head_(\d+)\.safetensors")


def load_heads(folder: Path, strict: bool = True) -> list[PredictionHead]:
    """The heads a model saved in ``folder`` (``prediction_head_0_config.json`` and
    ``prediction_head_0.safetensors``, ``..._1...``), in order.

    Raises:
        ModelFolderError: No head, a gap in the numbering, weights without a config, or a
            head that :meth:`PredictionHead.load` refuses.
    """
    configs, weights = {}, set()
    for path in folder.iterdir():
        if match := _HEAD_CONFIG.fullmatch(path.name):
            configs[int(match.group(1))] = path
        elif match := _HEAD_WEIGHTS.fullmatch(path.name):
            weights.add(int(match.group(1)))
    for number in sorted(weights - set(configs)):
        raise ModelFolderError(
            f"has no prediction_head_{number}_config.json beside it (the head's class and "
            "arguments); the folder is incomplete: save the model again.",
            folder / f"prediction_head_{number}.safetensors")
    if not configs:
        raise ModelFolderError("has no prediction head (prediction_head_0_config.json with "
                               "prediction_head_0.safetensors); the folder is incomplete: "
                               "save the model again.", folder)
    expected = list(range(len(configs)))
    if sorted(configs) != expected:
        gap = min(set(expected) - set(configs))
        raise ModelFolderError(f"has heads {sorted(configs)} but no "
                               f"prediction_head_{gap}_config.json; heads are numbered from "
                               "0 without gaps: the folder is incomplete.", folder)
    return [PredictionHead.load(configs[n], strict=strict) for n in expected]


def _build_head(head_class: type[PredictionHead], config: dict[str, Any], config_file: Path,
                device: str | None = None) -> PredictionHead:
    """``head_class(**config)`` (on ``device``: ``"meta"`` allocates nothing), with an error
    naming the config file if the arguments do not fit the class."""
    try:
        if device is None:
            return head_class(**config)
        with torch.device(device):
            return head_class(**config)
    except Exception as error:  # any failure to build from the file's arguments
        raise ModelFolderError(f"cannot build {head_class.__name__} from these arguments "
                               f"({type(error).__name__}: {error}); the file is damaged or "
                               "was written by another FARM version.", config_file) from error


def _check_head_shapes(skeleton: nn.Module, shapes: dict[str, tuple[int, ...]], weights: Path,
                       config_file: Path, strict: bool) -> None:
    """Compare the shapes a head built from its config has with those in its weights file."""
    expected = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    wrong = [f"{name}: config gives {expected[name]}, weights have {shapes[name]}"
             for name in expected if name in shapes and shapes[name] != expected[name]]
    if strict:
        optional = set(getattr(skeleton, "optional_weights", ()))
        wrong += [f"{name} missing" for name in sorted(set(expected) - set(shapes) - optional)]
        wrong += [f"{name} not in the head" for name in sorted(set(shapes) - set(expected))]
    if wrong:
        raise ModelFolderError(
            f"the weights do not fit the head configured in {config_file.name} "
            f"({'; '.join(wrong[:4])}{'; ...' if len(wrong) > 4 else ''}); the files are "
            "damaged or belong to different heads: save the model again.", weights)


def input_context(basket: Any) -> dict[str, Any]:
    """The input of a basket as inference results show it: ``{"context": text}``, and for
    a text pair also ``"context_b"``."""
    context = {"context": basket.raw.get("text")}
    if "text_b" in basket.raw:
        context["context_b"] = basket.raw["text_b"]
    return context


# Activations between the linear layers of a head (no parameters, so any saved head loads).
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


class FeedForwardBlock(nn.Module):
    """Linear layers with an activation (ReLU by default) between them.

    Args:
        layer_dims (list[int]): Widths from input to output, e.g. ``[768, 2]`` (one linear
            layer) or ``[768, 256, 2]`` (two, with an activation between).
        activation (str): ``"relu"``, ``"gelu"`` (exact, erf-based) or ``"tanh"``; the
            GELU variant is the layout of ELECTRA's and DeBERTa's Hugging Face classifiers.
    """

    def __init__(self, layer_dims: list[int], activation: str = "relu"):
        super().__init__()
        if len(layer_dims) < 2:
            raise ValueError(f"layer_dims needs an input and an output width; got {layer_dims}.")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {activation!r}; use one of {sorted(ACTIVATIONS)}."
            )
        layers: list[nn.Module] = []
        for size_in, size_out in zip(layer_dims[:-1], layer_dims[1:], strict=True):
            layers += [nn.Linear(size_in, size_out), ACTIVATIONS[activation]()]
        self.feed_forward = nn.Sequential(*layers[:-1])

    def forward(self, x: Tensor) -> Tensor:
        return self.feed_forward(x)
