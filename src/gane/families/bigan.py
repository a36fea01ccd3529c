"""BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017).

Objective: min_{G,E} max_D E_x log D(x, E(x)) + E_z log(1 - D(G(z), z)). The
discriminator sees joint pairs, so to fool it the encoder must map x where the
generator would have come from: at the optimum E = G^-1. E and G are trained
together on flipped labels (non-saturating by default; any ``--loss``).

``--stochastic`` gives the encoder ALI's (and BigBiGAN's) Gaussian posterior: E(x) is a mean
and a log-variance and real pairs carry z = mu + sigma * eps, so a tight cluster of data can
cover a region of the prior rather than one point of it (``encode`` returns the mean).

``--conditional`` adds the class to both halves of the game: the code is (z, one-hot y),
real pairs are (x, (E(x), y)) and generated pairs (G(z, y), (z, y)); the encoder also
learns to predict the class (cross-entropy on the labels) so that it can encode
unlabelled images.

D's phase computes each step's E(x), z and G(z) once, with graphs through E and G, and E and
G's phase backpropagates through those same pairs (scored by the updated D) rather than
encoding and generating again: one forward pass of E and G per step, which ALI's reference
code shares between both players' losses too.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import nets
from ..fields import opt
from . import sharing
from .adversarial import Adversary
from .base import AdversarialConfig, Family, Phase, register_family


@dataclass
class BiGANConfig(AdversarialConfig):
    z_dim: int = opt(64, "size of the latent code z", min=1)
    dropout: float = opt(0.2, "dropout in every path of D(x, z)", min=0, below=1)
    conditional: bool = opt(False, "class-conditional: the code carries a one-hot class y and E also predicts it; needs labels")
    stochastic: bool = opt(False, "ALI's stochastic encoder: E gives a mean and log-variance and real pairs use a sampled z")


@register_family
class BiGAN(Family):
    name = "bigan"
    data_discriminator = "D"
    description = "BiGAN / ALI: generator, encoder and a joint discriminator D(x, z)"
    Config = BiGANConfig
    has_encoder = True

    def __init__(self, config: BiGANConfig, info):
        super().__init__(config, info)
        self.classes = self.labels_needed("--conditional") if config.conditional else 0
        self.adv = Adversary(config)
        self.G = nets.generator(info, self.code_dim, config.width, net=config.vector_net)
        self.E = nets.encoder(info, self.encoder_outputs, config.width, net=config.vector_net)
        self.D = nets.joint_discriminator(info, self.code_dim, config.width, config.spectral_norm, config.dropout, self.adv.bottleneck,
                                            net=config.vector_net)

    def phases(self):
        return [Phase("D", ("D",), self.d_loss), Phase("EG", ("E", "G"), self.eg_loss)]

    @property
    def encoder_outputs(self) -> int:
        """E's outputs: z (or its mean and log-variance with --stochastic), then class logits when conditional."""
        return self.z_dim * (2 if self.config.stochastic else 1) + self.classes

    def _split(self, out):
        """E's outputs -> (mean, log-variance or None, class logits or None)."""
        k = self.z_dim
        assert out.shape[1] == self.encoder_outputs, (out.shape, self.encoder_outputs)
        mu, logvar = nets.gaussian_parameters(out[:, : 2 * k]) if self.config.stochastic else (out[:, :k], None)
        logits = out[:, out.shape[1] - self.classes :] if self.classes else None
        return mu, logvar, logits

    def _real_code(self, x, y):
        """(z, one-hot y) for real pairs, z = E(x) or a draw from E's posterior, and the class
        logits (None when unconditional)."""
        mu, logvar, logits = self._split(self.E(x))
        z = mu if logvar is None else nets.reparameterize(mu, logvar)
        if not self.classes:
            return z, None
        return torch.cat([z, F.one_hot(y, self.classes).to(z.dtype)], 1), logits

    def _pairs(self, batch):
        """This step's E's code (with class logits, None when unconditional), z and G(z)."""
        z_hat, logits = self._real_code(batch.x, batch.y)
        z = self.prior(len(batch.x))
        return z_hat, logits, z, self.G(z)

    def d_loss(self, batch):
        x = batch.x
        with sharing.recording(self.E, self.G):  # E and G's phase backpropagates through these
            z_hat, logits, z, x_fake = self._pairs(batch)
        sharing.leave(batch, "EG", pairs=(z_hat, logits, z, x_fake))
        return self.adv.d_loss(self.D, (x, z_hat.detach()), (x_fake.detach(), z))  # (x, E(x)) is "real"

    def eg_loss(self, batch):
        x = batch.x
        shared = sharing.take(batch, "EG")
        z_hat, logits, z, x_fake = shared["pairs"] if shared else self._pairs(batch)
        # G wants its pairs called real; E wants its pairs called fake.
        g, logs = self.adv.g_loss(self.D, (x_fake, z), real=(x, z_hat.detach()))
        loss = g + self.adv.g_flipped_loss(self.D, (x, z_hat))
        if logits is not None:
            ce = F.cross_entropy(logits, batch.y)
            loss = loss + ce
            logs["class_ce"] = ce.detach()
        return loss, logs

    def encode(self, x):
        """The code of x: E's (mean) z, and the predicted class when conditional."""
        mu, _, logits = self._split(self.E(x))
        if logits is None:
            return mu
        return torch.cat([mu, F.one_hot(logits.argmax(1), self.classes).to(mu.dtype)], 1)
