"""One processor per file: each turns one data format into named features."""

from farm.data_handler.processors.base import Processor
from farm.data_handler.processors.bert_style_lm import BertStyleLMProcessor
from farm.data_handler.processors.delimited import DelimitedProcessor
from farm.data_handler.processors.inference import InferenceProcessor
from farm.data_handler.processors.ner import NERProcessor
from farm.data_handler.processors.passage_ranking import PassageRankingProcessor
from farm.data_handler.processors.regression import RegressionProcessor
from farm.data_handler.processors.squad import SquadProcessor
from farm.data_handler.processors.text_classification import TextClassificationProcessor
from farm.data_handler.processors.text_pair_classification import (
    TextPairClassificationProcessor,
)
from farm.data_handler.processors.text_pair_regression import TextPairRegressionProcessor
from farm.data_handler.processors.text_similarity import TextSimilarityProcessor

__all__ = [
    "BertStyleLMProcessor",
    "DelimitedProcessor",
    "InferenceProcessor",
    "NERProcessor",
    "PassageRankingProcessor",
    "Processor",
    "RegressionProcessor",
    "SquadProcessor",
    "TextClassificationProcessor",
    "TextPairClassificationProcessor",
    "TextPairRegressionProcessor",
    "TextSimilarityProcessor",
]
