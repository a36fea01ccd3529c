"""EBGAN: energy-based GAN (Zhao et al. 2017).

D is an autoencoder and the energy of x is its reconstruction error D(x) = mean ||Dec(Enc(x)) - x||^2.
D minimises D(x) + max(0, m - D(G(z))) (the margin loss: low energy on data, at least m on
samples); G minimises D(G(z)) + pt_weight * PT, where the pulling-away term PT, the mean
squared cosine similarity between the D-codes of a batch of samples, keeps G from collapsing.
EBGAN's loss is its own, so ``--loss`` and the logit-based stabilisers do not apply.
D's phase computes G(z) with a graph through G and G's phase backpropagates through that
same batch of samples (its energy under the updated D) instead of running G again.
"""
from __future__ import annotations

from dataclasses import dataclass


from .. import losses, nets
from ..fields import opt
from . import sharing
from .base import Family, FamilyConfig, Phase, register_family


@dataclass
class EBGANConfig(FamilyConfig):
    margin: float = opt(0.3, "m: the energy (mean squared error, [-1, 1] pixel units) D pushes samples above", above=0)
    pt_weight: float = opt(0.1, "weight of the pulling-away term in G's loss (0 = off)", min=0)
    d_code: int = opt(32, "size of the code of D's autoencoder", min=1)


@register_family
class EBGAN(Family):
    name = "ebgan"
    data_discriminator = "D"
    description = "EBGAN: an autoencoder discriminator whose reconstruction error is the energy, margin loss, pulling-away term"
    Config = EBGANConfig

    def __init__(self, config: EBGANConfig, info):
        super().__init__(config, info)
        self.G = nets.generator(info, config.z_dim, config.width, net=config.vector_net)
        self.D = nets.autoencoder_discriminator(info, config.d_code, config.width, net=config.vector_net)

    def phases(self):
        return [Phase("D", ("D",), self.d_loss), Phase("G", ("G",), self.g_loss)]

    def d_loss(self, batch):
        with sharing.recording(self.G):  # G's phase backpropagates through these samples
            x_fake = self.G(self.prior(len(batch.x)))
        sharing.leave(batch, "G", x_fake=x_fake)
        real_energy, fake_energy = self.D(batch.x), self.D(x_fake.detach())
        loss = losses.ebgan_margin(real_energy, fake_energy, self.config.margin)
        return loss, {"energy(real)": real_energy.mean().detach(), "energy(fake)": fake_energy.mean().detach()}

    def g_loss(self, batch):
        shared = sharing.take(batch, "G")
        x_fake = shared["x_fake"] if shared else self.G(self.prior(len(batch.x)))
        energy, code = self.D.energy_and_code(x_fake)
        loss = energy.mean()
        logs = {}
        if self.config.pt_weight > 0:
            pt = losses.pulling_away(code)
            loss = loss + self.config.pt_weight * pt
            logs["pulling_away"] = pt.detach()
        return loss, logs
