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
# # Who to whom
#
# The dyads of a batch of scored articles: who threatened, promised, demanded or refused, and
# towards whom. Needs scores made with a run trained with `model.actors: true` (the default
# config), e.g. `communique score data/articles --model runs/minilm --out out/scores.jsonl`.
# The same counts come from the command line with `communique dyads out/scores.jsonl --out dyads.csv`.

# %% tags=["parameters"]
scores = "../out/scores.jsonl"  # output of `communique score` with a run that has actors
metadata = "../data/articles/metadata.csv"  # per-article CSV with article_id and date; None if none
by = "month"  # day | week | month, for the timeline
top = 20  # dyads in the network
article_id = None  # article whose dyads to list; None = the one with the most

# %%
import pandas as pd
from IPython.display import HTML, display

import communique.tables as ct
from communique import plots

# %matplotlib inline
pd.set_option("display.max_colwidth", 120)

# %%
df = ct.load_scores(scores, metadata=metadata)
if not ct.has_actors(df):
    raise SystemExit("these scores have no actor columns: score with a run trained with model.actors: true")
dyads = ct.dyad_table(df)
print(f"{df['article_id'].nunique()} articles, {int(dyads['total'].sum())} stance sentences with a speaker, "
      f"{len(dyads)} dyads")
dyads.head(top)

# %% [markdown]
# ## The network
#
# Arrows go from the speaker to the target, coloured by the dyad's most frequent stance; wider
# arrows carry more sentences.

# %%
plots.plot_dyad_network(dyads, top=top);

# %% [markdown]
# ## Each dyad over time
#
# Stance sentences per period of the articles' dates (from the scores or `metadata`).

# %%
timeline = ct.dyad_timeline(df, by=by)
if timeline is not None and not timeline.empty:
    plots.plot_dyad_timeline(timeline)
    display(timeline.head(20))
else:
    print("no dates: pass a metadata file with article_id and date")

# %% [markdown]
# ## One article's dyads
#
# The speaker mention in bold, the target underlined; hover for the actors.

# %%
counts = ct.stance_rows(df).groupby("article_id").size()
shown = article_id or (counts.idxmax() if len(counts) else df["article_id"].iloc[0])
display(ct.article_dyads(df, shown))
HTML(ct.render_article_html(df, shown, text=ct.article_text(df, shown)))
