"""``gane bench train``: the gane trainer's images/s beside a plain PyTorch loop of the same model.

The plain loop is what one would write by hand: the batch indexed from a tensor on
the device, then for each phase zero_grad / loss / backward / step, with only the
phase's networks requiring grad. It has no progress bar, no logging, no loss
checks, no pictures and no checkpoints. The gane trainer runs with all of those
(one tick, at the end, so one picture set and one checkpoint per run). Rounds
alternate between the two loops so that load on a shared machine hits both alike;
the median round of each is reported.
"""
from __future__ import annotations

import statistics
import tempfile
import time

import torch

from .config import resolve
from .data import Batch, images_to_float, load_data
from .families import build_family
from .train.trainer import Trainer, resolve_device, seed_everything
from .train.distributed import Distributed


def plain_loop(family: str, model_options: dict, data_spec: str, steps: int, batch_size: int, lr: float, betas, device) -> float:
    """images/s of a hand-written loop over the family's phases (after 5 warm-up steps)."""
    seed_everything(0)
    data = load_data(data_spec, "train")
    x_all = data.x.to(device)  # in memory as one tensor
    y_all = data.y.to(device) if getattr(data, "y", None) is not None else None
    model = build_family(family, model_options, data.info).to(device).train()
    phases = model.phases()
    opts = {p.name: torch.optim.Adam([q for m in p.modules for q in getattr(model, m).parameters()], lr=lr * p.lr_scale, betas=betas) for p in phases}

    def run(n):
        for step in range(n):
            idx = torch.randint(0, len(x_all), (batch_size,), device=device)
            batch = Batch(images_to_float(x_all[idx]), y_all[idx] if y_all is not None else None)
            for p in phases:
                if step % p.every:
                    continue
                model.requires_grad_(False)
                for m in p.modules:
                    getattr(model, m).requires_grad_(True)
                loss, _ = p.loss(batch)
                opts[p.name].zero_grad(set_to_none=True)
                loss.backward()
                opts[p.name].step()

    run(5)
    _sync(device)
    t0 = time.perf_counter()
    run(steps)
    _sync(device)
    return steps * batch_size / (time.perf_counter() - t0)


def gane_loop(family: str, options: dict, steps: int) -> float:
    """images/s of the gane trainer over ``steps`` steps (after 5 warm-up steps), including its end-of-run tick."""
    with tempfile.TemporaryDirectory() as tmp:
        warm = Trainer(resolve(family, **options, steps=5, tick=10**9, out=f"{tmp}/warm", progress=False))
        warm.run()
        cfg = resolve(family, **options, steps=5 + steps, tick=10**9, out=f"{tmp}/warm", resume=True, progress=False)
        return Trainer(cfg).run().images_per_second


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def bench_train(family: str, data: str = "mnist-5k", steps: int = 200, batch_size: int = 64, repeats: int = 3, device: str = "auto", width: float | None = None) -> dict:
    options = {"data": data, "batch_size": batch_size, "device": device}
    if width is not None:
        options["width"] = width
    cfg = resolve(family, **options)
    dev = resolve_device(device, Distributed())
    model_options = {k: v for k, v in cfg.model.__dict__.items()}
    t = cfg.train
    print(f"gane bench: {family} on {data}, batch {batch_size}, {steps} timed steps x {repeats} rounds on {dev} ({torch.get_num_threads()} threads)", flush=True)
    plain, ours = [], []
    for r in range(repeats):
        plain.append(plain_loop(family, model_options, data, steps, batch_size, t.lr, (t.beta1, t.beta2), dev))
        ours.append(gane_loop(family, options, steps))
        print(f"  round {r + 1}: plain loop {plain[-1]:,.0f} images/s, gane trainer {ours[-1]:,.0f} images/s", flush=True)
    p, g = statistics.median(plain), statistics.median(ours)
    print(f"gane bench: median plain loop {p:,.0f} images/s, gane trainer {g:,.0f} images/s, ratio {g / p:.3f}", flush=True)
    return {"plain": p, "gane": g, "ratio": g / p, "plain_rounds": plain, "gane_rounds": ours}
