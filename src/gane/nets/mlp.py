"""Multi-layer perceptrons for vector data (2-D mixtures, tabular npz). ``width`` multiplies 256 hidden units."""
from __future__ import annotations

import torch
from torch import nn

from .conv import sn


def hidden_units(width: float) -> int:
    return max(16, int(round(256 * width)))


def mlp(d_in: int, d_out: int, width: float, depth: int = 3, act: str = "relu", spectral_norm: bool = False, dropout: float = 0.0, batch_norm: bool = False) -> nn.Sequential:
    h = hidden_units(width)
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(depth - 1):
        layers.append(sn(nn.Linear(d, h), spectral_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU(True) if act == "relu" else nn.LeakyReLU(0.2, True))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(sn(nn.Linear(d, d_out), spectral_norm))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z (B, z_dim) -> x (B, D), unbounded."""

    def __init__(self, z_dim: int, shape: tuple[int], width: float = 1.0):
        super().__init__()
        self.z_dim, self.shape = z_dim, shape
        self.net = mlp(z_dim, shape[0], width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPBody(nn.Module):
    """x (B, D) -> features (B, H)."""

    def __init__(self, shape, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        h = hidden_units(width)
        self.net = nn.Sequential(mlp(shape[0], h, width, depth=2, act="lrelu", spectral_norm=spectral_norm, dropout=dropout), nn.LeakyReLU(0.2, True))
        self.out_features = h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MLPEncoder(nn.Module):
    """x (B, D) -> code (B, out_dim)."""

    def __init__(self, shape, out_dim: int, width: float = 1.0):
        super().__init__()
        self.net = mlp(shape[0], out_dim, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
