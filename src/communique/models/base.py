"""The interface every model family offers (the registry that builds and loads them is the package,
:mod:`communique.models`).

A family follows scikit-learn's estimator contract: its hyperparameters are named constructor
keywords (``get_params``/``set_params``/``clone`` come from :class:`sklearn.base.BaseEstimator`),
``from_config`` reads each of them from its key in a run config, and fitted state ends in ``_``.
A model directory holds ``model.json`` (family, labels, temperature, settings) beside the family's
own weight files; nothing is unpickled.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from ..calibration import apply_temperature
from ..labels import LABELS

META = "model.json"


class StanceModel(BaseEstimator, ABC):
    """Sentence stance classifier. ``predict_proba`` columns follow ``classes_`` (= LABELS)."""

    family: ClassVar[str]
    # constructor keyword -> the "section.key" of the run config it is read from
    config_keys: ClassVar[dict[str, str]] = {}
    classes_: tuple[str, ...] = LABELS
    temperature_: float = 1.0
    actors_: Any = None  # communique.actors.Actors of a run trained with model.actors, else None

    @classmethod
    def from_config(cls, cfg) -> "StanceModel":
        """The unfitted model a validated :class:`~communique.config.Config` describes."""
        params = {}
        for name, dotted in cls.config_keys.items():
            section, key = dotted.split(".")
            params[name] = getattr(getattr(cfg, section), key)
        return cls(**params)

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

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        settings = self._save_weights(path)
        meta = {"family": self.family, "labels": list(LABELS), "temperature": self.temperature_,
                "settings": settings}
        (path / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return path
