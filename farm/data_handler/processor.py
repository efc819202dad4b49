"""FARM's import path for processors; each lives in its own file under ``processors/``."""

from farm.compat import removed_class
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

NaturalQuestionsProcessor = removed_class(
    "NaturalQuestionsProcessor",
    "Natural Questions preprocessing (and its yes/no answer-type head) is not supported",
    "convert the data to SQuAD JSON (context, qas with answer texts and character starts) and "
    "use SquadProcessor")

__all__ = [
    "BertStyleLMProcessor",
    "DelimitedProcessor",
    "InferenceProcessor",
    "NERProcessor",
    "NaturalQuestionsProcessor",
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
