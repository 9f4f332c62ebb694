"""Generate data/README.md (the data card) from the files themselves.

Usage: .venv/bin/python data/tools/make_data_card.py
"""

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np

from communique.corpus import SPEAKER_TYPES, TAGS, VOICES, is_hard_negative
from communique.data import read_records
from communique.labels import LABELS

ROOT = Path(__file__).resolve().parents[2]
SPLITS = ("train", "dev", "test", "test-wire")
AGREEMENT = ROOT / "data/agreement"


def _register_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("register_stats", ROOT / "data/tools/register_stats.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def register_section(corpus: dict, recs: list) -> list[str]:
    """The register figures per split, for the older batches, the wire batch and the whole corpus."""
    reg = _register_module()
    sets = {**corpus, "older batches": [r for r in recs if "speaker_type" not in r],
            "wire batch": [r for r in recs if "speaker_type" in r], "all": recs}
    figs = {name: reg.figures(rows) for name, rows in sets.items()}
    keys = [k for k in figs["all"] if k != "n"]
    rows = [[k] + [figs[n][k] for n in sets] + [f">= {reg.BANDS[k]}" if k in reg.BANDS else ""] for k in keys]
    lines = ["## Register", "",
             "How much the sentences read like wire copy (`data/tools/register_stats.py`; shares of sentences; "
             "`said_*` and `plain_verb_*` are per stance label, `will_in_other` among `other`). The whole corpus "
             "must stay inside the bands (tested).", "",
             table(["figure", *sets, "band (all)"], [[k, *(figs[n]["n"] for n in sets), ""] for k in ["sentences"]]
                   + rows), "", "Most frequent word 3-grams per label (whole corpus):", ""]
    for label, grams in reg.top_trigrams(recs).items():
        lines.append(f"- {label}: " + "; ".join(f"{g} ({c})" for g, c in grams))
    return lines + [""]


def speaker_type_section(recs: list) -> list[str]:
    typed = [r for r in recs if "speaker_type" in r]
    if not typed:
        return []
    rows = []
    for t in SPEAKER_TYPES:
        per = Counter(r["label"] for r in typed if r["speaker_type"] == t)
        rows.append([t] + [per[x] for x in LABELS] + [sum(per.values())])
    stance = [r for r in typed if r["label"] != "other"]
    domestic = sum(r["speaker_type"] in ("non-state", "individual") for r in stance)
    return ["## Speaker types (wire batch)", "",
            f"Every sentence of the wire batch records who speaks (`speaker_type`). Stance sentences by non-state "
            f"actors or individuals: **{domestic} of {len(stance)} ({domestic / len(stance):.0%})**.", "",
            table(["speaker_type", *LABELS, "total"], rows), ""]


def agreement_section(recs: list) -> list[str]:
    """Cohen's kappa between the writers' labels and a second writer's blind labels, and the adjudications."""
    blind_file, adj_file = AGREEMENT / "blind-labels.jsonl", AGREEMENT / "adjudication.jsonl"
    if not blind_file.is_file():
        return []
    from sklearn.metrics import cohen_kappa_score

    by_id = {r["id"]: r for r in recs}
    blind = [json.loads(x) for x in blind_file.read_text(encoding="utf-8").splitlines() if x.strip()]
    adj = [json.loads(x) for x in adj_file.read_text(encoding="utf-8").splitlines() if x.strip()] \
        if adj_file.is_file() else []
    original = {a["id"]: a["writer"] for a in adj}  # agreement is measured before adjudication changed labels
    pairs = [(original.get(b["id"], by_id[b["id"]]["label"]), b["label"]) for b in blind if b["id"] in by_id]
    first, second = zip(*pairs)
    kappa = cohen_kappa_score(first, second, labels=list(LABELS))
    agree = sum(a == b for a, b in pairs) / len(pairs)
    lines = ["## Inter-annotator agreement (wire batch)", "",
             f"A second writer, who had seen neither the batch nor its labels, labelled a random "
             f"{len(pairs)}-sentence sample of the wire batch (about a tenth of each part, drawn as it was written) "
             "from the codebook alone "
             f"(`agreement/blind-labels.jsonl`). Raw agreement **{agree:.1%}**, Cohen's kappa **{kappa:.3f}** (before "
             "adjudication). Both writers worked from the codebook on sentences written to be labelled, so this "
             "agreement is an upper bound on what annotators reach on real wire text.", ""]
    if adj:
        kept = Counter(a["decision"] for a in adj)
        lines += ["Every disagreement was adjudicated against the codebook (`agreement/adjudication.jsonl`): "
                  + ", ".join(f"{n} {d}" for d, n in sorted(kept.items())) + ".", "",
                  table(["id", "writer", "second writer", "decision", "reason"],
                        [[a["id"], a["writer"], a["second"], a["decision"], a["reason"].replace("|", "/")]
                         for a in adj]), ""]
    return lines


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def main(out: Path = ROOT / "data/README.md") -> None:
    corpus = {s: read_records([ROOT / "data/corpus" / f"{s}.jsonl"]) for s in SPLITS}
    corpus = {s: [{k: v for k, v in r.items() if k != "_source"} for r in rs] for s, rs in corpus.items()}
    recs = [r for s in SPLITS for r in corpus[s]]
    lab = {s: Counter(r["label"] for r in corpus[s]) for s in SPLITS}
    lines = ["# Data card", "",
             "_Generated by `data/tools/make_data_card.py` from the files in `data/`; do not edit by hand._", "",
             "Every sentence and article here was written for this project (hand-written by the team, using real "
             "actors in invented sentences; no copied or paraphrased quotes). Labels follow `data/CODEBOOK.md`, "
             "the project's complete label specification.", "",
             "## Files", "",
             "- `corpus/{train,dev,test,test-wire}.jsonl`: labelled sentences, one JSON object per line with `id`, "
             "`text`, `label`, `also`, `group`, `speaker`, `target`, `voice`, `tags`, and `speaker_type` (state, "
             "non-state, international, individual, none) on the wire batch. `test-wire.jsonl` holds the test "
             "groups of the wire-register batch, `test.jsonl` those of the older batches. Every stance sentence "
             "also has `speaker_span` and `target_span`: where the speaker and the target are named, as "
             "[start, end) character offsets into `text`, or null where the sentence names none.",
             "- `challenge/contrast.jsonl`: minimal pairs (`pair`, `rule`, `note`) that differ in a few words and in label.",
             "- `articles/*.txt`, `articles/metadata.csv`, `articles/gold.jsonl`: sample news articles and gold "
             "sentence spans and labels (`article_id`, `index`, `start`, `end`, `text`, `label`, `also`, `speaker`, and "
             "`target`, `speaker_type` on the wire-style articles); `metadata.csv`'s `set` column tells the original "
             "articles from the wire-style ones, which `evaluate` reports apart. They are test data.",
             "- `articles-dev/`: development articles in the same layout (wire style, `target` on every stance "
             "sentence, many speakers named only by a pronoun or a role), for tuning how `he`, `the junta` or an "
             "unnamed target resolve; `evaluate --split dev` scores them.",
             "- `agreement/`: a second writer's blind labels for a sample of the wire batch, and the adjudications; "
             "`article-targets.jsonl`: the targets of 91 stance sentences of the original articles as filed and as "
             "a second annotator filed them blind.",
             "- `tools/`: the writing guide, batch checker, split maker and this generator.", "",
             "## Labels per split", ""]
    rows = [[s, len(corpus[s]), len({r['group'] for r in corpus[s]})] + [lab[s][x] for x in LABELS] for s in SPLITS]
    rows.append(["**all**", len(recs), len({r['group'] for r in recs})] + [sum(lab[s][x] for s in SPLITS) for x in LABELS])
    lines += [table(["split", "sentences", "groups", *LABELS], rows), ""]
    hn = sum(map(is_hard_negative, recs))
    lines += [f"Hard negatives (`other` with an `hn-*` tag): **{hn}**. Sentences with a non-empty `also`: "
              f"**{sum(bool(r['also']) for r in recs)}**.", "", "## Voice", ""]
    v = Counter(r["voice"] for r in recs)
    lines += [table(["voice", "sentences", "share"], [[x, v[x], f"{v[x] / len(recs):.1%}"] for x in VOICES]), ""]
    lines += ["## Tags", "", "Hard-case tags (per label) and hard-negative tags:", ""]
    tag_rows = []
    for t in TAGS:
        per = Counter(r["label"] for r in recs if t in r["tags"])
        tag_rows.append([t] + [per[x] for x in LABELS] + [sum(per.values())])
    lines += [table(["tag", *LABELS, "total"], tag_rows), ""]
    lengths = np.array([len(r["text"].split()) for r in recs])
    qs = np.percentile(lengths, [0, 10, 25, 50, 75, 90, 100]).astype(int)
    bins = Counter(min(n // 10, 6) for n in lengths)
    lines += ["## Length (words)", "",
              table(["min", "p10", "p25", "median", "p75", "p90", "max"], [list(qs)]), "",
              table(["words", "sentences"], [[f"{10 * b}–{10 * b + 9}" if b < 6 else "60–70", bins[b]]
                                             for b in sorted(bins)]), ""]
    lines += register_section(corpus, recs) + speaker_type_section(recs) + agreement_section(recs)
    lines += ["## Groups", "", "Each group is one conflict, dispute or dyad; splits never share a group.", ""]
    grows = []
    for s in SPLITS:
        for g, n in sorted(Counter(r["group"] for r in corpus[s]).items()):
            gl = Counter(r["label"] for r in corpus[s] if r["group"] == g)
            grows.append([g, s, n] + [gl[x] for x in LABELS])
    lines += [table(["group", "split", "sentences", *LABELS], grows), ""]
    contrast = read_records([ROOT / "data/challenge/contrast.jsonl"])
    rules = Counter(r["rule"] for r in contrast)
    pairs = {}
    for r in contrast:
        pairs.setdefault(r["pair"], []).append(r["label"])
    lp = Counter(" / ".join(sorted(p)) for p in pairs.values())
    lines += ["## Challenge set", "", f"{len(pairs)} minimal pairs ({len(contrast)} sentences).", "",
              table(["rule", "sentences"], sorted(rules.items(), key=lambda kv: int(kv[0][1:]))), "",
              table(["label pair", "pairs"], sorted(lp.items())), ""]
    arows = []
    for folder, split in (("articles", "test"), ("articles-dev", "dev")):
        gold = [json.loads(x) for x in (ROOT / "data" / folder / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
        with (ROOT / "data" / folder / "metadata.csv").open(encoding="utf-8") as f:
            meta = list(csv.DictReader(f))
        for m in meta:
            words = len((ROOT / "data" / folder / f"{m['article_id']}.txt").read_text(encoding="utf-8").split())
            gl = Counter(g["label"] for g in gold if g["article_id"] == m["article_id"])
            arows.append([m["article_id"], split, m.get("set", ""), m["date"], words, sum(gl.values())]
                         + [gl[x] for x in LABELS])
    lines += ["## Sample articles", "",
              table(["article", "split", "set", "date", "words", "sentences", *LABELS], arows), ""]
    lines += ["## Known gaps", "",
              "- English only; newswire register. Social media, transcripts and non-English sources are absent.",
              "- Written by a small team: despite the near-duplicate test (word 3-gram Jaccard < 0.4), stock phrases "
              "recur (\"refused to rule out\", \"warned that it would\"), and a model can learn them as shortcuts. "
              "The challenge set and the gold articles measure how far that carries.",
              "- The older batches give every group the same label mix (about 16 of each stance label and 36 "
              "`other` per 100), flatter than real news, where `other` dominates; the wire batch varies the mix "
              "by group (45-85% `other`).",
              "- Direct quotes are about a quarter of sentences (target was 30%); headlines slightly over-represented.",
              "- Facts (dates, figures, titles) are plausible for the period but were not checked against sources; "
              "the labels do not depend on them.",
              "- Oceania has two groups and Latin America's 19th/20th-century border wars only one; Cold War "
              "coverage is thinner than post-2000.", ""]
    Path(out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out}: {len(recs)} sentences, {len({r['group'] for r in recs})} groups")


if __name__ == "__main__":
    main()
