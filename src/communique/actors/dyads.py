"""Dyads: who took which stance towards whom, counted per article and across articles.

A dyad is (speaker actor, target actor, label). Per article, :func:`article_dyads` counts them
from the scored rows (the summary carries them); across articles, :func:`aggregate` counts them
per period (day, week or month of an article ``date`` column) or overall, and keeps the first
sentence of each as an example. ``target_named`` counts the sentences that name the target; in the
others it was inferred from the article (the other side it names most).

Example:
    >>> rows = [{"article_id": "a", "label": "threat", "speaker_actor": "Russia", "target_actor": "Ukraine",
    ...          "target": "Kyiv", "sentence_index": 0}]
    >>> article_dyads(rows)
    [{'speaker': 'Russia', 'target': 'Ukraine', 'label': 'threat', 'count': 1, 'target_named': 1}]
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..labels import FALLBACK_LABEL

PERIODS = ("day", "week", "month")
DYAD_FORMATS = (".jsonl", ".csv")


def _dyad(row: dict[str, Any]) -> tuple[str, str | None, str] | None:
    if row.get("sentence_index") is None or row.get("label") in (None, FALLBACK_LABEL) or not row.get("speaker_actor"):
        return None
    return row["speaker_actor"], row.get("target_actor") or None, row["label"]


def article_dyads(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """(speaker, target, label, count, target_named) of one article's rows, most frequent first."""
    counts: Counter = Counter()
    named: Counter = Counter()
    for row in rows:
        d = _dyad(row)
        if d:
            counts[d] += 1
            named[d] += row.get("target") is not None
    return [{"speaker": s, "target": t, "label": lab, "count": n, "target_named": named[(s, t, lab)]}
            for (s, t, lab), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], str(kv[0][1]), kv[0][2]))]


def period_of(value: Any, by: str, where: str) -> str:
    """The day (2022-01-10), ISO week (2022-W02) or month (2022-01) of a date value."""
    if value is None or value == "":
        raise DataError(f"{where}: no date; --by {by} needs a date on every article (an input 'date' column)")
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DataError(f"{where}: date {value!r} is not an ISO date (YYYY-MM-DD)") from None
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def read_dates(metadata: str | Path, date_field: str = "date") -> dict[str, str]:
    """Article id -> date from a per-article CSV (``article_id`` and ``date_field`` columns)."""
    from ..records import csv_records, strict

    path = Path(metadata)
    if not path.is_file():
        raise DataError(f"{path}: no such metadata file")
    return {rec.record["article_id"]: rec.record[date_field]
            for rec in strict(csv_records(path, require=("article_id", date_field)))}


def aggregate(files: Sequence[str | Path], by: str | None = None, date_field: str = "date",
              metadata: str | Path | None = None) -> list[dict[str, Any]]:
    """Count dyads over scored files (each article's rows contiguous, as ``communique score`` writes them).

    With ``by``, each article's date comes from its rows' ``date_field`` column, else from ``metadata``
    (a per-article CSV with ``article_id`` and ``date_field``).
    """
    from ..scores_file import iter_rows

    if by is not None and by not in PERIODS:
        raise DataError(f"--by {by!r}: choose one of {', '.join(PERIODS)}")
    dates = read_dates(metadata, date_field) if metadata else {}
    counts: Counter = Counter()
    named: Counter = Counter()
    articles: dict[tuple, set] = {}
    example: dict[tuple, dict[str, Any]] = {}
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise DataError(f"{path}: no such scores file")
        seen_actor_column = False
        for n, row in enumerate(iter_rows(path), 1):
            seen_actor_column = seen_actor_column or "speaker_actor" in row
            d = _dyad(row)
            if d is None:
                continue
            date = row.get(date_field) or dates.get(str(row.get("article_id")))
            period = period_of(date, by, f"{path} row {n} (article {row.get('article_id')})") if by else None
            k = (period, *d)
            counts[k] += 1
            named[k] += row.get("target") is not None
            articles.setdefault(k, set()).add(row.get("article_id"))
            example.setdefault(k, {"article_id": row.get("article_id"), "text": row.get("text")})
        if not seen_actor_column:
            raise DataError(f"{path}: no speaker_actor column; score with a run trained with model.actors: true")
    out = []
    for k, n in sorted(counts.items(), key=lambda kv: (str(kv[0][0]), -kv[1], kv[0][1], str(kv[0][2]), kv[0][3])):
        period, s, t, lab = k
        item = {"period": period} if by else {}
        item.update({"speaker": s, "target": t, "label": lab, "count": n, "target_named": named[k],
                     "articles": len(articles[k]),
                     "example_article": example[k]["article_id"], "example": example[k]["text"]})
        out.append(item)
    return out


def write_dyads(items: list[dict[str, Any]], out: str | Path) -> Path:
    """Write aggregated dyads as JSONL or CSV (by extension), atomically."""
    out = Path(out)
    if out.suffix.lower() not in DYAD_FORMATS:
        raise DataError(f"{out}: unsupported format {out.suffix!r}; use {', '.join(DYAD_FORMATS)}")
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".csv":
        import csv

        fields = list(items[0]) if items else ["speaker", "target", "label", "count", "target_named", "articles"]
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(items)
    else:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    os.replace(tmp, out)
    return out
