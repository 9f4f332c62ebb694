"""ONNX Runtime inference for fine-tuned transformers (optional: ``pip install communique[onnx]``).

The model is exported once from its safetensors weights (no pickle, no remote
code) into ``MODEL_DIR/onnx/``, optionally with dynamic int8 weights; later runs
reuse the file. Whether it pays off is measured in ``bench/score_throughput.py``
(speed and label agreement with the fp32 PyTorch model).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
from .inference import RUNTIMES  # noqa: F401  (the runtimes this module serves)


def export(net: torch.nn.Module, tokenizer, directory: Path, int8: bool = False) -> Path:
    """Export ``net`` (from ``cls_forward.inference_module``) to ONNX with dynamic batch and length;
    quantise it to int8 if asked.

    The [CLS]-only forward is cached under its own file name, so an export of the full forward
    (made by an older version, or for another architecture) is never mistaken for it.
    """
    from .cls_forward import ClsOnlyForward

    directory.mkdir(parents=True, exist_ok=True)
    stem = "model-cls" if isinstance(net, ClsOnlyForward) else "model"
    fp32 = directory / f"{stem}.onnx"
    if not fp32.exists():
        sample = tokenizer(["a short sentence", "a somewhat longer sample sentence here"], padding=True,
                           return_tensors="pt")
        names = [k for k in INPUTS if k in sample]
        tmp = directory / f"{stem}.onnx.tmp"
        net.to("cpu").eval()
        with torch.inference_mode():
            torch.onnx.export(net, tuple(sample[k] for k in names), str(tmp), input_names=names,
                              output_names=["logits"], dynamic_axes={k: {0: "batch", 1: "length"} for k in names},
                              opset_version=17, dynamo=False)
        tmp.replace(fp32)
        log.info("exported %s", fp32)
    if not int8:
        return fp32
    q = directory / f"{stem}.int8-r7.onnx"
    if not q.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = directory / f"{stem}.int8-r7.onnx.tmp"
        # Per-channel 7-bit weights on the MatMuls only (embeddings and the small head stay fp32).
        # Full 8-bit weights can saturate the 16-bit intermediate sums of u8*s8 kernels on CPUs
        # without VNNI; on the reference CPU (AVX2) they agreed with fp32 on 99.25-99.4% of labels,
        # 7-bit weights on 99.58% at the same speed (bench/onnx_quantisation.py).
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=True, op_types_to_quantize=["MatMul"])
        tmp.replace(q)
        log.info("quantised %s", q)
    return q


class OnnxSession:
    """A CPU InferenceSession that takes the tokenizer's numpy features and returns logits."""

    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]

    def __call__(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], {k: feats[k].astype(np.int64) for k in self.names})[0]


def cached_session(sessions: dict, net, tokenizer, directory: Path, int8: bool = False) -> OnnxSession:
    """The session of ``net`` exported into ``directory`` (int8 or not), made once per torch thread count
    and kept in ``sessions``, the caller's own cache. ``net`` is a callable returning the module to export,
    so a cached session never builds it."""
    key = (int8, torch.get_num_threads())
    if key not in sessions:
        sessions[key] = OnnxSession(export(net(), tokenizer, directory, int8=int8), threads=key[1])
    return sessions[key]
