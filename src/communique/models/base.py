"""The interface every model family offers, and the registry that builds or loads them.

A model directory holds ``model.json`` (family, labels, temperature, settings)
beside the family's own weight files; nothing is unpickled.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..calibration import apply_temperature, fit_temperature
from ..errors import ConfigError, RunDirError
from ..labels import LABELS

META = "model.json"


class StanceModel(ABC):
    """Sentence stance classifier. ``predict_proba`` columns follow ``classes_`` (= LABELS)."""

    family: ClassVar[str]
    classes_: tuple[str, ...] = LABELS
    temperature_: float = 1.0
    actors_: Any = None  # communique.actors.Actors of a run trained with model.actors, else None

    @abstractmethod
    def fit(self, train, dev=None, work_dir: Path | None = None, resume: bool = False) -> "StanceModel":
        """Train on a labelled `datasets.Dataset`; ``dev`` drives early stopping where used."""

    @abstractmethod
    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated scores, shape (n, len(LABELS))."""

    @abstractmethod
    def _save_weights(self, path: Path) -> dict[str, Any]:
        """Write weights into ``path``; return settings needed to load them."""

    @classmethod
    @abstractmethod
    def _load_weights(cls, path: Path, settings: dict[str, Any]) -> "StanceModel":
        """Rebuild a fitted model from ``path``."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n, 5), columns in label order."""
        return apply_temperature(self.logits(list(texts)), self.temperature_)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [LABELS[i] for i in self.predict_proba(texts).argmax(1)]

    def calibrate(self, texts: Sequence[str], label_ids: np.ndarray) -> float:
        """Fit temperature scaling on held-out data (dev) and keep it."""
        self.temperature_ = fit_temperature(self.logits(list(texts)), label_ids)
        return self.temperature_

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        settings = self._save_weights(path)
        meta = {"family": self.family, "labels": list(LABELS), "temperature": self.temperature_,
                "settings": settings}
        (path / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return path


def _families() -> dict[str, type[StanceModel]]:
    from .embedding import EmbeddingModel
    from .ensemble import EnsembleModel
    from .tfidf import TfidfModel
    from .transformer import TransformerModel

    return {cls.family: cls for cls in (TransformerModel, TfidfModel, EmbeddingModel, EnsembleModel)}


def build_model(model_cfg, training_cfg) -> StanceModel:
    """An unfitted model of the configured family."""
    return _families()[model_cfg.family](model_cfg, training_cfg)


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
    tagger = getattr(getattr(model, "actors_", None), "tagger", None)  # the speaker/target tagger runs in torch
    if tagger is not None:
        tagger.precision = precision if precision is not None else tagger.precision
        tagger.batch_size = batch_size if batch_size is not None else tagger.batch_size
    if precision is not None and hasattr(model, "precision"):
        model.precision = precision
    if runtime is not None and hasattr(model, "runtime"):
        model.runtime = runtime
    if batch_size is not None:
        if hasattr(model, "inference_batch_size"):
            model.inference_batch_size = batch_size
        elif hasattr(model, "batch_size"):
            model.batch_size = batch_size  # the embedding family's encoder batch
    return model


def check_inference(precision: str | None = None, runtime: str | None = None, batch_size: int | None = None) -> None:
    """Raise :class:`ConfigError` for an unknown precision or runtime or a batch size below 1."""
    if precision is not None and precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if runtime is not None and runtime not in RUNTIMES:
        raise ConfigError(f"runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ConfigError(f"batch size {batch_size!r}: must be a positive integer")


def load_model(path: str | Path, precision: str | None = None, runtime: str | None = None,
               batch_size: int | None = None) -> StanceModel:
    """Load a fitted model from a model dir or a run dir (which holds ``model/``).

    Everything in ``model.json`` is checked first: the family and labels, a finite positive
    temperature, and every path it names must resolve inside the model directory. A damaged
    weight file is reported as a :class:`RunDirError` naming the directory, never a traceback.
    """
    from ..safety import positive_finite

    path = Path(path)
    if (path / "model" / META).is_file():
        path = path / "model"
    meta_file = path / META
    if not meta_file.is_file():
        raise RunDirError(f"{path}: no {META} here; is this a finished run directory?")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise RunDirError(f"{meta_file}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise RunDirError(f"{meta_file}: expected a JSON object")
    if meta.get("labels") != list(LABELS):
        raise RunDirError(f"{meta_file}: model labels {meta.get('labels')} differ from {list(LABELS)}")
    families = _families()
    if meta.get("family") not in families:
        raise RunDirError(f"{meta_file}: unknown model family {meta.get('family')!r}")
    settings = meta.get("settings", {})
    if not isinstance(settings, dict):
        raise RunDirError(f"{meta_file}: key 'settings' must be an object")
    temperature = positive_finite(meta.get("temperature", 1.0), f"{meta_file}: key 'temperature'")
    try:
        model = families[meta["family"]]._load_weights(path, settings)
    except RunDirError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise RunDirError(f"{meta_file}: invalid settings for family {meta['family']!r} ({type(e).__name__}: {e})") \
            from None
    except Exception as e:  # truncated zip/safetensors, unreadable files: the file is damaged, say so
        raise RunDirError(f"{path}: cannot load the {meta['family']} model; a model file is missing or damaged "
                          f"({type(e).__name__}: {str(e)[:200]})") from None
    model.temperature_ = temperature
    from ..actors import load_actors

    model.actors_ = load_actors(path)  # None unless trained with model.actors
    return set_inference(model, precision, runtime, batch_size)
