"""FARM's import path for processors; each lives in its own file under ``processors/``."""

from farm.data_handler.processors import (
    InferenceProcessor,
    Processor,
    TextClassificationProcessor,
)
from farm.data_handler.samples import Sample, SampleBasket

__all__ = [
    "InferenceProcessor",
    "Processor",
    "Sample",
    "SampleBasket",
    "TextClassificationProcessor",
]
