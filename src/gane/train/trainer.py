"""The trainer: one loop over the family's phases, for every family.

Progress is counted in steps (one batch through every due phase) and images seen.
Maintenance (scalars, pictures, checkpoints) happens in one place, every ``tick`` steps.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import DEFAULT_STEPS, RunConfig, default_run_dir, preset_for
from ..data import DataOptions, EpochSampler, load_data
from .. import nets
from ..device import resolve_device as pick_device
from ..errors import GaneError, TrainingDiverged
from ..families import Family, build_family
from ..metrics.core import append_record
from .checkpoint import capture_checkpoint, latest_checkpoint, load_module_state, load_training_state, write_checkpoint
from .distributed import Distributed
from .step import EMA, GraphedStep, StepRunner, check_shared_optimizers, make_optimizer, phase_parameters


def resolve_device(name: str, dist: Distributed) -> torch.device:
    return pick_device(name, dist.local_rank, dist.world)


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


class ScalarLog:
    """Scalars to a JSONL file and TensorBoard (rank 0 only)."""

    def __init__(self, run_dir: Path, enabled: bool):
        self.enabled = enabled
        self.tb = None
        if enabled:
            self.jsonl = open(run_dir / "log.jsonl", "a")
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run_dir / "tensorboard"))

    def scalars(self, step: int, images: int, values: dict[str, float], seconds: float) -> None:
        """``seconds``: since this invocation started training (log.jsonl only)."""
        if not self.enabled:
            return
        self.jsonl.write(json.dumps({"step": step, "images": images, "seconds": round(seconds, 4), **values}) + "\n")
        self.jsonl.flush()
        for k, v in values.items():
            self.tb.add_scalar(k, v, step)

    def metrics(self, step: int, images: int, values: dict[str, float]) -> None:
        """Metric values as their own log.jsonl line and TensorBoard scalars under metrics/."""
        if not self.enabled:
            return
        named = {f"metrics/{k}": v for k, v in values.items()}
        self.jsonl.write(json.dumps({"step": step, "images": images, **named}) + "\n")
        self.jsonl.flush()
        for k, v in named.items():
            if math.isfinite(v):
                self.tb.add_scalar(k, v, step)

    def image(self, tag: str, grid: torch.Tensor, step: int) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, grid, step)

    def close(self) -> None:
        if self.enabled:
            self.jsonl.close()
            self.tb.close()


class BackgroundWriter:
    """Runs one file-writing job at a time on a thread (pictures and checkpoints of a tick), so the
    training loop does not wait for PNG encoding and disk writes. A new job first waits for the one
    before, so checkpoints land in order; an error in a job is raised at the next wait."""

    def __init__(self):
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, job) -> None:
        self.wait()
        self._thread = threading.Thread(target=self._run, args=(job,), name="gane-writer")
        self._thread.start()

    def _run(self, job) -> None:
        try:
            job()
        except BaseException as e:  # handed to the training thread at its next wait
            self._error = e

    def wait(self, raise_error: bool = True) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None and raise_error:
            if isinstance(error, OSError):
                raise GaneError(f"Writing pictures or a checkpoint failed ({error}). Check that the run folder is "
                                "writable and the disk has room; the last complete checkpoint is kept.") from None
            raise error


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
        _check_speed_options(t, self.device, self.dist)
        self.opts = DataOptions(data_root=t.data_root, download=t.download, image_size=t.image_size, workers=t.workers)
        self.data = load_data(t.data, "train", self.opts)
        seed_everything(t.seed)  # identical initial weights on every rank
        self.model: Family = build_family(cfg.family, _asdict(cfg.model), self.data.info).to(self.device)
        if t.channels_last and self.data.info.kind == "image":
            self.model.to(memory_format=torch.channels_last)
        seed_everything(t.seed + 1000 * self.dist.rank)
        self.phases = self.model.phases()
        fused = t.fused if t.fused is not None else self.device.type == "cuda"
        self.optimizers = {  # one per phase that owns one; a phase with ``optimizer`` set steps its owner's
            p.name: make_optimizer(phase_parameters(self.model, p), t.lr * p.lr_scale, (t.beta1, t.beta2), fused, capturable=t.cuda_graph)
            for p in self.phases if p.optimizer is None
        }
        check_shared_optimizers(self.phases, self.model)
        self.averaged = self.model.averaged_modules()  # built once: the EMA follows these every step
        self.ema = EMA(self.averaged, t.ema) if t.ema > 0 else None
        if t.batch_size % self.dist.world:
            raise GaneError(f"--batch-size {t.batch_size} must be divisible by the number of processes ({self.dist.world}).")
        nets.check_batch_for_batch_norm(self.model, t.batch_size // self.dist.world, self.dist.world)
        self.sampler = EpochSampler(len(self.data), t.batch_size // self.dist.world, t.seed, self.dist.rank, self.dist.world)
        self.total_steps = t.steps if t.steps is not None else (
            math.ceil(t.epochs * self.sampler.per_epoch) if t.epochs is not None else DEFAULT_STEPS
        )
        self.run_dir = Path(t.out or default_run_dir(cfg.family, t.data))
        self.step = 0
        self.resumed = False
        self.config_dict = {**cfg.to_dict(), "data_info": self.data.info.to_dict()}
        self.writer = BackgroundWriter()
        self._stop_requested = False
        self.metrics = self._metric_context() if t.metrics else None
        self._metrics_at = 0  # the step metrics were last computed at

    def _metric_context(self):
        """--metrics: names checked against the model and data now, so a metric that cannot apply
        stops the run before it trains; the feature network and real features are made at the first
        evaluation and kept."""
        from ..data import split_or_first
        from ..metrics import MetricContext, check_applicable, parse_names

        t = self.cfg.train
        ctx = MetricContext(self.model, t.data, split_or_first(t.data, "test"), t.metrics_n, t.seed,
                            features_kind=t.metrics_features, inception_weights=t.inception_weights, options=self.opts,
                            device=self.device)
        self.metric_names = parse_names(t.metrics)
        check_applicable(self.metric_names, ctx)  # builds the feature network (a domain classifier is trained once, now)
        return ctx

    # ------------------------------------------------------------------ setup
    def _restore_if_resuming(self) -> None:
        ckpt = latest_checkpoint(self.run_dir)
        if self.cfg.train.resume:
            if ckpt is None:  # e.g. a job killed in its first seconds, relaunched with the same command
                if self.dist.is_main:
                    print(f"gane: --resume: {self.run_dir} has no checkpoint yet, so training starts from step 0.", flush=True)
                return
            self._restore(ckpt)
            self.resumed = True
            self._metrics_at = self.step
        elif ckpt is not None:
            raise GaneError(
                f"The run folder {self.run_dir} already holds a run (latest checkpoint {ckpt.name}). "
                "Add --resume to continue it, or pass --out DIR for a new run; nothing was changed."
            )

    def _restore(self, ckpt: Path) -> None:
        try:
            saved = json.loads((ckpt / "config.json").read_text())
            family = saved["family"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise GaneError(f"{ckpt / 'config.json'} is missing or damaged ({e}); the checkpoint cannot be resumed. "
                            "Remove that checkpoint folder to resume from the one before it.") from None
        if family != self.cfg.family:
            raise GaneError(f"{self.run_dir} holds a {family!r} run; it cannot be resumed as {self.cfg.family!r}.")
        load_module_state(self.model, ckpt / "model.safetensors", self.cfg.family)
        if self.ema is not None:
            ema_file = ckpt / "ema.safetensors"
            if ema_file.exists():
                load_module_state(self.ema.module, ema_file, self.cfg.family, "EMA weights")
            else:
                self.ema = EMA(self.averaged, self.cfg.train.ema)
        state = load_training_state(ckpt, self.cfg.family, self.optimizers)
        for phase in self.phases:  # the step sizes of this invocation (--lr, --adv-weight), not the saved ones
            if phase.optimizer is not None:
                continue
            for group in self.optimizers[phase.name].param_groups:
                group["lr"] = self.cfg.train.lr * phase.lr_scale
        self.step = state["step"]
        self.sampler.batches_done = state["batches_done"]
        if self.dist.rank:  # other ranks continue with a fresh stream of their own
            torch.manual_seed(self.cfg.train.seed + 1000 * self.dist.rank + self.step)

    def _write_config(self) -> None:
        path = self.run_dir / "config.json"
        tmp = path.with_name(".config.json.tmp")
        tmp.write_text(json.dumps(self.config_dict, indent=2))
        os.replace(tmp, path)

    def _check_finite(self) -> None:
        """Refuse to write NaN or infinite weights, moving averages, buffers or optimizer state."""
        def trained_by(key: str) -> set[str]:  # the phases updating the network a state_dict key belongs to
            return {p.optimizer_name for p in self.phases if key.split(".")[0] in p.modules}

        entries = [(k, v, trained_by(k)) for k, v in self.model.state_dict().items()]  # (what, tensor, phases)
        if self.ema is not None:
            entries += [(f"the moving average of {k}", v, trained_by(k)) for k, v in self.ema.module.state_dict().items()]
        for phase, opt in self.optimizers.items():
            for i, st in enumerate(opt.state.values()):
                entries += [(f"the {phase} phase's Adam {k} of parameter {i}", v, {phase}) for k, v in st.items() if torch.is_tensor(v)]
        entries = [e for e in entries if e[1].is_floating_point()]
        if not entries:
            return
        checks = [torch.isfinite(v).all() for _, v, _ in entries]
        ok: dict[int, bool] = {}
        for device in {c.device for c in checks}:  # one transfer per device (Adam's step counters may sit on the CPU)
            where = [i for i, c in enumerate(checks) if c.device == device]
            ok.update(zip(where, torch.stack([checks[i] for i in where]).cpu().tolist()))
        if all(ok.values()):
            return
        bad = [entries[i] for i in range(len(entries)) if not ok[i]]
        phases = [p.name for p in self.phases if any(p.name in ph for _, _, ph in bad)]
        where = ", ".join(k for k, _, _ in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise TrainingDiverged(
            f"Training diverged: at step {self.step}, with finite losses, the update of the {'/'.join(phases) or 'last'} phase "
            f"left non-finite values in {where}. No checkpoint was written for step {self.step}; "
            f"{self._kept()} Try a lower --lr, a different --loss or --spectral-norm, then train again (or --resume)."
        )

    def _kept(self) -> str:
        self.writer.wait(raise_error=False)  # a checkpoint still being written counts
        ckpt = latest_checkpoint(self.run_dir)
        return (f"the last good checkpoint (step {int(ckpt.name.removeprefix('step-'))}) is kept in {self.run_dir / 'checkpoints'}, with its options in "
                f"{self.run_dir / 'config.json'}." if ckpt else "no checkpoint had been written yet.")

    @property
    def images_seen(self) -> int:
        return self.step * self.cfg.train.batch_size

    # ------------------------------------------------------------------ maintenance, once per tick
    def _code_density_batches(self, limit: int = 10_000, chunk: int = 500):
        """Training data the code mixture is fitted to: the first ``limit`` examples, in chunks."""
        n = min(len(self.data), limit)
        for start in range(0, n, chunk):
            yield self.data.take(min(chunk, n - start), self.device, offset=start).x

    def _measure(self) -> dict | None:
        """--metrics on the model as it is now (moving average swapped in), as a metrics.json record."""
        from ..metrics import compute, record

        start = time.perf_counter()
        ctx = self.metrics.for_model(self.model)
        try:
            values = compute(self.metric_names, ctx)
        except GaneError as e:  # e.g. too few samples for a k-NN metric: said, and training and its checkpoint go on
            print(f"gane: note: --metrics at step {self.step} could not be computed: {e}", flush=True)
            return None
        self.metrics, self._metrics_at = ctx, self.step  # ctx keeps the reals' features and baselines for the next time
        if self.cfg.train.progress:
            from tqdm.auto import tqdm

            shown = list(values.items())[:8]
            more = f" ({len(values) - len(shown)} more in metrics.json)" if len(values) > len(shown) else ""
            tqdm.write(f"gane: step {self.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in shown) + more)
        checkpoint = self.run_dir / "checkpoints" / f"step-{self.step:08d}"
        return record(ctx, values, self.step, str(checkpoint), time.perf_counter() - start)

    def _tick(self, log: "ScalarLog", examples, last: bool = False) -> None:
        """Check that weights and state are finite, refit the code mixture (families with --code-mixture),
        draw the model's pictures and capture a checkpoint; then hand pictures and checkpoint to the
        background writer, so that training goes on while they are encoded and written. Each checkpoint
        samples from a density fitted to its own encoder. The run's config.json takes this invocation's
        options once the checkpoint is written (a resumed run keeps its old options until then)."""
        if not self.dist.is_main:
            return
        self._check_finite()  # before the pictures: nothing is written from non-finite weights
        model = self.model
        was_training = model.training
        model.eval()
        measured = None
        with torch.no_grad(), _swapped(model, self.ema.module if self.ema else {}):
            model.fit_code_density(self._code_density_batches())
            pictures = model.snapshot(examples, self.cfg.train.seed + 12345)
            every = self.cfg.train.metrics_every or 1
            if self.metrics is not None and (last or self.step // every > self._metrics_at // every):
                measured = self._measure()
        model.train(was_training)
        for name, picture in pictures.items():
            if picture.grid is not None:
                log.image(name, picture.grid, self.step)
        if measured is not None:
            log.metrics(self.step, self.images_seen, measured["metrics"])
        extra = {"batches_done": self.sampler.batches_done, "images_seen": self.images_seen}
        state = capture_checkpoint(self.step, self.config_dict, self.model, self.optimizers,
                                   self.ema.module if self.ema else None, extra)
        step, keep = self.step, self.cfg.train.keep_checkpoints

        def write():
            for name, picture in pictures.items():  # drawn once, then copied to the run folder's latest picture
                kept = picture.save(self.run_dir / "pictures" / f"{name}-{step:08d}.png")
                tmp = self.run_dir / f".{name}.tmp.png"
                shutil.copyfile(kept, tmp)
                os.replace(tmp, self.run_dir / f"{name}.png")
            write_checkpoint(self.run_dir, state, keep)
            self._write_config()
            if measured is not None:
                append_record(self.run_dir / "metrics.json", measured)

        self.writer.submit(write)

    def _announce(self) -> None:
        t = self.cfg.train
        print(f"gane: training {self.cfg.family} on {t.data} ({len(self.data)} examples) on {self.device}"
              f"{f' x {self.dist.world} processes' if self.dist.world > 1 else ''}"
              f"{f', resuming at step {self.step},' if self.resumed else ''} to step {self.total_steps}; run folder {self.run_dir}", flush=True)
        model_opts = ", ".join(f"{k}={v}" for k, v in self.config_dict["model"].items())
        print(f"gane: {self.cfg.family} options: {model_opts}; batch {t.batch_size}, lr {t.lr:g}, seed {t.seed}"
              f" (full config in {self.run_dir / 'config.json'})", flush=True)
        preset = preset_for(self.cfg.family, t.data)
        if preset is not None and preset.caveat and all(self.config_dict["model"].get(k) == v for k, v in preset.model.items()):
            print(f"gane: note: the {self.cfg.family} preset for {t.data} {preset.caveat}", flush=True)

    def _step_function(self):
        """The step: phases then the moving average, eager or replayed as a CUDA graph."""
        t = self.cfg.train
        if t.compile:
            for name, child in self.model.named_children():
                if any(True for _ in child.parameters()):
                    child.compile()
        runner = StepRunner(self.model, self.phases, self.optimizers, self.device, t.precision,
                            self.dist.average_gradients if self.dist.world > 1 else None)
        self.graphed = None
        if t.cuda_graph:
            step = self.graphed = GraphedStep(runner, self.ema, self.averaged)
        else:
            def step(batch, number):
                out = runner(batch, number)
                if self.ema is not None:
                    self.ema.update(self.averaged)
                return out
        if not t.compile:
            return step

        def compiled_step(batch, number):
            try:
                return step(batch, number)
            except Exception as e:  # the compiler's own failures surface as many exception types
                first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
                raise GaneError(
                    f"--compile: torch.compile could not compile a {self.cfg.family} step on {self.device} ({type(e).__name__}: "
                    f"{first[:300]}). Train without --compile (on a GPU, --cuda-graph removes the same per-step overhead); "
                    f"{self._kept()}"
                ) from None

        return compiled_step

    # ------------------------------------------------------------------ the loop
    def _on_signal(self, signum, frame):
        if self._stop_requested:  # a second Ctrl-C stops at once; the last checkpoint stays
            raise KeyboardInterrupt
        self._stop_requested = True

    def run(self) -> TrainResult:
        with _kernels(self.cfg.train.deterministic):
            return self._run()

    def _run(self) -> TrainResult:
        t = self.cfg.train
        self._restore_if_resuming()
        if not self.resumed and self.step == 0:
            with torch.random.fork_rng(devices=[]):  # whatever the model does here leaves the run's random numbers as they were
                self.model.prepare(self.data)
        if self.step >= self.total_steps:
            if self.dist.is_main:
                print(f"gane: {self.run_dir} is already at step {self.step}, and --steps is {self.total_steps}: nothing to train, "
                      f"nothing changed. Pass --steps above {self.step} to continue it.", flush=True)
            return TrainResult(self.run_dir, self.step, self.images_seen, 0.0, 0.0, already_done=True)
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if not self.resumed:
                self._write_config()
            if t.progress:
                self._announce()
            late = [p.name for p in self.phases if p.start >= self.total_steps]
            if late:  # a later stage (cgan-encoder's encoder) that this invocation stops before
                print(f"gane: note: the {', '.join(late)} phase{'s' if len(late) > 1 else ''} start{'' if len(late) > 1 else 's'} at step "
                      f"{min(p.start for p in self.phases if p.name in late)}, after --steps {self.total_steps}: this run will not train "
                      f"{'them' if len(late) > 1 else 'it'}. Pass a larger --steps (now, or later with --resume).", flush=True)
        log = ScalarLog(self.run_dir, self.dist.is_main)
        examples = self.model.snapshot_examples(self.data, self.device) if self.dist.is_main else {}
        previous_handler = None
        try:
            previous_handler = signal.signal(signal.SIGINT, self._on_signal)
        except ValueError:  # not in the main thread
            pass
        step_fn = self._step_function()
        batches = self.data.batches(self.sampler, self.device)
        pending: list[tuple[int, str, dict[str, torch.Tensor]]] = []
        bar = _progress(t.progress and self.dist.is_main, self.total_steps, self.step)
        start_step, t0 = self.step, time.perf_counter()
        stopped_early = False
        try:
            self.model.train()
            while self.step < self.total_steps:
                batch = next(batches)
                if t.channels_last and batch.x.ndim == 4:
                    batch.x = batch.x.contiguous(memory_format=torch.channels_last)
                pending += [(self.step, name, logs) for name, logs in step_fn(batch, self.step)]
                self.step += 1
                last = self.step == self.total_steps
                elapsed = time.perf_counter() - t0
                stop = self.dist.any(self._stop_requested or (t.time_limit is not None and elapsed >= t.time_limit))
                tick = self.step % t.tick == 0 or last or stop  # every rank stops at the same step
                if self.step % t.log_every == 0 or tick:
                    values = self._flush(pending)  # waits for the device: the time below is the work done
                    pending = []
                    elapsed = time.perf_counter() - t0
                    ips = (self.step - start_step) * t.batch_size / max(elapsed, 1e-9)
                    log.scalars(self.step, self.images_seen, {**values, "images_per_second": ips}, elapsed)
                    if bar is not None:
                        bar.update(self.step - bar.n)
                        bar.set_postfix_str(f"{ips:,.0f} img/s " + " ".join(f"{k}={v:.3g}" for k, v in list(values.items())[:4]))
                if tick:
                    self._tick(log, examples, last or stop)
                if stop:
                    stopped_early = True
                    break
        finally:
            if bar is not None:
                bar.close()
            self.writer.wait(raise_error=sys.exc_info()[0] is None)  # the last checkpoint is on disk before we return
            log.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        seconds = time.perf_counter() - t0
        images = (self.step - start_step) * t.batch_size
        if self.dist.is_main and self.graphed is not None and self.graphed.failed:
            print(f"gane: note: --cuda-graph could not capture a {self.cfg.family} step ({step_fn.failed}); "
                  "it trained without the graph.", flush=True)
        if stopped_early and self.dist.is_main:
            why = "time limit reached" if not self._stop_requested else "interrupted"
            print(f"gane: {why} at step {self.step}; checkpoint saved. Continue with --resume --steps {self.total_steps}.", flush=True)
        self.dist.barrier()
        return TrainResult(self.run_dir, self.step, self.images_seen, seconds, images / max(seconds, 1e-9), stopped_early)

    def _flush(self, pending) -> dict[str, float]:
        """Move the pending losses to the host once, check they are finite, average them for the log."""
        if not pending:
            return {}
        keys = [(s, ph, k) for s, ph, d in pending for k in d]
        values = torch.stack([v.float() for _, _, d in pending for v in d.values()]).cpu().tolist()
        sums: dict[str, list[float]] = {}
        for (s, ph, k), v in zip(keys, values):
            if not math.isfinite(v):
                raise TrainingDiverged(
                    f"Training diverged: the {ph} phase's {k} became {v} at step {s + 1}; {self._kept()} "
                    "Try a lower --lr, a different --loss, or --spectral-norm, then train again (or --resume from the checkpoint)."
                )
            sums.setdefault(f"{ph}/{k}", []).append(v)
        return {k: sum(v) / len(v) for k, v in sums.items()}


def _check_speed_options(t, device: torch.device, dist: Distributed) -> None:
    """GPU-only options get a clear refusal elsewhere; the rest run on every device."""
    if t.cuda_graph and device.type != "cuda":
        raise GaneError(f"--cuda-graph replays a step captured on a CUDA GPU, and this run is on {device}. "
                        "Drop --cuda-graph (or train with --device cuda on a machine with a GPU).")
    if t.cuda_graph and dist.world > 1:
        raise GaneError("--cuda-graph does not combine with data parallel training yet; drop one of them.")
    if t.precision == "bf16" and device.type == "mps":
        raise GaneError("--precision bf16 is for CUDA GPUs and the CPU; on mps use the default fp32.")


@contextlib.contextmanager
def _kernels(deterministic: bool):
    """With ``deterministic``: kernels that give the same bits on every run (cuDNN's deterministic
    algorithms, no TF32, PyTorch's deterministic implementations where they exist), restored after."""
    if not deterministic:
        yield
        return
    saved = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = saved[:4]
        torch.use_deterministic_algorithms(saved[4], warn_only=saved[5])


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
