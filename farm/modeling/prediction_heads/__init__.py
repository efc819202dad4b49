"""Prediction heads, one per file."""

from farm.modeling.prediction_heads.base import FeedForwardBlock, PredictionHead
from farm.modeling.prediction_heads.lm import BertLMHead
from farm.modeling.prediction_heads.multilabel_text_classification import (
    MultiLabelTextClassificationHead,
)
from farm.modeling.prediction_heads.next_sentence import NextSentenceHead
from farm.modeling.prediction_heads.passage_ranking import PassageRankingHead
from farm.modeling.prediction_heads.question_answering import QuestionAnsweringHead
from farm.modeling.prediction_heads.regression import RegressionHead
from farm.modeling.prediction_heads.text_classification import TextClassificationHead
from farm.modeling.prediction_heads.text_similarity import TextSimilarityHead
from farm.modeling.prediction_heads.token_classification import TokenClassificationHead

__all__ = [
    "BertLMHead",
    "FeedForwardBlock",
    "MultiLabelTextClassificationHead",
    "NextSentenceHead",
    "PassageRankingHead",
    "PredictionHead",
    "QuestionAnsweringHead",
    "RegressionHead",
    "TextClassificationHead",
    "TextSimilarityHead",
    "TokenClassificationHead",
]
