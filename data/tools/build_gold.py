#!/usr/bin/env python3
"""Align sentence-level gold labels with the sample news articles.

Reads every data/articles/ART_ID.txt and data/articles/gold/ART_ID.jsonl,
finds each gold sentence in its article in order (any whitespace run in the
gold text matches any whitespace run in the article), and fails with the
article id and sentence index if a sentence is not found where expected, or if
any non-whitespace character of the article is not covered by a gold sentence.

On success writes data/articles/gold.jsonl with fields
article_id, index, start, end (character offsets into the .txt read as a UTF-8
str), text (= article[start:end]), label, also, speaker (and target, speaker_type, speaker_span and
target_span, offsets into text, where given), and prints per-label
counts.

Usage: python3 data/tools/build_gold.py [--articles DIR] [--out FILE]
Standard library only.
"""
import argparse
import glob
import json
import os
import re
import sys
from collections import Counter

LABELS = ["assurance", "threat", "demand", "rejection", "other"]
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.normpath(os.path.join(HERE, "..", "articles"))


class GoldError(Exception):
    pass


def pattern_for(text):
    """Regex for a gold sentence: whitespace runs match any whitespace run."""
    parts = text.split()
    if not parts:
        return None
    return re.compile(r"\s+".join(re.escape(p) for p in parts))


def load_gold(path, art_id):
    recs = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise GoldError(f"{art_id}: {path}:{ln}: malformed JSON ({e})")
            recs.append((ln, r))
    return recs


def check_record(art_id, pos, ln, r):
    where = f"{art_id}: sentence index {r.get('index', '?')} (line {ln})"
    if r.get("article_id") != art_id:
        raise GoldError(f"{where}: article_id {r.get('article_id')!r} != {art_id!r}")
    if r.get("index") != pos:
        raise GoldError(f"{where}: index should be {pos}")
    if r.get("label") not in LABELS:
        raise GoldError(f"{where}: unknown label {r.get('label')!r}")
    also = r.get("also", [])
    if not isinstance(also, list) or any(a not in LABELS or a == r["label"] for a in also):
        raise GoldError(f"{where}: bad also {also!r}")
    if not isinstance(r.get("speaker", ""), str):
        raise GoldError(f"{where}: speaker must be a string")
    if not isinstance(r.get("text"), str) or not r["text"].strip():
        raise GoldError(f"{where}: empty text")


def respan(r, key, aligned, art_id, pos):
    """A mention span given on the gold file's sentence text, moved onto the article's own text of that
    sentence (whitespace may differ); None stays None."""
    span = r[key]
    if span is None:
        return None
    s, e = span
    mention = r["text"][s:e]
    pat = pattern_for(mention)
    if not mention.strip() or pat is None:
        raise GoldError(f"{art_id}: sentence index {pos}: {key} {span} is empty")
    hits = list(pat.finditer(aligned))
    if not hits:
        raise GoldError(f"{art_id}: sentence index {pos}: {key} {mention!r} not found in the sentence")
    best = min(hits, key=lambda h: abs(h.start() - s))
    return [best.start(), best.end()]


def align(art_id, article, recs):
    out = []
    cur = 0
    for pos, (ln, r) in enumerate(recs):
        check_record(art_id, pos, ln, r)
        pat = pattern_for(r["text"])
        # the next sentence must start after nothing but whitespace
        m_ws = re.compile(r"\s*").match(article, cur)
        start_at = m_ws.end()
        m = pat.match(article, start_at)
        if m is None:
            later = pat.search(article, cur)
            if later is None:
                raise GoldError(
                    f"{art_id}: sentence index {pos} not found after offset {cur}: {r['text'][:80]!r}")
            gap = article[start_at:later.start()]
            raise GoldError(
                f"{art_id}: sentence index {pos} found at offset {later.start()} but the text "
                f"before it is not covered by any gold sentence: {gap[:120]!r}")
        out.append({
            "article_id": art_id,
            "index": pos,
            "start": m.start(),
            "end": m.end(),
            "text": article[m.start():m.end()],
            "label": r["label"],
            "also": list(r.get("also", [])),
            "speaker": r.get("speaker", ""),
            **{k: r[k] for k in ("target", "speaker_type") if k in r},
            **{f"{role}_span": respan(r, f"{role}_span", article[m.start():m.end()], art_id, pos)
               for role in ("speaker", "target") if f"{role}_span" in r},
        })
        cur = m.end()
    rest = article[cur:]
    if rest.strip():
        off = cur + (len(rest) - len(rest.lstrip()))
        raise GoldError(
            f"{art_id}: text after sentence index {len(recs) - 1} (offset {off}) is not covered "
            f"by any gold sentence: {rest.strip()[:120]!r}")
    # paranoid coverage check over the whole article
    covered = [False] * len(article)
    for s in out:
        for i in range(s["start"], s["end"]):
            covered[i] = True
    for i, ch in enumerate(article):
        if not ch.isspace() and not covered[i]:
            raise GoldError(f"{art_id}: character {ch!r} at offset {i} is not covered")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", default=DEFAULT_DIR, help="articles directory")
    ap.add_argument("--out", default=None, help="output file (default ARTICLES/gold.jsonl)")
    a = ap.parse_args()
    adir = a.articles
    out_path = a.out or os.path.join(adir, "gold.jsonl")
    txts = {os.path.splitext(os.path.basename(p))[0]: p
            for p in sorted(glob.glob(os.path.join(adir, "*.txt")))}
    golds = {os.path.splitext(os.path.basename(p))[0]: p
             for p in sorted(glob.glob(os.path.join(adir, "gold", "*.jsonl")))}
    errors = []
    for art_id in sorted(set(txts) - set(golds)):
        errors.append(f"{art_id}: article has no gold file")
    for art_id in sorted(set(golds) - set(txts)):
        errors.append(f"{art_id}: gold file has no article")
    rows = []
    for art_id in sorted(set(txts) & set(golds)):
        with open(txts[art_id], encoding="utf-8") as f:
            article = f.read()
        try:
            rows.extend(align(art_id, article, load_gold(golds[art_id], art_id)))
        except GoldError as e:
            errors.append(str(e))
    if errors:
        for e in errors:
            print("ERROR:", e, file=sys.stderr)
        print(f"FAILED: {len(errors)} problem(s); {out_path} not written", file=sys.stderr)
        return 1
    with open(out_path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = Counter(r["label"] for r in rows)
    n_art = len({r["article_id"] for r in rows})
    print(f"OK: {n_art} articles, {len(rows)} sentences -> {out_path}")
    for lab in LABELS:
        c = counts.get(lab, 0)
        pct = 100.0 * c / len(rows) if rows else 0.0
        print(f"  {lab:<10} {c:5d}  {pct:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
