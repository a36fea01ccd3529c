"""Networks of VQGAN (Esser et al. 2021) in small: a convolutional encoder to a grid of vectors, a codebook
that quantizes each vector to its nearest code (van den Oord et al. 2017), a decoder, and a small
autoregressive transformer over the code grid.

The quantizer passes gradients straight through (z_q = z + sg(e - z)); the encoder is pulled to its codes
by the commitment loss beta ||z - sg(e)||^2; the codes move either by the codebook loss ||sg(z) - e||^2 or,
with ``ema``, as exponential moving averages of the vectors assigned to them (van den Oord et al. 2017,
appendix), where a code no vector has chosen for a while is restarted at a random encoder output.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attention_block
from .conv import base_channels
from .staged import Stage, StagedGenerator, sequential_stages


class ResBlock(nn.Module):
    """x + conv(relu(conv(relu(x)))), 3x3 convolutions with group norm."""

    def __init__(self, channels: int):
        super().__init__()
        groups = math.gcd(8, channels)
        self.body = nn.Sequential(nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, 1, 1),
                                  nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def grid_channels(width: float, halvings: int) -> list[int]:
    """Channels from full resolution down to the grid: 1, 2, 4 times the base, at most 4."""
    ch = base_channels(width)
    return [ch * min(4, 2**i) for i in range(halvings + 1)]


class VQEncoder(nn.Module):
    """image (B, C, H, W) -> vectors (B, dim, H / 2^k, W / 2^k): a residual block at each resolution, stride-2 convs between."""

    def __init__(self, channels: int, dim: int, halvings: int, width: float = 1.0, side: int = 0):
        super().__init__()
        chans = grid_channels(width, halvings)
        layers: list[nn.Module] = [nn.Conv2d(channels, chans[0], 3, 1, 1)]
        for i in range(halvings):
            layers += [ResBlock(chans[i]), nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1), *attention_block(side >> (i + 1), chans[i + 1])]
        layers += [ResBlock(chans[-1]), nn.GroupNorm(math.gcd(8, chans[-1]), chans[-1]), nn.SiLU(), nn.Conv2d(chans[-1], dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class VQDecoder(StagedGenerator):
    """vectors (B, dim, h, w) -> image (B, C, h 2^k, w 2^k): the encoder mirrored, nearest upsampling then 3x3 convs.
    ``last`` is the final convolution, whose gradients set VQGAN's adaptive adversarial weight. Stages: the
    grid's first block, each upsampling level, and the output."""

    def __init__(self, channels: int, dim: int, halvings: int, width: float = 1.0, side: int = 0):
        super().__init__()
        chans = grid_channels(width, halvings)[::-1]
        grid = side >> halvings
        layers: list[nn.Module] = [nn.Conv2d(dim, chans[0], 3, 1, 1), ResBlock(chans[0]), *attention_block(grid, chans[0])]
        self._ends = [len(layers)]  # stages end after the grid's block, then after each level's
        for i in range(halvings):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(chans[i], chans[i + 1], 3, 1, 1), ResBlock(chans[i + 1]),
                       *attention_block(grid << (i + 1) if i + 1 < halvings else 0, chans[i + 1])]
            self._ends.append(len(layers))
        layers += [nn.GroupNorm(math.gcd(8, chans[-1]), chans[-1]), nn.SiLU()]
        self.net = nn.Sequential(*layers)
        self.last = nn.Conv2d(chans[-1], channels, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.last(self.net(z))

    def stages(self) -> list[Stage]:
        inner = sequential_stages(self.net, self._ends)
        tail = list(self.net)[self._ends[-1]:]

        def out(h, cond):
            for layer in tail:
                h = layer(h)
            return self.last(h)

        return [*inner, out]


class VectorQuantizer(nn.Module):
    """vectors (B, dim, h, w) -> their nearest codes of a codebook (K, dim), with straight-through gradients.

    ``usage`` is a running share of assignments per code (decay 0.99), kept in both modes, from which
    the dead codes are counted (a share under 1% of the uniform 1/K)."""

    def __init__(self, num_codes: int, dim: int, beta: float = 0.25, ema: bool = True, decay: float = 0.99):
        super().__init__()
        self.num_codes, self.dim, self.beta, self.ema, self.decay = num_codes, dim, beta, ema, decay
        init = torch.randn(num_codes, dim) / math.sqrt(dim)
        if ema:
            self.register_buffer("codebook", init)
            self.register_buffer("cluster_size", torch.ones(num_codes))
            self.register_buffer("code_sum", init.clone())
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("usage", torch.full((num_codes,), 1.0 / num_codes))

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Indices (B, h, w) of the code nearest each vector of z (B, dim, h, w), by Euclidean distance."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)
        e = self.codebook
        distance = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]
        return distance.argmin(1).view(z.shape[0], *z.shape[2:])

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Indices (B, h, w) -> code vectors (B, dim, h, w)."""
        return self.codebook[indices].permute(0, 3, 1, 2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """(z_q with straight-through gradients, indices, the quantization loss, usage statistics)."""
        indices = self.nearest(z.detach())
        e = self.lookup(indices)
        commitment = (z - e.detach()).pow(2).mean()
        loss = self.beta * commitment if self.ema else self.beta * commitment + (z.detach() - e).pow(2).mean()
        counts = torch.bincount(indices.flatten(), minlength=self.num_codes).to(z.dtype)
        share = counts / counts.sum()
        if self.training:
            with torch.no_grad():
                self.usage.lerp_(share, 1 - self.decay)
                if self.ema:
                    self._ema_update(z.detach(), indices, counts)
        perplexity = torch.exp(-(share * torch.log(share.clamp_min(1e-10))).sum())
        stats = {"perplexity": perplexity.detach(), "dead_codes": (self.usage < 0.01 / self.num_codes).sum().to(z.dtype)}
        z_q = z + (e - z).detach()
        return z_q, indices, loss, stats

    @torch.no_grad()
    def _ema_update(self, z: torch.Tensor, indices: torch.Tensor, counts: torch.Tensor) -> None:
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.dim)
        onehot = F.one_hot(indices.flatten(), self.num_codes).to(flat.dtype)  # (N, K)
        self.cluster_size.lerp_(counts, 1 - self.decay)
        self.code_sum.lerp_(onehot.t() @ flat, 1 - self.decay)
        n = self.cluster_size.sum()
        size = (self.cluster_size + 1e-5) / (n + self.num_codes * 1e-5) * n  # Laplace smoothing: no division by zero
        self.codebook.copy_(self.code_sum / size[:, None])
        dead = self.usage < 0.01 / self.num_codes
        if bool(dead.any()):  # restart each dead code at a random vector of this batch
            pick = torch.randint(0, len(flat), (int(dead.sum()),), device=flat.device)
            self.codebook[dead] = flat[pick]
            self.code_sum[dead] = flat[pick]
            self.cluster_size[dead] = 1.0
            self.usage[dead] = 1.0 / self.num_codes


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.qkv, self.proj, self.heads = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim), heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # (B, heads, T, d/heads) each
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(out.transpose(1, 2).reshape(b, t, d))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class CodeTransformer(nn.Module):
    """A GPT over code sequences: the first position holds a start token (one per class when
    ``num_classes`` > 0, else one), each later position the previous code; the output at position i is
    the distribution of code i given the start token and codes before i. (B, T) codes -> (B, T, K) logits."""

    def __init__(self, num_codes: int, length: int, dim: int = 128, layers: int = 4, heads: int = 4, num_classes: int = 0):
        super().__init__()
        self.num_codes, self.length, self.num_classes = num_codes, length, num_classes
        self.tokens = nn.Embedding(num_codes, dim)
        self.start = nn.Embedding(max(1, num_classes), dim)
        self.position = nn.Parameter(torch.zeros(length, dim))
        self.blocks = nn.Sequential(*[TransformerBlock(dim, heads) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(dim), nn.Linear(dim, num_codes)
        nn.init.normal_(self.position, std=0.02)

    def forward(self, codes: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        b, t = codes.shape
        start = self.start(classes if classes is not None and self.num_classes else torch.zeros(b, dtype=torch.long, device=codes.device))
        x = torch.cat([start[:, None], self.tokens(codes[:, : t - 1])], 1) if t > 1 else start[:, None]
        x = x + self.position[:t]
        return self.head(self.ln(self.blocks(x)))  # (B, T, K)

    @torch.no_grad()
    def generate(self, n: int, classes: torch.Tensor | None = None, top_k: int = 0, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """n sequences (n, length) drawn code by code; ``top_k`` > 0 keeps only the k likeliest codes at
        each step. Random numbers come from ``generator`` (on the CPU) when given."""
        device = self.position.device
        codes = torch.zeros(n, 0, dtype=torch.long, device=device)
        for _ in range(self.length):
            padded = torch.cat([codes, codes.new_zeros(n, 1)], 1)  # the last input is never read for the new position
            logits = self(padded, classes)[:, -1].float() / max(temperature, 1e-6)
            if top_k and top_k < self.num_codes:
                kth = logits.topk(top_k, dim=1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, 1).cpu()
            nxt = torch.multinomial(probs, 1, generator=generator).to(device)
            codes = torch.cat([codes, nxt], 1)
        return codes
