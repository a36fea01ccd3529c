"""VAE-GAN (Larsen et al. 2016): a VAE whose reconstruction error is measured in the
discriminator's hidden features, and a GAN that sees reconstructions and samples.

With z ~ q(z|x) (reparameterised), x~ = G(z), x_p = G(z_p), z_p ~ N(0, I) and f the
last hidden layer of D, L_prior = KL(q(z|x) || N(0, I)), L_llike = 1/2 ||f(x) - f(x~)||^2
and L_GAN = log D(x) + log(1 - D(x~)) + log(1 - D(x_p)). Three updates, as in the paper:
E minimises beta L_prior + L_llike; G minimises gamma L_llike - L_GAN (non-saturating
by default, any ``--loss``); D maximises L_GAN. ``--pixel`` adds a pixel-space squared
error to E's and G's reconstruction terms (0 = the paper's objective). ``--code-mixture K``
samples z from K Gaussians fitted to the posterior means (G still trains on z_p ~ N(0, I)).

As in the paper's Algorithm 1, which takes all three updates from one forward pass, each
step samples z ~ q(z|x) and z_p once: E's phase draws z (and D's features of x, which no
phase before D's changes), G's phase decodes that z and z_p, and D's phase scores those
same x~ and x_p rather than encoding and decoding again.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import losses, nets
from ..fields import opt
from . import sharing
from .adversarial import Adversary
from .base import AdversarialConfig, CodeMixtureOption, Family, Phase, register_family


@dataclass
class VAEGANConfig(AdversarialConfig, CodeMixtureOption):
    z_dim: int = opt(32, "size of the latent code z", min=1)
    beta: float = opt(1.0, "weight of the KL term in E's loss", min=0)
    gamma: float = opt(1e-2, "weight of the feature reconstruction in G's loss against fooling D", min=0)
    pixel: float = opt(0.0, "weight of a pixel-space squared error added to E's and G's reconstruction terms", min=0)


@register_family
class VAEGAN(Family):
    name = "vaegan"
    data_discriminator = "D"
    description = "VAE-GAN: a VAE whose reconstruction is measured in D's features, plus a GAN on reconstructions and samples"
    Config = VAEGANConfig
    has_encoder = True

    def __init__(self, config: VAEGANConfig, info):
        super().__init__(config, info)
        self.adv = Adversary(config)
        self.E = nets.encoder(info, 2 * config.z_dim, config.width, net=config.vector_net)  # mean and log-variance
        self.G = nets.generator(info, config.z_dim, config.width, net=config.vector_net)
        self.D = self.adv.discriminator(info)

    def phases(self):
        return [Phase("E", ("E",), self.e_loss), Phase("G", ("G",), self.g_loss), Phase("D", ("D",), self.d_loss)]

    def posterior(self, x):
        return nets.gaussian_parameters(self.E(x))  # mean and log-variance (B, z_dim) each

    def _reconstruct_sampled(self, x):
        mu, logvar = self.posterior(x)
        return self.G(nets.reparameterize(mu, logvar)), mu, logvar

    def _llike(self, x, x_rec, f_real=None):
        """1/2 ||f(x) - f(x~)||^2 per example (summed over features), plus the optional pixel term.
        ``f_real``: D's features of x when already computed this step."""
        if f_real is None:
            with torch.no_grad():
                f_real = self.D.features(x)
        feat = 0.5 * losses.sum_squared_error(self.D.features(x_rec), f_real)
        pixel = losses.sum_squared_error(x_rec, x) if self.config.pixel > 0 else feat.new_zeros(())
        return feat, pixel

    def e_loss(self, batch):
        x = batch.x
        mu, logvar = self.posterior(x)
        z = nets.reparameterize(mu, logvar)
        x_rec = self.G(z)
        with torch.no_grad():
            f_real = self.D.features(x)
        sharing.leave(batch, "G", z=z.detach(), f_real=f_real)
        feat, pixel = self._llike(x, x_rec, f_real)
        kl = losses.gaussian_kl(mu, logvar)
        loss = self.config.beta * kl + feat + self.config.pixel * pixel
        return loss, {"kl": kl.detach(), "feature_recon": feat.detach(), "pixel_recon": pixel.detach()}

    def g_loss(self, batch):
        x = batch.x
        shared = sharing.take(batch, "G")
        if shared:
            z, f_real = shared["z"], shared["f_real"]
        else:
            f_real = None
            with torch.no_grad():
                z = nets.reparameterize(*self.posterior(x))
        x_rec, x_p = self.G(z), self.G(self.prior(len(x)))
        fakes = torch.cat([x_rec, x_p])
        sharing.leave(batch, "D", fakes=fakes.detach())
        feat, pixel = self._llike(x, x_rec, f_real)
        adv, logs = self.adv.g_loss(self.D, (fakes,), real=(x,))
        return self.config.gamma * (feat + self.config.pixel * pixel) + adv, logs

    def d_loss(self, batch):
        x = batch.x
        shared = sharing.take(batch, "D")
        if shared:
            fakes = shared["fakes"]
        else:
            with torch.no_grad():
                x_rec, _, _ = self._reconstruct_sampled(x)
                fakes = torch.cat([x_rec, self.G(self.prior(len(x)))])
        return self.adv.d_loss(self.D, (x,), (fakes,))

    def encode(self, x):
        """The posterior mean."""
        return self.posterior(x)[0]
