"""One processor per file: each turns one data format into named features."""

from farm.data_handler.processors.base import Processor
from farm.data_handler.processors.inference import InferenceProcessor
from farm.data_handler.processors.text_classification import TextClassificationProcessor

__all__ = ["InferenceProcessor", "Processor", "TextClassificationProcessor"]
