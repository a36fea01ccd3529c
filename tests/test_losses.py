"""Each loss against a hand-written reference computed element by element."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from gane import losses, nets
from gane.data import DataInfo
from gane.families.adversarial import Adversary, needs_input_gradients
from gane.families.gan import GANConfig
from gane.nets import Scores


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


# --------------------------------------------------------------------------- hinge, Wasserstein and least-squares losses

def _random_logits(seed: int = 0, n: int = 7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g) * 3, torch.randn(n, generator=g) * 3


def _softplus(v: float) -> float:
    return math.log1p(math.exp(-abs(v))) + max(v, 0.0)


def test_d_hinge_matches_per_element_reference():
    """d_hinge averages max(0, 1 - real) and max(0, 1 + fake) separately and adds them."""
    real, fake = _random_logits(1)
    ref = sum(max(0.0, 1 - r) for r in real.tolist()) / len(real) + sum(max(0.0, 1 + f) for f in fake.tolist()) / len(fake)
    assert math.isclose(losses.d_hinge(real, fake).item(), ref, rel_tol=1e-6)
    # Beyond the margins the hinge is flat: real > 1 and fake < -1 cost nothing.
    assert losses.d_hinge(torch.tensor([1.5, 3.0]), torch.tensor([-2.0, -1.0])).item() == 0.0


def test_g_hinge_and_g_wasserstein_are_minus_mean_score():
    """G's hinge and Wasserstein losses are -mean(fake score)."""
    _, fake = _random_logits(2)
    ref = -sum(fake.tolist()) / len(fake)
    assert math.isclose(losses.g_hinge(fake).item(), ref, rel_tol=1e-6)
    assert math.isclose(losses.g_wasserstein(fake).item(), ref, rel_tol=1e-6)


def test_d_wasserstein_is_mean_fake_minus_mean_real():
    """The critic's loss is E D(fake) - E D(real), also with batches of different sizes."""
    real, fake = _random_logits(3)
    fake = torch.cat([fake, fake[:3] + 1])  # 10 fakes, 7 reals
    ref = sum(fake.tolist()) / len(fake) - sum(real.tolist()) / len(real)
    assert math.isclose(losses.d_wasserstein(real, fake).item(), ref, rel_tol=1e-6, abs_tol=1e-6)


def test_least_squares_losses_match_per_element_reference():
    """LSGAN (a=0, b=c=1): D = 1/2 E (real - 1)^2 + 1/2 E fake^2, G = 1/2 E (fake - 1)^2."""
    real, fake = _random_logits(4)
    d_ref = sum(0.5 * (r - 1) ** 2 for r in real.tolist()) / len(real) + sum(0.5 * f ** 2 for f in fake.tolist()) / len(fake)
    g_ref = sum(0.5 * (f - 1) ** 2 for f in fake.tolist()) / len(fake)
    assert math.isclose(losses.d_least_squares(real, fake).item(), d_ref, rel_tol=1e-6)
    assert math.isclose(losses.g_least_squares(fake).item(), g_ref, rel_tol=1e-6)


# --------------------------------------------------------------------------- the registry

FLIPPED_REFERENCES = {
    # minimising each drives D's score of the inputs towards "fake"
    "ns": lambda s: -math.log(1 - sigmoid(s)),  # -log(1 - D(x)) = softplus(s)
    "minimax": lambda s: math.log(sigmoid(s)),  # log D(x) = log(1 - (1 - D(x))) = -softplus(-s)
    "hinge": lambda s: s,
    "wgan-gp": lambda s: s,
    "lsgan": lambda s: 0.5 * s * s,  # 1/2 (D(x) - 0)^2: LSGAN's target for fakes is 0
}


def test_registry_holds_exactly_the_documented_losses():
    """Every registered loss has a g_flipped reference here (a new loss must add one)."""
    assert sorted(losses.ADVERSARIAL_LOSSES.names()) == sorted(FLIPPED_REFERENCES)


@pytest.mark.parametrize("name", sorted(FLIPPED_REFERENCES))
def test_g_flipped_is_the_loss_that_makes_inputs_look_fake(name):
    """g_flipped(s) equals its per-element formula, and its gradient pushes the scores down."""
    s = torch.tensor([-4.0, -0.6, 0.0, 0.9, 3.5], requires_grad=True)
    got = losses.ADVERSARIAL_LOSSES.get(name).g_flipped(s)
    ref = sum(FLIPPED_REFERENCES[name](v) for v in s.tolist()) / len(s)
    assert math.isclose(got.item(), ref, rel_tol=1e-6, abs_tol=1e-7)
    (grad,) = torch.autograd.grad(got, s)
    positive = s.detach() > 0  # where D leans towards "real", descent must lower the score
    assert (grad[positive] > 0).all()


@pytest.mark.parametrize("name", ["ns", "minimax"])
def test_logistic_d_is_negative_log_likelihood(name):
    """For the logistic losses, d(real, fake) = -E[log sigmoid(real)] - E[log(1 - sigmoid(fake))]."""
    real, fake = _random_logits(5)
    ref = -sum(math.log(sigmoid(r)) for r in real.tolist()) / len(real) - sum(math.log(1 - sigmoid(f)) for f in fake.tolist()) / len(fake)
    assert math.isclose(losses.ADVERSARIAL_LOSSES.get(name).d(real, fake).item(), ref, rel_tol=1e-5)


def test_registry_pairs_the_new_losses_and_penalties():
    """hinge, wgan-gp and lsgan use their own d and g; only wgan-gp asks for the gradient penalty."""
    table = {"hinge": (losses.d_hinge, losses.g_hinge), "wgan-gp": (losses.d_wasserstein, losses.g_wasserstein),
             "lsgan": (losses.d_least_squares, losses.g_least_squares)}
    for name, (d, g) in table.items():
        entry = losses.ADVERSARIAL_LOSSES.get(name)
        assert entry.d is d and entry.g is g
    assert [n for n in losses.ADVERSARIAL_LOSSES.names() if losses.ADVERSARIAL_LOSSES.get(n).penalty] == ["wgan-gp"]


# --------------------------------------------------------------------------- gradient penalties, by finite differences


def _fd_grad(fn, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central finite differences of a scalar function of one example (a float64 vector)."""
    g = torch.zeros_like(x)
    for j in range(x.numel()):
        e = torch.zeros_like(x)
        e[j] = eps
        g[j] = (fn(x + e) - fn(x - e)) / (2 * eps)
    return g


def _tanh_critic(d: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(5, d, generator=g, dtype=torch.float64)

    def critic(x):  # (B, d) -> (B,)
        return torch.tanh(x @ w.T).sum(1)

    return critic


def _gp_reference(critic_one, real, fake, seed):
    """(||grad||-1)^2 at t real + (1-t) fake, with t drawn as the function draws it and grads by finite differences.
    ``critic_one`` maps a list of per-input vectors (one example) to a float; ``real``/``fake`` are lists of (B, ...)."""
    b, n = fake[0].shape[0], real[0].shape[0]
    torch.manual_seed(seed)
    t = torch.rand(b).double()
    total = 0.0
    for i in range(b):
        pts = [t[i] * r[i % n] + (1 - t[i]) * f[i] for r, f in zip(real, fake)]
        sq = 0.0
        for k, p in enumerate(pts):
            def fn(v, k=k):
                args = list(pts)
                args[k] = v
                return critic_one(args)
            sq += _fd_grad(fn, p.flatten().clone()).pow(2).sum().item()
        total += (math.sqrt(sq) - 1) ** 2
    return total / b


def test_gradient_penalty_matches_finite_differences():
    """One input: E (||grad f(x_t)|| - 1)^2 at x_t = t real + (1 - t) fake, checked by central differences."""
    critic = _tanh_critic(3)
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g, dtype=torch.float64) + 1
    torch.manual_seed(123)
    got = losses.gradient_penalty(critic, (real,), (fake,)).item()
    ref = _gp_reference(lambda a: critic(a[0][None]).item(), [real], [fake], 123)
    assert math.isclose(got, ref, rel_tol=1e-6)


def test_gradient_penalty_norm_is_joint_over_all_inputs():
    """Two inputs f(x, z): one t per example for both, and the norm is sqrt(|grad_x|^2 + |grad_z|^2)."""
    g = torch.Generator().manual_seed(2)
    wx, wz = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 2, generator=g, dtype=torch.float64)

    def critic(x, z):
        return torch.tanh(x @ wx.T + z @ wz.T).sum(1)

    real = [torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)]
    fake = [torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)]
    torch.manual_seed(7)
    got = losses.gradient_penalty(critic, real, fake).item()
    ref = _gp_reference(lambda a: critic(a[0][None], a[1][None]).item(), real, fake, 7)
    assert math.isclose(got, ref, rel_tol=1e-6)
    # The per-input norms summed after the square root would be a different number.
    torch.manual_seed(7)
    t = torch.rand(5).double()[:, None]
    sep = 0.0
    for i in range(5):
        for k in range(2):
            p = [t[i] * real[j][i] + (1 - t[i]) * fake[j][i] for j in range(2)]
            fn = (lambda v: critic(v[None], p[1][None]).item()) if k == 0 else (lambda v: critic(p[0][None], v[None]).item())
            sep += (_fd_grad(fn, p[k].clone()).norm().item() - 1) ** 2
    assert not math.isclose(got, sep / 10, rel_tol=1e-3)


def test_gradient_penalty_repeats_reals_for_k_fakes_per_real():
    """With 3 fakes per real, fake row i is paired with real row i % n (the reals tiled, as for [recon; samples])."""
    critic = _tanh_critic(2, seed=3)
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(4, 2, generator=g, dtype=torch.float64), torch.randn(12, 2, generator=g, dtype=torch.float64) * 2
    torch.manual_seed(11)
    got = losses.gradient_penalty(critic, (real,), (fake,)).item()
    ref = _gp_reference(lambda a: critic(a[0][None]).item(), [real], [fake], 11)
    assert math.isclose(got, ref, rel_tol=1e-6)


def test_gradient_penalty_is_differentiable_in_the_critic_parameters():
    """The penalty keeps its graph: its autograd gradient in the critic's weights matches finite differences."""
    g = torch.Generator().manual_seed(4)
    w = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    real, fake = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g, dtype=torch.float64)

    def penalty(weight):
        torch.manual_seed(5)  # the same t every time
        return losses.gradient_penalty(lambda x: torch.tanh(x @ weight.T).sum(1), (real,), (fake,))

    penalty(w).backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    for idx in [(0, 0), (2, 1), (4, 2)]:
        e = torch.zeros_like(w.detach())
        e[idx] = 1e-6
        fd = (penalty(w.detach() + e) - penalty(w.detach() - e)).item() / 2e-6
        assert math.isclose(w.grad[idx].item(), fd, rel_tol=1e-5, abs_tol=1e-8)


def test_gradient_penalty_of_linear_critics_is_known():
    """A linear critic has gradient w everywhere: penalty (||w|| - 1)^2, ~0 for a unit w and 1 for ||w|| = 2."""
    g = torch.Generator().manual_seed(6)
    w = torch.randn(4, generator=g)
    w = w / w.norm()
    real, fake = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    assert losses.gradient_penalty(lambda x: x @ w, (real,), (fake,)).item() < 1e-10
    assert math.isclose(losses.gradient_penalty(lambda x: x @ (2 * w), (real,), (fake,)).item(), 1.0, rel_tol=1e-5)


def test_gradient_penalty_does_not_backpropagate_into_the_inputs():
    """Real and fake are detached: the penalty trains the critic only, never G through x_fake."""
    real = torch.randn(4, 2, requires_grad=True)
    fake = torch.randn(4, 2, requires_grad=True)
    w = torch.randn(2, requires_grad=True)
    losses.gradient_penalty(lambda x: torch.tanh(x @ w), (real,), (fake,)).backward()
    assert real.grad is None and fake.grad is None and w.grad is not None


def test_r1_penalty_matches_finite_differences():
    """R1 = E ||grad f(x_real)||^2 summed over all inputs, checked by central differences for f(x, z)."""
    g = torch.Generator().manual_seed(8)
    wx, wz = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 2, generator=g, dtype=torch.float64)

    def critic(x, z):
        return torch.tanh(x @ wx.T + z @ wz.T).sum(1)

    x, z = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)
    ref = 0.0
    for i in range(5):
        ref += _fd_grad(lambda v: critic(v[None], z[i][None]).item(), x[i].clone()).pow(2).sum().item()
        ref += _fd_grad(lambda v: critic(x[i][None], v[None]).item(), z[i].clone()).pow(2).sum().item()
    assert math.isclose(losses.r1_penalty(critic, (x, z)).item(), ref / 5, rel_tol=1e-6)


def test_r1_penalty_of_a_quadratic_critic_is_analytic():
    """f(x) = 1/2 ||A x||^2 has gradient A^T A x, so R1 = mean_i ||A^T A x_i||^2; it also keeps the graph in A."""
    g = torch.Generator().manual_seed(9)
    a = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    got = losses.r1_penalty(lambda v: 0.5 * (v @ a.T).pow(2).sum(1), (x,))
    ata = (a.T @ a).detach()
    ref = sum(sum(c * c for c in (ata @ x[i]).tolist()) for i in range(6)) / 6
    assert math.isclose(got.item(), ref, rel_tol=1e-10)
    got.backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


# --------------------------------------------------------------------------- feature matching and EBGAN


def test_feature_matching_matches_loop():
    """||mean f(real) - mean f(fake)||^2, with batches of different sizes."""
    g = torch.Generator().manual_seed(10)
    rf, ff = torch.randn(5, 3, generator=g), torch.randn(7, 3, generator=g)
    ref = 0.0
    for j in range(3):
        mr = sum(rf[i, j].item() for i in range(5)) / 5
        mf = sum(ff[i, j].item() for i in range(7)) / 7
        ref += (mr - mf) ** 2
    assert math.isclose(losses.feature_matching(rf, ff).item(), ref, rel_tol=1e-5)


def test_ebgan_margin_matches_loop():
    """E D(real) + E max(0, m - D(fake)): fakes with energy above the margin cost nothing."""
    real = torch.tensor([0.2, 1.5, 0.0, 3.0])
    fake = torch.tensor([0.5, 2.5, 4.0, 1.0, 0.0])
    m = 2.0
    ref = sum(real.tolist()) / 4 + sum(max(0.0, m - f) for f in fake.tolist()) / 5
    assert math.isclose(losses.ebgan_margin(real, fake, m).item(), ref, rel_tol=1e-6)


def test_pulling_away_matches_loop_over_distinct_pairs():
    """Mean over ordered pairs i != j of cos^2(code_i, code_j); orthogonal codes give 0, parallel ones 1."""
    g = torch.Generator().manual_seed(11)
    codes = torch.randn(5, 2, 3, generator=g)  # flattened to (5, 6)
    rows = [c.flatten().tolist() for c in codes]
    ref, pairs = 0.0, 0
    for i, j in itertools.permutations(range(5), 2):
        dot = sum(a * b for a, b in zip(rows[i], rows[j]))
        ni, nj = math.sqrt(sum(a * a for a in rows[i])), math.sqrt(sum(b * b for b in rows[j]))
        ref += (dot / (ni * nj)) ** 2
        pairs += 1
    assert math.isclose(losses.pulling_away(codes).item(), ref / pairs, rel_tol=1e-5)
    assert losses.pulling_away(torch.eye(4) * 3).item() < 1e-12
    assert math.isclose(losses.pulling_away(torch.tensor([[1.0, 2.0], [-2.0, -4.0], [0.5, 1.0]])).item(), 1.0, rel_tol=1e-6)


# --------------------------------------------------------------------------- Adversary: D's loss with its stabilisers


def _tiny_d(bottleneck: int = 0, seed: int = 0):
    torch.manual_seed(seed)
    return nets.discriminator(DataInfo("vector", (2,)), width=0.0625, batch_norm=False, bottleneck=bottleneck)


def _xy(seed: int = 0, n: int = 6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g) + 2


def _logistic_ref(real_logits, fake_logits) -> float:
    return (sum(_softplus(-r) for r in real_logits.tolist()) / len(real_logits)
            + sum(_softplus(f) for f in fake_logits.tolist()) / len(fake_logits))


def _vdb_kl_ref(D, x) -> float:
    """KL(N(mu, sigma^2) || N(0, I)) of D's bottleneck, per dimension by hand, averaged over the batch."""
    with torch.no_grad():
        mu, logvar = D.bottleneck.to_stats(D.body(x)).chunk(2, dim=1)
    total = 0.0
    for m_row, lv_row in zip(mu.tolist(), logvar.clamp(-30, 20).tolist()):
        total += sum(0.5 * (math.exp(lv) + m * m - 1 - lv) for m, lv in zip(m_row, lv_row))
    return total / len(x)


def test_needs_input_gradients():
    """Discriminators lose batch norm exactly when a gradient penalty or R1 is on."""
    assert not needs_input_gradients(GANConfig(loss="ns"))
    assert not needs_input_gradients(GANConfig(loss="hinge"))
    assert needs_input_gradients(GANConfig(loss="wgan-gp"))
    assert needs_input_gradients(GANConfig(loss="lsgan", r1=1.0))


def test_vdb_beta_follows_dual_ascent_and_is_clamped_at_zero():
    """--vdb I_c: beta += vdb_step * (KL - I_c) after each D loss, which uses the beta before the step; beta >= 0."""
    D = _tiny_d(bottleneck=4).eval()  # eval: the code is the mean, so logits are deterministic
    real, fake = _xy(1)
    kl = 0.5 * (_vdb_kl_ref(D, real) + _vdb_kl_ref(D, fake))
    assert kl > 0.05
    ic, step = kl / 4, 0.3
    adv = Adversary(GANConfig(vdb=ic, vdb_size=4, vdb_step=step))
    assert adv.bottleneck == 4 and adv.vdb_beta.item() == 0.0
    with torch.no_grad():
        plain = _logistic_ref(D(real), D(fake))
    beta = 0.0
    for _ in range(3):
        loss, logs = adv.d_loss(D, (real,), (fake,))
        assert math.isclose(loss.item(), plain + beta * (kl - ic), rel_tol=1e-5)
        loss.backward()  # beta's in-place update must not corrupt the graph of the loss that used it
        beta = max(0.0, beta + step * (kl - ic))
        assert math.isclose(adv.vdb_beta.item(), beta, rel_tol=1e-5)
        assert math.isclose(logs["vdb_kl"].item(), kl, rel_tol=1e-5)
    assert beta > 0
    # A KL below the bound drives beta down and stops at 0.
    adv.config.vdb = kl + 10.0
    adv.d_loss(D, (real,), (fake,))
    assert adv.vdb_beta.item() == 0.0
    # Starting from 0 with the KL below I_c, beta stays 0 (the clamp, not a negative multiplier).
    adv2 = Adversary(GANConfig(vdb=kl + 0.5, vdb_size=4, vdb_step=step))
    for _ in range(2):
        loss, _ = adv2.d_loss(D, (real,), (fake,))
        assert adv2.vdb_beta.item() == 0.0
        assert math.isclose(loss.item(), plain, rel_tol=1e-5)


def test_vdb_beta_is_a_saved_buffer():
    """beta lives in the state dict, so a resumed run keeps its multiplier."""
    adv = Adversary(GANConfig(vdb=0.1, vdb_size=4))
    assert "vdb_beta" in adv.state_dict() and list(adv.parameters()) == []


def _per_example_input_grads(D, xs: torch.Tensor) -> list[torch.Tensor]:
    """grad_x D(x) computed one example at a time (no batch interaction possible)."""
    out = []
    for i in range(len(xs)):
        p = xs[i:i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(D(p).sum(), p)
        out.append(g[0])
    return out


def test_r1_adds_half_gamma_times_mean_squared_input_gradient():
    """--r1 gamma: D loss = plain loss + gamma/2 * E ||grad_x D(x_real)||^2 (no dropout, so deterministic)."""
    D = _tiny_d(seed=2)
    real, fake = _xy(2)
    gamma = 3.0
    adv = Adversary(GANConfig(r1=gamma, dropout=0.0))
    torch.manual_seed(0)
    loss, logs = adv.d_loss(D, (real,), (fake,))
    with torch.no_grad():
        plain = _logistic_ref(D(real), D(fake))
    r1 = sum(g.pow(2).sum().item() for g in _per_example_input_grads(D, real)) / len(real)
    assert r1 > 1e-4
    assert math.isclose(logs["r1"].item(), r1, rel_tol=1e-5)
    assert math.isclose(loss.item(), plain + 0.5 * gamma * r1, rel_tol=1e-5)
    loss.backward()  # the penalty trains D
    assert all(p.grad is not None for p in D.parameters())


def test_wgan_gp_d_loss_includes_weighted_gradient_penalty():
    """--loss wgan-gp: D loss = E D(fake) - E D(real) + gp_weight * E (||grad D(x_t)|| - 1)^2."""
    D = _tiny_d(seed=3)
    real, fake = _xy(3)
    adv = Adversary(GANConfig(loss="wgan-gp", gp_weight=7.0))
    torch.manual_seed(42)
    loss, logs = adv.d_loss(D, (real,), (fake,))
    torch.manual_seed(42)  # D has no dropout or bottleneck: the first draw is the penalty's t
    t = torch.rand(len(real))
    points = t[:, None] * real + (1 - t[:, None]) * fake
    gp = sum((g.norm().item() - 1) ** 2 for g in _per_example_input_grads(D, points)) / len(real)
    with torch.no_grad():
        plain = D(fake).mean().item() - D(real).mean().item()
    assert math.isclose(logs["gp"].item(), gp, rel_tol=1e-5)
    assert math.isclose(loss.item(), plain + 7.0 * gp, rel_tol=1e-5, abs_tol=1e-6)


class _ThreeScoreD:
    """A stand-in discriminator with three linear scores per example: logits = x @ W.T, (B, 3)."""

    def __init__(self, w: torch.Tensor):
        self.w = w

    def scores(self, *inputs, y=None):
        x = inputs[0]
        return Scores(x @ self.w.T, x, None)


@pytest.mark.parametrize("name", ["ns", "hinge", "lsgan"])
def test_multi_column_logits_sum_the_loss_over_columns(name):
    """(B, 3) logits: D, G and flipped losses are the sums of the per-column losses, by per-element formulas."""
    g = torch.Generator().manual_seed(12)
    D = _ThreeScoreD(torch.randn(3, 2, generator=g))
    real, fake = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    adv = Adversary(GANConfig(loss=name))
    rl, fl = (real @ D.w.T).tolist(), (fake @ D.w.T).tolist()
    d_el = {"ns": (lambda r: _softplus(-r), lambda f: _softplus(f)),
            "hinge": (lambda r: max(0.0, 1 - r), lambda f: max(0.0, 1 + f)),
            "lsgan": (lambda r: 0.5 * (r - 1) ** 2, lambda f: 0.5 * f * f)}[name]
    g_el = {"ns": lambda f: _softplus(-f), "hinge": lambda f: -f, "lsgan": lambda f: 0.5 * (f - 1) ** 2}[name]
    d_ref = sum(sum(d_el[0](row[c]) for row in rl) / 5 + sum(d_el[1](row[c]) for row in fl) / 5 for c in range(3))
    g_ref = sum(sum(g_el(row[c]) for row in fl) / 5 for c in range(3))
    flip_ref = sum(sum(FLIPPED_REFERENCES[name](row[c]) for row in rl) / 5 for c in range(3))
    assert math.isclose(adv.d_loss(D, (real,), (fake,))[0].item(), d_ref, rel_tol=1e-5)
    assert math.isclose(adv.g_loss(D, (fake,))[0].item(), g_ref, rel_tol=1e-5, abs_tol=1e-6)
    assert math.isclose(adv.g_flipped_loss(D, (real,)).item(), flip_ref, rel_tol=1e-5, abs_tol=1e-6)


def test_multi_column_gradient_penalty_uses_the_summed_score():
    """wgan-gp with (B, 3) linear scores: the critic is the sum of the columns, gradient sum_c W_c everywhere."""
    g = torch.Generator().manual_seed(13)
    D = _ThreeScoreD(torch.randn(3, 2, generator=g))
    real, fake = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    adv = Adversary(GANConfig(loss="wgan-gp", gp_weight=2.0))
    loss, logs = adv.d_loss(D, (real,), (fake,))
    col_sum = [sum(D.w[c, j].item() for c in range(3)) for j in range(2)]
    gp = (math.sqrt(sum(v * v for v in col_sum)) - 1) ** 2
    rl, fl = (real @ D.w.T).tolist(), (fake @ D.w.T).tolist()
    plain = sum(sum(row[c] for row in fl) / 5 - sum(row[c] for row in rl) / 5 for c in range(3))
    assert math.isclose(logs["gp"].item(), gp, rel_tol=1e-5)
    assert math.isclose(loss.item(), plain + 2.0 * gp, rel_tol=1e-5, abs_tol=1e-6)
