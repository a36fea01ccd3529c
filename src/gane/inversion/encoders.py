"""Encoders fitted to a frozen generator (``gane fit-encoder``), saved into the run as RUN/encoders/NAME.

The lecture's three ways to learn E for a G that is already trained, each a registered method:

- ``z-regression``: E(G(z)) = z on codes drawn from the prior; E never sees a real image.
- ``x-reconstruction``: G(E(x)) = x on the run's real training images: pixel distance plus a
  feature distance (the domain classifier's features, or D's).
- ``domain-guided``: in-domain GAN inversion (Zhu et al. 2020): x-reconstruction, plus D's realism
  score of G(E(x)) (so reconstructions stay where G draws real-looking data) and code consistency,
  E(G(z)) = z on prior codes (so E's codes stay in the domain G was trained on). D stays frozen.

E outputs each code part the way G reads it: Gaussian parts as they are, uniform parts through tanh,
one-hot parts as a softmax (a one-hot of the most likely category when encoding for G). Training
draws its batches and codes from a seed and the step, and writes RUN/encoders/NAME.partial every
``checkpoint_every`` steps, so an interrupted fit resumes where it stopped; the finished encoder
replaces RUN/encoders/NAME only when it is complete.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import nets
from ..errors import GaneError
from ..registry import Registry

VERSION = 1
FIT_METHODS: Registry = Registry("encoder-fitting method", listed_by=None)


@dataclass
class FitOptions:
    steps: int = 2000
    lr: float = 1e-3
    batch_size: int = 64
    width: float | None = None  # E's width multiplier; None = the run's own
    features: str = "domain"  # feature distance of x-reconstruction and domain-guided: "domain", "discriminator" or "none"
    feature_weight: float = 0.1
    realism_weight: float = 0.01  # domain-guided: weight of -D(G(E(x)))
    code_weight: float = 1.0  # domain-guided: weight of ||E(G(z)) - z||^2
    seed: int = 0
    checkpoint_every: int = 500
    progress: bool = False

    def check(self, method: str) -> None:
        for name, low in (("steps", 1), ("batch_size", 2), ("checkpoint_every", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or v < low:
                raise GaneError(f"{name.replace('_', '-')} must be a whole number of at least {low}; got {v!r}.")
        for name in ("lr", "feature_weight", "realism_weight", "code_weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (name == "lr" and v == 0):
                raise GaneError(f"{name.replace('_', '-')} must be a {'positive' if name == 'lr' else 'non-negative'} number; got {v!r}.")
        if self.width is not None and not self.width > 0:
            raise GaneError(f"width must be positive; got {self.width!r}.")
        if self.features not in ("domain", "discriminator", "none"):
            raise GaneError(f"features must be domain, discriminator or none; got {self.features!r}.")


class FittedEncoder(nn.Module):
    """data -> the code G reads, (n, code_dim), part by part (see the module docstring)."""

    def __init__(self, info, parts: list, width: float):
        super().__init__()
        self.parts = [(p.name, p.size, p.kind) for p in parts]
        self.net = nets.encoder(info, sum(size for _, size, _ in self.parts), width)

    def raw(self, x: torch.Tensor) -> list[tuple[str, str, torch.Tensor]]:
        """(name, kind, E's output for that part): logits for one-hot parts, pre-tanh for uniform ones."""
        out, start = [], 0
        h = self.net(x)
        for name, size, kind in self.parts:
            out.append((name, kind, h[:, start : start + size]))
            start += size
        return out

    def forward(self, x: torch.Tensor, hard: bool = True) -> torch.Tensor:
        chunks = []
        for _, kind, v in self.raw(x):
            if kind == "uniform":
                chunks.append(torch.tanh(v))
            elif kind == "categorical":
                chunks.append(F.one_hot(v.argmax(1), v.shape[1]).to(v.dtype) if hard else F.softmax(v, 1))
            else:
                chunks.append(v)
        return torch.cat(chunks, 1)

    def code_loss(self, x: torch.Tensor, code: torch.Tensor, slices: dict) -> torch.Tensor:
        """How far E(x) is from ``code``: squared error on Gaussian and uniform parts, cross-entropy on one-hot parts."""
        total = x.new_zeros(())
        for name, kind, v in self.raw(x):
            target = code[:, slices[name]]
            if kind == "categorical":
                total = total + F.cross_entropy(v, target.argmax(1))
            else:
                total = total + ((torch.tanh(v) if kind == "uniform" else v) - target).pow(2).sum(1).mean()
        return total / max(1, code.shape[1])


@dataclass
class FitContext:
    """What a method's loss reads at each step."""

    model: object  # the frozen family
    E: FittedEncoder
    data: object | None  # the run's train split (x-reconstruction, domain-guided)
    feature_net: object | None
    o: FitOptions


def _prior_batch(ctx: FitContext, g: torch.Generator) -> torch.Tensor:
    return ctx.model.prior(ctx.o.batch_size, g, device=ctx.model.device)


def _real_batch(ctx: FitContext, g: torch.Generator) -> torch.Tensor:
    idx = torch.randint(0, len(ctx.data), (ctx.o.batch_size,), generator=g)
    return ctx.data.select(idx.tolist(), ctx.model.device).x


def _reconstruction(ctx: FitContext, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
    code = ctx.E(x, hard=False)
    x_hat = ctx.model.decode(code)
    pixel = (x_hat - x).pow(2).flatten(1).mean(1).mean()
    logs = {"pixel": pixel.detach()}
    loss = pixel
    if ctx.feature_net is not None and ctx.o.feature_weight > 0:
        with torch.no_grad():
            f = ctx.feature_net(x).flatten(1)
        feat = ((ctx.feature_net(x_hat).flatten(1) - f).pow(2).mean(1) / f.pow(2).mean(1).clamp_min(1e-8)).mean()
        loss = loss + ctx.o.feature_weight * feat
        logs["features"] = feat.detach()
    return loss, {**logs, "_x_hat": x_hat}


@FIT_METHODS.register("z-regression")
def _z_regression(ctx: FitContext, g: torch.Generator) -> tuple[torch.Tensor, dict]:
    z = _prior_batch(ctx, g)
    with torch.no_grad():
        x = ctx.model.decode(z)
    loss = ctx.E.code_loss(x, z, ctx.model.code_slices())
    return loss, {"code": loss.detach()}


@FIT_METHODS.register("x-reconstruction")
def _x_reconstruction(ctx: FitContext, g: torch.Generator) -> tuple[torch.Tensor, dict]:
    return _reconstruction(ctx, _real_batch(ctx, g))


@FIT_METHODS.register("domain-guided")
def _domain_guided(ctx: FitContext, g: torch.Generator) -> tuple[torch.Tensor, dict]:
    loss, logs = _reconstruction(ctx, _real_batch(ctx, g))
    x_hat = logs["_x_hat"]
    if ctx.o.realism_weight > 0:
        realism = F.softplus(-ctx.model.critic_realism(x_hat)).mean()  # the non-saturating "make D say real"
        loss = loss + ctx.o.realism_weight * realism
        logs["realism"] = realism.detach()
    if ctx.o.code_weight > 0:
        z = _prior_batch(ctx, g)
        with torch.no_grad():
            x_fake = ctx.model.decode(z)
        code = ctx.E.code_loss(x_fake, z, ctx.model.code_slices())
        loss = loss + ctx.o.code_weight * code
        logs["code"] = code.detach()
    return loss, logs


NEEDS_DATA = ("x-reconstruction", "domain-guided")


def encoder_dir(run_dir: Path, name: str) -> Path:
    return Path(run_dir) / "encoders" / name


def _check_name(name: str) -> None:
    if not name or any(not (ch.isalnum() or ch in "-_.") for ch in name) or name.startswith(".") or name.endswith((".partial", ".tmp")):
        raise GaneError(f"An encoder name is letters, digits, '-', '_' and '.', not starting with '.'; got {name!r}.")
    if name == "own":
        raise GaneError("'own' names a family's own encoder wherever encoders are picked; give the fitted one another name, not 'own'.")


def fit_encoder(run, method: str, name: str | None = None, options: FitOptions | None = None, log=None, ema: bool = True,
                watch: Callable | None = None, overwrite: bool = True) -> Path:
    """Fit an encoder to ``run``'s frozen generator (``run``: a :class:`gane.Run` loaded frozen, with its
    moving average when ``ema``) with ``method``; save it as RUN/encoders/NAME (NAME defaults to the
    method) and return that folder. ``watch(step, steps, images)`` is called after every step with the
    step's reconstructions G(E(x)) (None for a method without them); an exception it raises stops the
    fit, which resumes from its last ``checkpoint_every`` step when run again with the same settings.
    ``overwrite=False`` refuses to replace an encoder NAME or an unfinished fit of NAME with other
    settings, at the start and again before the finished encoder is swapped in."""
    o = options or FitOptions()
    o.check(method)
    step_fn = FIT_METHODS.get(method)
    name = name or method
    _check_name(name)
    model = run.model
    from ..api import _run_dir

    run_dir = _run_dir(run)
    width = o.width if o.width is not None else float(run.config["model"].get("width", 1.0))
    data = run.data(split="train") if method in NEEDS_DATA else None
    feature_net = None
    if method in NEEDS_DATA and o.features != "none" and o.feature_weight > 0:
        if o.features == "discriminator":
            model.critic()
            feature_net = model.critic_features
        else:
            from .report import run_classifier

            clf = run_classifier(run, log)
            if clf is None:
                raise GaneError("--features domain needs the domain classifier of a labelled image dataset, and this run's "
                                "data has none. Use --features discriminator or --features none.")
            feature_net = clf.net.embed
    if method == "domain-guided" and o.realism_weight > 0:
        model.critic_realism(run.data(split="train").take(2, model.device).x)  # a clear error before training when D cannot score x alone
    with torch.random.fork_rng(devices=[]):  # E's starting weights depend on the seed alone
        torch.manual_seed(o.seed)
        E = FittedEncoder(model.info, model.code_parts(), width).to(model.device)
    opt = torch.optim.Adam(E.parameters(), lr=o.lr, betas=(0.5, 0.999))
    config = {"version": VERSION, "method": method, "name": name, "options": {k: v for k, v in asdict(o).items() if k != "progress"},
              "width": width, "parts": E.parts, "generator": run.checkpoint.name, "ema": ema, "data_info": model.info.to_dict()}
    partial, folder = encoder_dir(run_dir, name + ".partial"), encoder_dir(run_dir, name)
    if not overwrite:
        _refuse_to_replace(folder)
    start = _resume(partial, config, E, opt, log, overwrite)
    ctx = FitContext(model, E, data, feature_net, o)
    bar = None
    if o.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=o.steps, initial=start, unit="step", desc=f"fit-encoder {method}", dynamic_ncols=True)
    logs: dict = {}
    t0 = time.perf_counter()
    E.train()
    try:
        for step in range(start, o.steps):
            g = torch.Generator().manual_seed(o.seed * 1_000_003 + step)  # the batch of a step depends only on the seed and the step
            loss, logs = step_fn(ctx, g)
            x_hat = logs.pop("_x_hat", None)
            if not torch.isfinite(loss):
                raise GaneError(f"The {method} loss became {float(loss)} at step {step}; try a smaller --lr.")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{float(v):.3g}" for k, v in logs.items()}, refresh=False)
            if (step + 1) % o.checkpoint_every == 0 and step + 1 < o.steps:
                _save(partial, config, E, opt, step + 1)
            if watch is not None:
                watch(step + 1, o.steps, None if x_hat is None else x_hat.detach())
    finally:
        if bar is not None:
            bar.close()
    E.eval()
    final = {k: float(v) for k, v in logs.items()}
    _save(partial, {**config, "final": final, "seconds": time.perf_counter() - t0}, E, None, o.steps)
    if not overwrite:
        _refuse_to_replace(folder)  # one fitted under the same name meanwhile (another gane) is kept
    try:
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    except OSError as e:
        raise GaneError(f"The fitted encoder could not be moved into {folder}: {e.strerror or e}. Fix the permissions; the "
                        f"finished fit is in {partial}.") from e
    return folder


def _refuse_to_replace(folder: Path) -> None:
    if folder.exists():
        raise GaneError(f"This run already has an encoder {folder.name!r} ({folder}); pick another name.")


def _save(folder: Path, config: dict, E: FittedEncoder, opt, step: int) -> None:
    """Write the encoder (and the optimiser, mid-fit) into a fresh folder beside ``folder``, then swap it
    in; a file system that refuses it is a clear error, and the folder as it was is kept."""
    tmp = folder.with_name(folder.name + ".tmp")
    try:
        _write_state(folder, tmp, config, E, opt, step)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GaneError(f"The encoder could not be saved in {folder.parent}: {e.strerror or e}. Free space or fix the permissions, "
                        "then fit again: it resumes from its last checkpoint.") from e


def _write_state(folder: Path, tmp: Path, config: dict, E: FittedEncoder, opt, step: int) -> None:
    from safetensors.torch import save_file

    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().cpu().contiguous().clone() for k, v in E.state_dict().items()}, str(tmp / "encoder.safetensors"),
              metadata={"family": "encoder"})
    state = {"step": step}
    if opt is not None:
        from ..train.checkpoint import _optimizer_to_flat

        tensors, meta = _optimizer_to_flat(opt, "E")
        save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, str(tmp / "optim.safetensors"))
        state["optimizer"] = meta
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    (tmp / "state.json").write_text(json.dumps(state))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)


def _resume(partial: Path, config: dict, E: FittedEncoder, opt, log, overwrite: bool = True) -> int:
    """The step an interrupted fit with the same settings stopped at (its state restored), else 0;
    without ``overwrite``, an unfinished fit with other settings is an error rather than replaced."""
    if not (partial / "state.json").exists():
        return 0
    try:
        old = json.loads((partial / "config.json").read_text())
        state = json.loads((partial / "state.json").read_text())
    except (OSError, ValueError):
        return 0
    if {k: v for k, v in old.items() if k not in ("final", "seconds")} != json.loads(json.dumps(config)) or "optimizer" not in state:
        if not overwrite:
            raise GaneError(f"An unfinished fit of {partial.name[:-len('.partial')]!r} with other settings is in {partial}; pick "
                            "another name, or fit it again with its own settings to finish it.")
        if log:
            log(f"{partial} was fitted with other settings: starting afresh")
        return 0
    from ..train.checkpoint import _optimizer_from_flat, load_module_state, read_tensors

    load_module_state(E, partial / "encoder.safetensors", "encoder", "encoder weights")
    tensors, _ = read_tensors(partial / "optim.safetensors", "optimizer state")
    _optimizer_from_flat(opt, "E", tensors, state["optimizer"])
    if log:
        log(f"resuming the fit from step {state['step']} ({partial})")
    return int(state["step"])


def no_encoder_message(family: str, asked: str, run_dir: Path | None = None, flag: str = "--method") -> str:
    """What to do when ``asked`` (e.g. "--method hybrid") needs an encoder and the family has none: the
    fitted encoders of the run when there are some, else how to fit one."""
    have = fitted_encoders(run_dir) if run_dir is not None else []
    run = run_dir if run_dir is not None else "RUN"
    how = (f"pass --encoder NAME (this run has: {', '.join(have)})" if have
           else f"fit one first (gane fit-encoder {run} --method x-reconstruction) and pass --encoder x-reconstruction")
    other = "optimize or multicode" if flag == "--method" else "optimize"
    return (f"The {family!r} family has no encoder of its own, so {asked} needs one fitted to its generator: {how}; "
            f"or use {flag} {other}.")


def fitted_encoders(run_dir: Path) -> list[str]:
    base = Path(run_dir) / "encoders"
    return sorted(p.name for p in base.iterdir() if (p / "encoder.safetensors").exists() and not p.name.endswith((".partial", ".tmp"))) if base.is_dir() else []


def load_encoder(run_dir: Path, name: str, model, device=None, checkpoint: Path | None = None, ema: bool | None = None) -> FittedEncoder:
    """A fitted encoder of this run, in eval mode with its weights frozen; a clear error naming the ones
    there are, and (given the ``checkpoint`` and ``ema`` the generator was loaded with) when it was
    fitted to another state of the generator. It goes to ``device`` (default: where ``model`` is)."""
    from ..train.checkpoint import load_module_state

    folder = encoder_dir(run_dir, name)
    if not (folder / "encoder.safetensors").exists():
        there = fitted_encoders(run_dir)
        raise GaneError(f"The run {run_dir} has no fitted encoder {name!r}"
                        + (f"; it has {', '.join(there)}." if there else f"; fit one with `gane fit-encoder {run_dir} --method x-reconstruction --name {name}`."))
    try:
        config = json.loads((folder / "config.json").read_text())
        width, parts = config["width"], config["parts"]
    except (OSError, ValueError, KeyError) as e:
        raise GaneError(f"{folder / 'config.json'} is missing or damaged ({e}); fit the encoder again.") from None
    if [tuple(p) for p in parts] != [(p.name, p.size, p.kind) for p in model.code_parts()]:
        raise GaneError(f"The encoder {name!r} was fitted to a generator with other code parts than this run's; fit it again.")
    fitted_to = (Path(str(config.get("generator"))).name, config.get("ema", True))
    now = (Path(checkpoint).name if checkpoint is not None else fitted_to[0], ema if ema is not None else fitted_to[1])
    if fitted_to != now:
        def say(state):
            return f"{state[0]} ({'moving average' if state[1] else 'raw weights'})"

        saved = config.get("options") if isinstance(config.get("options"), dict) else {}
        defaults = asdict(FitOptions())
        flags = "".join(f" --{k.replace('_', '-')} {v}" for k, v in saved.items()
                        if k in defaults and k not in ("progress", "checkpoint_every") and v is not None and v != defaults[k])
        generator = Path(str(config.get("generator", "")))
        old = generator if generator.parent != Path(".") else Path(run_dir) / "checkpoints" / generator
        raise GaneError(f"The encoder {name!r} was fitted to the generator of {say(fitted_to)}, and the generator loaded now is "
                        f"{say(now)}. Fit it again for this one: gane fit-encoder {run_dir} --method {config.get('method')} --name {name}"
                        + flags + (" --no-ema" if not now[1] else "")
                        + (f"; or use the generator it was fitted to, by passing its checkpoint {old} as the run"
                           if config.get("generator") and old.is_dir() and fitted_to[1] == now[1] else "") + ".")
    from ..families.base import CodePart

    E = FittedEncoder(model.info, [CodePart(*p) for p in parts], width)
    load_module_state(E, folder / "encoder.safetensors", "encoder", "encoder weights")
    return E.to(device if device is not None else model.device).eval().requires_grad_(False)
