"""One training step: the due phases of a family, each zero_grad / loss / backward / step, then the
moving average. The trainer runs it eagerly or replays it as a CUDA graph (``--cuda-graph``).

Only the phase's own networks require gradients while it runs, so a phase's backward pass computes
no weight gradients for the networks it does not train (they still pass gradients through).
"""
from __future__ import annotations

import contextlib
import copy
from typing import Callable

import torch

from ..data import Batch
from ..errors import GaneError
from ..families import Family, Phase


def phase_parameters(model: torch.nn.Module, phase: Phase) -> list[torch.nn.Parameter]:
    """The parameters a phase updates: those of the modules it names."""
    return [p for name in phase.modules for p in getattr(model, name).parameters()]


def check_shared_optimizers(phases: list[Phase], model: torch.nn.Module) -> None:
    """A phase that steps another phase's optimizer (``Phase.optimizer``) must name a phase with an
    optimizer of its own that trains the same networks: a family's mistake, caught before training."""
    owners = {p.name: p for p in phases if p.optimizer is None}
    for p in phases:
        if p.optimizer is None:
            continue
        owner = owners.get(p.optimizer)
        if owner is None or set(phase_parameters(model, p)) - set(phase_parameters(model, owner)):
            raise ValueError(f"phase {p.name!r} shares the optimizer of {p.optimizer!r}, which is not a phase with its own "
                             "optimizer over the same networks")


def train_only(model: torch.nn.Module, phase: Phase) -> None:
    """Let gradients reach only the phase's own networks."""
    model.requires_grad_(False)
    for name in phase.modules:
        getattr(model, name).requires_grad_(True)


class PhaseSwitch:
    """``train_only`` from flat parameter lists made once: a step sets each flag directly instead of
    walking every module in every phase."""

    def __init__(self, model: torch.nn.Module, phases: list[Phase]):
        self.params = list(model.parameters())
        trained = {p.name: {id(q) for q in phase_parameters(model, p)} for p in phases}
        self.flags = {name: [id(q) in ids for q in self.params] for name, ids in trained.items()}

    def __call__(self, phase: Phase) -> None:
        for p, flag in zip(self.params, self.flags[phase.name]):
            p.requires_grad_(flag)


def make_optimizer(params, lr: float, betas: tuple[float, float], fused: bool, capturable: bool = False) -> torch.optim.Adam:
    """Adam; ``fused`` takes the single-kernel implementation (CUDA and CPU), ``capturable`` keeps its
    step counter on the device so that a CUDA graph can replay the update."""
    kwargs: dict = {"fused": True} if fused else {"foreach": True}  # on the CPU torch would loop over tensors
    if capturable:
        kwargs["capturable"] = True
    return torch.optim.Adam(params, lr=lr, betas=betas, **kwargs)


class EMA:
    """Exponential moving average of a module's parameters (buffers are copied), updated with one
    fused operation over all tensors."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self._pairs(module)

    def _pairs(self, module: torch.nn.Module) -> None:
        self._source = module
        self._params = (list(self.module.parameters()), [p.detach() for p in module.parameters()])
        self._buffers = (list(self.module.buffers()), list(module.buffers()))

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        if module is not self._source:
            self._pairs(module)
        averaged, current = self._params
        if averaged:
            torch._foreach_lerp_(averaged, current, 1 - self.decay)
        if self._buffers[0]:
            torch._foreach_copy_(self._buffers[0], self._buffers[1])


class StepRunner:
    """Runs the phases due at a step; returns ``[(phase name, {"loss": ..., **logs})]`` as device tensors.

    ``precision="bf16"`` runs each phase's forward pass under autocast (matrix work in bfloat16,
    weights, gradients and optimizer state stay float32).
    """

    def __init__(self, model: Family, phases: list[Phase], optimizers: dict[str, torch.optim.Optimizer],
                 device: torch.device, precision: str = "fp32",
                 average_gradients: Callable[[torch.optim.Optimizer], None] | None = None):
        self.model, self.phases, self.optimizers = model, phases, optimizers
        self.device_type = device.type
        self.bf16 = precision == "bf16"
        self.average_gradients = average_gradients
        self.switch = PhaseSwitch(model, phases)
        self.autocast_cache = True  # off while a CUDA graph is captured: casts must happen inside the graph

    def _autocast(self):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=torch.bfloat16, cache_enabled=self.autocast_cache)

    def __call__(self, batch: Batch, step: int) -> list[tuple[str, dict[str, torch.Tensor]]]:
        out = []
        for phase in self.phases:
            if not phase.due(step):
                continue
            self.switch(phase)
            opt = self.optimizers[phase.optimizer_name]
            with self._autocast():
                loss, logs = phase.loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.average_gradients is not None:
                self.average_gradients(opt)
            opt.step()
            out.append((phase.name, {"loss": loss.detach(), **logs}))
        return out


class GraphedStep:
    """A training step captured once as a CUDA graph and replayed: one launch per step instead of
    hundreds, which is what bounds small networks on a GPU.

    The first ``warmup`` steps run eagerly on a side stream (as CUDA graphs require), then one step
    is captured and replayed for every later step; each batch is copied into the captured input
    tensors first. Every phase must run at every step (``Phase.every == 1``, no window), and the losses must
    not read values back to the host. When capture fails, ``failed`` says why and the caller runs
    the step eagerly.
    """

    def __init__(self, runner: StepRunner, ema: EMA | None, averaged: torch.nn.Module, warmup: int = 3):
        bad = [p.name for p in runner.phases if p.every != 1 or p.start or p.stop is not None]
        if bad:
            raise GaneError(f"--cuda-graph replays one captured step, so every phase must run at every step; "
                            f"phase(s) {', '.join(bad)} run less often or in a window of steps. Train without --cuda-graph.")
        self.runner, self.ema, self.averaged, self.warmup = runner, ema, averaged, warmup
        runner.autocast_cache = False
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failed: str | None = None
        self._stream = torch.cuda.Stream()
        self._eager_steps = 0

    def _eager(self, batch: Batch, step: int):
        out = self.runner(batch, step)
        if self.ema is not None:
            self.ema.update(self.averaged)
        return out

    def __call__(self, batch: Batch, step: int):
        if self.failed is not None:
            return self._eager(batch, step)
        if self.graph is None and self._eager_steps < self.warmup:
            self._stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self._stream):
                out = self._eager(batch, step)
            torch.cuda.current_stream().wait_stream(self._stream)
            self._eager_steps += 1
            return out
        if self.graph is None:
            self._capture(batch, step)
            if self.failed is not None:
                return self._eager(batch, step)
        self._x.copy_(batch.x, non_blocking=True)
        if self._y is not None:
            self._y.copy_(batch.y, non_blocking=True)
        self.graph.replay()
        values = self._values.clone()  # the graph overwrites its outputs at the next replay
        return [(name, dict(zip(keys, values[start:start + len(keys)]))) for name, keys, start in self._layout]

    def _capture(self, batch: Batch, step: int) -> None:
        self._x = batch.x.clone()
        self._y = batch.y.clone() if batch.y is not None else None
        static = Batch(self._x, self._y)
        for opt in self.runner.optimizers.values():
            opt.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                out = self._eager(static, step)
                flat, layout = [], []
                for name, logs in out:
                    layout.append((name, list(logs), len(flat)))
                    flat += [v.float().reshape(()) for v in logs.values()]
                self._values = torch.stack(flat)
        except Exception as e:  # capture refuses host reads and some kernels: run eagerly instead
            self.failed = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            torch.cuda.synchronize()
            return
        self._layout = layout
        self.graph = graph
