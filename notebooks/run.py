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
# # One training run
#
# Metrics with 95% bootstrap intervals, confusion matrix, per-class precision and recall,
# calibration, accuracy per slice and per challenge rule, and the most confident errors.
# Needs `communique evaluate RUN` first (it writes `RUN/eval/SPLIT/`).
# `communique report RUN` writes the same figures as PNG files.

# %% tags=["parameters"]
run_dir = "../runs/demo"  # a trained and evaluated run directory (`make demo` writes this one)
split = "test"  # which evaluation: RUN/eval/<split>
k_errors = 10  # most confident errors to list

# %%
import pandas as pd
from IPython.display import display

import communique.tables as ct
from communique import plots

# %matplotlib inline
pd.set_option("display.max_colwidth", None)

# %%
result = ct.load_eval(run_dir, split)
overall = result["overall"]
print(f"{run_dir} on {', '.join(map(str, result['data']))}: {overall['n']} sentences")

# %% [markdown]
# ## Metrics

# %%
ct.metrics_table(overall)

# %%
ct.per_class_table(overall)

# %%
plots.plot_confusion(overall["confusion"], title="counts");
plots.plot_confusion(overall["confusion"], title="share of each gold label", normalize=True);

# %%
plots.plot_per_class(overall["per_class"]);

# %% [markdown]
# ## Calibration
#
# Bars below the diagonal: the model is more confident than it is right.

# %%
plots.plot_reliability(overall["calibration"]);

# %% [markdown]
# ## Accuracy per group, voice and tag

# %%
for column in ("group", "voice", "tags"):
    table = ct.slice_table(result, column)
    if table is not None:
        display(table)
        plots.plot_bars(table["accuracy"].to_dict(), title=f"accuracy by {column}")

# %% [markdown]
# ## Challenge set
#
# Minimal pairs that differ in one cue (rule); a pair is consistent when both halves are right.
# Empty when the run was evaluated without a challenge set.

# %%
challenge = ct.challenge_table(result)
if challenge is not None:
    display(challenge)
    plots.plot_bars(challenge["accuracy"].drop("all").to_dict(), title="challenge accuracy by rule")
else:
    print("no challenge-set results in this evaluation")

# %% [markdown]
# ## Gold articles (segmentation and classification)

# %%
articles = ct.articles_table(result)
articles if articles is not None else print("no gold-article results in this evaluation")

# %% [markdown]
# ## The most confident errors

# %%
predictions = ct.load_predictions(run_dir, split)
ct.confident_errors(predictions, k=k_errors)
