"""InfoGAN (Chen et al. 2016).

The code is (z, c): noise z, a categorical code c1 and continuous codes c2, c3, ...
uniform on [-1, 1]. Besides the GAN game, G and an auxiliary head Q(c | x) that
shares D's body maximise a lower bound of the mutual information I(c; G(z, c)):
min_{G,Q} V_GAN - lambda (E log Q(c1 | G(z, c)) + lambda_cont E log Q(c_cont | G(z, c))),
with a Gaussian of unit variance for the continuous codes. Without labels, c1 tends to
pick up the digit class and c2, c3 the slant and width: ``gane sample RUN --sweep c1``
draws the classic "varying c1" grid (one row per z, one column per category).
Each step draws one batch of codes: D's phase computes G(z, c) with a graph through G and
G's phase backpropagates through that same batch (scored by the updated D and Q).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import nets
from ..errors import GaneError
from ..fields import opt
from . import sharing
from .adversarial import Adversary
from .base import AdversarialConfig, CodePart, Family, Phase, register_family


@dataclass
class InfoGANConfig(AdversarialConfig):
    z_dim: int = opt(62, "size of the noise part z of the code", min=1)
    categorical: int = opt(10, "categories of the categorical code c1 (0 = none)",
                           check=lambda k: None if k == 0 or k >= 2 else "0 (no categorical code) or at least 2")
    continuous: int = opt(2, "number of continuous codes c2, c3, ... (uniform on [-1, 1])", min=0)
    info_weight: float = opt(1.0, "lambda: weight of the mutual-information term of the categorical code", min=0)
    continuous_weight: float = opt(0.1, "lambda_cont: weight of the continuous codes' term", min=0)


@register_family
class InfoGAN(Family):
    name = "infogan"
    data_discriminator = "D"
    description = "InfoGAN: GAN + categorical and continuous codes recovered by a head Q sharing D's body (sample --sweep c1)"
    Config = InfoGANConfig

    def __init__(self, config: InfoGANConfig, info):
        super().__init__(config, info)
        if config.categorical == 1 or config.categorical < 0 or config.continuous < 0 or config.categorical + config.continuous == 0:
            raise GaneError("InfoGAN needs at least one code: --categorical K (K >= 2) and/or --continuous N (N >= 1).")
        self.adv = Adversary(config)
        self.G = nets.generator(info, self.code_dim, config.width, net=config.vector_net)
        self.D = self.adv.discriminator(info)
        h = nets.hidden_units(config.width) // 2
        self.Q = nn.Sequential(nn.Linear(self.D.body.out_features, h), nn.LeakyReLU(0.2, True), nn.Linear(h, config.categorical + config.continuous))

    def code_parts(self):
        c = self.config
        parts = [CodePart("z", self.z_dim)]
        if c.categorical:
            parts.append(CodePart("c1", c.categorical, "categorical"))
        first = 2 if c.categorical else 1
        parts += [CodePart(f"c{first + i}", 1, "uniform") for i in range(c.continuous)]
        return parts

    def phases(self):
        # Q shares D's body: D's update also trains Q on generated images, and G's update trains Q with G.
        return [Phase("D", ("D", "Q"), self.d_loss), Phase("G", ("G", "Q"), self.g_loss)]

    def info_loss(self, features: torch.Tensor, code: torch.Tensor):
        """-log Q(c | x) for the generated batch's codes, from D's features (B, F)."""
        c = self.config
        out = self.Q(features)  # (B, K + n_cont)
        sl = self.z_dim
        loss, logs = features.new_zeros(()), {}
        if c.categorical:
            ce = F.cross_entropy(out[:, : c.categorical], code[:, sl : sl + c.categorical].argmax(1))
            loss = loss + c.info_weight * ce
            logs["info_categorical"] = ce.detach()
            sl += c.categorical
        if c.continuous:
            nll = 0.5 * (out[:, c.categorical :] - code[:, sl:]).pow(2).sum(1).mean()
            loss = loss + c.continuous_weight * nll
            logs["info_continuous"] = nll.detach()
        return loss, logs

    def d_loss(self, batch):
        code = self.prior(len(batch.x))
        with sharing.recording(self.G):  # G's phase backpropagates through this G(z, c)
            x_fake = self.G(code)
        sharing.leave(batch, "G", code=code, x_fake=x_fake)
        loss, logs, _, f = self.adv.d_loss_and_scores(self.D, (batch.x,), (x_fake.detach(),))
        info, info_logs = self.info_loss(f.features, code)
        return loss + info, {**logs, **info_logs}

    def g_loss(self, batch):
        shared = sharing.take(batch, "G")
        code = shared["code"] if shared else self.prior(len(batch.x))
        x_fake = shared["x_fake"] if shared else self.G(code)
        loss, logs, f = self.adv.g_loss_and_scores(self.D, (x_fake,), real=(batch.x,))
        info, info_logs = self.info_loss(f.features, code)
        return loss + info, {**logs, **info_logs}
