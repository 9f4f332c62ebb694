"""The Ray engine's output: a directory of JSONL or Parquet shards on a local path or object storage,
the Ray Data sink that writes and counts them, and reading the shards back (rows, the summary)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .score_rows import add_counts, count_rows, new_counts
from .scores_file import read_jsonl, rows_from_binary, summary_lines, write_parquet

SHARD_FORMATS = (".jsonl", ".parquet")  # the output is a directory of shards in this format


def filesystem(spec: str):
    """(pyarrow filesystem, path in it) for a local path or a URI such as ``s3://bucket/key``."""
    import pyarrow.fs as pafs

    if "://" in spec:
        return pafs.FileSystem.from_uri(spec)
    return pafs.LocalFileSystem(), os.path.abspath(spec)


def make_sink(out: str, fmt: str):
    """A Ray Data sink writing the ``line`` column as JSONL or Parquet shards, and counting rows."""
    from ray.data.datasource import BlockBasedFileDatasink

    class ScoresSink(BlockBasedFileDatasink):
        def __init__(self):
            super().__init__(out, file_format=fmt)
            self.counts: dict[str, Any] = new_counts()
            self.errors: list[str] = []

        def write(self, blocks, ctx):
            import pyarrow as pa
            import pyarrow.compute as pc

            tables = [b for b in blocks if b.num_rows]  # Arrow tables: SentenceScorer returns them
            if not tables:
                return json.dumps({**new_counts(), "errors": []})
            table = pa.concat_tables(tables)
            errors = table.filter(pc.is_valid(table.column("error"))).column("error").to_pylist()
            rows = table.filter(pc.is_valid(table.column("line")))
            counts = {**count_rows(rows.select(["sentence_index", "status"]).to_pylist()),
                      "skipped_records": len(errors), "errors": errors}
            if rows.num_rows:
                super().write([rows], ctx)
            return json.dumps(counts)

        def write_block_to_file(self, block, file):
            lines = block.to_arrow().column("line").to_pylist()
            if fmt == "jsonl":
                file.write("".join(lines).encode("utf-8"))
                return
            # the local engine's conversion: pandas reads the JSONL rows, Arrow writes them
            write_parquet([read_jsonl(io.StringIO("".join(lines)))], file)

        def on_write_complete(self, write_result):
            super().on_write_complete(write_result)
            for ret in write_result.write_returns:
                if ret is None:
                    continue
                part = json.loads(ret)
                add_counts(self.counts, part)
                self.errors.extend(part["errors"])

    return ScoresSink()


def iter_shard_rows(out: str) -> Iterator[dict[str, Any]]:
    """Rows of a Ray output directory (local or URI), shard by shard, streamed."""
    import pyarrow.fs as pafs

    fs, path = filesystem(out)
    shards = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
                    if i.type == pafs.FileType.File and Path(i.path).suffix.lower() in SHARD_FORMATS)
    for shard in shards:
        suffix = Path(shard).suffix.lower()
        # Parquet needs random access; pyarrow's streams cannot iterate lines, so JSONL gets a buffer
        opened = fs.open_input_file(shard) if suffix == ".parquet" else io.BufferedReader(fs.open_input_stream(shard))
        with opened as f:
            yield from rows_from_binary(f, suffix)


def write_shard_summary(out: str, summary: str) -> None:
    """The local engine's per-article summary, from the shards (an article's rows never span shards)."""
    fs, path = filesystem(summary)
    if "://" not in summary:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = path + ".tmp"
    with fs.open_output_stream(tmp) as f:
        for line in summary_lines(iter_shard_rows(out)):
            f.write(line.encode("utf-8"))
    fs.move(tmp, path)
