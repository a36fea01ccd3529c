"""BigBiGAN (Donahue & Simonyan 2019) at small scale.

BiGAN's game with BigGAN-style parts: a residual generator (with class-conditional
batch norm when ``--conditional``), a residual encoder, and a discriminator made
of three scores, s_x(x), s_z(z) and s_xz(x, z), each in the hinge loss: D minimises
sum_s E relu(1 - s(x, E(x))) + E relu(1 + s(G(z), z)), and E and G minimise
E [s_x + s_z + s_xz](x, E(x)) - E [s_x + s_z + s_xz](G(z), z). The unary scores keep
either half of a pair from being ignored. ``--loss`` may replace the hinge.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nets
from ..fields import opt
from .adversarial import Adversary
from .base import AdversarialConfig, register_family
from .bigan import BiGAN


@dataclass
class BigBiGANConfig(AdversarialConfig):
    z_dim: int = opt(64, "size of the latent code z", min=1)
    loss: str = opt("hinge", "adversarial loss, applied to each of the three scores",
                    choices=AdversarialConfig.__dataclass_fields__["loss"].metadata["choices"])
    dropout: float = opt(0.2, "dropout in D's paths", min=0, below=1)
    conditional: bool = opt(False, "class-conditional: class one-hot in the code, conditional batch norm in G, E predicts the class")
    stochastic: bool = opt(False, "a Gaussian encoder as in the paper: E gives a mean and log-variance and real pairs use a sampled z")


@register_family
class BigBiGAN(BiGAN):
    name = "bigbigan"
    data_discriminator = "D"
    description = "BigBiGAN: residual G and E, D with scores s_x, s_z, s_xz in the hinge loss (--conditional)"
    Config = BigBiGANConfig
    has_encoder = True

    def __init__(self, config: BigBiGANConfig, info):
        super(BiGAN, self).__init__(config, info)
        self.classes = self.labels_needed("--conditional") if config.conditional else 0
        self.adv = Adversary(config)
        self.G = nets.res_generator(info, self.code_dim, config.width, self.classes, net=config.vector_net)
        self.E = nets.res_encoder(info, self.encoder_outputs, config.width, net=config.vector_net)
        self.D = nets.three_score_discriminator(info, self.code_dim, config.width, config.spectral_norm, config.dropout,
                                                 self.adv.bottleneck, net=config.vector_net)

