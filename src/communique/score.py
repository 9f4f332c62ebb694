"""Batch scoring of articles: segment, classify, write one row per sentence.

Lossless and resumable:

* every input article appears in the output: unscorable ones get a row with
  ``status`` and ``reason``;
* rows are appended to ``OUT.partial.jsonl`` one chunk of articles at a time;
  every few seconds (``checkpoint_seconds``) the files are flushed and fsynced
  and a small checkpoint records how many articles are done and the byte length
  of the partial and errors files. Killed at any point, the same command
  truncates the files to the last checkpoint and skips the articles already
  done, so no row is duplicated or missing;
* the final file (JSONL, CSV or Parquet, by extension) is made from the partial
  file and renamed into place atomically.

Example:
    >>> stats = score(["data/articles"], "runs/minilm", "scores.jsonl")  # doctest: +SKIP
    >>> stats["articles"], stats["sentences"]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .articles import Article, SkippedRecord, iter_articles
from .errors import CommuniqueError, DataError
from .labels import FALLBACK_LABEL, LABELS
from .models import StanceModel, load_model, set_inference
from .models import check_inference
from .records import format_of, jsonl_records, parquet_records, read, strict
from .rundir import RunDir, write_json
from .safety import OutputLock, check_distinct
from .segment import DEFAULT_BACKEND, LONGEST, PIECE, segment

log = logging.getLogger(__name__)

OUTPUT_FORMATS = (".jsonl", ".csv", ".parquet")
SCORES_BATCH = 10_000  # rows per Parquet batch or CSV chunk when a scores file is read back


@dataclass
class ScoreOptions:
    id_field: str = "id"  # id column of JSONL/CSV/Parquet input
    text_field: str = "text"  # text column of JSONL/CSV/Parquet input
    min_confidence: float = 0.0  # below this, the label becomes `other` (flagged in the row)
    on_error: str = "stop"  # stop | skip (malformed input records go to OUT.errors.jsonl)
    chunk_articles: int = 64  # articles per checkpoint; larger chunks sort better, lose more on a kill
    segmenter: str = DEFAULT_BACKEND
    precision: str = "auto"  # auto (bf16 where the CPU/GPU has it) | bf16 | fp32, for transformer models
    batch_size: int = 64  # sentences per forward pass (sorted by length, padded per batch)
    runtime: str = "torch"  # torch | onnx | onnx-int8, for transformer models (see bench/README.md)
    force: bool = False  # discard an existing output or checkpoint and start over
    checkpoint_seconds: float = 5.0  # fsync and record progress at most this often (and at the end)


def _paths(out: Path) -> dict[str, Path]:
    return {"partial": out.with_name(out.name + ".partial.jsonl"),
            "checkpoint": out.with_name(out.name + ".checkpoint.json"),
            "errors": out.with_name(out.name + ".errors.jsonl")}


def _fingerprint(spec: str) -> Any:
    """Path, size and modification time of an input (of every file under a directory)."""
    if spec == "-":
        return "-"
    path = Path(spec)
    try:
        if path.is_dir():
            stats = [(q.relative_to(path).as_posix(), q.stat()) for q in sorted(path.rglob("*")) if q.is_file()]
            return [str(path.resolve()), [(name, st.st_size, st.st_mtime_ns) for name, st in stats]]
        st = path.stat()
        return [str(path.resolve()), st.st_size, st.st_mtime_ns]
    except OSError:
        return [str(path), None]


def _signature(inputs: Sequence[str], run_dir: str, opts: ScoreOptions) -> str:
    """Identifies the job, so a checkpoint is only resumed by the same command on unchanged inputs.

    ``on_error`` is left out: a job stopped on a malformed record may continue with ``skip``.
    """
    key = {"inputs": [_fingerprint(i) for i in inputs], "model": str(Path(run_dir).resolve()),
           "id_field": opts.id_field, "text_field": opts.text_field, "min_confidence": opts.min_confidence,
           "segmenter": opts.segmenter, "precision": opts.precision, "runtime": opts.runtime,
           "chunk_articles": opts.chunk_articles}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def check_output_path(out: Path, flag: str = "--out") -> None:
    """An output file path whose nearest existing ancestor is a directory, and not itself a directory."""
    if out.is_dir():
        raise CommuniqueError(f"{out}: {flag} is a directory; give a file name such as {out / 'scores.jsonl'}")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CommuniqueError(f"{out}: {flag} cannot be written: {parent} is a file, not a directory")
            break


def _chunks(articles: Iterator[Article], size: int) -> Iterator[list[Article]]:
    chunk: list[Article] = []
    for art in articles:
        chunk.append(art)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


OUTPUT_COLUMNS = ("article_id", "sentence_index", "start", "end", "text", "label", "confidence",
                  *(f"p_{lab}" for lab in LABELS), "status", "reason", "source")


def carried_columns(meta: dict[str, Any]) -> dict[str, Any]:
    """Input columns to carry through; one that clashes with an output column gets an ``input_`` prefix
    (so a gold ``label`` column in the input never overwrites the prediction)."""
    return {f"input_{k}" if k in OUTPUT_COLUMNS else k: v for k, v in meta.items()}


def sentence_rows(chunk: list[Article], model: StanceModel, opts: ScoreOptions) -> list[dict[str, Any]]:
    """Segment and classify a chunk of articles; return output rows in article order."""
    plan: list[tuple[Article, list]] = []
    texts: list[str] = []
    for art in chunk:
        sents = segment(art.text, backend=opts.segmenter) if art.status == "ok" else []
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
    if model.actors_ is not None:  # who to whom: speaker and target columns, resolved within each article
        model.actors_.annotate(rows)
    return rows


def _malloc_trim():
    """A function that returns freed heap memory to the OS (glibc), or a no-op elsewhere.

    Transformer batches of varying shapes fragment glibc's heap: without this, a MiniLM scoring
    job's peak memory crept from 790 MB (250 articles) to 1,060 MB (4,000 articles) in
    bench/memory.py; with it, 800-890 MB. Called between chunks, at most every 2 seconds.
    """
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda pad: 0


class _Appender:
    """A file appended to in binary, opened on first write, made durable on ``sync``."""

    def __init__(self, path: Path):
        self.path, self._f = path, None

    def write(self, lines: list[str]) -> None:
        if lines:
            if self._f is None:
                self._f = self.path.open("ab")
            self._f.write("".join(lines).encode("utf-8"))

    def sync(self) -> int | None:
        """Flush and fsync; the file's length in bytes (None when never written)."""
        if self._f is None:
            return None
        self._f.flush()
        os.fsync(self._f.fileno())
        return self._f.tell()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


def _finalise(partial: Path, out: Path) -> None:
    """Turn the partial JSONL into the requested format and rename it into place atomically."""
    tmp = out.with_name(out.name + ".tmp")
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        os.replace(partial, out)
        return
    import pandas as pd

    reader = pd.read_json(partial, lines=True, chunksize=50_000, dtype=False, precise_float=True)
    if suffix == ".csv":
        for i, frame in enumerate(reader):
            frame.to_csv(tmp, mode="w" if i == 0 else "a", header=i == 0, index=False)
        if not tmp.exists():
            tmp.write_text("")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        for frame in reader:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)
        if writer is not None:
            writer.close()
    os.replace(tmp, out)
    partial.unlink()


def score(inputs: Sequence[str], run_dir: str | Path | StanceModel, out: str | Path,
          opts: ScoreOptions | None = None, summary: str | Path | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Score articles into ``out``; resume an interrupted identical job.

    Args:
        inputs: directories of .txt/.md files, .jsonl/.csv/.parquet files, or ``-`` for stdin (JSONL).
        run_dir: a finished run directory (or a loaded model).
        out: output file; ``.jsonl`` (default), ``.csv`` or ``.parquet``.
        summary: optional per-article summary file (JSONL).
    Returns:
        counts: articles, sentences, per status, skipped records, seconds.
    """
    opts = opts or ScoreOptions()
    out = Path(out)
    check_options(out, opts)
    paths = _paths(out)
    check_output_path(out)
    if summary:
        check_output_path(Path(summary), "--summary")
    check_distinct({"--out": out, "the partial file": paths["partial"], "the checkpoint": paths["checkpoint"],
                    "the errors file": paths["errors"], "--summary": summary}, inputs)
    for spec in inputs:
        if spec != "-" and not Path(spec).exists():
            raise DataError(f"{spec}: no such file or directory")
    # the model is loaded before anything on disk changes: a bad --model never costs an old output
    model = run_dir if isinstance(run_dir, StanceModel) else load_model(RunDir(run_dir).require_finished().path)
    apply_inference_options(model, opts)
    model_id = run_dir if not isinstance(run_dir, StanceModel) else "<in-memory model>"
    with OutputLock(out):
        return _run_job(inputs, model, str(model_id), out, paths, opts, summary, progress)


def check_options(out: Path, opts: ScoreOptions) -> None:
    """Validate the scoring options once, before any work."""
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise CommuniqueError(f"{out}: unsupported output format {out.suffix!r}; use {', '.join(OUTPUT_FORMATS)}")
    if opts.on_error not in ("stop", "skip"):
        raise CommuniqueError(f"--on-error {opts.on_error!r}: choose stop or skip")
    if not 0.0 <= opts.min_confidence <= 1.0:
        raise CommuniqueError(f"--min-confidence {opts.min_confidence}: must be between 0 and 1")
    if opts.chunk_articles < 1:
        raise CommuniqueError("--chunk must be at least 1")
    check_inference(opts.precision, opts.runtime, opts.batch_size)


def apply_inference_options(model: StanceModel, opts: ScoreOptions) -> None:
    """Set precision, batch size and runtime on a model (and on every member of an ensemble)."""
    set_inference(model, opts.precision, opts.runtime, opts.batch_size)


def _start_state(out: Path, paths: dict[str, Path], signature: str, opts: ScoreOptions,
                 summary: str | Path | None) -> dict[str, Any]:
    """A fresh state, or the checkpointed one of the same unfinished job; with ``--force``, remove
    this job's own files (output, partial, checkpoint, errors, summary) and start over."""
    state = {"signature": signature, "on_error": opts.on_error, "articles_done": 0, "partial_bytes": 0,
             "errors_bytes": 0, "finalising": False,
             "counts": {"articles": 0, "sentences": 0, "skipped_records": 0, "status": {}}}
    own = [out, *paths.values(), *([Path(summary)] if summary else [])]
    if opts.force:
        for p in own:
            p.unlink(missing_ok=True)
        return state
    if paths["checkpoint"].exists():
        try:
            saved = json.loads(paths["checkpoint"].read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise CommuniqueError(f"{paths['checkpoint']}: damaged checkpoint; pass --force to start over") from None
        if not isinstance(saved, dict) or saved.get("signature") != signature:
            raise CommuniqueError(f"{paths['checkpoint']}: an unfinished job with different inputs or options "
                                  "(or since-changed input files) wrote here; rerun it as it was, or pass --force to start over")
        if saved.get("on_error") == "skip" and opts.on_error == "stop":
            raise CommuniqueError(f"{paths['checkpoint']}: this job was started with --on-error skip; "
                                  "rerun it with --on-error skip, or pass --force to start over")
        saved["on_error"] = opts.on_error
        log.info("resuming: %d articles already scored", saved["articles_done"])
        return saved
    for p, what in ((out, "the output"), (Path(summary) if summary else None, "the summary"),
                    (paths["errors"], "an errors file from an earlier job")):
        if p is not None and p.exists():
            raise CommuniqueError(f"{p}: {what} already exists; pass --force to overwrite it")
    return state


def _run_job(inputs: Sequence[str], model: StanceModel, model_id: str, out: Path, paths: dict[str, Path],
             opts: ScoreOptions, summary: str | Path | None, progress: bool) -> dict[str, Any]:
    """The resumable job, under the output's lock."""
    state = _start_state(out, paths, _signature(inputs, model_id, opts), opts, summary)
    out.parent.mkdir(parents=True, exist_ok=True)
    finalising = state.get("finalising", False)
    for key, size_key in (("partial", "partial_bytes"), ("errors", "errors_bytes")):
        p = paths[key]
        if p.exists():
            with p.open("r+b") as f:  # drop anything written after the last checkpoint
                f.truncate(state[size_key])
        elif state[size_key] and not (finalising and key == "partial" and out.exists()):
            raise CommuniqueError(f"{p}: missing, but the checkpoint says it held data; pass --force to start over")

    counts = state["counts"]
    start = time.time()
    done_before = state["articles_done"]
    new_sentences = 0
    if not finalising:
        new_sentences = _score_articles(inputs, model, paths, opts, state, progress, start)
        state["finalising"] = True  # from here a rerun only redoes the idempotent steps below
        write_json(paths["checkpoint"], state)
    if paths["partial"].exists() or not out.exists():
        if not paths["partial"].exists():
            paths["partial"].write_text("")
        _finalise(paths["partial"], out)
    if summary:
        write_summary(out, summary)
    paths["checkpoint"].unlink(missing_ok=True)
    seconds = time.time() - start
    return {**counts, "output": str(out), "seconds": round(seconds, 2), "resumed_from": done_before,
            "errors_file": str(paths["errors"]) if counts["skipped_records"] else None,
            "sentences_per_s": round(new_sentences / max(seconds, 1e-9), 1)}


def _score_articles(inputs: Sequence[str], model: StanceModel, paths: dict[str, Path], opts: ScoreOptions,
                    state: dict[str, Any], progress: bool, start: float) -> int:
    """Score every article not yet done, chunk by chunk; return the new sentences.

    Rows are appended after every chunk; every ``opts.checkpoint_seconds`` (and at the end) both
    files are fsynced and the checkpoint records how many articles are done and the files' lengths.
    A rerun truncates the files to those lengths, so a kill at any instant loses nothing it cannot redo.
    """
    skipped: list[SkippedRecord] = []
    articles = iter_articles(inputs, opts.id_field, opts.text_field, opts.on_error, skipped.append)
    counts = state["counts"]
    partial, errors = _Appender(paths["partial"]), _Appender(paths["errors"])

    def checkpoint() -> None:
        state["partial_bytes"] = partial.sync() or state["partial_bytes"]
        state["errors_bytes"] = errors.sync() or state["errors_bytes"]
        write_json(paths["checkpoint"], state)

    from tqdm import tqdm

    bar = tqdm(desc="scoring", unit=" articles", disable=not progress, initial=0)
    to_skip = state["articles_done"]
    new_articles = new_sentences = 0
    trim, trimmed_at, saved_at = _malloc_trim(), time.monotonic(), time.monotonic()
    try:
        for chunk in _chunks(articles, opts.chunk_articles):
            if to_skip >= len(chunk):  # already scored before the interruption
                to_skip -= len(chunk)
                skipped.clear()
                continue
            chunk, to_skip = chunk[to_skip:], 0
            rows = sentence_rows(chunk, model, opts)
            partial.write([json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows])
            errors.write([json.dumps(vars(r), ensure_ascii=False) + "\n" for r in skipped])
            counts["skipped_records"] += len(skipped)
            skipped.clear()
            state["articles_done"] += len(chunk)
            n_sent = sum(1 for r in rows if r["sentence_index"] is not None)
            counts["articles"] += len(chunk)
            counts["sentences"] += n_sent
            for r in rows:
                if r["status"] != "ok":
                    counts["status"][r["status"]] = counts["status"].get(r["status"], 0) + 1
            if time.monotonic() - saved_at >= opts.checkpoint_seconds:
                checkpoint()
                saved_at = time.monotonic()
            if time.monotonic() - trimmed_at > 2.0:  # at most every 2 s: per fast chunk it would cost ~4%
                trim(0)
                trimmed_at = time.monotonic()
            new_articles += len(chunk)
            new_sentences += n_sent
            elapsed = max(time.time() - start, 1e-9)
            bar.update(len(chunk))
            bar.set_postfix_str(f"{new_articles / elapsed:.1f} art/s, {new_sentences / elapsed:.0f} sent/s")
        errors.write([json.dumps(vars(r), ensure_ascii=False) + "\n" for r in skipped])  # after the last article
        counts["skipped_records"] += len(skipped)
        checkpoint()
    except DataError:
        checkpoint()  # a stop on a malformed record keeps every chunk before it: a rerun with skip goes on from there
        raise
    finally:
        bar.close()
        partial.close()
        errors.close()
    return new_sentences


def read_scores(path: str | Path):
    """Load a scores file (JSONL, CSV or Parquet) as a pandas DataFrame."""
    import pandas as pd

    path = Path(path)
    fmt = format_of(path, ", ".join(OUTPUT_FORMATS))
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path, float_precision="round_trip")
    return pd.read_json(path, lines=True, dtype=False, precise_float=True)


def rows_from_binary(f, suffix: str, name: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of an open binary scores file or shard, streamed: JSONL line by line, Parquet batch by batch."""
    name = name or str(getattr(f, "name", "<scores>"))
    if format_of(name, ", ".join(OUTPUT_FORMATS), suffix) == "parquet":
        rows = parquet_records(f, name, SCORES_BATCH)
    else:
        rows = jsonl_records(f, name)
    return (rec.record for rec in strict(rows))


def _iter_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a scores file, streamed (JSONL line by line, CSV in chunks, Parquet batch by batch)."""
    records = read(path, use=", ".join(OUTPUT_FORMATS), batch_size=SCORES_BATCH, csv_dtype={"article_id": str})
    return (rec.record for rec in strict(records))


def summarise(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Per article: count of each label and its most confident sentence of each label; with actor
    columns, also the article's dyads (speaker actor, target actor, label, count).

    Streams: an article's rows must be contiguous, as ``score`` (and each Ray shard) writes them.
    """
    from .actors.dyads import article_dyads

    aid, agg, stance_rows = None, None, []

    def done() -> dict[str, Any]:
        return {"article_id": aid, **agg, **({"dyads": article_dyads(stance_rows)} if with_actors else {})}

    with_actors = False
    for row in rows:
        if row["article_id"] != aid:
            if aid is not None:
                yield done()
            aid, stance_rows = row["article_id"], []
            agg = {"status": row["status"] if row.get("sentence_index") is None else "ok",
                   "sentences": 0, "counts": dict.fromkeys(LABELS, 0), "top": {}}
        if "speaker_actor" in row:  # scored with actors: the summary gains the article's dyads
            with_actors = True
            if row.get("speaker_actor"):
                stance_rows.append(row)
        if row.get("sentence_index") is None or row.get("label") is None:
            agg["reason"] = row.get("reason")
            continue
        agg["sentences"] += 1
        agg["counts"][row["label"]] += 1
        best = agg["top"].get(row["label"])
        if best is None or row["confidence"] > best["confidence"]:
            agg["top"][row["label"]] = {"sentence_index": int(row["sentence_index"]), "text": row["text"],
                                        "confidence": row["confidence"]}
    if aid is not None:
        yield done()


def summary_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for item in summarise(rows):
        yield json.dumps(item, ensure_ascii=False, default=str) + "\n"


def write_summary(scores: str | Path, out: str | Path) -> Path:
    """Write the per-article summary (JSONL) of a scores file, atomically."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.writelines(summary_lines(_iter_rows(Path(scores))))
    os.replace(tmp, out)
    return out
