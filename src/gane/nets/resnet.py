"""Small residual networks for BigBiGAN (Donahue & Simonyan 2019) at CPU scale.

The generator follows BigGAN's shape (residual up-blocks, class-conditional batch
norm when the code carries a class); the encoder and the discriminator's x path
use residual down-blocks. ``width`` multiplies the base channel count (64).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention_block
from .conv import base_channels, layout, sn
from .staged import Stage, StagedGenerator
from .critic import Scores, VariationalBottleneck
from .mlp import VECTOR_NETS, hidden_units


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain and bias come from a class one-hot (B, K); plain batch norm when K = 0."""

    def __init__(self, channels: int, num_classes: int = 0):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=num_classes == 0)
        if num_classes:
            self.gain = nn.Linear(num_classes, channels, bias=False)
            self.bias = nn.Linear(num_classes, channels, bias=False)
            nn.init.zeros_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)
        self.num_classes = num_classes

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        h = self.bn(h)
        if not self.num_classes:
            return h
        return h * (1 + self.gain(y))[:, :, None, None] + self.bias(y)[:, :, None, None]


class UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, num_classes: int = 0):
        super().__init__()
        self.bn1, self.bn2 = ConditionalBatchNorm(cin, num_classes), ConditionalBatchNorm(cout, num_classes)
        self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, h, y):
        up = F.interpolate(h, scale_factor=2, mode="nearest")
        out = self.conv1(F.interpolate(F.relu(self.bn1(h, y)), scale_factor=2, mode="nearest"))
        out = self.conv2(F.relu(self.bn2(out, y)))
        return out + self.skip(up)


class DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int, spectral_norm: bool = False, first: bool = False):
        super().__init__()
        self.conv1, self.conv2 = sn(nn.Conv2d(cin, cout, 3, 1, 1), spectral_norm), sn(nn.Conv2d(cout, cout, 3, 1, 1), spectral_norm)
        self.skip = sn(nn.Conv2d(cin, cout, 1), spectral_norm)
        self.first = first

    def forward(self, h):
        out = h if self.first else F.leaky_relu(h, 0.2)
        out = self.conv2(F.leaky_relu(self.conv1(out), 0.2))
        return F.avg_pool2d(out, 2) + F.avg_pool2d(self.skip(h), 2)


class ResGenerator(StagedGenerator):
    """code (B, code_dim) -> image (B, C, H, W) in [-1, 1].

    With ``num_classes`` K, the last K entries of the code are a class one-hot: the whole
    code feeds the first linear layer, and the one-hot also sets every batch norm's gain and bias.
    """

    def __init__(self, code_dim: int, shape: tuple[int, int, int], width: float = 1.0, num_classes: int = 0):
        super().__init__()
        c, h, _ = shape
        self.base, n_up = layout(h)
        ch = base_channels(width)
        chans = [ch * 2 ** (n_up - i) for i in range(n_up + 1)]  # e.g. [64, 32, 16] at width 0.25
        self.num_classes, self._c0 = num_classes, chans[0]
        self.fc = nn.Linear(code_dim, chans[0] * self.base**2)
        self.blocks = nn.ModuleList(UpBlock(chans[i], chans[i + 1], num_classes) for i in range(n_up))
        # --attention: one block after the up-block (or the projection, index -1) whose output has that side
        self.attention_after = next((i for i in range(-1, n_up - 1) if attention_block(self.base << (i + 1), 1)), None)
        if self.attention_after is not None:
            self.attention = attention_block(self.base << (self.attention_after + 1), chans[self.attention_after + 1])[0]
        self.out_bn = nn.BatchNorm2d(chans[-1])
        self.out = nn.Conv2d(chans[-1], c, 3, 1, 1)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        y = code[:, -self.num_classes:] if self.num_classes else None
        h = self._attend(self.fc(code).view(-1, self._c0, self.base, self.base), -1)
        for i, block in enumerate(self.blocks):
            h = self._attend(block(h, y), i)
        return torch.tanh(self.out(F.relu(self.out_bn(h))))

    def _attend(self, h: torch.Tensor, after: int) -> torch.Tensor:
        return self.attention(h) if after == self.attention_after else h

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def condition(self, code):
        return code[:, -self.num_classes:] if self.num_classes else None

    def stages(self) -> list[Stage]:
        def project(code, y):
            return self._attend(self.fc(code).view(-1, self._c0, self.base, self.base), -1)

        def up(i):
            return lambda h, y: self._attend(self.blocks[i](h, y), i)

        def out(h, y):
            return torch.tanh(self.out(F.relu(self.out_bn(h))))

        return [project, *(up(i) for i in range(len(self.blocks))), out]


class ResBody(nn.Module):
    """image (B, C, H, W) -> features (B, F): residual down-blocks to the base resolution."""

    def __init__(self, shape, width: float = 1.0, spectral_norm: bool = False):
        super().__init__()
        c, h, _ = shape
        base, n_down = layout(h)
        ch = base_channels(width)
        chans = [c] + [ch * 2**i for i in range(n_down)]
        blocks: list[nn.Module] = []
        for i in range(n_down):
            blocks += [DownBlock(chans[i], chans[i + 1], spectral_norm, first=i == 0), *attention_block(h >> (i + 1), chans[i + 1])]
        self.blocks = nn.Sequential(*blocks)
        self.out_features = chans[-1] * base * base

    def forward(self, x):
        return F.leaky_relu(self.blocks(x), 0.2).flatten(1)


class ResEncoder(nn.Module):
    """image -> code (B, out_dim) through residual down-blocks and a two-layer head."""

    def __init__(self, shape, out_dim: int, width: float = 1.0):
        super().__init__()
        self.body = ResBody(shape, width)
        h = hidden_units(width) * 2
        self.head = nn.Sequential(nn.Linear(self.body.out_features, h), nn.LeakyReLU(0.2, True), nn.Linear(h, out_dim))

    def forward(self, x):
        return self.head(self.body(x))


class ThreeScoreDiscriminator(nn.Module):
    """BigBiGAN's D: scores s_x(x), s_z(z) and s_xz(x, z) as logits (B, 3).

    s_x sees only the data and s_z only the code, so neither half of a pair can be
    ignored; s_xz sees both. ``features`` is the joint hidden layer; a variational
    bottleneck, when asked for, sits on it.
    """

    def __init__(self, shape, z_dim: int, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0, bottleneck: int = 0,
                 net: str = "mlp"):
        super().__init__()
        nets = VECTOR_NETS.get("mlp" if len(shape) == 3 else net)
        self.x_path = ResBody(shape, width, spectral_norm) if len(shape) == 3 else nets.body(shape[0], width, spectral_norm, 0.0)
        self.z_path = nets.code_path(z_dim, width, spectral_norm, dropout)
        h = self.z_path.out_features
        drop = [nn.Dropout(dropout)] if dropout > 0 else []
        self.x_drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.joint = nn.Sequential(sn(nn.Linear(self.x_path.out_features + h, 2 * h), spectral_norm), nn.LeakyReLU(0.2, True), *drop)
        self.bottleneck = VariationalBottleneck(2 * h, bottleneck) if bottleneck > 0 else None
        self.s_x = sn(nn.Linear(self.x_path.out_features, 1), spectral_norm)
        self.s_z = sn(nn.Linear(h, 1), spectral_norm)
        self.s_xz = sn(nn.Linear(bottleneck or 2 * h, 1), spectral_norm)

    def features(self, x, z):
        return self.joint(torch.cat([self.x_drop(self.x_path(x)), self.z_path(z)], 1))

    def data_features(self, x: torch.Tensor) -> torch.Tensor:
        """Features of the data path alone (B, F)."""
        return self.x_drop(self.x_path(x))

    def realism(self, x: torch.Tensor) -> torch.Tensor:
        """The data-only score s_x(x) (B,), higher = more real."""
        return self.s_x(self.data_features(x)).squeeze(1)

    def scores(self, x: torch.Tensor, z: torch.Tensor, y=None) -> Scores:
        fx, fz = self.x_drop(self.x_path(x)), self.z_path(z)
        h = self.joint(torch.cat([fx, fz], 1))  # (B, 2h)
        code, kl = self.bottleneck(h) if self.bottleneck is not None else (h, None)
        logits = torch.cat([self.s_x(fx), self.s_z(fz), self.s_xz(code)], 1)  # (B, 3)
        return Scores(logits, h, kl)

    def forward(self, x, z, y=None):
        return self.scores(x, z).logits
