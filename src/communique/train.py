"""Train a model from a config and write a self-describing run directory.

Runs unchanged as one process or under ``torchrun --nproc_per_node=N`` (gloo on
CPU, NCCL on GPUs); only rank 0 writes files.

Example:
    >>> run = train("configs/tfidf.yaml", out_dir="runs/tfidf", force=True)
    >>> (run / "model" / "model.json").exists()
    True
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import numpy as np

from .calibration import apply_temperature, fit_temperature
from .card import write_model_card
from .config import SHARED_ENCODER, Config, load_config, save_config
from .data import label_ids, load_labelled, split_by_group
from .errors import DataError
from .labels import LABELS
from .metrics import classification_report
from .models import build_model
from .rundir import (RunDir, check_run_dir, environment, is_main_process, now, prepare_run_dir, read_env, update_env,
                     write_json)

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _attach_log(run_dir: Path) -> logging.Handler | None:
    if not is_main_process():
        return None
    handler = logging.FileHandler(run_dir / RunDir.LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("communique", "transformers"):
        logging.getLogger(name).addHandler(handler)
    logging.getLogger("communique").setLevel(logging.INFO)
    return handler


def load_splits(cfg: Config):
    """Train and dev Datasets from the config (dev split off by group when not given)."""
    train_ds = load_labelled(cfg.data.train)
    if cfg.data.dev:
        dev_ds = load_labelled(cfg.data.dev)
    else:
        train_ds, dev_ds = split_by_group(train_ds, cfg.data.dev_fraction, cfg.training.seed)
    if cfg.data.limit:
        train_ds = train_ds.shuffle(seed=cfg.training.seed).select(range(min(cfg.data.limit, len(train_ds))))
    missing = [lab for lab in LABELS if lab not in set(train_ds["label"])]
    if missing:
        raise DataError(f"{', '.join(map(str, cfg.data.train))}: the training data has no sentence labelled "
                        f"{', '.join(missing)}; every label needs examples")
    leaked = set(train_ds["group"]) & set(dev_ds["group"])
    if leaked:
        log.warning("groups in both train and dev: %s", ", ".join(sorted(leaked)))
    return train_ds, dev_ds


def _actor_data(cfg: Config, train_ds, dev_ds):
    """With ``model.actors``: the actor table and the train and dev sentences with mention spans, all
    checked (a bad table or span stops the run before anything on disk changes); else None."""
    if not cfg.model.actors:
        return None
    from .actors.table import ActorTable
    from .actors.tagger import span_records

    table = ActorTable.load(cfg.model.actor_table)
    train_rows, dev_rows = span_records(train_ds.to_list(), "train"), span_records(dev_ds.to_list(), "dev")
    if not train_rows:
        raise DataError(f"{', '.join(map(str, cfg.data.train))}: model.actors is on but no training stance sentence "
                        "has speaker_span or target_span")
    log.info("actor tagger: %d train and %d dev stance sentences with spans; actor table %s (%d actors)",
             len(train_rows), len(dev_rows), cfg.model.actor_table, len(table))
    return train_rows, dev_rows, table


def _fit_actors(cfg: Config, actor_data, run_dir: Path, model):
    """The actors of the run: the span head trained with the stance model (``actor_encoder: shared``),
    else a tagger fine-tuned on its own encoder."""
    from .actors import Actors
    from .actors.tagger import ActorTagger

    train_rows, dev_rows, table = actor_data
    if cfg.model.actor_encoder == SHARED_ENCODER:
        tagger = ActorTagger(model.span_model_, model.tokenizer_, cfg.model.max_length)
        tagger.state_ = {"shared_encoder": True, "best_tag_f1": _best_tag_f1(model.trainer_state_),
                         "epochs_run": model.trainer_state_["epochs_run"]}
    else:
        log.info("fitting the actor tagger on %s", cfg.model.actor_encoder)
        tagger = ActorTagger.fit(train_rows, dev_rows or None, cfg.model.actor_encoder, cfg.training,
                                 cfg.model.max_length, cfg.model.actor_epochs, run_dir,
                                 layers=cfg.model.actor_layers,
                                 dropout=(cfg.model.hidden_dropout, cfg.model.attention_dropout))
    return Actors(tagger, table, Path(cfg.model.actor_table))


def _best_tag_f1(state: dict) -> float | None:
    """Dev tag F1 at the epoch whose stance model was kept (the best dev macro-F1)."""
    evals = [e for e in state["log_history"] if "eval_tag_f1" in e]
    if not evals:
        return None
    return max(evals, key=lambda e: e["eval_macro_f1"])["eval_tag_f1"]


def default_out(config_path: str | Path | None) -> Path:
    return Path("runs") / (Path(config_path).stem if config_path else "run")


def train(config: Config | str | Path, out_dir: str | Path | None = None, overrides: list[str] | None = None,
          force: bool = False, resume: bool = False) -> Path:
    """Train the configured model; return the run directory.

    Args:
        config: a :class:`Config` or the path of a YAML config.
        out_dir: run directory (default ``runs/<config name>``).
        overrides: ``section.key=value`` strings applied to a YAML config.
        force: overwrite an existing run directory.
        resume: continue an interrupted transformer run from its last checkpoint.
    """
    cfg = config if isinstance(config, Config) else load_config(config, overrides)
    run_dir = Path(out_dir) if out_dir else default_out(None if isinstance(config, Config) else config)
    run = RunDir(run_dir)
    if resume and not run.config_file.is_file():
        resume = False  # nothing to resume: start fresh
    check_run_dir(run_dir, force=force, resume=resume)
    train_ds, dev_ds = load_splits(cfg)  # validate the data before anything on disk changes
    actor_data = _actor_data(cfg, train_ds, dev_ds)
    run_dir = prepare_run_dir(run_dir, force=force, resume=resume)
    if cfg.training.threads:
        import torch

        torch.set_num_threads(cfg.training.threads)
    seed_everything(cfg.training.seed)
    handler = _attach_log(run_dir)
    start = time.time()
    try:
        if is_main_process():
            save_config(cfg, run.config_file)
            update_env(run_dir, **environment(cfg.training.seed), status="running", started=now())
        log.info("train %d sentences (%d groups), dev %d sentences (%d groups)", len(train_ds),
                 len(set(train_ds["group"])), len(dev_ds), len(set(dev_ds["group"])))
        model = build_model(cfg)
        log.info("fitting %s model", cfg.model.family)
        shared = bool(actor_data) and cfg.model.actor_encoder == SHARED_ENCODER
        model.fit(train_ds, dev_ds, work_dir=run_dir, resume=resume, **({"spans": True} if shared else {}))
        actors = _fit_actors(cfg, actor_data, run_dir, model) if actor_data else None
        if not is_main_process():
            return run_dir
        dev_y = label_ids(dev_ds)
        dev_logits = model.logits(list(dev_ds["text"]))  # dev is scored once; calibration reuses the logits
        raw_probs = apply_temperature(dev_logits, 1.0)
        metrics = {"data": {"train": len(train_ds), "dev": len(dev_ds)},
                   "dev_uncalibrated_ece": classification_report(dev_y, raw_probs.argmax(1), raw_probs,
                                                                 n_boot=0)["calibration"]["ece"]}
        if cfg.training.calibrate:
            model.temperature_ = fit_temperature(dev_logits, dev_y)
            log.info("temperature %.3f fitted on dev", model.temperature_)
        probs = apply_temperature(dev_logits, model.temperature_)
        metrics["temperature"] = model.temperature_
        metrics["dev"] = classification_report(dev_y, probs.argmax(1), probs, also=dev_ds["also"],
                                               seed=cfg.training.seed)
        metrics["training"] = getattr(model, "trainer_state_", None)
        model.save(run.model_dir)
        if actors is not None:
            from .actors import ACTOR_DIR
            from .actors.scoring import evaluate_actors

            actors.save(run.model_dir / ACTOR_DIR)
            metrics["actors"] = {"training": actors.tagger.state_,
                                 "dev": evaluate_actors(actors, actor_data[1], seed=cfg.training.seed)}
        write_json(run.metrics_file, metrics)
        wall = time.time() - start
        update_env(run_dir, status="finished", finished=now(), wall_time_s=round(wall, 1))
        for work in ("checkpoints", "checkpoints-actors"):
            if not cfg.training.keep_checkpoints and (run_dir / work).exists():
                import shutil

                shutil.rmtree(run_dir / work)
        write_model_card(run_dir)
        log.info("dev accuracy %.3f, macro-F1 %.3f; run written to %s (%.0f s)", metrics["dev"]["accuracy"],
                 metrics["dev"]["macro_f1"], run_dir, wall)
        return run_dir
    except BaseException as e:
        if is_main_process() and read_env(run_dir).get("status") == "running":
            interrupted = isinstance(e, (KeyboardInterrupt, SystemExit))  # a stop, not a fault: --resume continues
            update_env(run_dir, status="running" if interrupted else "failed", interrupted=now(), error=repr(e)[:500])
        raise
    finally:
        if handler is not None:
            for name in ("communique", "transformers"):
                logging.getLogger(name).removeHandler(handler)
            handler.close()
