import json
import re

import pytest
import torch
import yaml
from conftest import tiny_config

from communique.errors import RunDirError
from communique.evaluate import evaluate
from communique.train import train


def test_run_directory_describes_itself(tiny_data, tiny_bert, tmp_path):
    run = train(tiny_config(tiny_data, "transformer", tiny_bert), out_dir=tmp_path / "run")
    names = {p.name for p in run.iterdir()}
    assert {"config.yaml", "env.json", "model", "metrics.json", "MODEL_CARD.md", "train.log"} <= names
    assert "checkpoints" not in names  # removed after success unless keep_checkpoints
    env = json.loads((run / "env.json").read_text())
    assert env["status"] == "finished" and env["seed"] == 0
    assert env["device"] == ("gpu" if torch.cuda.is_available() else "cpu")  # the GPU is used without a setting
    assert env["packages"]["torch"] and env["wall_time_s"] > 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["model"]["family"] == "transformer" and cfg["training"]["epochs"] == 2
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"] == {"train": 30, "dev": 30}
    assert metrics["temperature"] > 0
    from communique.data import load_labelled
    from communique.models import load_model

    dev = load_labelled([tiny_data["dev"]])  # the recorded dev accuracy is the saved model's
    predicted = load_model(run).predict(list(dev["text"]))
    assert metrics["dev"]["accuracy"] == pytest.approx(sum(p == g for p, g in zip(predicted, dev["label"])) / len(dev))
    assert (run / "model/model.safetensors").is_file()
    assert "fitting transformer model" in (run / "train.log").read_text()
    assert "## Intended use" in (run / "MODEL_CARD.md").read_text()


def test_existing_run_is_not_overwritten(tiny_data, tmp_path):
    cfg = tiny_config(tiny_data, "tfidf")
    run = train(cfg, out_dir=tmp_path / "run")
    with pytest.raises(RunDirError, match=r"already exists \(status: finished\); add --force"):
        train(cfg, out_dir=run)
    with pytest.raises(RunDirError, match="already finished; nothing to resume"):
        train(cfg, out_dir=run, resume=True)
    (run / "marker").write_text("old")
    train(cfg, out_dir=run, force=True)
    assert not (run / "marker").exists()


def test_interrupted_run_resumes_from_checkpoint(tiny_data, tiny_bert, tmp_path):
    out = tmp_path / "run"
    cfg = tiny_config(tiny_data, "transformer", tiny_bert, keep_checkpoints=True, epochs=1)
    train(cfg, out_dir=out)
    # simulate a crash after the first epoch's checkpoint: model not yet written, status still running
    import shutil

    shutil.rmtree(out / "model")
    env = json.loads((out / "env.json").read_text())
    env["status"] = "running"
    (out / "env.json").write_text(json.dumps(env))
    cfg2 = tiny_config(tiny_data, "transformer", tiny_bert, keep_checkpoints=True, epochs=2)
    with pytest.raises(RunDirError, match="interrupted; add --resume"):
        train(cfg2, out_dir=out)
    train(cfg2, out_dir=out, resume=True)
    log = (out / "train.log").read_text()
    assert re.search(r"resuming from .*checkpoint-4", log)
    state = json.loads((out / "metrics.json").read_text())["training"]
    assert state["epochs_run"] == 2.0
    steps = [h["step"] for h in state["log_history"] if "eval_macro_f1" in h]
    assert steps == [4, 8]  # epoch 1 from the first process, epoch 2 after resuming


def test_class_weighted_and_fp32_paths(tiny_data, tiny_bert, tmp_path, monkeypatch):
    """class_weighted passes inverse-frequency weights of the training labels to the loss, and
    precision fp32 trains without bf16 autocast."""
    import numpy as np
    import transformers

    from communique.data import load_labelled
    from communique.labels import LABELS
    from communique.models import transformer as family

    seen = {}
    real_loss, real_args = family._weighted_loss, transformers.TrainingArguments

    def spy_loss(weights):
        seen["weights"] = weights
        return real_loss(weights)

    def spy_args(**kwargs):
        seen["args"] = real_args(**kwargs)
        return seen["args"]

    monkeypatch.setattr(family, "_weighted_loss", spy_loss)
    monkeypatch.setattr(transformers, "TrainingArguments", spy_args)
    cfg = tiny_config(tiny_data, "transformer", tiny_bert, class_weighted=True, precision="fp32", grad_accum=2)
    run = train(cfg, out_dir=tmp_path / "run")
    counts = np.array([list(load_labelled([tiny_data["train"]])["label"]).count(lab) for lab in LABELS], float)
    assert np.allclose(seen["weights"].numpy(), counts.sum() / (len(LABELS) * np.maximum(counts, 1)))
    assert seen["args"].bf16 is False and seen["args"].gradient_accumulation_steps == 2
    assert "class weights" in (run / "train.log").read_text()


def test_weighted_loss_weights_each_example_by_its_label():
    from communique.models.transformer import _weighted_loss

    logits = torch.tensor([[2.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0], [0, 0, 0, 0, 3.0]])
    labels = torch.tensor([0, 1, 4])
    per_example = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    w = torch.tensor([1.0, 3.0, 1.0, 1.0, 0.5])
    expected = (per_example * w[labels]).sum() / w[labels].sum()
    assert torch.isclose(_weighted_loss(w)({"logits": logits}, labels), expected)
    assert torch.isclose(_weighted_loss(torch.ones(5))({"logits": logits}, labels), per_example.mean())


def test_dev_split_by_group_when_not_given(tiny_data, tmp_path):
    cfg = tiny_config(tiny_data, "tfidf")
    cfg.data.dev = []
    cfg.data.dev_fraction = 0.5
    run = train(cfg, out_dir=tmp_path / "run")
    data = json.loads((run / "metrics.json").read_text())["data"]
    assert data["train"] + data["dev"] == 30 and data["dev"] > 0


def test_model_card_is_written_by_training_from_dev(tiny_data, tmp_path):
    run = train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path / "run")
    card = (run / "MODEL_CARD.md").read_text()
    assert card.startswith("# Model card: run") and "**Family:** `tfidf`" in card
    assert "- dev: accuracy" in card and "| label | precision | recall | F1 | support |" in card
    assert "Most frequent dev confusions" in card or "No dev errors." in card
    assert "test: accuracy" not in card  # held-out results live in eval/, not in the card
    assert "`eval/test/`" in card and "`communique report RUN`" in card


def _files_outside(run, owned):
    """Bytes and modification time of every file of ``run`` outside the folder ``owned``."""
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run.rglob("*"))
            if p.is_file() and owned not in p.parents}


def test_evaluate_writes_everything(tiny_data, tmp_path):
    run = train(tiny_config(tiny_data, "tfidf"), out_dir=tmp_path / "run")
    card = (run / "MODEL_CARD.md").read_bytes()
    before = _files_outside(run, run / "eval")
    result = evaluate(run, split="test", n_boot=200)
    out = run / "eval" / "test"
    for name in ("metrics.json", "predictions.jsonl", "confusion.csv", "confusion.png", "report.txt"):
        assert (out / name).is_file(), name
    overall = result["overall"]
    lo, hi = overall["ci95"]["accuracy"]
    assert lo <= overall["accuracy"] <= hi and lo < hi
    assert overall["lenient_accuracy"] >= overall["accuracy"]
    assert sum(map(sum, overall["confusion"])) == 30
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 30 and {"id", "text", "label", "predicted", "probs"} <= set(rows[0])
    # the reported figures are those of the written predictions
    from sklearn.metrics import f1_score

    from communique.labels import LABELS

    gold, pred = [r["label"] for r in rows], [r["predicted"] for r in rows]
    assert overall["accuracy"] == pytest.approx(sum(g == p for g, p in zip(gold, pred)) / 30)
    assert overall["macro_f1"] == pytest.approx(f1_score(gold, pred, labels=list(LABELS), average="macro",
                                                         zero_division=0))
    assert abs(sum(rows[0]["probs"].values()) - 1) < 1e-4
    assert set(result["slices"]["group"]) == {"eps", "zeta"}
    assert (run / "MODEL_CARD.md").read_bytes() == card  # evaluation writes eval/test/ and nothing else
    assert _files_outside(run, run / "eval") == before
    evaluate(run, split="dev", n_boot=0)
    assert (run / "eval" / "dev" / "metrics.json").is_file()
    assert _files_outside(run, run / "eval") == before


def test_run_dir_type_knows_the_layout_and_reads_the_config_typed(tiny_data, tmp_path):
    from communique.config import Config
    from communique.rundir import RunDir

    path = train(tiny_config(tiny_data), out_dir=tmp_path / "run")
    run = RunDir(path).require_finished()
    assert isinstance(run.config, Config) and run.config.data.test == [str(tiny_data["test"])]
    assert run.model_dir == path / "model" and run.eval_dir("test") == path / "eval" / "test"
    assert run.env["status"] == "finished" and "dev" in run.metrics and run.evaluation("test") == {}
    evaluate(path, n_boot=0)
    assert run.evaluation("test")["overall"]["n"] == 30
    with pytest.raises(RunDirError, match="not a finished run directory"):
        RunDir(tmp_path / "nothing").require_finished()
