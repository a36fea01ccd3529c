"""DCGAN-style convolutional networks for 28x28, 32x32 and 64x64 images (Radford et al. 2016).

Plain modules: no loss code. ``width`` multiplies the base channel count (64).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import GaneError
from .attention import attention_block
from .staged import Stage, StagedGenerator, sequential_stages, stage_ends


# A side the networks take is base * 2^k with base 7 or 4 and k >= 1: the nets go from base x base
# to the image in k stride-2 steps (28 = 7 * 2^2, 32 = 4 * 2^3, 64 = 4 * 2^4).
_BASES = (7, 4)


def layout(size: int) -> tuple[int, int]:
    """(base resolution, number of 2x up/down steps) for a square image side."""
    for base in _BASES:
        if size % base == 0:
            k = size // base
            if k >= 2 and k & (k - 1) == 0:
                return base, int(math.log2(k))
    raise GaneError(
        f"Images of side {size} do not fit the convolutional networks: the side must be {side_rule(size)}. "
        f"Pass --image-size {nearest_side(size)} (or another of those sides) to resize the data."
    )


def image_sides(up_to: int = 1 << 16) -> list[int]:
    """Every square side the convolutional networks take, in order: 8, 14, 16, 28, 32, 56, 64, ..."""
    return sorted(base << k for base in _BASES for k in range(1, 32) if base << k <= up_to)


def nearest_side(size: int, up_to: int | None = None) -> int:
    """The side the networks take nearest to ``size`` (at most ``up_to``); the smaller one on a tie."""
    sides = [s for s in image_sides(max(2 * size, 8)) if up_to is None or s <= up_to]
    return min(sides, key=lambda s: (abs(s - size), s))


def side_rule(size: int) -> str | None:
    """None when the networks take images of side ``size``, else what they take (a phrase after "must be")."""
    if size in image_sides(max(size, 8)):
        return None
    below = [s for s in image_sides(max(size, 8)) if s < size]
    above = [s for s in image_sides(max(2 * size, 8)) if s > size]
    near = below[-1:] + above[:1]
    nearest = f"the nearest to {size} are {near[0]} and {near[1]}" if len(near) == 2 else f"the nearest to {size} is {near[0]}"
    return (f"7*2^k or 4*2^k, a side the convolutional networks take ({', '.join(map(str, image_sides(256)))}, ...); "
            f"{nearest}")


def sn(module: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module) if on else module


def base_channels(width: float) -> int:
    return max(8, int(round(64 * width)))


class ConvGenerator(StagedGenerator):
    """z (B, z_dim) -> image (B, C, H, W) in [-1, 1]: linear to base x base, then stride-2 transposed convs.
    Stages: the linear layer (to the base-resolution map), then each transposed conv with its norm and activation."""

    def __init__(self, z_dim: int, shape: tuple[int, int, int], width: float = 1.0, batch_norm: bool = True):
        super().__init__()
        c, h, w = shape
        if h != w:
            raise GaneError(f"The convolutional networks take square images; these are {h}x{w} (height x width). "
                            f"Pass --image-size N to resize them to N x N, e.g. --image-size {nearest_side(max(h, w))}.")
        self.base, n_up = layout(h)
        ch = base_channels(width)
        chans = [ch * 2 ** (n_up - 1 - i) for i in range(n_up)]  # e.g. [128, 64] for 28x28
        self.z_dim, self.shape = z_dim, shape

        def norm(layer_cls, n):
            return [layer_cls(n)] if batch_norm else []

        self.fc = nn.Sequential(nn.Linear(z_dim, chans[0] * self.base**2, bias=not batch_norm), *norm(nn.BatchNorm1d, chans[0] * self.base**2), nn.ReLU(True))
        attend = attention_block(self.base, chans[0])  # --attention at the base side
        if attend:
            self.attention = attend[0]
        ups: list[nn.Module] = []
        for i in range(n_up - 1):
            ups += [nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1, bias=not batch_norm), *norm(nn.BatchNorm2d, chans[i + 1]), nn.ReLU(True),
                    *attention_block(self.base << (i + 1), chans[i + 1])]
        ups += [nn.ConvTranspose2d(chans[-1], c, 4, 2, 1), nn.Tanh()]
        self.ups = nn.Sequential(*ups)
        self._c0 = chans[0]

    def _project(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, self._c0, self.base, self.base)
        return self.attention(h) if hasattr(self, "attention") else h

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.ups(self._project(z))  # (B, C, H, W)

    def stages(self) -> list[Stage]:
        def project(z, cond):
            return self._project(z)

        return [project, *sequential_stages(self.ups, stage_ends(self.ups))]


class ConvBody(nn.Module):
    """image (B, C, H, W) -> features (B, F): stride-2 convs with LeakyReLU down to the base resolution.

    Batch norm after every conv but the first, unless spectral norm is on (the two do not mix well).
    """

    def __init__(self, shape: tuple[int, int, int], width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0, batch_norm: bool = True):
        super().__init__()
        c, h, _ = shape
        base, n_down = layout(h)
        ch = base_channels(width)
        layers: list[nn.Module] = []
        cin = c
        for i in range(n_down):
            cout = ch * 2**i
            layers.append(sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0 or not batch_norm or spectral_norm), spectral_norm))
            if i > 0 and batch_norm and not spectral_norm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers += attention_block(h >> (i + 1), cout)
            cin = cout
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.out_features = cin * base * base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvEncoder(nn.Module):
    """image -> code (B, out_dim). A VAE asks for out_dim = 2 * z_dim (mean and log-variance)."""

    def __init__(self, shape, out_dim: int, width: float = 1.0, batch_norm: bool = True):
        super().__init__()
        self.body = ConvBody(shape, width, batch_norm=batch_norm)
        self.head = nn.Linear(self.body.out_features, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
