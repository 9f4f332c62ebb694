"""Who to whom: the speaker and the target of each stance, as mentions and as canonical actors.

A run trained with ``model.actors: true`` holds ``model/actors/``: the span tagger's weights and a
copy of the actor table it was trained with, so a shared run resolves actors the same way anywhere.

* :mod:`.table` -- the actor table (aliases, types, sides) and mention resolution;
* :mod:`.tagger` -- the token tagger that finds the speaker and target mentions in a sentence;
* :mod:`.links` -- pronouns and roles ("she", "the bloc") resolved within an article;
* :mod:`.dyads` -- per-article dyads and their aggregation across articles;
* :mod:`.scoring` -- span F1 and actor accuracy.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..labels import FALLBACK_LABEL
from .links import ArticleResolver, StoryContext
from .table import ActorTable

ACTOR_DIR = "actors"
TABLE_FILE = "actors.yaml"
ACTOR_COLUMNS = ("speaker", "speaker_start", "speaker_end", "speaker_actor",
                 "target", "target_start", "target_end", "target_actor")


class Actors:
    """The tagger and the table together: what a scorer needs to fill the actor columns."""

    def __init__(self, tagger, table: ActorTable, table_file: Path | None = None):
        """``tagger``: an :class:`~communique.actors.tagger.ActorTagger` (imported on use: it needs torch)."""
        self.tagger, self.table, self.table_file = tagger, table, table_file

    @classmethod
    def load(cls, path: str | Path) -> "Actors":
        from .tagger import ActorTagger

        path = Path(path)
        return cls(ActorTagger.load(path), ActorTable.load(path / TABLE_FILE), path / TABLE_FILE)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        self.tagger.save(path)
        if self.table_file is None:
            raise ValueError("an actor table loaded from a file is needed to save the actors")
        shutil.copyfile(self.table_file, path / TABLE_FILE)
        return path

    def annotate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fill the actor columns of scored rows (article order, as the scorer builds them) in place.

        Stance rows get their tagged spans resolved in the context of their article (the sentences
        before them, then the whole article as a story); every other row gets the columns as null, so a
        scores file has one schema.
        """
        stance = [r for r in rows if r.get("sentence_index") is not None and r.get("label") not in (None, FALLBACK_LABEL)]
        spans = dict(zip(map(id, stance), self.tagger.spans([r["text"] for r in stance])))
        texts: dict[Any, list[str]] = {}
        for r in rows:
            if r.get("sentence_index") is not None:
                texts.setdefault(r["article_id"], []).append(r["text"])
        resolver, article = None, object()
        for r in rows:
            for c in ACTOR_COLUMNS:  # an input column of the same name is kept, renamed
                if c in r:
                    r[f"input_{c}"] = r.pop(c)
            r.update(dict.fromkeys(ACTOR_COLUMNS))
            if r.get("sentence_index") is None:
                continue
            if r["article_id"] != article:
                story = StoryContext(self.table, texts[r["article_id"]])
                resolver, article = ArticleResolver(self.table, story), r["article_id"]
            resolver.see(r["text"], r["start"])
            found = spans.get(id(r))
            if found is None:
                continue
            spk, tgt = resolver.stance(r["text"], r["start"], found["speaker"], found["target"])
            for role, m in (("speaker", spk), ("target", tgt)):
                r[role], r[f"{role}_start"], r[f"{role}_end"], r[f"{role}_actor"] = m.text, m.start, m.end, m.actor
        return rows


def load_actors(model_dir: str | Path) -> Actors | None:
    """The actors of a model directory, or None when it was trained without them."""
    path = Path(model_dir) / ACTOR_DIR
    return Actors.load(path) if path.is_dir() else None


__all__ = ["ACTOR_COLUMNS", "ActorTable", "Actors", "load_actors"]
