"""Plain networks (no loss code). The factories pick the convolutional or MLP version from the data kind."""
from __future__ import annotations

from torch import nn

from ..data import DataInfo
from .conv import ConvBody, ConvDiscriminator, ConvEncoder, ConvGenerator
from .joint import JointDiscriminator
from .mlp import MLPDiscriminator, MLPEncoder, MLPGenerator

_BY_KIND = {
    "image": {"G": ConvGenerator, "D": ConvDiscriminator, "E": ConvEncoder},
    "vector": {"G": MLPGenerator, "D": MLPDiscriminator, "E": MLPEncoder},
}


def generator(info: DataInfo, z_dim: int, width: float = 1.0) -> nn.Module:
    return _BY_KIND[info.kind]["G"](z_dim, info.shape, width)


def discriminator(info: DataInfo, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0) -> nn.Module:
    return _BY_KIND[info.kind]["D"](info.shape, width, spectral_norm, dropout)


def encoder(info: DataInfo, out_dim: int, width: float = 1.0) -> nn.Module:
    return _BY_KIND[info.kind]["E"](info.shape, out_dim, width)


def joint_discriminator(info: DataInfo, z_dim: int, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.2) -> nn.Module:
    return JointDiscriminator(info.shape, z_dim, width, spectral_norm, dropout)


__all__ = [
    "ConvBody", "ConvDiscriminator", "ConvEncoder", "ConvGenerator", "JointDiscriminator",
    "MLPDiscriminator", "MLPEncoder", "MLPGenerator", "generator", "discriminator", "encoder", "joint_discriminator",
]
