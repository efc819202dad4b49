"""FARM's import path for processors; each lives in its own file under ``processors/``."""

from farm.data_handler.processors import (
    DelimitedProcessor,
    InferenceProcessor,
    NERProcessor,
    Processor,
    RegressionProcessor,
    SquadProcessor,
    TextClassificationProcessor,
    TextPairClassificationProcessor,
    TextPairRegressionProcessor,
)
from farm.data_handler.samples import Sample, SampleBasket

__all__ = [
    "DelimitedProcessor",
    "InferenceProcessor",
    "NERProcessor",
    "Processor",
    "RegressionProcessor",
    "Sample",
    "SampleBasket",
    "SquadProcessor",
    "TextClassificationProcessor",
    "TextPairClassificationProcessor",
    "TextPairRegressionProcessor",
]
