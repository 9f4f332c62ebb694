"""Pick the scored sentences most worth labelling and write them as annotation tasks."""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from ..corpus import near_duplicates
from ..errors import CommuniqueError, DataError
from ..labels import LABEL_DEFINITIONS, LABELS
from .common import (CSV_COLUMNS, MAX_PER_ARTICLE, MAX_WORDS, MIN_WORDS, NEAR_DUPLICATE, POOL,
                     SCORE_COLUMNS, STRATEGIES, atomic_write, check_suffix)

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


# ---- sample -----------------------------------------------------------------------------------

def priority(probs: np.ndarray, strategy: str, rng: np.random.Generator) -> np.ndarray:
    """How much labelling each sentence would teach the model; higher first.

    uncertainty: 1 - top probability; margin: 1 - (top - second); entropy: of the five
    probabilities; random: uniform, for an unbiased sample (and a baseline for the others).
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
    if strategy == "uncertainty":
        return 1.0 - p.max(1)
    if strategy == "margin":
        top2 = np.sort(p, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    if strategy == "entropy":
        return -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(1)
    if strategy == "random":
        return rng.random(len(p))
    raise CommuniqueError(f"--strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")


def candidates(scores: Sequence[str | Path]) -> pd.DataFrame:
    """The scored sentences that may be sampled: status ``ok`` and 5-70 words, from every scores file."""
    from ..scores_file import read_scores

    frames = []
    for path in map(Path, scores):
        if not path.is_file():
            raise DataError(f"{path}: no such scores file; make one with `communique score`")
        try:
            df = read_scores(path)
        except (ValueError, OSError) as e:
            raise DataError(f"{path}: not a readable scores file ({str(e).splitlines()[0][:200]})") from None
        missing = [c for c in SCORE_COLUMNS if c not in df.columns]
        if missing:
            raise DataError(f"{path}: not a `communique score` output (no column {', '.join(missing)})")
        df = df[df["status"] == "ok"].copy()
        df["scores_file"] = str(path)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["article_id"] = df["article_id"].astype(str)
    words = df["text"].astype(str).str.split().str.len()
    df = df[(words >= MIN_WORDS) & (words <= MAX_WORDS)]
    return df.drop_duplicates(["article_id", "sentence_index", "text"]).reset_index(drop=True)


def sample(scores: Sequence[str | Path], n: int, strategy: str = "uncertainty", per_label: bool = False,
           diverse: bool = False, seed: int = 0, max_per_article: int = MAX_PER_ARTICLE) -> pd.DataFrame:
    """Pick ``n`` scored sentences to label.

    Args:
        scores: scores files written by ``communique score`` (JSONL, CSV or Parquet).
        n: how many sentences to pick (fewer if the files hold fewer usable ones).
        strategy: uncertainty, margin, entropy or random (see :func:`priority`).
        per_label: equal shares per predicted label (a label with too few candidates passes its
            share on).
        diverse: also spread over labels: never two picks of the same predicted label from one
            article, and each round of the round-robin serves the least-picked label first.
        seed: for ``random`` and for breaking ties.
        max_per_article: at most this many picks from one article.
    Returns:
        the picks, best first within each round, with ``predicted`` and ``priority`` columns.
    Example:
        >>> picks = sample(["scores.jsonl"], 100, strategy="margin", per_label=True)  # doctest: +SKIP
    """
    if n < 1:
        raise CommuniqueError(f"--n {n}: pick at least one sentence")
    if max_per_article < 1:
        raise CommuniqueError(f"--max-per-article {max_per_article}: must be at least 1")
    if strategy not in STRATEGIES:
        raise CommuniqueError(f"--strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    df = candidates(scores)
    if df.empty:
        raise DataError(f"{', '.join(map(str, scores))}: no sentence with status ok and {MIN_WORDS}-{MAX_WORDS} "
                        "words to sample")
    rng = np.random.default_rng(seed)
    probs = df[[f"p_{label}" for label in LABELS]].to_numpy(dtype=np.float64)
    df["predicted"] = [LABELS[i] for i in probs.argmax(1)]
    df["priority"] = priority(probs, strategy, rng)
    df["strategy"] = strategy
    ranked = df.iloc[np.lexsort((rng.random(len(df)), -df["priority"].to_numpy()))]  # seeded tie-break
    pool = _distinct(ranked.groupby("predicted", sort=False).head(POOL * n).reset_index(drop=True))
    picks = _round_robin(pool, n, per_label, diverse, max_per_article)
    if len(picks) < n:
        log.warning("only %d of %d sentences could be picked (after near-duplicates and the per-article cap)",
                    len(picks), n)
    return pool.iloc[picks].reset_index(drop=True)


def _distinct(pool: pd.DataFrame) -> pd.DataFrame:
    """Drop near-duplicates, keeping the better-ranked sentence of each pair (``pool`` is in rank order)."""
    neighbours: dict[int, set[int]] = {}
    for i, j, _ in near_duplicates(pool["text"].astype(str).tolist(), threshold=NEAR_DUPLICATE):
        neighbours.setdefault(i, set()).add(j)
        neighbours.setdefault(j, set()).add(i)
    kept: list[int] = []
    kept_set: set[int] = set()
    for i in range(len(pool)):
        if not neighbours.get(i, set()) & kept_set:
            kept.append(i)
            kept_set.add(i)
    return pool.iloc[kept].reset_index(drop=True)


def _quotas(available: Counter, n: int) -> dict[str, int]:
    """``n`` split evenly over the labels; a label with fewer candidates passes the rest on."""
    quota = dict.fromkeys(LABELS, 0)
    active = [label for label in LABELS if available[label]]
    left = n
    while left and active:
        share = max(1, left // len(active))
        for label in list(active):
            give = min(share, available[label] - quota[label], left)
            quota[label] += give
            left -= give
            if quota[label] >= available[label]:
                active.remove(label)
            if not left:
                break
    return quota


def _round_robin(pool: pd.DataFrame, n: int, per_label: bool, diverse: bool, cap: int) -> list[int]:
    """Positions in ``pool`` (rank order), picked greedily by the smallest key:

    * default: (picks from its article, rank): a round-robin over articles, best sentence first;
    * ``per_label``: (picks of its label, picks from its article, rank) while the label's quota
      is open, then the default order for whatever the quotas could not fill;
    * ``diverse``: (picks from its article, picks of its label, rank), one per (article, label).

    A lazy heap of (article, label) queues: keys only grow, so a popped key that is still current
    is the minimum.
    """
    import heapq

    articles, labels = pool["article_id"].tolist(), pool["predicted"].tolist()
    queues: dict[tuple[str, str], list[int]] = {}
    for pos in range(len(pool)):
        queues.setdefault((articles[pos], labels[pos]), []).append(pos)
    head = dict.fromkeys(queues, 0)
    per_article: Counter = Counter()
    per_label_count: Counter = Counter()
    picked: list[int] = []

    def key(q: tuple[str, str], quota: dict[str, int] | None) -> tuple[int, ...]:
        aid, label = q
        rank = queues[q][head[q]]
        if quota is not None:
            return per_label_count[label], per_article[aid], rank
        return (per_article[aid], per_label_count[label], rank) if diverse else (per_article[aid], rank)

    def open_(q: tuple[str, str], quota: dict[str, int] | None) -> bool:
        return (head[q] < len(queues[q]) and per_article[q[0]] < cap
                and (quota is None or per_label_count[q[1]] < quota[q[1]]) and not (diverse and head[q] > 0))

    for quota in ([_quotas(Counter(labels), n)] if per_label else []) + [None]:
        heap = [(key(q, quota), q) for q in queues if open_(q, quota)]
        heapq.heapify(heap)
        while heap and len(picked) < n:
            k, q = heapq.heappop(heap)
            if not open_(q, quota):
                continue
            current = key(q, quota)
            if current != k:
                heapq.heappush(heap, (current, q))
                continue
            picked.append(queues[q][head[q]])
            head[q] += 1
            per_article[q[0]] += 1
            per_label_count[q[1]] += 1
            if open_(q, quota):
                heapq.heappush(heap, (key(q, quota), q))
    return picked


# ---- task files ------------------------------------------------------------------------------

def _task_data(row: dict[str, Any]) -> dict[str, Any]:
    data = {"text": row["text"], "article_id": row["article_id"], "sentence_index": int(row["sentence_index"]),
            "start": _int(row.get("start")), "end": _int(row.get("end")), "predicted": row["predicted"],
            "confidence": round(float(row["confidence"]), 6), "strategy": row["strategy"],
            "priority": round(float(row["priority"]), 6), "scores_file": row["scores_file"]}
    return {k: v for k, v in data.items() if v is not None}


def _int(v: Any) -> int | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)


def label_studio_config() -> str:
    """Label Studio labeling config for the tasks :func:`write_tasks` writes: one label, optional ``also``."""

    def choices(name: str, kind: str, extra: str) -> str:
        lines = [f'  <Choices name="{name}" toName="text" choice="{kind}" showInline="true"{extra}>']
        lines += [f"    <Choice value={quoteattr(label)} hint={quoteattr(LABEL_DEFINITIONS[label])}/>"
                  for label in LABELS]
        return "\n".join(lines + ["  </Choices>"])

    return "\n".join([
        "<View>",
        '  <Header value="What stance act does the sentence mainly report? (data/CODEBOOK.md)"/>',
        '  <Text name="text" value="$text"/>',
        choices("label", "single-radio", ' required="true"'),
        '  <Header value="Also defensible (optional)"/>',
        choices("also", "multiple", ""),
        "</View>", ""])


def write_tasks(picks: pd.DataFrame, fmt: str, out: str | Path, force: bool = False,
                inputs: Sequence[str | Path] = ()) -> list[Path]:
    """Write the picks for labelling, the model's prediction filled in; return the files written.

    label-studio: a JSON list of tasks with ``predictions`` (and ``OUT-stem.label-config.xml``, the
    labeling config to paste into the project); doccano: JSONL ``{"text", "label": [predicted],
    "meta"}``; csv: one row per sentence with an empty ``label`` column to fill in.
    """
    from ..safety import OutputLock, check_distinct

    out = Path(out)
    check_suffix(out, fmt, "--out")
    files = [out] + ([out.with_name(out.stem + ".label-config.xml")] if fmt == "label-studio" else [])
    check_distinct({str(f): f for f in files}, [str(p) for p in inputs])
    for f in files:
        if f.exists() and not force:
            raise CommuniqueError(f"{f}: exists; add --force to replace it (or choose another --out)")
        if f.exists() and not _is_task_file(f, fmt):
            raise CommuniqueError(f"{f}: exists and was not written by `communique sample`; refusing to replace it, "
                                  "even with --force")
    rows = [_task_data(r) for r in picks.to_dict("records")]
    with OutputLock(out):
        if fmt == "label-studio":
            version = "communique:" + ",".join(sorted({Path(r["scores_file"]).name for r in rows}))
            tasks = [{"data": r, "predictions": [{
                "model_version": version, "score": r["confidence"],
                "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                            "value": {"choices": [r["predicted"]]}}]}]} for r in rows]
            atomic_write(out, json.dumps(tasks, indent=1, ensure_ascii=False) + "\n")
            atomic_write(files[1], label_studio_config())
        elif fmt == "doccano":
            atomic_write(out, "".join(json.dumps({"text": r["text"], "label": [r["predicted"]],
                                                   "meta": {k: v for k, v in r.items() if k != "text"}},
                                                  ensure_ascii=False) + "\n" for r in rows))
        else:
            atomic_write(out, _csv_text(rows))
    return files


def _csv_text(rows: list[dict[str, Any]]) -> str:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "id": f"{r['article_id']}:{r['sentence_index']}", "label": "", "also": ""})
    return buf.getvalue()


def _is_task_file(path: Path, fmt: str) -> bool:
    """True for a file that ``write_tasks`` could have written (so ``--force`` may replace it)."""
    try:
        if path.suffix == ".xml":
            return path.read_text(encoding="utf-8") == label_studio_config()
        if fmt == "label-studio":
            tasks = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(tasks, list) and all(isinstance(t, dict) and "article_id" in t.get("data", {})
                                                   for t in tasks)
        if fmt == "doccano":
            return all("article_id" in json.loads(line).get("meta", {})
                       for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        with path.open(encoding="utf-8", newline="") as f:
            return tuple(next(csv.reader(f), ())) == CSV_COLUMNS
    except (ValueError, OSError, AttributeError):
        return False
