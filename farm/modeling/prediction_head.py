"""FARM's import path for prediction heads; each lives in ``prediction_heads/``."""

from farm.modeling.prediction_heads import (
    FeedForwardBlock,
    MultiLabelTextClassificationHead,
    PassageRankingHead,
    PredictionHead,
    RegressionHead,
    TextClassificationHead,
    TextSimilarityHead,
    TokenClassificationHead,
)

__all__ = [
    "FeedForwardBlock",
    "MultiLabelTextClassificationHead",
    "PassageRankingHead",
    "PredictionHead",
    "RegressionHead",
    "TextClassificationHead",
    "TextSimilarityHead",
    "TokenClassificationHead",
]
