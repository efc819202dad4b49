"""BiAdaptiveModel: encoding, save/load (shared and separate encoders), and conversion to
and from Hugging Face DPR folders, checked against transformers' own DPR classes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoModel,
    AutoTokenizer,
    DPRConfig,
    DPRContextEncoder,
    DPRQuestionEncoder,
)

from farm.data_handler.dataset import Collator
from farm.errors import FarmError
from farm.modeling.adaptive_model import AdaptiveModel, BiAdaptiveModel
from farm.modeling.biadaptive_model import BiAdaptiveModel as DirectImport
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import TextSimilarityHead
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.dpr_helpers import dpr_records
from tests.farm_helpers import make_model, model_state, same_weights
from tests.test_text_similarity_processor import make_processor
from tests.tiny_models import TinyModelFactory


def make_bi_model(model_dir: Path, shared: bool = False, pooling: str = "cls_token",
                  **head_kwargs: object) -> BiAdaptiveModel:
    set_all_seeds(0)
    lm1 = LanguageModel.load(model_dir)
    lm2 = lm1 if shared else LanguageModel.load(model_dir, hidden_dropout_prob=0.2)
    if not shared:  # different weights, so a mix-up of the encoders shows
        with torch.no_grad():
            for param in lm2.parameters():
                param.add_(0.01 * torch.randn_like(param))
    return BiAdaptiveModel(lm1, lm2, [TextSimilarityHead(**head_kwargs)],  # type: ignore[arg-type]
                           embeds_dropout_prob=0.1, pooling=pooling)


def dpr_batch(model_dir: Path, n: int = 4, num_hard_negatives: int = 2
              ) -> dict[str, torch.Tensor]:
    records = dpr_records(n, n_hard_negatives=num_hard_negatives)
    records[1]["hard_negative_ctxs"] = records[1]["hard_negative_ctxs"][:1]  # an absent row
    processor = make_processor(model_dir, num_hard_negatives=num_hard_negatives)
    dataset = processor.dataset_from_dicts(records)[0]
    return Collator(dataset.pad_values)([dataset[i] for i in range(len(dataset))])


def test_importable_where_farm_users_import_it() -> None:
    assert BiAdaptiveModel is DirectImport


def test_vectors_ignore_padding_and_absent_passages(tiny_bert_dir: Path) -> None:
    model = make_bi_model(tiny_bert_dir).eval()
    batch = dpr_batch(tiny_bert_dir)
    with torch.no_grad():
        queries = model.embed_queries(batch["query_input_ids"], batch["query_segment_ids"],
                                      batch["query_padding_mask"])
        passages = model.embed_passages(batch["passage_input_ids"],
                                        batch["passage_segment_ids"],
                                        batch["passage_padding_mask"])
        assert queries.shape == (4, 32) and passages.shape == (4, 3, 32)
        assert not passages[1, 2].any()  # absent: zero, never encoded
        # One passage alone, unpadded, gives the same vector as inside the padded batch.
        n = int(batch["passage_padding_mask"][2, 1].sum())
        alone = model.embed_passages(batch["passage_input_ids"][2:3, 1, :n],
                                     batch["passage_segment_ids"][2:3, 1, :n])
        torch.testing.assert_close(alone[0], passages[2, 1], rtol=0, atol=1e-5)
        logits = model(**batch)
    assert len(logits) == 1 and logits[0][0].shape == (4, 32)
    loss = model.logits_to_loss(logits, **batch)
    assert loss.shape == (4,) and torch.isfinite(loss).all()


@pytest.mark.parametrize("shared", [False, True])
def test_save_then_load_gives_identical_vectors(tiny_bert_dir: Path, tmp_path: Path,
                                                shared: bool) -> None:
    model = make_bi_model(tiny_bert_dir, shared=shared, pooling="reduce_mean",
                          similarity_function="cosine", scale=10.0)
    batch = dpr_batch(tiny_bert_dir)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    model.logits_to_loss(model(**batch), **batch).mean().backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        expected = model(**batch)[0]
    model.save(tmp_path / "model")
    files = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert files == ["farm_model.json", "lm1", *([] if shared else ["lm2"]),
                     "prediction_head_0.safetensors", "prediction_head_0_config.json"]
    loaded = BiAdaptiveModel.load(tmp_path / "model").eval()
    assert loaded.shared_encoder is shared and loaded.pooling == "reduce_mean"
    with torch.no_grad():
        got = loaded(**batch)[0]
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert same_weights(model_state(loaded), model_state(model))
    assert loaded.heads[0].generate_config() == model.heads[0].generate_config()


def test_wrong_loader_names_the_right_one(tiny_bert_dir: Path, tmp_path: Path) -> None:
    make_bi_model(tiny_bert_dir).save(tmp_path / "bi")
    with pytest.raises(FarmError, match="holds a BiAdaptiveModel; load it with BiAdaptive"):
        AdaptiveModel.load(tmp_path / "bi")
    make_model(tiny_bert_dir).save(tmp_path / "single")
    with pytest.raises(FarmError, match="not a saved BiAdaptiveModel"):
        BiAdaptiveModel.load(tmp_path / "single")


def test_constructor_checks(tiny_model_factory: TinyModelFactory) -> None:
    bert = LanguageModel.load(tiny_model_factory("bert"))
    with pytest.raises(ValueError, match="'per_sequence'"):
        BiAdaptiveModel(bert, None, [TextSimilarityHead()], lm1_output_types=["per_token"])
    with pytest.raises(ValueError, match="Unknown pooling 'mean'"):
        BiAdaptiveModel(bert, None, [TextSimilarityHead()], pooling="mean")


def test_conversion_to_hugging_face_dpr_matches_its_classes(tiny_bert_dir: Path,
                                                            tmp_path: Path) -> None:
    model = make_bi_model(tiny_bert_dir).eval()
    batch = dpr_batch(tiny_bert_dir)
    ids, mask = batch["passage_input_ids"][:, 0], batch["passage_padding_mask"][:, 0]
    segments = batch["passage_segment_ids"][:, 0]
    with torch.no_grad():
        farm_queries = model.embed_queries(batch["query_input_ids"], batch["query_segment_ids"],
                                           batch["query_padding_mask"])
        farm_passages = model.embed_passages(ids, segments, mask)
    query_encoder, passage_encoder = model.convert_to_transformers()
    assert isinstance(query_encoder, DPRQuestionEncoder)
    assert isinstance(passage_encoder, DPRContextEncoder)
    tokenizer = Tokenizer.load(tiny_bert_dir)
    folders = model.save_transformers(tmp_path / "hf", query_tokenizer=tokenizer)
    # transformers' own classes, loaded from the exported folders, give the same vectors.
    hf_query = DPRQuestionEncoder.from_pretrained(folders[0]).eval()
    hf_passage = DPRContextEncoder.from_pretrained(folders[1]).eval()
    with torch.no_grad():
        hf_queries = hf_query(input_ids=batch["query_input_ids"],
                              attention_mask=batch["query_padding_mask"],
                              token_type_ids=batch["query_segment_ids"]).pooler_output
        hf_passages = hf_passage(input_ids=ids, attention_mask=mask,
                                 token_type_ids=segments).pooler_output
    torch.testing.assert_close(hf_queries, farm_queries, rtol=0, atol=1e-5)
    torch.testing.assert_close(hf_passages, farm_passages, rtol=0, atol=1e-5)
    assert AutoTokenizer.from_pretrained(folders[1]).get_vocab() == tokenizer.get_vocab()
    # And back: the DPR folders load into a BiAdaptiveModel with the same vectors.
    back = BiAdaptiveModel.convert_from_transformers(folders[0], folders[1]).eval()
    assert back.pooling == "cls_token" and not back.shared_encoder
    with torch.no_grad():
        torch.testing.assert_close(
            back.embed_queries(batch["query_input_ids"], batch["query_segment_ids"],
                               batch["query_padding_mask"]), farm_queries, rtol=0, atol=1e-5)
        torch.testing.assert_close(back.embed_passages(ids, segments, mask), farm_passages,
                                   rtol=0, atol=1e-5)
    back.save(tmp_path / "farm")  # a converted model saves and loads as any other
    reloaded = BiAdaptiveModel.load(tmp_path / "farm").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded.embed_passages(ids, segments, mask),
                                   farm_passages, rtol=0, atol=1e-5)


def test_other_encoders_export_as_plain_auto_models(
    tiny_model_factory: TinyModelFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A mean-pooled RoBERTa has no DPR equivalent: exported as AutoModel folders, which
    give the same vectors when mean-pooled, and load back."""
    roberta_dir = tiny_model_factory("roberta")
    model = make_bi_model(roberta_dir, pooling="reduce_mean").eval()
    tokenizer = Tokenizer.load(roberta_dir)
    encoded = tokenizer(["the food in paris", "a long passage about the park"],
                        padding=True, return_tensors="pt")
    with caplog.at_level(logging.WARNING):
        folders = model.save_transformers(tmp_path / "hf", tokenizer, tokenizer)
    assert "has no Hugging Face DPR equivalent" in caplog.text
    assert json.loads((folders[0] / "config.json").read_text())["model_type"] == "roberta"
    hf = AutoModel.from_pretrained(folders[1]).eval()
    with torch.no_grad():
        hidden = hf(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        farm = model.embed_passages(encoded["input_ids"],
                                    passage_padding_mask=encoded["attention_mask"])
        torch.testing.assert_close(pooled, farm, rtol=0, atol=1e-5)
        back = BiAdaptiveModel.convert_from_transformers(folders[0], folders[1],
                                                         pooling="reduce_mean").eval()
        torch.testing.assert_close(
            back.embed_passages(encoded["input_ids"],
                                passage_padding_mask=encoded["attention_mask"]), farm,
            rtol=0, atol=1e-5)


def test_dpr_folder_with_projection_is_refused(tmp_path: Path) -> None:
    config = DPRConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                       num_attention_heads=2, intermediate_size=32, projection_dim=8)
    DPRQuestionEncoder(config).save_pretrained(tmp_path / "projected")
    with pytest.raises(FarmError, match="projection_dim=8"):
        BiAdaptiveModel.convert_from_transformers(tmp_path / "projected", None)
