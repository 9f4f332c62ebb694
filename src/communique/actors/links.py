"""Who is "he", "the minister", "the bloc"? Resolving mentions against the article around them.

Within one article, a mention that names nobody by itself (a pronoun, or a role such as "the
spokesman" or "the junta") takes the nearest earlier named actor of a compatible kind: people for
"he", "she", "the minister"; states, groups and bodies for "it", "they", "the bloc"; "both sides"
and "the two governments" take the last two sides named. Candidates
are the actor-table names found anywhere earlier in the article and the speakers and targets
already resolved. A stance sentence whose speaker is not named at all (a quotation continued, the
items of a list of demands) keeps the previous stance sentence's speaker; its target too, when
neither is named. An unknown surname ("Ms. Su") takes the earlier named person it ends ("Julie Su").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .table import ActorTable, Resolved, _clean

PERSON_PRONOUNS = {"he", "she", "him", "her", "his", "i", "me"}
GROUP_PRONOUNS = {"it", "they", "them", "we", "us", "its", "their"}
PERSON_ROLES = {"minister", "spokesman", "spokeswoman", "spokesperson", "president", "official", "general",
                "envoy", "leader", "chief", "ambassador", "commander", "premier", "chancellor", "secretary",
                "negotiator", "king", "queen", "prime", "governor", "mayor", "diplomat", "prosecutor", "judge",
                "senator", "lawmaker", "aide", "adviser", "advisor", "director", "head", "chairman", "chairwoman"}
GROUP_ROLES = {"union", "group", "bloc", "alliance", "movement", "party", "junta", "council", "government",
               "ministry", "cabinet", "army", "military", "police", "rebels", "militants", "company", "administration",
               "authorities", "coalition", "delegation", "side", "sides", "leaders", "organisation", "organization",
               "committee", "commission", "federation", "association", "office", "forces", "regime", "court",
               "parliament", "assembly", "militia", "gang", "insurgents", "fighters", "country", "state", "league"}
_WORDS = re.compile(r"[A-Za-z][A-Za-z'-]*")


PAIRS = {"both": 2, "two": 2, "three": 3}  # "both sides", "the two governments", "the three leaders"


def kind(mention: str) -> str | None:
    """"person" or "group" for a mention that needs an antecedent, "pair" for one that names several
    ("both sides", "the two capitals"), None for one that names itself."""
    text = _clean(mention)
    words = _WORDS.findall(text)
    if not words:
        return None
    low = [w.lower() for w in words]
    if low[0] in PAIRS and len(low) > 1 and not any(w[0].isupper() for w in words[1:]):
        return "pair"
    if len(low) == 1 and low[0] in PERSON_PRONOUNS:
        return "person"
    if len(low) == 1 and low[0] in GROUP_PRONOUNS:
        return "group"
    if any(w[0].isupper() for w in words[1:]) or (len(words) == 1 and words[0][0].isupper()
                                                  and low[0] not in PERSON_ROLES | GROUP_ROLES):
        return None  # a capitalised word past the first: a name (known or not) that speaks for itself
    if set(low) & PERSON_ROLES:
        return "person"
    if set(low) & GROUP_ROLES:
        return "group"
    return None


def _compatible(need: str, cand: Resolved) -> bool:
    if need == "person":
        return cand.type in ("individual", None)
    return cand.type != "individual"


@dataclass
class Mention:
    text: str | None
    start: int | None  # offsets in the article
    end: int | None
    actor: str | None  # the side the mention resolves to


class ArticleResolver:
    """Resolves the mentions of one article, sentence by sentence, in reading order."""

    def __init__(self, table: ActorTable):
        self.table = table
        self.candidates: list[tuple[int, Resolved]] = []  # (article offset, resolution), in reading order
        self.last: tuple[Mention, Mention] | None = None

    def see(self, text: str, offset: int) -> None:
        """Record the table's names in a sentence (call for every sentence, stance or not, in order)."""
        for s, _, actor in self.table.find_all(text):
            self.candidates.append((offset + s, Resolved(text, actor.name, actor.side, actor.type, True)))

    def _resolve(self, mention: str, at: int, exclude: str | None = None) -> Resolved:
        found = self.table.resolve(mention)
        need = None if found is not None and found.known else kind(mention)  # "the Sudanese army" names itself
        if need == "pair":  # the last N distinct single sides named before the mention
            n = PAIRS[_WORDS.findall(_clean(mention))[0].lower()]
            sides: list[str] = []
            for pos, c in sorted(self.candidates, key=lambda pc: pc[0], reverse=True):
                if pos < at and "; " not in c.side and c.side not in sides:
                    sides.append(c.side)
                if len(sides) == n:
                    joined = "; ".join(sorted(sides))
                    return Resolved(mention, joined, joined, "group", True)
            need = "group"
        if need is not None:
            earlier = [c for pos, c in sorted(self.candidates, key=lambda pc: pc[0]) if pos < at and c.side != exclude]
            for cand in reversed(earlier):
                if _compatible(need, cand):
                    return cand
            if earlier:  # no compatible kind: the nearest named actor of any kind
                return earlier[-1]
        if found is not None and not found.known:  # "Ms. Su" after "Labor Secretary Julie Su": the same person
            last = _WORDS.findall(_clean(mention))[-1:] if _WORDS.findall(_clean(mention)) else []
            for pos, cand in sorted(self.candidates, key=lambda pc: pc[0], reverse=True):
                if pos < at and cand.type == "individual" and last and cand.actor.split()[-1] == last[0]:
                    return cand
        return found

    def stance(self, text: str, offset: int, speaker: tuple[int, int] | None,
               target: tuple[int, int] | None) -> tuple[Mention, Mention]:
        """Speaker and target of a stance sentence whose tagged spans (sentence offsets) are given."""
        out: list[Mention] = []
        for span in (speaker, target):
            if span is None:
                out.append(Mention(None, None, None, None))
                continue
            s, e = span
            r = self._resolve(text[s:e], offset + s, exclude=out[0].actor if out else None)
            out.append(Mention(text[s:e], offset + s, offset + e, r.side))
            self.candidates.append((offset + s, r))
        spk, tgt = out
        if spk.actor is None and self.last is not None:
            spk.actor = self.last[0].actor
            if tgt.actor is None:
                tgt.actor = self.last[1].actor
        if tgt.actor is not None and tgt.actor == spk.actor:  # a speaker is not its own target
            tgt.actor = None
        self.last = (spk, tgt)
        return spk, tgt
