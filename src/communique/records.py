"""Record files: the one reader of JSONL, CSV, Parquet and saved `datasets` directories.

Every record comes with its location: ``file:line`` for JSONL and CSV (lines counted from 1; a CSV
row spanning several lines is named by its last), ``file:row N`` for Parquet, saved datasets and
typed CSV (rows counted from 0). The format comes from the file's suffix, through :data:`FORMATS`
alone; ``.json`` is read as JSONL.

Nothing is read whole: JSONL a line at a time, CSV a row at a time (or a chunk at a time when
typed), Parquet a batch at a time, so memory stays flat however large the file.

A record that cannot be parsed (a malformed JSON line, a line that is not UTF-8, a CSV row with
more fields than the header) is yielded with ``error`` set, so that a caller may log it and go on;
:func:`strict` raises :class:`DataError` on the first one instead, naming its file and line.
Damage that ends a file (a truncated Parquet file, an unclosed CSV quote) always raises.

Example:
    >>> for rec in strict(read("data/corpus/train.jsonl")):  # doctest: +SKIP
    ...     print(rec.where, rec.record["id"])
    data/corpus/train.jsonl:1 c0001
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from .errors import DataError

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
FORMAT_HINT = ".jsonl, .csv, .parquet or a datasets dir"
MAX_FIELD_CHARS = 64 * 1024 * 1024  # the largest CSV field read; Python's default is 131,072
RAW_CHARS = 200  # of an undecodable line, kept for error logs


class Located(NamedTuple):
    """One record and where it was read."""

    where: str  # "file:line" or "file:row N", the prefix of any message about the record
    line: int  # the line (JSONL, CSV; from 1) or row (Parquet, datasets, typed CSV; from 0)
    record: Any  # the parsed record; None when ``error`` is set
    raw: str = ""  # the line as read (JSONL; a malformed CSV row as JSON), for error logs
    error: str | None = None  # why the record could not be parsed


def format_of(path: str | Path, use: str = FORMAT_HINT, suffix: str | None = None) -> str:
    """The format (``jsonl``, ``csv`` or ``parquet``) of ``path``'s suffix (or of ``suffix``)."""
    suffix = (Path(path).suffix if suffix is None else suffix).lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unsupported format {suffix!r}; use {use}")
    return FORMATS[suffix]


def read(path: str | Path, *, use: str = FORMAT_HINT, batch_size: int = 1024,
         csv_dtype: Mapping[str, Any] | None = None) -> Iterator[Located]:
    """Every record of a file, or of a saved `datasets` directory, with its location.

    A missing path or an unsupported suffix raises at once, before iteration. ``use`` lists the
    accepted inputs in that message. ``csv_dtype`` reads CSV typed (numbers as numbers, empty
    cells as None, the named columns as the given types) instead of as strings.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return dataset_records(path)
    fmt = format_of(path, use)
    if fmt == "jsonl":
        return _jsonl_file(path)
    if fmt == "csv":
        return csv_records(path) if csv_dtype is None else typed_csv_records(path, csv_dtype, batch_size)
    return parquet_records(path, str(path), batch_size)


def strict(records: Iterable[Located]) -> Iterator[Located]:
    """The records, raising :class:`DataError` (file and line) at the first that could not be parsed."""
    for rec in records:
        if rec.error is not None:
            raise DataError(f"{rec.where}: {rec.error}")
        yield rec


def jsonl_records(stream: BinaryIO | Iterable[bytes], name: str) -> Iterator[Located]:
    """Each non-blank line of a binary stream (a file, stdin), parsed as JSON; ``name`` names it."""
    for lineno, raw in enumerate(stream, 1):
        where = f"{name}:{lineno}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield Located(where, lineno, None, raw[:RAW_CHARS].decode("utf-8", "replace"),
                          f"not valid UTF-8 ({e.reason} at byte {e.start})")
            continue
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            yield Located(where, lineno, None, line, f"malformed JSON line ({e.msg} at column {e.colno})")
            continue
        yield Located(where, lineno, rec, line)


def _jsonl_file(path: Path) -> Iterator[Located]:
    with path.open("rb") as f:
        yield from jsonl_records(f, str(path))


def csv_records(path: str | Path, require: Sequence[str] = ()) -> Iterator[Located]:
    """Each row of a CSV file as a dict of strings (a byte-order mark is ignored).

    ``require`` names columns the header must have; a missing one raises before any row.
    """
    path = Path(path)
    csv.field_size_limit(MAX_FIELD_CHARS)
    with path.open(encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheet exports' byte-order mark
        reader = csv.DictReader(f)
        try:
            missing = [c for c in require if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}: no column {', '.join(missing)}; needs {', '.join(require)}")
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row:
                    yield Located(where, reader.line_num, None, json.dumps(row, default=str),
                                  "malformed CSV row (more fields than the header)")
                else:
                    yield Located(where, reader.line_num, row)
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not valid UTF-8 near line {reader.line_num + 1} ({e.reason})") from None
        except csv.Error as e:
            raise DataError(f"{path}:{reader.line_num}: malformed CSV ({e})") from None


def typed_csv_records(path: str | Path, dtype: Mapping[str, Any], batch_size: int = 10_000) -> Iterator[Located]:
    """Each row of a CSV file with typed values (as pandas infers them per chunk; empty cells None)."""
    import pandas as pd

    n = 0
    try:
        for frame in pd.read_csv(path, chunksize=batch_size, dtype=dict(dtype), float_precision="round_trip"):
            for row in frame.astype(object).where(frame.notna(), None).to_dict("records"):
                yield Located(f"{path}:row {n}", n, row)
                n += 1
    except pd.errors.EmptyDataError:
        return
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: malformed CSV after row {n} ({str(e).splitlines()[0][:200]})") from None


def parquet_records(source: Any, name: str, batch_size: int = 1024) -> Iterator[Located]:
    """Each row of a Parquet file (a path or an open binary file), a batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 0
    try:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=batch_size):
            for row in batch.to_pylist():
                yield Located(f"{name}:row {n}", n, row)
                n += 1
    except (pa.ArrowException, OSError) as e:
        after = f" after row {n - 1}" if n else ""
        raise DataError(f"{name}: not a readable Parquet file{after} ({str(e).splitlines()[0][:200]})") from None


def dataset_records(path: str | Path) -> Iterator[Located]:
    """Each row of a directory written by ``datasets.Dataset.save_to_disk`` (one split)."""
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as e:  # datasets raises several types for a directory that is not one
        raise DataError(f"{path}: not a saved `datasets` directory ({e})") from None
    if isinstance(ds, datasets.DatasetDict):
        raise DataError(f"{path}: holds a DatasetDict ({', '.join(ds)}); point at one split")
    return (Located(f"{path}:row {i}", i, row) for i, row in enumerate(ds))
