"""Tiny corpora and masked-LM model folders for the language-modelling tests."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForMaskedLM, PreTrainedModel, PreTrainedTokenizerBase

from farm.data_handler.processor import BertStyleLMProcessor
from farm.modeling.tokenization import Tokenizer
from tests.tiny_models import CORPUS, SEED, build_config, build_tokenizer

DOC_SIZES = (4, 5, 6, 3)


def documents(n_sentences: int = len(CORPUS), offset: int = 0) -> list[list[str]]:
    """Consecutive sentences of the tiny corpus grouped into documents of 3 to 6 sentences."""
    sentences = [CORPUS[(offset + i) % len(CORPUS)] for i in range(n_sentences)]
    docs, start, k = [], 0, 0
    while start < len(sentences):
        size = DOC_SIZES[k % len(DOC_SIZES)]
        docs.append(sentences[start : start + size])
        start += size
        k += 1
    return docs


def write_corpus(path: Path, docs: list[list[str]], one_doc_per_line: bool = False) -> Path:
    """Write documents as one sentence per line with empty lines between documents (or
    one document per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if one_doc_per_line:
        path.write_text("".join(" ".join(doc) + "\n" for doc in docs))
    else:
        path.write_text("\n\n".join("\n".join(doc) for doc in docs) + "\n")
    return path


SUBJECTS = ["the cat", "my sister", "the teacher", "our team", "the company", "the children",
            "my brother", "the doctor", "the director", "she", "he", "they"]
VERBS = ["visited", "loved", "bought", "played", "opened", "called", "fixed", "ordered"]
OBJECTS = ["a small house", "the new phone", "the old bridge", "a green salad", "the museum",
           "a ticket", "the printer", "the garden", "a good book", "the football"]
PLACES = ["in paris", "in london", "at night", "after school", "on sunday", "in berlin",
          "last year", "this morning", "in the park", "near the lake"]


def pattern_documents(n_docs: int, seed: int, per_doc: int = 5) -> list[list[str]]:
    """Documents of sentences made by one pattern (who did what, where) from words the tiny
    tokenizers know: a language a tiny model learns quickly, so held-out perplexity falls."""
    rng = random.Random(seed)
    return [[f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
             f"{rng.choice(PLACES)}." for _ in range(per_doc)] for _ in range(n_docs)]


def write_lm_data(data_dir: Path, n_train: int = 60, n_test: int = 12) -> Path:
    """``train.txt`` and ``test.txt``: ``n_train`` and ``n_test`` pattern documents."""
    write_corpus(data_dir / "train.txt", pattern_documents(n_train, seed=1))
    write_corpus(data_dir / "test.txt", pattern_documents(n_test, seed=2))
    return data_dir


def make_lm_processor(tokenizer: Path | PreTrainedTokenizerBase, data_dir: Path | None,
                      **kwargs: Any) -> BertStyleLMProcessor:
    """An LM processor on a tokenizer or a tiny model's tokenizer (no dev file, no
    next-sentence task unless asked)."""
    options: dict[str, Any] = {
        "max_seq_len": 48, "dev_filename": None, "next_sent_pred": False,
    }
    options.update(kwargs)
    if isinstance(tokenizer, Path):
        tokenizer = Tokenizer.load(tokenizer)
    return BertStyleLMProcessor(tokenizer=tokenizer, data_dir=data_dir, **options)


def build_masked_lm(arch: str, vocab_size: int, **config: Any) -> PreTrainedModel:
    """A tiny transformers masked-LM model with random, non-zero head weights."""
    model_config = build_config(arch, vocab_size)
    for key, value in config.items():
        setattr(model_config, key, value)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = AutoModelForMaskedLM.from_config(model_config)
        with torch.no_grad():  # output biases start at 0; make them matter in comparisons
            for name, param in model.named_parameters():
                if name.endswith("bias") and param.ndim == 1:
                    param.normal_(0, 0.5)
    return model.eval()


def make_mlm_dir(arch: str, path: Path, **config: Any) -> Path:
    """A tiny model folder whose checkpoint has a masked-LM head (as pretrained BERTs do)."""
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(arch)
    build_masked_lm(arch, len(tokenizer), **config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
