"""Models for the deployment tests (conversion, ONNX, server, CLI): every head type on a
tiny encoder, and saved model folders of every task, untrained (their outputs are fixed by
the seed, which is all these tests need)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from farm.data_handler.processor import (
    NERProcessor,
    PassageRankingProcessor,
    Processor,
    RegressionProcessor,
    SquadProcessor,
    TextClassificationProcessor,
    TextPairClassificationProcessor,
    TextSimilarityProcessor,
)
from farm.modeling.adaptive_model import AdaptiveModel, BiAdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.prediction_head import (
    MultiLabelTextClassificationHead,
    PassageRankingHead,
    PredictionHead,
    QuestionAnsweringHead,
    RegressionHead,
    TextClassificationHead,
    TextSimilarityHead,
    TokenClassificationHead,
)
from farm.modeling.tokenization import Tokenizer
from farm.utils import set_all_seeds
from tests.tiny_models import HIDDEN_SIZE

TEXTS = ["good movie with friends in paris", "bad food", "the film was long and boring today"]
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def perturbed_language_model(model_dir: Path) -> LanguageModel:
    """The tiny encoder with every LayerNorm moved off its initial (1, 0): trained models'
    LayerNorms are not the identity, which the DistilBERT/ELECTRA mapping must survive."""
    set_all_seeds(7)
    lm = LanguageModel.load(model_dir)
    with torch.no_grad():
        for module in lm.model.modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.normal_(1.0, 0.5)
                module.bias.normal_(0.0, 0.5)
    return lm


def four_heads(layers: int = 1, activation: str = "relu") -> list[PredictionHead]:
    hidden = [HIDDEN_SIZE] * layers
    return [
        TextClassificationHead(layer_dims=[*hidden, 3], label_list=["neg", "neu", "pos"],
                               task_name="sentiment", activation=activation),
        RegressionHead(layer_dims=[*hidden, 1], scaler_mean=3.0, scaler_scale=2.5,
                       activation=activation),
        MultiLabelTextClassificationHead(layer_dims=[*hidden, 4], pred_threshold=0.3,
                                         label_list=["a", "b", "c", "d"], task_name="topics",
                                         activation=activation),
        TokenClassificationHead(num_labels=len(TAGS), label_list=TAGS),
    ]


NO_FILES: dict[str, Any] = {"data_dir": None, "train_filename": None, "dev_filename": None,
                            "test_filename": None, "dev_split": 0.0}


def ner_processor(model_dir: Path, max_seq_len: int = 32) -> NERProcessor:
    """An inference-only NER processor with the tags of :data:`TAGS`."""
    return NERProcessor(Tokenizer.load(model_dir), max_seq_len=max_seq_len, label_list=TAGS,
                        **NO_FILES)


def task_model(task: str, model_dir: Path, seed: int = 0) -> tuple[AdaptiveModel, Processor]:
    """An untrained model and its processor for ``task``: ``text_classification``,
    ``regression``, ``multilabel``, ``text_pair``, ``ner``, ``multitask`` or ``qa`` (the
    tutorial's QA head; ``no_ans_boost=-100``, so that the best answer is always a span of
    the text, which an untrained model might otherwise not give)."""
    set_all_seeds(seed)
    tokenizer = Tokenizer.load(model_dir)
    sentiment = ["negative", "positive"]
    processor: Processor
    if task == "text_classification":
        heads: list[PredictionHead] = [TextClassificationHead(num_labels=2, label_list=sentiment)]
        processor = TextClassificationProcessor(tokenizer, 32, label_list=sentiment,
                                                metric="acc", **NO_FILES)
    elif task == "regression":
        heads = [RegressionHead(scaler_mean=3.0, scaler_scale=1.5)]
        processor = RegressionProcessor(tokenizer, 32, scaler_mean=3.0, scaler_scale=1.5,
                                        **NO_FILES)
    elif task == "multilabel":
        topics = ["food", "music", "travel"]
        heads = [MultiLabelTextClassificationHead(num_labels=3, label_list=topics)]
        processor = TextClassificationProcessor(tokenizer, 32, label_list=topics, metric="acc",
                                                multilabel=True, **NO_FILES)
    elif task == "text_pair":
        heads = [TextClassificationHead(num_labels=2, label_list=["0", "1"])]
        processor = TextPairClassificationProcessor(tokenizer, 32, label_list=["0", "1"],
                                                    metric="acc", **NO_FILES)
    elif task == "ner":
        heads = [TokenClassificationHead(num_labels=len(TAGS), label_list=TAGS)]
        processor = ner_processor(model_dir)
    elif task == "multitask":
        heads = [TextClassificationHead(num_labels=2, label_list=["OTHER", "OFFENSE"],
                                        task_name="coarse"),
                 TextClassificationHead(num_labels=3, label_list=["OTHER", "ABUSE", "INSULT"],
                                        task_name="fine")]
        processor = TextClassificationProcessor(tokenizer, 32, **NO_FILES)
        processor.add_task("coarse", "acc", ["OTHER", "OFFENSE"])
        processor.add_task("fine", "acc", ["OTHER", "ABUSE", "INSULT"])
    elif task == "passage_ranking":
        heads = [PassageRankingHead(label_list=["0", "1"])]
        processor = PassageRankingProcessor(tokenizer, 48, **NO_FILES)
    elif task == "qa":
        heads = [QuestionAnsweringHead(layer_dims=[768, 2], task_name="question_answering",
                                       no_ans_boost=-100.0, n_best=3)]
        processor = SquadProcessor(tokenizer, 64, label_list=["start_token", "end_token"],
                                   doc_stride=16, max_query_length=16, **NO_FILES)
        model = AdaptiveModel(LanguageModel.load(model_dir), heads, embeds_dropout_prob=0.1,
                              lm_output_types=["per_token"])
        return model.eval(), processor
    else:
        raise ValueError(task)
    model = AdaptiveModel(LanguageModel.load(model_dir), heads, embeds_dropout_prob=0.1)
    return model.eval(), processor


def dpr_model(model_dir: Path, seed: int = 0) -> tuple[BiAdaptiveModel, Processor]:
    """An untrained dense retriever (two encoders) and its TextSimilarityProcessor."""
    set_all_seeds(seed)
    tokenizer = Tokenizer.load(model_dir)
    model = BiAdaptiveModel(LanguageModel.load(model_dir), LanguageModel.load(model_dir),
                            [TextSimilarityHead()], embeds_dropout_prob=0.1)
    processor = TextSimilarityProcessor(tokenizer, tokenizer, max_seq_len_query=24,
                                        max_seq_len_passage=48, **NO_FILES)
    return model.eval(), processor


def save_task_model(task: str, model_dir: Path, save_dir: Path) -> Path:
    """:func:`task_model` (or :func:`dpr_model` for ``text_similarity``) saved as a FARM
    model folder."""
    model: Any
    model, processor = dpr_model(model_dir) if task == "text_similarity" else (
        task_model(task, model_dir))
    model.save(save_dir)
    processor.save(save_dir)
    return save_dir
