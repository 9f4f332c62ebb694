"""Tables for looking at a corpus, a run, a batch of scored articles, or several runs side by side.

Pure functions that return pandas DataFrames (or HTML strings); the notebooks in
``notebooks/`` and ``communique report`` only call these and the figures in
:mod:`communique.plots`.

Example:
    >>> result = load_eval("runs/tfidf")  # doctest: +SKIP
    >>> metrics_table(result["overall"])  # doctest: +SKIP
                      value  ci_low  ci_high
    accuracy          0.812   0.790    0.833
    ...
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .data import read_records
from .errors import DataError, RunDirError
from .labels import LABELS, STANCE_LABELS

SPLITS = ("train", "dev", "test", "test-wire")

# ---------------------------------------------------------------------------------------------- corpus


def corpus_files(root: str | Path) -> dict[str, list[Path]]:
    """The labelled files under ``root``, by split name.

    ``train/dev/test.jsonl`` when the corpus has been split, otherwise every
    ``*.jsonl`` below ``root`` (e.g. ``batches/``), each file its own "split".
    A single file maps to its stem.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root}: no such file or directory")
    if root.is_file():
        return {root.stem: [root]}
    split = {s: [root / f"{s}.jsonl"] for s in SPLITS if (root / f"{s}.jsonl").is_file()}
    if split:
        return split
    files = sorted(root.rglob("*.jsonl"))
    if not files:
        raise DataError(f"{root}: no .jsonl files")
    return {f.stem: [f] for f in files}


def load_corpus(source: str | Path | Mapping[str, Sequence[str | Path]]) -> pd.DataFrame:
    """Labelled records as one DataFrame with ``split`` and ``n_words`` columns.

    Args:
        source: a corpus folder or file (see :func:`corpus_files`), or ``{split: [files]}``.
    """
    by_split = corpus_files(source) if isinstance(source, (str, Path)) else source
    frames = []
    for split, files in by_split.items():
        df = pd.DataFrame(read_records(list(files)))
        df.insert(0, "split", split)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["n_words"] = df["text"].str.split().str.len()
    return df


def _frame(records: pd.DataFrame | Iterable[dict[str, Any]]) -> pd.DataFrame:
    return records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))


def corpus_summary(records: pd.DataFrame | Iterable[dict[str, Any]], by: str = "split") -> pd.DataFrame:
    """Count of each label per value of ``by`` (list values such as tags count once each), with totals.

    Example:
        >>> corpus_summary([{"label": "threat", "split": "train"}]).loc["train", "threat"]
        1
    """
    df = _frame(records)
    if by not in df:
        raise KeyError(f"no column {by!r}; columns: {', '.join(df.columns)}")
    df = df.explode(by) if df[by].map(lambda v: isinstance(v, list)).any() else df
    df = df[df[by].notna() & (df[by] != "")]
    table = pd.crosstab(df[by], pd.Categorical(df["label"], categories=LABELS), dropna=False)
    table.columns = list(LABELS)
    table.columns.name = "label"
    table["total"] = table.sum(axis=1)
    if by == "split":  # keep the files' order (train, dev, test)
        return table.reindex(list(dict.fromkeys(df[by])))
    return table.sort_values("total", ascending=False, kind="stable")


def length_table(records: pd.DataFrame | Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Words per sentence for each label: count, mean, quartiles, max."""
    df = _frame(records)
    words = df["n_words"] if "n_words" in df else df["text"].str.split().str.len()
    table = words.groupby(df["label"]).describe()[["count", "mean", "min", "25%", "50%", "75%", "max"]]
    return table.reindex([label for label in LABELS if label in table.index])


def label_examples(records: pd.DataFrame | Iterable[dict[str, Any]], k: int = 3, seed: int = 0) -> pd.DataFrame:
    """Up to ``k`` random sentences of each label (reproducible with ``seed``)."""
    df = _frame(records)
    cols = [c for c in ("label", "id", "group", "voice", "text") if c in df]
    parts = [df[df["label"] == label].sample(min(k, int((df["label"] == label).sum())), random_state=seed)
             for label in LABELS]
    return pd.concat(parts)[cols].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- one run


def load_eval(run_dir: str | Path, split: str = "test") -> dict[str, Any]:
    """``RUN/eval/SPLIT/metrics.json`` (written by ``communique evaluate``)."""
    f = Path(run_dir) / "eval" / split / "metrics.json"
    if not f.is_file():
        raise RunDirError(f"{run_dir}: no evaluation on {split!r} ({f} missing); "
                          f"run `communique evaluate {run_dir} --split {split}` first")
    return json.loads(f.read_text(encoding="utf-8"))


def load_predictions(run_dir: str | Path, split: str = "test") -> pd.DataFrame:
    """``RUN/eval/SPLIT/predictions.jsonl`` as a DataFrame (one row per sentence)."""
    f = Path(run_dir) / "eval" / split / "predictions.jsonl"
    if not f.is_file():
        raise RunDirError(f"{run_dir}: no predictions on {split!r} ({f} missing); "
                          f"run `communique evaluate {run_dir} --split {split}` first")
    return pd.read_json(f, lines=True, dtype=False)


def metrics_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """Headline metrics of a classification report with their 95% intervals (NaN where none)."""
    ci = report.get("ci95", {})
    rows = {}
    for key in ("accuracy", "macro_f1", "lenient_accuracy"):
        if key in report:
            lo, hi = ci.get(key, [float("nan")] * 2)
            rows[key] = {"value": report[key], "ci_low": lo, "ci_high": hi}
    if "calibration" in report:
        rows["ece"] = {"value": report["calibration"]["ece"], "ci_low": float("nan"), "ci_high": float("nan")}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["value", "ci_low", "ci_high"])
    table.index.name = "metric"
    return table


def per_class_table(report: Mapping[str, Any]) -> pd.DataFrame:
    """Precision, recall, F1 and support per label."""
    table = pd.DataFrame.from_dict(report["per_class"], orient="index")[["precision", "recall", "f1", "support"]]
    table.index.name = "label"
    return table


def slice_table(result: Mapping[str, Any], column: str) -> pd.DataFrame | None:
    """Accuracy and macro-F1 per value of a metadata column (``group``, ``voice``, ``tags``); None if absent."""
    values = result.get("slices", {}).get(column)
    if not values:
        return None
    table = pd.DataFrame.from_dict(values, orient="index").sort_values("accuracy", kind="stable")
    table.index.name = column
    return table


def challenge_table(result: Mapping[str, Any]) -> pd.DataFrame | None:
    """Challenge-set accuracy and pair consistency per rule (``n``: sentences), with an ``all`` row;
    None if not evaluated."""
    ch = result.get("challenge")
    if not ch:
        return None
    table = pd.DataFrame.from_dict(ch.get("per_rule", {}), orient="index", columns=["n", "accuracy",
                                                                                     "pair_consistency"])
    total = pd.DataFrame({"n": [ch.get("n", ch.get("n_pairs"))], "accuracy": [ch.get("accuracy")],
                          "pair_consistency": [ch.get("pair_consistency")]}, index=["all"])
    table = pd.concat([table.sort_index(), total])
    table.index.name = "rule"
    return table


def articles_table(result: Mapping[str, Any]) -> pd.DataFrame | None:
    """Sentence segmentation and classification scores on the gold articles; None if not evaluated.

    The counts beside the scores (articles, gold and predicted sentences) are in ``table.attrs``.
    """
    arts = result.get("articles")
    if not arts:
        return None
    table = pd.DataFrame.from_dict({k: arts[k] for k in ("segmentation", "classification") if k in arts},
                                   orient="index")
    table.attrs = {k: v for k, v in arts.items() if not isinstance(v, Mapping)}
    table.index.name = "task"
    return table


def confident_errors(predictions: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` most confident wrong predictions, with their text."""
    wrong = predictions[predictions["label"].notna() & (predictions["predicted"] != predictions["label"])]
    cols = [c for c in ("id", "label", "predicted", "confidence", "group", "text") if c in wrong]
    return wrong.sort_values("confidence", ascending=False).head(k)[cols].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- scored articles


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
    from .score import read_scores

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
    from .plots import COLORS

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


# ---------------------------------------------------------------------------------------------- several runs


def _run_names(runs: Sequence[str | Path] | Mapping[str, str | Path]) -> dict[str, Path]:
    if isinstance(runs, Mapping):
        return {str(k): Path(v) for k, v in runs.items()}
    names: dict[str, Path] = {}
    for r in map(Path, runs):
        name = r.name if r.name not in names else str(r)
        names[name] = r
    return names


def compare_table(runs: Sequence[str | Path] | Mapping[str, str | Path], split: str = "test") -> pd.DataFrame:
    """One row per run: n, accuracy and macro-F1 with 95% intervals, lenient accuracy, ECE, and the
    challenge-set and article scores where the runs have them.

    Args:
        runs: run directories (named by their folder) or ``{name: run_dir}``.
    """
    rows = {}
    for name, run in _run_names(runs).items():
        res = load_eval(run, split)
        o = res["overall"]
        row = {"n": o["n"]}
        for key in ("accuracy", "macro_f1"):
            lo, hi = o.get("ci95", {}).get(key, [float("nan")] * 2)
            row.update({key: o[key], f"{key}_low": lo, f"{key}_high": hi})
        row["lenient_accuracy"] = o.get("lenient_accuracy")
        row["ece"] = o.get("calibration", {}).get("ece")
        if res.get("challenge"):
            row["challenge_accuracy"] = res["challenge"].get("accuracy")
            row["pair_consistency"] = res["challenge"].get("pair_consistency")
        if res.get("articles"):
            row["article_macro_f1"] = res["articles"].get("classification", {}).get("macro_f1")
            row["segmentation_f1"] = res["articles"].get("segmentation", {}).get("f1")
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "run"
    return table


def compare_per_class(runs: Sequence[str | Path] | Mapping[str, str | Path], split: str = "test",
                      metric: str = "f1") -> pd.DataFrame:
    """``metric`` (precision, recall or f1) per label (rows) and run (columns)."""
    return pd.DataFrame({name: {label: v[metric] for label, v in load_eval(run, split)["overall"]["per_class"].items()}
                         for name, run in _run_names(runs).items()})


def load_run_predictions(runs: Sequence[str | Path] | Mapping[str, str | Path],
                         split: str = "test") -> dict[str, pd.DataFrame]:
    """``{run name: predictions}`` for :func:`disagreements` and :func:`agreement_matrix`."""
    return {name: load_predictions(run, split) for name, run in _run_names(runs).items()}


def _aligned(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    if len(preds) < 2:
        raise ValueError("need predictions of at least two runs")
    names = list(preds)
    base = preds[names[0]][["id", "text", "label"]]
    for name in names:
        p = preds[name][["id", "predicted", "confidence"]].rename(
            columns={"predicted": name, "confidence": f"{name}_confidence"})
        base = base.merge(p, on="id", how="inner")
    return base


def disagreements(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Sentences on which the runs predict different labels, the most confident disagreements first.

    Args:
        preds: ``{run name: predictions DataFrame}`` (``id``, ``text``, ``label``, ``predicted``,
            ``confidence``), two or more; rows are matched by ``id``.
    Returns:
        ``id``, ``text``, gold ``label``, each run's prediction and confidence, and ``right``: the
        runs that got it right (comma-separated).
    """
    names = list(preds)
    both = _aligned(preds)
    differ = both[names].nunique(axis=1) > 1
    out = both[differ].copy()
    out["right"] = [", ".join(n for n in names if row[n] == row["label"]) for _, row in out.iterrows()]
    out["_conf"] = out[[f"{n}_confidence" for n in names]].max(axis=1)
    return out.sort_values("_conf", ascending=False).drop(columns="_conf").reset_index(drop=True)


def disagreement_by_label(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per gold label: sentences, share on which the runs disagree, and each run's accuracy."""
    names = list(preds)
    both = _aligned(preds)
    both["disagree"] = both[names].nunique(axis=1) > 1
    for n in names:
        both[f"{n}_accuracy"] = both[n] == both["label"]
    grouped = both.groupby("label")
    table = grouped[["disagree", *(f"{n}_accuracy" for n in names)]].mean()
    table.insert(0, "n", grouped.size())
    return table.reindex([label for label in LABELS if label in table.index])


def agreement_matrix(preds: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of sentences on which each pair of runs predicts the same label."""
    names = list(preds)
    both = _aligned(preds)
    return pd.DataFrame([[float((both[a] == both[b]).mean()) for b in names] for a in names],
                        index=names, columns=names)


__all__ = ["agreement_matrix", "article_text", "articles_table", "attach_speakers", "challenge_table",
           "compare_per_class", "compare_table", "confident_errors", "corpus_files", "corpus_summary",
           "disagreement_by_label", "disagreements", "label_examples", "length_table", "load_corpus", "load_eval",
           "load_predictions", "load_run_predictions", "load_scores", "metrics_table", "per_class_table",
           "render_article_html", "sentences", "slice_table", "stance_profile", "stance_timeline", "top_sentences",
           "who_said_what"]
