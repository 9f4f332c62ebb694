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
# # Runs side by side
#
# Metrics with 95% intervals, per-label F1, how often the runs agree, and the sentences on
# which they disagree. Every run needs `communique evaluate RUN` on the same split first.

# %% tags=["parameters"]
runs = ["../runs/demo-tfidf", "../runs/demo"]  # two or more evaluated run directories (`make demo` writes these)
split = "test"  # which evaluation: RUN/eval/<split>
k = 15  # disagreements shown

# %%
import pandas as pd

import communique.tables as ct
from communique import plots

# %matplotlib inline
pd.set_option("display.max_colwidth", None)

# %% [markdown]
# ## Metrics
#
# Overlapping intervals mean the test set cannot tell the runs apart. For paired significance
# tests (McNemar, paired bootstrap of the macro-F1 difference) use `communique compare`.

# %%
table = ct.compare_table(runs, split)
table

# %%
plots.plot_intervals(table, "accuracy");
plots.plot_intervals(table, "macro_f1");

# %%
per_class = ct.compare_per_class(runs, split)
plots.plot_grouped(per_class, title="F1 per label");
per_class

# %% [markdown]
# ## Where the runs disagree

# %%
preds = ct.load_run_predictions(runs, split)
ct.agreement_matrix(preds)

# %%
ct.disagreement_by_label(preds)

# %% [markdown]
# ## Examples
#
# The most confident disagreements; `right` names the runs that match the gold label.

# %%
diff = ct.disagreements(preds)
print(f"{len(diff)} sentences with different predictions")
diff.head(k)
