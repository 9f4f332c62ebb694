"""Throughput of `communique score` against `transformers.pipeline("text-classification")`.

Both run in this one process, on the same model and the same sentences:

* ours: the whole scoring job, from a JSONL of articles on disk to the scores
  file (reading, segmentation, length-sorted batches with dynamic padding,
  inference_mode, bf16 autocast where the CPU supports it, writing, checkpoints);
* the pipeline: `pipeline("text-classification", batch_size=32)` in fp32 on the
  sentences our segmenter produced (so it is spared segmentation and I/O).

Prints sentences/s for each, the ratio, and label agreement with the fp32 pipeline.

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

from communique.models.encoders import cpu_supports_bf16
from communique.score import ScoreOptions, score

def ours(src: Path, model: str, out: Path, precision: str, runtime: str = "torch") -> tuple[float, list[str], list[str]]:
    t = time.perf_counter()
    score([str(src)], model, out, ScoreOptions(precision=precision, runtime=runtime, force=True), progress=False)
    dt = time.perf_counter() - t
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return dt, [r["text"] for r in rows], [r["label"] for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="runs/demo", help="run directory of a transformer model")
    ap.add_argument("--sentences", type=int, default=2400)
    ap.add_argument("--threads", type=int, default=0)
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

    results = {}
    variants = {"torch, precision auto": ("auto", "torch"), "torch, fp32": ("fp32", "torch"),
                "onnx runtime, fp32": ("fp32", "onnx"), "onnx runtime, int8 weights": ("fp32", "onnx-int8")}
    for name, (precision, runtime) in variants.items():
        results[name] = ours(tmp / "articles.jsonl", a.model, tmp / "out.jsonl", precision, runtime)
    texts = results["torch, fp32"][1]
    t = time.perf_counter()
    ref = [p["label"] for p in pipe(texts, batch_size=32, truncation=True, max_length=128)]
    dt_pipe = time.perf_counter() - t
    m = len(texts)
    print(f"\n{'engine':<52}{'seconds':>9}{'sent/s':>9}{'x pipeline':>12}{'agreement':>11}")
    print(f"{'transformers.pipeline, batch 32, fp32':<52}{dt_pipe:>9.2f}{m / dt_pipe:>9.1f}{1.0:>12.2f}{1.0:>11.4f}")
    for variant, (dt, tx, labels) in results.items():
        assert tx == texts, "segmentation differs between runs"
        agree = sum(x == y for x, y in zip(labels, ref)) / m
        name = f"communique score (whole command), {variant}"
        if variant.endswith("auto"):
            name += " = bf16" if cpu_supports_bf16() else " = fp32"
        print(f"{name:<52}{dt:>9.2f}{m / dt:>9.1f}{dt_pipe / dt:>12.2f}{agree:>11.4f}")


if __name__ == "__main__":
    main()
