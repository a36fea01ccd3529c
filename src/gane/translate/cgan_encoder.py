"""A class-conditional GAN whose classes are the domains, with an encoder fitted to its frozen G
(Dong et al. 2017; seed 000, "Given an ACGAN ... learning the encoder").

Two stages in one run. For the first ``gan_steps`` steps G(z, d) and a projection discriminator
D(x, d) play the adversarial game over both domains (d = 0 for A, 1 for B; a grey domain beside a
colour one is repeated to three channels). Then G and D stop and an encoder E, from an image of
either domain to z, is fitted to the frozen G: by x-reconstruction, ||G(E(x), d_x) - x||^2 on real
images of both domains (plus ``code_weight`` times z-regression, ||E(G(z, d)) - z||^2, on G's own
samples), or by z-regression alone. A translation keeps the code and changes the domain:
x_A -> z = E(x_A) -> G(z, B). The encoder is explicit; the code z is a vector, with no spatial layout.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import nets
from ..data import DataInfo
from ..errors import GaneError
from ..families.adversarial import Adversary, needs_input_gradients
from ..families.base import Phase, register_family
from ..fields import opt
from .base import AdversarialTranslatorConfig, Translator


@dataclass
class CGANEncoderConfig(AdversarialTranslatorConfig):
    z_dim: int = opt(32, "size of the code z", min=1)
    gan_steps: int = opt(1500, "steps of the first stage (the conditional GAN); the encoder is fitted to the frozen G in the "
                               "steps after them, so --steps must be larger", min=1)
    method: str = opt("x-reconstruction", "how E is fitted to the frozen G: x-reconstruction (real images through G, with "
                                          "--code-weight times z-regression) or z-regression (G's samples only)",
                      choices=("x-reconstruction", "z-regression"))
    code_weight: float = opt(0.1, "x-reconstruction: weight of the z-regression term on G's samples", min=0)


@register_family
class CGANEncoder(Translator):
    name = "cgan-encoder"
    description = "a conditional GAN over the two domains, then an encoder fitted to its frozen G: x_A -> E -> G(z, B) (Dong et al. 2017)"
    Config = CGANEncoderConfig
    default_data = "digits2styled"
    translators = {"B": "G", "A": "G"}
    averaged = ("G", "E")

    def __init__(self, config: CGANEncoderConfig, info):
        super().__init__(config, info)
        (ca, ha, _), (cb, hb, _) = info.shape, info.b_shape
        if ha != hb:
            raise GaneError(f"cgan-encoder draws both domains with one G, so A and B need one size; A is {ha} pixels wide, B {hb}.")
        self.channels = max(ca, cb)
        if self.channels % min(ca, cb):
            raise GaneError(f"cgan-encoder draws both domains with one G; A has {ca} channel(s) and B {cb}, which do not repeat into one another.")
        joint = DataInfo("image", (self.channels, ha, ha), 2)
        w = config.width
        self.G = nets.generator(joint, config.z_dim + 2, w)
        no_bn = needs_input_gradients(config)
        self.D = nets.discriminator(joint, w, config.spectral_norm, 0.0, batch_norm=not no_bn, num_classes=2)
        self.E = nets.encoder(joint, config.z_dim, w)
        self.adversary = Adversary(config)

    # ----------------------------------------------------------------- both domains as one
    def _joint(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.shape[1] == self.channels else x.repeat(1, self.channels // x.shape[1], 1, 1)

    def _as_domain(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        c = self.domain_shape(domain)[0]
        return x if c == self.channels else x.mean(1, keepdim=True)  # a grey domain: the mean of the repeated channels

    def _draw(self, z: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        return self.G(torch.cat([z, F.one_hot(d, 2).to(z.dtype)], 1))

    def _translate(self, x: torch.Tensor, to: str) -> torch.Tensor:
        d = torch.full((len(x),), 1 if to == "B" else 0, dtype=torch.long, device=x.device)
        return self._as_domain(self._draw(self.E(self._joint(x)), d), to)

    def _both(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Real images of both domains (2n, C, H, W) and their domains (2n,)."""
        a, b = self._joint(batch.a), self._joint(batch.b)
        d = torch.cat([torch.zeros(len(a), dtype=torch.long), torch.ones(len(b), dtype=torch.long)]).to(a.device)
        return torch.cat([a, b]), d

    # ----------------------------------------------------------------- the two stages
    def phases(self) -> list[Phase]:
        n = self.config.gan_steps
        return [Phase("D", ("D",), self.d_loss, stop=n), Phase("G", ("G",), self.g_loss, stop=n), Phase("E", ("E",), self.e_loss, start=n)]

    def _codes(self, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, self.config.z_dim, device=device), torch.randint(0, 2, (n,), device=device)

    def d_loss(self, batch):
        x, d = self._both(batch)
        z, dz = self._codes(len(x), x.device)
        with torch.no_grad():
            fake = self._draw(z, dz)
        return self.adversary.d_loss(self.D, (x,), (fake,), y_real=d, y_fake=dz)

    def g_loss(self, batch):
        z, dz = self._codes(2 * len(batch.a), batch.a.device)
        return self.adversary.g_loss(self.D, (self._draw(z, dz),), y_fake=dz)

    def e_loss(self, batch):
        c = self.config
        z, dz = self._codes(2 * len(batch.a), batch.a.device)
        with torch.no_grad():
            samples = self._draw(z, dz)
        code = (self.E(samples) - z).pow(2).mean()
        if c.method == "z-regression":
            return code, {"code": code.detach()}
        x, d = self._both(batch)
        pixel = (self._draw(self.E(x), d) - x).pow(2).mean()
        return pixel + c.code_weight * code, {"pixel": pixel.detach(), "code": code.detach()}
