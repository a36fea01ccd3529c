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


def test_maxout_is_the_maximum_of_its_affine_pieces():
    from gane.nets.mlp import Maxout

    layer = Maxout(3, 4, pieces=5)
    x = torch.randn(6, 3)
    w, b = layer.linear.weight.view(4, 5, 3), layer.linear.bias.view(4, 5)
    reference = torch.stack([torch.stack([(w[u, k] @ x[i] + b[u, k]) for k in range(5)]).max() for i in range(6) for u in range(4)])
    assert torch.allclose(layer(x), reference.view(6, 4), atol=1e-6)


def test_pacgan_layout_has_the_published_networks_and_every_part_runs():
    """PacGAN's 2-D protocol: G 4 x 400 with batch norm and ReLU, D 3 maxout layers of 200 with 5 pieces,
    E 2 x 400; ALI's joint D reads the concatenated (x, z) directly; width scales every layer."""
    from gane.nets.mlp import Maxout

    info = DataInfo("vector", (2,))
    g, e = nets.generator(info, 2, net="pacgan"), nets.encoder(info, 2, net="pacgan")
    d, j = nets.discriminator(info, net="pacgan"), nets.joint_discriminator(info, 2, dropout=0.0, net="pacgan")
    linear = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(2, 400), (400, 400), (400, 400), (400, 400), (400, 2)]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in g.modules()) == 4 and linear[0].bias is None
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in e.modules()) == 2
    maxouts = [m for m in d.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.out, m.pieces) for m in maxouts] == [(2, 200, 5), (200, 200, 5), (200, 200, 5)]
    assert [m.linear.in_features for m in j.modules() if isinstance(m, Maxout)][0] == 4  # x and z side by side
    z = torch.randn(5, 2)
    x = g(z)
    assert x.shape == (5, 2) and d(x).shape == (5,) and e(x).shape == (5, 2) and j(x, z).shape == (5,)
    half = nets.generator(info, 2, width=0.5, net="pacgan")
    assert [m.out_features for m in half.modules() if isinstance(m, torch.nn.Linear)][0] == 200
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in nets.generator(info, 2, batch_norm=False, net="pacgan").modules())


def test_the_vector_layout_of_image_data_is_a_clear_error():
    with pytest.raises(GaneError, match="Drop --vector-net"):
        nets.generator(DataInfo("image", (1, 28, 28)), 8, net="pacgan")


def test_unsupported_image_size_is_a_clear_error():
    with pytest.raises(GaneError, match="--image-size"):
        nets.generator(DataInfo("image", (1, 30, 30)), 8)


def test_code_mixture_recovers_three_clusters():
    """The code density sample() draws from: EM on codes from three clusters (unequal shares and
    spreads) gives three components at their centres, log_prob matches the mixture's density
    written out by hand, and samples land near the centres in the right proportions."""
    torch.manual_seed(0)
    centres = torch.tensor([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    spread = torch.tensor([0.3, 0.5, 0.2])
    k = torch.multinomial(torch.tensor([0.5, 0.3, 0.2]), 3000, replacement=True)
    mix = nets.CodeMixture(2, 3)
    assert not bool(mix.fitted)
    mix.fit(centres[k] + spread[k, None] * torch.randn(3000, 2))
    assert bool(mix.fitted)
    nearest = torch.cdist(mix.means, centres).argmin(1)
    assert sorted(nearest.tolist()) == [0, 1, 2]
    assert torch.allclose(mix.means, centres[nearest], atol=0.05)
    assert torch.allclose(mix.weights, torch.tensor([0.5, 0.3, 0.2])[nearest], atol=0.03)
    covs = mix.chols @ mix.chols.transpose(1, 2)
    assert torch.allclose(covs.diagonal(dim1=1, dim2=2), (spread[nearest] ** 2)[:, None].expand(3, 2), rtol=0.15)
    q = torch.tensor([[5.0, 0.1], [0.0, 0.0], [0.2, 4.9]])
    by_hand = sum(mix.weights[j] * torch.distributions.MultivariateNormal(mix.means[j], covs[j]).log_prob(q).exp() for j in range(3))
    assert torch.allclose(mix.log_prob(q), by_hand.log(), rtol=1e-4)
    z = mix.sample(torch.randn(4000, 2), torch.rand(4000))
    dist = torch.cdist(z, centres)
    assert float((dist.min(1).values < 2.0).float().mean()) > 0.99
    share = torch.bincount(dist.argmin(1), minlength=3).float() / 4000
    assert torch.allclose(share, torch.tensor([0.5, 0.3, 0.2]), atol=0.03)


def test_code_mixture_with_fewer_codes_than_components():
    mix = nets.CodeMixture(3, 10)
    mix.fit(torch.randn(4, 3))
    assert int((mix.weights > 0).sum()) == 4
    z = mix.sample(torch.randn(500, 3), torch.rand(500))
    assert torch.isfinite(z).all()
    with pytest.raises(GaneError, match="non-finite"):
        mix.fit(torch.tensor([[0.0, 1.0, 2.0], [float("nan"), 0.0, 0.0]]))


# --------------------------------------------------------------------------- self-attention (SAGAN)


def test_self_attention_starts_as_the_identity_and_reads_the_whole_map():
    from gane.nets.attention import SelfAttention

    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 7, 7)
    assert torch.equal(block(x), x)  # gamma = 0
    with torch.no_grad():
        block.gamma.fill_(1.0)
    attention = block.attention(x)
    assert attention.shape == (2, 49, 49)
    torch.testing.assert_close(attention.sum(-1), torch.ones(2, 49))
    far = x.clone()
    far[:, :, 6, 6] += 3.0  # one corner changes; the opposite corner's output follows (a 1x1 conv net could not)
    assert not torch.allclose(block(far)[:, :, 0, 0], block(x)[:, :, 0, 0])
    assert all(hasattr(conv, "parametrizations") for conv in (block.f, block.g, block.h, block.v))  # spectral norm, as in SAGAN


def test_attention_is_built_into_every_image_family_at_the_side_asked_for():
    from gane.data import DataInfo
    from gane.errors import GaneError
    from gane.families import build_family, generative_families
    from gane.nets.attention import SelfAttention

    info = DataInfo("image", (1, 28, 28), 4)
    for family in generative_families("image"):
        model = build_family(family, {"width": 0.125, "z_dim": 4, "attention": 14}, info)
        blocks = [m for m in model.modules() if isinstance(m, SelfAttention)]
        assert len(blocks) >= 2, family  # G and at least one of D and E
        seen = []
        hooks = [b.register_forward_hook(lambda m, i, o: seen.append(o.shape[-1])) for b in blocks]
        model.eval()
        model.decode(model.prior(2))
        assert seen and set(seen) == {14}, family
        for h in hooks:
            h.remove()
        assert not any(isinstance(m, SelfAttention) for m in build_family(family, {"width": 0.125, "z_dim": 4}, info).modules())
    with pytest.raises(GaneError, match="side 7 and 14"):
        build_family("gan", {"attention": 28}, info)
    with pytest.raises(GaneError, match="Drop --attention"):
        build_family("gan", {"attention": 7}, DataInfo("vector", (2,), 4))
