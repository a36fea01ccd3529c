"""EBGAN's discriminator (Zhao et al. 2017): an autoencoder whose reconstruction error is the energy."""
from __future__ import annotations

import torch
from torch import nn


class AutoencoderDiscriminator(nn.Module):
    """x -> energy (B,) = mean squared reconstruction error of x through enc and dec.

    ``encoder`` and ``decoder`` are plain networks (x -> code, code -> x);
    ``energy_and_code`` also returns the code, which the pulling-away term needs.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.enc, self.dec = encoder, decoder

    def energy_and_code(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.enc(x)  # (B, k)
        energy = (self.dec(code) - x).pow(2).flatten(1).mean(1)  # (B,)
        return energy, code

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.energy_and_code(x)[0]

    def data_features(self, x: torch.Tensor) -> torch.Tensor:
        """The autoencoder's code of x (B, k)."""
        return self.enc(x).flatten(1)

    def realism(self, x: torch.Tensor) -> torch.Tensor:
        """Minus the energy (B,): higher = more real."""
        return -self(x)
