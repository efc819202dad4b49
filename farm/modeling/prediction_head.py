"""FARM's import path for prediction heads; each lives in ``prediction_heads/``."""

from farm.modeling.prediction_heads import (
    FeedForwardBlock,
    MultiLabelTextClassificationHead,
    PredictionHead,
    QuestionAnsweringHead,
    RegressionHead,
    TextClassificationHead,
    TokenClassificationHead,
)

__all__ = [
    "FeedForwardBlock",
    "MultiLabelTextClassificationHead",
    "PredictionHead",
    "QuestionAnsweringHead",
    "RegressionHead",
    "TextClassificationHead",
    "TokenClassificationHead",
]
