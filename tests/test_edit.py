"""Editing functions: spherical interpolation against its geometry and a hand-computed point, and
code sweeps by their values (the swept part runs over its values, the rest of each row is held)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gane.data import DataInfo
from gane.edit import code_sweep, interpolate, lerp, slerp
from gane.families import build_family


def angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angles (..,) between the rows of a and b."""
    return torch.acos(((a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))).clamp(-1, 1))


Z0 = torch.tensor([[1.0, 0.0, 0.0], [0.3, -1.2, 0.5]], dtype=torch.float64)
Z1 = torch.tensor([[0.0, 2.0, 0.0], [-0.8, 0.1, 1.1]], dtype=torch.float64)
T = torch.linspace(0, 1, 11, dtype=torch.float64)


def test_slerp_starts_and_ends_at_the_endpoints():
    path = slerp(Z0, Z1, T)  # (2, 11, 3)
    assert path.shape == (2, 11, 3)
    torch.testing.assert_close(path[:, 0], Z0, rtol=0, atol=1e-12)
    torch.testing.assert_close(path[:, -1], Z1, rtol=0, atol=1e-12)


def test_slerp_keeps_the_norm_of_equal_norm_endpoints_and_turns_at_a_constant_rate():
    z1 = Z1 / Z1.norm(dim=1, keepdim=True) * Z0.norm(dim=1, keepdim=True)  # same norms as Z0
    path = slerp(Z0, z1, T)
    torch.testing.assert_close(path.norm(dim=2), Z0.norm(dim=1, keepdim=True).expand(2, 11), rtol=1e-12, atol=0)
    total = angle(Z0, z1)  # (2,)
    torch.testing.assert_close(angle(Z0.unsqueeze(1).expand_as(path), path), T * total.unsqueeze(1), rtol=0, atol=1e-7)


def test_slerp_matches_a_hand_computed_point():
    """Halfway from (1, 0) to (0, 2): the direction at 45 degrees, the norm halfway from 1 to 2."""
    mid = slerp(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]]), torch.tensor([0.5]))
    expected = 1.5 * math.sqrt(0.5)
    torch.testing.assert_close(mid, torch.tensor([[[expected, expected]]]))


def test_slerp_of_parallel_codes_is_linear():
    z0, z1 = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 6.0]])
    torch.testing.assert_close(slerp(z0, z1, T.float()), lerp(z0, z1, T.float()))


class CodeAsData(nn.Module):
    """A generator that returns its code, so what a sweep decodes is the code it built."""

    def forward(self, z):
        return z


def test_interpolate_decodes_the_path_between_codes():
    model = build_family("gan", {"z_dim": 3, "width": 0.125}, DataInfo("vector", (3,)))
    model.G = CodeAsData()
    out = interpolate(model, Z0.float(), Z1.float(), steps=11, mode="spherical")  # (2, 11, 3)
    torch.testing.assert_close(out, slerp(Z0.float(), Z1.float(), T.float()))


def infogan():
    model = build_family("infogan", {"z_dim": 2, "width": 0.125, "categorical": 3, "continuous": 2}, DataInfo("vector", (7,)))
    model.G = CodeAsData()  # code: z (2), c1 (one-hot of 3), c2, c3
    return model.eval()


def test_a_categorical_sweep_runs_over_the_categories_and_holds_the_rest_of_each_row():
    model = infogan()
    grid = code_sweep(model, "c1", rows=4, generator=torch.Generator().manual_seed(0))  # (rows, categories, code)
    assert grid.shape == (4, 3, 7)
    torch.testing.assert_close(grid[:, :, 2:5], torch.eye(3).expand(4, 3, 3))  # column k is category k
    held = torch.cat([grid[:, :, :2], grid[:, :, 5:]], 2)  # z, c2, c3
    torch.testing.assert_close(held, held[:, :1].expand_as(held))  # the same along each row
    base = model.sample_codes(4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(held[:, 0], torch.cat([base[:, :2], base[:, 5:]], 1))  # the codes sample() would draw
    assert not torch.equal(held[0, 0], held[1, 0])  # each row its own code


def test_a_continuous_sweep_runs_from_minus_span_to_span():
    model = infogan()
    grid = code_sweep(model, "c2", rows=3, cols=5, span=1.5, generator=torch.Generator().manual_seed(1))
    assert grid.shape == (3, 5, 7)
    torch.testing.assert_close(grid[:, :, 5], torch.tensor([-1.5, -0.75, 0.0, 0.75, 1.5]).expand(3, 5))
    held = torch.cat([grid[:, :, :5], grid[:, :, 6:]], 2)
    torch.testing.assert_close(held, held[:, :1].expand_as(held))


def test_a_sweep_of_a_conditional_model_holds_the_class_it_is_given():
    model = build_family("acgan", {"z_dim": 2, "width": 0.125}, DataInfo("vector", (6,), num_classes=4)).eval()
    model.G = CodeAsData()  # code: z (2), class (one-hot of 4)
    grid = code_sweep(model, "z", rows=2, cols=3, span=1.0, classes=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(grid[:, :, 2:], torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(2, 3, 4))
    torch.testing.assert_close(grid[:, :, :2], torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1).expand(2, 3, 2))  # every entry of z


def test_a_sweep_of_a_part_the_code_lacks_names_the_parts():
    from gane.errors import GaneError

    with pytest.raises(GaneError, match="no part 'c9'.*z, c1, c2, c3"):
        code_sweep(infogan(), "c9")
