"""Which int8 quantisation of the ONNX model keeps the fp32 labels, and how fast is it?

Forward passes only (the sentences are tokenised once, sorted by length, in batches of 64), in
ONNX Runtime on this CPU, for several dynamic-quantisation settings of the same fine-tuned model.
Prints seconds, speed relative to the fp32 ONNX model, label agreement with it and the largest
logit difference. `--runtime onnx-int8` uses the setting marked "(default)" and scores its close
calls again in fp32 (the last row; see ``RECHECK_GAP`` and ``close_calls`` in communique.models.transformer).

Usage: .venv/bin/python bench/onnx_quantisation.py [--model runs/demo] [--sentences 2400] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoTokenizer

from common import corpus_sentences

from communique.models import load_model
from communique.models.encoders import cpu_supports_bf16
from communique.models.cls_forward import inference_module
from communique.models.onnx_runtime import export
from communique.models.transformer import close_calls

# name -> quantize_dynamic keyword arguments
SETTINGS = {
    "8-bit, per channel, all ops (before)": dict(per_channel=True),
    "8-bit, per channel, MatMul only": dict(per_channel=True, op_types_to_quantize=["MatMul"]),
    "7-bit, per tensor, MatMul only": dict(per_channel=False, reduce_range=True, op_types_to_quantize=["MatMul"]),
    "7-bit, per channel, MatMul only (default)": dict(per_channel=True, reduce_range=True,
                                                      op_types_to_quantize=["MatMul"]),
    # the same, with some layers' MatMuls left in fp32 (node lists filled in from the graph, see layer_nodes)
    "7-bit, per channel, MatMul only, last layer fp32": dict(per_channel=True, reduce_range=True,
                                                            op_types_to_quantize=["MatMul"], exclude=("last",)),
    "7-bit, ..., first and last layers fp32": dict(per_channel=True, reduce_range=True,
                                                   op_types_to_quantize=["MatMul"], exclude=("first", "last")),
}


def layer_nodes(path: Path, which: str) -> list[str]:
    """Names of the MatMul nodes of the first encoder layer, or of the last one (the [CLS]-only layer,
    outside the trunk of cls_forward's module)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    names = [n.name for n in graph.node if n.op_type == "MatMul"]
    if which == "first":
        return [n for n in names if n.startswith("/trunk/encoder/layer.0/")]
    return [n for n in names if not n.startswith("/trunk/")]


def forward_all(path: Path, batches, n: int, threads: int) -> tuple[float, np.ndarray]:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    logits = None
    session.run(None, {k: batches[0][1][k].astype(np.int64) for k in names})  # warm-up
    t = time.perf_counter()
    for idx, feats in batches:
        out = session.run(None, {k: feats[k].astype(np.int64) for k in names})[0]
        if logits is None:
            logits = np.zeros((n, out.shape[1]), np.float32)
        logits[idx] = out
    return time.perf_counter() - t, logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="runs/demo", help="run directory of a transformer model")
    ap.add_argument("--sentences", type=int, default=2400)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    model = load_model(Path(a.model) / "model")
    # the fp32 graph `--runtime onnx` uses (cached in MODEL_DIR/onnx/), with the [CLS]-only last layer
    fp32 = export(inference_module(model.model_), model.tokenizer_, Path(a.model) / "model/onnx")
    tok = AutoTokenizer.from_pretrained(str(Path(a.model) / "model"), trust_remote_code=False)
    sents = corpus_sentences()[:a.sentences]
    order = sorted(range(len(sents)), key=lambda i: len(sents[i]))
    batches = [(idx, tok([sents[j] for j in idx], padding=True, truncation=True, max_length=128,
                         return_tensors="np")) for idx in (order[i:i + 64] for i in range(0, len(order), 64))]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, onnxruntime "
          f"{ort.__version__}, {a.threads} threads, VNNI: {'vnni' in Path('/proc/cpuinfo').read_text()}, "
          f"native bf16: {cpu_supports_bf16()}")
    print(f"model: {a.model}; {len(sents)} corpus sentences, forward passes only\n")
    t_ref, ref = forward_all(fp32, batches, len(sents), a.threads)
    print(f"{'ONNX Runtime weights':<44}{'seconds':>9}{'x fp32':>8}{'agreement':>11}{'max |dlogit|':>14}")
    print(f"{'fp32':<44}{t_ref:>9.2f}{1.0:>8.2f}{1.0:>11.4f}{0.0:>14.3f}")
    tmp = Path(tempfile.mkdtemp())
    for i, (name, kwargs) in enumerate(SETTINGS.items()):
        q = tmp / f"q{i}.onnx"
        kwargs = dict(kwargs)
        exclude = [node for which in kwargs.pop("exclude", ()) for node in layer_nodes(fp32, which)]
        quantize_dynamic(str(fp32), str(q), weight_type=QuantType.QInt8, nodes_to_exclude=exclude, **kwargs)
        t, logits = forward_all(q, batches, len(sents), a.threads)
        agree = float((logits.argmax(1) == ref.argmax(1)).mean())
        print(f"{name:<44}{t:>9.2f}{t_ref / t:>8.2f}{agree:>11.4f}{np.abs(logits - ref).max():>14.3f}", flush=True)
        if name.endswith("(default)"):
            default = (t, logits)
    # what --runtime onnx-int8 ships: the default setting, its close calls scored again in fp32
    t, logits = default
    rows = set(close_calls(logits).tolist())
    close = [i for i in order if i in rows]  # length-sorted, as the other batches
    again = [(idx, tok([sents[j] for j in idx], padding=True, truncation=True, max_length=128, return_tensors="np"))
             for idx in (close[i:i + 64] for i in range(0, len(close), 64))]
    if again:
        t_again, fp32_again = forward_all(fp32, again, len(sents), a.threads)
        logits = logits.copy()
        logits[close] = fp32_again[close]
        t += t_again
    agree = float((logits.argmax(1) == ref.argmax(1)).mean())
    name = f"default + fp32 for {len(close) / len(sents):.1%} close calls"
    print(f"{name:<44}{t:>9.2f}{t_ref / t:>8.2f}{agree:>11.4f}{np.abs(logits - ref).max():>14.3f}", flush=True)


if __name__ == "__main__":
    main()
