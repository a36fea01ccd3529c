"""Networks of the image-to-image translation models: plain modules, no loss code.

- :class:`UNet`: pix2pix's generator (Isola et al. 2017), encoder-decoder with skips between mirrored levels;
- :class:`ResnetTranslator`: CycleGAN's generator (Zhu et al. 2017; Johnson et al. 2016), down, residual blocks, up;
- :class:`SRResNet`: SRGAN's generator (Ledig et al. 2017), residual blocks then sub-pixel upsampling;
- :class:`ContextNet`: the context encoder's encoder-decoder with a fully connected bottleneck (Pathak et al. 2016);
- :class:`PatchDiscriminator`: PatchGAN, a score per overlapping patch (pix2pix), on one image or a pair.

``width`` multiplies the base channel count (64). Every image is (N, C, H, W) in [-1, 1].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GaneError
from .conv import sn
from .critic import Scores


def channels(width: float, base: int = 64) -> int:
    return max(8, int(round(base * width)))


def norm_layer(kind: str, ch: int) -> nn.Module:
    """batch, instance (with learnt scale and shift, as CycleGAN uses it) or none."""
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=True)
    if kind == "none":
        return nn.Identity()
    raise GaneError(f"Unknown normalisation {kind!r}: use batch, instance or none.")


def halvings(size: int, most: int, smallest: int = 4) -> int:
    """How many times a side can be halved exactly, staying at least ``smallest``, up to ``most`` times."""
    k = 0
    while k < most and size % 2 == 0 and size // 2 >= smallest:
        size //= 2
        k += 1
    return k


class ResBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), 3x3 at one resolution (reflection padding, as CycleGAN)."""

    def __init__(self, ch: int, norm: str, dropout: float = 0.0):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), norm_layer(norm, ch), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), norm_layer(norm, ch)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UNet(nn.Module):
    """pix2pix's U-Net: ``levels`` stride-2 4x4 convolutions down (as many as halve the side exactly to
    at least 4 pixels, at most 8), ``bottleneck`` residual blocks at the bottom (which a 28-pixel image,
    halved only twice, needs to see more than a small window), then transposed convolutions up, each fed
    the level's encoder output beside the decoder's. The last layer also reads the input image, so
    pixel-level detail reaches the output through a skip (a U-Net whose other weights are zero passes A
    through: ``tanh(A)``). Dropout in the innermost up levels is the model's noise, on in training only.
    """

    def __init__(self, in_ch: int, out_ch: int, size: int, width: float = 1.0, norm: str = "batch", dropout: float = 0.5,
                 bottleneck: int = 2, max_levels: int = 8):
        super().__init__()
        base = channels(width)
        self.levels = halvings(size, max_levels)
        if self.levels < 1:
            raise GaneError(f"The U-Net needs images whose side halves at least once to 4 pixels or more; got {size}.")
        ch = [base * min(2 ** i, 8) for i in range(self.levels)]
        self.down = nn.ModuleList()
        prev = in_ch
        for i, c in enumerate(ch):
            self.down.append(nn.Sequential(nn.Conv2d(prev, c, 4, 2, 1, bias=i == 0 or norm != "batch"),
                                           norm_layer(norm, c) if i > 0 else nn.Identity(), nn.LeakyReLU(0.2, True)))
            prev = c
        self.bottom = nn.Sequential(*[ResBlock(ch[-1], norm) for _ in range(bottleneck)])
        self.up = nn.ModuleList()
        for i in reversed(range(self.levels)):  # up[k] undoes down[levels - 1 - k]
            out = ch[i - 1] if i > 0 else base
            layers = [nn.ConvTranspose2d(2 * ch[i], out, 4, 2, 1, bias=norm != "batch"), norm_layer(norm, out), nn.ReLU(True)]
            if dropout > 0 and i > 0 and i >= self.levels - 3:
                layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        self.out = nn.Conv2d(base + in_ch, out_ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips, h = [], x
        for block in self.down:
            h = block(h)
            skips.append(h)
        h = self.bottom(h)
        for block, skip in zip(self.up, reversed(skips)):
            h = block(torch.cat([h, skip], 1))
        return torch.tanh(self.out(torch.cat([h, x], 1)))  # (N, out_ch, H, W)


class ResnetTranslator(nn.Module):
    """CycleGAN's generator: a 7x7 convolution, ``downs`` stride-2 convolutions (the implicit encoder:
    its output is the code, a 3-D tensor), ``blocks`` residual blocks, as many transposed convolutions
    up, and a 7x7 convolution to the output, all with instance norm and reflection padding."""

    def __init__(self, in_ch: int, out_ch: int, size: int, width: float = 1.0, blocks: int = 6, norm: str = "instance", downs: int = 2):
        super().__init__()
        base = channels(width)
        downs = min(downs, halvings(size, downs, smallest=2))
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, base, 7), norm_layer(norm, base), nn.ReLU(True)]
        c = base
        for _ in range(downs):
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), norm_layer(norm, 2 * c), nn.ReLU(True)]
            c *= 2
        self.encoder = nn.Sequential(*layers)
        self.blocks = nn.Sequential(*[ResBlock(c, norm) for _ in range(blocks)])
        layers = []
        for _ in range(downs):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), norm_layer(norm, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_ch, 7), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The implicit code: the activation after the downsampling half, (N, C', H / 2^downs, W / 2^downs)."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.blocks(self.encoder(x)))


class SRResNet(nn.Module):
    """SRGAN's generator: a 9x9 convolution, ``blocks`` residual blocks (batch norm, PReLU) with a skip
    around them all, log2(factor) sub-pixel 2x upsamplings (a convolution to 4x the channels and a pixel
    shuffle), and a 9x9 convolution to the output."""

    def __init__(self, in_ch: int, out_ch: int, factor: int, width: float = 1.0, blocks: int = 8):
        super().__init__()
        if factor < 1 or factor & (factor - 1):
            raise GaneError(f"SRResNet upsamples by a power of two; the images differ by a factor of {factor}.")
        c = channels(width)
        self.head = nn.Sequential(nn.Conv2d(in_ch, c, 9, 1, 4), nn.PReLU(c))
        body = []
        for _ in range(blocks):
            body.append(_SRBlock(c))
        self.body = nn.Sequential(*body, nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))
        ups = []
        for _ in range(int(math.log2(factor))):
            ups += [nn.Conv2d(c, 4 * c, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(c)]
        self.up = nn.Sequential(*ups)
        self.out = nn.Conv2d(c, out_ch, 9, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return torch.tanh(self.out(self.up(h + self.body(h))))


class _SRBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c), nn.PReLU(c), nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ContextNet(nn.Module):
    """The context encoder: stride-2 4x4 convolutions down to a side of 4 to 7 pixels, a fully connected
    bottleneck of ``code`` units (Pathak et al.'s channel-wise layer, here over the whole small map),
    and transposed convolutions back up to the whole image, of which the model keeps the hole."""

    def __init__(self, in_ch: int, out_ch: int, size: int, width: float = 1.0, code: int = 512):
        super().__init__()
        base = channels(width)
        k = halvings(size, 4)
        side = size >> k
        enc, c, prev = [], base, in_ch
        for i in range(k):
            enc += [nn.Conv2d(prev, c, 4, 2, 1), nn.BatchNorm2d(c) if i > 0 else nn.Identity(), nn.LeakyReLU(0.2, True)]
            prev, c = c, min(2 * c, 8 * base)
        self.encoder = nn.Sequential(*enc)
        self.shape = (prev, side, side)
        flat = prev * side * side
        self.bottleneck = nn.Sequential(nn.Flatten(), nn.Linear(flat, code), nn.BatchNorm1d(code), nn.ReLU(True),
                                        nn.Linear(code, flat), nn.ReLU(True))
        dec, c = [], prev
        for i in range(k):
            last = i == k - 1
            nxt = out_ch if last else max(base, c // 2)
            dec.append(nn.ConvTranspose2d(c, nxt, 4, 2, 1))
            if not last:
                dec += [nn.BatchNorm2d(nxt), nn.ReLU(True)]
            c = nxt
        self.decoder = nn.Sequential(*dec, nn.Tanh())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        h = self.bottleneck(h).view(-1, *self.shape)
        return self.decoder(h)


class PatchDiscriminator(nn.Module):
    """PatchGAN: 4x4 convolutions, ``layers`` of them stride 2 (fewer when the side runs out), then a
    stride-1 convolution and a 1-channel map of scores, one per overlapping patch. Given several images
    it judges them together, concatenated along channels (each resized to the last one's side), as
    pix2pix's conditional D judges (A, B). ``scores`` answers like every gane discriminator, with one
    logit per patch (N * P,), so the adversarial losses average over patches."""

    def __init__(self, in_ch: int, size: int, width: float = 1.0, layers: int = 3, norm: str = "batch", spectral_norm: bool = False):
        super().__init__()
        base = channels(width)
        strided = halvings(size, layers, smallest=4)
        seq, prev, c = [], in_ch, base
        for i in range(strided):
            seq += [sn(nn.Conv2d(prev, c, 4, 2, 1), spectral_norm), norm_layer(norm, c) if i > 0 else nn.Identity(), nn.LeakyReLU(0.2, True)]
            prev, c = c, min(2 * c, 8 * base)
        seq += [sn(nn.Conv2d(prev, c, 3, 1, 1), spectral_norm), norm_layer(norm, c), nn.LeakyReLU(0.2, True)]
        self.body = nn.Sequential(*seq)
        self.head = sn(nn.Conv2d(c, 1, 3, 1, 1), spectral_norm)

    @staticmethod
    def _joined(inputs) -> torch.Tensor:
        side = inputs[-1].shape[-2:]
        return torch.cat([x if x.shape[-2:] == side else F.interpolate(x, size=side, mode="nearest") for x in inputs], 1)

    def scores(self, *inputs: torch.Tensor, y: torch.Tensor | None = None) -> Scores:
        h = self.body(self._joined(inputs))
        return Scores(self.head(h).flatten(), h.flatten(1))  # logits (N * P,), features (N, F)

    def forward(self, *inputs: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(self._joined(inputs)))  # (N, 1, h, w)
