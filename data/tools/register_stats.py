#!/usr/bin/env python3
"""Register figures: how much a set of sentences reads like wire copy.

For each file given (default: the three corpus splits, then all of them together) prints the
median words per sentence, the share with 30+ words, and the shares naming a weekday, with three
or more capitalised names, with a title, with parentheses, with quote marks and in the first
person; per stance label the share wrapped in "said"/"told" and the share using the plain verb
of its label; the share of "other" sentences containing "will"; and the ten most frequent word
3-grams per label. ``BANDS`` holds the bands the whole corpus must stay inside (tested).

Usage: python3 data/tools/register_stats.py [FILE.jsonl ...] [--json] [--by-group]
Standard library only.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STANCES = ("assurance", "threat", "demand", "rejection")

WEEKDAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?\b")
TITLE = re.compile(
    r"\b(President|Vice[- ]President|Prime Minister|Premier|Minister|Secretary|Secretary-General|Chancellor|"
    r"Gen\.|Lt\.|Col\.|Colonel|Maj\.|Adm\.|Admiral|Capt\.|Commander|Marshal|Sen\.|Senator|"
    r"Rep\.|Gov\.|Governor|Mayor|Ambassador|Envoy|envoy|Chairman|Chairwoman|chairman|chairwoman|"
    r"spokesman|spokeswoman|spokesperson|Speaker|King|Queen|Prince|Crown Prince|Emir|Sheikh|Sultan|"
    r"Pope|Cardinal|Archbishop|Chief Justice|Judge|Attorney General|Director|secretary-general)(?!\w)")
SAID = re.compile(r"\b(said|says|say|told|tells|tell)\b", re.I)
FIRST_PERSON = re.compile(r"\b(I|we|We|our|Our|us|my|My|me)\b")
QUOTE = re.compile(r"[\"“”]")
WILL = re.compile(r"\bwill\b", re.I)
PLAIN_VERB = {
    "threat": re.compile(r"\b(threat\w*|ultimat\w*)", re.I),
    "demand": re.compile(r"\bdemand\w*", re.I),
    "assurance": re.compile(r"\bagree\w*", re.I),
    "rejection": re.compile(r"\b(reject\w*|refus\w*|declin\w*|oppos\w*)", re.I),
}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’.-]*")
_W3 = re.compile(r"[a-z0-9']+")

# The bands the whole corpus must stay inside (tests/test_corpus.py).
BANDS = {
    "median_words": 21, "share_30_words": 0.12, "weekday": 0.10, "names_3plus": 0.48, "title": 0.14,
    "parentheses": 0.03, **{f"plain_verb_{lab}": 0.20 for lab in STANCES},
}


def capitalised_names(text: str) -> int:
    """Runs of capitalised words, not counting the sentence's first word (a rough count of names:
    "Foreign Minister Sergei Lavrov" is one)."""
    runs, inside = 0, False
    for i, w in enumerate(_WORD.findall(text)):
        cap = i > 0 and w[0].isupper() and w != "I"
        runs += cap and not inside
        inside = cap
    return runs


def figures(records: list[dict]) -> dict:
    """The register figures of a list of corpus records (``text`` and ``label``)."""
    n = len(records)
    if not n:
        return {"n": 0}
    texts = [r["text"] for r in records]
    lengths = [len(t.split()) for t in texts]

    def share(pred, rows=records) -> float:
        return round(sum(1 for r in rows if pred(r["text"])) / len(rows), 3) if rows else 0.0

    out: dict = {
        "n": n,
        "median_words": statistics.median(lengths),
        "share_30_words": round(sum(1 for x in lengths if x >= 30) / n, 3),
        "weekday": share(lambda t: WEEKDAY.search(t)),
        "names_3plus": share(lambda t: capitalised_names(t) >= 3),
        "title": share(lambda t: TITLE.search(t)),
        "parentheses": share(lambda t: "(" in t),
        "quote_marks": share(lambda t: QUOTE.search(t)),
        "first_person": share(lambda t: FIRST_PERSON.search(t)),
    }
    by_label = defaultdict(list)
    for r in records:
        by_label[r["label"]].append(r)
    for lab in STANCES:
        out[f"said_{lab}"] = share(lambda t: SAID.search(t), by_label[lab])
        out[f"plain_verb_{lab}"] = share(lambda t, lab=lab: PLAIN_VERB[lab].search(t), by_label[lab])
    out["will_in_other"] = share(lambda t: WILL.search(t), by_label["other"])
    return out


def top_trigrams(records: list[dict], k: int = 10) -> dict[str, list[tuple[str, int]]]:
    grams: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        w = _W3.findall(r["text"].lower())
        grams[r["label"]].update(" ".join(w[i:i + 3]) for i in range(len(w) - 2))
    return {lab: c.most_common(k) for lab, c in sorted(grams.items())}


def outside_bands(fig: dict) -> list[str]:
    """The band figures that ``fig`` falls short of, as readable lines."""
    return [f"{key} = {fig[key]} < {low}" for key, low in BANDS.items() if fig.get(key, 0) < low]


def read(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    ap.add_argument("--by-group", action="store_true", help="also print the figures of every group")
    ap.add_argument("--trigrams", action="store_true", help="also print the 10 most frequent 3-grams per label")
    a = ap.parse_args(argv)
    files = a.files or [str(ROOT / "data/corpus" / f"{s}.jsonl") for s in ("train", "dev", "test")]
    sets = {Path(p).name: read(p) for p in files}
    if len(sets) > 1:
        sets["all"] = [r for rows in list(sets.values()) for r in rows]
    if a.by_group:
        groups = defaultdict(list)
        for r in sets.get("all") or next(iter(sets.values())):
            groups[r.get("group", "?")].append(r)
        sets.update({f"group:{g}": rows for g, rows in sorted(groups.items())})
    table = {name: figures(rows) for name, rows in sets.items()}
    if a.json:
        print(json.dumps({"figures": table, "bands": BANDS}, indent=1))
        return 0
    keys = [k for k in next(iter(table.values())) if k != "n"]
    names = list(table)
    width = max(len(k) for k in keys) + 2
    print(" " * width + "".join(f"{n[:14]:>15}" for n in names))
    print(f"{'sentences':<{width}}" + "".join(f"{table[n]['n']:>15}" for n in names))
    for k in keys:
        band = f"  (band >= {BANDS[k]})" if k in BANDS else ""
        print(f"{k:<{width}}" + "".join(f"{table[n].get(k, 0):>15}" for n in names) + band)
    if a.trigrams:
        target = sets.get("all") or next(iter(sets.values()))
        for lab, grams in top_trigrams(target).items():
            print(f"\n3-grams, {lab}: " + "; ".join(f"{g} ({c})" for g, c in grams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
