"""Experiment tracking: one small interface that any part of FARM may call.

``MLFlowLogger(tracking_uri).init_experiment(...)``, ``StdoutLogger().init_experiment(...)`` or
``TensorBoardLogger(log_dir).init_experiment(...)`` makes that logger the active tracker;
afterwards the data silo, optimizer and trainer log their parameters and metrics through
:func:`get_tracker`. With no active tracker nothing is logged.
"""

from farm.tracking.base import Tracker, get_tracker, set_tracker
from farm.tracking.mlflow import MLFlowLogger
from farm.tracking.stdout import StdoutLogger
from farm.tracking.tensorboard import TensorBoardLogger

__all__ = [
    "MLFlowLogger", "StdoutLogger", "TensorBoardLogger", "Tracker", "get_tracker", "set_tracker",
]
