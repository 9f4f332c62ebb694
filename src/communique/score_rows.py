"""The rows of a scoring job, shared by both engines (:mod:`communique.score`, :mod:`communique.ray_engine`).

* :class:`ScoreOptions`: the options of a scoring job, with :func:`check_options` and
  :func:`apply_inference_options` (precision, runtime and batch size on the model);
* :func:`sentence_rows`: a chunk of articles segmented and classified into output rows
  (:data:`OUTPUT_COLUMNS`, then the carried-through input columns, :func:`carried_columns`);
* :func:`jsonl_line` and :func:`error_line`: a row, and a skipped input record, as written to disk;
* :func:`count_rows`, :func:`add_counts` and :func:`job_stats`: the counts a job returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .articles import Article, SkippedRecord
from .errors import CommuniqueError
from .labels import FALLBACK_LABEL, LABELS
from .models import StanceModel, check_inference, set_inference
from .segment import DEFAULT_BACKEND, LONGEST, PIECE, Sentence
from .segment_workers import segment_texts


@dataclass
class ScoreOptions:
    id_field: str = "id"  # id column of JSONL/CSV/Parquet input
    text_field: str = "text"  # text column of JSONL/CSV/Parquet input
    min_confidence: float = 0.0  # below this, the label becomes `other` (flagged in the row)
    on_error: str = "stop"  # stop | skip (malformed input records go to OUT.errors.jsonl)
    chunk_articles: int = 64  # articles per checkpoint; larger chunks sort better, lose more on a kill
    segmenter: str = DEFAULT_BACKEND
    workers: int | None = None  # segmentation processes beside the model; None: default_workers(), 0: none
    precision: str = "auto"  # auto (bf16 where the CPU/GPU has it) | bf16 | fp32, for transformer models
    batch_size: int = 64  # sentences per forward pass (sorted by length, padded per batch)
    runtime: str = "torch"  # torch | onnx | onnx-int8, for transformer models (see bench/README.md)
    force: bool = False  # discard an existing output or checkpoint and start over
    checkpoint_seconds: float = 5.0  # fsync and record progress at most this often (and at the end)
    stance_only: bool = False  # leave out a run's speaker/target tagger (not even loaded): no actor columns


def check_options(opts: ScoreOptions) -> None:
    """Validate the scoring options once, before any work."""
    if opts.on_error not in ("stop", "skip"):
        raise CommuniqueError(f"--on-error {opts.on_error!r}: choose stop or skip")
    if not 0.0 <= opts.min_confidence <= 1.0:
        raise CommuniqueError(f"--min-confidence {opts.min_confidence}: must be between 0 and 1")
    if opts.chunk_articles < 1:
        raise CommuniqueError("--chunk must be at least 1")
    if opts.workers is not None and (isinstance(opts.workers, bool) or not isinstance(opts.workers, int)
                                     or opts.workers < 0):
        raise CommuniqueError(f"--workers {opts.workers!r}: must be 0 (segment in the scoring process) or more")
    check_inference(opts.precision, opts.runtime, opts.batch_size)


def apply_inference_options(model: StanceModel, opts: ScoreOptions) -> None:
    """Set precision, batch size and runtime on a model (and on every member of an ensemble)."""
    set_inference(model, opts.precision, opts.runtime, opts.batch_size)


OUTPUT_COLUMNS = ("article_id", "sentence_index", "start", "end", "text", "label", "confidence",
                  *(f"p_{lab}" for lab in LABELS), "status", "reason", "source")


def carried_columns(meta: dict[str, Any]) -> dict[str, Any]:
    """Input columns to carry through; one that clashes with an output column gets an ``input_`` prefix
    (so a gold ``label`` column in the input never overwrites the prediction)."""
    return {f"input_{k}" if k in OUTPUT_COLUMNS else k: v for k, v in meta.items()}


def texts_to_segment(chunk: list[Article]) -> list[str | None]:
    """Each article's text, or ``None`` for one that cannot be scored (it is not segmented)."""
    return [art.text if art.status == "ok" else None for art in chunk]


def sentence_rows(chunk: list[Article], model: StanceModel, opts: ScoreOptions,
                  sentences: list[list[Sentence]] | None = None) -> list[dict[str, Any]]:
    """Classify a chunk of articles; return output rows in article order.

    ``sentences`` holds each article's sentences where they were segmented already (in worker
    processes, see :mod:`communique.segment_workers`); without it, the articles are segmented here.
    """
    if sentences is None:
        sentences = segment_texts(texts_to_segment(chunk), opts.segmenter)
    plan: list[tuple[Article, list]] = []
    texts: list[str] = []
    for art, sents in zip(chunk, sentences):
        if art.status == "ok" and not sents:
            art.status, art.reason = "empty", "no sentences found"
        plan.append((art, sents))
        texts.extend(s.text for s in sents)
    probs = model.predict_proba(texts) if texts else np.zeros((0, len(LABELS)))
    rows: list[dict[str, Any]] = []
    k = 0
    for art, sents in plan:
        meta = carried_columns(art.meta)
        if art.status != "ok":
            rows.append({"article_id": art.id, "sentence_index": None, "start": None, "end": None, "text": None,
                         "label": None, "confidence": None, **{f"p_{lab}": None for lab in LABELS},
                         "status": art.status, "reason": art.reason, "source": art.source, **meta})
            continue
        for i, s in enumerate(sents):
            p = probs[k]
            k += 1
            top = int(p.argmax())
            label, conf = LABELS[top], float(p[top])
            row = {"article_id": art.id, "sentence_index": i, "start": s.start, "end": s.end, "text": s.text,
                   "label": label, "confidence": round(conf, 6),
                   **{f"p_{lab}": round(float(v), 6) for lab, v in zip(LABELS, p)},
                   "status": "ok", "reason": "", "source": art.source}
            if s.cut:  # no sentence boundary: a piece of a long run of text, labelled but flagged
                row["status"] = "no-boundary"
                row["reason"] = f"no sentence boundary within {LONGEST} characters; cut into pieces of at most {PIECE}"
            elif s.furniture:  # layout, not a statement; the model's probabilities stay visible
                row["label"], row["status"] = FALLBACK_LABEL, "furniture"
                row["reason"] = "byline, caption, link or credit line"
            elif opts.min_confidence and conf < opts.min_confidence and label != FALLBACK_LABEL:
                row["label"] = FALLBACK_LABEL
                row["status"] = "low_confidence"
                row["reason"] = f"predicted {label} at {conf:.3f} < --min-confidence {opts.min_confidence}"
            row.update(meta)
            rows.append(row)
    if model.actors_ is not None and not opts.stance_only:  # who to whom: speaker and target columns, resolved within each article
        model.actors_.annotate(rows)
    return rows


def jsonl_line(item: dict[str, Any]) -> str:
    """One line of a scores (or summary) JSONL file: UTF-8 text kept as is, anything else as its string."""
    return json.dumps(item, ensure_ascii=False, default=str) + "\n"


def error_line(record: SkippedRecord) -> str:
    """One line of the errors file (``OUT.errors.jsonl``): a skipped input record and why."""
    return json.dumps(vars(record), ensure_ascii=False) + "\n"


def new_counts() -> dict[str, Any]:
    return {"articles": 0, "sentences": 0, "skipped_records": 0, "status": {}}


def count_rows(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts of output rows (only ``sentence_index`` and ``status`` are read): articles (each has one
    row with index None or 0), sentences, and rows of each status other than ``ok``."""
    counts = new_counts()
    for r in rows:
        counts["articles"] += r["sentence_index"] in (None, 0)
        counts["sentences"] += r["sentence_index"] is not None
        if r["status"] != "ok":
            counts["status"][r["status"]] = counts["status"].get(r["status"], 0) + 1
    return counts


def add_counts(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add the counts ``part`` to ``total``, in place."""
    for key in ("articles", "sentences", "skipped_records"):
        total[key] += part[key]
    for status, n in part["status"].items():
        total["status"][status] = total["status"].get(status, 0) + n


def job_stats(counts: dict[str, Any], output: str, seconds: float, resumed_from: int, errors_file: str,
              new_sentences: int) -> dict[str, Any]:
    """What a scoring job returns: its counts, output, time, where it resumed and its speed."""
    return {**counts, "output": output, "seconds": round(seconds, 2), "resumed_from": resumed_from,
            "errors_file": errors_file if counts["skipped_records"] else None,
            "sentences_per_s": round(new_sentences / max(seconds, 1e-9), 1)}
