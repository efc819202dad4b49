"""Tiny corpora and masked-LM model folders for the language-modelling tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForMaskedLM, PreTrainedModel

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


def write_lm_data(data_dir: Path, n_train: int = 120, n_test: int = 30) -> Path:
    """``train.txt`` and ``test.txt`` from disjoint stretches of the corpus."""
    write_corpus(data_dir / "train.txt", documents(n_train))
    write_corpus(data_dir / "test.txt", documents(n_test, offset=n_train))
    return data_dir


def make_lm_processor(model_dir: Path, data_dir: Path | None, **kwargs: Any
                      ) -> BertStyleLMProcessor:
    """An LM processor on a tiny model's tokenizer (no dev file, no next-sentence task
    unless asked)."""
    options: dict[str, Any] = {
        "max_seq_len": 48, "dev_filename": None, "next_sent_pred": False,
    }
    options.update(kwargs)
    return BertStyleLMProcessor(tokenizer=Tokenizer.load(model_dir), data_dir=data_dir,
                                **options)


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
