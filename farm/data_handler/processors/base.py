"""The processor base class: tasks, file access, and symmetric save/load."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from transformers import PreTrainedTokenizerBase

from farm.compat import warn_once
from farm.data_handler.cache import tokenizer_state
from farm.data_handler.dataset import FeatureDataset
from farm.data_handler.input_checks import INPUT_EXAMPLE
from farm.data_handler.labels import REGRESSION, regression_metric
from farm.data_handler.samples import SampleBasket
from farm.data_handler.unknown_tokens import count_unknown
from farm.errors import DataFileError, FarmError, ModelFolderError, did_you_mean
from farm.modeling.tokenization import Tokenizer
from farm.serialization import metric_name, read_json_file, require_fields

logger = logging.getLogger(__name__)

PROCESSOR_CONFIG = "processor_config.json"


class Processor:
    """Turns files or request dicts into baskets, samples and named, unpadded features.

    A subclass implements :meth:`file_to_dicts` (reading one file format into dicts) and
    :meth:`dataset_from_dicts` (dicts to features). Subclasses register themselves by class
    name, so :meth:`load_from_dir` can rebuild them from a saved config without running code
    from the saved folder.

    Args:
        tokenizer (PreTrainedTokenizerBase): A fast tokenizer (``Tokenizer.load``).
        max_seq_len (int): Maximum tokens per sample, special tokens included.
        train_filename (str | Path | None): Training file in ``data_dir``.
        dev_filename (str | Path | None): Dev file; ``None`` splits ``dev_split`` off train.
        test_filename (str | Path | None): Test file.
        dev_split (float | None): Share of the training data used as dev set without a dev
            file (``None``: none, as 0).
        data_dir (str | Path | None): Folder of the data files.
        tasks (dict[str, dict[str, Any]] | None): Tasks as made by :meth:`add_task`.
        dev_stratification (bool): Keep the label ratios when splitting dev off train.
        proxies (Any): FARM's download proxies; accepted, without effect (data sets are
            never downloaded).
        multithreading_rust (bool): FARM's switch of the Rust tokenizer's threads; accepted,
            without effect (FARM manages them: on in the main process, off in workers).
    """

    subclasses: ClassVar[dict[str, type[Processor]]] = {}

    #: Whether :meth:`dataset_from_dicts` may featurize chunks of a split in worker processes:
    #: true when an input's features depend only on that input and its position (and on
    #: state that :meth:`prepare` learns from the whole split first).
    parallel_safe: ClassVar[bool] = False

    #: The shape of an input dict, shown when an input is not a dict.
    input_example: ClassVar[str] = INPUT_EXAMPLE

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Processor.subclasses[cls.__name__] = cls

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        train_filename: str | Path | None,
        dev_filename: str | Path | None,
        test_filename: str | Path | None,
        dev_split: float | None,
        data_dir: str | Path | None,
        tasks: dict[str, dict[str, Any]] | None = None,
        dev_stratification: bool = False,
        proxies: Any = None,
        multithreading_rust: bool = True,
    ):
        if not getattr(tokenizer, "is_fast", False):
            raise FarmError(
                "The processor needs a fast tokenizer; load one with Tokenizer.load(...)."
            )
        _farm_arguments(type(self).__name__, proxies, multithreading_rust)
        if dev_split is None:  # FARM's "no dev split"
            dev_split = 0.0
        if not 0.0 <= dev_split < 1.0:
            raise ValueError(f"dev_split must be in [0, 1); got {dev_split}.")
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len
        self.train_filename = train_filename
        self.dev_filename = dev_filename
        self.test_filename = test_filename
        self.dev_split = dev_split
        self.dev_stratification = dev_stratification
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.tasks: dict[str, dict[str, Any]] = {}
        for name, task in (tasks or {}).items():
            self.add_task(name=name, **{k: v for k, v in task.items() if k != "label_tensor_name"})
        self.skipped_rows: dict[str, list[tuple[int, str]]] = {}

    def add_task(
        self,
        name: str,
        metric: Any,
        label_list: list[str] | None,
        label_column_name: str | int | None = None,
        label_name: str | None = None,
        task_type: str | None = None,
        text_column_name: str | int | None = None,
        scaler_mean: float | None = None,
        scaler_scale: float | None = None,
    ) -> None:
        """Add a task (one prediction head's labels and metric).

        Args:
            name (str): Task name; the head with the same ``task_name`` learns it.
            metric (Any): Metric name (see ``farm.evaluation.metrics``), list of names, or
                a registered custom metric.
            label_list (list[str] | None): The labels; ``None`` reads them from the train file.
            label_column_name (str | int | None): Column holding the labels in data files.
            label_name (str | None): Key of the label in the dicts; ``"<name>_label"``.
            task_type (str | None): ``"classification"`` (also ``None``),
                ``"multilabel_classification"``, ``"regression"``, ``"ner"``, ...
            text_column_name (str | int | None): Column holding the text in data files.
            scaler_mean (float | None): Regression only: mean of the training labels;
                ``None`` fits it on the first labelled data set (the training set).
            scaler_scale (float | None): Regression only: their standard deviation.
        """
        label_name = label_name or f"{name}_label"
        self.tasks[name] = {
            # Labels read from files are strings, so label lists are too.
            "label_list": [str(label) for label in label_list] if label_list is not None else None,
            "metric": metric,
            "label_tensor_name": f"{name}_label_ids",
            "label_name": label_name,
            "label_column_name": label_column_name,
            "task_type": task_type,
            "text_column_name": text_column_name,
        }
        if task_type == REGRESSION:
            self.tasks[name]["metric"] = regression_metric(metric)
            self.tasks[name].update(scaler_mean=scaler_mean, scaler_scale=scaler_scale)
        elif scaler_mean is not None or scaler_scale is not None:
            raise ValueError(
                f"scaler_mean/scaler_scale are for regression tasks; task '{name}' has "
                f"task_type {task_type!r}."
            )

    def file_to_dicts(self, file: str | Path) -> list[dict[str, Any]]:
        """Read a data file into one dict per input (e.g. ``{"text": ..., "<task>_label":
        ...}``)."""
        raise NotImplementedError(f"{type(self).__name__} does not read files.")

    def dataset_from_dicts(
        self,
        dicts: list[dict[str, Any]],
        indices: list[int] | None = None,
        return_baskets: bool = False,
        log_sample: bool = True,
    ) -> tuple[Any, ...]:
        """Turn dicts into a :class:`FeatureDataset`.

        Returns:
            tuple: ``(dataset, tensor_names, problematic_ids)``, plus the baskets when
            ``return_baskets`` is True.
        """
        raise NotImplementedError

    def samples_per_input(self, dicts: list[dict[str, Any]]) -> list[int]:
        """How many samples each input dict yields (``StreamingDataSilo`` sizes its epochs by
        it, as an input may yield several: QA passages, LM sequences, NER windows).

        The default featurizes the dicts and counts the samples of each basket (one basket
        per input dict); a subclass overrides it where it can count more cheaply. The count
        of an input must not depend on the other inputs passed with it.

        Args:
            dicts (list[dict[str, Any]]): Input dicts, as :meth:`file_to_dicts` makes them.

        Returns:
            list[int]: One count per input dict.
        """
        baskets = self.dataset_from_dicts(dicts, return_baskets=True, log_sample=False)[3]
        if len(baskets) != len(dicts):
            raise FarmError(
                f"{type(self).__name__}.dataset_from_dicts made {len(baskets)} baskets of "
                f"{len(dicts)} input dicts, so their samples cannot be counted per input; "
                "override samples_per_input(dicts) to return one count per input dict."
            )
        return [len(basket.samples) for basket in baskets]

    def prepare(self, dicts: list[dict[str, Any]]) -> None:
        """Learn from all inputs of a split what featurizing them needs, before the split is
        cut into chunks for worker processes (e.g. a regression task's label scaler, which
        must be fitted on the whole training set). Default: nothing."""

    def file_path(self, filename: str | Path) -> Path:
        """Where ``filename`` is: absolute paths as given; relative ones in ``data_dir`` first,
        then relative to the working directory. A path this method returned is returned as
        it is (the data silo resolves a file name, the reader resolves it again)."""
        path = Path(filename)
        if path.is_absolute() or self.data_dir is None:
            return path
        in_data_dir = self.data_dir / path
        if in_data_dir.exists():
            return in_data_dir
        if path.exists() or path.parts[:len(self.data_dir.parts)] == self.data_dir.parts:
            return path
        return in_data_dir

    def is_data_file(
        self, path: Path, splits: tuple[str, ...] = ("train", "dev", "test")
    ) -> bool:
        """Whether ``path`` is the processor's train (dev, test) file."""
        names = {
            "train": self.train_filename, "dev": self.dev_filename, "test": self.test_filename,
        }
        wanted = [self.file_path(name).resolve() for s in splits if (name := names[s])]
        return path.resolve() in wanted

    def note_skipped(self, file: Path, skipped: list[tuple[int, str]]) -> None:
        """Record and report rows skipped on request (``skip_bad_rows=True``)."""
        if not skipped:
            return
        self.skipped_rows[str(file)] = skipped
        first = "; ".join(f"line {line}: {reason}" for line, reason in skipped[:3])
        logger.warning("Skipped %d bad rows of %s (first: %s)", len(skipped), file, first)

    @staticmethod
    def label_error(file: Path, line: int, task: str, label: str, known: list[str]) -> None:
        """Raise the error for a label that is not in the task's ``label_list``."""
        raise DataFileError(
            f"label {label!r} of task '{task}' is not in label_list {known}."
            f"{did_you_mean(label, known)} Add it to label_list or correct the row.",
            file=file,
            line=line,
        )

    def generate_config(self) -> dict[str, Any]:
        """The constructor arguments of this processor (without the tokenizer), as JSON."""
        config: dict[str, Any] = {}
        for name in constructor_parameters(type(self)):
            if name in ("self", "tokenizer") or not hasattr(self, name):
                continue
            value = getattr(self, name)
            config[name] = str(value) if isinstance(value, Path) else value
        return config

    def save(self, save_dir: str | Path) -> None:
        """Write ``processor_config.json`` and the tokenizer files to ``save_dir``."""
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        tasks = {
            name: {**task, "metric": metric_name(task["metric"])}
            for name, task in self.tasks.items()
        }
        config = {"processor": type(self).__name__, **self.generate_config(), "tasks": tasks}
        if "metric" in config:
            config["metric"] = metric_name(config["metric"])
        (save_dir / PROCESSOR_CONFIG).write_text(json.dumps(config, indent=2, default=str))
        self.tokenizer.save_pretrained(str(save_dir))

    @classmethod
    def load_from_dir(cls, load_dir: str | Path) -> Processor:
        """Rebuild a processor saved with :meth:`save` (its tokenizer included).

        Args:
            load_dir (str | Path): A folder written by ``processor.save`` or ``model.save``.

        Returns:
            Processor: The processor, with its tasks.
        """
        load_dir = Path(load_dir)
        config_file = load_dir / PROCESSOR_CONFIG
        if not config_file.is_file():
            raise ModelFolderError(f"{config_file} not found: {load_dir} holds no saved "
                                   "processor.")
        config = read_json_file(config_file, dict)
        require_fields(config, config_file, {"processor": str})
        name = config.pop("processor")
        if name not in Processor.subclasses:
            raise ModelFolderError(
                f"unknown processor '{name}'.{did_you_mean(name, cls.subclasses)}"
                " Import the module that defines it before loading.", config_file
            )
        tasks = config.pop("tasks", {})
        if not isinstance(tasks, dict) or not all(isinstance(t, dict) for t in tasks.values()):
            raise ModelFolderError("'tasks' must map each task name to an object; the file "
                                   "is damaged: save the model again.", config_file)
        processor_cls = Processor.subclasses[name]
        accepted = constructor_parameters(processor_cls)
        kwargs = {k: v for k, v in config.items() if k in accepted}
        tokenizers = processor_cls.load_tokenizers(load_dir)
        try:
            processor = processor_cls(**tokenizers, **kwargs)
        except (TypeError, ValueError) as error:
            raise ModelFolderError(f"cannot build {name} from it ({error}); the file is "
                                   "damaged or was written by another FARM version.",
                                   config_file) from error
        processor.restore_tasks(tasks)
        return processor

    @classmethod
    def load(
        cls,
        processor_name: str,
        data_dir: str | Path | None,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_len: int,
        train_filename: str | Path | None,
        dev_filename: str | Path | None,
        test_filename: str | Path | None,
        dev_split: float | None,
        **kwargs: Any,
    ) -> Processor:
        """FARM's factory: build the processor class named ``processor_name`` (a key of
        :attr:`subclasses`) with these arguments and ``kwargs``.

        Example:
            >>> processor = Processor.load("TextClassificationProcessor", "data/sentiment",
            ...     tokenizer, 128, "train.tsv", None, "test.tsv", 0.1, label_list=["a", "b"],
            ...     metric="acc")
        """
        # The concrete processors import this module, so the factory is imported on use.
        from farm.data_handler.processors.factory import load_processor

        return load_processor(processor_name, data_dir, tokenizer, max_seq_len, train_filename,
                              dev_filename, test_filename, dev_split, **kwargs)

    @classmethod
    def convert_from_transformers(
        cls,
        tokenizer_name_or_path: str | Path,
        task_type: str,
        max_seq_len: int,
        doc_stride: int,
        revision: str | None = None,
        tokenizer_class: str | None = None,
        tokenizer_args: dict[str, Any] | None = None,
        use_fast: bool = True,
    ) -> Processor:
        """FARM's helper: the processor for a Hugging Face model's ``task_type``
        (``"question_answering"``, ``"embeddings"``, ``"text_classification"``, ``"ner"``),
        with its tokenizer and, for classification and NER, the labels of its config.

        Args:
            tokenizer_name_or_path (str | Path): Hugging Face folder or hub name.
            task_type (str): The task.
            max_seq_len (int): Maximum tokens per sample.
            doc_stride (int): Question answering: tokens between passage starts.
            revision (str | None): Hub revision.
            tokenizer_class (str | None): FARM's; accepted with a one-time warning.
            tokenizer_args (dict[str, Any] | None): More ``Tokenizer.load`` options.
            use_fast (bool): FARM's; a fast tokenizer is always used.
        """
        from farm.data_handler.processors.factory import processor_from_transformers

        return processor_from_transformers(tokenizer_name_or_path, task_type, max_seq_len,
                                           doc_stride, revision, tokenizer_class,
                                           tokenizer_args, use_fast)

    @classmethod
    def load_tokenizers(cls, load_dir: Path) -> dict[str, Any]:
        """The tokenizer argument(s) of the constructor, read from a saved processor's
        folder (a processor with two tokenizers, like ``TextSimilarityProcessor``, reads
        both)."""
        return {"tokenizer": Tokenizer.load(load_dir)}

    def tokenizer_state(self) -> str:
        """The serialized tokenizer(s) the features depend on (part of the cache key)."""
        return tokenizer_state(self.tokenizer)

    def restore_tasks(self, tasks: dict[str, dict[str, Any]]) -> None:
        """Take over tasks saved earlier (by :meth:`save` or the data silo's cache), label
        lists read from a train file included, also where a subclass mirrors them in an
        attribute (``processor.label_list``)."""
        self.tasks = tasks
        for name, task in tasks.items():
            if task.get("label_list") is not None:
                self.on_label_list_read(name, task["label_list"])

    def on_label_list_read(self, task_name: str, labels: list[str]) -> None:
        """Hook for subclasses that mirror a task's label list in an attribute."""

    @staticmethod
    def log_problematic(problematic_sample_ids: Iterable[Any],
                        reasons: Sequence[str] = ()) -> None:
        """Report inputs that could not be turned into samples and were skipped (FARM's
        ``log_problematic``): their basket ids, and the first reasons if given."""
        ids = sorted(problematic_sample_ids, key=str)
        if not ids:
            return
        shown = "; ".join(reasons[:3])
        logger.warning("Skipped %d input(s) that could not be turned into samples; their ids: "
                       "%s%s", len(ids), ids[:20], f" (first: {shown})" if shown else "")

    def log_sample(self, basket: SampleBasket) -> None:
        """Log the first sample of a basket (done once per preprocessing run), with its share
        of unknown tokens."""
        if basket.samples:
            sample = basket.samples[0]
            features = {k: [v] for f in sample.features or [] for k, v in f.items()}
            unknown = count_unknown(features, self)
            logger.info("Example of preprocessed data:%s\nUnknown tokens: %s", sample,
                        unknown.describe())

    @staticmethod
    def pad_values(tokenizer: PreTrainedTokenizerBase) -> dict[str, int]:
        """Padding value of the sequence features made with ``tokenizer``."""
        return {"input_ids": int(tokenizer.pad_token_id or 0)}

    @staticmethod
    def empty_result(return_baskets: bool, problematic: set[Any] | None = None
                     ) -> tuple[Any, ...]:
        """What :meth:`dataset_from_dicts` returns for no (usable) input."""
        dataset = FeatureDataset({})
        problematic = problematic or set()
        return (dataset, [], problematic, []) if return_baskets else (dataset, [], problematic)


def constructor_parameters(cls: type) -> list[str]:
    """Named parameters of ``cls.__init__``; where it passes ``**kwargs`` on to its parent
    (``TextPairClassificationProcessor``), the parent's too."""
    names: list[str] = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        names += [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                  and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def _farm_arguments(processor: str, proxies: Any, multithreading_rust: bool) -> None:
    """Warn once about FARM processor arguments that have no effect here."""
    if proxies is not None:
        warn_once(f"{processor}(proxies=...)", "data sets are read from local files only")
    if not multithreading_rust:
        warn_once(f"{processor}(multithreading_rust=False)",
                  "the fast tokenizer's threads are managed by FARM (on in the main process, "
                  "off in preprocessing worker processes)")
