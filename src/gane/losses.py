"""Pure loss functions. Each is tested against a hand-written reference in tests/test_losses.py.

Discriminator outputs are logits: D(x) = sigmoid(logit).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

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


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for D (Lim & Ye 2017; Miyato et al. 2018): relu(1 - real) + relu(1 + fake)."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's side of the hinge loss: -D(G(z))."""
    return -fake_logits.mean()


def d_wasserstein(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The critic's loss of WGAN (Arjovsky et al. 2017): E D(G(z)) - E D(x). Pair it with a penalty."""
    return fake_logits.mean() - real_logits.mean()


def g_wasserstein(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's side of WGAN: -E D(G(z))."""
    return -fake_logits.mean()


def d_least_squares(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN's D loss (Mao et al. 2017, a=0, b=c=1): 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2."""
    return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def g_least_squares(fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN's G loss: 1/2 (D(G(z)) - 1)^2."""
    return 0.5 * (fake_logits - 1).pow(2).mean()


@dataclass(frozen=True)
class AdversarialLoss:
    """A D loss over (real, fake) scores, and two losses for the other players.

    ``g(scores)`` is what a player minimises to have its inputs called real;
    ``g_flipped(scores)`` to have inputs that D calls real called fake instead
    (BiGAN's encoder). ``penalty`` names a gradient penalty the loss needs.
    """

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]
    g_flipped: Callable[[torch.Tensor], torch.Tensor]
    description: str
    penalty: str | None = None


ADVERSARIAL_LOSSES: Registry[AdversarialLoss] = Registry("loss")
ADVERSARIAL_LOSSES.register("ns")(AdversarialLoss(
    d_logistic, g_nonsaturating, lambda s: F.softplus(s).mean(),
    "logistic D, non-saturating G: -log D(G(z)) (Goodfellow et al. 2014)"))
ADVERSARIAL_LOSSES.register("minimax")(AdversarialLoss(
    d_logistic, g_minimax, lambda s: -F.softplus(-s).mean(),
    "logistic D, original minimax G: log(1 - D(G(z)))"))
ADVERSARIAL_LOSSES.register("hinge")(AdversarialLoss(
    d_hinge, g_hinge, lambda s: s.mean(),
    "hinge D: relu(1 - D(x)) + relu(1 + D(G(z))), G: -D(G(z)) (Miyato et al. 2018)"))
ADVERSARIAL_LOSSES.register("wgan-gp")(AdversarialLoss(
    d_wasserstein, g_wasserstein, lambda s: s.mean(),
    "Wasserstein critic with gradient penalty (Gulrajani et al. 2017; --gp-weight)", penalty="gradient"))
ADVERSARIAL_LOSSES.register("lsgan")(AdversarialLoss(
    d_least_squares, g_least_squares, lambda s: 0.5 * s.pow(2).mean(),
    "least squares: D pushes real to 1 and fake to 0, G pushes fake to 1 (Mao et al. 2017)"))


def gradient_penalty(critic: Callable[..., torch.Tensor], real: Sequence[torch.Tensor], fake: Sequence[torch.Tensor]) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): E (||grad critic(x_t)|| - 1)^2 at random points
    x_t = t x_real + (1 - t) x_fake on the lines between real and fake inputs.

    ``critic`` takes one or more inputs (e.g. x and z for a joint discriminator); each
    example is interpolated with one t for all of its inputs, and the norm is taken
    over the gradients of all inputs together. Keeps the graph, so it can be minimised.
    """
    b = fake[0].shape[0]
    if real[0].shape[0] != b:  # k fakes per real example (e.g. reconstructions and samples): repeat the reals
        real = [r.repeat(b // r.shape[0], *[1] * (r.ndim - 1)) for r in real]
    t = torch.rand(b, device=real[0].device)
    points = [(t.view(-1, *[1] * (r.ndim - 1)) * r.detach() + (1 - t.view(-1, *[1] * (r.ndim - 1))) * f.detach()).requires_grad_(True)
              for r, f in zip(real, fake)]
    grads = torch.autograd.grad(critic(*points).sum(), points, create_graph=True)
    norm = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads) + 1e-12)  # (B,)
    return (norm - 1).pow(2).mean()


def r1_penalty(critic: Callable[..., torch.Tensor], real: Sequence[torch.Tensor]) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E ||grad critic(x_real)||^2 over all inputs; weight it by gamma / 2."""
    points = [r.detach().requires_grad_(True) for r in real]
    grads = torch.autograd.grad(critic(*points).sum(), points, create_graph=True)
    return sum(g.flatten(1).pow(2).sum(1) for g in grads).mean()


def feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Salimans et al. 2016: ||E f(x) - E f(G(z))||^2 over D's hidden features f, (B, F) each."""
    return (real_features.mean(0) - fake_features.mean(0)).pow(2).sum()


def ebgan_margin(real_energy: torch.Tensor, fake_energy: torch.Tensor, margin: float) -> torch.Tensor:
    """EBGAN's D loss (Zhao et al. 2017): E D(x) + E max(0, m - D(G(z))), energies (B,) >= 0."""
    return real_energy.mean() + F.relu(margin - fake_energy).mean()


def pulling_away(codes: torch.Tensor) -> torch.Tensor:
    """EBGAN's pulling-away term: mean squared cosine similarity between distinct codes of a batch (B, F)."""
    b = codes.shape[0]
    if b < 2:  # no pairs to pull apart
        return codes.new_zeros(())
    s = F.normalize(codes.flatten(1), dim=1)
    cos2 = (s @ s.t()).pow(2)
    return (cos2.sum() - cos2.diagonal().sum()) / (b * (b - 1))


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
