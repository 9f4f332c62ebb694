"""Tables of who took which stance towards whom, from scores made with a run that has actors.

For the notebooks and `communique report`: the dyads of a scores DataFrame (counts per speaker
actor, target actor and label, with an example sentence) and their counts per period. Figures
from these tables are in :mod:`communique.plots` (:func:`~communique.plots.plot_dyad_network`,
:func:`~communique.plots.plot_dyad_timeline`).

Example:
    >>> import communique.tables as ct  # doctest: +SKIP
    >>> ct.dyad_table(ct.load_scores("out/scores.jsonl"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..labels import LABELS

STANCE_LABELS = LABELS[:4]
NO_TARGET = "(none named)"


def has_actors(scores: pd.DataFrame) -> bool:
    """True when the scores carry actor columns (made by a run trained with ``model.actors: true``)."""
    return "speaker_actor" in scores


def stance_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """The scored stance sentences with a speaker actor; a missing target reads ``(none named)``."""
    if not has_actors(scores):
        raise KeyError("the scores have no actor columns; score with a run trained with model.actors: true")
    s = scores[scores["sentence_index"].notna() & scores["label"].isin(STANCE_LABELS)
               & scores["speaker_actor"].fillna("").astype(str).str.strip().ne("")].copy()
    s["target_actor"] = s["target_actor"].fillna(NO_TARGET).replace("", NO_TARGET)
    return s


def dyad_table(scores: pd.DataFrame, labels: Sequence[str] = STANCE_LABELS) -> pd.DataFrame:
    """One row per (speaker, target): sentences of each stance label, the total, how many of them name the
    target (the rest inferred it from the article), the number of articles and the most confident sentence
    as an example; most frequent first."""
    s = stance_rows(scores)
    keys = ["speaker_actor", "target_actor"]
    if s.empty:
        return pd.DataFrame(columns=[*keys, *labels, "total", "target_named", "articles", "example"]).set_index(keys)
    table = pd.crosstab([s["speaker_actor"], s["target_actor"]], pd.Categorical(s["label"], categories=list(labels)),
                        dropna=False)
    table = table[table.sum(axis=1) > 0]
    table.columns = list(labels)
    table["total"] = table.sum(axis=1)
    named = s["target"].notna() if "target" in s else pd.Series(False, index=s.index)
    table["target_named"] = named.groupby([s["speaker_actor"], s["target_actor"]]).sum().astype(int)
    table["articles"] = s.groupby(keys)["article_id"].nunique()
    best = s.sort_values("confidence", ascending=False).drop_duplicates(keys).set_index(keys)["text"]
    table["example"] = best
    table.index.names = ["speaker", "target"]
    return table.sort_values(["total", "articles"], ascending=False)


def dyad_timeline(scores: pd.DataFrame, by: str = "month", date_column: str = "date") -> pd.DataFrame | None:
    """Stance sentences per period, speaker, target and label (long form); None without dates."""
    if date_column not in scores or scores[date_column].isna().all():
        return None
    s = stance_rows(scores)
    dates = pd.to_datetime(s[date_column], errors="coerce")
    freq = {"day": "D", "week": "W-MON", "month": "M"}[by]
    s = s.assign(period=dates.dt.to_period(freq).dt.start_time)[dates.notna()]
    out = (s.groupby(["period", "speaker_actor", "target_actor", "label"]).size().rename("count").reset_index()
           .rename(columns={"speaker_actor": "speaker", "target_actor": "target"}))
    return out.sort_values(["period", "count"], ascending=[True, False]).reset_index(drop=True)


def article_dyads(scores: pd.DataFrame, article_id: str) -> pd.DataFrame:
    """The stance sentences of one article with their speaker and target mentions and actors."""
    s = stance_rows(scores)
    s = s[s["article_id"] == article_id].sort_values("sentence_index")
    cols = ["sentence_index", "label", "speaker", "speaker_actor", "target", "target_actor", "text"]
    return s[[c for c in cols if c in s]].reset_index(drop=True)


def actor_metrics_table(result: Mapping[str, Any]) -> pd.DataFrame | None:
    """Speaker and target scores of an evaluation (``communique evaluate`` on a run with actors): span F1 and
    actor accuracy with its interval, for the tagger and the rule baseline on the labelled sentences and end
    to end on the gold articles; None when the evaluation has no actors."""
    rows = {}
    for name, part in (result.get("actors") or {}).items():
        if isinstance(part, Mapping) and "speaker" in part:
            rows[f"sentences: {name}"] = part
    arts = (result.get("articles") or {}).get("actors")
    if arts:
        rows["gold articles, end to end"] = arts
    if not rows:
        return None
    table = {}
    for name, part in rows.items():
        line: dict[str, Any] = {}
        for role in ("speaker", "target"):
            m = part[role]
            if "exact" in m:
                line[f"{role} exact F1"] = m["exact"]["f1"]
                line[f"{role} overlap F1"] = m["overlap"]["f1"]
            a = m["actor"]
            line[f"{role} actor acc."] = a["accuracy"]
            line[f"{role} 95% CI"] = f"{a['ci'][0]:.3f}-{a['ci'][1]:.3f}" if a["ci"][0] == a["ci"][0] else ""
            line[f"{role} n"] = a["n"]
        table[name] = line
    out = pd.DataFrame.from_dict(table, orient="index")
    out.index.name = "who to whom"
    return out


__all__ = ["NO_TARGET", "actor_metrics_table", "article_dyads", "dyad_table", "dyad_timeline", "has_actors",
           "stance_rows"]
