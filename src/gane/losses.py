"""Pure loss functions. Each is tested against a hand-written reference in tests/test_losses.py.

Discriminator outputs are logits: D(x) = sigmoid(logit).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .registry import Registry

# --------------------------------------------------------------------------- adversarial


def d_logistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D maximises log D(x) + log(1 - D(G(z))); as a loss: softplus(-real) + softplus(fake)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """G minimises log(1 - D(G(z))) = -softplus(logit) (Goodfellow et al. 2014; saturates early)."""
    return -F.softplus(fake_logits).mean()


def g_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """G minimises -log D(G(z)) = softplus(-logit), the non-saturating ("NS") loss."""
    return F.softplus(-fake_logits).mean()


@dataclass(frozen=True)
class AdversarialLoss:
    """A D loss over (real, fake) logits and a G loss over fake logits."""

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]
    description: str


ADVERSARIAL_LOSSES: Registry[AdversarialLoss] = Registry("loss")
ADVERSARIAL_LOSSES.register("ns")(AdversarialLoss(d_logistic, g_nonsaturating, "logistic D, non-saturating G: -log D(G(z))"))
ADVERSARIAL_LOSSES.register("minimax")(AdversarialLoss(d_logistic, g_minimax, "logistic D, original minimax G: log(1 - D(G(z)))"))

# --------------------------------------------------------------------------- reconstruction and priors


def mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every element."""
    return (x_hat - x).pow(2).mean()


def sum_squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error summed over each example's elements, averaged over the batch."""
    return (x_hat - x).pow(2).flatten(1).sum(1).mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)), summed over dimensions, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1).mean()


def l1_sparsity(z: torch.Tensor) -> torch.Tensor:
    """||z||_1 per example, averaged over the batch (sparse autoencoder)."""
    return z.abs().sum(1).mean()


def jacobian_frobenius_sq(z: torch.Tensor, x: torch.Tensor, projections: int | None = None) -> torch.Tensor:
    """||dz/dx||_F^2 per example, averaged over the batch (contractive autoencoder, Rifai et al. 2011).

    ``x`` must require grad and ``z`` be computed from it. With ``projections=None``
    the Jacobian is formed exactly, one backward pass per code dimension; with
    ``projections=k`` it is estimated without bias from k random directions
    (E_v ||J^T v||^2 = ||J||_F^2 for v ~ N(0, I)), which costs k passes.
    The result keeps its graph so it can be minimised.
    """
    b = z.shape[0]
    total = z.new_zeros(())
    if projections is None:
        for j in range(z.shape[1]):
            (g,) = torch.autograd.grad(z[:, j].sum(), x, create_graph=True)
            total = total + g.pow(2).sum()
        return total / b
    for _ in range(projections):
        v = torch.randn_like(z)
        (g,) = torch.autograd.grad((z * v).sum(), x, create_graph=True)
        total = total + g.pow(2).sum()
    return total / (b * projections)
