"""Each family's objective against a reference written out by hand on a tiny batch.

The families' networks are swapped for linear maps with known weights (or, for a discriminator,
used as a black box whose outputs the reference reads), the noise a loss draws is drawn again
from the same seed, and the reference is computed element by element in plain Python. A loss
that weighs a term wrongly, mixes up real and fake, or forgets a term fails here.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gane.data import Batch, DataInfo
from gane.families import build_family

VECTOR = DataInfo("vector", (2,))
X = [[0.5, -1.0], [0.25, 0.75]]  # a batch of two 2-D points


def linear(weight: list[list[float]], bias: list[float]) -> nn.Linear:
    layer = nn.Linear(len(weight[0]), len(weight))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


def matvec(weight, bias, v):
    return [sum(w * x for w, x in zip(row, v)) + b for row, b in zip(weight, bias)]


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


E_W = [[0.5, -0.25], [0.1, 0.3], [-0.2, 0.4], [0.3, 0.1]]  # 2 -> 4: a mean and a log-variance of a 2-D code
E_B = [0.1, -0.2, 0.05, -0.3]
G_W = [[1.0, -0.5], [0.25, 0.75]]  # 2 -> 2
G_B = [0.05, -0.1]


def test_vae_loss_is_the_negative_elbo():
    """-ELBO = ||G(z) - x||^2 / (2 sigma^2) - beta * KL, z = mu + exp(logvar / 2) * eps, per example, averaged."""
    beta, std = 2.0, 0.5
    model = build_family("vae", {"z_dim": 2, "width": 0.125, "beta": beta, "recon_std": std}, VECTOR)
    model.E, model.G = linear(E_W, E_B), linear(G_W, G_B)
    torch.manual_seed(0)
    loss, logs = model.loss(Batch(torch.tensor(X)))
    torch.manual_seed(0)
    eps = torch.randn(2, 2).tolist()  # the draw the loss made
    nll = kl = 0.0
    for x, e in zip(X, eps):
        mu_logvar = matvec(E_W, E_B, x)
        mu, logvar = mu_logvar[:2], mu_logvar[2:]
        z = [m + math.exp(0.5 * lv) * n for m, lv, n in zip(mu, logvar, e)]
        x_hat = matvec(G_W, G_B, z)
        nll += sum((a - b) ** 2 for a, b in zip(x_hat, x)) / (2 * std**2) / 2
        kl += sum(-0.5 * (1 + lv - m**2 - math.exp(lv)) for m, lv in zip(mu, logvar)) / 2
    assert logs["nll"].item() == pytest.approx(nll, rel=1e-6)
    assert logs["kl"].item() == pytest.approx(kl, rel=1e-6)
    assert loss.item() == pytest.approx(nll + beta * kl, rel=1e-6)
    mean = [v for x in X for v in matvec(E_W, E_B, x)[:2]]
    assert model.encode(torch.tensor(X)).flatten().tolist() == pytest.approx(mean, rel=1e-6)  # encode gives the posterior mean


def test_ae_loss_is_the_mean_squared_error_plus_the_code_l1():
    sparse = 0.3
    model = build_family("ae", {"z_dim": 2, "width": 0.125, "sparse": sparse}, VECTOR)
    model.E, model.G = linear(E_W[:2], E_B[:2]), linear(G_W, G_B)
    loss, logs = model.loss(Batch(torch.tensor(X)))
    rec = l1 = 0.0
    for x in X:
        z = matvec(E_W[:2], E_B[:2], x)
        rec += sum((a - b) ** 2 for a, b in zip(matvec(G_W, G_B, z), x)) / 4  # mean over 2 points x 2 coordinates
        l1 += sum(abs(v) for v in z) / 2
    assert logs["recon"].item() == pytest.approx(rec, rel=1e-6)
    assert loss.item() == pytest.approx(rec + sparse * l1, rel=1e-6)


def test_aae_reconstruction_and_code_discriminator_losses():
    """The reconstruction phase is the MSE of G(E(x)); D's phase calls prior codes real and E's codes fake;
    E's adversarial phase wants its codes called real (non-saturating)."""
    model = build_family("aae", {"z_dim": 2, "width": 0.125}, VECTOR).eval()
    model.E, model.G = linear(E_W[:2], E_B[:2]), linear(G_W, G_B)
    batch = Batch(torch.tensor(X))
    codes = [matvec(E_W[:2], E_B[:2], x) for x in X]
    rec = sum(sum((a - b) ** 2 for a, b in zip(matvec(G_W, G_B, z), x)) for z, x in zip(codes, X)) / 4
    assert model.ae_loss(batch)[0].item() == pytest.approx(rec, rel=1e-6)

    def d(points):  # D's logits, read from the model's own discriminator
        with torch.no_grad():
            return model.D(torch.tensor(points)).tolist()

    torch.manual_seed(1)
    d_loss = model.d_loss(batch)[0].item()
    torch.manual_seed(1)
    prior = torch.randn(2, 2).tolist()  # the prior draw of D's phase
    ref = sum(softplus(-s) for s in d(prior)) / 2 + sum(softplus(s) for s in d(codes)) / 2  # -log D(z_p) - log(1 - D(E(x)))
    assert d_loss == pytest.approx(ref, rel=1e-6)
    assert model.e_loss(batch)[0].item() == pytest.approx(sum(softplus(-s) for s in d(codes)) / 2, rel=1e-6)  # -log D(E(x))


@pytest.mark.parametrize("weight", [1.0, 0.3])
def test_aae_joint_schedule_is_reconstruction_plus_weighted_adversarial_term(weight):
    """--schedule joint: D's step, then one loss for E and G: MSE of G(E(x)) + adv_weight * -log D(E(x))."""
    model = build_family("aae", {"z_dim": 2, "width": 0.125, "schedule": "joint", "adv_weight": weight}, VECTOR).eval()
    model.E, model.G = linear(E_W[:2], E_B[:2]), linear(G_W, G_B)
    assert [(p.name, p.modules, p.lr_scale) for p in model.phases()] == [("D", ("D",), 1.0), ("EG", ("E", "G"), 1.0)]
    codes = [matvec(E_W[:2], E_B[:2], x) for x in X]
    rec = sum(sum((a - b) ** 2 for a, b in zip(matvec(G_W, G_B, z), x)) for z, x in zip(codes, X)) / 4
    with torch.no_grad():
        scores = model.D(torch.tensor(codes)).flatten().tolist()
    adv = sum(softplus(-s) for s in scores) / 2
    loss, logs = model.joint_loss(Batch(torch.tensor(X)))
    assert logs["recon"].item() == pytest.approx(rec, rel=1e-6)
    assert logs["code_adv"].item() == pytest.approx(adv, rel=1e-6)
    assert loss.item() == pytest.approx(rec + weight * adv, rel=1e-6)


def test_bigan_discriminator_calls_data_with_its_code_real_and_samples_with_theirs_fake():
    model = build_family("bigan", {"z_dim": 2, "width": 0.125}, VECTOR).eval()  # eval: no dropout in D
    model.E, model.G = linear(E_W[:2], E_B[:2]), linear(G_W, G_B)
    torch.manual_seed(2)
    d_loss = model.d_loss(Batch(torch.tensor(X)))[0].item()
    torch.manual_seed(2)
    z = torch.randn(2, 2).tolist()  # the prior draw of D's phase

    def d(xs, zs):
        with torch.no_grad():
            return model.D(torch.tensor(xs), torch.tensor(zs)).tolist()

    real = d(X, [matvec(E_W[:2], E_B[:2], x) for x in X])  # (x, E(x))
    fake = d([matvec(G_W, G_B, v) for v in z], z)  # (G(z), z)
    ref = sum(softplus(-s) for s in real) / 2 + sum(softplus(s) for s in fake) / 2
    assert d_loss == pytest.approx(ref, rel=1e-6)


def test_infogan_information_term_is_categorical_cross_entropy_plus_gaussian_negative_log_likelihood():
    """-log Q(c | x): the cross-entropy of Q's logits with c1, plus for the continuous codes the negative
    log-likelihood of a unit-variance Gaussian centred on Q's outputs, without its constant log(2 pi)/2."""
    info_weight, cont_weight = 1.5, 0.2
    model = build_family("infogan", {"z_dim": 2, "width": 0.125, "categorical": 3, "continuous": 2,
                                     "info_weight": info_weight, "continuous_weight": cont_weight}, VECTOR)
    model.Q = nn.Identity()  # the features passed in are then Q's outputs: 3 logits, then 2 means
    q_out = [[2.0, -1.0, 0.5, 0.3, -0.7], [-0.4, 0.1, 1.2, -0.9, 0.2]]
    codes = [[0.3, -0.2, 0.0, 1.0, 0.0, 0.5, -0.25],  # z (2), c1 = category 1 (one-hot of 3), c2, c3
             [-1.1, 0.4, 0.0, 0.0, 1.0, -0.8, 0.9]]  # c1 = category 2
    loss, logs = model.info_loss(torch.tensor(q_out), torch.tensor(codes))
    ce = nll = 0.0
    for out, code in zip(q_out, codes):
        logits, means, category, cont = out[:3], out[3:], code[2:5].index(1.0), code[5:]
        ce += (math.log(sum(math.exp(v) for v in logits)) - logits[category]) / 2
        for c, m in zip(cont, means):
            log_density = -0.5 * (c - m) ** 2 - 0.5 * math.log(2 * math.pi)  # log N(c; m, 1)
            nll += (-log_density - 0.5 * math.log(2 * math.pi)) / 2
    assert logs["info_categorical"].item() == pytest.approx(ce, rel=1e-6)
    assert logs["info_continuous"].item() == pytest.approx(nll, rel=1e-6)
    assert loss.item() == pytest.approx(info_weight * ce + cont_weight * nll, rel=1e-6)


def test_vaegan_encoder_loss_is_kl_plus_feature_and_pixel_reconstruction():
    """E's loss: beta * KL + 1/2 ||f(x) - f(x~)||^2 + pixel * ||x - x~||^2, x~ = G(z), z drawn from q(z|x),
    with f D's last hidden layer (read from the model's own D)."""
    beta, pixel = 0.5, 2.0
    model = build_family("vaegan", {"z_dim": 2, "width": 0.125, "beta": beta, "pixel": pixel}, VECTOR).eval()
    model.E, model.G = linear(E_W, E_B), linear(G_W, G_B)
    torch.manual_seed(3)
    loss, logs = model.e_loss(Batch(torch.tensor(X)))
    torch.manual_seed(3)
    eps = torch.randn(2, 2).tolist()

    def features(point):
        with torch.no_grad():
            return model.D.features(torch.tensor([point]))[0].tolist()

    kl = feat = pix = 0.0
    for x, e in zip(X, eps):
        mu_logvar = matvec(E_W, E_B, x)
        mu, logvar = mu_logvar[:2], mu_logvar[2:]
        x_rec = matvec(G_W, G_B, [m + math.exp(0.5 * lv) * n for m, lv, n in zip(mu, logvar, e)])
        kl += sum(-0.5 * (1 + lv - m**2 - math.exp(lv)) for m, lv in zip(mu, logvar)) / 2
        feat += 0.5 * sum((a - b) ** 2 for a, b in zip(features(x_rec), features(x))) / 2
        pix += sum((a - b) ** 2 for a, b in zip(x_rec, x)) / 2
    assert (logs["kl"].item(), logs["feature_recon"].item(), logs["pixel_recon"].item()) == pytest.approx((kl, feat, pix), rel=1e-5)
    assert loss.item() == pytest.approx(beta * kl + feat + pixel * pix, rel=1e-5)


def test_alphagan_encoder_generator_loss_is_weighted_l1_plus_both_adversarial_terms():
    """E and G minimise lambda * mean |G(E(x)) - x| - log C(E(x)) - log D over reconstructions and samples G(z)."""
    weight = 3.0
    model = build_family("alphagan", {"z_dim": 2, "width": 0.125, "recon_weight": weight}, VECTOR).eval()
    model.E, model.G = linear(E_W[:2], E_B[:2]), linear(G_W, G_B)
    torch.manual_seed(4)
    loss = model.eg_loss(Batch(torch.tensor(X)))[0].item()
    torch.manual_seed(4)
    z = torch.randn(2, 2).tolist()  # the prior draw for the samples

    def score(net, points):
        with torch.no_grad():
            return net(torch.tensor(points)).tolist()

    codes = [matvec(E_W[:2], E_B[:2], x) for x in X]
    recons = [matvec(G_W, G_B, c) for c in codes]
    l1 = sum(sum(abs(a - b) for a, b in zip(r, x)) / 2 for r, x in zip(recons, X)) / 2
    code_adv = sum(softplus(-s) for s in score(model.C, codes)) / 2
    image_adv = sum(softplus(-s) for s in score(model.D, recons + [matvec(G_W, G_B, v) for v in z])) / 4
    assert loss == pytest.approx(weight * l1 + code_adv + image_adv, rel=1e-5)
