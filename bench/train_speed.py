"""Time the default training per epoch, side by side: length-grouped or random batches, frozen or
trained word embeddings, frozen lower layers, fp32, hidden dropout off, larger batches.

Each variant trains the shipped default config (``configs/minilm.yaml``, without the actor tagger,
which has its own Trainer) for ``--epochs`` epochs in a fresh run directory and reports seconds per
epoch (the Trainer's own ``train_runtime``, so model loading and dev scoring are left out), the dev
macro-F1 after those epochs and the ratio to the first variant. The CPU flags that decide bf16 are
printed with the figures. ``--whole`` instead times one complete default training (``train`` with
everything the config asks for, actors included), which is what ``make demo`` runs.

Usage: .venv/bin/python bench/train_speed.py [--epochs 1] [--variants default,embeddings-trained]
       [--out /tmp/train-speed] [--whole]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "default": [],
    "random": ["training.group_by_length=false"],
    "embeddings-trained": ["training.freeze_embeddings=false"],
    "2-layers-frozen": ["training.frozen_layers=2"],
    "fp32": ["training.precision=fp32"],
    "no-hidden-dropout": ["model.hidden_dropout=0.0"],
    "no-hidden-dropout-batch-64": ["model.hidden_dropout=0.0", "training.batch_size=64"],
    "no-hidden-dropout-2-frozen": ["model.hidden_dropout=0.0", "training.frozen_layers=2"],
}


def cpu_flags() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return platform.processor()
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni")
    return " ".join(f for f in wanted if f" {f}" in flags) or "none of avx2/avx512/amx"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--variants", default="default,embeddings-trained")
    ap.add_argument("--whole", action="store_true", help="time one whole default training instead")
    ap.add_argument("--out", default="/tmp/train-speed")
    a = ap.parse_args()
    import torch

    from communique.train import train

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({cpu_flags()})"
    print(f"device: {device}; torch threads {torch.get_num_threads()}; epochs per variant {a.epochs}")
    if a.whole:
        out = Path(a.out) / "whole"
        shutil.rmtree(out, ignore_errors=True)
        start = time.time()
        run = train(ROOT / "configs/minilm.yaml", out_dir=out)
        metrics = json.loads((run / "metrics.json").read_text())
        epochs = metrics["training"]["epochs_run"]
        tagger = metrics.get("actors", {}).get("training", {}).get("epochs_run")
        print(f"whole default training: {time.time() - start:.0f} s; stance model {epochs:g} epochs, "
              f"dev macro-F1 {metrics['dev']['macro_f1']:.4f}; actor tagger {tagger} epochs")
        return
    rows = []
    for name in a.variants.split(","):
        out = Path(a.out) / name
        shutil.rmtree(out, ignore_errors=True)
        start = time.time()
        run = train(ROOT / "configs/minilm.yaml", out_dir=out,
                    overrides=[f"training.epochs={a.epochs}", "training.calibrate=false", "model.actors=false",
                               *VARIANTS[name]])
        wall = time.time() - start
        metrics = json.loads((run / "metrics.json").read_text())
        history = metrics["training"]["log_history"]
        runtime = next(h["train_runtime"] for h in history if "train_runtime" in h)
        rows.append((name, runtime / a.epochs, metrics["dev"]["macro_f1"], wall))
    base = rows[0][1]
    print(f"\n{'variant':<20}{'s/epoch':>10}{'x first':>9}{'dev macro-F1':>14}{'whole run s':>13}")
    for name, per_epoch, f1, wall in rows:
        print(f"{name:<20}{per_epoch:>10.1f}{base / per_epoch:>9.2f}{f1:>14.3f}{wall:>13.0f}")


if __name__ == "__main__":
    main()
