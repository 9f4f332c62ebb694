"""Stream articles to score from directories of text files, JSONL, CSV, Parquet or stdin.

Nothing is read whole: files are read one record (or one Parquet batch) at a
time, so memory stays flat however large the input. Every article is yielded,
including ones that cannot be scored (empty, undecodable, unreadable), with a
status and a reason; a malformed record raises :class:`DataError` with file and
line unless ``on_error="skip"``, in which case it is handed to ``on_skip``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DataError
from .records import Located, jsonl_records, read

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md")  # whole-file articles; record files go through communique.records
INPUT_HINT = "a directory of .txt/.md files, .jsonl, .csv, .parquet or - for stdin"


@dataclass
class Article:
    id: str
    text: str | None
    source: str  # "file:line" or the file path
    meta: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"  # ok | empty | undecodable | unreadable
    reason: str = ""


@dataclass
class SkippedRecord:
    source: str
    reason: str
    raw: str


def _checked(article: Article) -> Article:
    if article.status == "ok" and (article.text is None or not article.text.strip()):
        article.status, article.reason, article.text = "empty", "no text", None
    elif article.status == "ok" and "\x00" in article.text:
        article.status, article.reason, article.text = "undecodable", "binary content (NUL bytes), not text", None
    return article


def _article_ids(root: Path, files: list[Path]) -> dict[Path, str]:
    """Relative path without the extension, or with it where two files share a stem (a.txt, a.md)."""
    stems = Counter(p.relative_to(root).with_suffix("").as_posix() for p in files)
    ids = {}
    for p in files:
        stem = p.relative_to(root).with_suffix("").as_posix()
        ids[p] = stem if stems[stem] == 1 else p.relative_to(root).as_posix()
    return ids


def _from_dir(root: Path) -> Iterator[Article]:
    files = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES:
            files.append(p)
        elif p.is_file():
            log.info("skipping %s: not a .txt or .md file", p)
    ids = _article_ids(root, files)
    for p in files:
        yield _read_text_file(p, ids[p])


def _read_text_file(p: Path, aid: str) -> Article:
    meta = {"path": str(p)}
    try:
        raw = p.read_bytes()
    except OSError as e:
        return Article(aid, None, str(p), meta, "unreadable", f"cannot read file: {e.strerror or e}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return Article(aid, None, str(p), meta, "undecodable", f"not UTF-8 ({e.reason} at byte {e.start})")
    return _checked(Article(aid, text, str(p), meta))


class _Malformed(Exception):
    pass


def _record(where: str, rec: Any, id_field: str, text_field: str) -> Article:
    if not isinstance(rec, dict):
        raise _Malformed(f"expected an object, got {type(rec).__name__}")
    if rec.get(id_field) in (None, ""):
        raise _Malformed(f"missing id field {id_field!r}")
    if text_field not in rec:
        raise _Malformed(f"missing text field {text_field!r} (fields: {', '.join(map(str, rec))})")
    text = rec[text_field]
    if text is not None and not isinstance(text, str):
        raise _Malformed(f"text field {text_field!r} is a {type(text).__name__}, not a string")
    meta = {k: v for k, v in rec.items() if k not in (id_field, text_field)}
    return _checked(Article(str(rec[id_field]), text, where, meta))


def rows_to_articles(rows: Iterable[Located], id_field: str, text_field: str, on_error: str,
                     on_skip: Callable[[SkippedRecord], None] | None) -> Iterator[Article]:
    """Validate located records into Articles; a malformed one raises, or goes to ``on_skip`` with on_error=skip."""
    for rec in rows:
        try:
            if rec.error is not None:
                raise _Malformed(rec.error)
            yield _record(rec.where, rec.record, id_field, text_field)
        except _Malformed as e:
            if on_error != "skip":
                raise DataError(f"{rec.where}: {e} (use --on-error skip to log such records and go on)") from None
            if on_skip:
                raw = rec.raw or json.dumps(rec.record, ensure_ascii=False, default=str)
                on_skip(SkippedRecord(rec.where, str(e), raw[:2000]))


def iter_articles(inputs: Sequence[str], id_field: str = "id", text_field: str = "text", on_error: str = "stop",
                  on_skip: Callable[[SkippedRecord], None] | None = None) -> Iterator[Article]:
    """Yield every article of every input, in a stable order (so a rerun can resume)."""
    for spec in inputs:
        if spec == "-":
            rows = jsonl_records(sys.stdin.buffer, "<stdin>")
        else:
            path = Path(spec)
            if not path.exists():
                raise DataError(f"{path}: no such file or directory")
            if path.is_dir():
                yield from _from_dir(path)
                continue
            if path.suffix.lower() in TEXT_SUFFIXES:
                yield from _from_dir_file(path)
                continue
            rows = read(path, use=INPUT_HINT)
        yield from rows_to_articles(rows, id_field, text_field, on_error, on_skip)


def _from_dir_file(path: Path) -> Iterator[Article]:
    """A single .txt/.md file: one article, id = file stem."""
    yield _read_text_file(path, path.stem)
