"""CycleGAN (Zhu et al. 2017): unpaired translation both ways with cycle consistency.

Two ResNet generators, G_AB: A -> B and G_BA: B -> A, and two PatchGAN discriminators, D_B on B and D_A
on A (least-squares loss by default). The generators minimise
    L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A)
    + cycle * (||G_BA(G_AB(a)) - a||_1 + ||G_AB(G_BA(b)) - b||_1)
    + identity * cycle * (||G_AB(b) - b||_1 + ||G_BA(a) - a||_1)
and each D learns from a history of 50 generated images (:class:`HistoryBuffer`). The encoder is
implicit: the generator's own downsampling half maps an image to a 3-D code the rest decodes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import GaneError
from ..families.adversarial import Adversary, needs_input_gradients
from ..families.base import Phase, register_family
from ..fields import opt
from ..losses import ADVERSARIAL_LOSSES
from ..nets.translate import PatchDiscriminator, ResnetTranslator
from .base import AdversarialTranslatorConfig, HistoryBuffer, Translator


@dataclass
class CycleGANConfig(AdversarialTranslatorConfig):
    loss: str = opt("lsgan", "adversarial loss (CycleGAN uses least squares)", choices=ADVERSARIAL_LOSSES.names)
    cycle: float = opt(10.0, "weight of the two cycle losses ||G_BA(G_AB(a)) - a||_1 + ||G_AB(G_BA(b)) - b||_1", min=0)
    identity: float = opt(0.5, "weight of the identity losses ||G_AB(b) - b||_1 + ||G_BA(a) - a||_1, relative to --cycle "
                               "(0 = off; needs A and B of one shape)", min=0)
    history: int = opt(50, "generated images each D also learns from (0 = the newest only)", min=0)
    blocks: int = opt(6, "residual blocks of each generator", min=0)
    norm: str = opt("instance", "normalisation in G and D", choices=("batch", "instance", "none"))


@register_family
class CycleGAN(Translator):
    name = "cyclegan"
    description = "two ResNet G and two PatchGAN D, least squares + cycle and identity losses, history buffers (Zhu et al. 2017)"
    Config = CycleGANConfig
    default_data = "digits2styled"
    translators = {"B": "G_AB", "A": "G_BA"}

    def __init__(self, config: CycleGANConfig, info):
        super().__init__(config, info)
        (ca, ha, _), (cb, hb, _) = info.shape, info.b_shape
        if ha != hb:
            raise GaneError(f"CycleGAN's generators keep the image size, and A is {ha} pixels wide while B is {hb}. "
                            "Give both domains one size (--image-size).")
        if config.identity > 0 and ca != cb:
            raise GaneError(f"The identity loss feeds B to G_AB, which reads A's {ca} channel(s), and B has {cb}: "
                            "pass --identity 0 for domains of different channels.")
        w, n = config.width, config.norm
        self.G_AB = ResnetTranslator(ca, cb, hb, w, config.blocks, n)
        self.G_BA = ResnetTranslator(cb, ca, ha, w, config.blocks, n)
        d_norm = "none" if needs_input_gradients(config) else n
        self.D_A = PatchDiscriminator(ca, ha, w, config.d_layers, d_norm, config.spectral_norm)
        self.D_B = PatchDiscriminator(cb, hb, w, config.d_layers, d_norm, config.spectral_norm)
        self.history_A = HistoryBuffer(config.history, info.shape)
        self.history_B = HistoryBuffer(config.history, info.b_shape)
        self.adversary = Adversary(config)

    def phases(self) -> list[Phase]:
        return [Phase("G", ("G_AB", "G_BA"), self.g_loss), Phase("D", ("D_A", "D_B"), self.d_loss)]

    def g_loss(self, batch):
        c = self.config
        a, b = batch.a, batch.b
        ab, ba = self.G_AB(a), self.G_BA(b)
        adv_b, _ = self.adversary.g_loss(self.D_B, (ab,))
        adv_a, _ = self.adversary.g_loss(self.D_A, (ba,))
        cycle_a = (self.G_BA(ab) - a).abs().mean()
        cycle_b = (self.G_AB(ba) - b).abs().mean()
        loss = adv_a + adv_b + c.cycle * (cycle_a + cycle_b)
        logs = {"adv_A": adv_a.detach(), "adv_B": adv_b.detach(), "cycle_A": cycle_a.detach(), "cycle_B": cycle_b.detach()}
        if c.identity > 0:
            same = (self.G_AB(b) - b).abs().mean() + (self.G_BA(a) - a).abs().mean()
            loss = loss + c.identity * c.cycle * same
            logs["identity"] = same.detach()
        return loss, logs

    def d_loss(self, batch):
        with torch.no_grad():
            ab, ba = self.G_AB(batch.a), self.G_BA(batch.b)
        loss_b, logs_b = self.adversary.d_loss(self.D_B, (batch.b,), (self.history_B.query(ab),))
        loss_a, logs_a = self.adversary.d_loss(self.D_A, (batch.a,), (self.history_A.query(ba),))
        logs = {f"{k}_B": v for k, v in logs_b.items()} | {f"{k}_A": v for k, v in logs_a.items()}
        return loss_a + loss_b, logs
