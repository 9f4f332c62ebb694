"""How well speakers and targets are found: span F1 (exact and overlapping) and actor accuracy.

On labelled sentences each stance sentence with span annotations counts once per role. A span is
a true positive when it equals the gold span (``exact``) or shares a character with it
(``overlap``); a predicted span where the gold has none is a false positive, a missed one a false
negative. Actor accuracy compares sides: the side the predicted mention resolves to against the
side of the gold canonical actor (both through the same actor table), whether or not the sentence
names it, and "no actor" against a stance that has none. A rule baseline (the first and the next
other actor-table name in the sentence) is scored the same way, so the tagger is chosen by
measurement, not by faith.

Mentions resolve as in an article (:class:`~communique.actors.links.ArticleResolver`), each sentence
read twice: alone, where "the junta" or "the union" names no one and an unnamed target stays
unknown, and with its story (the other sentences of its corpus group, as a scored article gives its
sentences), where such a role mention takes the actor the story names most, and an unnamed target
the other side it names most.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..metrics import bootstrap_ci, prf
from .links import ArticleResolver, StoryContext
from .table import ActorTable

ROLES = ("speaker", "target")
Span = tuple[int, int] | None


def span_f1(gold: Sequence[Span], pred: Sequence[Span]) -> dict[str, dict[str, float]]:
    """Exact and overlap precision, recall and F1 of predicted spans against gold spans."""
    n_pred = sum(p is not None for p in pred)
    n_gold = sum(g is not None for g in gold)
    exact = sum(p is not None and g is not None and tuple(p) == tuple(g) for g, p in zip(gold, pred))
    overlap = sum(p is not None and g is not None and p[0] < g[1] and g[0] < p[1] for g, p in zip(gold, pred))
    return {"exact": prf(exact, n_pred, n_gold), "overlap": prf(overlap, n_pred, n_gold)}


def accuracy_with_ci(correct: Sequence[bool], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    c = np.asarray(correct, dtype=float)
    return {"accuracy": float(c.mean()) if len(c) else float("nan"), "n": int(len(c)),
            "ci": bootstrap_ci(c, c, lambda t, _: float(t.mean()), n_boot=n_boot, seed=seed)}


def rule_spans(table: ActorTable, text: str) -> dict[str, Span]:
    """The baseline: the first actor-table name is the speaker, the next one on another side the target."""
    hits = table.find_all(text)
    if not hits:
        return {"speaker": None, "target": None}
    first = hits[0]
    other = next((h for h in hits[1:] if h[2].side != first[2].side), None)
    return {"speaker": (first[0], first[1]), "target": (other[0], other[1]) if other else None}


def gold_side(table: ActorTable, record: dict[str, Any], role: str) -> str | None:
    """The side of a labelled sentence's canonical actor for ``role``, named in the sentence or not
    (the actor a dyad needs); None where the stance has none."""
    return table.side(record[role]) if record.get(role) else None


def resolve_sentences(table: ActorTable, records: Sequence[dict[str, Any]], spans: Sequence[dict[str, Span]],
                      stories: dict[Any, StoryContext] | None = None) -> list[dict[str, str | None]]:
    """Per sentence, the sides its speaker and target spans resolve to, each sentence an article of its
    own; with ``stories`` (group -> :class:`StoryContext`), in the context of its record's ``group``."""
    out = []
    for r, found in zip(records, spans):
        resolver = ArticleResolver(table, stories.get(r.get("group")) if stories else None)
        resolver.see(r["text"], 0)
        speaker, target = resolver.stance(r["text"], 0, found["speaker"], found["target"])
        out.append({"speaker": speaker.actor, "target": target.actor})
    return out


def span_report(table: ActorTable, records: Sequence[dict[str, Any]], predicted: Sequence[dict[str, Span]],
                sides: Sequence[dict[str, str | None]] | None = None, n_boot: int = 1000,
                seed: int = 0) -> dict[str, Any]:
    """Per role: span F1 of ``predicted`` spans on ``records`` (same order) and actor accuracy of the
    ``sides`` they resolve to (by default, each sentence alone)."""
    sides = resolve_sentences(table, records, predicted) if sides is None else sides
    out: dict[str, Any] = {"sentences": len(records)}
    for role in ROLES:
        gold_spans = [tuple(r[f"{role}_span"]) if r.get(f"{role}_span") else None for r in records]
        pred_spans = [p[role] for p in predicted]
        correct = [gold_side(table, r, role) == s[role] for r, s in zip(records, sides)]
        out[role] = {**span_f1(gold_spans, pred_spans), "actor": accuracy_with_ci(correct, n_boot, seed)}
    return out


def evaluate_actors(actors, records: Sequence[dict[str, Any]], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The tagger and the rule baseline on the stance sentences of ``records`` that carry spans. Where
    the records carry a ``group``, the tagger is also scored with each sentence in its story
    (``tagger_in_story``): the group's other sentences, of every label, are its context."""
    rows = [r for r in records if r.get("label") != "other" and ("speaker_span" in r or "target_span" in r)]
    tagged = actors.tagger.spans([r["text"] for r in rows])
    rules = [rule_spans(actors.table, r["text"]) for r in rows]
    out = {"tagger": span_report(actors.table, rows, tagged, n_boot=n_boot, seed=seed)}
    if rows and all(r.get("group") for r in rows):
        texts: dict[Any, list[str]] = {}
        for r in records:
            texts.setdefault(r.get("group"), []).append(r["text"])
        stories = {g: StoryContext(actors.table, t) for g, t in texts.items()}
        sides = resolve_sentences(actors.table, rows, tagged, stories)
        out["tagger_in_story"] = span_report(actors.table, rows, tagged, sides, n_boot, seed)
    out["rule_baseline"] = span_report(actors.table, rows, rules, n_boot=n_boot, seed=seed)
    return out


def article_actor_scores(table: ActorTable, pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]],
                         n_gold_stance: int, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """End to end on gold articles. ``pairs`` are (gold sentence, aligned scored row) for every gold
    stance sentence that segmentation found; a row that the model did not mark as a stance has no
    actors. Per role: actor accuracy on the sentences found as stances, and over all gold stance
    sentences the share with the right label and the right actor (``event_recall``)."""
    found = [(g, r) for g, r in pairs if r.get("label") not in (None, "other")]
    out: dict[str, Any] = {"gold_stance_sentences": n_gold_stance, "found_as_stance": len(found)}
    for role in ROLES:
        correct = [table.side(g.get(role)) == r.get(f"{role}_actor") if g.get(role) else r.get(f"{role}_actor") is None
                   for g, r in found]
        joint = sum(ok and r["label"] == g["label"] for ok, (g, r) in zip(correct, found))
        out[role] = {"actor": accuracy_with_ci(correct, n_boot, seed),
                     "event_recall": joint / n_gold_stance if n_gold_stance else float("nan")}
    return out


def format_actor_report(rep: dict[str, Any], title: str) -> str:
    lines = [title]
    for name, part in rep.items():
        if not isinstance(part, dict) or "speaker" not in part:
            continue
        for role in ROLES:
            m = part[role]
            a = m["actor"]
            spans = (f"span F1 exact {m['exact']['f1']:.3f}, overlap {m['overlap']['f1']:.3f}; " if "exact" in m else "")
            lines.append(f"  {name:<14} {role:<8} {spans}actor accuracy {a['accuracy']:.3f} "
                         f"[{a['ci'][0]:.3f}, {a['ci'][1]:.3f}] (n {a['n']})"
                         + (f"; event recall {m['event_recall']:.3f}" if "event_recall" in m else ""))
    return "\n".join(lines)
