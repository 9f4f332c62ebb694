"""Model selection by measurement: quality, training time and scoring speed of finished runs.

For each run directory (already trained and evaluated with `communique evaluate RUN`), prints two
Markdown rows. Quality: test accuracy and macro-F1 with 95% intervals, macro-F1 on the older test
file and on the wire-register test file, the cue-only baseline's macro-F1 on the wire-register file,
challenge-set accuracy and pair consistency, end-to-end article stance F1 on the original and on the
wire-style articles. Cost: training wall time (from env.json) and scoring speed measured here, now,
by the whole `communique score` job on the same articles.

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

from communique.score import score
from communique.score_rows import ScoreOptions


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--sentences", type=int, default=2000)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    n = make_articles(a.sentences, tmp / "articles.jsonl")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, {torch.get_num_threads()} torch threads; "
          f"scoring speed on {n} sentences in {(n + 7) // 8} articles, whole `communique score` job\n")
    quality, cost = [], []
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
        ch = m.get("challenge", {})
        files = {Path(f).stem: v["macro_f1"] for f, v in m.get("by_file", {}).items()}
        cue = {Path(f).stem: v["macro_f1"] for f, v in m.get("cue_only", {}).get("by_file", {}).items()}
        sets = {k: v["classification"]["f1"] for k, v in m.get("articles", {}).get("by_set", {}).items()}
        nan = float("nan")
        quality.append(
            f"| {run.name} | {o['accuracy']:.3f} ({ci['accuracy'][0]:.3f}–{ci['accuracy'][1]:.3f}) | "
            f"{o['macro_f1']:.3f} ({ci['macro_f1'][0]:.3f}–{ci['macro_f1'][1]:.3f}) | {files.get('test', nan):.3f} | "
            f"{files.get('test-wire', nan):.3f} | {cue.get('test-wire', nan):.3f} | {ch.get('accuracy', nan):.3f} | "
            f"{ch.get('pair_consistency', nan):.3f} | {sets.get('original', nan):.3f} | {sets.get('wire', nan):.3f} |")
        cost.append(f"| {run.name} | {family} | {env.get('wall_time_s', nan):.0f} s | {speed:.0f} |")
    print("| run | test accuracy (95% CI) | test macro-F1 (95% CI) | older test macro-F1 | wire test macro-F1 | "
          "cue-only on wire test | challenge acc. | pairs both right | original articles stance F1 | "
          "wire articles stance F1 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(quality))
    print("\n| run | family | train time | scoring sent/s |\n|---|---|---|---|")
    print("\n".join(cost))


if __name__ == "__main__":
    main()
