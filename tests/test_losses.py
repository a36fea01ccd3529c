"""Each loss against a hand-written reference computed element by element."""
from __future__ import annotations

import math

import torch

from gane import losses


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


REAL = torch.tensor([2.0, -0.5, 0.3, 4.0])
FAKE = torch.tensor([-1.0, 0.7, -3.0, 0.1])


def test_d_logistic_is_negative_log_likelihood_of_real_and_fake():
    ref = -sum(math.log(sigmoid(r)) for r in REAL.tolist()) / 4 - sum(math.log(1 - sigmoid(f)) for f in FAKE.tolist()) / 4
    assert math.isclose(losses.d_logistic(REAL, FAKE).item(), ref, rel_tol=1e-6)


def test_g_minimax_is_log_one_minus_d():
    ref = sum(math.log(1 - sigmoid(f)) for f in FAKE.tolist()) / 4
    assert math.isclose(losses.g_minimax(FAKE).item(), ref, rel_tol=1e-6)


def test_g_nonsaturating_is_minus_log_d():
    ref = -sum(math.log(sigmoid(f)) for f in FAKE.tolist()) / 4
    assert math.isclose(losses.g_nonsaturating(FAKE).item(), ref, rel_tol=1e-6)


def test_nonsaturating_gives_stronger_gradient_when_d_rejects_fakes():
    fake = torch.tensor([-6.0], requires_grad=True)  # D is confident the sample is fake
    (g_ns,) = torch.autograd.grad(losses.g_nonsaturating(fake), fake)
    (g_mm,) = torch.autograd.grad(losses.g_minimax(fake), fake)
    assert abs(g_ns.item()) > 100 * abs(g_mm.item())


def test_registry_pairs_the_losses():
    assert losses.ADVERSARIAL_LOSSES.get("ns").g is losses.g_nonsaturating
    assert losses.ADVERSARIAL_LOSSES.get("minimax").g is losses.g_minimax


def test_mse_and_sum_squared_error():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    assert math.isclose(losses.mse(a, b).item(), (1 + 0 + 4 + 9) / 4)
    assert math.isclose(losses.sum_squared_error(a, b).item(), ((1 + 0) + (4 + 9)) / 2)


def test_gaussian_kl_matches_closed_form_per_dimension():
    mu = torch.tensor([[0.5, -1.0], [0.0, 2.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)], [math.log(0.25), 0.0]])
    ref = 0.0
    for m_row, lv_row in zip(mu.tolist(), logvar.tolist()):
        for m, lv in zip(m_row, lv_row):
            var = math.exp(lv)
            ref += 0.5 * (var + m * m - 1 - math.log(var))
    assert math.isclose(losses.gaussian_kl(mu, logvar).item(), ref / 2, rel_tol=1e-6)
    assert losses.gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_l1_sparsity():
    z = torch.tensor([[1.0, -2.0], [0.0, 0.5]])
    assert math.isclose(losses.l1_sparsity(z).item(), (3 + 0.5) / 2)


def test_jacobian_penalty_exact_matches_autograd_jacobian():
    torch.manual_seed(0)
    enc = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    x = torch.randn(4, 5, requires_grad=True)
    got = losses.jacobian_frobenius_sq(enc(x), x)
    ref = sum(torch.autograd.functional.jacobian(enc, x[i].detach()).pow(2).sum() for i in range(4)) / 4
    assert torch.allclose(got, ref, rtol=1e-5)
    got.backward()  # the penalty keeps its graph so it can be minimised
    assert enc[0].weight.grad is not None


def test_jacobian_penalty_estimate_is_unbiased():
    torch.manual_seed(0)
    w = torch.randn(3, 6)
    x = torch.randn(2, 6, requires_grad=True)
    z = x @ w.T  # linear code: the Jacobian is w for every example
    est = losses.jacobian_frobenius_sq(z, x, projections=4000)
    assert math.isclose(est.item(), w.pow(2).sum().item(), rel_tol=0.05)
