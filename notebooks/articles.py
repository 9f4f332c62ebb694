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
# # A batch of scored articles
#
# One article with each sentence coloured by its label, the stance profile of every article, a
# timeline by date (where dates are known), the most confident sentences of each label, and who
# said what (where speakers are known). Make the scores with
# `communique score data/articles --model RUN --out out/scores.jsonl`.

# %% tags=["parameters"]
scores = "../out/scores.jsonl"  # output of `communique score` (.jsonl, .csv or .parquet)
metadata = "../data/articles/metadata.csv"  # per-article CSV with article_id (and date); None if none
speakers = "../data/articles/gold.jsonl"  # spans with article_id,start,end,speaker; None if none
article_id = None  # article to show; None = the first
k = 3  # top sentences per label

# %%
import pandas as pd
from IPython.display import HTML, display

import communique.tables as ct
from communique import plots

# %matplotlib inline
pd.set_option("display.max_colwidth", None)

# %%
df = ct.load_scores(scores, metadata=metadata, speakers=speakers)
print(f"{df['article_id'].nunique()} articles, {len(ct.sentences(df))} sentences; status: "
      f"{df.drop_duplicates('article_id')['status'].value_counts().to_dict()}")

# %% [markdown]
# ## One article
#
# Hover over a sentence for its label and confidence.

# %%
shown = article_id or df["article_id"].iloc[0]
HTML(ct.render_article_html(df, shown, text=ct.article_text(df, shown)))

# %% [markdown]
# Who to whom in this article (scores from a run with actors): the speaker mention is bold and the
# target underlined above; the `dyads` notebook shows them across articles.

# %%
ct.article_dyads(df, shown) if ct.has_actors(df) else print("no actor columns: score with a run that has actors")

# %% [markdown]
# ## Stance profile of each article

# %%
profile = ct.stance_profile(df)
plots.plot_stance_profile(profile);
profile

# %% [markdown]
# ## Stance over time
#
# Share of each stance among the sentences of the articles of each date (needs a `date` column
# in the scores or in `metadata`).

# %%
timeline = ct.stance_timeline(df)
if timeline is not None:
    plots.plot_timeline(timeline)
    display(timeline)
else:
    print("no dates: pass a metadata file with article_id and date")

# %% [markdown]
# ## The most confident sentences of each label

# %%
ct.top_sentences(df, k=k)

# %% [markdown]
# ## Who said what
#
# Stance sentences per speaker (the model's actors where the scores have them, else the
# annotated speakers), with the most confident one as an example.

# %%
who = ct.who_said_what(df)
who if who is not None else print("no speakers: pass spans with a speaker, or score input with a speaker column")
