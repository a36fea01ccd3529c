"""Metrics against references: closed forms, scikit-learn, the authors' prdc package, exact samplers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gane.metrics import METRICS
from gane.metrics.encoder import knn_accuracy, linear_probe_accuracy
from gane.metrics.modes import mixture_modes, mode_histogram_kl
from gane.metrics.samples import (density_coverage, frechet_distance, inception_score, kernel_distance, parzen,
                                  parzen_log_likelihood, precision_recall)


def gaussian(n, mean, std, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.tensor(mean, dtype=torch.float64) + torch.tensor(std, dtype=torch.float64) * torch.randn(n, len(mean), generator=g, dtype=torch.float64)


# ------------------------------------------------------------------ Frechet distance


def test_fd_of_a_set_with_itself_is_zero():
    x = gaussian(2000, [0.0] * 8, [1.0] * 8, 0)
    assert abs(frechet_distance(x, x)) < 1e-6


def test_fd_is_the_closed_form_of_the_fitted_gaussians():
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) of the sets' own means and covariances (scipy's sqrtm)."""
    from scipy.linalg import sqrtm

    a = gaussian(3000, [0.0, 1.0, -1.0, 2.0], [1.0, 0.5, 2.0, 1.0], 1)
    b = gaussian(3000, [0.5, 0.0, -1.0, 1.0], [2.0, 0.5, 1.0, 0.3], 2) @ torch.tensor(
        [[1.0, 0.3, 0, 0], [0, 1.0, 0.2, 0], [0, 0, 1.0, 0], [0.1, 0, 0, 1.0]], dtype=torch.float64)
    mu1, mu2 = a.mean(0).numpy(), b.mean(0).numpy()
    s1, s2 = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * sqrtm(s1 @ s2).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_fd_of_two_diagonal_gaussians_approaches_the_population_value():
    """For diagonal covariances, FD = ||mu1 - mu2||^2 + sum (s1 - s2)^2."""
    m1, s1, m2, s2 = [0.0, 1.0, 2.0], [1.0, 2.0, 0.5], [1.0, 1.0, 0.0], [1.0, 1.0, 1.5]
    population = sum((p - q) ** 2 for p, q in zip(m1, m2)) + sum((p - q) ** 2 for p, q in zip(s1, s2))
    got = frechet_distance(gaussian(50_000, m1, s1, 3), gaussian(50_000, m2, s2, 4))
    assert got == pytest.approx(population, rel=0.03)


# ------------------------------------------------------------------ KID and IS


def test_kid_is_near_zero_for_two_draws_of_one_distribution_and_not_for_two_distributions():
    a, b = gaussian(1500, [0.0] * 6, [1.0] * 6, 5), gaussian(1500, [0.0] * 6, [1.0] * 6, 6)
    same, same_std = kernel_distance(a, b, subset_size=500)
    assert abs(same) < 3 * same_std + 1e-3  # unbiased: zero within its spread
    other, other_std = kernel_distance(a, gaussian(1500, [0.7] * 6, [1.0] * 6, 7), subset_size=500)
    assert other > 10 * max(other_std, 1e-3)


def test_kid_of_one_subset_is_the_unbiased_mmd_with_the_cubic_kernel():
    a, b = gaussian(60, [0.0] * 3, [1.0] * 3, 8), gaussian(60, [0.5] * 3, [1.0] * 3, 9)
    d = a.shape[1]
    k = lambda x, y: (x @ y.T / d + 1) ** 3  # noqa: E731
    m = len(a)
    kxx, kyy, kxy = k(a, a), k(b, b), k(a, b)
    expected = ((kxx.sum() - kxx.diag().sum()) + (kyy.sum() - kyy.diag().sum())) / (m * (m - 1)) - 2 * kxy.mean()
    mean, std = kernel_distance(a, b, subsets=3, subset_size=m)  # each subset is the whole set
    assert mean == pytest.approx(float(expected), rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("k", [2, 10])
def test_is_equals_k_for_a_certain_classifier_spread_evenly_over_k_classes(k):
    labels = torch.arange(k * 100) % k
    logits = 200.0 * torch.nn.functional.one_hot(labels, k).double()
    mean, _ = inception_score(logits, splits=1)
    assert mean == pytest.approx(k, rel=1e-6)
    mean, _ = inception_score(logits, splits=10)  # random parts of 100 are only roughly uniform over the classes
    assert mean == pytest.approx(k, rel=0.05)
    collapsed, _ = inception_score(200.0 * torch.nn.functional.one_hot(torch.zeros(1000, dtype=torch.long), k).double())
    assert collapsed == pytest.approx(1.0, rel=1e-6)


# ------------------------------------------------------------------ precision/recall, density/coverage


def test_precision_recall_density_coverage_match_the_authors_prdc_package():
    prdc = pytest.importorskip("prdc", reason="the reference implementation is in the test extra: pip install -e '.[test]'")
    real = gaussian(400, [0.0] * 5, [1.0] * 5, 10)
    fake = gaussian(400, [0.3] * 5, [0.6] * 5, 11)
    ref = prdc.compute_prdc(real_features=real.numpy(), fake_features=fake.numpy(), nearest_k=3)
    p, r = precision_recall(real, fake, k=3)
    d, c = density_coverage(real, fake, k=3)
    assert (p, r, d, c) == pytest.approx((ref["precision"], ref["recall"], ref["density"], ref["coverage"]), abs=1e-12)


def test_precision_and_coverage_fall_when_samples_collapse():
    real = gaussian(500, [0.0] * 4, [1.0] * 4, 12)
    collapsed = gaussian(500, [0.0] * 4, [0.05] * 4, 13)
    p, r = precision_recall(real, collapsed)
    d, c = density_coverage(real, collapsed)
    assert p > 0.9 and r < 0.1 and c < 0.2


# ------------------------------------------------------------------ Parzen


def test_parzen_log_likelihood_matches_scikit_learn_kernel_density():
    from sklearn.neighbors import KernelDensity

    samples, x = gaussian(300, [0.0] * 3, [1.0] * 3, 14), gaussian(50, [0.2] * 3, [1.0] * 3, 15)
    ours = parzen_log_likelihood(samples, x, 0.4)
    ref = KernelDensity(bandwidth=0.4, kernel="gaussian").fit(samples.numpy()).score_samples(x.numpy())
    assert ours.numpy() == pytest.approx(ref, rel=1e-9)


def test_parzen_picks_the_bandwidth_that_fits_validation_data_best():
    samples = gaussian(2000, [0.0, 0.0], [1.0, 1.0], 16)
    val, test = gaussian(500, [0.0, 0.0], [1.0, 1.0], 17), gaussian(500, [0.0, 0.0], [1.0, 1.0], 18)
    out = parzen(samples, val, test, sigmas=[0.01, 0.3, 10.0])
    assert out["parzen_sigma"] == 0.3
    true_ll = -math.log(2 * math.pi) - 0.5 * float((test**2).sum(1).mean())  # the data's own density
    assert out["parzen_ll"] == pytest.approx(true_ll, abs=0.15)


# ------------------------------------------------------------------ kNN and linear probe


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_knn_accuracy_agrees_with_scikit_learn(metric):
    from sklearn.neighbors import KNeighborsClassifier

    g = torch.Generator().manual_seed(19)
    centres = torch.randn(4, 6, generator=g) * 1.5
    y_train, y_test = torch.arange(300) % 4, torch.arange(120) % 4
    train = centres[y_train] + torch.randn(300, 6, generator=g)
    test = centres[y_test] + torch.randn(120, 6, generator=g)
    ours = knn_accuracy(train, y_train, test, y_test, ks=(1, 5, 25), metric=metric)
    for k in (1, 5, 25):
        ref = KNeighborsClassifier(n_neighbors=k, metric="euclidean" if metric == "l2" else "cosine", algorithm="brute")
        assert ours[k] == pytest.approx(ref.fit(train.numpy(), y_train.numpy()).score(test.numpy(), y_test.numpy()))


def test_linear_probe_separates_linearly_separable_codes_and_not_noise():
    g = torch.Generator().manual_seed(20)
    y = torch.arange(400) % 2
    x = torch.randn(400, 5, generator=g)
    x[:, 0] += 6 * y - 3
    assert linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) == 1.0
    noise = torch.randn(400, 5, generator=g)
    assert linear_probe_accuracy(noise[:300], y[:300], noise[300:], y[300:]) < 0.7


def test_pixel_and_pca_baselines_are_judged_once_for_every_model_sharing_the_data(monkeypatch):
    from gane.config import resolve
    from gane.data import load_data
    from gane.families import FAMILIES
    from gane.metrics import MetricContext, compute
    from gane.metrics import encoder as enc

    calls = []
    real = enc.knn_accuracy
    monkeypatch.setattr(enc, "knn_accuracy", lambda *a, **k: calls.append(1) or real(*a, **k))
    info = load_data("ring8", "test").info
    models = [FAMILIES.get("ae")(resolve("ae", data="ring8", seed=s).model, info).eval() for s in (0, 1)]
    ctx = MetricContext(models[0], "ring8", "test", n=200, train_n=400)
    first = compute(["knn"], ctx)
    assert len(calls) == 6  # codes, pixels and PCA, each with L2 and cosine
    second = compute(["knn"], ctx.for_model(models[1]))
    assert len(calls) == 8  # only the new model's codes
    assert {k: v for k, v in first.items() if k.endswith(("_pixels", "_pca"))} == {k: v for k, v in second.items() if k.endswith(("_pixels", "_pca"))}


# ------------------------------------------------------------------ modes


@pytest.mark.parametrize("name,modes", [("ring8", 8), ("grid25", 25)])
def test_mode_counts_on_exact_samplers_and_a_collapsed_one(name, modes):
    from gane.data.sources import MIXTURES, _mixture

    means_fn, std = MIXTURES[name]
    centres = torch.tensor(means_fn())
    exact, _, _ = _mixture(name, 2500, 21)
    out = mixture_modes(exact, centres, std)
    assert out["modes"] == modes and out["modes_of"] == modes
    assert out["high_quality"] > 0.98 and out["reverse_kl"] < 0.02
    collapsed = centres[3] + std * torch.randn(2500, 2, dtype=torch.float64)
    out = mixture_modes(collapsed.float(), centres, std)
    assert out["modes"] == 1 and out["reverse_kl"] == pytest.approx(math.log(modes), rel=1e-9)


def test_mode_kl_is_infinite_without_a_single_high_quality_sample():
    assert mode_histogram_kl(torch.zeros(8, dtype=torch.long)) == math.inf


def test_every_metric_says_what_it_measures():
    assert {"fd", "kid", "is", "pr", "dc", "parzen", "confidence", "recon", "knn", "probe", "modes"} <= set(METRICS.names())
    assert all(m.description for _, m in METRICS.items())


def test_stacked_mnist_real_triples_hit_about_all_1000_modes_and_a_collapsed_set_one():
    from gane.data import load_data
    from gane.metrics.modes import mode_counter

    counter = mode_counter("stacked-mnist")
    assert counter.samples == 26_000  # VEEGAN's protocol
    real = load_data("stacked-mnist", "train").take(26_000).x
    out = counter.count(real)
    assert out["modes"] >= 990 and out["modes_of"] == 1000 and out["kl"] <= 0.1
    collapsed = counter.count(real[:1].repeat(500, 1, 1, 1))
    assert collapsed["modes"] == 1 and collapsed["kl"] == pytest.approx(math.log(1000))


def test_stacked_mnist_labels_name_the_digits_of_its_channels():
    from gane.data import load_data
    from gane.metrics import domain_classifier

    data = load_data("stacked-mnist", "test")
    assert data.info.shape == (3, 28, 28) and data.info.num_classes == 1000 and len(data) == 10_000
    batch = data.take(200)
    digits = domain_classifier("mnist-5k").predict(batch.x.reshape(600, 1, 28, 28)).reshape(200, 3)
    read = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
    assert (read == batch.y).float().mean() > 0.9  # the digit classifier reads about 98% of single digits right


def test_reals_and_train_examples_are_spread_through_a_split_sorted_by_class():
    """mnist-5k's files are sorted by class: 100 reals must not all be zeros."""
    from gane.metrics import MetricContext

    ctx = MetricContext(model=None, dataset="mnist-5k", n=100)
    assert torch.bincount(ctx.real().y, minlength=10).tolist() == [10] * 10
    assert torch.bincount(ctx.train_examples(200).y, minlength=10).tolist() == [20] * 10


def test_recon_numbers_against_hand_computed_ones(image_npz):
    """A model that reconstructs every image shifted by 0.1: MSE 0.01, PSNR 10 log10(2^2 / 0.01), SSIM
    below 1; the identity: MSE 0, SSIM 1, every class kept."""
    from gane.metrics import MetricContext, compute

    class Shifted(torch.nn.Module):
        has_encoder = True

        def __init__(self, shift):
            super().__init__()
            self.shift = shift

        def reconstruct(self, x):
            return x + self.shift

    spec = f"npz:{image_npz}"
    shifted = compute(["recon"], MetricContext(Shifted(0.1), spec, "train", n=64))
    assert shifted["mse"] == pytest.approx(0.01, rel=1e-5)
    assert shifted["psnr"] == pytest.approx(10 * math.log10(4 / 0.01), rel=1e-5)
    assert shifted["ssim"] < 1 and shifted["feature_distance"] > 0
    same = compute(["recon"], MetricContext(Shifted(0.0), spec, "train", n=64))
    assert same["mse"] == 0 and same["ssim"] == pytest.approx(1.0) and same["feature_distance"] == 0
    from gane.metrics import domain_classifier

    assert same["agreement"] == pytest.approx(domain_classifier(spec).test_accuracy)  # reconstructions are the images
