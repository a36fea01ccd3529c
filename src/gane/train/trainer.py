"""The trainer: one loop over the family's phases, for every family.

Progress is counted in steps (one batch through every due phase) and images seen.
Maintenance (scalars, pictures, checkpoints) happens in one place, every ``tick`` steps.
"""
from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import DEFAULT_STEPS, RunConfig, default_run_dir, preset_for
from ..data import DataOptions, EpochSampler, load_data
from ..errors import GaneError, TrainingDiverged
from ..families import Family, build_family
from .. import pictures
from .checkpoint import latest_checkpoint, load_module_state, load_training_state, save_checkpoint
from .distributed import Distributed


def resolve_device(name: str, dist: Distributed) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", dist.local_rank)
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise GaneError(f"Unknown device {name!r}. Use auto, cpu, cuda, cuda:N or mps.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GaneError(f"--device {name} was asked for, but this machine has no CUDA GPU. Use --device cpu (or auto).")
    if dev.type == "cuda" and dist.world > 1:
        dev = torch.device("cuda", dist.local_rank)
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def _swapped(model: torch.nn.Module, modules):
    """Run the model with some of its submodules replaced (e.g. by their moving averages)."""
    saved = {name: getattr(model, name) for name in modules}
    try:
        for name, module in modules.items():
            setattr(model, name, module)
        yield model
    finally:
        for name, module in saved.items():
            setattr(model, name, module)


class EMA:
    """Exponential moving average of a module's parameters (buffers are copied)."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        for e, p in zip(self.module.parameters(), module.parameters()):
            e.lerp_(p.detach(), 1 - self.decay)
        for e, b in zip(self.module.buffers(), module.buffers()):
            e.copy_(b)


class ScalarLog:
    """Scalars to a JSONL file and TensorBoard (rank 0 only)."""

    def __init__(self, run_dir: Path, enabled: bool):
        self.enabled = enabled
        self.tb = None
        if enabled:
            self.jsonl = open(run_dir / "log.jsonl", "a")
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run_dir / "tensorboard"))

    def scalars(self, step: int, images: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        self.jsonl.write(json.dumps({"step": step, "images": images, **values}) + "\n")
        self.jsonl.flush()
        for k, v in values.items():
            self.tb.add_scalar(k, v, step)

    def image(self, tag: str, grid: torch.Tensor, step: int) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, grid, step)

    def close(self) -> None:
        if self.enabled:
            self.jsonl.close()
            self.tb.close()


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    images_seen: int
    seconds: float
    images_per_second: float
    stopped_early: bool = False
    already_done: bool = False  # resumed at or past --steps: nothing was trained or written


class Trainer:
    def __init__(self, cfg: RunConfig):
        self.cfg = cfg
        t = cfg.train
        self.dist = Distributed.from_environment(t.device)
        self.device = resolve_device(t.device, self.dist)
        self.opts = DataOptions(data_root=t.data_root, download=t.download, image_size=t.image_size, workers=t.workers)
        self.data = load_data(t.data, "train", self.opts)
        seed_everything(t.seed)  # identical initial weights on every rank
        self.model: Family = build_family(cfg.family, _asdict(cfg.model), self.data.info).to(self.device)
        seed_everything(t.seed + 1000 * self.dist.rank)
        self.phases = self.model.phases()
        self.optimizers = {
            p.name: torch.optim.Adam(self._params(p), lr=t.lr * p.lr_scale, betas=(t.beta1, t.beta2)) for p in self.phases
        }
        self.averaged = self.model.averaged_modules()  # built once: the EMA follows these every step
        self.ema = EMA(self.averaged, t.ema) if t.ema > 0 else None
        if t.batch_size % self.dist.world:
            raise GaneError(f"--batch-size {t.batch_size} must be divisible by the number of processes ({self.dist.world}).")
        self.sampler = EpochSampler(len(self.data), t.batch_size // self.dist.world, t.seed, self.dist.rank, self.dist.world)
        self.total_steps = t.steps if t.steps is not None else (
            math.ceil(t.epochs * self.sampler.per_epoch) if t.epochs is not None else DEFAULT_STEPS
        )
        self.run_dir = Path(t.out or default_run_dir(cfg.family, t.data))
        self.step = 0
        self.config_dict = {**cfg.to_dict(), "data_info": self.data.info.to_dict()}
        self._stop_requested = False

    def _params(self, phase):
        params = []
        for name in phase.modules:
            params += list(getattr(self.model, name).parameters())
        return params

    # ------------------------------------------------------------------ setup
    def _restore_if_resuming(self) -> None:
        ckpt = latest_checkpoint(self.run_dir)
        if self.cfg.train.resume:
            if ckpt is None:
                raise GaneError(f"--resume was given, but {self.run_dir} has no checkpoint to resume from. Drop --resume to start a new run there.")
            self._restore(ckpt)
        elif ckpt is not None:
            raise GaneError(
                f"The run folder {self.run_dir} already holds a run (latest checkpoint {ckpt.name}). "
                "Add --resume to continue it, or pass --out DIR for a new run; nothing was changed."
            )

    def _restore(self, ckpt: Path) -> None:
        saved = json.loads((ckpt / "config.json").read_text())
        if saved["family"] != self.cfg.family:
            raise GaneError(f"{self.run_dir} holds a {saved['family']!r} run; it cannot be resumed as {self.cfg.family!r}.")
        load_module_state(self.model, ckpt / "model.safetensors", self.cfg.family)
        if self.ema is not None:
            ema_file = ckpt / "ema.safetensors"
            if ema_file.exists():
                load_module_state(self.ema.module, ema_file, self.cfg.family, "EMA weights")
            else:
                self.ema = EMA(self.averaged, self.cfg.train.ema)
        state = load_training_state(ckpt, self.cfg.family, self.optimizers)
        for phase in self.phases:  # the step sizes of this invocation (--lr, --adv-weight), not the saved ones
            for group in self.optimizers[phase.name].param_groups:
                group["lr"] = self.cfg.train.lr * phase.lr_scale
        self.step = state["step"]
        self.sampler.batches_done = state["batches_done"]
        if self.dist.rank:  # other ranks continue with a fresh stream of their own
            torch.manual_seed(self.cfg.train.seed + 1000 * self.dist.rank + self.step)

    def _save(self) -> Path | None:
        if not self.dist.is_main:
            return None
        extra = {"batches_done": self.sampler.batches_done, "images_seen": self.images_seen}
        return save_checkpoint(
            self.run_dir, self.step, self.config_dict, self.model, self.optimizers,
            self.ema.module if self.ema else None, extra, self.cfg.train.keep_checkpoints,
        )

    @property
    def images_seen(self) -> int:
        return self.step * self.cfg.train.batch_size

    # ------------------------------------------------------------------ pictures
    def _code_density_batches(self, limit: int = 10_000, chunk: int = 500):
        """Training data the code mixture is fitted to: the first ``limit`` examples, in chunks."""
        n = min(len(self.data), limit)
        for start in range(0, n, chunk):
            yield self.data.take(min(chunk, n - start), self.device, offset=start).x

    def _snapshot(self, log: ScalarLog, fixed_x) -> None:
        """Refit the code mixture (families with --code-mixture), then write the pictures.
        Runs before every checkpoint, so each checkpoint samples from a density fitted to its own E."""
        model = self.model
        was_training = model.training
        model.eval()
        with torch.no_grad(), _swapped(model, self.ema.module if self.ema else {}):
            model.fit_code_density(self._code_density_batches())
            # the same random numbers every time, mapped through the current code density
            fixed_z = model.sample_codes(64, generator=torch.Generator().manual_seed(self.cfg.train.seed + 12345), device=self.device)
            samples = model.decode(fixed_z)
            pics = self.run_dir / "pictures"
            real = fixed_x.x if fixed_x is not None else None
            backdrop = self.data.take(2000).x if samples.ndim == 2 else None  # real points behind 2-D samples
            for path in (self.run_dir / "samples.png", pics / f"samples-{self.step:08d}.png"):
                pictures.save_samples(samples, path, real=backdrop)
            if samples.ndim == 4:
                log.image("samples", pictures.grid_tensor(samples), self.step)
            if model.has_encoder and real is not None:
                recon = model.reconstruct(real)
                for path in (self.run_dir / "reconstructions.png", pics / f"reconstructions-{self.step:08d}.png"):
                    pictures.save_reconstructions(real, recon, path)
                if recon.ndim == 4:
                    log.image("reconstructions", pictures.grid_tensor(pictures.interleave_rows(real, recon, 8)), self.step)
        model.train(was_training)

    # ------------------------------------------------------------------ the loop
    def _on_signal(self, signum, frame):
        if self._stop_requested:  # a second Ctrl-C stops at once; the last checkpoint stays
            raise KeyboardInterrupt
        self._stop_requested = True

    def run(self) -> TrainResult:
        t = self.cfg.train
        self._restore_if_resuming()
        if self.step >= self.total_steps:
            if self.dist.is_main:
                print(f"gane: {self.run_dir} is already at step {self.step}, and --steps is {self.total_steps}: nothing to train, "
                      f"nothing changed. Pass --steps above {self.step} to continue it.", flush=True)
            return TrainResult(self.run_dir, self.step, self.images_seen, 0.0, 0.0, already_done=True)
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(self.config_dict, indent=2))
        log = ScalarLog(self.run_dir, self.dist.is_main)
        if self.dist.is_main and t.progress:
            print(f"gane: training {self.cfg.family} on {t.data} ({len(self.data)} examples) on {self.device}"
                  f"{f' x {self.dist.world} processes' if self.dist.world > 1 else ''}"
                  f"{f', resuming at step {self.step},' if t.resume else ''} to step {self.total_steps}; run folder {self.run_dir}", flush=True)
            model_opts = ", ".join(f"{k}={v}" for k, v in self.config_dict["model"].items())
            print(f"gane: {self.cfg.family} options: {model_opts}; batch {t.batch_size}, lr {t.lr:g}, seed {t.seed}"
                  f" (full config in {self.run_dir / 'config.json'})", flush=True)
            preset = preset_for(self.cfg.family, t.data)
            if preset is not None and preset.caveat and all(self.config_dict["model"].get(k) == v for k, v in preset.model.items()):
                print(f"gane: note: the {self.cfg.family} preset for {t.data} {preset.caveat}", flush=True)
        fixed_x = self.data.spread(32, self.device) if self.model.has_encoder else None
        previous_handler = None
        try:
            previous_handler = signal.signal(signal.SIGINT, self._on_signal)
        except ValueError:  # not in the main thread
            pass
        batches = self.data.batches(self.sampler, self.device)
        pending: list[tuple[int, str, dict[str, torch.Tensor]]] = []
        bar = _progress(t.progress and self.dist.is_main, self.total_steps, self.step)
        start_step, t0 = self.step, time.perf_counter()
        last_ckpt_step = self.step if self.cfg.train.resume else None
        stopped_early = False
        try:
            self.model.train()
            while self.step < self.total_steps:
                batch = next(batches)
                for phase in self.phases:
                    if self.step % phase.every:
                        continue
                    self.model.requires_grad_(False)
                    for name in phase.modules:
                        getattr(self.model, name).requires_grad_(True)
                    opt = self.optimizers[phase.name]
                    loss, logs = phase.loss(batch)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    self.dist.average_gradients(opt)
                    opt.step()
                    pending.append((self.step, phase.name, {"loss": loss.detach(), **logs}))
                if self.ema is not None:
                    self.ema.update(self.averaged)
                self.step += 1
                last = self.step == self.total_steps
                elapsed = time.perf_counter() - t0
                out_of_time = t.time_limit is not None and elapsed >= t.time_limit
                stop = self.dist.any(self._stop_requested or out_of_time)  # every rank stops at the same step
                if self.step % t.log_every == 0 or last or stop or self.step % t.tick == 0:
                    ips = (self.step - start_step) * t.batch_size / max(elapsed, 1e-9)
                    values = self._flush(pending, last_ckpt_step)
                    pending = []
                    log.scalars(self.step, self.images_seen, {**values, "images_per_second": ips})
                    if bar is not None:
                        bar.update(self.step - bar.n)
                        bar.set_postfix_str(f"{ips:,.0f} img/s " + " ".join(f"{k}={v:.3g}" for k, v in list(values.items())[:4]))
                if self.step % t.tick == 0 or last or stop:
                    if self.dist.is_main:
                        self._snapshot(log, fixed_x)
                    self._save()
                    last_ckpt_step = self.step
                if stop:
                    stopped_early = True
                    break
        finally:
            if bar is not None:
                bar.close()
            log.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        seconds = time.perf_counter() - t0
        images = (self.step - start_step) * t.batch_size
        if stopped_early and self.dist.is_main:
            why = "time limit reached" if not self._stop_requested else "interrupted"
            print(f"gane: {why} at step {self.step}; checkpoint saved. Continue with --resume --steps {self.total_steps}.", flush=True)
        self.dist.barrier()
        return TrainResult(self.run_dir, self.step, self.images_seen, seconds, images / max(seconds, 1e-9), stopped_early)

    def _flush(self, pending, last_ckpt_step) -> dict[str, float]:
        """Move the pending losses to the host once, check they are finite, average them for the log."""
        if not pending:
            return {}
        keys = [(s, ph, k) for s, ph, d in pending for k in d]
        values = torch.stack([v.float() for _, _, d in pending for v in d.values()]).cpu().tolist()
        sums: dict[str, list[float]] = {}
        for (s, ph, k), v in zip(keys, values):
            if not math.isfinite(v):
                kept = f"the last good checkpoint (step {last_ckpt_step}) is kept in {self.run_dir / 'checkpoints'}" if last_ckpt_step else "no checkpoint had been written yet"
                raise TrainingDiverged(
                    f"Training diverged: the {ph} phase's {k} became {v} at step {s + 1}; {kept}. "
                    "Try a lower --lr, a different --loss, or --spectral-norm, then train again (or --resume from the checkpoint)."
                )
            sums.setdefault(f"{ph}/{k}", []).append(v)
        return {k: sum(v) / len(v) for k, v in sums.items()}


def _progress(enabled: bool, total: int, initial: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, smoothing=0.1)


def _asdict(cfg) -> dict:
    import dataclasses

    return dataclasses.asdict(cfg)


def train_run(cfg: RunConfig) -> TrainResult:
    """Train a resolved run config. Data parallel when started under torchrun."""
    trainer = Trainer(cfg)
    try:
        return trainer.run()
    finally:
        trainer.dist.shutdown()
