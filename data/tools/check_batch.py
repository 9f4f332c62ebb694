"""Check corpus batch files: schema, vocabularies, lengths and near-duplicates.

Usage: .venv/bin/python data/tools/check_batch.py NEW_BATCH.jsonl [--against 'data/corpus/*.jsonl']
Prints every problem with file and line; exits 1 if any.
"""
import argparse, glob, json, sys
from collections import defaultdict

from communique.corpus import FIELDS, HARD_NEGATIVE_TAGS, OPTIONAL_FIELDS, SPEAKER_TYPES, TAGS, VOICES, shingles, span_problem
from communique.labels import LABELS


def load(path, problems):
    recs = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"{path}:{ln}: malformed JSON ({e})")
                continue
            recs.append((path, ln, r))
    return recs


def check_record(path, ln, r, problems):
    where = f"{path}:{ln}"
    for k in FIELDS:
        if k not in r:
            problems.append(f"{where}: missing field {k!r}")
    extra = set(r) - set(FIELDS) - set(OPTIONAL_FIELDS)
    if extra:
        problems.append(f"{where}: unknown fields {sorted(extra)}")
    if r.get("label") not in LABELS:
        problems.append(f"{where}: unknown label {r.get('label')!r}")
    also = r.get("also", [])
    if not isinstance(also, list) or any(a not in LABELS or a == r.get("label") for a in also):
        problems.append(f"{where}: bad also {also!r}")
    if "speaker_type" in r and r["speaker_type"] not in SPEAKER_TYPES:
        problems.append(f"{where}: bad speaker_type {r['speaker_type']!r} (allowed: {list(SPEAKER_TYPES)})")
    for key in ("speaker_span", "target_span"):
        problem = span_problem(str(r.get("text", "")), r.get(key))
        if problem:
            problems.append(f"{where}: {key}: {problem}")
    if r.get("voice") not in VOICES:
        problems.append(f"{where}: bad voice {r.get('voice')!r}")
    tags = r.get("tags", [])
    if not isinstance(tags, list) or not tags or any(t not in TAGS for t in tags):
        problems.append(f"{where}: bad tags {tags!r} (allowed: {sorted(TAGS)})")
    if any(t in HARD_NEGATIVE_TAGS for t in tags) and r.get("label") != "other":
        problems.append(f"{where}: hn-* tags are only for label other")
    n = len(str(r.get("text", "")).split())
    if not 5 <= n <= 70:
        problems.append(f"{where}: {n} words (must be 5-70)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--against", default="data/corpus/*.jsonl")
    ap.add_argument("--threshold", type=float, default=0.4)
    a = ap.parse_args()
    problems = []
    mine = [x for p in a.files for x in load(p, problems)]
    others = [x for p in sorted(glob.glob(a.against)) if p not in a.files for x in load(p, [])]
    ids = defaultdict(list)
    for path, ln, r in mine + others:
        ids[r.get("id")].append(f"{path}:{ln}")
    for path, ln, r in mine:
        check_record(path, ln, r, problems)
        if len(ids[r.get("id")]) > 1:
            problems.append(f"{path}:{ln}: duplicate id {r.get('id')!r} also at {ids[r.get('id')]}")
    # near-duplicates: Jaccard of word 3-gram sets
    allrecs = mine + others
    sh = [shingles(str(r.get("text", ""))) for _, _, r in allrecs]
    index = defaultdict(set)
    for i, s in enumerate(sh):
        for g in s:
            index[g].add(i)
    for i in range(len(mine)):
        cands = defaultdict(int)
        for g in sh[i]:
            for j in index[g]:
                if j != i:
                    cands[j] += 1
        for j, inter in cands.items():
            if j < i and j < len(mine):
                continue
            jac = inter / len(sh[i] | sh[j])
            if jac >= a.threshold:
                p, l, r = allrecs[j]
                problems.append(f"{allrecs[i][0]}:{allrecs[i][1]}: near-duplicate (3-gram Jaccard {jac:.2f}) of {p}:{l}: {r['text'][:80]!r}")
    counts = defaultdict(int)
    for _, _, r in mine:
        counts[r.get("label")] += 1
    print("records:", len(mine), dict(counts))
    hn = sum(1 for _, _, r in mine if any(t.startswith("hn-") for t in r.get("tags", [])))
    print("hard negatives:", hn)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
