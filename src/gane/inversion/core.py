"""Inversion of data into a frozen generator: one signature for every method.

``invert(model, x, method, ...)`` finds, for each target x, what the generator G of a trained model
(``gane.load(run, frozen=True)``) must be given to draw it back, and returns an :class:`Inversion`.
Methods are registered functions (``@register_inverter``), all taking the same arguments, so the
command line, the benchmark and the restoration code call them the same way:

- ``encoder``: one pass, z = E(x) (the family's own encoder);
- ``optimize``: gradient descent on z from the nearest of a few prior draws (Zhu et al. 2016; Creswell & Bharath 2018);
- ``hybrid``: the same descent started from E(x) (the lecture's "naive way to speed up");
- ``multicode``: N codes run to layer l of G, their activations mixed with learnt per-channel
  importance weights, then the rest of G (mGANprior, Gu et al. 2020).

The objective of the optimising methods, per target: pixel distance (MSE or L1) + feature_weight *
feature distance (the domain classifier's penultimate features, or D's) + prior_weight * the mean
square of the code's Gaussian parts (its negative log-prior up to a constant). Every image of a batch
is optimised at once; the losses are summed over images, so each image's code follows only its own
gradient and a batch gives what one image at a time would, much faster.

Code parts: Gaussian parts are free; uniform parts (InfoGAN) pass through tanh so they stay in
[-1, 1]; a one-hot part (a class, InfoGAN's categories) is relaxed to a softmax over learnt logits
(``categorical="relax"``), or kept as the starting code gives it (``"fixed"``: from E(x), or from
``classes`` when given).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..errors import GaneError
from ..registry import Registry

PIXEL_LOSSES = ("mse", "l1")
FEATURES = ("none", "domain", "discriminator")
CATEGORICAL = ("relax", "fixed")
OPTIMIZERS = {"adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
              "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
              "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)}


@dataclass
class InversionOptions:
    """The options every method takes (those a method does not use are ignored by it)."""

    steps: int = 300  # optimisation steps (optimize, hybrid, multicode)
    lr: float = 0.05  # the learning rate for the codes (and importance weights)
    optimizer: str = "adam"  # "adam", "rmsprop" or "sgd" (with momentum 0.9)
    pixel: str = "mse"  # "mse" or "l1"
    features: str = "none"  # "none", "domain" (the domain classifier's features) or "discriminator" (D's)
    feature_weight: float = 0.1  # weight of the feature distance, relative to the pixel term
    prior_weight: float = 1e-3  # weight of the mean square of the Gaussian code parts
    categorical: str = "relax"  # one-hot code parts: "relax" (softmax over learnt logits) or "fixed"
    candidates: int = 8  # optimize: prior draws per target, the nearest of which starts the descent
    codes: int = 4  # multicode: number of codes N
    layer: int | None = None  # multicode: the layer l the codes are mixed at (None = G's middle stage)
    batch_size: int = 256  # images optimised together
    seed: int = 0  # the random starting codes (optimize, multicode)
    curve_every: int = 0  # record the mean PSNR every this many steps (0 = at the start and end only)
    progress: bool = False  # a progress bar with images/s

    def check(self) -> None:
        if self.pixel not in PIXEL_LOSSES:
            raise GaneError(f"The pixel loss must be one of {', '.join(PIXEL_LOSSES)}; got {self.pixel!r}.")
        if self.features not in FEATURES:
            raise GaneError(f"The feature distance must be one of {', '.join(FEATURES)}; got {self.features!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise GaneError(f"The optimiser must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}.")
        if self.categorical not in CATEGORICAL:
            raise GaneError(f"One-hot code parts are {' or '.join(CATEGORICAL)}; got {self.categorical!r}.")
        for name, low in (("steps", 0), ("codes", 1), ("candidates", 1), ("batch_size", 1), ("curve_every", 0)):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < low:
                raise GaneError(f"{name.replace('_', '-')} must be a whole number of at least {low}; got {getattr(self, name)!r}.")
        for name in ("lr", "feature_weight", "prior_weight"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (name == "lr" and v == 0):
                raise GaneError(f"{name.replace('_', '-')} must be a {'positive' if name == 'lr' else 'non-negative'} number; got {v!r}.")


@dataclass
class Inversion:
    """What a method found for a batch of targets."""

    method: str
    images: torch.Tensor  # (n, *shape) G's reconstructions of the targets
    codes: torch.Tensor | None  # (n, code_dim) the codes, for the methods that find one code per image
    seconds: float  # wall time of the whole batch
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, mean PSNR in dB) during optimisation
    extra: dict = field(default_factory=dict)  # method-specific results (multicode: its codes and weights)

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / max(1, len(self.images))


#: name -> fn(model, x, options, init, distance) -> Inversion (codes, images; the caller times it)
INVERTERS: Registry[Callable] = Registry("inversion method", listed_by=None)


def register_inverter(name: str):
    return INVERTERS.register(name)


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB (n,) for data in [-1, 1] (a range of 2)."""
    mse = (x_hat.float() - x.float()).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return 10 * torch.log10(4.0 / mse)


class Distance:
    """The per-image reconstruction objective (n,) of a target batch: pixels, features, and (given codes) the prior."""

    def __init__(self, model, options: InversionOptions, feature_net: Callable | None = None, operator: Callable | None = None):
        self.model, self.o = model, options
        self.feature_net = feature_net
        self.operator = operator  # what the targets went through (restoration): G's output is compared after it
        if options.features == "discriminator":
            model.critic()  # a clear error now when there is no discriminator of data
            self.feature_net = model.critic_features
        elif options.features == "domain" and feature_net is None:
            raise GaneError("--features domain needs the domain classifier of the run's data; pass it as feature_net.")

    def target(self, x: torch.Tensor) -> dict:
        """What is computed once per target batch (its features)."""
        if self.o.features == "none" or self.o.feature_weight == 0:
            return {}
        with torch.no_grad():
            f = self.feature_net(x).flatten(1)
        return {"features": f, "norm": f.pow(2).mean(1).clamp_min(1e-8)}

    def observe(self, x_hat: torch.Tensor) -> torch.Tensor:
        """G's output as the targets were observed: through the degradation operator, when there is one."""
        return self.operator(x_hat) if self.operator is not None else x_hat

    def __call__(self, x_hat: torch.Tensor, x: torch.Tensor, target: dict, prior: torch.Tensor | None = None) -> torch.Tensor:
        """``prior`` (n,): each target's prior term (``prior_square``), weighted by ``prior_weight``."""
        x_hat = self.observe(x_hat)
        diff = (x_hat - x).flatten(1)
        loss = diff.pow(2).mean(1) if self.o.pixel == "mse" else diff.abs().mean(1)
        if target:  # features relative to the target's own scale, so one weight suits every feature network
            loss = loss + self.o.feature_weight * (self.feature_net(x_hat).flatten(1) - target["features"]).pow(2).mean(1) / target["norm"]
        if prior is not None and self.o.prior_weight > 0:
            loss = loss + self.o.prior_weight * prior
        return loss  # (n,)


def prior_square(model, code: torch.Tensor) -> torch.Tensor:
    """The mean square of each code's Gaussian parts (n,): its negative log-prior, up to scale and a constant."""
    slices = model.code_slices()
    parts = [code[:, slices[p.name]] for p in model.code_parts() if p.kind == "normal"]
    if not parts:  # a uniform prior (flat inside the range tanh keeps to), or a learnt space (StyleGAN's W) with no density
        return code.new_zeros(len(code))
    return torch.cat(parts, 1).pow(2).mean(1)


class CodeVariable(torch.nn.Module):
    """Free parameters for a batch of codes (see the module docstring for each kind of part)."""

    def __init__(self, model, start: torch.Tensor, categorical: str = "relax"):
        super().__init__()
        self.parts, self.slices = model.code_parts(), model.code_slices()
        self.categorical = categorical
        self.fixed = start.detach().clone()
        self.free = torch.nn.ParameterDict()
        for p in self.parts:
            v = start[:, self.slices[p.name]].detach()
            if p.kind in ("normal", "latent"):
                self.free[p.name] = torch.nn.Parameter(v.clone())
            elif p.kind == "uniform":
                self.free[p.name] = torch.nn.Parameter(torch.atanh(v.clamp(-0.999, 0.999)))
            elif categorical == "relax":  # logits whose softmax starts where the code does
                self.free[p.name] = torch.nn.Parameter(torch.log(v.clamp_min(0) + 1e-2))

    def forward(self) -> torch.Tensor:
        chunks = []
        for p in self.parts:
            if p.name not in self.free:
                chunks.append(self.fixed[:, self.slices[p.name]])
            elif p.kind in ("normal", "latent"):
                chunks.append(self.free[p.name])
            elif p.kind == "uniform":
                chunks.append(torch.tanh(self.free[p.name]))
            else:
                chunks.append(F.softmax(self.free[p.name], 1))
        return torch.cat(chunks, 1)


def random_draws(model, n: int, per_target: int, seed: int, device, first: int = 0) -> torch.Tensor:
    """``per_target`` prior draws for each of ``n`` targets, (per_target, n, code_dim): target i's draws
    come from a generator seeded by ``seed`` and its index ``first + i`` alone, so they are the same
    whatever batch the target is inverted in."""
    draws = [model.prior(per_target, torch.Generator().manual_seed(seed * 1_000_003 + first + i)) for i in range(n)]
    return torch.stack(draws, 1).to(device)


def start_codes(model, x: torch.Tensor, draws: torch.Tensor, categorical: str = "relax",
                classes: torch.Tensor | None = None, observe: Callable | None = None) -> torch.Tensor:
    """For each target, the prior draw (of its ``draws``, (candidates, n, code_dim)) whose image is
    nearest it in pixels. A random start, not the prior's centre: at z = 0 a generator whose first
    layer has no bias (batch norm follows it) has every ReLU at its kink, where gradients vanish.
    One-hot parts start even (1/K each) when relaxed, and as drawn when fixed; ``classes`` set a fixed
    "class" part. ``observe`` maps G's output to what the targets are (a degradation). (n, code_dim)."""
    candidates, n = draws.shape[:2]
    draws = _with_parts(model, draws.flatten(0, 1).clone(), categorical, classes, candidates).view(candidates, n, -1)
    if candidates == 1:
        return draws[0]
    with torch.no_grad():
        seen = observe or (lambda images: images)
        errors = torch.stack([(seen(model.decode(d)) - x).flatten(1).pow(2).mean(1) for d in draws])  # (candidates, n)
    return draws[errors.argmin(0), torch.arange(n, device=x.device)]


def _with_parts(model, codes: torch.Tensor, categorical: str, classes: torch.Tensor | None, repeats: int) -> torch.Tensor:
    """Codes (repeats * n, d) with relaxed one-hot parts set even, or the fixed class part set to ``classes``."""
    slices = model.code_slices()
    for p in model.code_parts():
        if p.kind == "categorical" and categorical == "relax":
            codes[:, slices[p.name]] = 1.0 / p.size
    if classes is not None and categorical == "fixed" and "class" in slices:
        codes = model.set_code_part(codes, "class", classes.to(codes.device).repeat(repeats))
    return codes


def learning_rate_scale(step: int, steps: int, warm: float = 0.05, cool: float = 0.25) -> float:
    """StyleGAN2's projector schedule (Karras et al. 2020): a linear ramp up over the first 5% of the
    steps and a cosine ramp down over the last 25%, so the codes settle instead of circling the optimum."""
    t = step / max(1, steps)
    up = min(1.0, (step + 1) / max(1.0, warm * steps))  # from the first step on, so that a short run still moves
    down = 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1.0 - t) / cool))
    return max(up * down, 1e-3)


def descend(model, x: torch.Tensor, params: list, render: Callable[[], tuple[torch.Tensor, torch.Tensor | None]],
            distance: Distance, o: InversionOptions, bar=None, watch: Callable | None = None) -> list[tuple[int, float]]:
    """``o.optimizer`` on ``params`` for ``o.steps`` steps; ``render()`` -> (images, each target's prior
    term (n,)). ``watch(step, steps, images)`` sees G's images before every step and after the last
    (an interactive caller shows them; it may raise to stop the descent). Returns the PSNR curve."""
    target = distance.target(x)
    opt = OPTIMIZERS[o.optimizer](params, o.lr)
    curve = []
    every = o.curve_every

    def record(step, images):  # PSNR against the targets as observed
        curve.append((step, float(psnr(distance.observe(images.detach()), x).mean())))

    for step in range(o.steps):
        for group in opt.param_groups:
            group["lr"] = o.lr * learning_rate_scale(step, o.steps)
        images, prior = render()
        if watch is not None:
            watch(step, o.steps, images.detach())
        if step == 0 or (every and step % every == 0):
            record(step, images)
        loss = distance(images, x, target, prior).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if bar is not None:
            bar.update(len(x))
    with torch.no_grad():
        final = render()[0]
        record(o.steps, final)
    if watch is not None:
        watch(o.steps, o.steps, final)
    return curve


def invert(model, x: torch.Tensor, method: str = "optimize", options: InversionOptions | None = None, *,
           classes: torch.Tensor | None = None, feature_net: Callable | None = None, encoder: Callable | None = None,
           init: torch.Tensor | None = None, operator: Callable | None = None, lifted: torch.Tensor | None = None,
           first: int = 0, watch: Callable | None = None) -> Inversion:
    """Invert targets ``x`` (n, *shape), data in [-1, 1] of the model's shape, into ``model``'s generator.

    ``model``: a family loaded with ``gane.load(run, frozen=True)``. ``method``: a name in INVERTERS.
    ``classes`` (n,): the class of each target, for class-conditional models with ``categorical="fixed"``.
    ``feature_net``: x -> features, for ``options.features == "domain"``. ``encoder``: x -> codes, instead
    of the family's own E (a fitted encoder). ``init``: starting codes for optimize (n, code_dim).
    ``operator``: a degradation the targets went through (restoration): G's output is compared with
    them after it, and ``lifted`` (n, *model shape), a naive restoration, is what E encodes.
    ``first``: the index of ``x[0]`` in a larger set, which seeds the random starts of each target
    (so one image at a time, with its index, gives what a batch gives). ``watch(step, steps, images)``:
    called with each batch's images during the descent of the optimising methods (a live view).
    Batches of ``options.batch_size`` targets are inverted at once."""
    o = options or InversionOptions()
    o.check()
    fn = INVERTERS.get(method)
    shape = tuple(model.info.shape)
    if len(x) == 0:
        raise GaneError("There are no targets to invert (an empty batch).")
    if operator is None and tuple(x.shape[1:]) != shape:
        raise GaneError(f"The targets have shape {tuple(x.shape[1:])}, but the model draws {shape}.")
    if operator is not None:
        with torch.no_grad():
            seen = tuple(operator(torch.zeros(1, *shape, device=model.device)).shape[1:])
        if seen != tuple(x.shape[1:]):
            raise GaneError(f"The degraded targets have shape {tuple(x.shape[1:])}, but the operator makes {seen} of the model's {shape}.")
        if seen != shape and o.features != "none":
            raise GaneError("A feature distance needs targets of the model's shape; this degradation changes it: use --features none.")
        if lifted is None and seen != shape and method in ("encoder", "hybrid"):
            raise GaneError("The encoder needs images of the model's shape: pass lifted= (a naive restoration) with the operator.")
    if model.training or any(p.requires_grad for p in model.parameters()):
        raise GaneError("Invert through a frozen model: gane.load(run, frozen=True) (eval mode, no gradients for its weights).")
    distance = Distance(model, o, feature_net, operator)
    encode = encoder  # None: the family's own E
    device = model.device
    bar = None
    if o.progress and (o.steps and method != "encoder"):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(x) * o.steps, unit="img-step", unit_scale=True, desc=f"{method} ({len(x)} images x {o.steps} steps)", dynamic_ncols=True, leave=False)
    images, codes, curves, extras = [], [], [], []
    start = time.perf_counter()
    draws = random_draws(model, len(x), max(o.candidates, o.codes), o.seed, device, first) if method in ("optimize", "multicode") else None
    try:
        for i in range(0, len(x), o.batch_size):
            xb = x[i : i + o.batch_size].to(device)
            cb = classes[i : i + o.batch_size] if classes is not None else None
            ib = init[i : i + o.batch_size].to(device) if init is not None else None
            lb = lifted[i : i + o.batch_size].to(device) if lifted is not None else xb
            db = draws[:, i : i + o.batch_size] if draws is not None else None
            out = fn(model, xb, o, distance=distance, encode=encode, classes=cb, init=ib, bar=bar, lifted=lb, draws=db, watch=watch)
            images.append(out.images.detach())
            codes.append(out.codes.detach() if out.codes is not None else None)
            curves.append((len(xb), out.curve))
            extras.append(out.extra)
    finally:
        if bar is not None:
            bar.close()
    if device.type == "cuda":  # the GPU's queued work is part of the time
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    curve = _merge_curves(curves)
    extra = {k: torch.cat([e[k] for e in extras]) for k in extras[0]} if extras and extras[0] else {}
    return Inversion(method, torch.cat(images), torch.cat(codes) if codes[0] is not None else None, seconds, curve, extra)


def _merge_curves(curves: list[tuple[int, list[tuple[int, float]]]]) -> list[tuple[int, float]]:
    """Per-batch PSNR curves -> one, weighted by batch size."""
    if not curves or not curves[0][1]:
        return []
    total = sum(n for n, _ in curves)
    steps = [s for s, _ in curves[0][1]]
    return [(s, sum(n * c[j][1] for n, c in curves) / total) for j, s in enumerate(steps)]
