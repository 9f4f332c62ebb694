"""Who is "he", "the minister", "the bloc"? Resolving mentions against the article around them.

Within one article, a mention that names nobody by itself (a pronoun, or a role such as "the
spokesman" or "the junta") takes the nearest earlier named actor of a compatible kind: people for
"he", "she", "the minister"; states, groups and bodies for "it", "they", "the bloc"; "both sides"
and "the two governments" take the last two sides named. Candidates
are the actor-table names found anywhere earlier in the article and the speakers and targets
already resolved. A stance sentence whose speaker is not named at all (a quotation continued, the
items of a list of demands) keeps the previous stance sentence's speaker; its target too, when
neither is named. An unknown surname ("Ms. Su") takes the earlier named person it ends ("Julie Su").
A stance that names no target at all (no mention, none inherited) is taken to be aimed at the other
side its story names most. An office holder the table does not know ("Foreign Minister Teodora
Genchovska") speaks for a state other than the target's; a description the table does not know ("the
dissidents") takes the actor of the story whose name ends in the same noun; a person the table does not
know ("Weselsky") takes the group or state the story gives them a post in ("GDL leader Claus Weselsky";
"Geoffrey Adams, the British ambassador"); where an inferred speaker lands on a named target's side, the
speaker is inferred again, on another side.

Where nothing compatible is named before a role mention (the first sentence of an article, or a
sentence taken out of its story), a :class:`StoryContext` decides: the mention takes the actor that
the rest of the story (the article's other sentences, or the other sentences of a corpus group)
names most often.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .table import _HEAD_END, ActorTable, Resolved, _clean

PERSON_PRONOUNS = {"he", "she", "him", "her", "his", "i", "me"}
GROUP_PRONOUNS = {"it", "they", "them", "we", "us", "its", "their"}
PERSON_ROLES = {"minister", "spokesman", "spokeswoman", "spokesperson", "president", "official", "general",
                "envoy", "leader", "chief", "ambassador", "commander", "premier", "chancellor", "secretary",
                "negotiator", "king", "queen", "prime", "governor", "mayor", "diplomat", "prosecutor", "judge",
                "senator", "lawmaker", "aide", "adviser", "advisor", "director", "head", "chairman", "chairwoman",
                "prefect", "mediator", "representative", "legislator", "deputy", "officer", "emir", "coordinator",
                "organiser", "organizer", "lawyer", "activist"}
# Roles that only a state fills ("the junta", "the Interior Ministry"), only a group outside the state
# ("the union", "the rebels"), or any group.
STATE_ROLES = {"junta", "government", "ministry", "cabinet", "army", "military", "police", "administration",
               "authorities", "regime", "parliament", "congress", "senate", "presidency", "prefecture", "kingdom",
               "republic", "navy", "tribunal", "legislature", "country", "state", "court", "capital", "nation"}
NON_STATE_ROLES = {"union", "rebels", "militants", "insurgents", "militia", "gang", "guerrillas", "strikers", "party",
                   "network", "broadcaster", "campaign", "platform", "opposition", "protesters", "demonstrators",
                   "separatists", "paramilitary", "paramilitaries", "kidnappers", "hostage-takers", "students",
                   "employers", "organisers", "organizers"}
INTERNATIONAL_ROLES = {"bloc"}
GROUP_ROLES = {"group", "alliance", "movement", "council", "company", "coalition", "delegation",
               "side", "sides", "leaders", "organisation", "organization", "committee", "commission", "federation",
               "association", "office", "forces", "assembly", "fighters", "league", "province", "agency",
               "department", "generals", "troops", "soldiers", "parties"}
# Words that may qualify a role and still leave it a role, even capitalised: "the Interior Ministry",
# "the Constitutional Council", "a senior Foreign Ministry official" name no one by themselves.
ROLE_MODIFIERS = {"foreign", "interior", "defence", "defense", "constitutional", "supreme", "national", "federal",
                  "finance", "justice", "security", "trade", "commerce", "economy", "electoral", "election",
                  "senior", "top", "state", "armed", "central", "high", "ruling", "health", "labour", "labor",
                  "military", "presidential", "regional", "provincial", "local", "interim", "transitional",
                  "information", "energy", "home", "public"}
# words that open a sentence with a capital and name no one: "A spokesman", "Every fighter", "Those who"
DETERMINERS = {"a", "an", "any", "every", "each", "all", "some", "no", "those", "these", "its", "their", "his", "her",
               "our", "both"}
_WORDS = re.compile(r"[A-Za-z][A-Za-z'-]*")
# a title of government office before a name: its holder speaks for the state
_OFFICE = re.compile(r"\b(?:President|Prime Minister|Minister|Premier|Chancellor|(?:Government|Presidential) "
                     r"[Ss]pokes(?:man|woman|person))\s+(?:[A-Z][\w.'-]*\s*){1,4}$")
_NOT_IN_OFFICE = {"former", "ex", "late", "senate", "party", "opposition", "union", "company", "club", "university"}
_PARTICLE = re.compile(r"^(?:al|el|ad|as|ash|at|az)-", re.IGNORECASE)
# between a group or state and the name of its member in one phrase: "GDL leader Claus ", "'s Health Secretary
# Susan " (a few words, no clause break); after a name: ", secretary-general of the ", ", who heads the "
_AFFILIATION_BEFORE = re.compile(r"(?:'s?)?\s+(?:[\w.-]+\s+){1,5}")
_NAME_END = re.compile(r"(?:[A-Z][^\W\d_]*(?:-[^\W\d_]+)?\s)*[A-Z][^\W\d_]*(?:-[^\W\d_]+)?$")  # "Oligui Nguema"
_APPOSITION = re.compile(r",\s+(?:the\s+)?")
_ROLE_AFTER = re.compile(r"(?:'s)?(?:\s+[a-z][\w-]*){0,2}")
_GIVEN_NAME = re.compile(r"\b([A-Z][^\W\d_]+(?:-[^\W\d_]+)?)\s+$")
_AFFILIATION_AFTER = re.compile(r",\s+(?:[\w'-]+\s+){1,5}?(?:of|for|at|heads|leads|chairs)\s+(?:the\s+)?")


PAIRS = {"both": 2, "two": 2, "three": 3, "four": 4}  # "both sides", "the two governments", "the three leaders"


def _singular(word: str) -> str:
    """A plural noun in the singular, roughly ("militias" -> "militia", "parties" -> "party")."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _role(word: str, roles: set[str]) -> bool:
    """A role word, in the singular or the plural ("officials", "ministries", "governors")."""
    return word in roles or _singular(word) in roles


def kind(mention: str) -> str | None:
    """What a mention that needs an antecedent can refer to: "person"; "state", "non-state" or any
    "group"; "pair" for one that names several ("both sides", "the two capitals"). None for a mention
    that names itself."""
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
    roles = PERSON_ROLES | STATE_ROLES | NON_STATE_ROLES | INTERNATIONAL_ROLES | GROUP_ROLES
    head = _HEAD_END.split(text, maxsplit=1)[0]  # "a senior official at the IT ministry": an official
    words = _WORDS.findall(head) or words
    low = [w.lower() for w in words]
    if any(w[0].isupper() and not _role(w.lower(), roles) and w.lower() not in ROLE_MODIFIERS | DETERMINERS
           for w in words):
        return None  # a capitalised word that is not a role: a name (known or not) that speaks for itself
    bodies = (("state", STATE_ROLES), ("non-state", NON_STATE_ROLES), ("international", INTERNATIONAL_ROLES))
    # a body named as the owner speaks: "the coalition's chairman", "the alliance's chief executive"
    owners = [w[:-2] for w in low if w.endswith("'s")]
    # then a body's kind first: "the union leaders" speak for a union, "an army spokesman" for a state
    for among, kinds in ((owners, (*bodies, ("group", GROUP_ROLES))),
                         (low, (*bodies, ("person", PERSON_ROLES), ("group", GROUP_ROLES)))):
        for need, words_of in kinds:
            if any(_role(w, words_of) for w in among):
                return need
    return None


def state_qualified_group(table: ActorTable, mention: str, found: Resolved) -> bool:
    """Whether a mention the table resolves to a state is a group outside the state that the state's name only
    qualifies: "France's unions", "Senegal's main trade union federations", "Bangladeshi opposition parties".
    Such a mention is a role: the union or party the story names, not the state."""
    head = _HEAD_END.split(_clean(mention), maxsplit=1)[0]
    if found.type != "state" or not any(_role(w.lower(), NON_STATE_ROLES) for w in _WORDS.findall(head)):
        return False
    hits = table.find_all(head)
    if not hits or any(actor.type != "state" for _, _, actor in hits):
        return False
    rest = head[hits[-1][1]:]  # the words after the last name: what the name qualifies
    return any(_role(w.lower(), NON_STATE_ROLES) for w in _WORDS.findall(rest))


def _names(person: str, word: str) -> bool:
    """Whether ``word`` is the first or the last word of a person's name ("Lai" in "Lai Ching-te"), an Arabic
    article aside ("Kabir" in "Sadiq al-Kabir")."""
    words = person.split()
    return len(words) > 1 and _PARTICLE.sub("", word) in (words[0], words[-1], _PARTICLE.sub("", words[-1]))


def _titled(gap: str) -> bool:
    """Whether the words between a group and a person's name, or after the name, give the person a post in it:
    "GDL leader Claus ", "'s Health Secretary Susan ", ", general secretary of the ": role words, qualifiers,
    capitalised titles and given names, and at least one role."""
    if not (_AFFILIATION_BEFORE.fullmatch(gap) or _AFFILIATION_AFTER.fullmatch(gap)):
        return False
    parts = [w for w in re.findall(r"[^\W\d_]+", gap) if w.lower() not in ("s", "of", "for", "at", "the")]
    lower = [w for w in parts if w[0].islower()]  # "secretary-general": two role words
    return (any(_role(w.lower(), PERSON_ROLES) for w in parts)
            and all(_role(w, PERSON_ROLES) or w in ROLE_MODIFIERS or w in ("heads", "leads", "chairs") for w in lower))


def _office(mention: str) -> bool:
    """Whether a mention names a holder of government office by title and name ("Interior Minister Kamel
    Feki"); not "Former President John Mahama", "Senate President Rodrigo Pacheco", "TEPCO President ..."."""
    text = _clean(mention)
    title = _OFFICE.search(text)
    return title is not None and not any(w.lower() in _NOT_IN_OFFICE or (w.isupper() and len(w) > 1)
                                         for w in text[:title.start()].split())


def pair_need(mention: str) -> str:
    """The kind of the actors a plural mention names: states for "the two governments", any for "both sides"."""
    low = [w.lower() for w in _WORDS.findall(_clean(mention))]
    return "state" if any(_role(w, STATE_ROLES) for w in low) else "group"


def side_type(table: ActorTable, side: str) -> str | None:
    """The type of the actor a side names (None for a side the table does not know)."""
    actor = table.actors.get(side)
    return actor.type if actor else None


def fits(need: str, table: ActorTable, side: str) -> bool:
    """Whether a side can be what a role of kind ``need`` refers to."""
    kind_of_side = side_type(table, side)
    if need == "state":
        return kind_of_side == "state"
    if need == "non-state":
        return kind_of_side in ("non-state", None)
    if need == "international":
        return kind_of_side in ("international", None)
    return True


def _compatible(need: str, cand: Resolved, table: ActorTable) -> bool:
    if need == "person":
        return cand.type in ("individual", None)
    return cand.type != "individual" and fits(need, table, cand.side)


@dataclass
class Mention:
    text: str | None
    start: int | None  # offsets in the article
    end: int | None
    actor: str | None  # the side the mention resolves to


class StoryContext:
    """How often a story names each side: what a role mention falls back on when nothing compatible is
    named before it. Build it from the story's sentences; :meth:`without` leaves one sentence out, so a
    sentence never explains itself ("The junta rejected ECOWAS's demand" does not make ECOWAS the junta)."""

    def __init__(self, table: ActorTable, texts: Iterable[str] = ()):
        self.table = table
        self._hits: dict[str, list] = {}  # each sentence's table names, read once
        self.counts: Counter[str] = Counter()
        for text in texts:
            self.counts.update(self._sides(text))

    def hits(self, text: str) -> list:
        """The table's names in a sentence (``ActorTable.find_all``), remembered for the story's sentences."""
        found = self._hits.get(text)
        if found is None:
            found = self._hits[text] = self.table.find_all(text)
        return found

    def _sides(self, text: str) -> Counter[str]:
        return Counter(a.side for _, _, a in self.hits(text) if "; " not in a.side)

    def without(self, text: str) -> StoryContext:
        out = StoryContext(self.table)
        out._hits = self._hits
        out.counts = self.counts - self._sides(text)
        return out

    def person(self, name: str) -> Resolved | None:
        """The table's person named anywhere in the story whose name begins or ends with ``name`` ("Lai"
        for "Lai Ching-te", "Scargill" for "Arthur Scargill"); None unless every such person speaks
        for one side. Headlines name people by surname before the text gives the full name."""
        found = [a for hits in self._hits.values() for _, _, a in hits if a.type == "individual"
                 and _names(a.name, name)]
        if not found or len({a.side for a in found}) > 1:
            return None
        return Resolved(name, found[0].name, found[0].side, "individual", True)

    def affiliated(self, name: str) -> Resolved | None:
        """The side a story ties a person the table does not know to, where it names the person's group or state
        in the same phrase: before the name ("GDL leader Claus Weselsky", "Kenya's Health Secretary Susan
        Nakhumicha") or in an apposition after it ("Joshua Ansah, secretary-general of the TUC"); None unless
        every such tie points at one side. ``name``: the capitalised words that end the mention ("Weselsky",
        "Oligui Nguema")."""
        roles = PERSON_ROLES | STATE_ROLES | NON_STATE_ROLES | GROUP_ROLES
        if sum(c.isupper() for c in name.split()[-1]) > 1 or any(_role(w.lower(), roles) for w in name.split()):
            return None  # an acronym or a role ("Legislative Assembly") names a body, not a person
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        sides = set()
        for text, hits in self._hits.items():
            for m in pattern.finditer(text):
                given = _GIVEN_NAME.search(text, 0, m.start()) if " " not in name else None
                if " " not in name and (given is None or self.table.lookup(given.group(1)) is not None):
                    continue  # a surname in the full name only: "Arthur Scargill", not "the West" or "Nepali Maoists"
                before = [a.side for _, e, a in hits if e <= m.start() and _titled(text[e:m.start()])]
                after = [a.side for s, e, a in hits if s >= m.end() and (
                    _titled(text[m.end():s])  # "Joshua Ansah, general secretary of the TUC"
                    # "Geoffrey Adams, the British ambassador": the group, then the post
                    or _APPOSITION.fullmatch(text[m.end():s]) and _titled(_ROLE_AFTER.match(text, e).group() + " "))]
                tie = (before[-1:] or after[:1])
                sides.update(side for side in tie if "; " not in side)
        if len(sides) != 1:
            return None
        side = sides.pop()
        actor = self.table.actors.get(side)
        return Resolved(name, side, side, actor.type if actor else None, True)

    def described(self, mention: str) -> Resolved | None:
        """The table's actor named in the story whose name or alias ends with the head noun of ``mention``
        ("the dissidents" for "FARC dissidents", "every fighter who leaves" for "al-Shabaab fighters"); None
        unless every such actor speaks for one side."""
        head = _WORDS.findall(_HEAD_END.split(_clean(mention), maxsplit=1)[0])
        if not head:
            return None
        word = _singular(head[-1].lower())
        found = {a.name: a for hits in self._hits.values() for _, _, a in hits
                 if any(_singular(alias.split()[-1].lower()) == word for alias in (a.name, *a.aliases) if " " in alias)}
        if not found or len({a.side for a in found.values()}) > 1:
            return None
        actor = next(iter(found.values()))
        return Resolved(mention, actor.name, actor.side, actor.type, True)

    def best(self, mention: str, need: str, n: int = 1, exclude: str | None = None) -> Resolved | None:
        """The ``n`` sides of kind ``need`` the story names most (first named first among equals), other
        than ``exclude``, as one resolution; None when the story names fewer."""
        ranked = [side for side, _ in self.counts.most_common() if side != exclude and fits(need, self.table, side)][:n]
        if len(ranked) < n:
            return None
        if n == 1:
            actor = self.table.actors.get(ranked[0])
            return Resolved(mention, ranked[0], ranked[0], actor.type if actor else None, True)
        joined = "; ".join(sorted(ranked))
        return Resolved(mention, joined, joined, "group", True)


class ArticleResolver:
    """Resolves the mentions of one article, sentence by sentence, in reading order. ``story``: the
    whole article (or the group of sentences) as a :class:`StoryContext`, for role mentions that
    nothing before them explains."""

    def __init__(self, table: ActorTable, story: StoryContext | None = None):
        self.table = table
        self.story = story
        self.candidates: list[tuple[int, Resolved]] = []  # (article offset, resolution), in reading order
        self.last: tuple[Mention, Mention] | None = None

    def see(self, text: str, offset: int) -> None:
        """Record the table's names in a sentence (call for every sentence, stance or not, in order)."""
        for s, _, actor in (self.story.hits(text) if self.story is not None else self.table.find_all(text)):
            self.candidates.append((offset + s, Resolved(text, actor.name, actor.side, actor.type, True)))

    def _resolve(self, mention: str, at: int, story: StoryContext | None, exclude: str | None = None) -> Resolved:
        found = self.table.resolve(mention)
        qualified = found is not None and found.known and state_qualified_group(self.table, mention, found)
        if qualified:  # "France's unions": a union, whichever the story names, never France itself
            found = Resolved(mention, _clean(mention), _clean(mention), None, False)
        need = "non-state" if qualified else None if found is not None and found.known else kind(mention)
        if need is None and found is not None and not found.known and _office(mention):
            need = "state"  # "Interior Minister Kamel Feki", whom the table does not know, speaks for a state
        if need == "pair":  # the last N distinct single sides named before the mention
            n = PAIRS[_WORDS.findall(_clean(mention))[0].lower()]
            sides: list[str] = []
            need = pair_need(mention)
            for pos, c in sorted(self.candidates, key=lambda pc: pc[0], reverse=True):
                if pos < at and "; " not in c.side and c.side not in sides and fits(need, self.table, c.side):
                    sides.append(c.side)
                if len(sides) == n:
                    joined = "; ".join(sorted(sides))
                    return Resolved(mention, joined, joined, "group", True)
            pair = story.best(mention, need, n) if story is not None else None
            if pair is not None:
                return pair
        if need is not None:
            earlier = [c for pos, c in sorted(self.candidates, key=lambda pc: pc[0]) if pos < at and c.side != exclude]
            for cand in reversed(earlier):
                if _compatible(need, cand, self.table):
                    return cand
            told = story.best(mention, need, exclude=exclude) if story is not None else None
            if told is not None:  # nothing compatible before it: the actor the rest of the story names most
                return told
            if earlier and not qualified:  # no compatible kind: the nearest named actor of any kind
                return earlier[-1]
        if found is not None and not found.known:  # "Ms. Su" after "Labor Secretary Julie Su": the same person
            last = _WORDS.findall(_clean(mention))[-1:]
            for pos, cand in sorted(self.candidates, key=lambda pc: pc[0], reverse=True):
                if pos < at and cand.type == "individual" and last and _names(cand.actor, last[0]):
                    return cand
            named = story.person(last[0]) if story is not None and last and last[0][0].isupper() else None
            if named is not None:  # named in full elsewhere in the story: the headline's "Lai"
                return named
            name = _NAME_END.search(_HEAD_END.split(_clean(mention), maxsplit=1)[0].strip())
            tied = story.affiliated(name.group()) if story is not None and name else None
            if tied is not None:  # "Weselsky" in a story of "GDL leader Claus Weselsky": the GDL
                return tied
            described = story.described(mention) if story is not None else None
            if described is not None:  # "the dissidents" in a story that names the FARC dissidents
                return described
        return found

    def _named(self, mention: str | None) -> bool:
        """Whether a mention names its actor itself (a table name, not a role, pronoun or description)."""
        if mention is None or kind(mention) is not None:
            return False
        found = self.table.resolve(mention)
        return found is not None and found.known

    def stance(self, text: str, offset: int, speaker: tuple[int, int] | None,
               target: tuple[int, int] | None) -> tuple[Mention, Mention]:
        """Speaker and target of a stance sentence whose tagged spans (sentence offsets) are given."""
        story = self.story.without(text) if self.story is not None else None
        # each role's mention resolves to a side other than the other role's; an office holder the table does
        # not know ("Foreign Minister Teodora Genchovska") takes the state that the target is not, so the
        # target goes first
        said = self.table.resolve(text[speaker[0]:speaker[1]]) if speaker is not None else None
        office = said is not None and not said.known and _office(said.mention)
        order = ("target", "speaker") if office else ("speaker", "target")
        spans = {"speaker": speaker, "target": target}
        found: dict[str, Mention] = {}
        for role in order:
            if spans[role] is None:
                found[role] = Mention(None, None, None, None)
                continue
            s, e = spans[role]
            other = found.get("target" if role == "speaker" else "speaker")
            r = self._resolve(text[s:e], offset + s, story, exclude=other.actor if other else None)
            found[role] = Mention(text[s:e], offset + s, offset + e, r.side)
            if r.known:  # a mention the table does not know ("protesters who") explains no later "he"
                self.candidates.append((offset + s, r))
        spk, tgt = found["speaker"], found["target"]
        if spk.actor is None and self.last is not None:
            spk.actor = self.last[0].actor
            if tgt.actor is None:
                tgt.actor = self.last[1].actor
        if tgt.actor is not None and tgt.actor == spk.actor:  # a speaker is not its own target: a wrong mention
            if spk.text is not None and self._named(tgt.text) and not self._named(spk.text):
                # the target is named and the speaker only inferred ("a spokesman ... supporting the Lebanese
                # army"): the speaker is the one to find again, on another side
                again = self._resolve(spk.text, spk.start, story, exclude=tgt.actor)
                spk = Mention(spk.text, spk.start, spk.end, again.side if again.side != tgt.actor else None)
            else:
                tgt = Mention(None, None, None, None)
        if tgt.text is None and tgt.actor is None and spk.actor and "; " not in spk.actor and story is not None:
            # no target named: the stance is taken towards the other side the story names most
            # ("If the state does not comply, we will consider the ceasefire dead", in a story of
            # Bogota and the ELN); the target mention columns stay empty
            implied = story.best("", "group", exclude=spk.actor)
            tgt.actor = implied.side if implied is not None else None
        self.last = (spk, tgt)
        return spk, tgt
