"""The same training code under torchrun with two CPU processes (gloo); only rank 0 writes."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tiny_data, tiny_bert, tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists():
        torchrun = shutil.which("torchrun")
    cfg = {"model": {"family": "transformer", "pretrained": str(tiny_bert), "max_length": 32},
           "data": {"train": [str(tiny_data["train"])], "dev": [str(tiny_data["dev"])],
                    "test": [str(tiny_data["test"])], "challenge": "", "articles": ""},
           "training": {"epochs": 2, "batch_size": 4, "seed": 0, "threads": 1}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with socket.socket() as sock:  # a free port, so parallel or repeated runs never collide
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = subprocess.run([str(torchrun), "--nproc_per_node=2", f"--master_port={port}", "-m", "communique.cli",
                          "train", str(tmp_path / "c.yaml"), "--out", str(out)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    env_json = json.loads((out / "env.json").read_text())
    assert env_json["world_size"] == 2 and env_json["status"] == "finished"
    metrics = json.loads((out / "metrics.json").read_text())
    # 30 sentences, batch 4 per process, 2 processes -> 4 optimizer steps per epoch
    assert [h["step"] for h in metrics["training"]["log_history"] if "eval_macro_f1" in h] == [4, 8]
    assert (out / "model" / "model.safetensors").is_file()
    assert res.stdout.count("run written to") == 1  # rank 1 returns without writing or reporting
