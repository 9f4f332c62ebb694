"""A cue-word baseline: how far the 50 words most tied to a label go on their own.

The words are the 50 with the highest chi-squared association with the label on the training
split (binary word presence); a logistic regression then reads only those words. A model that
barely beats it has learnt cue words rather than stances; ``evaluate`` reports it beside every
model, on the same sentences.

Example:
    >>> base = fit_cue_only(train_texts, train_labels)  # doctest: +SKIP
    >>> base.predict(["Tehran threatened to close the strait."])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.feature_selection import SelectKBest, chi2
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

N_CUES = 50


def fit_cue_only(texts: Sequence[str], labels: Sequence[str], k: int = N_CUES, seed: int = 0) -> Pipeline:
    """Fit the cue-only baseline: word presence -> the ``k`` most label-associated words -> logistic regression."""
    pipe = Pipeline([
        ("words", CountVectorizer(binary=True, lowercase=True, token_pattern=r"(?u)\b[a-z][a-z'’-]+\b")),
        ("cues", SelectKBest(chi2, k=k)),
        ("clf", LogisticRegression(max_iter=2000, random_state=seed)),
    ])
    return pipe.fit(list(texts), list(labels))


def cue_words(pipe: Pipeline) -> list[str]:
    """The selected cue words, alphabetically."""
    names = pipe.named_steps["words"].get_feature_names_out()
    return sorted(names[pipe.named_steps["cues"].get_support()])
