"""FARM 0.8's data-handling API: names importable from FARM's paths, FARM's arguments
accepted, and FARM's behaviour (readers' dict shapes, loaders, processor options)."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from farm.compat import FeatureRemovedError, forget_warnings
from farm.data_handler.data_silo import DataSilo, StreamingDataSilo
from farm.data_handler.dataloader import NamedDataLoader
from farm.data_handler.dataset import (
    Collator,
    ConcatTensorDataset,
    FeatureDataset,
    convert_features_to_dataset,
)
from farm.data_handler.inputs import QAInput, Question
from farm.data_handler.processor import (
    BertStyleLMProcessor,
    InferenceProcessor,
    NERProcessor,
    PassageRankingProcessor,
    Processor,
    RegressionProcessor,
    SquadProcessor,
    TextClassificationProcessor,
    TextPairClassificationProcessor,
    TextPairRegressionProcessor,
    TextSimilarityProcessor,
)
from farm.data_handler.samples import Sample, SampleBasket
from farm.data_handler.utils import (
    DOWNSTREAM_TASK_MAP,
    grouper,
    mask_random_words,
    read_docs_from_txt,
    read_dpr_json,
    read_jsonl,
    read_ner_file,
    read_squad_file,
    read_tsv,
    read_tsv_sentence_pair,
    split_file,
    write_squad_predictions,
)
from farm.errors import DataFileError, FarmError
from farm.evaluation.metrics import compute_metrics
from farm.modeling.tokenization import Tokenizer
from tests.dpr_helpers import dpr_records, write_dpr_file
from tests.farm_helpers import LABELS, separable_rows, write_tsv
from tests.lm_helpers import make_lm_processor, pattern_documents, write_corpus
from tests.tiny_models import TinyModelFactory

FARM_NAMES = [
    ("farm.data_handler.data_silo", ["DataSilo", "StreamingDataSilo", "DataSiloForCrossVal",
                                     "DataSiloForHoldout"]),
    ("farm.data_handler.processor", [
        "Processor", "TextClassificationProcessor", "TextPairClassificationProcessor",
        "RegressionProcessor", "TextPairRegressionProcessor", "InferenceProcessor",
        "NERProcessor", "BertStyleLMProcessor", "SquadProcessor", "TextSimilarityProcessor",
        "NaturalQuestionsProcessor"]),
    ("farm.data_handler.samples", ["SampleBasket", "Sample"]),
    ("farm.data_handler.dataset", ["convert_features_to_dataset", "ConcatTensorDataset"]),
    ("farm.data_handler.dataloader", ["NamedDataLoader"]),
    ("farm.data_handler.inputs", ["QAInput", "Question"]),
    ("farm.data_handler.utils", [
        "read_tsv", "read_tsv_sentence_pair", "read_jsonl", "read_ner_file", "read_squad_file",
        "read_dpr_json", "read_docs_from_txt", "write_squad_predictions", "split_file",
        "grouper", "DOWNSTREAM_TASK_MAP", "get_sentence_pair", "get_sequence_pair",
        "join_sentences", "mask_random_words"]),
    ("farm.data_handler.input_features", ["sample_to_features_text"]),
    ("farm.data_handler.nq_utils", ["create_samples_qa_Natural_Question"]),
]


@pytest.mark.parametrize("module, names", FARM_NAMES)
def test_farm_names_import_from_farms_paths(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert getattr(imported, name) is not None


@pytest.fixture()
def tokenizer(tiny_bert_dir: Path) -> Any:
    return Tokenizer.load(tiny_bert_dir)


# ---- readers ----------------------------------------------------------------------------

def test_read_tsv_renames_the_columns_it_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text("id\tsentence\tcoarse\tfine\n1\tgood film\tOTHER\tx\n2\t\tOFFENSE\ty\n")
    rows = read_tsv(path, {"sentence": "text", "coarse": "text_classification_label"})
    assert rows == [{"text": "good film", "text_classification_label": "OTHER"},
                    {"text": "", "text_classification_label": "OFFENSE"}]
    assert len(read_tsv(path, {"sentence": "text"}, max_samples=1)) == 1
    with pytest.raises(DataFileError, match="column 'label' .*not found"):
        read_tsv(path, {"label": "text_classification_label"})


def test_read_tsv_sentence_pair(tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text('text\ttext_b\tlabel\nwho "is" it\tit is me\t1\n')
    assert read_tsv_sentence_pair(path, {"label": "text_classification_label"}) == [
        {"text": 'who "is" it', "text_b": "it is me", "text_classification_label": "1"}]


def test_read_jsonl_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b", "label": 1}\n')
    assert read_jsonl(path) == [{"text": "a"}, {"text": "b", "label": 1}]
    path.write_text('{"text": "a"}\n{"text": \n')
    with pytest.raises(DataFileError, match="data.jsonl"):
        read_jsonl(path)


def test_read_ner_file_gives_farms_dicts(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("-DOCSTART- O\n\nEU B-ORG\nrejects O\n\nPeter B-PER\nBlackburn I-PER\n")
    assert read_ner_file(path, sep=" ") == [
        {"text": "EU rejects", "ner_label": ["B-ORG", "O"]},
        {"text": "Peter Blackburn", "ner_label": ["B-PER", "I-PER"]}]


def test_read_squad_file_returns_the_articles(tmp_path: Path) -> None:
    data = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": "c",
                                                                       "qas": []}]}]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(data))
    assert read_squad_file(path) == data["data"]
    path.write_text('{"version": 1}')
    with pytest.raises(DataFileError, match="SQuAD object"):
        read_squad_file(path)


def test_read_dpr_json_gives_farms_query_and_passage_dicts(tmp_path: Path) -> None:
    records = dpr_records(4, n_hard_negatives=3)
    records[1]["positive_ctxs"] = []  # cannot be trained on: skipped
    path = write_dpr_file(tmp_path / "train.json", records)
    dicts = read_dpr_json(path, num_hard_negatives=2, shuffle_negatives=False)
    assert [d["query"] for d in dicts] == [records[i]["question"] for i in (0, 2, 3)]
    passages = dicts[0]["passages"]
    assert [p["label"] for p in passages] == ["positive", "hard_negative", "hard_negative"]
    assert passages[1]["text"] == records[0]["hard_negative_ctxs"][0]["text"]
    assert set(passages[0]) == {"title", "text", "label", "external_id"}
    assert len(read_dpr_json(path, max_samples=2)) == 2


def test_read_docs_from_txt(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("One.\nTwo.\n\nThree.\n\n\nFour.\n")
    assert list(read_docs_from_txt(path)) == [{"doc": ["One.", "Two."]}, {"doc": ["Three."]},
                                              {"doc": ["Four."]}]
    assert len(list(read_docs_from_txt(path, max_docs=2))) == 2
    path.write_text("a\n---\nb\n")
    assert list(read_docs_from_txt(path, delimiter="---")) == [{"doc": ["a"]}, {"doc": ["b"]}]
    path.write_text("only one document\n")
    with pytest.raises(DataFileError, match="at least two"):
        list(read_docs_from_txt(path))


def test_write_squad_predictions(tmp_path: Path) -> None:
    results = [{"task": "qa", "predictions": [
        {"question": "q1", "id": "a", "answers": [{"answer": "Paris"}]},
        {"question": "q2", "question_id": "b", "answers": [{"answer": ""}]}]}]
    gold = {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
        {"id": "a"}, {"id": "b"}, {"id": "c"}]}]}]}
    (tmp_path / "dev.json").write_text(json.dumps(gold))
    write_squad_predictions(results, tmp_path / "preds.json", tmp_path / "dev.json")
    assert json.loads((tmp_path / "preds.json").read_text()) == {"a": "Paris", "b": "",
                                                                  "c": ""}


def test_split_file_makes_shards_a_streaming_silo_reads(tiny_bert_dir: Path, tmp_path: Path
                                                        ) -> None:
    corpus = write_corpus(tmp_path / "all.txt", pattern_documents(9, seed=3, per_doc=4))
    shards = split_file(corpus, tmp_path / "shards", docs_per_file=4)
    assert [p.name for p in shards] == ["part_00001", "part_00002", "part_00003"]
    processor = make_lm_processor(tiny_bert_dir, tmp_path, train_filename="shards",
                                  test_filename=None, max_seq_len=24)
    assert [len(processor.file_to_dicts(p)) for p in shards] == [4, 4, 1]
    streamed = StreamingDataSilo(processor, batch_size=4, dataloader_workers=0)
    memory = DataSilo(make_lm_processor(tiny_bert_dir, tmp_path, train_filename="all.txt",
                                        test_filename=None, max_seq_len=24), batch_size=4)
    assert streamed.counts["train"] == len(memory.data["train"])  # type: ignore[arg-type]


def test_grouper_numbers_items_and_deals_chunks_to_workers() -> None:
    assert list(grouper("ABCDE", 2)) == [[(0, "A"), (1, "B")], [(2, "C"), (3, "D")],
                                         [(4, "E")]]
    parts = [list(grouper(range(7), 2, worker_id=w, total_workers=2)) for w in (0, 1)]
    assert [[i for i, _ in chunk] for chunk in parts[0]] == [[0, 1], [4, 5]]
    assert [[i for i, _ in chunk] for chunk in parts[1]] == [[2, 3], [6]]


def test_what_cannot_be_downloaded_or_run_any_more_says_what_to_do() -> None:
    assert "gnad" not in DOWNSTREAM_TASK_MAP and len(DOWNSTREAM_TASK_MAP) == 0
    with pytest.raises(FeatureRemovedError, match="download the data set yourself"):
        DOWNSTREAM_TASK_MAP["germeval18"]
    with pytest.raises(FeatureRemovedError, match="BertStyleLMProcessor"):
        mask_random_words(["a"], {})
    from farm.data_handler.input_features import sample_to_features_text
    from farm.data_handler.nq_utils import create_samples_qa_Natural_Question
    from farm.data_handler.processor import NaturalQuestionsProcessor

    with pytest.raises(FeatureRemovedError, match="dataset_from_dicts"):
        sample_to_features_text(None)
    with pytest.raises(FeatureRemovedError, match="SquadProcessor"):
        create_samples_qa_Natural_Question()
    with pytest.raises(FarmError, match="SQuAD JSON"):
        NaturalQuestionsProcessor(tokenizer=None, max_seq_len=384, data_dir="data/nq")


# ---- samples, datasets, loaders -----------------------------------------------------------

def test_samples_and_inputs_have_farms_fields() -> None:
    basket = SampleBasket(id_internal=0, raw={"text": "x"}, id_external=None, samples=None)
    assert basket.samples == []
    sample = Sample(id="0-0", clear_text={"text": "x"}, tokenized=None, features=None)
    assert (sample.id, sample.clear_text, sample.tokenized, sample.features) == (
        "0-0", {"text": "x"}, None, None)
    item = QAInput(doc_text="Paris is in France.", questions=[Question("Where?", uid="q1")])
    assert item.to_dict() == {"context": "Paris is in France.",
                              "qas": [{"question": "Where?", "id": "q1"}]}


def test_convert_features_to_dataset_and_named_loader() -> None:
    features = [{"input_ids": [101, 7, 102], "label_ids": [1]},
                {"input_ids": [101, 102], "label_ids": [0]}]
    dataset, names = convert_features_to_dataset(features)
    assert isinstance(dataset, TensorDataset) and names == ["input_ids", "label_ids"]
    assert dataset.tensors[0].tolist() == [[101, 7, 102], [101, 102, 0]]
    batches = list(NamedDataLoader(dataset, batch_size=2, tensor_names=names))
    assert batches[0]["label_ids"].tolist() == [[1], [0]]
    with pytest.raises(ValueError, match="needs tensor_names"):
        NamedDataLoader(dataset, batch_size=2)
    joined = ConcatTensorDataset([dataset, dataset])
    assert len(joined) == 4 and joined.tensors[1].tolist() == [[1], [0], [1], [0]]


def test_named_loader_and_tensors_of_a_processors_dataset(tokenizer: Any) -> None:
    processor = InferenceProcessor(tokenizer, max_seq_len=16)
    dataset, names, problematic = processor.dataset_from_dicts(
        [{"text": "good movie today"}, {"text": "bad"}])
    assert problematic == set() and names == dataset.tensor_names
    loader = NamedDataLoader(dataset, batch_size=2, tensor_names=names)
    batch = next(iter(loader))
    assert set(batch) == set(names) and batch["input_ids"].shape[0] == 2
    tensors = dataset.tensors  # FARM's tests read the padded tensors in tensor_names order
    assert len(tensors) == len(names)
    assert torch.equal(tensors[names.index("input_ids")], batch["input_ids"])


# ---- processors ---------------------------------------------------------------------------

PROCESSORS = [TextClassificationProcessor, TextPairClassificationProcessor, RegressionProcessor,
              TextPairRegressionProcessor, InferenceProcessor, NERProcessor,
              BertStyleLMProcessor, SquadProcessor, TextSimilarityProcessor,
              PassageRankingProcessor]


@pytest.mark.parametrize("cls", PROCESSORS, ids=lambda c: c.__name__)
def test_every_processor_takes_farms_proxies_and_multithreading_rust(
    cls: type, tokenizer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    if cls is TextSimilarityProcessor:
        args: dict[str, Any] = {"query_tokenizer": tokenizer, "passage_tokenizer": tokenizer,
                                "max_seq_len_query": 16, "max_seq_len_passage": 32}
    else:
        args = {"tokenizer": tokenizer, "max_seq_len": 256}
        if "data_dir" in inspect.signature(cls).parameters:
            args["data_dir"] = None
    forget_warnings()
    with caplog.at_level(logging.WARNING):
        cls(**args, proxies={"https": "proxy:3128"}, multithreading_rust=False)
        cls(**args, proxies={"https": "proxy:3128"}, multithreading_rust=False)
    name = cls.__name__
    assert caplog.text.count(f"{name}(proxies=...)") == 1  # once per process
    assert caplog.text.count(f"{name}(multithreading_rust=False)") == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        cls(**args, multithreading_rust=True)  # FARM's default: nothing to warn about
    assert "multithreading_rust" not in caplog.text


def test_dev_split_none_means_no_dev_set(tiny_bert_dir: Path, tmp_path: Path) -> None:
    write_tsv(tmp_path / "train.tsv", separable_rows(12))
    processor = TextClassificationProcessor(Tokenizer.load(tiny_bert_dir), 32, tmp_path,
                                            label_list=LABELS, metric="acc", dev_split=None,
                                            test_filename=None)
    silo = DataSilo(processor, batch_size=4)
    assert processor.dev_split == 0.0 and silo.data["dev"] is None
    assert len(silo.data["train"]) == 12  # type: ignore[arg-type]


def test_farms_text_pair_tuple_is_a_pair(tokenizer: Any) -> None:
    single = TextClassificationProcessor(tokenizer, 32, None, label_list=LABELS, metric="acc",
                                         train_filename=None, test_filename=None)
    pairs = TextPairClassificationProcessor(tokenizer, 32, None, label_list=LABELS,
                                            metric="acc", train_filename=None,
                                            test_filename=None)
    tupled = [{"text": ("is the food good", "the food is good"), "text_classification_label":
               "positive"}]
    explicit = [{"text": "is the food good", "text_b": "the food is good",
                 "text_classification_label": "positive"}]
    for processor in (single, pairs):
        dataset = processor.dataset_from_dicts(tupled)[0]
        expected = pairs.dataset_from_dicts(explicit)[0]
        for name in ("input_ids", "segment_ids", "text_classification_label_ids"):
            assert dataset.features[name][0].tolist() == expected.features[name][0].tolist()
        assert set(dataset.features["segment_ids"][0].tolist()) == {0, 1}


def test_regression_uses_a_regression_metric_whatever_metric_says(
    tokenizer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """FARM evaluated regression with mse whatever ``metric`` said; f1_macro on regression
    values would fail in scikit-learn."""
    forget_warnings()
    with caplog.at_level(logging.WARNING):
        processor = RegressionProcessor(tokenizer, 32, None, metric="f1_macro",
                                        train_filename=None, test_filename=None)
    metric = processor.tasks["regression"]["metric"]
    assert metric == ["mse", "r2", "pear_spear"]
    assert "metric='f1_macro' for a regression task" in caplog.text
    scores = compute_metrics(metric, [0.5, 1.5, 2.0], [0.4, 1.7, 2.2])
    assert scores["mse"] == pytest.approx(np.mean([0.01, 0.04, 0.04]))
    kept = RegressionProcessor(tokenizer, 32, None, metric=["r2", "acc"], train_filename=None,
                               test_filename=None)
    assert kept.tasks["regression"]["metric"] == ["r2"]
    assert RegressionProcessor(tokenizer, 32, None, metric="mse", train_filename=None,
                               test_filename=None).tasks["regression"]["metric"] == "mse"


def test_processor_load_builds_a_processor_by_class_name(tokenizer: Any, tmp_path: Path
                                                         ) -> None:
    assert Processor.subclasses["SquadProcessor"] is SquadProcessor
    processor = Processor.load("TextClassificationProcessor", tmp_path, tokenizer, 64,
                               "train.tsv", None, "test.tsv", 0.2, label_list=LABELS,
                               metric="acc", delimiter=",")
    assert isinstance(processor, TextClassificationProcessor)
    assert (processor.max_seq_len, processor.dev_split, processor.delimiter) == (64, 0.2, ",")
    assert processor.tasks["text_classification"]["label_list"] == LABELS
    inference = Processor.load("InferenceProcessor", tmp_path, tokenizer, 32, "train.tsv",
                               None, None, 0.1)
    assert isinstance(inference, InferenceProcessor) and inference.train_filename is None
    dpr = Processor.load("TextSimilarityProcessor", tmp_path, tokenizer, 32, "train.json", None,
                         None, 0.0, num_hard_negatives=2)
    assert isinstance(dpr, TextSimilarityProcessor)
    assert dpr.max_seq_len_query == dpr.max_seq_len_passage == 32
    with pytest.raises(FarmError, match="Did you mean 'SquadProcessor'"):
        Processor.load("SquadProcesor", tmp_path, tokenizer, 64, None, None, None, 0.0)


def test_processor_convert_from_transformers(tiny_model_factory: TinyModelFactory) -> None:
    folder = tiny_model_factory("bert", num_labels=3)
    text = Processor.convert_from_transformers(folder, task_type="text_classification",
                                               max_seq_len=64, doc_stride=16)
    assert isinstance(text, TextClassificationProcessor)
    labels = text.tasks["text_classification"]["label_list"]
    assert len(labels) == 3 and text.max_seq_len == 64
    ner = Processor.convert_from_transformers(folder, "ner", 64, 16)
    assert isinstance(ner, NERProcessor) and ner.tasks["ner"]["label_list"] == labels
    qa = Processor.convert_from_transformers(folder, "question_answering", 96, 24,
                                             tokenizer_args={"model_max_length": 96})
    assert isinstance(qa, SquadProcessor) and qa.doc_stride == 24
    assert isinstance(Processor.convert_from_transformers(folder, "embeddings", 64, 16),
                      InferenceProcessor)
    with pytest.raises(ValueError, match="Valid choices"):
        Processor.convert_from_transformers(folder, "summarization", 64, 16)


def test_dataset_from_dicts_with_baskets_and_log_problematic(
    tokenizer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    processor = TextClassificationProcessor(tokenizer, 32, None, label_list=LABELS,
                                            metric="acc", train_filename=None,
                                            test_filename=None)
    result = processor.dataset_from_dicts([{"text": "good day"}, {"text": "bad day"}],
                                          indices=[7, 8], return_baskets=True)
    dataset, names, problematic, baskets = result
    assert len(dataset) == 2 and problematic == set() and "input_ids" in names
    assert [b.id_internal for b in baskets] == [7, 8]
    assert baskets[0].samples[0].features[0]["input_ids"].tolist() == (
        dataset.features["input_ids"][0].tolist())
    with caplog.at_level(logging.WARNING):
        Processor.log_problematic({3, 5})
    assert "Skipped 2 input(s)" in caplog.text and "[3, 5]" in caplog.text


def test_lm_processor_estimates_samples_and_lists_added_tokens(tiny_bert_dir: Path,
                                                              tmp_path: Path) -> None:
    write_corpus(tmp_path / "train.txt", pattern_documents(40, seed=5, per_doc=6))
    processor = make_lm_processor(tiny_bert_dir, tmp_path, test_filename=None, max_seq_len=24,
                                  next_sent_pred=True, next_sent_pred_style="sentence")
    n_samples = len(DataSilo(processor, batch_size=8).data["train"])  # type: ignore[arg-type]
    assert n_samples == 40 * 5  # one pair per sentence but the last
    assert processor.estimate_n_samples("train.txt") == n_samples  # all documents read
    assert processor.estimate_n_samples("train.txt", max_docs=10) == pytest.approx(
        n_samples, rel=0.05)  # extrapolated by lines
    assert processor.get_added_tokens() == []
    processor.tokenizer.add_tokens(["covfefe", "bazinga"])
    assert processor.get_added_tokens() == ["covfefe", "bazinga"]


def test_streamed_farm_dicts_match_the_in_memory_silo_for_text_classification(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    """One sample per input: the stream counts without preprocessing twice."""
    write_tsv(tmp_path / "train.tsv", separable_rows(10))
    processor = TextClassificationProcessor(Tokenizer.load(tiny_bert_dir), 32, tmp_path,
                                            label_list=LABELS, metric="acc", test_filename=None,
                                            dev_split=0.0)
    calls: list[int] = []
    featurize = processor.dataset_from_dicts

    def counting(dicts: list[dict[str, Any]], **kwargs: Any) -> Any:
        calls.append(len(dicts))
        return featurize(dicts, **kwargs)

    processor.dataset_from_dicts = counting  # type: ignore[method-assign]
    silo = StreamingDataSilo(processor, batch_size=4, dataloader_workers=0)
    assert calls == [] and silo.counts["train"] == 10 and silo.train_stream.sample_counts is None


def test_collator_and_feature_dataset_tensors_agree() -> None:
    dataset = FeatureDataset({"input_ids": [np.array([1, 2, 3]), np.array([4])]},
                             pad_values={"input_ids": 9})
    assert dataset.tensors[0].tolist() == [[1, 2, 3], [4, 9, 9]]
    assert torch.equal(dataset.tensors[0], Collator(dataset.pad_values)(
        [dataset[0], dataset[1]])["input_ids"])
    assert FeatureDataset({}).tensors == ()


def test_data_silo_loads_dicts_and_counts_samples(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """FARM's ``DataSilo._load_data(train_dicts=...)`` and ``n_samples(name)``."""
    write_tsv(tmp_path / "test.tsv", separable_rows(6, seed=4))
    processor = TextClassificationProcessor(Tokenizer.load(tiny_bert_dir), 32, tmp_path,
                                            label_list=LABELS, metric="acc", dev_split=0.25,
                                            train_filename=None)
    silo = DataSilo(processor, batch_size=4, automatic_loading=False)
    train = [{"text": t, "text_classification_label": label}
             for t, label in separable_rows(12, seed=5)]
    silo._load_data(train_dicts=train)
    assert (silo.n_samples("train"), silo.n_samples("dev"), silo.n_samples("test")) == (9, 3, 6)
    given_dev = DataSilo(processor, batch_size=4, automatic_loading=False)
    given_dev._load_data(train_dicts=train, dev_dicts=train[:2])
    assert (given_dev.n_samples("train"), given_dev.n_samples("dev")) == (12, 2)
    with pytest.raises(ValueError, match="Unknown dataset_name 'training'"):
        silo.n_samples("training")
