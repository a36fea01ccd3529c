"""Network shapes for every supported image size and the vector MLPs."""
from __future__ import annotations

import pytest
import torch

from gane import nets
from gane.data import DataInfo
from gane.errors import GaneError


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 16, 16)])
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_conv_networks(shape, spectral_norm):
    info = DataInfo("image", shape)
    g, d = nets.generator(info, 8, width=0.25), nets.discriminator(info, 0.25, spectral_norm=spectral_norm)
    e, j = nets.encoder(info, 6, 0.25), nets.joint_discriminator(info, 8, 0.25, spectral_norm=spectral_norm)
    z = torch.randn(3, 8)
    x = g(z)
    assert x.shape == (3, *shape) and x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (3,) and e(x).shape == (3, 6) and j(x, z).shape == (3,)
    assert d.features(x).shape[0] == 3
    has_sn = any("parametrizations" in n for n, _ in d.named_parameters())
    assert has_sn == spectral_norm


def test_width_scales_channels():
    info = DataInfo("image", (1, 28, 28))
    small = sum(p.numel() for p in nets.generator(info, 8, 0.25).parameters())
    large = sum(p.numel() for p in nets.generator(info, 8, 1.0).parameters())
    assert large > 8 * small


def test_mlp_networks():
    info = DataInfo("vector", (5,))
    g, d, e, j = nets.generator(info, 3), nets.discriminator(info), nets.encoder(info, 3), nets.joint_discriminator(info, 3)
    z = torch.randn(4, 3)
    x = g(z)
    assert x.shape == (4, 5) and d(x).shape == (4,) and e(x).shape == (4, 3) and j(x, z).shape == (4,)


def test_unsupported_image_size_is_a_clear_error():
    with pytest.raises(GaneError, match="--image-size"):
        nets.generator(DataInfo("image", (1, 30, 30)), 8)


def test_online_gaussian_mixture_recovers_three_clusters():
    """The AE's code density: streamed batches from three clusters give three components at their
    centres with their spread, and samples from it land near the centres in the right proportions."""
    torch.manual_seed(0)
    mix = nets.OnlineGaussianMixture(2, 3, momentum=0.05)
    centres = torch.tensor([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    for _ in range(400):
        k = torch.randint(0, 3, (64,))
        mix.update(centres[k] + 0.3 * torch.randn(64, 2))
    nearest = torch.cdist(mix.means, centres).argmin(1)
    assert sorted(nearest.tolist()) == [0, 1, 2]
    assert torch.allclose(mix.means, centres[nearest], atol=0.15)
    assert torch.allclose(mix.covs.diagonal(dim1=1, dim2=2), torch.full((3, 2), 0.09), atol=0.04)
    z = mix.sample(torch.randn(3000, 2), torch.rand(3000))
    dist = torch.cdist(z, centres)
    assert float((dist.min(1).values < 1.2).float().mean()) > 0.99
    share = torch.bincount(dist.argmin(1), minlength=3).float() / 3000
    assert torch.allclose(share, torch.full((3,), 1 / 3), atol=0.05)
