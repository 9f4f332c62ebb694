"""communique: stance detection for diplomatic and political statements in news.

Public API (everything the CLI does, callable from Python and notebooks)::

    from communique import train, evaluate, predict, load_model, LABELS
"""

from .config import Config, load_config
from .data import load_labelled, read_records
from .errors import CommuniqueError, ConfigError, DataError, RunDirError
from .evaluate import evaluate
from .labels import LABELS
from .models import StanceModel, load_model
from .predict import predict
from .train import train

__version__ = "0.1.0"

__all__ = ["LABELS", "Config", "CommuniqueError", "ConfigError", "DataError", "RunDirError", "StanceModel",
           "evaluate", "load_config", "load_labelled", "load_model", "predict", "read_records", "train"]
