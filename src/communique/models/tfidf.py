"""TF-IDF word n-grams + logistic regression: the classic, transparent baseline.

Saved with skops (no pickle); loading accepts only the scikit-learn and numpy
types this pipeline is made of.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import RunDirError
from ..labels import LABEL2ID, LABELS
from .base import StanceModel

WEIGHTS = "pipeline.skops"
# every type a fitted TfidfVectorizer + LogisticRegression pipeline contains
ALLOWED_TYPES = {
    "sklearn.pipeline.Pipeline",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.float64", "numpy.int64", "numpy.dtype", "numpy.ndarray", "builtins.slice",
}


class TfidfModel(StanceModel):
    family = "tfidf"
    config_keys: ClassVar[dict[str, str]] = {
        "c": "model.c", "ngram_max": "model.ngram_max", "min_df": "model.min_df",
        "class_weighted": "training.class_weighted", "seed": "training.seed"}

    def __init__(self, c: float = 4.0, ngram_max: int = 2, min_df: int = 1, class_weighted: bool = False,
                 seed: int = 13):
        self.c = c
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.class_weighted = class_weighted
        self.seed = seed

    def fit(self, train, dev=None, work_dir=None, resume=False) -> "TfidfModel":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        self.pipeline_ = Pipeline([
            ("tfidf", TfidfVectorizer(ngram_range=(1, self.ngram_max), min_df=self.min_df, sublinear_tf=True)),
            ("clf", LogisticRegression(C=self.c, max_iter=2000, random_state=self.seed,
                                       class_weight="balanced" if self.class_weighted else None)),
        ])
        self.pipeline_.fit(list(train["text"]), [LABEL2ID[x] for x in train["label"]])
        if list(self.pipeline_.classes_) != list(range(len(LABELS))):
            raise ValueError("training data must contain every label; got classes "
                             f"{[LABELS[i] for i in self.pipeline_.classes_]}")
        return self

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(LABELS)))
        return self.pipeline_.decision_function(list(texts))

    def _save_weights(self, path: Path) -> dict[str, Any]:
        import skops.io as sio

        sio.dump(self.pipeline_, path / WEIGHTS)
        return {"weights": WEIGHTS}

    @classmethod
    def _load_weights(cls, path: Path, settings: dict[str, Any]) -> "TfidfModel":
        import skops.io as sio

        from ..safety import inside

        file = inside(path, settings.get("weights", WEIGHTS), f"{path}/model.json: settings.weights")
        if not file.is_file():
            raise RunDirError(f"{file}: weights file missing")
        untrusted = set(sio.get_untrusted_types(file=file))
        unexpected = untrusted - ALLOWED_TYPES
        if unexpected:
            raise RunDirError(f"{file}: refuses to load unexpected types {sorted(unexpected)}")
        self = cls()
        self.pipeline_ = sio.load(file, trusted=sorted(untrusted))
        return self
