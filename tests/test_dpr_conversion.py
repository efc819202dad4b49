"""DPR export checks itself, and ``farm convert`` takes dense retrievers both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import DPRContextEncoder, DPRQuestionEncoder

from farm.cli import main
from farm.errors import FarmError
from farm.modeling import dpr_conversion
from farm.modeling.biadaptive_model import BiAdaptiveModel
from farm.modeling.tokenization import Tokenizer
from tests.test_biadaptive_model import dpr_batch, make_bi_model
from tests.test_text_similarity_processor import make_processor


def test_export_that_does_not_match_is_refused(tiny_bert_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_bi_model(tiny_bert_dir)
    real = dpr_conversion.to_transformers

    def broken(language_model, role, pooling):  # type: ignore[no-untyped-def]
        exported = real(language_model, role, pooling)
        if role == "passage":
            with torch.no_grad():
                for param in exported.parameters():
                    param.add_(0.1 * torch.randn_like(param))
        return exported

    monkeypatch.setattr(dpr_conversion, "to_transformers", broken)
    with pytest.raises(FarmError, match="exported passage encoder .DPRContextEncoder. differs"):
        model.convert_to_transformers()
    assert len(model.convert_to_transformers(verify=False)) == 2


def test_cli_converts_a_dense_retriever_both_ways(tiny_bert_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    model = make_bi_model(tiny_bert_dir).eval()
    model.save(tmp_path / "farm")
    make_processor(tiny_bert_dir).save(tmp_path / "farm")
    assert main(["convert", str(tmp_path / "farm"), str(tmp_path / "hf"),
                 "--to", "transformers"]) == 0
    assert f"{tmp_path / 'hf' / 'passage_encoder'}" in capsys.readouterr().out
    hf_query = DPRQuestionEncoder.from_pretrained(tmp_path / "hf" / "query_encoder").eval()
    assert isinstance(DPRContextEncoder.from_pretrained(tmp_path / "hf" / "passage_encoder"),
                      DPRContextEncoder)
    assert Tokenizer.load(tmp_path / "hf" / "query_encoder").get_vocab() == Tokenizer.load(
        tiny_bert_dir).get_vocab()

    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "back"), "--to", "farm"]) == 0
    back = BiAdaptiveModel.load(tmp_path / "back").eval()
    batch = dpr_batch(tiny_bert_dir)
    ids, mask = batch["passage_input_ids"][:, 0], batch["passage_padding_mask"][:, 0]
    segments = batch["passage_segment_ids"][:, 0]
    with torch.no_grad():
        queries = model.embed_queries(batch["query_input_ids"], batch["query_segment_ids"],
                                      batch["query_padding_mask"])
        torch.testing.assert_close(
            back.embed_queries(batch["query_input_ids"], batch["query_segment_ids"],
                               batch["query_padding_mask"]), queries, rtol=0, atol=1e-5)
        torch.testing.assert_close(back.embed_passages(ids, segments, mask),
                                   model.embed_passages(ids, segments, mask), rtol=0, atol=1e-5)
        hf_queries = hf_query(input_ids=batch["query_input_ids"],
                              attention_mask=batch["query_padding_mask"],
                              token_type_ids=batch["query_segment_ids"]).pooler_output
    torch.testing.assert_close(hf_queries, queries, rtol=0, atol=1e-5)
