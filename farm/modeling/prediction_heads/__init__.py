"""Prediction heads, one per file."""

from farm.modeling.prediction_heads.base import FeedForwardBlock, PredictionHead
from farm.modeling.prediction_heads.text_classification import TextClassificationHead

__all__ = ["FeedForwardBlock", "PredictionHead", "TextClassificationHead"]
