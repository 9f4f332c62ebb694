"""The contrast challenge set: minimal pairs that differ in a few words and in label.

Reports accuracy per decision rule and *pair consistency*: the share of pairs
with both sentences right, which a model relying on topic words cannot fake.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .data import read_records
from .metrics import to_ids
from .models import StanceModel


def challenge_scores(records: list[dict[str, Any]], y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy and pair consistency, overall and per ``rule``, from predictions in record order."""
    y_true = to_ids([r["label"] for r in records])
    correct = y_true == np.asarray(y_pred)
    pairs: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        pairs[str(r.get("pair") or r["id"])].append(i)
    by_rule: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_rule[str(r.get("rule") or "unspecified")].append(i)

    def consistency(indices: list[int]) -> float:
        ids = {str(records[i].get("pair") or records[i]["id"]) for i in indices}
        full = [p for p in ids if len(pairs[p]) >= 2]
        return float(np.mean([all(correct[j] for j in pairs[p]) for p in full])) if full else float("nan")

    return {"n": len(records), "n_pairs": sum(len(ix) >= 2 for ix in pairs.values()), "accuracy": float(correct.mean()),
            "pair_consistency": consistency(list(range(len(records)))),
            "per_rule": {rule: {"n": len(ix), "accuracy": float(correct[ix].mean()), "pair_consistency": consistency(ix)}
                         for rule, ix in sorted(by_rule.items())}}


def evaluate_challenge(model: StanceModel, path: str | Path) -> tuple[dict[str, Any], list[dict], np.ndarray]:
    """Score the challenge file; return (scores, records, probabilities)."""
    records = read_records([path])
    probs = model.predict_proba([r["text"] for r in records])
    return challenge_scores(records, probs.argmax(1)), records, probs


def format_challenge(c: dict[str, Any]) -> str:
    lines = [f"challenge set: {c['n_pairs']} pairs, accuracy {c['accuracy']:.3f}, "
             f"pair consistency {c['pair_consistency']:.3f}",
             f"{'rule':<8}{'n':>6}{'accuracy':>10}{'pairs ok':>10}"]
    for rule, v in c["per_rule"].items():
        lines.append(f"{rule:<8}{v['n']:>6}{v['accuracy']:>10.3f}{v['pair_consistency']:>10.3f}")
    return "\n".join(lines)
