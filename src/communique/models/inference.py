"""Inference settings, checked and applied in one place: precision, runtime and batch size.

Used by ``load_model`` and by every caller that changes settings on a loaded model (predict, evaluate,
the local scorer, the Ray actors); an ensemble forwards them to its members, and a run's speaker/target
tagger takes all three (fp32 ONNX under either ONNX runtime; see ``actors/tagger.py``).
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import StanceModel

PRECISIONS = ("auto", "bf16", "fp32")
RUNTIMES = ("torch", "onnx", "onnx-int8")


def set_inference(model: StanceModel, precision: str | None = None, runtime: str | None = None,
                  batch_size: int | None = None) -> StanceModel:
    """The one place inference settings are checked and applied: precision and runtime (transformer
    models), sentences per forward pass (transformer and embedding models); an ensemble forwards them
    to every member. ``None`` leaves a setting as it is."""
    check_inference(precision, runtime, batch_size)
    for member in getattr(model, "members_", []):
        set_inference(member, precision, runtime, batch_size)
    tagger = getattr(getattr(model, "actors_", None), "tagger", None)
    if tagger is not None:
        tagger.precision = precision if precision is not None else tagger.precision
        tagger.batch_size = batch_size if batch_size is not None else tagger.batch_size
        tagger.runtime = runtime if runtime is not None else tagger.runtime
    settings = {"precision": precision, "runtime": runtime, "inference_batch_size": batch_size}
    params = model.get_params(deep=False)  # the family's named hyperparameters: the ones it has are set
    model.set_params(**{name: value for name, value in settings.items() if value is not None and name in params})
    return model


def check_inference(precision: str | None = None, runtime: str | None = None, batch_size: int | None = None) -> None:
    """Raise :class:`ConfigError` for an unknown precision or runtime or a batch size below 1."""
    if precision is not None and precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if runtime is not None and runtime not in RUNTIMES:
        raise ConfigError(f"runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"batch size {batch_size!r}: must be a positive integer")
