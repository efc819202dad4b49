"""The one preprocessing path: encodings equal the tokenizer's own output."""

from __future__ import annotations

import pytest

from farm.data_handler.encoding import (
    LazyTokenizedView,
    encode_texts,
    encode_untruncated,
    tokenized_view,
)
from farm.modeling.tokenization import Tokenizer
from tests.tiny_models import ARCHITECTURES, TinyModelFactory

TEXTS = ["good movie with friends in paris", "bad", "Zoë  lives\tin São Paulo [SEP] <s> 東京",
         "the film was long and boring today and the day before and the day after " * 3, ""]
PAIRS = ["a question here", "why", "x " * 40, "Ça va?", "ok"]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_encodings_equal_the_tokenizers_call(arch: str, tiny_model_factory: TinyModelFactory
                                             ) -> None:
    """Ids, type ids, offsets and truncation as ``tokenizer(...)`` gives them, for single
    texts and pairs (longest-first), truncated and not; the tokenizer's own settings are
    left as its next call expects them."""
    tokenizer = Tokenizer.load(tiny_model_factory(arch))
    for texts_b in (None, PAIRS):
        encodings, n_truncated = encode_texts(tokenizer, TEXTS, 16, texts_b)
        expected = tokenizer(TEXTS, text_pair=texts_b, truncation="longest_first",
                             max_length=16).encodings
        assert [e.ids for e in encodings] == [e.ids for e in expected]
        assert [e.type_ids for e in encodings] == [e.type_ids for e in expected]
        assert [e.offsets for e in encodings] == [e.offsets for e in expected]
        assert n_truncated == sum(1 for e in expected if e.overflowing) > 0
    untruncated = encode_untruncated(tokenizer, TEXTS)
    assert [e.ids for e in untruncated] == tokenizer(TEXTS)["input_ids"]
    assert tokenizer(TEXTS[3], padding="max_length", max_length=200)["input_ids"][-1] == (
        tokenizer.pad_token_id)  # a user's later call still pads as asked


def test_lazy_view_reads_like_the_view(tiny_model_factory: TinyModelFactory) -> None:
    tokenizer = Tokenizer.load(tiny_model_factory("bert"))
    (encoding,), _ = encode_texts(tokenizer, TEXTS[:1], 32)
    lazy = LazyTokenizedView(encoding, TEXTS[:1])
    view = tokenized_view(encoding, TEXTS[:1])
    assert dict(lazy) == view and lazy["tokens"] == view["tokens"] and len(lazy) == len(view)
    assert repr(lazy) == repr(view)
