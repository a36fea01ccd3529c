"""GAN with DCGAN networks (Goodfellow et al. 2014; Radford et al. 2016).

Objective: min_G max_D E log D(x) + E log(1 - D(G(z))), G trained with the
non-saturating -log D(G(z)) by default; ``--loss`` picks minimax, hinge, wgan-gp or
lsgan instead, and ``--spectral-norm``, ``--r1``, ``--feature-matching`` and ``--vdb``
stabilise D. ``--conditional`` makes it a class-conditional GAN: the class one-hot
joins the code G(z, y), and D is a projection discriminator of (x, y) (Miyato & Koyama 2018).
No encoder: use bigan for a GAN that can also encode.

Each step draws one batch of codes: D's phase computes G(z) with a graph through G and
G's phase backpropagates through that same G(z) (scored by the updated D), as the PyTorch
DCGAN example does, rather than running G again on fresh codes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nets
from ..fields import opt
from . import sharing
from .adversarial import Adversary
from .base import AdversarialConfig, Family, Phase, register_family


@dataclass
class GANConfig(AdversarialConfig):
    conditional: bool = opt(False, "class-conditional: G(z, y) and a projection discriminator D(x, y); needs labels")


@register_family
class GAN(Family):
    name = "gan"
    data_discriminator = "D"
    description = "GAN / DCGAN: generator and discriminator (--loss, --spectral-norm, --r1, --conditional)"
    Config = GANConfig

    def __init__(self, config: GANConfig, info):
        super().__init__(config, info)
        self.classes = self.labels_needed("--conditional") if config.conditional else 0
        self.adv = Adversary(config)
        self.G = nets.generator(info, self.code_dim, config.width, net=config.vector_net)
        self.D = self.adv.discriminator(info, num_classes=self.classes or None)

    def phases(self):
        return [Phase("D", ("D",), self.d_loss), Phase("G", ("G",), self.g_loss)]

    def _fake(self, n):
        code = self.prior(n)
        return self.G(code), (self.code_class(code) if self.classes else None)

    def d_loss(self, batch):
        x = batch.x
        with sharing.recording(self.G):  # G's phase backpropagates through this G(z)
            x_fake, y_fake = self._fake(len(x))
        sharing.leave(batch, "G", x_fake=x_fake, y_fake=y_fake)
        return self.adv.d_loss(self.D, (x,), (x_fake.detach(),), batch.y if self.classes else None, y_fake)

    def g_loss(self, batch):
        shared = sharing.take(batch, "G")
        x_fake, y_fake = (shared["x_fake"], shared["y_fake"]) if shared else self._fake(len(batch.x))
        return self.adv.g_loss(self.D, (x_fake,), y_fake, real=(batch.x,), y_real=batch.y if self.classes else None)
