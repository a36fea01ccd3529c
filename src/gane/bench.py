"""``gane bench train``: the gane trainer's images/s beside a plain PyTorch loop of the same model.

The plain loop is what one would write by hand, and stays written out here (not the trainer's
step) so that it measures the trainer rather than itself: the batch indexed from a tensor on the
device, then for each phase zero_grad / loss / backward / Adam step with only the phase's networks
requiring grad, then the moving average when the run keeps one, one parameter at a time. It has
no progress bar, no logging, no loss checks, no pictures and no checkpoints, and runs in float32
with PyTorch's default Adam.

The gane trainer runs with all of those, at its default log interval, with one tick (pictures and
a checkpoint) inside the timed steps. Each trainer variant (``--variants``: fused Adam, bf16,
channels-last, torch.compile, CUDA graph, ...) is timed in the same run. Rounds alternate between
the loops so that load on a shared machine hits all alike; the median round of each is reported,
and each ratio is against the plain loop's median.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time

import torch

from .config import resolve
from .data import Batch, images_to_float, load_data
from .errors import GaneError
from .families import build_family
from .train.distributed import Distributed
from .train.step import train_only
from .train.trainer import Trainer, resolve_device, seed_everything

#: trainer variants by name: the options each adds to the run
VARIANTS: dict[str, dict] = {
    "default": {},
    "unfused": {"fused": False},
    "fused": {"fused": True},
    "bf16": {"precision": "bf16"},
    "channels-last": {"channels_last": True},
    "bf16+channels-last": {"precision": "bf16", "channels_last": True},
    "compile": {"compile": True},
    "cuda-graph": {"cuda_graph": True},
    "bf16+cuda-graph": {"precision": "bf16", "cuda_graph": True},
}
WARMUP = 25  # untimed steps before each timed stretch (compilation, CUDA graph capture, allocator)


def plain_loop(family: str, model_options: dict, data_spec: str, steps: int, batch_size: int, lr: float, betas, device,
               ema: float = 0.0) -> float:
    """images/s of a hand-written loop over the family's phases (after ``WARMUP`` untimed steps)."""
    seed_everything(0)
    data = load_data(data_spec, "train")
    x_all = data.x.to(device)  # in memory as one tensor
    y_all = data.y.to(device) if getattr(data, "y", None) is not None else None
    model = build_family(family, model_options, data.info).to(device).train()
    phases = model.phases()
    opts = {p.name: torch.optim.Adam([q for m in p.modules for q in getattr(model, m).parameters()], lr=lr * p.lr_scale, betas=betas)
            for p in phases if p.optimizer is None}
    averaged = model.averaged_modules()
    ema_params = [p.detach().clone() for p in averaged.parameters()] if ema > 0 else []

    def run(n):
        for step in range(n):
            idx = torch.randint(0, len(x_all), (batch_size,), device=device)
            batch = Batch(images_to_float(x_all[idx]), y_all[idx] if y_all is not None else None)
            for p in phases:
                if not p.due(step):
                    continue
                train_only(model, p)
                loss, _ = p.loss(batch)
                opts[p.optimizer_name].zero_grad(set_to_none=True)
                loss.backward()
                opts[p.optimizer_name].step()
            with torch.no_grad():
                for e, q in zip(ema_params, averaged.parameters()):
                    e.lerp_(q, 1 - ema)

    run(WARMUP)
    _sync(device)
    t0 = time.perf_counter()
    run(steps)
    _sync(device)
    return steps * batch_size / (time.perf_counter() - t0)


def gane_loop(family: str, options: dict, steps: int, tick: bool = True) -> float:
    """images/s of the gane trainer over ``steps`` steps after ``WARMUP`` untimed ones, one tick included
    (``tick=False``: none, only the steps), read from the run's log.jsonl (which records the seconds
    since the run started at every log line; the run's closing tick comes after its last line)."""
    with tempfile.TemporaryDirectory() as tmp:
        total = WARMUP + steps
        every = WARMUP + steps // 2 if tick else total
        cfg = resolve(family, **options, steps=total, tick=every, log_every=WARMUP, out=f"{tmp}/run", progress=False)
        Trainer(cfg).run()
        lines = [json.loads(line) for line in open(f"{tmp}/run/log.jsonl")]
        at = {line["step"]: line["seconds"] for line in lines}
        return steps * cfg.train.batch_size / (at[total] - at[WARMUP])


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def bench_train(family: str, data: str = "mnist-5k", steps: int = 500, batch_size: int = 64, repeats: int = 3, device: str = "auto",
                width: float | None = None, variants: tuple[str, ...] = ("default",)) -> dict:
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise GaneError(f"Unknown bench variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}.")
    if steps < WARMUP or steps % WARMUP:
        raise GaneError(f"--steps must be a positive multiple of {WARMUP} (the trainer's timed stretch is read from its log); got {steps}.")
    if repeats < 1:
        raise GaneError(f"--repeats must be at least 1 (got {repeats}).")
    options = {"data": data, "batch_size": batch_size, "device": device}
    if width is not None:
        options["width"] = width
    cfg = resolve(family, **options)
    dev = resolve_device(device, Distributed())
    if dev.type != "cuda" and any(VARIANTS[v].get("cuda_graph") for v in variants):
        raise GaneError(f"The cuda-graph variants need a CUDA GPU, and this bench runs on {dev}. Leave them out of --variants.")
    model_options = dict(cfg.model.__dict__)
    t = cfg.train
    print(f"gane bench: {family} on {data}, batch {batch_size}, {steps} timed steps x {repeats} rounds on {dev} "
          f"({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'{torch.get_num_threads()} threads'}); "
          f"plain loop: float32, default Adam{f', moving average {t.ema}' if t.ema else ''}", flush=True)
    plain: list[float] = []
    ours: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(repeats):
        plain.append(plain_loop(family, model_options, data, steps, batch_size, t.lr, (t.beta1, t.beta2), dev, t.ema))
        line = [f"plain loop {plain[-1]:,.0f}"]
        for v in variants:
            ours[v].append(gane_loop(family, {**options, **VARIANTS[v]}, steps))
            line.append(f"gane {v} {ours[v][-1]:,.0f}")
        print(f"  round {r + 1} (images/s): " + ", ".join(line), flush=True)
    p = statistics.median(plain)
    result = {"plain": p, "plain_rounds": plain, "variants": {}}
    print(f"gane bench: median plain loop {p:,.0f} images/s", flush=True)
    for v in variants:
        g = statistics.median(ours[v])
        result["variants"][v] = {"images_per_second": g, "ratio": g / p, "rounds": ours[v]}
        print(f"gane bench: gane trainer {v:<20} {g:>10,.0f} images/s, ratio to the plain loop {g / p:.3f}", flush=True)
    first = result["variants"][variants[0]]
    result.update(gane=first["images_per_second"], ratio=first["ratio"])
    return result
