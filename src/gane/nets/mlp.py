"""Networks for vector data (2-D mixtures, tabular npz), in named layouts.

``mlp`` is gane's own: ``width`` multiplies 256 hidden units. ``pacgan`` is the published protocol of
the 2-D mode-collapse experiments (Lin et al. 2018, after ALI and VEEGAN): G has 4 hidden layers of
400 units with batch norm and ReLU, E 2 such layers, and D 3 maxout layers of 200 units with 5 pieces
(ALI's joint D reads the concatenated (x, z) directly); ``width`` multiplies 400 and 200.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..registry import Registry
from .conv import sn
from .staged import Stage, StagedGenerator, StagedSequential, sequential_stages, stage_ends


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


class MLPGenerator(StagedGenerator):
    """z (B, z_dim) -> x (B, D), unbounded. Stages: each hidden layer with its activation, then the output layer."""

    def __init__(self, z_dim: int, shape: tuple[int], width: float = 1.0):
        super().__init__()
        self.z_dim, self.shape = z_dim, shape
        self.net = mlp(z_dim, shape[0], width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def stages(self) -> list[Stage]:
        return sequential_stages(self.net, stage_ends(self.net))


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


class Maxout(nn.Module):
    """A linear layer of ``out`` units, each the maximum of ``pieces`` affine pieces (Goodfellow et al. 2013)."""

    def __init__(self, d_in: int, out: int, pieces: int, spectral_norm: bool = False):
        super().__init__()
        self.out, self.pieces = out, pieces
        self.linear = sn(nn.Linear(d_in, out * pieces), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.out, self.pieces).amax(-1)


class MaxoutBody(nn.Module):
    """x (B, D) -> features (B, H): maxout layers, dropout after each when asked."""

    def __init__(self, d_in: int, hidden: int, depth: int = 3, pieces: int = 5, spectral_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers.append(Maxout(d_in if i == 0 else hidden, hidden, pieces, spectral_norm))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class RawInput(nn.Module):
    """The input unchanged, with ``out_features`` so it can stand where a body does (ALI's joint D reads raw x and z)."""

    def __init__(self, out_features: int):
        super().__init__()
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def batch_norm_mlp(d_in: int, d_out: int, hidden: int, depth: int, batch_norm: bool = True) -> nn.Sequential:
    """``depth`` hidden layers of Linear (no bias before batch norm), batch norm, ReLU; a linear output with bias."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(d_in if i == 0 else hidden, hidden, bias=not batch_norm)]
        layers += [nn.BatchNorm1d(hidden)] if batch_norm else []
        layers += [nn.ReLU(True)]
    return nn.Sequential(*layers, nn.Linear(hidden if depth else d_in, d_out))


@dataclass(frozen=True)
class VectorNets:
    """How one layout builds each network for vector data. ``joint`` returns BiGAN's (x path, z path,
    joint layers over their concatenated features); ``code_path`` is the z path of BigBiGAN's D."""

    generator: object  # (z_dim, d_out, width, batch_norm) -> module
    encoder: object  # (d_in, d_out, width, batch_norm) -> module
    body: object  # (d_in, width, spectral_norm, dropout) -> module with out_features
    code_path: object  # (z_dim, width, spectral_norm, dropout) -> module with out_features
    joint: object  # (x_dim, z_dim, width, spectral_norm, dropout) -> (x_path, z_path, joint, out_features)


VECTOR_NETS: Registry[VectorNets] = Registry("vector network layout")


class _Features(nn.Sequential):
    def __init__(self, out_features: int, *layers: nn.Module):
        super().__init__(*layers)
        self.out_features = out_features


def _mlp_code_path(z_dim, width, spectral_norm, dropout):
    h = hidden_units(width) * 2
    drop = [nn.Dropout(dropout)] if dropout > 0 else []
    return _Features(h, sn(nn.Linear(z_dim, h), spectral_norm), nn.LeakyReLU(0.2, True), *drop,
                     sn(nn.Linear(h, h), spectral_norm), nn.LeakyReLU(0.2, True), *drop)


def _mlp_joint(x_dim, z_dim, width, spectral_norm, dropout):
    x_path = MLPBody((x_dim,), width, spectral_norm, dropout)
    z_path = _mlp_code_path(z_dim, width, spectral_norm, dropout)
    h = z_path.out_features
    drop = [nn.Dropout(dropout)] if dropout > 0 else []
    joint = nn.Sequential(sn(nn.Linear(x_path.out_features + h, 2 * h), spectral_norm), nn.LeakyReLU(0.2, True), *drop)
    return x_path, z_path, joint, 2 * h


VECTOR_NETS.register("mlp")(VectorNets(
    generator=lambda z_dim, d_out, width, batch_norm: MLPGenerator(z_dim, (d_out,), width),
    encoder=lambda d_in, d_out, width, batch_norm: MLPEncoder((d_in,), d_out, width),
    body=lambda d_in, width, spectral_norm, dropout: MLPBody((d_in,), width, spectral_norm, dropout),
    code_path=_mlp_code_path,
    joint=_mlp_joint,
))


def pacgan_units(width: float, base: int) -> int:
    return max(8, int(round(base * width)))


def _pacgan_joint(x_dim, z_dim, width, spectral_norm, dropout):
    body = MaxoutBody(x_dim + z_dim, pacgan_units(width, 200), spectral_norm=spectral_norm, dropout=dropout)
    return RawInput(x_dim), RawInput(z_dim), body, body.out_features


VECTOR_NETS.register("pacgan")(VectorNets(
    generator=lambda z_dim, d_out, width, batch_norm: StagedSequential(*batch_norm_mlp(z_dim, d_out, pacgan_units(width, 400), 4, batch_norm)),
    encoder=lambda d_in, d_out, width, batch_norm: batch_norm_mlp(d_in, d_out, pacgan_units(width, 400), 2, batch_norm),
    body=lambda d_in, width, spectral_norm, dropout: MaxoutBody(d_in, pacgan_units(width, 200), spectral_norm=spectral_norm, dropout=dropout),
    code_path=lambda z_dim, width, spectral_norm, dropout: MaxoutBody(z_dim, pacgan_units(width, 200), spectral_norm=spectral_norm, dropout=dropout),
    joint=_pacgan_joint,
))
