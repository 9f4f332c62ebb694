"""`communique export RUN DIR`: a plain transformers folder that anyone can load with ``pipeline``.

The run's calibration temperature T is folded into the classifier: the final linear layer's
weight and bias are divided by T, so the logits the folder produces are the run's logits / T
and ``pipeline("text-classification", model=DIR, top_k=None)`` returns the calibrated
probabilities that ``communique predict`` prints. The folder holds the weights (safetensors),
``config.json`` with ``id2label``/``label2id``, the tokenizer, a ``README.md`` model card (Hugging
Face metadata: language, license, pipeline tag, model-index with the run's test metrics), and
``communique-export.json``, the mark that lets ``--force`` replace only a folder export wrote.

Example:
    >>> export_run("runs/minilm", "export/minilm")  # doctest: +SKIP
    >>> from transformers import pipeline  # doctest: +SKIP
    >>> pipeline("text-classification", model="export/minilm", top_k=None)("Kyiv rejected the plan.")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

from .errors import CommuniqueError
from .hub_card import LICENSE, write_card
from .labels import LABEL2ID, LABELS
from .rundir import RunDir, now, package_version, write_json

FORMATS = ("hf", "onnx")  # hf: weights + tokenizer + card; onnx: the same plus onnx/model.onnx
MARKER = "communique-export.json"  # written last; its presence means "export made this folder"


def export_run(run_dir: str | Path, out_dir: str | Path, fmt: str = "hf", force: bool = False,
               license: str = LICENSE) -> Path:
    """Write a finished transformer run as a self-contained transformers folder.

    Args:
        run_dir: a finished run directory of the ``transformer`` family.
        out_dir: the folder to write; an existing non-empty one needs ``force`` and is replaced
            only if a previous export wrote it (it holds ``communique-export.json``).
        fmt: ``hf`` (weights, tokenizer, card) or ``onnx`` (the same plus ``onnx/model.onnx``,
            whose ``logits`` output is already divided by the temperature).
        force: replace a folder that a previous export wrote.
        license: the ``license`` field of the model card (a Hub licence id, default ``other``).
    Returns:
        the export folder.
    Example:
        >>> export_run("runs/minilm", "export/minilm", fmt="onnx")  # doctest: +SKIP
    """
    run_dir = RunDir(run_dir).require_finished().path
    if fmt not in FORMATS:
        raise CommuniqueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    family = _family(run_dir)
    if family != "transformer":
        raise CommuniqueError(
            f"{run_dir}: a {family} run cannot be exported: only transformer runs are a transformers model "
            "(tfidf, embedding and ensemble runs have no single classifier for `pipeline`); export a run "
            "trained with a transformer config such as configs/minilm.yaml")
    if fmt == "onnx":
        _require_onnx()
    out = check_export_dir(out_dir, run_dir, force)

    from .models import load_model
    from .safety import OutputLock

    model = load_model(run_dir)
    net = fold_temperature(model.model_, model.tokenizer_, model.temperature_)
    tokenizer = copy.deepcopy(model.tokenizer_)
    tokenizer.model_max_length = model.max_length  # `pipeline(..., truncation=True)` then cuts where communique does
    tmp = out.with_name(f".{out.name}.export-tmp")
    with OutputLock(out):
        if tmp.exists():  # left by an export that was killed; the name is ours alone
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        try:
            net.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            if fmt == "onnx":
                _write_onnx(net, tokenizer, tmp / "onnx")
            write_card(run_dir, tmp, model.temperature_, license)
            write_json(tmp / MARKER, {"exported_by": "communique export", "version": package_version(),
                                      "source_run": str(run_dir.resolve()), "format": fmt,
                                      "temperature_folded": model.temperature_, "exported": now()})
            _replace(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return out


def check_export_dir(out_dir: str | Path, run_dir: Path, force: bool) -> Path:
    """``out_dir`` if export may write there: absent, empty, or (with ``force``) a previous export."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CommuniqueError(f"{out}: exists and is not a directory; choose another DIR")
    resolved, run = out.resolve(), run_dir.resolve()
    if resolved == run or resolved in run.parents:
        raise CommuniqueError(f"{out}: holds the run {run_dir}; export into a folder of its own")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise CommuniqueError(f"{out}: not empty and not written by `communique export` (no {MARKER}); "
                                  "refusing to touch it, even with --force; choose another DIR")
        if not force:
            raise CommuniqueError(f"{out}: an export already exists here; add --force to replace it")
    return out


def fold_temperature(model: Any, tokenizer: Any, temperature: float) -> Any:
    """A CPU fp32 copy of ``model`` whose final classifier layer is divided by ``temperature``.

    Checked on two sentences: the copy's logits must equal the original's divided by T, so an
    architecture whose head this does not find is refused rather than exported wrong.
    """
    import torch

    net = copy.deepcopy(model).to("cpu", dtype=torch.float32).eval()
    head = _classifier_head(net)
    with torch.no_grad():
        feats = tokenizer(["Moscow warned of a military response.", "Talks resume on Monday."], padding=True,
                          return_tensors="pt")
        before = net(**feats).logits
        head.weight.div_(temperature)
        if head.bias is not None:
            head.bias.div_(temperature)
        after = net(**feats).logits
    if not torch.allclose(after, before / temperature, rtol=1e-4, atol=1e-5):
        raise CommuniqueError(f"{type(model).__name__}: cannot fold the temperature into this architecture's "
                              "classifier (its logits are not a linear layer's output)")
    net.config.id2label = dict(enumerate(LABELS))
    net.config.label2id = dict(LABEL2ID)
    net.config.problem_type = "single_label_classification"  # softmax in `pipeline`, never sigmoid
    return net


def _classifier_head(model: Any) -> Any:
    """The linear layer that produces the logits: ``classifier`` (BERT, DeBERTa), ``classifier.out_proj``
    (RoBERTa), ``score`` (decoder classifiers), else the last ``Linear`` with one output per label."""
    from torch import nn

    for name in ("classifier", "score"):
        head = getattr(model, name, None)
        if isinstance(head, nn.Linear):
            return head
        if isinstance(getattr(head, "out_proj", None), nn.Linear):
            return head.out_proj
    linears = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == len(LABELS)]
    if not linears:
        raise CommuniqueError(f"{type(model).__name__}: no classifier layer with {len(LABELS)} outputs found")
    return linears[-1]


def _write_onnx(net: Any, tokenizer: Any, directory: Path) -> Path:
    """``onnx/model.onnx`` through the scorer's own export ([CLS]-only forward where the model allows)."""
    from .models.cls_forward import inference_module
    from .models.onnx_runtime import export

    path = export(inference_module(net), tokenizer, directory)
    target = directory / "model.onnx"
    if path != target:
        path.replace(target)
    return target


def _require_onnx() -> None:
    import importlib.util

    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise CommuniqueError(f"--format onnx needs {' and '.join(missing)}: pip install 'communique[onnx]'")


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished export into place; a previous export there is removed only now."""
    old = out.with_name(f".{out.name}.export-old")
    if out.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
    os.replace(tmp, out)
    if old.exists():
        shutil.rmtree(old)


def _family(run_dir: Path) -> str:
    meta_file = run_dir / "model" / "model.json"
    try:
        return str(json.loads(meta_file.read_text(encoding="utf-8")).get("family"))
    except (OSError, ValueError, AttributeError) as e:
        raise CommuniqueError(f"{meta_file}: unreadable ({e})") from None
