"""Compare runs on the same examples: metrics with intervals, paired significance, disagreements.

Paired tests use the fact that every run labels the *same* sentences:

* McNemar's exact test on the discordant pairs (one run right, the other wrong);
* a paired bootstrap of the macro-F1 difference (same resampled indices for both runs).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data import read_records
from .labels import LABELS
from .metrics import bootstrap_distribution, classification_report, macro_f1, to_ids
from .models import load_model
from .rundir import RunDir


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """Exact McNemar test: p-value of the split between the two kinds of discordant pairs."""
    from scipy.stats import binomtest

    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    p = binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
    return {"a_only_right": b, "b_only_right": c, "p_value": float(p)}


def paired_bootstrap(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, n_boot: int = 1000,
                     seed: int = 0) -> dict[str, Any]:
    """Macro-F1 difference (a - b), its 95% interval and the share of resamples where b >= a."""
    (lo, hi), diffs = bootstrap_distribution(
        (y, pred_a, pred_b), lambda t, a, b: macro_f1(t, a) - macro_f1(t, b), n_boot, seed)
    return {"macro_f1_diff": macro_f1(y, pred_a) - macro_f1(y, pred_b), "ci95": [lo, hi],
            "p_value": float(min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0))))}


def compare(run_dirs: Sequence[str | Path], data: Sequence[str], n_boot: int = 1000, seed: int = 0,
            max_examples: int = 20) -> dict[str, Any]:
    """Score ``data`` with every run and compare them pairwise."""
    if len(run_dirs) < 2:
        raise ValueError("compare needs at least two runs")
    records = read_records(data)
    y = to_ids([r["label"] for r in records])
    names = [str(r) for r in run_dirs]
    preds = {}
    result: dict[str, Any] = {"data": list(data), "n": len(records), "runs": {}, "pairs": [], "disagreements": []}
    for name, run in zip(names, run_dirs):
        probs = load_model(RunDir(run).require_finished().path).predict_proba([r["text"] for r in records])
        preds[name] = probs.argmax(1)
        result["runs"][name] = classification_report(y, preds[name], probs, also=[r.get("also") or [] for r in records],
                                                     n_boot=n_boot, seed=seed)
    for a, b in itertools.combinations(names, 2):
        result["pairs"].append({"a": a, "b": b, "mcnemar": mcnemar(preds[a] == y, preds[b] == y),
                                "bootstrap": paired_bootstrap(y, preds[a], preds[b], n_boot, seed),
                                "disagree": int(np.sum(preds[a] != preds[b]))})
    stacked = np.vstack([preds[n] for n in names])
    differ = np.where((stacked != stacked[0]).any(0))[0]
    for i in differ[:max_examples]:
        result["disagreements"].append({"id": records[i]["id"], "text": records[i]["text"],
                                        "label": records[i]["label"],
                                        **{n: LABELS[int(preds[n][i])] for n in names}})
    result["n_disagreements"] = int(len(differ))
    return result


def format_comparison(c: dict[str, Any]) -> str:
    lines = [f"{c['n']} examples from {', '.join(c['data'])}", "",
             f"{'run':<40}{'accuracy':>22}{'macro-F1':>22}"]
    for name, m in c["runs"].items():
        a, f = m["ci95"]["accuracy"], m["ci95"]["macro_f1"]
        lines.append(f"{name[-40:]:<40}{m['accuracy']:>7.3f} ({a[0]:.3f}–{a[1]:.3f}){m['macro_f1']:>7.3f} "
                     f"({f[0]:.3f}–{f[1]:.3f})")
    lines.append("")
    for p in c["pairs"]:
        mc, bs = p["mcnemar"], p["bootstrap"]
        lines.append(f"{p['a']} vs {p['b']}: disagree on {p['disagree']}; McNemar {mc['a_only_right']}/"
                     f"{mc['b_only_right']} p={mc['p_value']:.4f}; macro-F1 diff {bs['macro_f1_diff']:+.3f} "
                     f"(95% CI {bs['ci95'][0]:+.3f}–{bs['ci95'][1]:+.3f}, p={bs['p_value']:.4f})")
    if c["disagreements"]:
        lines += ["", f"where they disagree ({c['n_disagreements']} sentences; first {len(c['disagreements'])}):"]
        for d in c["disagreements"]:
            votes = ", ".join(f"{Path(n).name}={d[n]}" for n in c["runs"])
            lines.append(f"- [{d['label']}] {votes}: {d['text']}")
    return "\n".join(lines)
