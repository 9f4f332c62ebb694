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
  file and renamed into place atomically;
* three stages overlap: the next chunks are segmented in worker processes
  (:mod:`communique.segment_workers`), the model scores the current one, and a writer
  thread appends the rows of the ones before and checkpoints. Rows keep the input's order.

This module holds the job and its checkpoint; the rows come from :mod:`communique.score_rows`
and the conversion and summary from :mod:`communique.scores_file`, both shared with the Ray
engine (:mod:`communique.ray_engine`).

Example:
    >>> stats = score(["data/articles"], "runs/minilm", "scores.jsonl")  # doctest: +SKIP
    >>> stats["articles"], stats["sentences"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .articles import Article, SkippedRecord, iter_articles
from .errors import CommuniqueError, DataError
from .models import StanceModel, load_model
from .rundir import RunDir, write_json
from .safety import OutputLock, check_distinct, check_output_path
from .score_rows import (ScoreOptions, add_counts, apply_inference_options, check_options, count_rows, error_line,
                         job_stats, jsonl_line, new_counts, sentence_rows, texts_to_segment)
from .scores_file import OUTPUT_FORMATS, write_converted, write_summary
from .segment_workers import default_workers, segmented

log = logging.getLogger(__name__)


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
           "chunk_articles": opts.chunk_articles, **({"stance_only": True} if opts.stance_only else {})}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]



def _chunks(articles: Iterator[Article], size: int) -> Iterator[list[Article]]:
    chunk: list[Article] = []
    for art in articles:
        chunk.append(art)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk



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
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        os.replace(partial, out)
        return
    tmp = out.with_name(out.name + ".tmp")
    write_converted(partial, tmp, suffix)
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
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise CommuniqueError(f"{out}: unsupported output format {out.suffix!r}; use {', '.join(OUTPUT_FORMATS)}")
    check_options(opts)
    if opts.workers is None:
        opts = dataclasses.replace(opts, workers=default_workers())
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
    model = (run_dir if isinstance(run_dir, StanceModel)
             else load_model(RunDir(run_dir).require_finished().path, actors=not opts.stance_only))
    apply_inference_options(model, opts)
    model_id = run_dir if not isinstance(run_dir, StanceModel) else "<in-memory model>"
    with OutputLock(out):
        return _run_job(inputs, model, str(model_id), out, paths, opts, summary, progress)


def _start_state(out: Path, paths: dict[str, Path], signature: str, opts: ScoreOptions,
                 summary: str | Path | None) -> dict[str, Any]:
    """A fresh state, or the checkpointed one of the same unfinished job; with ``--force``, remove
    this job's own files (output, partial, checkpoint, errors, summary) and start over."""
    state = {"signature": signature, "on_error": opts.on_error, "articles_done": 0, "partial_bytes": 0,
             "errors_bytes": 0, "finalising": False, "counts": new_counts()}
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
    return job_stats(counts, str(out), time.time() - start, done_before, str(paths["errors"]), new_sentences)


def _score_articles(inputs: Sequence[str], model: StanceModel, paths: dict[str, Path], opts: ScoreOptions,
                    state: dict[str, Any], progress: bool, start: float) -> int:
    """Score every article not yet done, chunk by chunk; return the new sentences.

    Three stages run at once: segmentation of the next chunks in worker processes
    (:mod:`communique.segment_workers`, ``opts.workers``), the model on this chunk in this thread, and
    a writer thread (:class:`_Writer`) that appends the rows of the chunks before it and checkpoints
    by time. Rows reach the files in input order, whatever the number of workers.
    """
    skipped: list[SkippedRecord] = []
    articles = iter_articles(inputs, opts.id_field, opts.text_field, opts.on_error, skipped.append)

    def chunks() -> Iterator[tuple[list[Article], list[SkippedRecord]]]:
        """Chunks not yet done, each with the records skipped while reading it."""
        to_skip = state["articles_done"]
        for chunk in _chunks(articles, opts.chunk_articles):
            bad = skipped[:]
            skipped.clear()
            if to_skip >= len(chunk):  # already scored before the interruption (its skipped records too)
                to_skip -= len(chunk)
                continue
            yield chunk[to_skip:], bad
            to_skip = 0

    def texts(item: tuple[list[Article], list[SkippedRecord]]) -> list[str | None]:
        return texts_to_segment(item[0])

    from tqdm import tqdm

    bar = tqdm(desc="scoring", unit=" articles", disable=not progress, initial=0)
    writer = _Writer(paths, state, opts.checkpoint_seconds)
    new_articles = new_sentences = 0
    trim, trimmed_at = _malloc_trim(), time.monotonic()
    try:
        for (chunk, bad), sentences in segmented(chunks(), texts, opts.segmenter, opts.workers):
            rows = sentence_rows(chunk, model, opts, sentences)
            part = count_rows(rows)
            writer.put(rows, bad, part, len(chunk))
            if time.monotonic() - trimmed_at > 2.0:  # at most every 2 s: per fast chunk it would cost ~4%
                trim(0)
                trimmed_at = time.monotonic()
            new_articles += len(chunk)
            new_sentences += part["sentences"]
            elapsed = max(time.time() - start, 1e-9)
            bar.update(len(chunk))
            bar.set_postfix_str(f"{new_articles / elapsed:.1f} art/s, {new_sentences / elapsed:.0f} sent/s")
        writer.put([], skipped[:], new_counts(), 0)  # records skipped after the last article
        writer.finish()
    except DataError:
        writer.finish()  # a stop on a malformed record keeps every chunk before it: a rerun with skip goes on from there
        raise
    finally:
        bar.close()
        writer.close()
    return new_sentences


class _Writer:
    """A thread that appends rows and skipped records, counts them and checkpoints by time.

    At most ``QUEUE`` chunks wait for it, so a slow disk holds the model back instead of filling
    memory. It alone changes ``state`` (articles done, counts, file lengths) until :meth:`finish`,
    which writes everything queued and a last checkpoint. An error in the thread (a full disk) is
    raised in the caller at its next :meth:`put` or at :meth:`finish`.
    """

    QUEUE = 4

    def __init__(self, paths: dict[str, Path], state: dict[str, Any], every: float):
        self.paths, self.state, self.every = paths, state, every
        self.partial, self.errors = _Appender(paths["partial"]), _Appender(paths["errors"])
        self.queue: queue.Queue = queue.Queue(maxsize=self.QUEUE)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="communique-writer", daemon=True)
        self.thread.start()

    def put(self, rows: list[dict[str, Any]], skipped: list[SkippedRecord], part: dict[str, Any],
            articles: int) -> None:
        self._put((rows, skipped, part, articles))

    def _put(self, item) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        saved_at = time.monotonic()
        try:
            while (item := self.queue.get()) is not None:
                rows, skipped, part, articles = item
                self.partial.write([jsonl_line(r) for r in rows])
                self.errors.write([error_line(r) for r in skipped])
                part["skipped_records"] = len(skipped)
                add_counts(self.state["counts"], part)
                self.state["articles_done"] += articles
                if time.monotonic() - saved_at >= self.every:
                    self.checkpoint()
                    saved_at = time.monotonic()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            self.error = exc

    def checkpoint(self) -> None:
        """Flush and fsync both files, then record how far they hold."""
        self.state["partial_bytes"] = self.partial.sync() or self.state["partial_bytes"]
        self.state["errors_bytes"] = self.errors.sync() or self.state["errors_bytes"]
        write_json(self.paths["checkpoint"], self.state)

    def finish(self) -> None:
        """Write everything queued, stop the thread, and checkpoint."""
        if self.thread.is_alive():
            self._put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error
        self.checkpoint()

    def close(self) -> None:
        """Stop the thread without waiting for the queue (after an error) and close the files."""
        if self.thread.is_alive():
            self.error = self.error or CommuniqueError("scoring stopped")
            while self.thread.is_alive():  # make room for the stop signal, dropping unwritten chunks
                with contextlib.suppress(queue.Empty):
                    self.queue.get_nowait()
                with contextlib.suppress(queue.Full):
                    self.queue.put_nowait(None)
                self.thread.join(timeout=0.1)
        self.partial.close()
        self.errors.close()
