"""communique: stance detection for diplomatic and political statements in news.

Public API (everything the CLI does, callable from Python and notebooks)::

    from communique import train, evaluate, predict, score, load_model, LABELS

Importing the package does not import torch; a model family loads it when used.
"""

from .compare import compare
from .config import Config, load_config
from .cv import cv
from .data import load_labelled, read_records
from .errors import CommuniqueError, ConfigError, DataError, RunDirError
from .evaluate import evaluate
from .labels import LABELS
from .models import StanceModel, load_model
from .predict import predict
from .score import score
from .score_rows import ScoreOptions
from .scores_file import read_scores
from .segment import segment
from .train import train

__version__ = "0.1.0"

__all__ = ["LABELS", "CommuniqueError", "Config", "ConfigError", "DataError", "RunDirError", "ScoreOptions",
           "StanceModel", "compare", "cv", "evaluate", "load_config", "load_labelled", "load_model", "predict",
           "read_records", "read_scores", "score", "segment", "train"]
