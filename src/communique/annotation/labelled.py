"""Turn a labelled export (Label Studio, doccano, CSV) back into checked corpus records."""

from __future__ import annotations

import csv
import glob
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


from ..corpus import FIELDS, HARD_NEGATIVE_TAGS, TAGS, VOICES, near_duplicates
from ..errors import CommuniqueError, DataError
from ..labels import LABELS
from .common import (FORMAT_SUFFIX, GROUP, MAX_WORDS, MIN_WORDS, NEAR_DUPLICATE, atomic_write)

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


# ---- import ----------------------------------------------------------------------------------

def import_labels(path: str | Path, fmt: str, group: str, out: str | Path, against: Sequence[str] = (),
                  force: bool = False) -> dict[str, Any]:
    """Turn a labelled export into a batch of corpus records (JSONL), checked as the corpus is.

    Args:
        path: the labelled file: a Label Studio JSON export (full or JSON-MIN), a doccano JSONL
            export, or the CSV that ``sample --format csv`` wrote with its ``label`` column filled.
        fmt: label-studio, doccano or csv.
        group: the records' group (their conflict or topic); ids become ``GROUP-001``, ... after
            any such ids already in the ``against`` files.
        out: the batch file to write (JSONL); an existing one is replaced only with ``force``,
            and only if it is a batch of corpus records.
        against: glob patterns of corpus files to check ids and near-duplicates against.
        force: replace an existing batch file.
    Returns:
        ``{"out", "records", "skipped", "labels"}``: records written, unlabelled tasks skipped,
        and the count per label.
    Raises:
        DataError: one line per problem, each naming the file and record.
    Example:
        >>> import_labels("export.json", "label-studio", "my-news", "data/batches/my-news.jsonl",
        ...               against=["data/corpus/*.jsonl"])  # doctest: +SKIP
    """
    from ..safety import OutputLock, check_distinct

    path, out = Path(path), Path(out)
    if fmt not in FORMAT_SUFFIX:
        raise CommuniqueError(f"--format {fmt!r}: choose one of {', '.join(FORMAT_SUFFIX)}")
    if not GROUP.fullmatch(group):
        raise CommuniqueError(f"--group {group!r}: use lower-case letters, digits and hyphens, e.g. my-news-2026")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if out.suffix != ".jsonl":
        raise CommuniqueError(f"--out {out}: a batch is a .jsonl file")
    check_distinct({"--out": out}, [str(path)])
    if out.exists() and not force:
        raise CommuniqueError(f"{out}: exists; add --force to replace it (or choose another --out)")
    if out.exists() and not _is_batch(out):
        raise CommuniqueError(f"{out}: exists and is not a batch of corpus records; refusing to replace it, "
                              "even with --force")
    labelled, skipped = [], 0
    for where, item in _read_labelled(path, fmt):
        if item is None:
            skipped += 1
        else:
            labelled.append((where, item))
    others = _against(against, exclude=out)
    records, problems = _records(labelled, group, others)
    problems = sorted(problems + _duplicates(labelled, others), key=_record_number)  # stable: file order
    if problems:
        raise DataError("\n".join(problems))
    if not records:
        raise DataError(f"{path}: no labelled record ({skipped} unlabelled skipped); label some and export again")
    with OutputLock(out):
        atomic_write(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return {"out": str(out), "records": len(records), "skipped": skipped,
            "labels": dict(Counter(r["label"] for r in records))}


def _read_labelled(path: Path, fmt: str) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """``(where, {"text", "label", "also"})`` per record; ``None`` for an unlabelled one."""
    if fmt == "label-studio":
        try:
            tasks = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as e:
            raise DataError(f"{path}: not a Label Studio JSON export ({e})") from None
        if not isinstance(tasks, list):
            raise DataError(f"{path}: a Label Studio export is a JSON list of tasks; got {type(tasks).__name__}")
        for k, task in enumerate(tasks, 1):
            where = f"{path}: record {k}"
            if not isinstance(task, dict):
                raise DataError(f"{where}: expected a task object, got {type(task).__name__}")
            yield where, _label_studio_item(where, task)
    elif fmt == "doccano":
        with path.open(encoding="utf-8-sig") as f:
            for k, line in enumerate((line for line in f if line.strip()), 1):
                where = f"{path}: record {k}"
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    raise DataError(f"{where}: malformed JSON ({e})") from None
                if not isinstance(rec, dict):
                    raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
                labels = rec.get("label", rec.get("labels"))
                labels = [labels] if isinstance(labels, str) else labels or []
                if not isinstance(labels, list):
                    raise DataError(f"{where}: label must be a list of label names, got {labels!r}")
                if len(labels) > 1:
                    raise DataError(f"{where}: {len(labels)} labels {labels}; give one (defensible alternatives go "
                                    "in `also` of the imported record)")
                yield where, {"text": rec.get("text"), "label": labels[0]} if labels else None
    else:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("text", "label") if c not in (reader.fieldnames or ())]
            if missing:
                raise DataError(f"{path}: no column {', '.join(missing)}; fill the label column of the CSV that "
                                "`communique sample --format csv` wrote")
            for k, row in enumerate(reader, 1):
                where = f"{path}: record {k}"
                if not (row.get("label") or "").strip():
                    yield where, None
                    continue
                also = [a for a in re.split(r"[,;]", row.get("also") or "") if a.strip()]
                yield where, {"text": row["text"], "label": row["label"], "also": also}


def _label_studio_item(where: str, task: dict[str, Any]) -> dict[str, Any] | None:
    """The label of one exported task: full JSON (``annotations[].result[].value.choices``) or JSON-MIN."""
    if "data" not in task:  # JSON-MIN: {"text", "label" (a choice or a list), "also", ...}
        label = task.get("label")
        if label in (None, [], ""):
            return None
        labels = [label] if isinstance(label, str) else label
        also = task.get("also") or []
        return {"text": task.get("text"), "label": labels[0] if len(labels) == 1 else labels,
                "also": [also] if isinstance(also, str) else also}
    done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if not done:
        return None
    found = []
    for a in done:
        choices = {r.get("from_name"): (r.get("value") or {}).get("choices") or []
                   for r in a.get("result") or [] if isinstance(r, dict) and r.get("type") == "choices"}
        label = choices.get("label") or next((v for k, v in choices.items() if k != "also"), [])
        if not label:
            raise DataError(f"{where}: annotation {a.get('id', '?')} chose no label")
        found.append((label[0] if len(label) == 1 else label, choices.get("also") or [], a.get("id", "?")))
    if len({str(f[0]) for f in found}) > 1:
        votes = ", ".join(f"{label} (annotation {aid})" for label, _, aid in found)
        raise DataError(f"{where}: annotators disagree: {votes}; resolve it in Label Studio and export again")
    return {"text": (task.get("data") or {}).get("text"), "label": found[0][0],
            "also": sorted({a for f in found for a in f[1]})}


def _records(labelled: list[tuple[str, dict[str, Any]]], group: str,
             others: list[tuple[str, dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Corpus records for the labelled items, numbered after the group's ids in ``others``; problems."""
    taken = [int(m.group(1)) for _, rec in others
             if (m := re.fullmatch(rf"{re.escape(group)}-(\d+)", str(rec.get("id", ""))))]
    if any(rec.get("group") == group for _, rec in others):
        log.warning("group %r is already in the --against files: keep each group in one split", group)
    start = max(taken, default=0) + 1
    records, problems = [], []
    for k, (where, item) in enumerate(labelled):
        label = item.get("label")
        label = label.strip().lower() if isinstance(label, str) else label
        also = item.get("also") or []
        also = [a.strip().lower() if isinstance(a, str) else a for a in ([also] if isinstance(also, str) else also)]
        text = item.get("text")
        rec = {"id": f"{group}-{start + k:03d}", "text": text.strip() if isinstance(text, str) else text,
               "label": label, "also": [a for a in also if a != label], "group": group, "speaker": "", "target": "",
               "voice": "reported", "tags": ["plain"]}
        problems += [f"{where}: {p}" for p in corpus_problems(rec)]
        records.append(rec)
    return records, problems


def corpus_problems(rec: dict[str, Any]) -> list[str]:
    """What keeps a record out of the corpus (the checks of ``data/tools/check_batch.py``), one per line."""
    problems = [f"missing field {k!r}" for k in FIELDS if k not in rec]
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("no text")
    elif not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
        problems.append(f"{len(text.split())} words; corpus sentences have {MIN_WORDS}-{MAX_WORDS}")
    if rec.get("label") not in LABELS:
        problems.append(f"unknown label {rec.get('label')!r}; allowed: {', '.join(LABELS)}")
    also = rec.get("also")
    if not isinstance(also, list) or any(a not in LABELS or a == rec.get("label") for a in also):
        problems.append(f"bad also {also!r}: other labels from {', '.join(LABELS)}")
    if rec.get("voice") not in VOICES:
        problems.append(f"bad voice {rec.get('voice')!r}; allowed: {', '.join(VOICES)}")
    tags = rec.get("tags")
    if not isinstance(tags, list) or not tags or any(t not in TAGS for t in tags):
        problems.append(f"bad tags {tags!r}")
    elif any(t in HARD_NEGATIVE_TAGS for t in tags) and rec.get("label") != "other":
        problems.append("hn-* tags are only for label other")
    return problems


def _against(patterns: Sequence[str], exclude: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(file:line, record)`` of every record in the files the patterns match (``exclude`` left out)."""
    from ..data import iter_raw

    found: list[tuple[str, dict[str, Any]]] = []
    for pattern in patterns:
        files = sorted(glob.glob(pattern)) or ([pattern] if Path(pattern).exists() else [])
        if not files:
            raise DataError(f"--against {pattern!r}: matches no file")
        for f in files:
            if Path(f).resolve() != exclude.resolve():
                found += [(where, rec) for where, rec in iter_raw(f) if isinstance(rec, dict)]
    return found


def _duplicates(labelled: list[tuple[str, dict[str, Any]]], others: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Near-duplicates (word 3-gram Jaccard >= 0.4) within the batch and against the corpus files."""
    texts = [str(item.get("text") or "") for _, item in labelled]
    texts += [str(rec.get("text") or "") for _, rec in others]
    problems = []
    for i, j, jac in sorted(near_duplicates(texts, threshold=NEAR_DUPLICATE)):
        if i >= len(labelled):
            continue  # two corpus records: not this batch's business
        if j < len(labelled):
            problems.append(f"{labelled[j][0]}: near-duplicate (3-gram Jaccard {jac:.2f}) of "
                            f"{labelled[i][0].rsplit(': ', 1)[-1]} of this file: {texts[i][:80]!r}")
        else:
            where = others[j - len(labelled)][0]
            problems.append(f"{labelled[i][0]}: near-duplicate (3-gram Jaccard {jac:.2f}) of {where}: "
                            f"{texts[j][:80]!r}")
    return problems


def _record_number(problem: str) -> int:
    m = re.search(r": record (\d+):", problem)
    return int(m.group(1)) if m else 0


def _is_batch(path: Path) -> bool:
    """True for a JSONL file of corpus records (what ``import_labels`` writes)."""
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (ValueError, OSError):
        return False
    return all(isinstance(r, dict) and set(FIELDS) <= set(r) for r in lines)


