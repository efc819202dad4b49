"""FARM's import path for prediction heads; each lives in ``prediction_heads/``."""

from farm.modeling.prediction_heads import (
    BertLMHead,
    FeedForwardBlock,
    MultiLabelTextClassificationHead,
    NextSentenceHead,
    PassageRankingHead,
    PredictionHead,
    QuestionAnsweringHead,
    RegressionHead,
    TextClassificationHead,
    TextSimilarityHead,
    TokenClassificationHead,
)

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
