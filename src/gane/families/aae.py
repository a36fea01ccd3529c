"""Adversarial autoencoder (Makhzani et al. 2016).

Objective: min_{E,G} ||x - G(E(x))||^2, while a discriminator on codes D(z) tells
z ~ p(z) from q(z) = E(x) and E learns to fool it, so that the codes fill the
prior: then G(z) for z ~ p(z) gives samples. ``--prior`` picks p(z): normal,
uniform on [-1, 1]^d, or a mixture of Gaussians (``--components`` of them, their
means on a circle of radius 4 in the first two dimensions, std 0.5 there and 1 elsewhere).
``--schedule`` picks how E is trained each step. ``phases`` is the paper's: a reconstruction
phase (E, G), then a regularisation phase (D, then E), each with its own optimiser;
``--adv-weight`` scales the learning rate of E's adversarial step, which is how strongly the
codes are pulled to the prior. ``joint`` is what most implementations (pythae's among them)
do: D's step, then one step of E and G on reconstruction + ``--adv-weight`` x E's adversarial
term, so E and G see one forward pass and one backward pass per step instead of two.
``--code-mixture K`` samples z from K Gaussians fitted to the codes E(x) instead, for when
the codes do not fill the prior yet (training still uses the prior).
D's phase encodes the batch with a graph through E, and E's adversarial step (``phases``) or
E and G's step (``joint``) backpropagates through those codes: E does not change between the
two, so this is that step exactly as if it encoded the batch again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import losses, nets
from ..errors import GaneError
from ..fields import opt
from . import sharing
from .adversarial import Adversary
from .base import AdversarialConfig, CodeMixtureOption, CodePart, Family, Phase, register_family

PRIORS = ("normal", "uniform", "mixture")
SCHEDULES = ("phases", "joint")


@dataclass
class AAEConfig(AdversarialConfig, CodeMixtureOption):
    z_dim: int = opt(8, "size of the code", min=1)
    prior: str = opt("normal", "the prior the codes are pushed to", choices=PRIORS)
    components: int = opt(10, "mixture components for --prior mixture", min=1)
    adv_weight: float = opt(1.0, "how hard the codes are pulled to the prior: with --schedule phases the learning-rate multiplier "
                                 "of E's adversarial step, with joint the weight of E's adversarial term beside the reconstruction", min=0)
    schedule: str = opt("phases", "phases: reconstruction, D, then E's adversarial step, each its own update (Makhzani et al.); "
                                  "joint: D, then one update of E and G on reconstruction + adversarial term", choices=SCHEDULES)


@register_family
class AAE(Family):
    name = "aae"
    description = "adversarial autoencoder: reconstruction + a discriminator on codes (--prior normal|uniform|mixture)"
    Config = AAEConfig
    has_encoder = True

    def __init__(self, config: AAEConfig, info):
        super().__init__(config, info)
        if config.adv_weight < 0:
            raise GaneError(f"--adv-weight is a learning-rate multiplier and cannot be negative (got {config.adv_weight}).")
        if config.prior == "mixture" and config.z_dim < 2:
            raise GaneError("--prior mixture places its components in the first two code dimensions: use --z-dim 2 or more.")
        self.adv = Adversary(config)
        # No batch norm in E or G: the code adversary moves E's codes every step; G's batch norm then
        # learnt to normalise those shifts away in training, and its lagging running statistics made
        # eval-mode reconstructions far worse than training ones (MSE 0.23 against 0.10 on mnist-5k).
        self.E = nets.encoder(info, config.z_dim, config.width, batch_norm=False, net=config.vector_net)
        self.G = nets.generator(info, config.z_dim, config.width, batch_norm=False, net=config.vector_net)
        self.D = self.adv.code_discriminator(config.z_dim)

    def code_parts(self):
        return [CodePart("z", self.z_dim, "uniform" if self.config.prior == "uniform" else "normal")]

    def prior(self, n, generator=None, device=None):
        code = super().prior(n, generator, device)  # (n, z_dim)
        if self.config.prior != "mixture":
            return code
        k = self.config.components
        where = "cpu" if generator is not None else code.device
        comp = torch.randint(0, k, (n,), generator=generator, device=where).to(code.device)
        angle = 2 * math.pi * comp.float() / k
        code = code.clone()
        code[:, 0] = 4 * torch.cos(angle) + 0.5 * code[:, 0]
        code[:, 1] = 4 * torch.sin(angle) + 0.5 * code[:, 1]
        return code

    def phases(self):
        if self.config.schedule == "joint":
            return [Phase("D", ("D",), self.d_loss), Phase("EG", ("E", "G"), self.joint_loss)]
        return [Phase("AE", ("E", "G"), self.ae_loss), Phase("D", ("D",), self.d_loss), Phase("E", ("E",), self.e_loss, lr_scale=self.config.adv_weight)]

    def ae_loss(self, batch):
        rec = losses.mse(self.G(self.E(batch.x)), batch.x)
        return rec, {"recon": rec.detach()}

    def d_loss(self, batch):
        with sharing.recording(self.E):  # E's next phase backpropagates through these codes
            z_hat = self.E(batch.x)
        sharing.leave(batch, "EG" if self.config.schedule == "joint" else "E", z_hat=z_hat)
        return self.adv.d_loss(self.D, (self.prior(len(z_hat)),), (z_hat.detach(),))  # prior codes are "real"

    def _codes_from_d_phase(self, batch, phase: str):
        """E(x) as D's phase left it for ``phase``, with its graph through E; encoded again when the phase runs alone."""
        shared = sharing.take(batch, phase)
        return shared["z_hat"] if shared else self.E(batch.x)

    def e_loss(self, batch):
        return self.adv.g_loss(self.D, (self._codes_from_d_phase(batch, "E"),))

    def joint_loss(self, batch):
        z_hat = self._codes_from_d_phase(batch, "EG")
        rec = losses.mse(self.G(z_hat), batch.x)
        adv, logs = self.adv.g_loss(self.D, (z_hat,))
        return rec + self.config.adv_weight * adv, {"recon": rec.detach(), "code_adv": adv.detach(), **logs}

    def encode(self, x):
        return self.E(x)
