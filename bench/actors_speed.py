"""What the actor columns cost: the same `communique score` job with and without a run's actors.

The run must have been trained with ``model.actors: true``. Both jobs score the same JSONL of
articles (8 corpus sentences each) with the same stance model in this one process; "without"
sets the loaded model's actors aside, which is what a run trained without them does. The
tagger runs on the sentences labelled as stances only, so the cost follows the share of stance
sentences (printed). Each setting -- a runtime of --runtimes (torch, onnx, onnx-int8) with a precision of
--precisions (auto, bf16, fp32) -- is applied to the stance model and the tagger alike, as
``communique score --runtime --precision`` does; rows are compared with the first setting's. Best of
--repeat interleaved runs.

Usage: .venv/bin/python bench/actors_speed.py --model runs/demo [--sentences 2000] [--repeat 2]
       [--runtimes torch,onnx] [--precisions fp32,auto]
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

from communique.models import load_model, set_inference
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
    ap.add_argument("--runtimes", default="torch", help="comma-separated: torch, onnx, onnx-int8")
    ap.add_argument("--precisions", default="auto", help="comma-separated: auto, bf16, fp32")
    a = ap.parse_args()
    runtimes = [f"{r}, {p}" for r in a.runtimes.split(",") for p in a.precisions.split(",")]
    model = load_model(a.model)
    if model.actors_ is None:
        raise SystemExit(f"{a.model}: trained without actors (model.actors: true)")
    actors = model.actors_
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"CPU flags: {cpu_flags()}, cuda: {torch.cuda.is_available()}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        n = make_articles(a.sentences, src)
        jobs = [(runtime, with_actors) for runtime in runtimes for with_actors in (False, True)]
        best = {job: float("inf") for job in jobs}
        stance, outputs = 0, {}
        for _ in range(a.repeat):
            for runtime, with_actors in jobs:
                model.actors_ = actors if with_actors else None
                engine, precision = runtime.split(", ")  # the stance model, and the tagger when it runs
                set_inference(model, runtime=engine, precision=precision)
                out = Path(tmp) / "scores.jsonl"
                t = time.perf_counter()
                score([str(src)], model, out, ScoreOptions(force=True, precision=precision, runtime=engine),
                      progress=False)
                best[runtime, with_actors] = min(best[runtime, with_actors], time.perf_counter() - t)
                if with_actors:
                    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
                    stance = sum(r["label"] != "other" for r in rows)
                    outputs[runtime] = [(r["label"], r["speaker_start"], r["speaker_end"], r["speaker_actor"],
                                         r["target_start"], r["target_end"], r["target_actor"]) for r in rows]
        for (runtime, with_actors), sec in best.items():
            name = f"{runtime}, {'with' if with_actors else 'without'} actors"
            print(f"{name:<34} {n / sec:7.1f} sentences/s  ({sec:.1f} s for {n} sentences)")
        print(f"stance sentences (tagged): {stance} of {n} ({stance / n:.0%})")
        for runtime in runtimes:
            print(f"{runtime}: with/without actors {best[runtime, False] / best[runtime, True]:.2f}x the speed; "
                  f"with actors {best[runtimes[0], True] / best[runtime, True]:.2f}x {runtimes[0]}; rows with the "
                  f"same label, spans and actors as {runtimes[0]}: "
                  f"{sum(x == y for x, y in zip(outputs[runtime], outputs[runtimes[0]])) / len(outputs[runtime]):.2%}")


if __name__ == "__main__":
    main()
