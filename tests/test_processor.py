"""Processors: dicts to unpadded named features, baskets, save/load, and Tokenizer.load."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from farm.data_handler.processor import (
    InferenceProcessor,
    Processor,
    SampleBasket,
    TextClassificationProcessor,
)
from farm.errors import DataFileError
from farm.modeling.tokenization import Tokenizer
from tests.tiny_models import ARCHITECTURES

TASK = "text_classification"
LABEL_KEY = f"{TASK}_label"
LABEL_IDS = f"{TASK}_label_ids"

TEXTS = [
    "The weather in Paris was sunny and warm this morning.",
    "What a terrible film, I want my money back.",
    "Great value!",
    'Kate said the new phone is "pretty good" - but far too expensive.',
]
# Odd spacing, punctuation glued to words, accents and numbers: hard cases for offsets.
HARD_TEXTS = [
    *TEXTS,
    "  Leading spaces,   double  spaces and a trailing one ",
    "Sales grew by 16% in Q3, thanks to the X-ray scanner.",
    "Café crème in Zürich costs 5 euros.",
    "It's a well-known fact that kids don't like broccoli.",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir: Path) -> PreTrainedTokenizerBase:
    """The tiny lower-casing BERT tokenizer."""
    return Tokenizer.load(tiny_bert_dir)


def make_processor(
    tokenizer: PreTrainedTokenizerBase, data_dir: Path | None = None, **kwargs: Any
) -> TextClassificationProcessor:
    """A text classification processor with labels neg/pos/neutral unless told otherwise."""
    options: dict[str, Any] = {
        "label_list": ["neg", "pos", "neutral"],
        "metric": "acc",
        "max_seq_len": 64,
    }
    options.update(kwargs)
    return TextClassificationProcessor(tokenizer=tokenizer, data_dir=data_dir, **options)


def labelled(texts: list[str], labels: list[str]) -> list[dict[str, Any]]:
    """Input dicts with a text and a label each."""
    return [{"text": t, LABEL_KEY: label} for t, label in zip(texts, labels, strict=True)]


def surface(token: str) -> str:
    """A token without its word-boundary markers (``##``, ``▁``, ``Ġ``)."""
    return token.removeprefix("##").replace("\u2581", "").replace("\u0120", "")


def check_offsets(text: str, view: dict[str, Any]) -> None:
    """Offsets lie in the text, not on white space, and each white-space word starts once.

    A token that is more than a word-boundary marker must start on a character of the text
    that is not white space. Every word (white-space delimited) of ``text`` must have
    exactly one token flagged ``start_of_word``, at the word's first character.
    """
    tokens, offsets, flags = view["tokens"], view["offsets"], view["start_of_word"]
    assert len(tokens) == len(offsets) == len(flags)
    assert offsets == sorted(offsets), "offsets go backwards"
    for token, offset in zip(tokens, offsets, strict=True):
        assert 0 <= offset <= len(text)
        if surface(token):
            assert offset < len(text) and not text[offset].isspace(), (text, token, offset)
    word_starts = [
        i for i, c in enumerate(text) if not c.isspace() and (i == 0 or text[i - 1].isspace())
    ]
    flagged = [offset for offset, flag in zip(offsets, flags, strict=True) if flag]
    assert flagged == word_starts, (text, view)


# ---- features ------------------------------------------------------------------------------


def test_features_are_unpadded_and_named(tokenizer):
    """Each sample holds exactly its own tokens; no padding, names match forward()."""
    labels = ["neutral", "neg", "pos", "pos"]
    dataset, tensor_names, problematic = make_processor(tokenizer).dataset_from_dicts(
        labelled(TEXTS, labels)
    )
    assert tensor_names == ["input_ids", "padding_mask", "segment_ids", LABEL_IDS]
    assert problematic == set()
    assert len(dataset) == len(TEXTS)
    lengths = set()
    for i, text in enumerate(TEXTS):
        reference = tokenizer(text)["input_ids"]  # the tokenizer itself, unpadded
        sample = dataset[i]
        assert sample["input_ids"].tolist() == reference
        assert reference[0] == tokenizer.cls_token_id and reference[-1] == tokenizer.sep_token_id
        assert sample["padding_mask"].tolist() == [1] * len(reference)
        assert sample["segment_ids"].tolist() == [0] * len(reference)
        lengths.add(len(reference))
    assert len(lengths) == len(TEXTS), "texts of different length must stay different"
    assert dataset.lengths.tolist() == [len(tokenizer(t)["input_ids"]) for t in TEXTS]


def test_label_ids_follow_label_list_order(tokenizer):
    """Label ids are positions in label_list (not sorted, not first-seen order)."""
    labels = ["neutral", "neg", "pos", "neutral"]
    dataset, _, _ = make_processor(tokenizer).dataset_from_dicts(labelled(TEXTS, labels))
    assert [int(dataset[i][LABEL_IDS][0]) for i in range(4)] == [2, 0, 1, 2]


def test_return_baskets_keep_tokens_offsets_and_features(tokenizer):
    """Baskets carry the input, the tokenization with offsets and the same features."""
    dicts = labelled(TEXTS[:3], ["pos", "neg", "pos"])
    dataset, _, _, baskets = make_processor(tokenizer).dataset_from_dicts(
        dicts, indices=[10, 11, 12], return_baskets=True
    )
    assert len(baskets) == 3 and all(isinstance(b, SampleBasket) for b in baskets)
    for i, basket in enumerate(baskets):
        assert basket.id_internal == 10 + i
        assert basket.raw == dicts[i]
        (sample,) = basket.samples
        assert sample.id == f"{10 + i}-0"
        assert sample.clear_text["text"] == TEXTS[i]
        tokens = sample.tokenized["tokens"]
        assert tokens == tokenizer.tokenize(TEXTS[i])
        for token, offset in zip(tokens, sample.tokenized["offsets"], strict=True):
            piece = token.removeprefix("##")
            assert TEXTS[i][offset : offset + len(piece)].lower() == piece
        check_offsets(TEXTS[i], sample.tokenized)
        (features,) = sample.features
        for name, values in dataset[i].items():
            np.testing.assert_array_equal(features[name], values)


def test_start_of_word_flags_on_a_known_sentence(tokenizer):
    """``start_of_word`` is True for the first token of each white-space word only."""
    text = "The weather in Paris was sunny."
    _, _, _, (basket,) = make_processor(tokenizer).dataset_from_dicts(
        [{"text": text}], return_baskets=True
    )
    view = basket.samples[0].tokenized
    first_tokens = [
        t for t, flag in zip(view["tokens"], view["start_of_word"], strict=True) if flag
    ]
    assert first_tokens == ["the", "weather", "in", "paris", "was", "su"]
    assert view["tokens"][-1] == "." and view["start_of_word"][-1] is False


def test_one_sample_is_logged(tokenizer, caplog):
    """One preprocessed sample is logged with id, clear text, tokens, offsets and features."""
    with caplog.at_level(logging.INFO, logger="farm"):
        make_processor(tokenizer).dataset_from_dicts(labelled(TEXTS, ["pos"] * 4))
    logged = [r.getMessage() for r in caplog.records if "Example of preprocessed" in r.getMessage()]
    assert len(logged) == 1
    message = logged[0]
    assert "ID: 0-0" in message
    assert TEXTS[0] in message
    assert "tokens: ['the', 'weather'" in message
    assert "offsets: [0, 4, 12" in message
    assert "start_of_word:" in message
    assert f"input_ids: {tokenizer(TEXTS[0])['input_ids']}" in message
    assert f"{LABEL_IDS}: [1]" in message


def test_log_sample_false_logs_nothing(tokenizer, caplog):
    """``log_sample=False`` keeps quiet."""
    with caplog.at_level(logging.INFO, logger="farm"):
        make_processor(tokenizer).dataset_from_dicts([{"text": "Hi"}], log_sample=False)
    assert "Example of preprocessed" not in caplog.text


def test_truncation_is_counted_and_warned(tokenizer, caplog):
    """Texts over max_seq_len are cut to max_seq_len (ending in [SEP]) and counted."""
    processor = make_processor(tokenizer, max_seq_len=8)
    with caplog.at_level(logging.WARNING, logger="farm"):
        dataset, _, _ = processor.dataset_from_dicts(
            [{"text": TEXTS[0]}, {"text": "Hi"}, {"text": TEXTS[1]}]
        )
    assert "2 of 3 samples were longer than max_seq_len=8" in caplog.text
    assert dataset.lengths.tolist() == [8, len(tokenizer("Hi")["input_ids"]), 8]
    full = tokenizer(TEXTS[0])["input_ids"]
    assert dataset[0]["input_ids"].tolist() == [*full[:7], tokenizer.sep_token_id]


def test_no_truncation_no_warning(tokenizer, caplog):
    """Short texts are not reported as truncated."""
    with caplog.at_level(logging.WARNING, logger="farm"):
        make_processor(tokenizer).dataset_from_dicts([{"text": "Hi"}])
    assert "truncated" not in caplog.text


def test_labels_on_only_some_dicts_are_masked_for_the_others(tokenizer):
    """A dict without the label (absent or None) gets the ignore value -100 (multitask
    masking); dicts that have it keep their label id."""
    dicts = [
        {"text": "A", LABEL_KEY: "pos"}, {"text": "B"}, {"text": "C", LABEL_KEY: "neg"},
        {"text": "D", LABEL_KEY: None},
    ]
    dataset, _, _ = make_processor(tokenizer).dataset_from_dicts(dicts)
    assert [int(dataset[i][LABEL_IDS][0]) for i in range(4)] == [1, -100, 0, -100]


def test_dict_without_text_names_its_position(tokenizer):
    """A dict with no "text" names its position and the keys it has."""
    dicts = [{"text": "A"}, {"text": "B"}, {"txt": "C", "id": 3}]
    with pytest.raises(DataFileError) as info:
        make_processor(tokenizer).dataset_from_dicts(dicts)
    message = str(info.value)
    assert "input dict 2" in message and "'text'" in message
    assert "['id', 'txt']" in message


def test_unknown_label_in_dicts_names_it(tokenizer):
    """A label outside label_list in request dicts names the label and the list."""
    dicts = labelled(["A", "B", "C"], ["pos", "great", "great"])
    with pytest.raises(DataFileError) as info:
        make_processor(tokenizer).dataset_from_dicts(dicts)
    message = str(info.value)
    assert "input dict 1" in message and "'great'" in message
    assert "['neg', 'pos', 'neutral']" in message and "'great': 2" in message


def test_no_dicts_give_an_empty_dataset(tokenizer):
    """An empty input list gives an empty dataset, with or without baskets."""
    dataset, names, _ = make_processor(tokenizer).dataset_from_dicts([])
    assert len(dataset) == 0 and names == []
    assert len(make_processor(tokenizer).dataset_from_dicts([], return_baskets=True)) == 4


# ---- tasks, save and load ------------------------------------------------------------------


def test_save_and_load_from_dir_round_trip(tokenizer, tmp_path):
    """A saved processor loads with the same class, config, tasks and tokenization."""
    processor = make_processor(
        tokenizer,
        data_dir=tmp_path / "data",
        max_seq_len=17,
        delimiter=",",
        quote_char=None,
        dev_split=0.2,
        dev_stratification=True,
        header=None,
        text_column_name=1,
        label_column_name=0,
        max_samples=50,
    )
    processor.add_task("topic", "f1_macro", ["sports", "politics"], label_column_name=2)
    processor.save(tmp_path / "saved")
    saved = sorted(p.name for p in (tmp_path / "saved").iterdir())
    assert "processor_config.json" in saved and "tokenizer.json" in saved
    assert not [n for n in saved if n.endswith((".pkl", ".bin", ".pt"))]

    loaded = Processor.load_from_dir(tmp_path / "saved")
    assert type(loaded) is TextClassificationProcessor
    assert loaded.generate_config() == processor.generate_config()
    assert loaded.tasks == processor.tasks
    assert loaded.max_seq_len == 17 and loaded.quote_char is None and loaded.header is None
    dicts = [{"text": t, LABEL_KEY: "pos", "topic_label": "sports"} for t in TEXTS]
    before, names, _ = processor.dataset_from_dicts(dicts)
    after, loaded_names, _ = loaded.dataset_from_dicts(dicts)
    assert loaded_names == names
    for i in range(len(dicts)):
        for name in names:
            np.testing.assert_array_equal(after[i][name], before[i][name])
    assert before.lengths.max() == 17  # max_seq_len survived and truncates


def test_load_from_dir_keeps_label_list_read_from_train(tokenizer, tmp_path):
    """A label_list read from the train file is saved and restored."""
    (tmp_path / "train.tsv").write_text("text\tlabel\nA.\tz\nB.\ty\n")
    processor = make_processor(tokenizer, data_dir=tmp_path, label_list=None)
    processor.file_to_dicts(tmp_path / "train.tsv")
    processor.save(tmp_path / "saved")
    loaded = Processor.load_from_dir(tmp_path / "saved")
    assert loaded.tasks[TASK]["label_list"] == ["y", "z"]
    assert loaded.label_list == ["y", "z"]
    dataset, _, _ = loaded.dataset_from_dicts(labelled(["A."], ["z"]))
    assert int(dataset[0][LABEL_IDS][0]) == 1


def test_load_from_dir_without_config_is_a_clear_error(tmp_path):
    """Loading from a folder without a saved processor says what is missing."""
    with pytest.raises(Exception, match="processor_config.json not found"):
        Processor.load_from_dir(tmp_path)


def test_load_from_dir_with_unknown_processor_suggests(tokenizer, tmp_path):
    """An unknown processor class name in the config suggests the right one."""
    make_processor(tokenizer).save(tmp_path)
    config_file = tmp_path / "processor_config.json"
    config = json.loads(config_file.read_text())
    config["processor"] = "TextClassificationProcesor"
    config_file.write_text(json.dumps(config))
    with pytest.raises(Exception, match="Did you mean 'TextClassificationProcessor'"):
        Processor.load_from_dir(tmp_path)


def test_add_task_reads_its_own_column(tokenizer, tmp_path):
    """``add_task`` on a task-less processor reads its column into its own label ids."""
    file = tmp_path / "train.tsv"
    file.write_text("text\tmood\tlabel\nGood.\thappy\tpos\nBad.\tsad\tneg\n")
    processor = make_processor(tokenizer, data_dir=tmp_path, label_list=None, metric=None)
    assert processor.tasks == {}
    processor.add_task("mood", "acc", ["sad", "happy"], label_column_name="mood")
    task = processor.tasks["mood"]
    assert task["label_tensor_name"] == "mood_label_ids" and task["label_name"] == "mood_label"
    dicts = processor.file_to_dicts(file)
    assert dicts == [
        {"text": "Good.", "mood_label": "happy"},
        {"text": "Bad.", "mood_label": "sad"},
    ]
    dataset, names, _ = processor.dataset_from_dicts(dicts)
    assert names == ["input_ids", "padding_mask", "segment_ids", "mood_label_ids"]
    assert [int(dataset[i]["mood_label_ids"][0]) for i in range(2)] == [1, 0]


def test_add_task_text_column_name_is_the_text_column(tokenizer, tmp_path):
    """As in FARM, ``add_task(text_column_name=...)`` says where the texts are; tasks that
    name different text columns are an error naming them."""
    file = tmp_path / "train.tsv"
    file.write_text("id\treview\tmood\n1\tGood.\thappy\n2\tBad.\tsad\n")
    processor = make_processor(tokenizer, data_dir=tmp_path, label_list=None, metric=None)
    processor.add_task("mood", "acc", ["sad", "happy"], label_column_name="mood",
                       text_column_name="review")
    assert [d["text"] for d in processor.file_to_dicts(file)] == ["Good.", "Bad."]
    processor.add_task("other", "acc", ["1", "2"], label_column_name="id",
                       text_column_name="mood")
    with pytest.raises(DataFileError, match=r"train.tsv: the tasks read their texts from "
                       r"different columns \(\{'mood': 'review', 'other': 'mood'\}\)"):
        processor.file_to_dicts(file)


def test_add_task_next_to_the_default_task(tokenizer, tmp_path):
    """Two tasks read two columns; each gets its own label tensor."""
    file = tmp_path / "train.tsv"
    file.write_text("text\tmood\tlabel\nGood.\thappy\tpos\nBad.\tsad\tneg\n")
    processor = make_processor(tokenizer, data_dir=tmp_path)
    processor.add_task("mood", "acc", ["sad", "happy"], label_column_name="mood")
    dicts = processor.file_to_dicts(file)
    assert dicts[0] == {"text": "Good.", LABEL_KEY: "pos", "mood_label": "happy"}
    dataset, names, _ = processor.dataset_from_dicts(dicts)
    assert names[-2:] == [LABEL_IDS, "mood_label_ids"]
    assert int(dataset[1][LABEL_IDS][0]) == 0 and int(dataset[1]["mood_label_ids"][0]) == 0


def test_inference_processor_on_dicts_without_labels(tokenizer, tmp_path):
    """The inference processor has no tasks and makes only the sequence features."""
    processor = InferenceProcessor(tokenizer, max_seq_len=16)
    assert processor.tasks == {}
    dicts = [{"text": t, "id": f"q{i}"} for i, t in enumerate(TEXTS)]
    dataset, names, _, baskets = processor.dataset_from_dicts(dicts, return_baskets=True)
    assert names == ["input_ids", "padding_mask", "segment_ids"]
    assert dataset.lengths.tolist() == [min(16, len(tokenizer(t)["input_ids"])) for t in TEXTS]
    assert [b.id_external for b in baskets] == ["q0", "q1", "q2", "q3"]
    processor.save(tmp_path)
    loaded = Processor.load_from_dir(tmp_path)
    assert type(loaded) is InferenceProcessor and loaded.max_seq_len == 16


# ---- Tokenizer.load ------------------------------------------------------------------------


def test_tokenizer_load_gives_the_folders_fast_tokenizer(tiny_bert_dir):
    """``Tokenizer.load`` returns a fast tokenizer tokenizing like the folder's own."""
    tokenizer = Tokenizer.load(tiny_bert_dir)
    reference = AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    assert tokenizer.is_fast
    assert tokenizer(TEXTS)["input_ids"] == reference(TEXTS)["input_ids"]
    assert Tokenizer.load(str(tiny_bert_dir), use_fast=False).is_fast


def test_do_lower_case_false_keeps_case(tiny_bert_dir):
    """``do_lower_case=False`` on a lower-casing folder keeps "Paris" cased."""
    default = Tokenizer.load(tiny_bert_dir)
    cased = Tokenizer.load(tiny_bert_dir, do_lower_case=False)
    assert default.backend_tokenizer.normalizer.normalize_str("Paris") == "paris"
    assert cased.backend_tokenizer.normalizer.normalize_str("Paris") == "Paris"
    assert "paris" in default.tokenize("Paris")
    assert "paris" not in cased.tokenize("Paris")


def test_do_lower_case_true_lower_cases_a_cased_folder(tiny_model_factory):
    """``do_lower_case=True`` turns lower-casing on for a cased folder."""
    folder = tiny_model_factory("bert", lower_case=False)
    assert Tokenizer.load(folder).backend_tokenizer.normalizer.normalize_str("Paris") == "Paris"
    lower = Tokenizer.load(folder, do_lower_case=True)
    assert lower.backend_tokenizer.normalizer.normalize_str("Paris") == "paris"


def test_do_lower_case_on_a_tokenizer_without_the_option_warns(tiny_model_factory, caplog):
    """RoBERTa cannot lower-case: asking for it is reported, not silently dropped."""
    folder = tiny_model_factory("roberta")
    with caplog.at_level(logging.WARNING, logger="farm"):
        tokenizer = Tokenizer.load(folder, do_lower_case=True)
    assert "do_lower_case=True is ignored" in caplog.text
    assert tokenizer.tokenize("Paris") == Tokenizer.load(folder).tokenize("Paris")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="farm"):
        Tokenizer.load(folder, do_lower_case=False)
        Tokenizer.load(tiny_model_factory("bert"), do_lower_case=False)
    assert "ignored" not in caplog.text


def test_misspelt_keyword_suggests_the_right_one(tiny_bert_dir):
    """A misspelt keyword is a TypeError with a suggestion, never silently ignored."""
    with pytest.raises(TypeError, match="'do_lowercase'.*Did you mean 'do_lower_case'"):
        Tokenizer.load(tiny_bert_dir, do_lowercase=True)
    with pytest.raises(TypeError, match="'revison'.*Did you mean 'revision'"):
        Tokenizer.load(tiny_bert_dir, revison="main")


# ---- every architecture --------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_processor_on_every_architecture(tiny_model_factory, arch):
    """Features match the tokenizer and offsets map back into the text for each model type."""
    tokenizer = Tokenizer.load(tiny_model_factory(arch))
    processor = make_processor(tokenizer, max_seq_len=128)
    dicts = labelled(HARD_TEXTS, ["pos", "neg"] * (len(HARD_TEXTS) // 2))
    dataset, names, _, baskets = processor.dataset_from_dicts(dicts, return_baskets=True)
    assert names == ["input_ids", "padding_mask", "segment_ids", LABEL_IDS]
    for i, text in enumerate(HARD_TEXTS):
        encoding = tokenizer(text)
        ids = dataset[i]["input_ids"].tolist()
        assert ids == encoding["input_ids"]
        assert tokenizer.pad_token_id not in ids
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        view = baskets[i].samples[0].tokenized
        assert view["tokens"] == tokenizer.tokenize(text)
        assert len(view["tokens"]) == len(ids) - 2
        check_offsets(text, view)


def test_save_records_a_metric_function_by_name(tokenizer, tmp_path):
    """JSON cannot hold code: a metric given as a function is saved as its name."""

    def share_positive(preds: list[str], labels: list[str]) -> float:
        return sum(p == "pos" for p in preds) / len(preds)

    processor = make_processor(tokenizer, metric=share_positive)
    processor.save(tmp_path)
    config = json.loads((tmp_path / "processor_config.json").read_text())
    assert config["metric"] == "share_positive"
    assert config["tasks"]["text_classification"]["metric"] == "share_positive"
