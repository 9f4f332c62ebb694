"""Run every notebook in notebooks/ end to end against a tiny run, tiny scores and a tiny corpus.

The notebooks are jupytext percent-format ``.py`` files; each is converted in memory, its
``parameters`` cell is followed by an injected cell (as papermill does), and it is executed
with nbclient in a fresh kernel. The executed ``.ipynb`` files are kept in a temporary folder.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT, make_records, tiny_config, write_jsonl

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = ROOT / "notebooks"
ARTICLES = ROOT / "data" / "articles"
PUBLIC = {"communique", "communique.tables", "communique.plots", "communique.report"}  # what notebooks may import
SCORED = ("a01-geneva-security-talks", "a02-taiwan-strait-drills", "a03-niger-coup-ecowas")

# Sentences the tiny model has not seen, so the runs make (different) mistakes.
UNSEEN = [("The premier vowed that no refugee would be turned away.", "assurance"),
          ("Any strike on our ships will be answered in kind, the admiral said.", "threat"),
          ("Lawmakers asked the government to publish the treaty text.", "demand"),
          ("The cabinet turned down the request for an inquiry.", "rejection"),
          ("Talks resumed in Doha after a two-week pause.", "other"),
          ("The envoy said Rome would guarantee safe passage for the convoy.", "assurance"),
          ("Militias said they would retaliate if the raids continued.", "threat"),
          ("Protesters called for the release of the detained journalists.", "demand"),
          ("The opposition dismissed the election results as a fraud.", "rejection"),
          ("Trade between the two countries fell sharply in May.", "other")]

# The shape `communique evaluate` writes for the challenge set and the gold articles; added when
# the evaluation did not produce them, so the notebooks' sections for them run too.
CHALLENGE = {"n": 8, "n_pairs": 4, "accuracy": 0.625, "pair_consistency": 0.5,
             "per_rule": {"R1": {"n": 2, "accuracy": 0.75, "pair_consistency": 0.5},
                          "R2": {"n": 2, "accuracy": 0.5, "pair_consistency": 0.5}}}
ARTICLE_SCORES = {"articles": 2, "gold_sentences": 40, "predicted_sentences": 42,
                  "segmentation": {"precision": 0.9, "recall": 0.8, "f1": 0.847},
                  "classification": {"precision": 0.6, "recall": 0.5, "f1": 0.545, "macro_f1": 0.4}}


def _run(tiny_data, out: Path, extra: Path, **model) -> Path:
    from communique import evaluate, train

    cfg = tiny_config(tiny_data)
    for key, value in model.items():
        setattr(cfg.model, key, value)
    run = train(cfg, out_dir=out)
    evaluate(run, data=[str(tiny_data["test"]), str(extra)], out_dir=run / "eval" / "test", n_boot=50)
    return run


@pytest.fixture(scope="module")
def workspace(tiny_data, tmp_path_factory) -> dict[str, Path]:
    """Two evaluated tfidf runs and a scores file of three sample articles."""
    from communique.score import score

    d = tmp_path_factory.mktemp("nb")
    unseen = [{"id": f"u-{i}", "text": t, "label": label, "also": [], "group": "unseen", "voice": "reported",
               "tags": ["plain", "unseen"]} for i, (t, label) in enumerate(UNSEEN)]
    extra = write_jsonl(d / "unseen.jsonl", unseen)
    run_a = _run(tiny_data, d / "run-a", extra)
    run_b = _run(tiny_data, d / "run-b", extra, ngram_max=1, c=0.05)
    metrics = run_a / "eval" / "test" / "metrics.json"
    result = json.loads(metrics.read_text())
    result.setdefault("challenge", CHALLENGE)
    result.setdefault("articles", ARTICLE_SCORES)
    metrics.write_text(json.dumps(result))
    scores = d / "scores.jsonl"
    score([str(ARTICLES / f"{a}.txt") for a in SCORED], run_a, scores, progress=False)
    return {"run_a": run_a, "run_b": run_b, "scores": scores, "out": d, "actor_scores": _with_actors(scores, d)}


ACTORS = ("Russia", "United States", "NATO", "China")


def _with_actors(scores: Path, d: Path) -> Path:
    """The scores with actor columns as a run with actors writes them: the first word of each stance
    sentence as the speaker mention, actors taken in turn from ``ACTORS`` (a view test, not a model test)."""
    rows = [json.loads(x) for x in scores.read_text(encoding="utf-8").splitlines()]
    k = 0
    for r in rows:
        r.update(dict.fromkeys(("speaker", "speaker_start", "speaker_end", "speaker_actor",
                                "target", "target_start", "target_end", "target_actor")))
        if r["sentence_index"] is not None and r["label"] != "other":
            word = r["text"].split()[0]
            r.update(speaker=word, speaker_start=r["start"], speaker_end=r["start"] + len(word),
                     speaker_actor=ACTORS[k % 4], target_actor=ACTORS[(k + 1) % 4] if k % 3 else None)
            k += 1
    out = d / "actor_scores.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    for split, prefix in (("train", "tr"), ("dev", "dv"), ("test", "te")):
        write_jsonl(d / f"{split}.jsonl", make_records(prefix, split=split))
    return d


def inject_parameters(nb, params: dict) -> None:
    """Insert a cell assigning ``params`` after the cell tagged ``parameters`` (papermill's convention)."""
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)


def execute(name: str, params: dict, out: Path):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    inject_parameters(nb, params)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, out / f"{name}.ipynb")
    return nb


@pytest.fixture(scope="module")
def executed(request, corpus) -> dict:
    """Every notebook, executed in parallel kernels (each kernel pays the package import once).

    The corpus notebook needs no run, so it starts while the runs are trained.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {"corpus": pool.submit(execute, "corpus", {"corpus": str(corpus), "examples_per_label": 2},
                                         corpus)}
        w = {k: str(v) for k, v in request.getfixturevalue("workspace").items()}
        params = {"run": {"run_dir": w["run_a"], "k_errors": 5},
                  "articles": {"scores": w["scores"], "metadata": str(ARTICLES / "metadata.csv"),
                               "speakers": str(ARTICLES / "gold.jsonl"), "article_id": SCORED[0]},
                  "compare": {"runs": [w["run_a"], w["run_b"]]},
                  "dyads": {"scores": w["actor_scores"], "metadata": str(ARTICLES / "metadata.csv"), "by": "day"}}
        futures.update({name: pool.submit(execute, name, p, Path(w["out"])) for name, p in params.items()})
        done = {name: f.result() for name, f in futures.items()}
    assert sorted(done) == sorted(p.stem for p in NOTEBOOKS.glob("*.py")), "a notebook without a test"
    return done


def outputs(nb, mime: str) -> list[str]:
    found = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                raise AssertionError(f"{o['ename']}: {o['evalue']}")
            if mime == "stream" and o.get("output_type") == "stream":
                found.append(o["text"])
            elif mime in o.get("data", {}):
                data = o["data"][mime]
                found.append(data if isinstance(data, str) else "".join(data))
    return found


def test_notebooks_have_a_parameters_cell_and_use_the_public_api():
    for path in NOTEBOOKS.glob("*.py"):
        nb = jupytext.read(path)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert set(re.findall(r"(?:from|import) (communique[\w.]*)", code)) <= PUBLIC, path


def test_corpus_notebook(executed):
    nb = executed["corpus"]
    assert len(outputs(nb, "image/png")) >= 3  # per split, per group, lengths
    tables = "\n".join(outputs(nb, "text/html"))
    assert "alpha" in tables and "rejection" in tables and "reported" in tables
    assert "90 sentences" in "".join(outputs(nb, "stream"))


def test_run_notebook(executed):
    nb = executed["run"]
    # confusion x2, per class, reliability, group, voice, tags, challenge rules
    assert len(outputs(nb, "image/png")) >= 8
    tables = "\n".join(outputs(nb, "text/html"))
    assert "macro_f1" in tables and "pair_consistency" in tables and "segmentation" in tables
    assert any(text in tables for text, _ in UNSEEN)  # the most confident errors, with their text


def test_articles_notebook(executed, workspace):
    from communique.scores_file import read_scores

    nb = executed["articles"]
    html = [h for h in outputs(nb, "text/html") if "communique-article" in h]
    assert len(html) == 1
    scores = read_scores(workspace["scores"])
    assert html[0].count('class="stance stance-') == (scores["article_id"] == SCORED[0]).sum()
    assert len(outputs(nb, "image/png")) == 2  # stance profile and timeline
    tables = "\n".join(outputs(nb, "text/html"))
    assert "2022-08-05" in tables  # timeline by date
    assert "Ryabkov" in tables  # who said what, from the gold speakers


def test_compare_notebook(executed, workspace):
    nb = executed["compare"]
    assert len(outputs(nb, "image/png")) == 3  # accuracy, macro-F1, F1 per label
    tables = "\n".join(outputs(nb, "text/html"))
    assert "run-a" in tables and "run-b" in tables and "challenge_accuracy" in tables
    assert "sentences with different predictions" in "".join(outputs(nb, "stream"))


def test_dyads_notebook(executed, workspace):
    nb = executed["dyads"]
    assert len(outputs(nb, "image/png")) == 2  # the network and the timeline
    tables = "\n".join(outputs(nb, "text/html"))
    rows = [json.loads(x) for x in workspace["actor_scores"].read_text().splitlines()]
    stance = [r for r in rows if r["speaker_actor"]]
    assert f"{len(stance)} stance sentences with a speaker" in "".join(outputs(nb, "stream"))
    assert "(none named)" in tables and "2022-08-05" in tables  # a missing target; the timeline by day
    article = [h for h in outputs(nb, "text/html") if "communique-article" in h][0]
    busiest = max({r["article_id"] for r in stance}, key=lambda a: sum(r["article_id"] == a for r in stance))
    shown = [r for r in stance if r["article_id"] == busiest]
    assert article.count('style="font-weight:bold"') == len(shown)  # every speaker mention marked
