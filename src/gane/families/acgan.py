"""ACGAN: auxiliary classifier GAN (Odena et al. 2017).

G(z, c) generates class c (its one-hot joins the code); D, besides real/fake, predicts
the class with an auxiliary head C sharing its body. D and C maximise
log P(real/fake) + log P(c | x) on real and generated images; G fools D and
maximises log P(c | G(z, c)). ``gane sample RUN --class K`` draws class K.
Each step draws one batch of codes: D's phase computes G(z, c) with a graph through G and
G's phase backpropagates through that same batch (scored by the updated D and C).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import nets
from ..fields import opt
from . import sharing
from .adversarial import Adversary
from .base import AdversarialConfig, Family, Phase, register_family


@dataclass
class ACGANConfig(AdversarialConfig):
    class_weight: float = opt(1.0, "weight of the auxiliary classification loss", min=0)


@register_family
class ACGAN(Family):
    name = "acgan"
    data_discriminator = "D"
    description = "ACGAN: class-conditional G(z, c); D also classifies (sample --class K); needs labels"
    Config = ACGANConfig

    def __init__(self, config: ACGANConfig, info):
        super().__init__(config, info)
        self.classes = self.labels_needed("ACGAN")
        self.adv = Adversary(config)
        self.G = nets.generator(info, self.code_dim, config.width, net=config.vector_net)
        self.D = self.adv.discriminator(info)
        self.C = nn.Linear(self.D.body.out_features, self.classes)

    def phases(self):
        return [Phase("D", ("D", "C"), self.d_loss), Phase("G", ("G",), self.g_loss)]

    def d_loss(self, batch):
        x, y = batch.x, batch.y
        code = self.prior(len(x))
        with sharing.recording(self.G):  # G's phase backpropagates through this G(z, c)
            x_fake = self.G(code)
        sharing.leave(batch, "G", code=code, x_fake=x_fake)
        loss, logs, r, f = self.adv.d_loss_and_scores(self.D, (x,), (x_fake.detach(),))
        ce_real = F.cross_entropy(self.C(r.features), y)
        ce_fake = F.cross_entropy(self.C(f.features), self.code_class(code))
        loss = loss + self.config.class_weight * (ce_real + ce_fake)
        return loss, {**logs, "class_ce_real": ce_real.detach(), "class_ce_fake": ce_fake.detach()}

    def g_loss(self, batch):
        shared = sharing.take(batch, "G")
        code = shared["code"] if shared else self.prior(len(batch.x))
        x_fake = shared["x_fake"] if shared else self.G(code)
        loss, logs, f = self.adv.g_loss_and_scores(self.D, (x_fake,), real=(batch.x,))
        ce = F.cross_entropy(self.C(f.features), self.code_class(code))
        return loss + self.config.class_weight * ce, {**logs, "class_ce": ce.detach()}
