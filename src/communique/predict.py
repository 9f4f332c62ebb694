"""Ad-hoc prediction for a few sentences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import DataError
from .labels import LABELS
from .models import StanceModel, load_model
from .rundir import RunDir


def predict(run_dir: str | Path | StanceModel, sentences: Sequence[str], precision: str | None = None,
            runtime: str | None = None, batch_size: int | None = None) -> list[dict[str, Any]]:
    """Label and probabilities for each sentence.

    Example:
        >>> predict("runs/minilm", ["Moscow warned of a military response."])[0]["label"]  # doctest: +SKIP
        'threat'
    """
    sentences = list(sentences)
    for i, s in enumerate(sentences, 1):
        if not isinstance(s, str) or not s.strip():
            raise DataError(f"sentence {i}: empty; give the text to label")
    model = run_dir if isinstance(run_dir, StanceModel) else load_model(RunDir(run_dir).require_finished().path, precision, runtime,
                                                                        batch_size)
    probs = model.predict_proba(sentences)
    rows = [{"text": s, "label": LABELS[int(p.argmax())], "confidence": float(p.max()),
             "probs": {label: float(v) for label, v in zip(LABELS, p)}} for s, p in zip(sentences, probs)]
    if model.actors_ is not None:  # each sentence on its own: no article to resolve "he" or "the bloc" in
        for i, r in enumerate(rows):
            r.update(article_id=i, sentence_index=0, start=0)
        model.actors_.annotate(rows)
        for r in rows:
            for k in ("article_id", "sentence_index", "start"):
                del r[k]
    return rows
