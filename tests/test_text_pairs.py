"""Text pairs: pair encoding per architecture, truncation, errors, and tiny runs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import (
    Processor,
    TextPairClassificationProcessor,
    TextPairRegressionProcessor,
)
from farm.errors import DataFileError
from farm.infer import Inferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.prediction_head import RegressionHead, TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.task_helpers import pair_rows, train_model, write_rows
from tests.tiny_models import ARCHITECTURES, TinyModelFactory

PAIR = ("the weather in paris was sunny", "a warm day")


def make_processor(model_dir: Path, data_dir: Path | None = None, **kwargs
                   ) -> TextPairClassificationProcessor:
    options = {"label_list": ["0", "1"], "metric": "acc", "max_seq_len": 32, **kwargs}
    return TextPairClassificationProcessor(tokenizer=Tokenizer.load(model_dir),
                                           data_dir=data_dir, **options)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_pairs_are_encoded_as_the_tokenizer_encodes_them(
    arch: str, tiny_model_factory: TinyModelFactory
) -> None:
    """input_ids are the tokenizer's pair encoding; segment ids mark the second text where
    the architecture has token types (BERT) and are all 0 where it has not (RoBERTa)."""
    model_dir = tiny_model_factory(arch)
    tokenizer = Tokenizer.load(model_dir)
    dataset, _, _, (basket,) = make_processor(model_dir).dataset_from_dicts(
        [{"text": PAIR[0], "text_b": PAIR[1]}], return_baskets=True
    )
    reference = tokenizer(*PAIR)
    assert dataset[0]["input_ids"].tolist() == reference["input_ids"]
    segment_ids = dataset[0]["segment_ids"].tolist()
    sequence_ids = tokenizer(*PAIR).encodings[0].sequence_ids
    if arch in ("roberta", "xlm-roberta"):
        assert set(segment_ids) == {0}
    else:
        n_a = sum(1 for s in sequence_ids if s == 0)
        first_b = sequence_ids.index(1)
        assert segment_ids[:first_b] == [0] * first_b and n_a < first_b
        assert segment_ids[first_b:] == [1] * (len(segment_ids) - first_b)
    if "token_type_ids" in reference:
        assert segment_ids == reference["token_type_ids"]
    view = basket.samples[0].tokenized
    assert view["sequence_ids"] == [s for s in sequence_ids if s is not None]


def test_bert_pair_layout(tiny_bert_dir: Path) -> None:
    """BERT: [CLS] a [SEP] b [SEP], segment 0 up to the first [SEP], 1 after."""
    tokenizer = Tokenizer.load(tiny_bert_dir)
    dataset, _, _ = make_processor(tiny_bert_dir).dataset_from_dicts(
        [{"text": "good film", "text_b": "bad soup"}]
    )
    tokens = tokenizer.convert_ids_to_tokens(dataset[0]["input_ids"].tolist())
    n_a = len(tokenizer.tokenize("good film"))
    n_b = len(tokenizer.tokenize("bad soup"))
    assert tokens[0] == "[CLS]" and tokens[n_a + 1] == "[SEP]" and tokens[-1] == "[SEP]"
    assert dataset[0]["segment_ids"].tolist() == [0] * (n_a + 2) + [1] * (n_b + 1)


def test_the_longer_text_is_truncated_first_and_counted(tiny_bert_dir: Path, caplog) -> None:
    tokenizer = Tokenizer.load(tiny_bert_dir)
    long_text = "the weather in paris was sunny and warm this morning with friends"
    short = "good day"
    processor = make_processor(tiny_bert_dir, max_seq_len=12)
    with caplog.at_level(logging.WARNING, logger="farm"):
        dataset, _, _ = processor.dataset_from_dicts(
            [{"text": long_text, "text_b": short}, {"text": "hi", "text_b": "yo"}]
        )
    assert "1 of 2 samples were longer than max_seq_len=12" in caplog.text
    ids = dataset[0]["input_ids"].tolist()
    assert len(ids) == 12
    short_ids = tokenizer(short, add_special_tokens=False)["input_ids"]
    long_ids = tokenizer(long_text, add_special_tokens=False)["input_ids"]
    keep = 12 - 3 - len(short_ids)
    assert ids == [tokenizer.cls_token_id, *long_ids[:keep], tokenizer.sep_token_id,
                   *short_ids, tokenizer.sep_token_id]


def test_missing_text_b_column_names_file_columns_and_argument(tiny_bert_dir: Path,
                                                               tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "second", "label"], [("a", "b", "1")])
    with pytest.raises(DataFileError) as error:
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts(file)
    message = str(error.value)
    assert f"{file}:1:" in message
    assert "'text_b' (text_b_column_name)" in message and "'second'" in message


def test_dict_without_text_b_is_a_clear_error(tiny_bert_dir: Path) -> None:
    with pytest.raises(DataFileError, match=r"input dict 1 needs a 'text_b' string"):
        make_processor(tiny_bert_dir).dataset_from_dicts(
            [{"text": "a", "text_b": "b"}, {"text": "c"}]
        )


def test_empty_second_text_names_file_and_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    file = write_rows(tmp_path / "train.tsv", ["text", "text_b", "label"],
                      [("a", "b", "1"), ("c", " ", "0")])
    with pytest.raises(DataFileError, match=rf"{file}:3: the text_b is empty"):
        make_processor(tiny_bert_dir, tmp_path).file_to_dicts(file)


def test_pair_processors_save_and_load_every_argument(tiny_bert_dir: Path, tmp_path: Path
                                                      ) -> None:
    processor = make_processor(tiny_bert_dir, text_column_name="s1", text_b_column_name="s2",
                               label_column_name="gold", quote_char=None, delimiter=",")
    processor.save(tmp_path / "a")
    loaded = Processor.load_from_dir(tmp_path / "a")
    assert isinstance(loaded, TextPairClassificationProcessor)
    assert loaded.generate_config() == processor.generate_config()
    assert (loaded.text_b_column_name, loaded.delimiter, loaded.quote_char) == ("s2", ",", None)

    regression = TextPairRegressionProcessor(tokenizer=Tokenizer.load(tiny_bert_dir),
                                             max_seq_len=16, data_dir=None,
                                             text_b_column_name="s2", scaler_mean=1.0,
                                             scaler_scale=2.0)
    regression.save(tmp_path / "b")
    loaded_regression = Processor.load_from_dir(tmp_path / "b")
    assert isinstance(loaded_regression, TextPairRegressionProcessor)
    assert loaded_regression.generate_config() == regression.generate_config()
    with pytest.raises(TypeError, match="text_b_colum_name"):
        make_processor(tiny_bert_dir, text_b_colum_name="x")


def test_tiny_pair_classification_trains_and_predicts_from_pairs(
    tiny_bert_dir: Path, tmp_path: Path
) -> None:
    set_all_seeds(42)
    write_rows(tmp_path / "train.tsv", ["text", "text_b", "label"], pair_rows(64, seed=1))
    write_rows(tmp_path / "test.tsv", ["text", "text_b", "label"], pair_rows(16, seed=2))
    processor = make_processor(tiny_bert_dir, tmp_path, dev_split=0.0)
    data_silo = DataSilo(processor, batch_size=8)
    trainer = train_model(tiny_bert_dir, [TextClassificationHead(num_labels=2)], data_silo,
                          epochs=2)
    assert trainer.test_result is not None and "acc" in trainer.test_result[0]
    save_dir = tmp_path / "saved"
    Inferencer(trainer.model, processor).save(save_dir)  # type: ignore[arg-type]

    pairs = [("good film", "soup good"), ("bad trip here today", "book good")]
    inferencer = Inferencer.load(save_dir, return_class_probs=True, disable_tqdm=True)
    (batch,) = inferencer.inference_from_dicts([{"text": a, "text_b": b} for a, b in pairs])
    assert [(p["context"], p["context_b"]) for p in batch["predictions"]] == pairs
    tokenizer = Tokenizer.load(save_dir)
    encoded = tokenizer([a for a, _ in pairs], [b for _, b in pairs], padding=True,
                        return_tensors="pt")
    model = AdaptiveModel.load(save_dir).eval()
    with torch.no_grad():
        logits = model(input_ids=encoded["input_ids"], segment_ids=encoded["token_type_ids"],
                       padding_mask=encoded["attention_mask"])[0]
    expected = torch.softmax(logits, dim=-1)
    got = torch.tensor([p["probabilities"] for p in batch["predictions"]])
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)

    test_file = write_rows(tmp_path / "predict.tsv", ["text", "text_b"], pairs)
    from_file = inferencer.inference_from_file(test_file)
    assert from_file[0]["predictions"] == batch["predictions"]


def test_tiny_pair_regression_predicts_in_the_original_scale(tiny_bert_dir: Path,
                                                             tmp_path: Path) -> None:
    set_all_seeds(42)
    rows = [(a, b, "4.5" if label == "1" else "0.5") for a, b, label in pair_rows(48, seed=3)]
    write_rows(tmp_path / "train.tsv", ["text", "text_b", "score"], rows)
    processor = TextPairRegressionProcessor(
        tokenizer=Tokenizer.load(tiny_bert_dir), max_seq_len=32, data_dir=tmp_path,
        label_column_name="score", test_filename=None, dev_split=0.0,
    )
    data_silo = DataSilo(processor, batch_size=8)
    trainer = train_model(tiny_bert_dir, [RegressionHead()], data_silo, epochs=1)
    assert processor.scaler_mean == pytest.approx(2.5)
    save_dir = tmp_path / "saved"
    Inferencer(trainer.model, processor).save(save_dir)  # type: ignore[arg-type]
    (batch,) = Inferencer.load(save_dir, disable_tqdm=True).inference_from_dicts(
        [{"text": "good film", "text_b": "soup good"}]
    )
    (prediction,) = batch["predictions"]
    assert batch["task"] == "regression"
    assert set(prediction) == {"context", "context_b", "pred"}
    encoded = Tokenizer.load(save_dir)("good film", "soup good", return_tensors="pt")
    with torch.no_grad():
        scaled = AdaptiveModel.load(save_dir).eval()(
            input_ids=encoded["input_ids"], segment_ids=encoded["token_type_ids"],
            padding_mask=encoded["attention_mask"],
        )[0]
    expected = float(scaled) * processor.scaler_scale + processor.scaler_mean
    assert prediction["pred"] == pytest.approx(expected, abs=1e-4)
