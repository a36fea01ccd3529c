"""BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017).

Objective: min_{G,E} max_D E_x log D(x, E(x)) + E_z log(1 - D(G(z), z)). The
discriminator sees joint pairs, so to fool it the encoder must map x where the
generator would have come from: at the optimum E = G^-1. E and G are trained
together with the non-saturating loss on flipped labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import nets
from ..losses import ADVERSARIAL_LOSSES
from ..fields import opt
from .base import AdversarialConfig, Family, Phase, register_family


@dataclass
class BiGANConfig(AdversarialConfig):
    z_dim: int = opt(64, "size of the latent code z")
    dropout: float = opt(0.2, "dropout in every path of D(x, z)")


@register_family
class BiGAN(Family):
    name = "bigan"
    description = "BiGAN / ALI: generator, encoder and a joint discriminator D(x, z)"
    Config = BiGANConfig
    has_encoder = True

    def __init__(self, config: BiGANConfig, info):
        super().__init__(config, info)
        self.adv = ADVERSARIAL_LOSSES.get(config.loss)
        self.G = nets.generator(info, config.z_dim, config.width)
        self.E = nets.encoder(info, config.z_dim, config.width)
        self.D = nets.joint_discriminator(info, config.z_dim, config.width, config.spectral_norm, config.dropout)

    def phases(self):
        return [Phase("D", ("D",), self.d_loss), Phase("EG", ("E", "G"), self.eg_loss)]

    def d_loss(self, batch):
        x = batch.x
        with torch.no_grad():
            z_hat = self.E(x)
            z = self.prior(len(x))
            x_fake = self.G(z)
        real_logits, fake_logits = self.D(x, z_hat), self.D(x_fake, z)  # (x, E(x)) is "real"
        loss = self.adv.d(real_logits, fake_logits)
        return loss, {"D(x,E(x))": torch.sigmoid(real_logits).mean().detach(), "D(G(z),z)": torch.sigmoid(fake_logits).mean().detach()}

    def eg_loss(self, batch):
        x = batch.x
        z = self.prior(len(x))
        real_logits, fake_logits = self.D(x, self.E(x)), self.D(self.G(z), z)
        # Flipped labels: G wants its pairs called real, E wants its pairs called fake.
        return self.adv.g(fake_logits) + self.adv.g(-real_logits), {}

    def encode(self, x):
        return self.E(x)
