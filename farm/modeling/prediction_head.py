"""FARM's import path for prediction heads; each lives in ``prediction_heads/``."""

from farm.modeling.prediction_heads import (
    FeedForwardBlock,
    PredictionHead,
    TextClassificationHead,
)

__all__ = ["FeedForwardBlock", "PredictionHead", "TextClassificationHead"]
