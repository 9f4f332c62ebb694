# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The labelled corpus
#
# Labels per split and per group, sentence lengths, voices and tags, and a few examples of each
# label. Point `corpus` at a folder holding `train/dev/test.jsonl` (or, before the split, at
# `data/corpus/batches`), or at one file.

# %% tags=["parameters"]
corpus = "../data/corpus"  # folder (train/dev/test.jsonl, else every *.jsonl below it) or one file
examples_per_label = 3  # sentences shown per label
seed = 0  # which examples are drawn

# %%
import pandas as pd

import communique.tables as ct
from communique import plots

# %matplotlib inline
pd.set_option("display.max_colwidth", None)

# %%
records = ct.load_corpus(corpus)
print(f"{len(records)} sentences, {records['group'].nunique()} groups, splits: {', '.join(records['split'].unique())}")

# %% [markdown]
# ## Labels per split

# %%
per_split = ct.corpus_summary(records, by="split")
plots.plot_label_counts(per_split, title="labels per split");
per_split

# %% [markdown]
# ## Labels per group (conflict or dispute)

# %%
per_group = ct.corpus_summary(records, by="group")
plots.plot_label_counts(per_group, title="labels per group");
per_group

# %% [markdown]
# ## Sentence length

# %%
plots.plot_lengths(records);
ct.length_table(records)

# %% [markdown]
# ## Voices and tags
#
# `voice`: how the act is reported (quote, reported speech, ...). `tags`: the phenomena a sentence
# was written to exercise (conditional, negation, hard negatives `hn-*`, ...).

# %%
ct.corpus_summary(records, by="voice")

# %%
ct.corpus_summary(records, by="tags")

# %% [markdown]
# ## Examples of each label

# %%
ct.label_examples(records, k=examples_per_label, seed=seed)
