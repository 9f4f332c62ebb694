"""Tables of a batch of scored articles: stance profiles and timelines, top sentences, who said what,
and one article as HTML with its sentences coloured by label."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..labels import LABELS, STANCE_LABELS


def load_scores(path: str | Path, metadata: str | Path | pd.DataFrame | None = None,
                speakers: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """A scores file from ``communique score``, optionally joined with per-article metadata and speakers.

    Args:
        path: the scores file (JSONL, CSV or Parquet).
        metadata: CSV (or DataFrame) with an ``article_id`` column, e.g. ``data/articles/metadata.csv``;
            its columns are added to every row (a name the scores already have gets the suffix ``_meta``).
        speakers: annotated spans with a speaker (e.g. ``data/articles/gold.jsonl``); see
            :func:`attach_speakers`. Without it, a ``speaker`` column of the input is kept as it is.
    """
    from ..scores_file import read_scores

    df = read_scores(path)
    if metadata is not None:
        meta = metadata if isinstance(metadata, pd.DataFrame) else pd.read_csv(metadata, dtype={"article_id": str})
        df = df.assign(article_id=df["article_id"].astype(str)).merge(meta, on="article_id", how="left",
                                                                      suffixes=("", "_meta"))
    if speakers is not None:
        if "speaker_actor" in df:  # the model's own speakers stay; the annotated ones sit beside them
            df = attach_speakers(df.rename(columns={"speaker": "_model_speaker"}), speakers)
            df = df.rename(columns={"speaker": "gold_speaker", "_model_speaker": "speaker"})
        else:
            df = attach_speakers(df, speakers)
    return df


def sentences(scores: pd.DataFrame) -> pd.DataFrame:
    """Only the scored sentences (drop the rows of articles that could not be scored)."""
    return scores[scores["label"].notna() & scores["sentence_index"].notna()]


def _article_order(scores: pd.DataFrame) -> list[str]:
    if "date" in scores and scores["date"].notna().any():
        first = scores.groupby("article_id", sort=False)["date"].first()
        return list(pd.to_datetime(first, errors="coerce").sort_values(kind="stable").index)
    return list(dict.fromkeys(scores["article_id"]))


def stance_profile(scores: pd.DataFrame, normalize: bool = True) -> pd.DataFrame:
    """Per article, the share (or count) of sentences with each label, and the number of sentences.

    Articles are in date order when the scores have a ``date`` column, else in file order.
    """
    s = sentences(scores)
    counts = pd.crosstab(s["article_id"], pd.Categorical(s["label"], categories=LABELS), dropna=False)
    counts.columns = list(LABELS)
    counts = counts.reindex([a for a in _article_order(scores) if a in counts.index])
    n = counts.sum(axis=1)
    table = counts.div(n.where(n > 0, 1), axis=0) if normalize else counts
    table["sentences"] = n
    table.columns.name = "label"
    return table


def _dates(scores: pd.DataFrame, dates: Mapping[str, Any] | pd.DataFrame | None) -> pd.Series | None:
    """A Series article_id -> Timestamp, from ``dates`` or the scores' own ``date`` column."""
    if dates is None:
        if "date" not in scores:
            return None
        series = scores.groupby("article_id", sort=False)["date"].first()
    elif isinstance(dates, pd.DataFrame):
        series = dates.astype({"article_id": str}).set_index("article_id")["date"]
    else:
        series = pd.Series(dict(dates))
    series = pd.to_datetime(series, errors="coerce").dropna()
    return series if len(series) else None


def stance_timeline(scores: pd.DataFrame, dates: Mapping[str, Any] | pd.DataFrame | None = None,
                    freq: str | None = None) -> pd.DataFrame | None:
    """Share of each label among the sentences of the articles of each date (or period).

    Args:
        scores: scored sentences.
        dates: ``{article_id: date}`` or a DataFrame with ``article_id`` and ``date``; default is
            the scores' own ``date`` column.
        freq: a pandas period such as ``"M"`` or ``"W"`` to pool articles by; default is per day.
    Returns:
        one row per date with a column per label plus ``articles`` and ``sentences``; None when no
        article has a date.
    """
    when = _dates(scores, dates)
    if when is None:
        return None
    counts = stance_profile(scores, normalize=False)
    counts = counts[counts.index.isin(when.index)]
    if counts.empty:
        return None
    date = when.reindex(counts.index)
    if freq:
        date = date.dt.to_period(freq).dt.start_time
    grouped = counts.groupby(date.values)
    table = grouped[list(LABELS)].sum()
    n = table.sum(axis=1)
    table = table.div(n.where(n > 0, 1), axis=0)
    table["articles"] = grouped.size()
    table["sentences"] = n
    table.index.name = "date"
    return table.sort_index()


def top_sentences(scores: pd.DataFrame, k: int = 3, labels: Sequence[str] = LABELS) -> pd.DataFrame:
    """The ``k`` most confident sentences of each label, labels in codebook order."""
    s = sentences(scores)
    cols = [c for c in ("label", "confidence", "article_id", "sentence_index", "speaker", "date", "text") if c in s]
    parts = [s[s["label"] == label].nlargest(k, "confidence")[cols] for label in labels]
    return pd.concat(parts).reset_index(drop=True)


def attach_speakers(scores: pd.DataFrame, spans: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Add a ``speaker`` column: the speaker of the annotated span that overlaps each sentence most.

    Args:
        scores: scored sentences (``article_id``, ``start``, ``end``).
        spans: rows with ``article_id``, ``start``, ``end``, ``speaker`` (e.g. ``data/articles/gold.jsonl``);
            empty speakers count as none.
    """
    if not isinstance(spans, pd.DataFrame):
        spans = pd.read_json(spans, lines=True, dtype=False)
    spans = spans[["article_id", "start", "end", "speaker"]].rename(columns={"start": "s_start", "end": "s_end"})
    spans = spans[spans["speaker"].fillna("").astype(str).str.strip() != ""]
    out = scores.drop(columns="speaker", errors="ignore").reset_index(drop=True)
    pairs = out.reset_index().merge(spans, on="article_id")
    overlap = (pairs[["end", "s_end"]].min(axis=1) - pairs[["start", "s_start"]].max(axis=1))
    pairs = pairs[overlap > 0].assign(overlap=overlap[overlap > 0])
    best = pairs.sort_values("overlap", ascending=False).drop_duplicates("index").set_index("index")["speaker"]
    out["speaker"] = best.reindex(out.index)
    return out


def who_said_what(scores: pd.DataFrame, labels: Sequence[str] = STANCE_LABELS) -> pd.DataFrame | None:
    """Per speaker: how many sentences of each label, and the most confident one as an example.

    Speakers are the model's actors (``speaker_actor``) when the scores have them, else a ``speaker``
    column (see :func:`attach_speakers`); None when the scores carry neither.
    """
    col = "speaker_actor" if "speaker_actor" in scores else "speaker"
    if col not in scores:
        return None
    s = sentences(scores)
    s = s[s[col].fillna("").astype(str).str.strip().ne("") & s["label"].isin(labels)]
    if s.empty:
        return None
    table = pd.crosstab(s[col], pd.Categorical(s["label"], categories=list(labels)), dropna=False)
    table.columns = list(labels)
    table["total"] = table.sum(axis=1)
    best = s.sort_values("confidence", ascending=False).drop_duplicates(col).set_index(col)
    table["example"] = best["label"] + ": " + best["text"]
    table.index.name = "speaker"
    return table.sort_values(["total", "speaker"], ascending=[False, True])


def article_text(scores: pd.DataFrame, article_id: str) -> str | None:
    """The original text of an article when the scores name its file (``path`` column), else None."""
    if "path" not in scores:
        return None
    paths = scores.loc[scores["article_id"] == article_id, "path"].dropna()
    if paths.empty or not Path(paths.iloc[0]).is_file():
        return None
    return Path(paths.iloc[0]).read_text(encoding="utf-8-sig")


def _mark_actors(sentence: str, start: int, row: Mapping[str, Any]) -> str:
    """The sentence as HTML with its speaker mention in bold and its target underlined (where scored)."""
    marks = []
    for role, style in (("speaker", "font-weight:bold"), ("target", "text-decoration:underline")):
        s, e, actor = row.get(f"{role}_start"), row.get(f"{role}_end"), row.get(f"{role}_actor")
        if s is not None and e is not None and not (pd.isna(s) or pd.isna(e)):
            s, e = int(s) - start, int(e) - start
            if 0 <= s < e <= len(sentence):
                marks.append((s, e, style, f"{role}: {actor}"))
    out, pos = [], 0
    for s, e, style, tip in sorted(marks):
        if s < pos:
            continue
        out += [html.escape(sentence[pos:s]),
                f'<span style="{style}" title="{html.escape(str(tip))}">{html.escape(sentence[s:e])}</span>']
        pos = e
    return "".join(out) + html.escape(sentence[pos:])


def render_article_html(scores: pd.DataFrame, article_id: str, text: str | None = None) -> str:
    """One article as HTML, each sentence highlighted in its label's colour (hover: label and confidence);
    with actor columns, the speaker mention in bold and the target underlined (hover: the actor).

    Args:
        scores: a scores DataFrame.
        article_id: which article.
        text: the original text, to keep the layout between sentences; without it, sentences are
            joined by spaces.
    """
    from ..plots import COLORS

    rows = scores[scores["article_id"] == article_id]
    if rows.empty:
        raise KeyError(f"no article {article_id!r} in the scores")
    s = sentences(rows).sort_values("sentence_index")
    esc = html.escape
    legend = " ".join(f'<span style="background:{COLORS[label]}55;padding:0 4px">{label}</span>' for label in LABELS)
    head = [f"<h3>{esc(str(article_id))}</h3>"]
    for col in ("headline", "date", "source_meta"):
        if col in rows and pd.notna(rows[col].iloc[0]):
            head.append(f"<div><b>{col.removesuffix('_meta')}</b>: {esc(str(rows[col].iloc[0]))}</div>")
    if s.empty:
        reason = rows["reason"].iloc[0] if "reason" in rows else ""
        body = f"<i>not scored: {esc(str(rows['status'].iloc[0]))} {esc(str(reason or ''))}</i>"
    else:
        parts, pos = [], 0
        for r in s.itertuples(index=False):
            start, end = int(r.start), int(r.end)
            if text is not None and start >= pos:
                parts.append(esc(text[pos:start]))
            elif parts:
                parts.append(" ")
            sentence = text[start:end] if text is not None else r.text
            tip = f"{r.label} {r.confidence:.2f}"
            marked = _mark_actors(sentence, start, r._asdict())
            if getattr(r, "speaker_actor", None):
                tip += f": {r.speaker_actor} -> {getattr(r, 'target_actor', None) or '(no target named)'}"
            parts.append(f'<span class="stance stance-{r.label}" title="{esc(tip)}" '
                         f'style="background:{COLORS[r.label]}55">{marked}</span>')
            pos = end
        if text is not None:
            parts.append(esc(text[pos:]))
        body = "".join(parts)
    return (f'<div class="communique-article">{"".join(head)}<div>{legend}</div>'
            f'<div style="white-space:pre-wrap;line-height:1.6;margin-top:0.5em">{body}</div></div>')


__all__ = ["article_text", "attach_speakers", "load_scores", "render_article_html", "sentences", "stance_profile",
           "stance_timeline", "top_sentences", "who_said_what"]
