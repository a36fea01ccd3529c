"""UNIT (Liu et al. 2017): unsupervised translation through a shared latent space.

Two VAE-GANs, one per domain, whose encoders share their last layers and whose decoders share their
first, so that an image of either domain and its translation map to one code z, a 3-D tensor that keeps
the image's layout (the lecture's explicit encoder). With E_A, E_B the encoders (mean mu; z = mu + a
standard normal, KL = ||mu||^2 / 2 as the paper's unit-variance posterior) and G_A, G_B the decoders,
G's side minimises
    gan * (L_GAN(G_B(z_a), D_B) + L_GAN(G_A(z_b), D_A))
    + rec * (||G_A(z_a) - a||_1 + ||G_B(z_b) - b||_1) + kl * (KL(z_a) + KL(z_b))
    + cycle * (||G_A(E_B(G_B(z_a))) - a||_1 + ||G_B(E_A(G_A(z_b))) - b||_1) + cycle_kl * (KL of the translations' codes)
and each D judges its domain's real images against the translations into it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import GaneError
from ..families.adversarial import Adversary, needs_input_gradients
from ..families.base import Phase, register_family
from ..fields import opt
from ..losses import ADVERSARIAL_LOSSES
from ..nets.translate import PatchDiscriminator, ResBlock, channels, halvings, norm_layer
from .base import AdversarialTranslatorConfig, Translator


@dataclass
class UNITConfig(AdversarialTranslatorConfig):
    loss: str = opt("lsgan", "adversarial loss", choices=ADVERSARIAL_LOSSES.names)
    gan: float = opt(1.0, "weight of the adversarial terms", min=0)
    rec: float = opt(10.0, "weight of each domain's reconstruction ||G_A(z_a) - a||_1", min=0)
    kl: float = opt(0.01, "weight of the KL of the codes of real images", min=0)
    cycle: float = opt(10.0, "weight of the cycle reconstructions a -> B -> A and b -> A -> B", min=0)
    cycle_kl: float = opt(0.01, "weight of the KL of the translations' codes", min=0)
    blocks: int = opt(3, "residual blocks in each encoder and decoder; the last of the encoders' and the first of the "
                         "decoders' are shared between the domains", min=1)
    norm: str = opt("instance", "normalisation in the encoders and D", choices=("batch", "instance", "none"))


def _encoder(c_in: int, base: int, downs: int, blocks: int, norm: str) -> tuple[nn.Sequential, int]:
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(c_in, base, 7), norm_layer(norm, base), nn.ReLU(True)]
    c = base
    for _ in range(downs):
        layers += [nn.Conv2d(c, 2 * c, 4, 2, 1), norm_layer(norm, 2 * c), nn.ReLU(True)]
        c *= 2
    layers += [ResBlock(c, norm) for _ in range(blocks)]
    return nn.Sequential(*layers), c


def _decoder(c_out: int, c: int, downs: int, blocks: int) -> nn.Sequential:
    layers = [ResBlock(c, "none") for _ in range(blocks)]  # no normalisation across the code: it carries the content
    for _ in range(downs):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), norm_layer("instance", c // 2), nn.ReLU(True)]
        c //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, c_out, 7), nn.Tanh()]
    return nn.Sequential(*layers)


@register_family
class UNIT(Translator):
    name = "unit"
    description = "two VAE-GANs sharing encoder and decoder layers, one latent space, KL + adversarial + cycle (Liu et al. 2017)"
    Config = UNITConfig
    default_data = "digits2styled"
    translators = {"B": "G_B", "A": "G_A"}
    averaged = ("E_A", "E_B", "E_shared", "G_shared", "G_A", "G_B")

    def __init__(self, config: UNITConfig, info):
        super().__init__(config, info)
        (ca, ha, _), (cb, hb, _) = info.shape, info.b_shape
        if ha != hb:
            raise GaneError(f"UNIT's domains share one code layout, so A and B need one size; A is {ha} pixels wide, B {hb}.")
        base, downs, n = channels(config.width), halvings(ha, 2, smallest=4), config.blocks
        own = max(0, n - 1)
        self.E_A, c = _encoder(ca, base, downs, own, config.norm)
        self.E_B, _ = _encoder(cb, base, downs, own, config.norm)
        self.E_shared = nn.Sequential(ResBlock(c, config.norm))
        self.G_shared = nn.Sequential(ResBlock(c, "none"))
        self.G_A = _decoder(ca, c, downs, own)
        self.G_B = _decoder(cb, c, downs, own)
        d_norm = "none" if needs_input_gradients(config) else config.norm
        self.D_A = PatchDiscriminator(ca, ha, config.width, config.d_layers, d_norm, config.spectral_norm)
        self.D_B = PatchDiscriminator(cb, hb, config.width, config.d_layers, d_norm, config.spectral_norm)
        self.adversary = Adversary(config)

    def encode_domain(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        """The shared code's mean of images of ``domain``: (N, C, H / 4, W / 4) for 28-pixel images."""
        return self.E_shared((self.E_A if domain == "A" else self.E_B)(x))

    def decode_domain(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        return (self.G_A if domain == "A" else self.G_B)(self.G_shared(z))

    def _translate(self, x: torch.Tensor, to: str) -> torch.Tensor:
        return self.decode_domain(self.encode_domain(x, "A" if to == "B" else "B"), to)

    def phases(self) -> list[Phase]:
        return [Phase("G", ("E_A", "E_B", "E_shared", "G_shared", "G_A", "G_B"), self.g_loss), Phase("D", ("D_A", "D_B"), self.d_loss)]

    @staticmethod
    def _sample(mu: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu)

    @staticmethod
    def _kl(mu: torch.Tensor) -> torch.Tensor:
        return 0.5 * mu.pow(2).mean()

    def g_loss(self, batch):
        c = self.config
        a, b = batch.a, batch.b
        mu_a, mu_b = self.encode_domain(a, "A"), self.encode_domain(b, "B")
        z_a, z_b = self._sample(mu_a), self._sample(mu_b)
        rec_a, rec_b = self.decode_domain(z_a, "A"), self.decode_domain(z_b, "B")
        ab, ba = self.decode_domain(z_a, "B"), self.decode_domain(z_b, "A")
        mu_ab, mu_ba = self.encode_domain(ab, "B"), self.encode_domain(ba, "A")
        aba, bab = self.decode_domain(self._sample(mu_ab), "A"), self.decode_domain(self._sample(mu_ba), "B")
        adv_b, _ = self.adversary.g_loss(self.D_B, (ab,))
        adv_a, _ = self.adversary.g_loss(self.D_A, (ba,))
        rec = (rec_a - a).abs().mean() + (rec_b - b).abs().mean()
        kl = self._kl(mu_a) + self._kl(mu_b)
        cycle = (aba - a).abs().mean() + (bab - b).abs().mean()
        cycle_kl = self._kl(mu_ab) + self._kl(mu_ba)
        loss = c.gan * (adv_a + adv_b) + c.rec * rec + c.kl * kl + c.cycle * cycle + c.cycle_kl * cycle_kl
        return loss, {"adv_A": adv_a.detach(), "adv_B": adv_b.detach(), "rec": rec.detach(), "kl": kl.detach(),
                      "cycle": cycle.detach(), "cycle_kl": cycle_kl.detach()}

    def d_loss(self, batch):
        with torch.no_grad():
            ab = self.decode_domain(self.encode_domain(batch.a, "A"), "B")  # the means: D sees what translate() gives
            ba = self.decode_domain(self.encode_domain(batch.b, "B"), "A")
        loss_b, logs_b = self.adversary.d_loss(self.D_B, (batch.b,), (ab,))
        loss_a, logs_a = self.adversary.d_loss(self.D_A, (batch.a,), (ba,))
        return loss_a + loss_b, {f"{k}_B": v for k, v in logs_b.items()} | {f"{k}_A": v for k, v in logs_a.items()}
