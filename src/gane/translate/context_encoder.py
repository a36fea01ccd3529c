"""The context encoder (Pathak et al. 2016): inpainting a hole with an encoder-decoder.

G encodes the image with its hole (filled with the training mean, as the built-in masked2digits and
masked2fashion tasks give it) through a fully connected bottleneck and decodes the whole image, of
which only the hole is kept: translate(a) = a outside the hole, G(a) inside. G minimises
    rec * ||M * (G(a) - b)||^2 / |M| + adv * L_GAN(G, D)            (rec = 0.999, adv = 0.001 in the paper)
and D, a PatchGAN, judges the hole's content alone: the true one against G's. With ``--adv 0`` no D is
built: the L2-only context encoder.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data.paired import centre_hole
from ..errors import GaneError
from ..families.adversarial import Adversary, needs_input_gradients
from ..families.base import register_family
from ..fields import opt
from ..nets.translate import ContextNet, PatchDiscriminator
from .base import AdversarialTranslatorConfig, PairedTranslator


@dataclass
class ContextEncoderConfig(AdversarialTranslatorConfig):
    rec: float = opt(0.999, "weight of the squared error inside the hole", min=0)
    adv: float = opt(0.001, "weight of the adversarial term on the hole's content (0 = L2 alone: no discriminator)", min=0)
    hole: float = opt(0.5, "side of the centre hole, as a fraction of the image's (the built-in masked tasks: 0.5)", above=0, below=1)
    code: int = opt(512, "units of the fully connected bottleneck (the paper: 4000)", min=1)


@register_family
class ContextEncoder(PairedTranslator):
    name = "context-encoder"
    description = "encoder-decoder filling a centre hole, L2 + adversarial on the hole (Pathak et al. 2016)"
    Config = ContextEncoderConfig
    default_data = "masked2digits"

    def __init__(self, config: ContextEncoderConfig, info):
        super().__init__(config, info)
        if tuple(info.shape) != tuple(info.b_shape):
            raise GaneError(f"The context encoder fills a hole in place: A and B must have one shape; A is {tuple(info.shape)}, "
                            f"B {tuple(info.b_shape)}.")
        if config.rec == config.adv == 0:
            raise GaneError("context-encoder needs --rec or --adv above 0: with both at 0, G has nothing to learn from.")
        c, h, w = info.shape
        mask = centre_hole(torch.zeros(1, c, h, w, dtype=torch.uint8), fraction=config.hole)[1]
        self.register_buffer("mask", mask, persistent=False)  # (1, 1, H, W): 1 inside the hole; rebuilt from --hole
        rows, cols = mask[0, 0].nonzero(as_tuple=True)
        self.box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
        self.G = ContextNet(c, c, h, config.width, config.code)
        if config.adv > 0:
            d_norm = "none" if needs_input_gradients(config) else "batch"
            self.D = PatchDiscriminator(c, self.box[1] - self.box[0], config.width, config.d_layers, d_norm, config.spectral_norm)
        self.adversary = Adversary(config)

    def _hole(self, x: torch.Tensor) -> torch.Tensor:
        r0, r1, c0, c1 = self.box
        return x[..., r0:r1, c0:c1]

    def _translate(self, x: torch.Tensor, to: str) -> torch.Tensor:
        return x * (1 - self.mask) + self.G(x) * self.mask

    def d_loss(self, batch):
        with torch.no_grad():
            fake = self.G(batch.a)
        return self.adversary.d_loss(self.D, (self._hole(batch.b),), (self._hole(fake),))

    def g_loss(self, batch):
        c = self.config
        out = self.G(batch.a)
        rec = (self._hole(out) - self._hole(batch.b)).pow(2).mean()
        loss, logs = c.rec * rec, {"hole_mse": rec.detach()}
        if c.adv > 0:
            adv, _ = self.adversary.g_loss(self.D, (self._hole(out),))
            loss = loss + c.adv * adv
            logs["adv"] = adv.detach()
        return loss, logs
