"""Generators that can be opened at a layer: ``features(code, layer)`` and ``from_features(h, layer)``.

Every generator is a chain of stages, counted the same way for every network: layer 0 is the code
itself, layer l the activation after stage l, and layer ``num_layers`` the output. Stage 1 maps the
code to the first hidden activation (for the convolutional nets, the base-resolution feature map),
and each later stage is one block. So ``from_features(features(code, l), l, code) == G(code)`` for
every l; the multi-code GAN prior (Gu et al. 2020) runs several codes to layer l and the rest of G
from a mixture of their activations.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..errors import GaneError

#: one stage: (activation, condition or None) -> next activation
Stage = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


class StagedGenerator(nn.Module):
    """Base of every generator network: subclasses build their layers and return them as ``stages()``.
    Their own ``forward`` stays the plain end-to-end pass that training runs; the tests check that the
    stages compose to it."""

    def stages(self) -> list[Stage]:
        raise NotImplementedError

    #: whether the stages read a condition taken from the code (``condition``)
    conditional: bool = False

    def condition(self, code: torch.Tensor) -> torch.Tensor | None:
        """What every stage reads beside the activation (a class one-hot for class-conditional batch
        norm), taken from the code; None for nets whose stages read only the activation."""
        return None

    @property
    def num_layers(self) -> int:
        """Stages from the code to the output: ``features(code, num_layers)`` is the output."""
        return len(self.stages())

    def _check_layer(self, layer: int) -> None:
        if not isinstance(layer, int) or not 0 <= layer <= self.num_layers:
            raise GaneError(f"This generator has layers 0 (the code) to {self.num_layers} (the output); got layer {layer!r}.")

    def features(self, code: torch.Tensor, layer: int) -> torch.Tensor:
        """The activation after stage ``layer`` for ``code`` (B, code_dim)."""
        self._check_layer(layer)
        cond, h = self.condition(code), code
        for stage in self.stages()[:layer]:
            h = stage(h, cond)
        return h

    def from_features(self, h: torch.Tensor, layer: int, code: torch.Tensor | None = None) -> torch.Tensor:
        """The rest of the generator from the activation ``h`` after stage ``layer``. A net with a
        condition (``condition(code)`` not None) needs the ``code`` it reads the condition from."""
        self._check_layer(layer)
        if code is None and self.conditional and layer < self.num_layers:
            raise GaneError("This generator's layers read the class part of the code as well: pass code= to from_features.")
        cond = self.condition(code) if code is not None else None
        for stage in self.stages()[layer:]:
            h = stage(h, cond)
        return h


def sequential_stages(seq: nn.Sequential, ends: list[int]) -> list[Stage]:
    """Stages made of consecutive slices of ``seq`` ending (exclusive) at each index of ``ends``."""
    starts = [0] + ends[:-1]
    return [_slice_stage(seq, a, b) for a, b in zip(starts, ends)]


def _slice_stage(seq: nn.Sequential, a: int, b: int) -> Stage:
    layers = list(seq)[a:b]

    def run(h, cond):
        for layer in layers:
            h = layer(h)
        return h

    return run


def stage_ends(seq: nn.Sequential) -> list[int]:
    """Where each stage of a plain layer list ends: after each activation (ReLU, LeakyReLU, Tanh)
    and any dropout or self-attention right after it, with the last stage ending at the output."""
    from .attention import SelfAttention

    ends, layers = [], list(seq)
    for i, layer in enumerate(layers):
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid)):
            j = i + 1
            while j < len(layers) and isinstance(layers[j], (nn.Dropout, SelfAttention)):
                j += 1
            ends.append(j)
    if not ends or ends[-1] != len(layers):
        ends.append(len(layers))
    return sorted(set(ends))


class StagedSequential(nn.Sequential, StagedGenerator):
    """A plain layer list (same parameter names as nn.Sequential) whose stages end after each activation."""

    def __init__(self, *layers: nn.Module):
        nn.Sequential.__init__(self, *layers)

    def stages(self) -> list[Stage]:
        return sequential_stages(self, stage_ends(self))

    forward = nn.Sequential.forward
