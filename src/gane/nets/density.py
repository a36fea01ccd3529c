"""A Gaussian mixture over codes, fitted online while the codes are learnt.

An autoencoder has no prior; sampling it well needs a density fitted to its codes
afterwards (Ghosh et al. 2020, "From variational to deterministic autoencoders",
fit a 10-component mixture ex post). Here the fit runs alongside training: each batch
of codes takes one stochastic EM step whose sufficient statistics are exponential
moving averages, so the mixture follows the codes as the encoder changes and is
saved with the weights as buffers. No randomness is drawn, so resumed runs match.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class OnlineGaussianMixture(nn.Module):
    """K full-covariance Gaussians over d-dimensional codes."""

    def __init__(self, dim: int, components: int = 10, momentum: float = 0.01, jitter: float = 1e-4):
        super().__init__()
        self.momentum, self.jitter = momentum, jitter
        self.register_buffer("weights", torch.full((components,), 1.0 / components))
        self.register_buffer("means", torch.zeros(components, dim))
        self.register_buffer("covs", torch.eye(dim).repeat(components, 1, 1))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def _chol(self) -> torch.Tensor:
        eye = torch.eye(self.means.shape[1], device=self.means.device)
        return torch.linalg.cholesky(self.covs + self.jitter * eye)  # (K, d, d)

    def log_joint(self, z: torch.Tensor) -> torch.Tensor:
        """log w_k + log N(z | mu_k, Sigma_k): (B, K)."""
        chol = self._chol()
        diff = (z[:, None, :] - self.means[None]).unsqueeze(-1)  # (B, K, d, 1)
        sol = torch.linalg.solve_triangular(chol[None], diff, upper=False).squeeze(-1)  # (B, K, d)
        log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        d = z.shape[1]
        return self.weights.clamp_min(1e-12).log() - 0.5 * (sol.pow(2).sum(-1) + log_det + d * math.log(2 * math.pi))

    @torch.no_grad()
    def update(self, z: torch.Tensor) -> None:
        """One stochastic EM step on a batch of codes (B, d)."""
        z = z.detach().float()
        k = self.means.shape[0]
        if not bool(self.fitted):  # start from the first batch: far-apart codes as means, its covariance for all
            idx = [0]
            for _ in range(1, k):  # farthest-point seeding (deterministic k-means++)
                dist = torch.cdist(z, z[idx]).min(1).values
                idx.append(int(dist.argmax()))
            self.means.copy_(z[idx])
            cov = torch.cov(z.t()).reshape(z.shape[1], z.shape[1]) if len(z) > 1 else torch.eye(z.shape[1])
            self.covs.copy_(cov.expand_as(self.covs))
            self.fitted.fill_(True)
            return
        r = torch.softmax(self.log_joint(z), dim=1)  # (B, K) responsibilities
        nk = r.sum(0) + 1e-8  # (K,)
        means = (r.t() @ z) / nk[:, None]
        diff = z[:, None, :] - means[None]  # (B, K, d)
        covs = torch.einsum("bk,bki,bkj->kij", r, diff, diff) / nk[:, None, None]
        m = self.momentum
        self.weights.lerp_(nk / nk.sum(), m)
        seen = (nk > 1e-3)[:, None]  # components with no responsibility keep their place...
        self.means.copy_(torch.where(seen, self.means.lerp(means, m), self.means))
        self.covs.copy_(torch.where(seen[:, :, None], self.covs.lerp(covs, m), self.covs))
        dead = self.weights < 1e-3 / k  # ...and a starved one moves to the worst-explained code
        if bool(dead.any()):
            worst = self.log_joint(z).logsumexp(1).argmin()
            j = int(dead.nonzero()[0])
            self.means[j] = z[worst]
            self.weights[j] = 1.0 / k
            self.weights.div_(self.weights.sum())

    def sample(self, eps: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """Codes from the mixture, given standard normal eps (n, d) and uniform numbers (n,) picking components."""
        cum = self.weights.cumsum(0)
        comp = torch.searchsorted(cum / cum[-1], uniform.clamp(max=1 - 1e-7))  # (n,)
        return self.means[comp] + (self._chol()[comp] @ eps.unsqueeze(-1)).squeeze(-1)
