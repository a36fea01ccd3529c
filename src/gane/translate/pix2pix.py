"""pix2pix (Isola et al. 2017): image-to-image translation with a conditional GAN on aligned pairs.

G is a U-Net from A to B; D a PatchGAN that judges (A, B) pairs, one score per patch. G minimises
    adv * L_cGAN(G, D) + l1 * ||B - G(A)||_1        (l1 = 100 in the paper)
and D the adversarial loss on (A, B) against (A, G(A)). Dropout in G is its only noise. ``--adv 0`` is
the paper's "L1 alone" row (no D is built), ``--l1 0`` its "cGAN alone".
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import GaneError
from ..families.adversarial import Adversary, needs_input_gradients
from ..families.base import register_family
from ..fields import opt
from ..nets.translate import PatchDiscriminator, UNet
from .base import AdversarialTranslatorConfig, PairedTranslator


@dataclass
class Pix2PixConfig(AdversarialTranslatorConfig):
    l1: float = opt(100.0, "weight of the L1 distance between G(A) and B (lambda; 0 = the cGAN alone)", min=0)
    adv: float = opt(1.0, "weight of the adversarial term in G's loss (0 = L1 alone: no discriminator)", min=0)
    conditional: bool = opt(True, "D judges (A, B) pairs, as pix2pix's; off: B alone (an unconditional D)")
    dropout: float = opt(0.5, "dropout in the U-Net's innermost up levels, its noise (in training only)", min=0, below=1)
    norm: str = opt("batch", "normalisation in G and D", choices=("batch", "instance", "none"))
    bottleneck: int = opt(2, "residual blocks at the bottom of the U-Net", min=0)


@register_family
class Pix2Pix(PairedTranslator):
    name = "pix2pix"
    description = "U-Net G and PatchGAN D on aligned pairs, cGAN + 100 * L1 (Isola et al. 2017)"
    Config = Pix2PixConfig

    def __init__(self, config: Pix2PixConfig, info):
        super().__init__(config, info)
        (ca, ha, _), (cb, hb, _) = info.shape, info.b_shape
        if ha != hb:
            raise GaneError(f"pix2pix's U-Net keeps the image size, and A is {ha} pixels wide while B is {hb}. "
                            "Use srgan for upsampling, or give both domains one size (--image-size).")
        if config.adv == 0 and config.l1 == 0:
            raise GaneError("pix2pix needs --l1 or --adv above 0: with both at 0, G has nothing to learn from.")
        self.G = UNet(ca, cb, hb, config.width, config.norm, config.dropout, config.bottleneck)
        if config.adv > 0:
            d_norm = "none" if needs_input_gradients(config) else config.norm
            self.D = PatchDiscriminator((ca if config.conditional else 0) + cb, hb, config.width, config.d_layers, d_norm,
                                        config.spectral_norm)
        self.adversary = Adversary(config)

    def _judged(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (a, b) if self.config.conditional else (b,)

    def d_loss(self, batch):
        with torch.no_grad():
            fake = self.G(batch.a)
        return self.adversary.d_loss(self.D, self._judged(batch.a, batch.b), self._judged(batch.a, fake))

    def g_loss(self, batch):
        c = self.config
        fake = self.G(batch.a)
        l1 = (fake - batch.b).abs().mean()
        loss, logs = c.l1 * l1, {"l1": l1.detach()}
        if c.adv > 0:
            adv, more = self.adversary.g_loss(self.D, self._judged(batch.a, fake))
            loss = loss + c.adv * adv
            logs.update(adv=adv.detach(), **more)
        return loss, logs
