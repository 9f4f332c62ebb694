"""Matplotlib figures shared by `communique report` and the notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt  # headless machines get Agg from matplotlib itself; notebooks, inline
import numpy as np

from .labels import LABELS

COLORS = {"assurance": "#4c9f70", "threat": "#d1495b", "demand": "#edae49", "rejection": "#5e60ce",
          "other": "#9e9e9e"}


def plot_confusion(confusion: Sequence[Sequence[int]], title: str = "", normalize: bool = False):
    """Heatmap of a confusion matrix (rows gold, columns predicted)."""
    cm = np.asarray(confusion, dtype=float)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    im = ax.imshow(shown, cmap="Blues")
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=35, ha="right")
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if shown[i, j] > shown.max() / 2 else "black", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_per_class(per_class: dict[str, dict[str, float]], title: str = ""):
    """Grouped bars of precision, recall and F1 per label."""
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    x = np.arange(len(LABELS))
    for k, metric in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (k - 1) * 0.27, [per_class[label][metric] for label in LABELS], 0.27, label=metric)
    ax.set_xticks(x, LABELS)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_reliability(calibration: dict[str, Any], title: str = ""):
    """Reliability diagram: accuracy against confidence per bin, with ECE in the title."""
    bins = [b for b in calibration["bins"] if b["count"]]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=1)
    width = calibration["bins"][0]["upper"] - calibration["bins"][0]["lower"]
    ax.bar([b["lower"] for b in bins], [b["accuracy"] for b in bins], width=width, align="edge",
           edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="black", ms=3)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"{title} ECE = {calibration['ece']:.3f}".strip())
    fig.tight_layout()
    return fig


def plot_bars(values: dict[str, float], title: str = "", xlabel: str = "accuracy", sort: bool = True):
    """Horizontal bars, e.g. accuracy per group, tag or challenge rule."""
    items = sorted(values.items(), key=lambda kv: kv[1]) if sort else list(values.items())
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(items) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#4c72b0")
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# --- corpus, scored articles and run comparison (used by notebooks/ and `communique report`) ---


def _stacked_barh(table, labels, xlabel: str, title: str, xlim=None):
    """Horizontal bars, one per row of ``table``, stacked by label column."""
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(table) + 1.5))
    left = np.zeros(len(table))
    names = [str(i) for i in table.index]
    for label in labels:
        ax.barh(names, table[label].to_numpy(), left=left, color=COLORS[label], label=label)
        left += table[label].to_numpy()
    ax.margins(y=0.01)
    ax.invert_yaxis()
    if xlim:
        ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_label_counts(table, title: str = ""):
    """Stacked bars of label counts per row of a :func:`communique.tables.corpus_summary` table."""
    return _stacked_barh(table, [label for label in LABELS if label in table.columns], "sentences", title)


def plot_lengths(records, title: str = "words per sentence", bins: int = 30):
    """Overlaid histograms of sentence length (``n_words``) per label."""
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    edges = np.histogram_bin_edges(records["n_words"], bins=bins)  # shared, so labels compare
    for label in LABELS:
        values = records.loc[records["label"] == label, "n_words"]
        if len(values):
            ax.hist(values, bins=edges, histtype="step", lw=1.5, color=COLORS[label], label=label)
    ax.set_xlabel("words")
    ax.set_ylabel("sentences")
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_stance_profile(profile, title: str = "stance profile"):
    """Stacked horizontal bars: share of each label per article (a :func:`stance_profile` table)."""
    return _stacked_barh(profile, LABELS, "share of sentences", title, xlim=(0, 1))


def plot_timeline(timeline, labels: Sequence[str] = LABELS[:4], title: str = "stance over time"):
    """Share of each stance label per date (a :func:`stance_timeline` table)."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label in labels:
        ax.plot(timeline.index, timeline[label], "o-", color=COLORS[label], label=label, ms=4)
    ax.set_ylabel("share of sentences")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_intervals(table, metric: str = "macro_f1", title: str = ""):
    """A metric per run with its 95% interval (columns ``metric``, ``metric_low``, ``metric_high``)."""
    values = table[metric].to_numpy(dtype=float)
    lo = values - table.get(f"{metric}_low", table[metric]).to_numpy(dtype=float)
    hi = table.get(f"{metric}_high", table[metric]).to_numpy(dtype=float) - values
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(table) + 1.2))
    y = np.arange(len(table))
    ax.errorbar(values, y, xerr=[np.nan_to_num(lo), np.nan_to_num(hi)], fmt="o", capsize=4, color="#4c72b0")
    ax.set_yticks(y, [str(i) for i in table.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{metric} (95% CI)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_grouped(table, title: str = "", ylabel: str = "F1"):
    """Grouped bars: one group per row (e.g. label), one bar per column (e.g. run)."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(table))
    width = 0.8 / max(len(table.columns), 1)
    for k, col in enumerate(table.columns):
        ax.bar(x + (k - (len(table.columns) - 1) / 2) * width, table[col].to_numpy(dtype=float), width, label=str(col))
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def learning_curve(log_history: Sequence[dict[str, Any]]) -> dict[int, dict[str, float]]:
    """Per epoch (1, 2, ...): mean of the train losses logged during it and the dev macro-F1 at its end.

    ``log_history`` is the Trainer's (``metrics.json["training"]["log_history"]``). A run too short
    to log a step loss gets the Trainer's final mean ``train_loss`` on its last epoch.
    """
    losses: dict[int, list[float]] = {}
    curve: dict[int, dict[str, float]] = {}
    for entry in log_history:
        epoch = int(np.ceil(float(entry.get("epoch", 0)) - 1e-9))  # a step late in epoch 1 logs epoch 0.97
        if epoch < 1:
            continue
        if "loss" in entry:
            losses.setdefault(epoch, []).append(float(entry["loss"]))
        if "eval_macro_f1" in entry:
            curve.setdefault(epoch, {})["dev_macro_f1"] = float(entry["eval_macro_f1"])
    for epoch, values in losses.items():
        curve.setdefault(epoch, {})["train_loss"] = float(np.mean(values))
    final = next((e for e in reversed(log_history) if "train_loss" in e), None)
    if not losses and final is not None:
        last = max(curve) if curve else max(1, int(np.ceil(float(final.get("epoch", 1)) - 1e-9)))
        curve.setdefault(last, {})["train_loss"] = float(final["train_loss"])
    return dict(sorted(curve.items()))


def plot_learning_curve(log_history: Sequence[dict[str, Any]], title: str = ""):
    """Train loss (left axis) and dev macro-F1 (right axis) per epoch, from the Trainer's log history."""
    curve = learning_curve(log_history)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    loss = [(e, v["train_loss"]) for e, v in curve.items() if "train_loss" in v]
    f1 = [(e, v["dev_macro_f1"]) for e, v in curve.items() if "dev_macro_f1" in v]
    if loss:
        ax.plot(*zip(*loss), "o-", color="#d1495b", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("train loss", color="#d1495b")
    ax.set_xticks(list(curve) or [1])
    right = ax.twinx()
    if f1:
        right.plot(*zip(*f1), "s-", color="#4c72b0", label="dev macro-F1")
    right.set_ylim(0, 1)
    right.set_ylabel("dev macro-F1", color="#4c72b0")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    if handles:
        ax.legend(handles, [h.get_label() for h in handles], loc="center right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_dyad_network(dyads, top: int = 30, title: str = "who to whom"):
    """Actors as nodes on a circle, stances as arrows from speaker to target, coloured by the dyad's most
    frequent label, width by count (a :func:`communique.tables.dyad_table`; the ``top`` largest dyads that
    name a target)."""
    named = [t != "(none named)" for _, t in dyads.index]  # a stance with no target named has no arrow
    table = dyads[named].head(top)
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    actors = list(dict.fromkeys([a for pair in table.index for a in pair]))
    if not actors:
        ax.text(0.5, 0.5, "no dyads", ha="center", va="center")
        ax.set_axis_off()
        return fig
    angles = np.linspace(0, 2 * np.pi, len(actors), endpoint=False)
    pos = {a: (np.cos(t), np.sin(t)) for a, t in zip(actors, angles)}
    labels = [c for c in LABELS[:4] if c in table]
    widest = max(float(table["total"].max()), 1.0)
    for (speaker, target), row in table.iterrows():
        main = max(labels, key=lambda c: row[c])
        (x0, y0), (x1, y1) = pos[speaker], pos[target]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": COLORS[main], "alpha": 0.75,
                                "lw": 0.8 + 4 * row["total"] / widest, "shrinkA": 12, "shrinkB": 12,
                                "connectionstyle": "arc3,rad=0.12"})
    for a, (x, y) in pos.items():
        ax.plot(x, y, "o", color="#333333", ms=6)
        ax.text(x * 1.08, y * 1.08, a, ha="left" if x >= 0 else "right", va="center", fontsize=8)
    for label in labels:
        ax.plot([], [], color=COLORS[label], lw=3, label=label)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, -0.08), ncol=4, frameon=False)
    ax.set_xlim(-1.7, 1.7)
    ax.set_ylim(-1.4, 1.4)
    ax.set_axis_off()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_dyad_timeline(timeline, top: int = 6, title: str = "stances per dyad over time"):
    """Small multiples, one per dyad (the ``top`` most frequent that name a target, when any do): stance
    sentences per period, stacked by label (a :func:`communique.tables.dyad_timeline` table)."""
    named = timeline[timeline["target"] != "(none named)"]  # as in the network: dyads that name a target
    timeline = named if len(named) else timeline
    totals = timeline.groupby(["speaker", "target"])["count"].sum().sort_values(ascending=False).head(top)
    n = max(len(totals), 1)
    periods = np.sort(timeline["period"].unique())
    step = (np.diff(periods).min() / np.timedelta64(1, "D")) if len(periods) > 1 else 20.0
    fig, axes = plt.subplots(n, 1, figsize=(7, 1.8 * n + 0.6), sharex=True, squeeze=False)
    for ax, (speaker, target) in zip(axes[:, 0], totals.index):
        part = timeline[(timeline["speaker"] == speaker) & (timeline["target"] == target)]
        wide = part.pivot_table(index="period", columns="label", values="count", aggfunc="sum", fill_value=0)
        bottom = np.zeros(len(wide))
        for label in LABELS[:4]:
            if label in wide:
                ax.bar(wide.index, wide[label], bottom=bottom, width=0.8 * step, color=COLORS[label], label=label)
                bottom += wide[label].to_numpy()
        ax.set_ylabel("sentences", fontsize=8)
        ax.set_title(f"{speaker} → {target}", fontsize=9, loc="left")
    axes[0, 0].legend(fontsize=7, ncol=4, loc="upper right")
    fig.suptitle(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
