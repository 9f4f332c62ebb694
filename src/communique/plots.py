"""Matplotlib figures shared by `communique report` and the notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless by default; notebooks switch to inline themselves
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .labels import LABELS  # noqa: E402

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
