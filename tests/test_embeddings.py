"""Embeddings: every extraction strategy against a hand computation on the HF model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from farm.errors import FarmError
from farm.infer import Inferencer
from farm.modeling.embeddings import EXTRACTION_STRATEGIES, pool_tokens
from farm.modeling.prediction_head import TextClassificationHead
from farm.modeling.tokenization import Tokenizer
from tests.farm_helpers import make_model
from tests.tiny_models import TinyModelFactory

# Different lengths, so that batches are padded.
TEXTS = [
    "good",
    "the weather in paris was sunny and warm this morning with friends",
    "bad food at night",
    "a long film",
    "music",
]


def embed(model_dir: Path, strategy: str, layer: int | None = None, batch_size: int = 4,
          texts: list[str] = TEXTS) -> list[torch.Tensor]:
    """The vectors the Inferencer returns for ``texts``, in order."""
    inferencer = Inferencer.load(model_dir, task_type="embeddings", batch_size=batch_size,
                                 extraction_strategy=strategy, extraction_layer=layer,
                                 disable_tqdm=True)
    result = inferencer.inference_from_dicts([{"text": t} for t in texts])
    assert all(batch["task"] == "embeddings" for batch in result)
    predictions = [p for batch in result for p in batch["predictions"]]
    assert [p["context"] for p in predictions] == texts
    assert all(set(p) == {"context", "vec"} for p in predictions)
    return [torch.tensor(p["vec"]) for p in predictions]


def by_hand(model_dir: Path, text: str, strategy: str, layer: int = -1) -> torch.Tensor:
    """The vector computed from the Hugging Face model on the text alone (no padding)."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        output = model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True)
    tokens = output.hidden_states[layer][0]  # (seq_len, hidden)
    if strategy == "pooled":
        pooled = getattr(output, "pooler_output", None)
        return pooled[0] if pooled is not None else output.last_hidden_state[0, 0]
    return {
        "cls_token": lambda: tokens[0],
        "reduce_mean": lambda: tokens.sum(dim=0) / tokens.shape[0],
        "reduce_max": lambda: torch.stack(list(tokens)).max(dim=0).values,
        "per_token": lambda: tokens,
    }[strategy]()


@pytest.mark.parametrize("strategy", EXTRACTION_STRATEGIES)
@pytest.mark.parametrize("arch", ["bert", "distilbert"])
def test_strategies_match_a_hand_computation(arch: str, strategy: str,
                                             tiny_model_factory: TinyModelFactory) -> None:
    """On a plain Hugging Face folder (no head), in padded batches, each strategy gives the
    vector computed by hand from the model's output for the text alone."""
    model_dir = tiny_model_factory(arch)
    vectors = embed(model_dir, strategy)
    for text, vec in zip(TEXTS, vectors, strict=True):
        torch.testing.assert_close(vec, by_hand(model_dir, text, strategy), atol=1e-5, rtol=1e-4)


def test_extraction_layer_takes_that_layers_vectors(tiny_bert_dir: Path) -> None:
    for layer in (-2, 0):
        vectors = embed(tiny_bert_dir, "reduce_mean", layer=layer)
        for text, vec in zip(TEXTS, vectors, strict=True):
            torch.testing.assert_close(vec, by_hand(tiny_bert_dir, text, "reduce_mean", layer),
                                       atol=1e-5, rtol=1e-4)
    assert not torch.allclose(embed(tiny_bert_dir, "reduce_mean", layer=-2)[0],
                              embed(tiny_bert_dir, "reduce_mean")[0])


@pytest.mark.parametrize("strategy", ["reduce_mean", "reduce_max", "cls_token", "per_token"])
def test_padding_never_changes_a_vector(strategy: str, tiny_model_factory: TinyModelFactory
                                        ) -> None:
    """The same text alone and in a padded batch with longer texts gives the same vector."""
    model_dir = tiny_model_factory("roberta")
    alone = embed(model_dir, strategy, texts=["good"])[0]
    in_batch = embed(model_dir, strategy, batch_size=8, texts=TEXTS)[0]
    assert alone.shape == in_batch.shape
    torch.testing.assert_close(in_batch, alone, atol=1e-5, rtol=1e-4)


def test_pooling_ignores_padding_values() -> None:
    """Huge values at padded positions leave mean and max untouched."""
    tokens = torch.tensor([[[1.0, -2.0], [3.0, 0.0], [1e6, 1e6]]])  # (1, 3, 2)
    mask = torch.tensor([[1, 1, 0]])
    mean = pool_tokens(tokens, mask, "reduce_mean")
    torch.testing.assert_close(mean, torch.tensor([[2.0, -1.0]]))
    torch.testing.assert_close(pool_tokens(tokens, mask, "reduce_max"), torch.tensor([[3.0, 0.0]]))


def test_unknown_strategy_lists_the_valid_ones(tiny_bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="reduce_mean") as error:
        Inferencer.load(tiny_bert_dir, task_type="embeddings", extraction_strategy="mean")
    for strategy in EXTRACTION_STRATEGIES:
        assert repr(strategy) in str(error.value)


def test_bad_layer_and_pooled_on_another_layer_are_refused(tiny_bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="extraction_layer=7"):
        Inferencer.load(tiny_bert_dir, task_type="embeddings", extraction_layer=7)
    with pytest.raises(ValueError, match="pooled"):
        Inferencer.load(tiny_bert_dir, task_type="embeddings", extraction_strategy="pooled",
                        extraction_layer=-2)
    with pytest.raises(FarmError, match="task_type='embeddings'"):
        Inferencer.load(tiny_bert_dir, task_type="text_classification",
                        extraction_strategy="cls_token")


def test_a_saved_farm_model_gives_its_language_models_vectors(tiny_bert_dir: Path,
                                                               tmp_path: Path) -> None:
    """The language model of a fine-tuned FARM model is used; its heads are not."""
    model = make_model(tiny_bert_dir)
    with torch.no_grad():
        for param in model.language_model.parameters():
            param.add_(0.01)
    model.save(tmp_path / "farm_model")
    Tokenizer.load(tiny_bert_dir).save_pretrained(str(tmp_path / "farm_model"))
    model.language_model.model.save_pretrained(str(tmp_path / "hf"))
    Tokenizer.load(tiny_bert_dir).save_pretrained(str(tmp_path / "hf"))

    from_farm = embed(tmp_path / "farm_model", "reduce_mean")
    for text, vec in zip(TEXTS, from_farm, strict=True):
        torch.testing.assert_close(vec, by_hand(tmp_path / "hf", text, "reduce_mean"),
                                   atol=1e-5, rtol=1e-4)
    assert not torch.allclose(from_farm[0], embed(tiny_bert_dir, "reduce_mean")[0])
    assert isinstance(model.heads[0], TextClassificationHead)


def test_saved_embeddings_inferencer_loads_again(tiny_bert_dir: Path, tmp_path: Path) -> None:
    inferencer = Inferencer.load(tiny_bert_dir, task_type="embeddings",
                                 extraction_strategy="reduce_max", disable_tqdm=True)
    inferencer.save(tmp_path / "saved")
    again = embed(tmp_path / "saved", "reduce_max")
    for a, b in zip(again, embed(tiny_bert_dir, "reduce_max"), strict=True):
        torch.testing.assert_close(a, b)
