"""FARM's import path for processors; each lives in its own file under ``processors/``."""

from farm.data_handler.processors import (
    BertStyleLMProcessor,
    DelimitedProcessor,
    InferenceProcessor,
    NERProcessor,
    PassageRankingProcessor,
    Processor,
    RegressionProcessor,
    SquadProcessor,
    TextClassificationProcessor,
    TextPairClassificationProcessor,
    TextPairRegressionProcessor,
    TextSimilarityProcessor,
)
from farm.data_handler.samples import Sample, SampleBasket

__all__ = [
    "BertStyleLMProcessor",
    "DelimitedProcessor",
    "InferenceProcessor",
    "NERProcessor",
    "PassageRankingProcessor",
    "Processor",
    "RegressionProcessor",
    "Sample",
    "SampleBasket",
    "SquadProcessor",
    "TextClassificationProcessor",
    "TextPairClassificationProcessor",
    "TextPairRegressionProcessor",
    "TextSimilarityProcessor",
]
