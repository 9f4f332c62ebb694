"""Throughput of `communique score` against `transformers.pipeline("text-classification")`.

Both run in this one process, on the same model and the same sentences:

* ours: the whole scoring job, from a JSONL of articles on disk to the scores
  file (reading, segmentation, length-sorted batches with dynamic padding,
  inference_mode, the [CLS]-only last layer, bf16 autocast where the CPU supports
  it, writing, checkpoints); one row runs the full last layer, for comparison;
* the pipeline: `pipeline("text-classification", batch_size=32)` in fp32 on the
  sentences our segmenter produced (so it is spared segmentation and I/O).

Prints sentences/s for each (best of --repeat interleaved runs), the ratio, and label agreement
with the fp32 pipeline.

Usage: .venv/bin/python bench/score_throughput.py [--model runs/demo] [--sentences 2400] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from common import make_articles

from communique.models import cls_forward
from communique.models.encoders import cpu_supports_bf16
from communique.score import ScoreOptions, score

def ours(src: Path, model: str, out: Path, precision: str, runtime: str = "torch",
         cls_only: bool = True) -> tuple[float, list[str], list[str]]:
    real = cls_forward.supports
    cls_forward.supports = real if cls_only else (lambda m: False)  # False: the full forward, as before
    try:
        t = time.perf_counter()
        score([str(src)], model, out, ScoreOptions(precision=precision, runtime=runtime, force=True),
              progress=False)
        dt = time.perf_counter() - t
    finally:
        cls_forward.supports = real
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return dt, [r["text"] for r in rows], [r["label"] for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="runs/demo", help="run directory of a transformer model")
    ap.add_argument("--sentences", type=int, default=2400)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2,
                    help="time each engine this many times, interleaved; keep the best")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    from transformers import pipeline

    tmp = Path(tempfile.mkdtemp())
    n = make_articles(a.sentences, tmp / "articles.jsonl")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, native bf16: {cpu_supports_bf16()}")
    print(f"model: {a.model}; {n} sentences in {(n + 7) // 8} articles")

    # warm-up (loads libraries and the model once, so neither side pays first-call costs)
    pipe = pipeline("text-classification", model=str(Path(a.model) / "model"), device=-1)
    pipe(["warm up"] * 4, batch_size=32, truncation=True, max_length=128)
    ours(tmp / "articles.jsonl", a.model, tmp / "warm.jsonl", "fp32")
    for runtime in ("onnx", "onnx-int8"):  # export once, outside the timing (cached in the run dir)
        ours(tmp / "articles.jsonl", a.model, tmp / "warm.jsonl", "fp32", runtime)

    results: dict[str, tuple[float, list[str], list[str]]] = {}
    best_pipe = float("inf")
    variants = {"torch, fp32, full last layer": ("fp32", "torch", False),
                "torch, precision auto": ("auto", "torch", True), "torch, fp32": ("fp32", "torch", True),
                "onnx runtime, fp32": ("fp32", "onnx", True), "onnx runtime, int8 weights": ("fp32", "onnx-int8", True)}
    for _ in range(a.repeat):  # interleaved, so drift on a shared machine hits every engine alike
        for name, (precision, runtime, cls_only) in variants.items():
            r = ours(tmp / "articles.jsonl", a.model, tmp / "out.jsonl", precision, runtime, cls_only)
            if name not in results or r[0] < results[name][0]:
                results[name] = r
        texts = results["torch, fp32"][1]
        t = time.perf_counter()
        ref = [p["label"] for p in pipe(texts, batch_size=32, truncation=True, max_length=128)]
        best_pipe = min(best_pipe, time.perf_counter() - t)
    dt_pipe = best_pipe
    m = len(texts)
    print(f"\n{'engine':<58}{'seconds':>9}{'sent/s':>9}{'x pipeline':>12}{'agreement':>11}")
    print(f"{'transformers.pipeline, batch 32, fp32':<58}{dt_pipe:>9.2f}{m / dt_pipe:>9.1f}{1.0:>12.2f}{1.0:>11.4f}")
    for variant, (dt, tx, labels) in results.items():
        assert tx == texts, "segmentation differs between runs"
        agree = sum(x == y for x, y in zip(labels, ref)) / m
        name = f"communique score, {variant}"
        if variant.endswith("auto"):
            name += " = bf16" if cpu_supports_bf16() else " = fp32"
        print(f"{name:<58}{dt:>9.2f}{m / dt:>9.1f}{dt_pipe / dt:>12.2f}{agree:>11.4f}")


if __name__ == "__main__":
    main()
