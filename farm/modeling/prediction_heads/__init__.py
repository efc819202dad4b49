"""Prediction heads, one per file."""

from farm.modeling.prediction_heads.base import FeedForwardBlock, PredictionHead
from farm.modeling.prediction_heads.multilabel_text_classification import (
    MultiLabelTextClassificationHead,
)
from farm.modeling.prediction_heads.question_answering import QuestionAnsweringHead
from farm.modeling.prediction_heads.regression import RegressionHead
from farm.modeling.prediction_heads.text_classification import TextClassificationHead
from farm.modeling.prediction_heads.token_classification import TokenClassificationHead

__all__ = [
    "FeedForwardBlock",
    "MultiLabelTextClassificationHead",
    "PredictionHead",
    "QuestionAnsweringHead",
    "RegressionHead",
    "TextClassificationHead",
    "TokenClassificationHead",
]
