"""Model selection by measurement: quality, training time and scoring speed of finished runs.

For each run directory (already trained and evaluated with `communique evaluate RUN`), prints one
Markdown row: test accuracy and macro-F1 with 95% intervals, lenient accuracy, challenge-set
accuracy and pair consistency, end-to-end article stance F1, training wall time (from env.json), and
scoring speed measured here, now, by the whole `communique score` job on the same articles.

Usage: .venv/bin/python bench/model_selection.py runs/tfidf runs/embedding runs/minilm [--sentences 2000]
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from common import make_articles

from communique.score import ScoreOptions, score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--sentences", type=int, default=2000)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    n = make_articles(a.sentences, tmp / "articles.jsonl")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, {torch.get_num_threads()} torch threads; "
          f"scoring speed on {n} sentences in {(n + 7) // 8} articles, whole `communique score` job\n")
    print("| run | family | test accuracy (95% CI) | test macro-F1 (95% CI) | lenient acc. | challenge acc. | "
          "pairs both right | articles stance F1 | train time | scoring sent/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in a.runs:
        run = Path(run)
        m = json.loads((run / "eval/test/metrics.json").read_text())
        env = json.loads((run / "env.json").read_text())
        family = json.loads((run / "model/model.json").read_text())["family"]
        score([str(tmp / "articles.jsonl")], run, tmp / "warm.jsonl", ScoreOptions(force=True), progress=False)
        t = time.perf_counter()
        score([str(tmp / "articles.jsonl")], run, tmp / "s.jsonl", ScoreOptions(force=True), progress=False)
        speed = n / (time.perf_counter() - t)
        o, ci = m["overall"], m["overall"]["ci95"]
        ch, ar = m.get("challenge", {}), m.get("articles", {}).get("classification", {})
        print(f"| {run.name} | {family} | {o['accuracy']:.3f} ({ci['accuracy'][0]:.3f}–{ci['accuracy'][1]:.3f}) | "
              f"{o['macro_f1']:.3f} ({ci['macro_f1'][0]:.3f}–{ci['macro_f1'][1]:.3f}) | "
              f"{o['lenient_accuracy']:.3f} | {ch.get('accuracy', float('nan')):.3f} | "
              f"{ch.get('pair_consistency', float('nan')):.3f} | {ar.get('f1', float('nan')):.3f} | "
              f"{env.get('wall_time_s', float('nan')):.0f} s | {speed:.0f} |")


if __name__ == "__main__":
    main()
