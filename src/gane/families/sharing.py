"""Work that phases of one training step share.

The trainer runs a family's phases one after another on the same :class:`~gane.data.Batch`,
and before each it lets only that phase's modules require gradients. Where a later phase
needs a forward pass that an earlier phase also runs, with parameters no phase in between
changes (G(z) in D's phase and in G's phase of a GAN), the earlier phase computes it once
with an autograd graph through those modules and leaves it on the batch for the later one:
the later phase's loss, and its gradients, are then exactly those of running the forward
pass again on the same inputs, without running it again.

The earlier phase must use such a result detached in its own loss: its gradients would
otherwise land in the other modules. Each result is addressed to the phase that uses it
last, which takes it off the batch, and every step has a new batch, so nothing shared
outlives its step (a resumed run recomputes nothing it would not have recomputed).
"""
from __future__ import annotations

import contextlib
from typing import Any

from torch import nn

from ..data import Batch


@contextlib.contextmanager
def recording(*modules: nn.Module):
    """Let autograd record through these modules' parameters while the current phase does not
    train them, so that a later phase of the same step that does can backpropagate through what
    is computed here. Each parameter's requires_grad is put back as it was."""
    saved = [(p, p.requires_grad) for m in modules for p in m.parameters()]
    for p, _ in saved:
        p.requires_grad_(True)
    try:
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def leave(batch: Batch, phase: str, **tensors: Any) -> None:
    """Leave ``tensors`` on the batch for the phase named ``phase`` of this step."""
    batch.shared[phase] = tensors


def take(batch: Batch, phase: str) -> dict[str, Any] | None:
    """What an earlier phase of this step left for ``phase`` (removed from the batch), or None
    when it left nothing (the phase runs alone, e.g. in a test, or the earlier phase was skipped)."""
    return batch.shared.pop(phase, None)
