"""Autoencoders: plain, denoising, sparse and contractive.

Objective: min ||x - G(E(x~))||^2 + sparse * ||E(x)||_1 + contractive * ||dE(x)/dx||_F^2,
where x~ = x + noise * N(0, I) (denoising; Vincent et al. 2008), and the Jacobian
penalty is Rifai et al. 2011's. With all three at 0 it is the plain autoencoder
(Hinton & Salakhutdinov 2006). An autoencoder has no prior of its own, so it
samples G(z) with z from a mixture of ``--code-mixture`` full-covariance Gaussians
fitted to the codes E(x) of the training data at every checkpoint (Ghosh et al. 2020's
ex-post density estimation; saved with the weights). Expect plausible but blurrier
samples than a GAN's.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import losses, nets
from ..fields import opt
from .base import CodeMixtureOption, Family, FamilyConfig, Phase, register_family


@dataclass
class AEConfig(FamilyConfig, CodeMixtureOption):
    z_dim: int = opt(32, "size of the code", min=1)
    noise: float = opt(0.0, "std of the Gaussian corruption of the input (denoising AE)", min=0)
    sparse: float = opt(0.0, "weight of the L1 penalty on the code (sparse AE)", min=0)
    contractive: float = opt(0.0, "weight of the Jacobian penalty ||dE(x)/dx||_F^2 (contractive AE)", min=0)
    contractive_projections: int = opt(4, "random projections per step estimating the Jacobian penalty (0 = exact)", min=0)
    code_mixture: int = opt(10, "Gaussians in the mixture fitted to the codes at every checkpoint, which sample() "
                                "draws from (0 = N(0, I), which an autoencoder's codes do not follow)", min=0)


@register_family
class AE(Family):
    name = "ae"
    description = "autoencoder: plain, denoising (--noise), sparse (--sparse) or contractive (--contractive)"
    Config = AEConfig
    has_encoder = True

    def __init__(self, config: AEConfig, info):
        super().__init__(config, info)
        self.E = nets.encoder(info, config.z_dim, config.width, net=config.vector_net)
        self.G = nets.generator(info, config.z_dim, config.width, net=config.vector_net)

    def phases(self):
        return [Phase("AE", ("E", "G"), self.loss)]

    def loss(self, batch):
        x = batch.x
        c = self.config
        x_in = x + c.noise * torch.randn_like(x) if c.noise > 0 else x
        if c.contractive > 0:
            x_in = x_in.detach().requires_grad_(True)
        z = self.E(x_in)
        rec = losses.mse(self.G(z), x)
        total = rec
        logs = {"recon": rec.detach()}
        if c.sparse > 0:
            l1 = losses.l1_sparsity(z)
            total = total + c.sparse * l1
            logs["l1"] = l1.detach()
        if c.contractive > 0:
            jac = losses.jacobian_frobenius_sq(z, x_in, c.contractive_projections or None)
            total = total + c.contractive * jac
            logs["jacobian"] = jac.detach()
        return total, logs

    def encode(self, x):
        return self.E(x)
