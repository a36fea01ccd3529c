"""A Gaussian mixture over an encoder's codes, fitted ex post, for sampling.

A decoder trained on codes E(x) has only seen the region of code space the data fills.
An autoencoder has no prior at all, and the codes of a VAE or adversarial autoencoder
at a small training budget leave holes in their prior, where G(z) gives blends of
digits. Ghosh et al. 2020 ("From variational to deterministic autoencoders") fit a
10-component full-covariance Gaussian mixture to the training codes after training and
sample from it. The trainer refits this one at every checkpoint (scikit-learn's EM, a
fixed seed), so any checkpoint samples from a density that matches its own encoder; it
is saved with the weights as buffers.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import GaneError


class CodeMixture(nn.Module):
    """K full-covariance Gaussians over d-dimensional codes; ``fit`` runs EM on a set of codes."""

    def __init__(self, dim: int, components: int = 10, reg: float = 1e-4):
        super().__init__()
        if components < 1:
            raise GaneError(f"A code mixture needs at least one component (got {components}).")
        self.reg = reg
        self.register_buffer("weights", torch.full((components,), 1.0 / components))
        self.register_buffer("means", torch.zeros(components, dim))
        self.register_buffer("chols", torch.eye(dim).repeat(components, 1, 1))  # Cholesky factors of the covariances
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @property
    def components(self) -> int:
        return self.means.shape[0]

    @torch.no_grad()
    def fit(self, codes: torch.Tensor, seed: int = 0) -> None:
        """EM on codes (n, d) (scikit-learn's GaussianMixture). With fewer codes than components,
        the spare components get weight 0."""
        from sklearn.mixture import GaussianMixture

        z = codes.detach().double().cpu().numpy()
        if len(z) < 2:
            raise GaneError("Fitting the code mixture needs at least two codes.")
        if not np.isfinite(z).all():
            raise GaneError("The encoder gave non-finite codes, so the code mixture cannot be fitted: training has "
                            "diverged. Resume from an earlier checkpoint with a lower --lr.")
        k = min(self.components, len(z))
        gm = GaussianMixture(k, covariance_type="full", reg_covar=self.reg, random_state=seed, max_iter=200).fit(z)
        weights = torch.zeros_like(self.weights)
        weights[:k] = torch.as_tensor(gm.weights_, dtype=weights.dtype)
        self.weights.copy_(weights)
        self.means[:k] = torch.as_tensor(gm.means_, dtype=self.means.dtype)
        self.chols[:k] = torch.linalg.cholesky(torch.as_tensor(gm.covariances_)).to(self.chols.dtype)
        self.fitted.fill_(True)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) under the mixture: (B,)."""
        diff = (z[:, None, :] - self.means[None]).unsqueeze(-1)  # (B, K, d, 1)
        sol = torch.linalg.solve_triangular(self.chols[None], diff, upper=False).squeeze(-1)  # (B, K, d)
        log_det = 2 * torch.log(torch.diagonal(self.chols, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        d = z.shape[1]
        log_norm = -0.5 * (sol.pow(2).sum(-1) + log_det + d * math.log(2 * math.pi))
        return (self.weights.clamp_min(1e-30).log() + log_norm).logsumexp(1)

    def sample(self, eps: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """Codes from the mixture, given standard normal eps (n, d) and uniform numbers (n,) picking components."""
        cum = self.weights.cumsum(0)
        comp = torch.searchsorted(cum / cum[-1], uniform.clamp(max=1 - 1e-7).contiguous())  # (n,)
        comp = comp.clamp(max=self.components - 1)
        return self.means[comp] + (self.chols[comp] @ eps.unsqueeze(-1)).squeeze(-1)
