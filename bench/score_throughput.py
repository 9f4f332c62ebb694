"""Throughput of `communique score` against `transformers.pipeline("text-classification")`.

Both run in this one process, on the same model and the same sentences:

* ours: the whole scoring job, from a JSONL of articles on disk to the scores
  file (reading, segmentation, length-sorted batches with dynamic padding,
  inference_mode, the [CLS]-only last layer, bf16 weights where the CPU supports
  them with close calls scored again in fp32, writing, checkpoints); one row runs the full last layer, for comparison;
* the pipeline: `pipeline("text-classification", batch_size=32)` in fp32 on the
  sentences our segmenter produced (so it is spared segmentation and I/O).

A run trained with actors is timed without its speaker/target tagger unless ``--with-actors``
(the pipeline classifies stance only; ``bench/actors_speed.py`` measures what the actors cost).

Prints sentences/s for each (best of --repeat interleaved runs), the ratio, and label agreement
with the fp32 pipeline; then where the time of one default run goes (model load, reading,
segmentation, tokenisation and padding, forward passes, the speaker/target columns where they are
kept, and the rest: rows, writing and checkpoints).

On a GPU (``--device cuda``, or ``auto`` where one is visible) the pipeline is also timed with batch
256 and the ONNX rows (a CPU runtime) are left out. ``--sentences 50000`` repeats the corpus in new
articles for a large input.

Usage: .venv/bin/python bench/score_throughput.py [--model runs/demo] [--sentences 2400] [--threads N]
       [--device auto|cpu|cuda] [--repeat 2] [--only auto]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

if __name__ == "__main__" and "--device" in sys.argv and sys.argv[sys.argv.index("--device") + 1:][:1] == ["cpu"]:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch is imported: the CPU even on a GPU machine

import torch

from common import make_articles

from communique import segment_workers
from communique.actors import Actors
from communique.models import cls_forward
from communique.models.encoders import cpu_supports_bf16
from communique.models.transformer import TransformerModel
from communique.score import score
from communique.score_rows import ScoreOptions

scoring = importlib.import_module("communique.score")  # the module (the package exports a function of that name)

WITH_ACTORS = False  # --with-actors: keep a run's speaker/target tagger (the pipeline only classifies)


def ours(src: Path, model: str, out: Path, precision: str, runtime: str = "torch",
         cls_only: bool = True, workers: int | None = None) -> tuple[float, list[str], list[str]]:
    real = cls_forward.supports
    cls_forward.supports = real if cls_only else (lambda m: False)  # False: the full forward, as before
    try:
        t = time.perf_counter()
        score([str(src)], model, out, ScoreOptions(precision=precision, runtime=runtime, force=True, workers=workers,
                                                   stance_only=not WITH_ACTORS), progress=False)
        dt = time.perf_counter() - t
    finally:
        cls_forward.supports = real
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return dt, [r["text"] for r in rows], [r["label"] for r in rows]


@contextlib.contextmanager
def stage_clock():
    """Time the stages of a scoring job by wrapping the functions that do them; yields the totals."""
    spent: dict[str, float] = defaultdict(float)
    saved = {"load_model": scoring.load_model, "iter_articles": scoring.iter_articles, "segment": segment_workers.segment,
             "encode_batches": TransformerModel.encode_batches, "logits": TransformerModel.logits,
             "annotate": Actors.annotate}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    def timed_iter(name, fn):  # a generator: time each step, not the call that creates it
        def wrapper(*args, **kwargs):
            it = fn(*args, **kwargs)
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    spent[name] += time.perf_counter() - t
                    return
                spent[name] += time.perf_counter() - t
                yield item
        return wrapper

    scoring.load_model = timed("model load", saved["load_model"])
    scoring.iter_articles = timed_iter("read", saved["iter_articles"])
    segment_workers.segment = timed("segment", saved["segment"])
    TransformerModel.encode_batches = timed_iter("tokenise and pad", saved["encode_batches"])
    TransformerModel.logits = timed("tokenise, pad and forward", saved["logits"])
    Actors.annotate = timed("speaker/target columns (tagger and resolution)", saved["annotate"])
    try:
        yield spent
    finally:
        scoring.load_model, scoring.iter_articles, segment_workers.segment = (
            saved["load_model"], saved["iter_articles"], saved["segment"])
        TransformerModel.encode_batches, TransformerModel.logits = saved["encode_batches"], saved["logits"]
        Actors.annotate = saved["annotate"]


def print_stages(src: Path, model: str, out: Path, precision: str) -> None:
    with stage_clock() as spent:  # segmentation in this process, where it can be timed
        total = ours(src, model, out, precision, workers=0)[0]
    forward = spent.pop("tokenise, pad and forward") - spent["tokenise and pad"]
    spent["forward (and copies to the device)"] = forward
    spent["rest: rows, writing, checkpoints"] = total - sum(spent.values())
    print(f"\nwhere the time goes (one run, torch, precision {precision}, --workers 0, {total:.2f} s in all):")
    for name, sec in spent.items():
        print(f"  {name:<50}{sec:>8.2f} s{100 * sec / total:>7.1f}%")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="runs/demo", help="run directory of a transformer model")
    ap.add_argument("--sentences", type=int, default=2400, help="50000 or more for a large input")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                    help="auto: the GPU where one is visible (the scorer's own choice), else the CPU")
    ap.add_argument("--repeat", type=int, default=2,
                    help="time each engine this many times, interleaved; keep the best")
    ap.add_argument("--only", default="",
                    help="time only our variants whose name contains this text (e.g. 'auto'); the pipeline always")
    ap.add_argument("--with-actors", action="store_true",
                    help="keep the run's speaker/target tagger (default: stance only, as the pipeline)")
    a = ap.parse_args()
    global WITH_ACTORS
    WITH_ACTORS = a.with_actors
    if a.threads:
        torch.set_num_threads(a.threads)
    gpu = torch.cuda.is_available()
    if a.device == "cuda" and not gpu:
        sys.exit("--device cuda: no GPU is visible to torch")
    from transformers import pipeline

    tmp = Path(tempfile.mkdtemp())
    n = make_articles(a.sentences, tmp / "articles.jsonl")
    flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[-1].split("\n", 1)[0].split() \
        if Path("/proc/cpuinfo").exists() else []
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus ({' '.join(wanted)}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, native bf16: {cpu_supports_bf16()}")
    print(f"device: {torch.cuda.get_device_name(0) if gpu else 'CPU'}; segmentation workers by default: "
          f"{segment_workers.default_workers()}")
    print(f"model: {a.model}{' with its actor tagger' if a.with_actors else ' (stance only)'}; "
          f"{n} sentences in {(n + 7) // 8} articles")

    # warm-up (loads libraries and the model once, so neither side pays first-call costs)
    pipe = pipeline("text-classification", model=str(Path(a.model) / "model"), device=0 if gpu else -1)
    pipe(["warm up"] * 4, batch_size=32, truncation=True, max_length=128)
    ours(tmp / "articles.jsonl", a.model, tmp / "warm.jsonl", "fp32")
    auto = segment_workers.default_workers()
    variants = {"torch, fp32, full last layer": ("fp32", "torch", False, None),
                "torch, precision auto": ("auto", "torch", True, None), "torch, fp32": ("fp32", "torch", True, None),
                "torch, fp32, --workers 0": ("fp32", "torch", True, 0)}
    if auto != 1:
        variants["torch, fp32, --workers 1"] = ("fp32", "torch", True, 1)
    if not gpu:  # ONNX Runtime here is the CPU build
        variants |= {"onnx runtime, fp32": ("fp32", "onnx", True, None),
                     "onnx runtime, int8 weights": ("fp32", "onnx-int8", True, None),
                     "onnx runtime, int8 weights, --workers 0": ("fp32", "onnx-int8", True, 0)}
        for runtime in ("onnx", "onnx-int8"):  # export once, outside the timing (cached in the run dir)
            if any(v[1] == runtime and a.only in name for name, v in variants.items()):
                ours(tmp / "articles.jsonl", a.model, tmp / "warm.jsonl", "fp32", runtime)
    ours(tmp / "articles.jsonl", a.model, tmp / "warm.jsonl", "auto")  # bf16 kernels too, where auto means bf16
    variants = {name: v for name, v in variants.items() if a.only in name} | {"torch, fp32": variants["torch, fp32"]}
    pipe_batches = (32, 256) if gpu else (32,)

    results: dict[str, tuple[float, list[str], list[str]]] = {}
    best_pipe = {b: float("inf") for b in pipe_batches}
    for _ in range(a.repeat):  # interleaved, so drift on a shared machine hits every engine alike
        for name, (precision, runtime, cls_only, workers) in variants.items():
            r = ours(tmp / "articles.jsonl", a.model, tmp / "out.jsonl", precision, runtime, cls_only, workers)
            if name not in results or r[0] < results[name][0]:
                results[name] = r
        texts = results["torch, fp32"][1]
        for b in pipe_batches:
            t = time.perf_counter()
            labels = [p["label"] for p in pipe(texts, batch_size=b, truncation=True, max_length=128)]
            best_pipe[b] = min(best_pipe[b], time.perf_counter() - t)
            if b == 32:  # agreement is measured against the batch-32 pipeline
                ref = labels
    dt_pipe = best_pipe[32]
    m = len(texts)
    print(f"\n{'engine':<58}{'seconds':>9}{'sent/s':>9}{'x pipeline':>12}{'agreement':>11}")
    for b in pipe_batches:
        name = f"transformers.pipeline, batch {b}, fp32"
        print(f"{name:<58}{best_pipe[b]:>9.2f}{m / best_pipe[b]:>9.1f}{dt_pipe / best_pipe[b]:>12.2f}{'':>11}")
    for variant, (dt, tx, labels) in results.items():
        assert tx == texts, "segmentation differs between runs"
        agree = sum(x == y for x, y in zip(labels, ref)) / m
        name = f"communique score, {variant}"
        if variant.endswith("auto"):
            native = torch.cuda.is_bf16_supported() if gpu else cpu_supports_bf16()
            name += " = bf16" if native else " = fp32"
        extra = "".join(f", {best_pipe[b] / dt:.2f}x batch {b}" for b in pipe_batches[1:])
        print(f"{name:<58}{dt:>9.2f}{m / dt:>9.1f}{dt_pipe / dt:>12.2f}{agree:>11.4f}{extra}")
    print_stages(tmp / "articles.jsonl", a.model, tmp / "out.jsonl", "auto")


if __name__ == "__main__":
    main()
