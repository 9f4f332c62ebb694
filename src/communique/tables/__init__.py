"""Tables for the notebooks and `communique report`, one module per thing looked at.

* :mod:`.corpus` -- a labelled corpus: counts per split and group, lengths, examples;
* :mod:`.run` -- one evaluated run: metrics with intervals, per class and slice, errors;
* :mod:`.scores` -- a batch of scored articles: profiles, timelines, who said what, an article as HTML;
* :mod:`.dyads` -- who took which stance towards whom, from scores made with actors;
* :mod:`.compare` -- several runs side by side.

Pure functions that return pandas DataFrames (or HTML strings); figures are in :mod:`communique.plots`.
Everything is also importable from here, as the notebooks do::

    import communique.tables as ct
    ct.metrics_table(ct.load_eval("runs/demo")["overall"])
"""

from .compare import (agreement_matrix, compare_per_class, compare_table, disagreement_by_label, disagreements,
                      load_run_predictions)
from .corpus import SPLITS, corpus_files, corpus_summary, label_examples, length_table, load_corpus
from .dyads import NO_TARGET, actor_metrics_table, article_dyads, dyad_table, dyad_timeline, has_actors, stance_rows
from .run import (articles_table, challenge_table, confident_errors, load_eval, load_predictions, metrics_table,
                  per_class_table, slice_table)
from .scores import (article_text, attach_speakers, load_scores, render_article_html, sentences, stance_profile,
                     stance_timeline, top_sentences, who_said_what)

__all__ = ["NO_TARGET", "SPLITS", "actor_metrics_table", "agreement_matrix", "article_dyads", "article_text",
           "articles_table", "attach_speakers", "challenge_table", "compare_per_class", "compare_table",
           "confident_errors", "corpus_files", "corpus_summary", "disagreement_by_label", "disagreements",
           "dyad_table", "dyad_timeline", "has_actors", "label_examples", "length_table", "load_corpus", "load_eval",
           "load_predictions", "load_run_predictions", "load_scores", "metrics_table", "per_class_table",
           "render_article_html", "sentences", "slice_table", "stance_profile", "stance_rows", "stance_timeline",
           "top_sentences", "who_said_what"]
