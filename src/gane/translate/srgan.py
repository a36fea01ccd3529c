"""SRGAN (Ledig et al. 2017): super-resolution with a residual generator and an adversarial term.

G is an SRResNet (residual blocks, then sub-pixel upsampling by the size ratio of B to A); D an
unconditional PatchGAN on B-sized images. G minimises
    pixel * ||G(a) - b||^2 + content * ||F(G(a)) - F(b)||^2 / ||F(b)||^2 + adv * L_GAN(G, D)
where F is a fixed feature network: SRGAN uses VGG's features; gane uses the domain classifier of B's
dataset (VGG's weights cannot be downloaded here), fixed for the run and saved with it. With ``--adv
0`` no D is built: the SRResNet baseline (``--content 0`` as well: the paper's SRResNet-MSE).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import GaneError
from ..families.adversarial import Adversary, needs_input_gradients
from ..families.base import register_family
from ..fields import opt
from ..nets.translate import PatchDiscriminator, SRResNet
from .base import AdversarialTranslatorConfig, PairedTranslator


@dataclass
class SRGANConfig(AdversarialTranslatorConfig):
    pixel: float = opt(1.0, "weight of the pixel MSE between G(a) and b", min=0)
    content: float = opt(1.0, "weight of the content loss in the domain classifier's features of B (0 = off)", min=0)
    adv: float = opt(1e-3, "weight of the adversarial term (0 = the SRResNet baseline: no discriminator)", min=0)
    blocks: int = opt(8, "residual blocks of the generator (SRGAN: 16)", min=1)


@register_family
class SRGAN(PairedTranslator):
    name = "srgan"
    description = "SRResNet G (residual blocks, sub-pixel upsampling), content loss in a classifier's features + adversarial (Ledig et al. 2017)"
    Config = SRGANConfig
    default_data = "lowres2digits"

    def __init__(self, config: SRGANConfig, info):
        super().__init__(config, info)
        (ca, ha, _), (cb, hb, _) = info.shape, info.b_shape
        if hb % ha or hb // ha < 2 or (hb // ha) & (hb // ha - 1):
            raise GaneError(f"SRGAN upsamples by a power of two (2, 4, 8, ...), and B's side {hb} is not A's {ha} times one. "
                            "For images of one size, use pix2pix.")
        if config.pixel == config.content == config.adv == 0:
            raise GaneError("srgan needs --pixel, --content or --adv above 0: with all three at 0, G has nothing to learn from.")
        self.G = SRResNet(ca, cb, hb // ha, config.width, config.blocks)
        if config.adv > 0:
            d_norm = "none" if needs_input_gradients(config) else "batch"
            self.D = PatchDiscriminator(cb, hb, config.width, config.d_layers, d_norm, config.spectral_norm)
        if config.content > 0:
            from ..metrics.classifier import SmallConvNet

            if info.num_classes is None:
                raise GaneError("The content loss reads the domain classifier of B, which needs labelled data; this dataset has "
                                "no labels. Pass --content 0 (pixel and adversarial terms only).")
            self.F = SmallConvNet(cb, hb, info.num_classes).eval().requires_grad_(False)
        self.adversary = Adversary(config)

    def prepare(self, data) -> None:
        if self.config.content == 0:
            return
        from ..metrics.classifier import domain_classifier

        source = getattr(data, "b_source", None)
        if source is None:
            raise GaneError("The content loss reads the domain classifier of B's dataset, and this two-domain dataset does not "
                            "name one (the built-in tasks do: lowres2digits, lowres2fashion). Pass --content 0.")
        self.F.load_state_dict(domain_classifier(source).net.state_dict())

    def train(self, mode: bool = True):
        super().train(mode)
        if hasattr(self, "F"):
            self.F.eval()  # a fixed feature network: its batch norm keeps its statistics
        return self

    def d_loss(self, batch):
        with torch.no_grad():
            fake = self.G(batch.a)
        return self.adversary.d_loss(self.D, (batch.b,), (fake,))

    def g_loss(self, batch):
        c = self.config
        sr = self.G(batch.a)
        pixel = (sr - batch.b).pow(2).mean()
        loss, logs = c.pixel * pixel, {"mse": pixel.detach()}
        if c.content > 0:
            target = self.F.embed(batch.b).detach()
            content = (self.F.embed(sr) - target).pow(2).mean() / target.pow(2).mean().clamp_min(1e-8)
            loss = loss + c.content * content
            logs["content"] = content.detach()
        if c.adv > 0:
            adv, _ = self.adversary.g_loss(self.D, (sr,))
            loss = loss + c.adv * adv
            logs["adv"] = adv.detach()
        return loss, logs
