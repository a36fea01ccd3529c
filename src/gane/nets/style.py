"""StyleGAN2-style networks in small (Karras et al. 2019, 2020), for the sides the convolutional nets take.

- :class:`MappingNetwork`: z -> w, an MLP with equalised learning rate (lr multiplier 0.01), keeping
  the running mean of w that truncation pulls toward.
- :class:`ModulatedConv2d`: a convolution whose weights are scaled per input channel by a style
  from w and, with demodulation, renormalised so each output channel has unit expected variance for
  unit-variance input (StyleGAN2's replacement for AdaIN).
- :class:`StyleSynthesis`: a learnt constant at the base resolution, two modulated 3x3 convs per
  resolution (the first upsamples), per-layer noise with learnt strength, and skip-style RGB outputs
  summed over resolutions. Each modulated conv reads its own w, so W+ (one w per layer) is its input.
- :class:`StyleGenerator`: mapping then synthesis; the plain G(z) of the family interface.
- :class:`StyleBody`: the residual discriminator body with minibatch standard deviation.

Equalised learning rate (weights drawn from N(0, 1) and scaled by He's constant at run time) keeps
every layer's step size alike under Adam, as in StyleGAN. Noise is drawn afresh in training mode and
is a fixed map (saved with the weights) in eval mode, so sampling and inversion are deterministic.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention_block
from .conv import base_channels, layout
from .staged import Stage, StagedGenerator

SQRT2 = math.sqrt(2.0)


def leaky(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU(0.2) scaled by sqrt(2), which keeps the signal's variance (StyleGAN's activation gain)."""
    return F.leaky_relu(x, 0.2) * SQRT2


class EqualLinear(nn.Module):
    """A linear layer with equalised learning rate; ``lr_mul`` slows it (the mapping network's 0.01)."""

    def __init__(self, cin: int, cout: int, bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(cin), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return leaky(out) if self.activate else out


class EqualConv2d(nn.Module):
    """A convolution with equalised learning rate."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.scale, self.pad = 1 / math.sqrt(cin * kernel * kernel), kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)


class MappingNetwork(nn.Module):
    """z (B, z_dim) -> w (B, w_dim): z normalised to unit second moment, then ``depth`` layers.
    ``w_avg`` is the running mean of w during training (the centre truncation pulls toward)."""

    def __init__(self, z_dim: int, w_dim: int, depth: int, lr_mul: float = 0.01):
        super().__init__()
        dims = [z_dim] + [w_dim] * depth
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activate=True) for a, b in zip(dims, dims[1:])])
        self.z_dim, self.w_dim = z_dim, w_dim
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
        return self.net(z)  # (B, w_dim)


class ModulatedConv2d(nn.Module):
    """x (B, cin, H, W), w (B, w_dim) -> (B, cout, H', W'). The style s = A(w) (B, cin), starting at 1,
    scales the weights per input channel; ``demodulate`` divides each output channel's weights by
    their norm, so unit-variance input gives unit-variance output. ``up`` doubles the side first."""

    def __init__(self, cin: int, cout: int, kernel: int, w_dim: int, demodulate: bool = True, up: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.scale, self.pad = 1 / math.sqrt(cin * kernel * kernel), kernel // 2
        self.demodulate, self.up = demodulate, up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # Scaling the input channels by the style, convolving with the shared weights and scaling the output
        # channels by the demodulation coefficients equals convolving with per-example modulated weights
        # (StyleGAN2's non-fused path), and runs as one ordinary convolution over the batch.
        style = self.affine(w)  # (B, cin)
        weight = self.weight * self.scale  # (cout, cin, k, k)
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.conv2d(x * style[:, :, None, None], weight, padding=self.pad)
        if self.demodulate:  # 1 / ||w_o * s|| per example and output channel
            coef = torch.rsqrt(style.pow(2) @ weight.pow(2).sum((2, 3)).t() + 1e-8)  # (B, cout)
            out = out * coef[:, :, None, None]
        return out


class StyleLayer(nn.Module):
    """Modulated 3x3 conv, noise times a learnt strength (starting at 0), bias, activation."""

    def __init__(self, cin: int, cout: int, w_dim: int, side: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, side, side))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = self.conv(x, w)
        noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype) if self.training else self.noise_const
        return leaky(x + self.noise_strength * noise + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    """Modulated 1x1 conv to the image channels, not demodulated (StyleGAN2's tRGB)."""

    def __init__(self, cin: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(cin, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


def level_channels(width: float, n_up: int) -> list[int]:
    """Channels at each resolution from the base up: 4, 2, 1 times the base channels, at most 4."""
    ch = base_channels(width)
    return [ch * min(4, 2 ** (n_up - i)) for i in range(n_up + 1)]


class StyleSynthesis(StagedGenerator):
    """ws (B, num_ws * w_dim), one w per modulated layer (W+), -> image (B, C, H, W).

    Resolution 0 (the base) has one conv; each later resolution an upsampling conv and a conv. Layer
    i reads w number i; each tRGB reads the w of the conv before it. Stages are the resolutions; the
    activation between them is the feature map and the running RGB image, concatenated on channels,
    so the multi-code GAN prior can mix both."""

    conditional = True  # the stages read the ws from the code

    def __init__(self, shape: tuple[int, int, int], w_dim: int, width: float = 1.0):
        super().__init__()
        c, h, _ = shape
        self.base, n_up = layout(h)
        chans = level_channels(width, n_up)
        self.shape, self.w_dim, self.channels = tuple(shape), w_dim, c
        self.const = nn.Parameter(torch.randn(chans[0], self.base, self.base))
        self.convs = nn.ModuleList([StyleLayer(chans[0], chans[0], w_dim, self.base)])
        self.to_rgb = nn.ModuleList([ToRGB(chans[0], c, w_dim)])
        for i in range(1, n_up + 1):
            side = self.base * 2**i
            self.convs.append(StyleLayer(chans[i - 1], chans[i], w_dim, side, up=True))
            self.convs.append(StyleLayer(chans[i], chans[i], w_dim, side))
            self.to_rgb.append(ToRGB(chans[i], c, w_dim))
        self.num_ws = len(self.convs)
        # --attention: one block on the feature map of the resolution with that side, before its RGB output
        self.attention_level = next((i for i in range(n_up) if attention_block(self.base << i, 1)), None)
        if self.attention_level is not None:
            self.attention = attention_block(self.base << self.attention_level, chans[self.attention_level])[0]

    def condition(self, code: torch.Tensor) -> torch.Tensor:
        return code.view(len(code), self.num_ws, self.w_dim)

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        return self.features(ws.reshape(len(ws), -1), self.num_layers)

    def _level(self, i: int) -> Stage:
        last = i == len(self.to_rgb) - 1

        def run(h: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
            if i == 0:  # h is the code; the constant starts the image
                x = self.const[None].expand(len(ws), -1, -1, -1)
                x = self.convs[0](x, ws[:, 0])
                if self.attention_level == 0:
                    x = self.attention(x)
                rgb = self.to_rgb[0](x, ws[:, 0])
            else:
                x, rgb = h[:, : -self.channels], h[:, -self.channels:]
                a, b = 2 * i - 1, 2 * i
                x = self.convs[b](self.convs[a](x, ws[:, a]), ws[:, b])
                if i == self.attention_level:
                    x = self.attention(x)
                rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + self.to_rgb[i](x, ws[:, b])
            return rgb if last else torch.cat([x, rgb], 1)

        return run

    def stages(self) -> list[Stage]:
        return [self._level(i) for i in range(len(self.to_rgb))]


class StyleGenerator(StagedGenerator):
    """z (B, z_dim) -> image: the mapping network's w given to every layer of the synthesis network.
    Its stages are the synthesis network's, with the ws taken from the code."""

    conditional = True

    def __init__(self, z_dim: int, shape: tuple[int, int, int], w_dim: int, mapping_layers: int, width: float = 1.0):
        super().__init__()
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        self.synthesis = StyleSynthesis(shape, w_dim, width)

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w (B, w_dim) -> ws (B, num_ws, w_dim), the same w at every layer."""
        return w[:, None].expand(-1, self.num_ws, -1)

    def condition(self, code: torch.Tensor) -> torch.Tensor:
        return self.broadcast(self.mapping(code))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.synthesis(self.broadcast(self.mapping(z)))

    def stages(self) -> list[Stage]:
        return self.synthesis.stages()


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """x (B, C, H, W) -> (B, C + 1, H, W): the mean standard deviation over groups of ``group`` examples
    (fewer when B is not a multiple) as an extra channel, so D can see a lack of variety (Karras et al. 2018)."""
    b, c, h, w = x.shape
    g = math.gcd(min(group, b), b)
    y = x.view(g, -1, c, h, w)
    y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean((1, 2, 3))  # (B / g,)
    y = y.view(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], 1)


class ResidualDown(nn.Module):
    """Two 3x3 convs and a 2x average pool, with a pooled 1x1 skip, summed and scaled by 1/sqrt(2)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv0, self.conv1 = EqualConv2d(cin, cin, 3), EqualConv2d(cin, cout, 3)
        self.skip = EqualConv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(leaky(self.conv1(leaky(self.conv0(x)))), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / SQRT2


class StyleBody(nn.Module):
    """image (B, C, H, W) -> features (B, F): fromRGB, residual blocks down to the base resolution,
    minibatch standard deviation, a 3x3 conv and a dense layer (StyleGAN2's residual D without its score)."""

    def __init__(self, shape: tuple[int, int, int], width: float = 1.0, mbstd_group: int = 4):
        super().__init__()
        c, h, _ = shape
        base, n_down = layout(h)
        chans = level_channels(width, n_down)[::-1]  # from full resolution down to the base
        self.from_rgb = EqualConv2d(c, chans[0], 1)
        self.blocks = nn.Sequential(*[m for i in range(n_down)
                                      for m in (ResidualDown(chans[i], chans[i + 1]), *attention_block(h >> (i + 1), chans[i + 1]))])
        self.conv = EqualConv2d(chans[-1] + 1, chans[-1], 3)
        self.fc = EqualLinear(chans[-1] * base * base, chans[-1], activate=True)
        self.mbstd_group = mbstd_group
        self.out_features = chans[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(leaky(self.from_rgb(x)))
        h = leaky(self.conv(minibatch_stddev(h, self.mbstd_group)))
        return self.fc(h.flatten(1))
