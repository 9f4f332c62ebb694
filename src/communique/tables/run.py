"""Tables of one evaluated run: metrics with intervals, per class, per slice, challenge rules, gold
articles, and the most confident errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import RunDirError
from ..rundir import RunDir


def load_eval(run_dir: str | Path, split: str = "test") -> dict[str, Any]:
    """``RUN/eval/SPLIT/metrics.json`` (written by ``communique evaluate``)."""
    f = RunDir(run_dir).eval_dir(split) / "metrics.json"
    if not f.is_file():
        raise RunDirError(f"{run_dir}: no evaluation on {split!r} ({f} missing); "
                          f"run `communique evaluate {run_dir} --split {split}` first")
    return json.loads(f.read_text(encoding="utf-8"))


def load_predictions(run_dir: str | Path, split: str = "test") -> pd.DataFrame:
    """``RUN/eval/SPLIT/predictions.jsonl`` as a DataFrame (one row per sentence)."""
    f = RunDir(run_dir).eval_dir(split) / "predictions.jsonl"
    if not f.is_file():
        raise RunDirError(f"{run_dir}: no predictions on {split!r} ({f} missing); "
                          f"run `communique evaluate {run_dir} --split {split}` first")
    return pd.read_json(f, lines=True, dtype=False)


def metrics_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """Headline metrics of a classification report with their 95% intervals (NaN where none)."""
    ci = report.get("ci95", {})
    rows = {}
    for key in ("accuracy", "macro_f1", "lenient_accuracy"):
        if key in report:
            lo, hi = ci.get(key, [float("nan")] * 2)
            rows[key] = {"value": report[key], "ci_low": lo, "ci_high": hi}
    if "calibration" in report:
        rows["ece"] = {"value": report["calibration"]["ece"], "ci_low": float("nan"), "ci_high": float("nan")}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["value", "ci_low", "ci_high"])
    table.index.name = "metric"
    return table


def per_class_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """Precision, recall, F1 and support per label."""
    table = pd.DataFrame.from_dict(report["per_class"], orient="index")[["precision", "recall", "f1", "support"]]
    table.index.name = "label"
    return table


def slice_table(result: Mapping[str, Any], column: str) -> pd.DataFrame | None:
    """Accuracy and macro-F1 per value of a metadata column (``group``, ``voice``, ``tags``); None if absent."""
    values = result.get("slices", {}).get(column)
    if not values:
        return None
    table = pd.DataFrame.from_dict(values, orient="index").sort_values("accuracy", kind="stable")
    table.index.name = column
    return table


def challenge_table(result: Mapping[str, Any]) -> pd.DataFrame | None:
    """Challenge-set accuracy and pair consistency per rule (``n``: sentences), with an ``all`` row;
    None if not evaluated."""
    ch = result.get("challenge")
    if not ch:
        return None
    table = pd.DataFrame.from_dict(ch.get("per_rule", {}), orient="index", columns=["n", "accuracy",
                                                                                     "pair_consistency"])
    total = pd.DataFrame({"n": [ch.get("n", ch.get("n_pairs"))], "accuracy": [ch.get("accuracy")],
                          "pair_consistency": [ch.get("pair_consistency")]}, index=["all"])
    table = pd.concat([table.sort_index(), total])
    table.index.name = "rule"
    return table


def articles_table(result: Mapping[str, Any]) -> pd.DataFrame | None:
    """Sentence segmentation and classification scores on the gold articles; None if not evaluated.

    The counts beside the scores (articles, gold and predicted sentences) are in ``table.attrs``.
    """
    arts = result.get("articles")
    if not arts:
        return None
    table = pd.DataFrame.from_dict({k: arts[k] for k in ("segmentation", "classification") if k in arts},
                                   orient="index")
    table.attrs = {k: v for k, v in arts.items() if not isinstance(v, Mapping)}
    table.index.name = "task"
    return table


def confident_errors(predictions: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` most confident wrong predictions, with their text."""
    wrong = predictions[predictions["label"].notna() & (predictions["predicted"] != predictions["label"])]
    cols = [c for c in ("id", "label", "predicted", "confidence", "group", "text") if c in wrong]
    return wrong.sort_values("confidence", ascending=False).head(k)[cols].reset_index(drop=True)


__all__ = ["articles_table", "challenge_table", "confident_errors", "load_eval", "load_predictions", "metrics_table",
           "per_class_table", "slice_table"]
