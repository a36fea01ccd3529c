"""alpha-GAN (Rosca et al. 2017): an autoencoder, an image discriminator on
reconstructions and samples, and a code discriminator.

With z_hat = E(x), x_rec = G(z_hat) and x_gen = G(z), z ~ N(0, I):
E minimises lambda ||x - x_rec||_1 and fools the code discriminator C(z_hat);
G minimises lambda ||x - x_rec||_1 and fools the image discriminator D on x_rec and x_gen;
D tells x from x_rec and x_gen; C tells z from z_hat. Any ``--loss`` (non-saturating
by default); the stabilisers apply to both discriminators.

z_hat and the reconstructions G(z_hat) scored by D are computed once per step: D's phase
computes them with graphs through E and G, C's phase uses z_hat, and E and G's phase
backpropagates through them (scored by the updated D and C). E and G's phase draws its own
prior samples x_gen rather than D's: trained on the very samples D has just learnt to reject,
reconstructions kept fewer of their classes (docs/presets.md, "alphagan and shared samples").
The reconstruction term decodes z_hat again, since its gradient must reach E and G's
adversarial term's must not.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import nets
from ..fields import opt
from . import sharing
from .adversarial import Adversary
from .base import AdversarialConfig, CodeMixtureOption, Family, Phase, register_family


@dataclass
class AlphaGANConfig(AdversarialConfig, CodeMixtureOption):
    z_dim: int = opt(32, "size of the latent code z", min=1)
    recon_weight: float = opt(10.0, "lambda: weight of the L1 reconstruction against the adversarial terms", min=0)


@register_family
class AlphaGAN(Family):
    name = "alphagan"
    data_discriminator = "D"
    description = "alpha-GAN: autoencoder + image discriminator (reconstructions and samples) + code discriminator"
    Config = AlphaGANConfig
    has_encoder = True

    def __init__(self, config: AlphaGANConfig, info):
        super().__init__(config, info)
        self.adv = Adversary(config)
        self.E = nets.encoder(info, config.z_dim, config.width, net=config.vector_net)
        # No batch norm in G: it decodes E's codes and prior codes in separate batches, so in training
        # it normalised each kind by its own statistics while eval mode has one running average of
        # both. Reconstructions then kept their class far less in eval mode than in training (57%
        # against 96% on mnist-5k, seed 2).
        self.G = nets.generator(info, config.z_dim, config.width, batch_norm=False, net=config.vector_net)
        self.D = self.adv.discriminator(info)
        self.C = self.adv.code_discriminator(config.z_dim)

    def phases(self):
        return [Phase("D", ("D",), self.d_loss), Phase("C", ("C",), self.c_loss), Phase("EG", ("E", "G"), self.eg_loss)]

    def _codes_and_reconstructions(self, x):
        """z_hat = E(x) and G's reconstructions decoded from the detached z_hat (G's adversarial
        term on them must not train E)."""
        z_hat = self.E(x)
        return z_hat, self.G(z_hat.detach())

    def d_loss(self, batch):
        x = batch.x
        with sharing.recording(self.E, self.G):  # E and G's phase backpropagates through these
            z_hat, x_rec = self._codes_and_reconstructions(x)
        x_gen = self.G(self.prior(len(x)))
        sharing.leave(batch, "C", z_hat=z_hat.detach())
        sharing.leave(batch, "EG", z_hat=z_hat, x_rec=x_rec)
        return self.adv.d_loss(self.D, (x,), (torch.cat([x_rec.detach(), x_gen.detach()]),))

    def c_loss(self, batch):
        shared = sharing.take(batch, "C")
        if shared:
            z_hat = shared["z_hat"]
        else:
            with torch.no_grad():
                z_hat = self.E(batch.x)
        return self.adv.d_loss(self.C, (self.prior(len(z_hat)),), (z_hat,))  # prior codes are "real"

    def eg_loss(self, batch):
        x = batch.x
        shared = sharing.take(batch, "EG")
        z_hat, x_rec = (shared["z_hat"], shared["x_rec"]) if shared else self._codes_and_reconstructions(x)
        x_gen = self.G(self.prior(len(x)))  # fresh samples, not those D's phase was trained on
        rec = (self.G(z_hat) - x).abs().flatten(1).mean(1).mean()
        code_adv, _ = self.adv.g_loss(self.C, (z_hat,))  # E's adversarial term
        image_adv, logs = self.adv.g_loss(self.D, (torch.cat([x_rec, x_gen]),), real=(x,))
        loss = self.config.recon_weight * rec + code_adv + image_adv
        return loss, {"recon_l1": rec.detach(), "code_adv": code_adv.detach(), "image_adv": image_adv.detach(), **logs}

    def encode(self, x):
        return self.E(x)
