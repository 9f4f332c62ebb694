"""An ensemble of trained runs: the average of their calibrated log-probabilities.

Members are copied into the ensemble's own model directory, so the run
directory stays self-contained. Each member keeps its own temperature; the
ensemble's temperature is then fitted on dev like any other model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, RunDirError
from .base import StanceModel


class EnsembleModel(StanceModel):
    family = "ensemble"
    config_keys: ClassVar[dict[str, str]] = {"members": "model.members"}

    def __init__(self, members: Sequence[str] = ()):
        self.members = members

    def fit(self, train, dev=None, work_dir=None, resume=False) -> "EnsembleModel":
        from . import load_model

        members = list(self.members)
        if len(members) < 2:
            raise ConfigError("model.members: an ensemble needs at least two finished run directories")
        self.members_ = [load_model(m) for m in members]
        return self

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        logp = [np.log(np.clip(m.predict_proba(texts), 1e-12, 1.0)) for m in self.members_]
        return np.mean(logp, axis=0)

    def _save_weights(self, path: Path) -> dict[str, Any]:
        for i, m in enumerate(self.members_):
            m.save(path / "members" / str(i))
        return {"members": [f"members/{i}" for i in range(len(self.members_))], "sources": list(self.members)}

    @classmethod
    def _load_weights(cls, path: Path, settings: dict[str, Any]) -> "EnsembleModel":
        from ..safety import inside
        from . import load_model

        members = settings["members"]
        if not isinstance(members, list) or not members:
            raise RunDirError(f"{path}/model.json: settings.members must be a non-empty list of paths")
        self = cls(members=settings.get("sources", []))
        self.members_ = [load_model(inside(path, m, f"{path}/model.json: settings.members")) for m in members]
        return self
