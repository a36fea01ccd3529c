"""Variational autoencoder (Kingma & Welling 2014).

Objective: max E_q[log p(x|z)] - beta * KL(q(z|x) || N(0, I)), with q(z|x) = N(mu, sigma^2)
from the encoder and z drawn by the reparameterisation trick. p(x|z) is Gaussian with a
fixed standard deviation ``recon_std`` (in the [-1, 1] pixel scale): smaller values weigh
reconstruction more against the prior and give sharper, less regular samples.
``--code-mixture K`` samples z from K Gaussians fitted to the posterior means instead of
N(0, I), which fills the holes the codes leave in the prior (docs/families.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import losses, nets
from ..fields import opt
from .base import CodeMixtureOption, Family, FamilyConfig, Phase, register_family


@dataclass
class VAEConfig(FamilyConfig, CodeMixtureOption):
    z_dim: int = opt(16, "size of the latent code z", min=1)
    beta: float = opt(1.0, "weight of the KL term (beta-VAE when not 1)", min=0)
    recon_std: float = opt(0.25, "std of the Gaussian likelihood p(x|z), in [-1, 1] pixel units", above=0)


@register_family
class VAE(Family):
    name = "vae"
    description = "variational autoencoder: reconstruction likelihood + KL to N(0, I) (--beta, --recon-std)"
    Config = VAEConfig
    has_encoder = True

    def __init__(self, config: VAEConfig, info):
        super().__init__(config, info)
        self.E = nets.encoder(info, 2 * config.z_dim, config.width, net=config.vector_net)  # mean and log-variance
        self.G = nets.generator(info, config.z_dim, config.width, net=config.vector_net)

    def phases(self):
        return [Phase("VAE", ("E", "G"), self.loss)]

    def posterior(self, x):
        return nets.gaussian_parameters(self.E(x))  # mean and log-variance (B, z_dim) each

    def loss(self, batch):
        x = batch.x
        mu, logvar = self.posterior(x)
        z = nets.reparameterize(mu, logvar)
        nll = losses.sum_squared_error(self.G(z), x) / (2 * self.config.recon_std**2)
        kl = losses.gaussian_kl(mu, logvar)
        return nll + self.config.beta * kl, {"nll": nll.detach(), "kl": kl.detach()}

    def encode(self, x):
        """The posterior mean: a deterministic code for reconstruction and editing."""
        return self.posterior(x)[0]
