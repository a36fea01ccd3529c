"""Data parallel training: two CPU processes under torchrun (gloo). Rank 0 alone writes the run."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import torch

import gane
from gane.families import build_family
from gane.train.distributed import Distributed


def test_two_processes_train_and_save_once(tmp_path, image_npz):
    out = tmp_path / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "gane",
        "train", "gan", "--data", f"npz:{image_npz}", "--out", str(out), "--device", "cpu",
        "--steps", "6", "--batch-size", "8", "--tick", "3", "--log-every", "3", "--z-dim", "4", "--width", "0.125",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("x 2 processes") == 1  # only rank 0 speaks
    assert [p.name for p in sorted((out / "checkpoints").iterdir())] == ["step-00000003", "step-00000006"]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [3, 6]  # written once per log step, not once per rank
    state = json.loads((out / "checkpoints" / "step-00000006" / "state.json").read_text())
    assert state["images_seen"] == 48  # the global batch of 8, split 4 + 4
    trained = gane.load(out)
    torch.manual_seed(0)  # the trainer seeds the initial weights the same way
    init = build_family("gan", {"z_dim": 4, "width": 0.125}, trained.info)
    assert not torch.equal(init.G.fc[0].weight, trained.G.fc[0].weight)  # it trained


def _average_worker(rank: int, world: int, port: int, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    d = Distributed.from_environment("cpu")
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.full((3,), float(rank + 1))  # rank 0 has 1s, rank 1 has 2s
    opt = torch.optim.SGD([p], lr=1.0)
    d.average_gradients(opt)
    results[rank] = p.grad.tolist()
    d.shutdown()


def test_gradients_are_averaged_across_ranks():
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_average_worker, args=(2, port, results), nprocs=2, join=True)
    assert results[0] == results[1] == [1.5, 1.5, 1.5]
