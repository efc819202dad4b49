"""FARM's import path for training: ``from farm.train import Trainer, EarlyStopping``."""

from farm.training.early_stopping import EarlyStopping
from farm.training.trainer import Trainer

__all__ = ["EarlyStopping", "Trainer"]
