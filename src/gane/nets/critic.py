"""Discriminators as one shape: a body (inputs -> features), an optional variational
bottleneck, a score head and, for class-conditional data, a projection term.

Every discriminator in gane answers ``scores(*inputs, y=None) -> Scores``, so the
adversarial losses and stabilisers (gradient penalties, feature matching, VDB)
work the same for an image D(x), a joint D(x, z) and BigBiGAN's three scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..losses import gaussian_kl
from .conv import sn
from .gaussian import gaussian_parameters, reparameterize


@dataclass
class Scores:
    """What a discriminator says about a batch."""

    logits: torch.Tensor  # (B,) or (B, S) for S separate scores
    features: torch.Tensor  # (B, F) the last hidden layer, before any bottleneck
    kl: torch.Tensor | None = None  # scalar KL(q(h|x) || N(0, I)) of the bottleneck, when there is one


class VariationalBottleneck(nn.Module):
    """features (B, F) -> a Gaussian code (B, k) sampled in training and its mean in eval,
    with KL(N(mu, sigma^2) || N(0, I)) averaged over the batch (Peng et al. 2019)."""

    def __init__(self, in_features: int, size: int):
        super().__init__()
        self.to_stats = nn.Linear(in_features, 2 * size)
        self.size = size

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = gaussian_parameters(self.to_stats(h))  # (B, k) each
        kl = gaussian_kl(mu, logvar)
        code = reparameterize(mu, logvar) if self.training else mu
        return code, kl


class Discriminator(nn.Module):
    """body(*inputs) -> features (B, F) -> [bottleneck] -> logit (B,).

    With ``num_classes`` the score gains the projection term <embed(y), h> of
    Miyato & Koyama 2018, so D judges (x, y) pairs.
    """

    def __init__(self, body: nn.Module, spectral_norm: bool = False, bottleneck: int = 0, num_classes: int | None = None):
        super().__init__()
        self.body = body
        feats = body.out_features
        self.bottleneck = VariationalBottleneck(feats, bottleneck) if bottleneck > 0 else None
        d = bottleneck if bottleneck > 0 else feats
        self.head = sn(nn.Linear(d, 1), spectral_norm)
        self.embed = sn(nn.Embedding(num_classes, d), spectral_norm) if num_classes else None

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.body(*inputs)

    def data_features(self, x: torch.Tensor) -> torch.Tensor:
        """Features of data alone (B, F): the body's, or its x path's when D judges (x, z) pairs."""
        x_path = getattr(self.body, "x_path", None)
        return x_path(x) if x_path is not None else self.body(x)

    def realism(self, x: torch.Tensor) -> torch.Tensor | None:
        """D's logit for data alone (B,), higher = more real; None when D needs a code or a class beside x."""
        if getattr(self.body, "x_path", None) is not None or self.embed is not None:
            return None
        return self(x)

    def scores(self, *inputs: torch.Tensor, y: torch.Tensor | None = None) -> Scores:
        h = self.body(*inputs)
        code, kl = self.bottleneck(h) if self.bottleneck is not None else (h, None)
        logits = self.head(code).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass y")
            logits = logits + (self.embed(y) * code).sum(1)
        return Scores(logits, h, kl)

    def forward(self, *inputs: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.scores(*inputs, y=y).logits
