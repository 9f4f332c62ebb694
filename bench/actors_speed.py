"""What the actor columns cost: the same `communique score` job with and without a run's actors.

The run must have been trained with ``model.actors: true``. Both jobs score the same JSONL of
articles (8 corpus sentences each) with the same stance model in this one process; "without"
sets the loaded model's actors aside, which is what a run trained without them does. The
tagger runs on the sentences labelled as stances only, so the cost follows the share of stance
sentences (printed). Best of --repeat interleaved runs.

Usage: .venv/bin/python bench/actors_speed.py --model runs/demo [--sentences 2000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from common import make_articles

from communique.models import load_model
from communique.score import score
from communique.score_rows import ScoreOptions


def cpu_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    return " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags) or "none"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="runs/demo")
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    model = load_model(a.model)
    if model.actors_ is None:
        raise SystemExit(f"{a.model}: trained without actors (model.actors: true)")
    actors = model.actors_
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"CPU flags: {cpu_flags()}, cuda: {torch.cuda.is_available()}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        n = make_articles(a.sentences, src)
        best = {"without actors": float("inf"), "with actors": float("inf")}
        stance = 0
        for _ in range(a.repeat):
            for name in best:
                model.actors_ = actors if name == "with actors" else None
                out = Path(tmp) / "scores.jsonl"
                t = time.perf_counter()
                score([str(src)], model, out, ScoreOptions(force=True), progress=False)
                best[name] = min(best[name], time.perf_counter() - t)
                if name == "with actors":
                    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
                    stance = sum(r["label"] != "other" for r in rows)
        for name, sec in best.items():
            print(f"{name:<16} {n / sec:7.1f} sentences/s  ({sec:.1f} s for {n} sentences)")
        print(f"stance sentences (tagged): {stance} of {n} ({stance / n:.0%}); "
              f"with/without: {best['without actors'] / best['with actors']:.2f}x the speed")


if __name__ == "__main__":
    main()
