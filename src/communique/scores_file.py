"""Scores files: reading them back, converting JSONL rows to CSV or Parquet, and per-article summaries.

A scores file is the output of ``communique score`` (:data:`OUTPUT_FORMATS`), or one shard of the
Ray engine's output directory.

* :func:`read_scores`: a whole scores file as a pandas DataFrame;
* :func:`iter_rows` and :func:`rows_from_binary`: its rows, streamed (a path; an open file or shard);
* :func:`read_jsonl`, :func:`write_converted` and :func:`write_parquet`: the one conversion of JSONL
  rows to CSV or Parquet (pandas reads the rows, Arrow writes them), used by both engines;
* :func:`summarise`, :func:`summary_lines` and :func:`write_summary`: the per-article summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .labels import LABELS
from .records import format_of, jsonl_records, parquet_records, read, strict
from .score_rows import jsonl_line

OUTPUT_FORMATS = (".jsonl", ".csv", ".parquet")
SCORES_BATCH = 10_000  # rows per Parquet batch or CSV chunk when a scores file is read back
CONVERT_ROWS = 50_000  # rows per pandas frame when JSONL rows are converted to CSV or Parquet


def read_scores(path: str | Path):
    """Load a scores file (JSONL, CSV or Parquet) as a pandas DataFrame."""
    import pandas as pd

    path = Path(path)
    fmt = format_of(path, ", ".join(OUTPUT_FORMATS))
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path, float_precision="round_trip")
    return read_jsonl(path)


def rows_from_binary(f, suffix: str, name: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of an open binary scores file or shard, streamed: JSONL line by line, Parquet batch by batch."""
    name = name or str(getattr(f, "name", "<scores>"))
    if format_of(name, ", ".join(OUTPUT_FORMATS), suffix) == "parquet":
        rows = parquet_records(f, name, SCORES_BATCH)
    else:
        rows = jsonl_records(f, name)
    return (rec.record for rec in strict(rows))


def iter_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a scores file, streamed (JSONL line by line, CSV in chunks, Parquet batch by batch)."""
    records = read(path, use=", ".join(OUTPUT_FORMATS), batch_size=SCORES_BATCH, csv_dtype={"article_id": str})
    return (rec.record for rec in strict(records))


def read_jsonl(source, chunksize: int | None = None):
    """JSONL rows as a pandas DataFrame (or frames of ``chunksize`` rows): strings stay strings, floats exact."""
    import pandas as pd

    return pd.read_json(source, lines=True, dtype=False, precise_float=True, chunksize=chunksize)


def write_parquet(frames: Iterable, dest) -> None:
    """Write pandas frames to one Parquet file (a path or an open file), cast to the first frame's schema;
    no frames, no file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for frame in frames:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(dest, table.schema)
        writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)
    if writer is not None:
        writer.close()


def write_converted(jsonl: Path, dest: Path, suffix: str) -> None:
    """Write the rows of a JSONL file to ``dest`` as CSV or Parquet (``suffix``), a frame at a time."""
    frames = read_jsonl(jsonl, chunksize=CONVERT_ROWS)
    if suffix == ".csv":
        for i, frame in enumerate(frames):
            frame.to_csv(dest, mode="w" if i == 0 else "a", header=i == 0, index=False)
        if not dest.exists():
            dest.write_text("")
    else:
        write_parquet(frames, dest)


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
        yield jsonl_line(item)


def write_summary(scores: str | Path, out: str | Path) -> Path:
    """Write the per-article summary (JSONL) of a scores file, atomically."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.writelines(summary_lines(iter_rows(Path(scores))))
    os.replace(tmp, out)
    return out
