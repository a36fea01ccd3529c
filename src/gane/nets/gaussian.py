"""A diagonal Gaussian given by a network's outputs: the VAE posterior q(z|x) and its reparameterised draw."""
from __future__ import annotations

import torch


def gaussian_parameters(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A network's outputs (B, 2k) -> mean and log-variance (B, k) each. The log-variance is clamped
    to [-30, 20] so that exp() neither underflows to a zero variance nor overflows."""
    mu, logvar = out.chunk(2, dim=1)
    return mu, logvar.clamp(-30.0, 20.0)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A draw z = mu + sigma * eps, eps ~ N(0, I), differentiable in mu and logvar (Kingma & Welling 2014). (B, k)."""
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()
