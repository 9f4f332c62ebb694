"""Tables of several runs side by side: metrics, F1 per label, agreement and disagreements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..labels import LABELS
from .run import load_eval, load_predictions


def _run_names(runs: Sequence[str | Path] | Mapping[str, str | Path]) -> dict[str, Path]:
    if isinstance(runs, Mapping):
        return {str(k): Path(v) for k, v in runs.items()}
    names: dict[str, Path] = {}
    for r in map(Path, runs):
        name = r.name if r.name not in names else str(r)
        names[name] = r
    return names


def compare_table(runs: Sequence[str | Path] | Mapping[str, str | Path], split: str = "test") -> pd.DataFrame:
    """One row per run: n, accuracy and macro-F1 with 95% intervals, lenient accuracy, ECE, and the
    challenge-set and article scores where the runs have them.

    Args:
        runs: run directories (named by their folder) or ``{name: run_dir}``.
    """
    rows = {}
    for name, run in _run_names(runs).items():
        res = load_eval(run, split)
        o = res["overall"]
        row = {"n": o["n"]}
        for key in ("accuracy", "macro_f1"):
            lo, hi = o.get("ci95", {}).get(key, [float("nan")] * 2)
            row.update({key: o[key], f"{key}_low": lo, f"{key}_high": hi})
        row["lenient_accuracy"] = o.get("lenient_accuracy")
        row["ece"] = o.get("calibration", {}).get("ece")
        if res.get("challenge"):
            row["challenge_accuracy"] = res["challenge"].get("accuracy")
            row["pair_consistency"] = res["challenge"].get("pair_consistency")
        if res.get("articles"):
            row["article_macro_f1"] = res["articles"].get("classification", {}).get("macro_f1")
            row["segmentation_f1"] = res["articles"].get("segmentation", {}).get("f1")
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "run"
    return table


def compare_per_class(runs: Sequence[str | Path] | Mapping[str, str | Path], split: str = "test",
                      metric: str = "f1") -> pd.DataFrame:
    """``metric`` (precision, recall or f1) per label (rows) and run (columns)."""
    return pd.DataFrame({name: {label: v[metric] for label, v in load_eval(run, split)["overall"]["per_class"].items()}
                         for name, run in _run_names(runs).items()})


def load_run_predictions(runs: Sequence[str | Path] | Mapping[str, str | Path],
                         split: str = "test") -> dict[str, pd.DataFrame]:
    """``{run name: predictions}`` for :func:`disagreements` and :func:`agreement_matrix`."""
    return {name: load_predictions(run, split) for name, run in _run_names(runs).items()}


def _aligned(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    if len(preds) < 2:
        raise ValueError("need predictions of at least two runs")
    names = list(preds)
    base = preds[names[0]][["id", "text", "label"]]
    for name in names:
        p = preds[name][["id", "predicted", "confidence"]].rename(
            columns={"predicted": name, "confidence": f"{name}_confidence"})
        base = base.merge(p, on="id", how="inner")
    return base


def disagreements(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Sentences on which the runs predict different labels, the most confident disagreements first.

    Args:
        preds: ``{run name: predictions DataFrame}`` (``id``, ``text``, ``label``, ``predicted``,
            ``confidence``), two or more; rows are matched by ``id``.
    Returns:
        ``id``, ``text``, gold ``label``, each run's prediction and confidence, and ``right``: the
        runs that got it right (comma-separated).
    """
    names = list(preds)
    both = _aligned(preds)
    differ = both[names].nunique(axis=1) > 1
    out = both[differ].copy()
    out["right"] = [", ".join(n for n in names if row[n] == row["label"]) for _, row in out.iterrows()]
    out["_conf"] = out[[f"{n}_confidence" for n in names]].max(axis=1)
    return out.sort_values("_conf", ascending=False).drop(columns="_conf").reset_index(drop=True)


def disagreement_by_label(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per gold label: sentences, share on which the runs disagree, and each run's accuracy."""
    names = list(preds)
    both = _aligned(preds)
    both["disagree"] = both[names].nunique(axis=1) > 1
    for n in names:
        both[f"{n}_accuracy"] = both[n] == both["label"]
    grouped = both.groupby("label")
    table = grouped[["disagree", *(f"{n}_accuracy" for n in names)]].mean()
    table.insert(0, "n", grouped.size())
    return table.reindex([label for label in LABELS if label in table.index])


def agreement_matrix(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of sentences on which each pair of runs predicts the same label."""
    names = list(preds)
    both = _aligned(preds)
    return pd.DataFrame([[float((both[a] == both[b]).mean()) for b in names] for a in names],
                        index=names, columns=names)


__all__ = ["agreement_matrix", "compare_per_class", "compare_table", "disagreement_by_label", "disagreements",
           "load_run_predictions"]
