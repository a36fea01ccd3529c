"""The joint discriminator body of BiGAN / ALI (Donahue et al. 2017; Dumoulin et al. 2017)."""
from __future__ import annotations

import torch
from torch import nn

from .conv import ConvBody, sn
from .mlp import VECTOR_NETS, _mlp_code_path


class JointBody(nn.Module):
    """(x, z) -> features (B, F): an x path, a z path and a joint layer over both.

    Dropout in every path is the usual BiGAN/ALI regulariser: without it D wins early
    and the encoder never learns to invert G.
    """

    def __init__(self, shape, z_dim: int, width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.2, net: str = "mlp"):
        super().__init__()
        if len(shape) == 3:
            self.x_path: nn.Module = ConvBody(shape, width, spectral_norm, dropout, batch_norm=False)
            self.z_path = _mlp_code_path(z_dim, width, spectral_norm, dropout)
            h = self.z_path.out_features
            drop = [nn.Dropout(dropout)] if dropout > 0 else []
            self.joint = nn.Sequential(sn(nn.Linear(self.x_path.out_features + h, 2 * h), spectral_norm), nn.LeakyReLU(0.2, True), *drop)
            self.out_features = 2 * h
        else:
            self.x_path, self.z_path, self.joint, self.out_features = VECTOR_NETS.get(net).joint(shape[0], z_dim, width, spectral_norm, dropout)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([self.x_path(x), self.z_path(z)], 1))  # (B, 2h)
