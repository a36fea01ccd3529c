"""Self-attention for convolutional networks (SAGAN, Zhang et al. 2019).

A block at one resolution lets every position of a feature map read every other:
o = x + gamma * v(h(x) softmax(f(x)^T g(x))), with 1x1 convolutions f, g, h to C/8 channels, v back
to C, and gamma a learnt scalar starting at 0 (so the block starts as the identity and the network
learns how much non-local evidence to use). As in SAGAN, its convolutions are spectrally normalised
in G and D alike.

The side the block sits at is a construction option of the image networks: ``--attention SIDE``
builds every convolutional G, D and E of a family inside ``attention_at(SIDE)``, and each network
puts one block after its layer whose output has that side.
"""
from __future__ import annotations

import contextlib
import contextvars

import torch
from torch import nn

_SIDE: contextvars.ContextVar[int] = contextvars.ContextVar("attention_side", default=0)


@contextlib.contextmanager
def attention_at(side: int):
    """Networks built inside this block put self-attention at feature maps of this side (0 = none)."""
    token = _SIDE.set(int(side))
    try:
        yield
    finally:
        _SIDE.reset(token)


def attention_side() -> int:
    """The side networks built now put self-attention at (0 = none)."""
    return _SIDE.get()


def attention_sides(base: int, steps: int) -> list[int]:
    """The hidden feature-map sides of a network that goes from ``base`` to the image in ``steps`` doublings:
    those every G and D has (the image's own side is not one: G's last layer makes the image)."""
    return [base << k for k in range(steps)]


class SelfAttention(nn.Module):
    """x (B, C, H, W) -> x + gamma * attention output, same shape."""

    def __init__(self, channels: int):
        super().__init__()
        inner = max(1, channels // 8)
        sn = nn.utils.parametrizations.spectral_norm
        self.f, self.g, self.h = (sn(nn.Conv2d(channels, inner, 1, bias=False)) for _ in range(3))
        self.v = sn(nn.Conv2d(inner, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The attention map (B, HW, HW): row i is how much position i reads each position."""
        q, k = self.f(x).flatten(2), self.g(x).flatten(2)  # (B, C/8, HW)
        return torch.softmax(q.transpose(1, 2) @ k, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, hgt, wid = x.shape
        read = self.h(x).flatten(2) @ self.attention(x).transpose(1, 2)  # (B, C/8, HW)
        return x + self.gamma * self.v(read.view(b, -1, hgt, wid))


def attention_block(side: int, channels: int) -> list[nn.Module]:
    """[SelfAttention(channels)] when networks are being built with attention at ``side``, else []."""
    return [SelfAttention(channels)] if side and attention_side() == side else []
