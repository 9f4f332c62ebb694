"""Batch scoring on Ray Data: the local scorer's rows, computed by a pool of model actors.

The pipeline has three stages:

1. **parse** (Ray tasks, one per input file): each JSONL or Parquet file is
   streamed through the same record checks as the local engine
   (:mod:`communique.articles`), so ids, ``source`` ("file:line" / "file:row n"),
   statuses and carried-through metadata are identical;
2. **score** (an actor pool): every actor loads the model once
   (:func:`~communique.models.load_model`) and turns batches of articles into
   rows with :func:`communique.score_rows.sentence_rows`, the local engine's code;
3. **write**: rows go to a *directory* of shards, ``OUT/*.jsonl`` (each line
   byte-identical to the local engine's) or ``OUT/*.parquet``, on a local path
   or object storage (``s3://``, ``gs://`` through pyarrow filesystems).

Shard order and row order across shards are not the input order: sort by
``source`` / ``article_id`` and ``sentence_index`` when it matters. The rows of
one article are always contiguous in one shard.

Example:
    >>> stats = score_ray(["s3://bucket/articles/"], "runs/minilm", "s3://bucket/scores.jsonl",
    ...                   ScoreOptions(), num_gpus=1, actors=8)  # doctest: +SKIP
    >>> stats["articles"], stats["sentences"]  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .articles import Article, SkippedRecord, rows_to_articles
from .errors import CommuniqueError, DataError
from .ray_shards import (
    SHARD_FORMATS,
    filesystem,
    make_sink,
    write_shard_summary,
)
from .records import Located, format_of, jsonl_records, parquet_records
from .rundir import RunDir
from .score_rows import (
    ScoreOptions,
    apply_inference_options,
    check_options,
    error_line,
    job_stats,
    jsonl_line,
    sentence_rows,
)

INPUT_FORMATS = (".jsonl", ".json", ".parquet")  # .json is read as JSONL, as by the local engine


def list_input_files(inputs: Sequence[str]) -> list[dict[str, str]]:
    """Expand inputs into files: ``uri`` (absolute, for the workers) and ``name`` (as the local engine writes it).

    A directory stands for the JSONL/Parquet files under it (recursively, sorted).
    """
    import pyarrow.fs as pafs

    files: list[dict[str, str]] = []
    for spec in inputs:
        if spec == "-":
            raise DataError("the Ray engine cannot read stdin; write the articles to a .jsonl file")
        fs, path = filesystem(spec)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise DataError(f"{spec}: no such file or directory")
        is_uri = "://" in spec
        if info.type == pafs.FileType.Directory:
            found = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
                           if i.type == pafs.FileType.File and Path(i.path).suffix.lower() in INPUT_FORMATS)
            if not found:
                raise DataError(f"{spec}: no .jsonl or .parquet files here; the Ray engine reads JSONL/Parquet "
                                "only (score directories of .txt/.md with the local engine)")
            for p in found:
                rel = p[len(path):].lstrip("/")
                name = f"{spec.rstrip('/')}/{rel}" if is_uri else str(Path(spec) / rel)
                files.append({"uri": name if is_uri else p, "name": name})
        elif Path(path).suffix.lower() in INPUT_FORMATS:
            files.append({"uri": spec if is_uri else path, "name": spec if is_uri else str(Path(spec))})
        else:
            raise DataError(f"{spec}: unsupported input {Path(path).suffix!r} for the Ray engine; use .jsonl or "
                            ".parquet files (or directories of them), or the local engine")
    return files


def _parquet_rows(fs, path: str, name: str) -> Iterator[Located]:
    with fs.open_input_file(path) as f:
        yield from parquet_records(f, name)


def _jsonl_rows(fs, path: str, name: str) -> Iterator[Located]:
    with io.BufferedReader(fs.open_input_stream(path)) as f:  # pyarrow streams cannot iterate lines
        yield from jsonl_records(f, name)


ARTICLE_COLUMNS = ("id", "text", "source", "meta", "status", "reason", "skipped")  # all strings


def _article_table(items: list[Article | SkippedRecord]):
    """Articles (meta as JSON) and skipped records (their errors-file line) as one Arrow table."""
    import pyarrow as pa

    cols: dict[str, list] = {c: [] for c in ARTICLE_COLUMNS}
    for it in items:
        if isinstance(it, SkippedRecord):
            vals = dict.fromkeys(ARTICLE_COLUMNS)
            vals["skipped"] = error_line(it)
        else:
            vals = {"id": it.id, "text": it.text, "source": it.source, "status": it.status, "reason": it.reason,
                    "meta": json.dumps(it.meta, ensure_ascii=False, default=str), "skipped": None}
        for c in ARTICLE_COLUMNS:
            cols[c].append(vals[c])
    return pa.table(cols, schema=pa.schema([(c, pa.string()) for c in ARTICLE_COLUMNS]))


def _parse_files(batch, opts: ScoreOptions):
    """Ray task: stream the given input files into tables of ``opts.chunk_articles`` articles."""
    pending: list[Article | SkippedRecord] = []
    for uri, name in zip(batch.column("uri").to_pylist(), batch.column("name").to_pylist()):
        fs, path = filesystem(uri)
        read = _parquet_rows if format_of(path) == "parquet" else _jsonl_rows
        articles = rows_to_articles(read(fs, path, name), opts.id_field, opts.text_field, opts.on_error, pending.append)
        yield from _drain(articles, pending, opts.chunk_articles)
    if pending:
        yield _article_table(pending)


def _drain(articles: Iterator[Article], pending: list, size: int):
    for art in articles:
        pending.append(art)
        if len(pending) >= size:
            yield _article_table(pending)
            pending.clear()


class SentenceScorer:
    """Ray actor: loads the model once, then turns batches of articles into output rows.

    Each output row holds ``line`` (the local engine's JSONL line) and, for
    counting (:func:`~communique.score_rows.count_rows`), ``sentence_index`` and
    ``status``; a skipped record holds ``error`` (its errors-file line) instead.
    """

    def __init__(self, run_dir: str, opts: ScoreOptions):
        from .models import load_model

        self.model = load_model(RunDir(run_dir).require_finished().path, actors=not opts.stance_only)
        apply_inference_options(self.model, opts)
        self.opts = opts

    def __call__(self, batch):
        import pyarrow as pa

        articles, errors = [], []
        for r in batch.to_pylist():
            if r["skipped"] is not None:
                errors.append(r["skipped"])
            else:
                articles.append(Article(r["id"], r["text"], r["source"], json.loads(r["meta"]), r["status"],
                                        r["reason"]))
        rows = sentence_rows(articles, self.model, self.opts)
        return pa.table({
            "line": [jsonl_line(r) for r in rows] + [None] * len(errors),
            "sentence_index": [r["sentence_index"] for r in rows] + [None] * len(errors),
            "status": [r["status"] for r in rows] + [None] * len(errors),
            "error": [None] * len(rows) + errors,
        }, schema=pa.schema([("line", pa.string()), ("sentence_index", pa.int64()), ("status", pa.string()),
                             ("error", pa.string())]))


def _communique_error(e: BaseException | None) -> CommuniqueError | None:
    """Our error (e.g. a malformed record) behind the exceptions Ray wraps task errors in, if any."""
    from ray.exceptions import RayError

    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, CommuniqueError) and not isinstance(e, RayError):  # not Ray's RayTaskError(DataError)
            return e
        seen.add(id(e))
        e = getattr(e, "cause", None) or e.__cause__
    return None


def score_ray(inputs: Sequence[str], run_dir: str | Path, out: str, opts: ScoreOptions | None = None,
              address: str | None = None, *, actors: int | tuple[int, int] | None = None,
              num_gpus: float = 0.0, num_cpus: float = 1.0, summary: str | None = None) -> dict[str, Any]:
    """Score articles on a Ray cluster into a directory of JSONL or Parquet shards.

    Args:
        inputs: .jsonl/.json/.parquet files or directories of them; local paths or URIs (``s3://``, ``gs://``).
        run_dir: a finished run directory, at the same path on every node (or on shared storage).
        out: output directory ending in ``.jsonl`` or ``.parquet`` (the format of its shards).
        opts: the local engine's options; ``chunk_articles`` is the batch of articles per model call.
        address: Ray cluster address; default ``$RAY_ADDRESS``, else a local cluster is started.
        actors: model actors: a fixed count, a (min, max) autoscaling range, or None for Ray's default.
        num_gpus: GPUs per actor (1 for a transformer on a GPU cluster; 0 to run on CPUs).
        num_cpus: CPUs per actor.
        summary: optional per-article summary file (JSONL, local path or URI), made from the shards.
    Returns:
        counts: articles, sentences, per status, skipped records, seconds, as the local engine.
    """
    import ray

    opts = opts or ScoreOptions()
    fmt = Path(out.rstrip("/")).suffix.lower()
    if fmt not in SHARD_FORMATS:
        raise CommuniqueError(f"{out}: the Ray engine writes a directory of shards; name it *.jsonl or *.parquet")
    check_options(opts)
    if opts.workers is not None:
        raise CommuniqueError("--workers is an option of the local engine: the Ray engine segments in its "
                              "scoring actors (--ray-actors)")
    run_dir = str(RunDir(Path(run_dir).resolve()).require_finished().path)
    from .models import load_model

    load_model(run_dir)  # a damaged model fails here, before any old output is removed
    import pyarrow.fs as pafs

    out_fs, out_path = filesystem(out)
    errors_uri = out.rstrip("/") + ".errors.jsonl"
    files = list_input_files(inputs)
    err_fs, err_path = filesystem(errors_uri)
    kind = out_fs.get_file_info(out_path).type
    if kind != pafs.FileType.NotFound:
        if not opts.force:
            raise CommuniqueError(f"{out}: already exists; pass --force to overwrite it")
        if kind == pafs.FileType.Directory:
            foreign = [i.path for i in out_fs.get_file_info(pafs.FileSelector(out_path, recursive=True))
                       if i.type == pafs.FileType.File and not i.path.endswith(fmt)]
            if foreign:
                raise CommuniqueError(f"{out}: holds files that are not {fmt} shards ({foreign[0]}); refusing to "
                                      "delete it, even with --force")
        out_fs.delete_dir(out_path) if kind == pafs.FileType.Directory else out_fs.delete_file(out_path)
    if opts.force and err_fs.get_file_info(err_path).type == pafs.FileType.File:
        err_fs.delete_file(err_path)

    started = False
    if not ray.is_initialized():
        ray.init(address=address or os.environ.get("RAY_ADDRESS"))  # None: a local cluster
        started = True
    start = time.time()
    try:
        parsed = ray.data.from_items(files, override_num_blocks=len(files)).map_batches(
            _parse_files, batch_size=1, batch_format="pyarrow", fn_kwargs={"opts": opts})
        pool = (ray.data.ActorPoolStrategy(size=actors) if isinstance(actors, int) else
                ray.data.ActorPoolStrategy(min_size=actors[0], max_size=actors[1]) if actors else
                ray.data.ActorPoolStrategy(min_size=1, max_size=None))  # None: as many as resources allow
        scored = parsed.repartition(target_num_rows_per_block=opts.chunk_articles).map_batches(
            SentenceScorer, fn_constructor_args=(run_dir, opts), batch_size=opts.chunk_articles,
            batch_format="pyarrow", compute=pool, num_gpus=num_gpus, num_cpus=num_cpus)
        sink = make_sink(out, fmt.lstrip("."))
        try:
            scored.write_datasink(sink)
        except Exception as e:
            if sink.has_created_dir:  # no resume on Ray: drop the failed job's shards so a rerun starts clean
                out_fs.delete_dir(out_path)
            ours = _communique_error(e)
            if ours is None:
                raise
            raise ours from None
    finally:
        if started:
            ray.shutdown()
    if sink.errors:
        with err_fs.open_output_stream(err_path) as f:
            f.write("".join(sink.errors).encode("utf-8"))
    if summary:
        write_shard_summary(out, summary)
    return job_stats(sink.counts, out, time.time() - start, 0, errors_uri, sink.counts["sentences"])
