"""GAN with DCGAN networks (Goodfellow et al. 2014; Radford et al. 2016).

Objective: min_G max_D E log D(x) + E log(1 - D(G(z))). ``--loss ns`` trains G with the
non-saturating -log D(G(z)) (the default, as in practice); ``--loss minimax`` with the
original log(1 - D(G(z))). No encoder: use bigan for a GAN that can also encode.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import nets
from ..losses import ADVERSARIAL_LOSSES
from .base import AdversarialConfig, Family, Phase, register_family


@dataclass
class GANConfig(AdversarialConfig):
    pass


@register_family
class GAN(Family):
    name = "gan"
    description = "GAN / DCGAN: generator and discriminator (--loss ns|minimax, --spectral-norm)"
    Config = GANConfig

    def __init__(self, config: GANConfig, info):
        super().__init__(config, info)
        self.adv = ADVERSARIAL_LOSSES.get(config.loss)
        self.G = nets.generator(info, config.z_dim, config.width)
        self.D = nets.discriminator(info, config.width, config.spectral_norm, config.dropout)

    def phases(self):
        return [Phase("D", ("D",), self.d_loss), Phase("G", ("G",), self.g_loss)]

    def d_loss(self, batch):
        x = batch.x
        with torch.no_grad():
            fake = self.G(self.prior(len(x)))
        real_logits, fake_logits = self.D(x), self.D(fake)
        loss = self.adv.d(real_logits, fake_logits)
        return loss, {"D(x)": torch.sigmoid(real_logits).mean().detach(), "D(G(z))": torch.sigmoid(fake_logits).mean().detach()}

    def g_loss(self, batch):
        fake_logits = self.D(self.G(self.prior(len(batch.x))))
        return self.adv.g(fake_logits), {}
