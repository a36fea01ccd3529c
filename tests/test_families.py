"""One shared test for every registered family, on tiny image and vector data (on the CPU, where
resume is exact; the CUDA variant at the end runs with --deterministic).

For each family (and the variants of its options that change its losses): build it,
check the shapes of the model interface, run one step of every phase with finite
losses, check that a saved run loads back with identical outputs, and that training
N steps equals training N/2, stopping, and resuming for N/2.
"""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

import gane
from gane import nets
from gane.config import resolve
from gane.data import load_data
from gane.errors import GaneError
from gane.families import FAMILIES, build_family, generative_families
from gane.train import Trainer, latest_checkpoint
from gane.train.step import train_only

TINY = {"z_dim": 4, "width": 0.125}
# Option sets that switch on other losses or networks inside a family.
# Every loss and stabiliser runs in gan (whose D sees images or vectors), bigan (a joint D(x, z)),
# bigbigan (three scores), vaegan (reconstructions and samples as fakes) and aae (a D on codes).
LOSS_OPTIONS = [{"loss": "minimax"}, {"loss": "hinge"}, {"loss": "wgan-gp"}, {"loss": "lsgan"},
                {"spectral_norm": True, "dropout": 0.2}, {"r1": 1.0}, {"feature_matching": 1.0}, {"vdb": 0.1, "vdb_size": 4}]
VARIANTS = {
    "ae": [{"noise": 0.2}, {"sparse": 0.01}, {"contractive": 0.1}, {"contractive": 0.1, "contractive_projections": 0}],
    "vae": [{"beta": 4.0}, {"code_mixture": 3}],
    "gan": LOSS_OPTIONS + [{"conditional": True}, {"conditional": True, "loss": "wgan-gp"}],
    "bigan": LOSS_OPTIONS + [{"conditional": True}, {"stochastic": True}, {"stochastic": True, "conditional": True}],
    "bigbigan": [{"loss": "ns"}, {"loss": "wgan-gp"}, {"r1": 1.0}, {"vdb": 0.1, "vdb_size": 4}, {"conditional": True}, {"spectral_norm": True},
                 {"stochastic": True}],
    "aae": [{"prior": "uniform"}, {"prior": "mixture"}, {"loss": "wgan-gp"}, {"prior": "uniform", "code_mixture": 3}, {"schedule": "joint"},
            {"schedule": "joint", "loss": "wgan-gp"}],
    "vaegan": [{"pixel": 1.0}, {"loss": "wgan-gp"}, {"feature_matching": 1.0}, {"code_mixture": 3}],
    "alphagan": [{"loss": "hinge"}, {"r1": 1.0}, {"code_mixture": 3}],
    "infogan": [{"categorical": 0, "continuous": 3}, {"categorical": 3, "continuous": 0}, {"loss": "wgan-gp"}],
    "acgan": [{"loss": "hinge"}, {"vdb": 0.1, "vdb_size": 4}],
    "ebgan": [{"pt_weight": 0.0}],
    "stylegan": [{"loss": "hinge"}, {"r1_every": 1}, {"pl_weight": 2.0, "pl_every": 1}, {"mixing": 0.0}],
    "vqgan": [{"quantizer": "loss"}, {"adv_start": 0}, {"adv": 0.0, "perceptual": 0.0}, {"adv_start": 0, "loss": "wgan-gp"}],
    "vqgan-prior": [{"conditional": False, "top_k": 0}],
}
# Families trained over a run of another: each case gets --from a tiny run of that family on the same data.
TRAINED_OVER = {"vqgan-prior": "vqgan"}
CASES = [(f, {}) for f in generative_families()] + [(f, v) for f in generative_families() for v in VARIANTS.get(f, [])]
# Each case on each kind of data its family trains on (stylegan's networks are convolutional: images only).
KIND_CASES = [(case, kind) for case in CASES for kind in ("image", "vector") if kind in FAMILIES.get(case[0]).data_kinds]
# Options for images only: self-attention in the DCGAN nets (G, D, E), BigBiGAN's residual nets and StyleGAN's.
KIND_CASES += [(("gan", {"attention": 14}), "image"), (("bigbigan", {"attention": 7}), "image"), (("vaegan", {"attention": 7}), "image"),
               (("stylegan", {"attention": 14}), "image")]


def _id(case):
    fam, opts = case
    return fam + "".join(f"-{k}={v}" for k, v in opts.items())


@pytest.fixture(params=["image", "vector"])
def data_spec(request, image_npz, vector_npz):
    return f"npz:{image_npz if request.param == 'image' else vector_npz}"


def _train(spec, family, opts, out, steps, resume=False, device="cpu"):
    cfg = resolve(family, data=spec, steps=steps, batch_size=8, tick=2, out=str(out), progress=False, resume=resume,
                  device=device, deterministic=device != "cpu", **TINY, **opts)
    return Trainer(cfg).run()


def test_every_family_has_the_shared_variants_table():
    assert set(VARIANTS) == set(generative_families()), "add the new family (and its loss-changing options) to VARIANTS"


@pytest.mark.parametrize("case,kind", KIND_CASES, ids=[f"{_id(c)}-{k}" for c, k in KIND_CASES])
def test_family(case, kind, image_npz, vector_npz, tmp_path, tmp_path_factory):
    family, opts = case
    spec = f"npz:{image_npz if kind == 'image' else vector_npz}"
    if family in TRAINED_OVER:
        opts = {**opts, "from_run": str(_stage_one(TRAINED_OVER[family], spec, tmp_path_factory))}
    _check_family(family, opts, spec, tmp_path)


_STAGE_ONE: dict = {}


def _stage_one(family, spec, tmp_path_factory):
    """A tiny run of ``family`` on ``spec``, trained once per session."""
    if (family, spec) not in _STAGE_ONE:
        _STAGE_ONE[family, spec] = out = tmp_path_factory.mktemp("stage-one") / family
        _train(spec, family, {}, out, steps=2)
    return _STAGE_ONE[family, spec]


def test_an_image_only_family_refuses_vector_data_before_training(vector_npz, tmp_path):
    with pytest.raises(GaneError, match="stylegan.*trains on image data.*vector data"):
        _train(f"npz:{vector_npz}", "stylegan", {}, tmp_path / "run", steps=1)
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("family", generative_families("vector"))
def test_family_with_the_pacgan_networks_for_vectors(family, vector_npz, tmp_path):
    from gane.nets.mlp import Maxout, pacgan_units

    spec = f"npz:{vector_npz}"
    model = FAMILIES.get(family)(resolve(family, data=spec, vector_net="pacgan", **TINY).model, load_data(spec).info)
    first = next(m for m in model.G.modules() if isinstance(m, torch.nn.Linear))
    assert first.out_features == pacgan_units(TINY["width"], 400)  # G is PacGAN's, at this width
    if isinstance(getattr(model, "D", None), (nets.Discriminator, nets.ThreeScoreDiscriminator)):  # ebgan's D is an autoencoder
        assert any(isinstance(m, Maxout) for m in model.D.modules())
    _check_family(family, {"vector_net": "pacgan"}, spec, tmp_path)


def test_the_mlp_layout_builds_the_networks_saved_runs_hold():
    """Checkpoints store weights by name and shape: a change here breaks every saved run, so it must be deliberate
    (tests/data/state_dicts.json lists each family's names and shapes on vectors and on 28x28 images)."""
    import json
    from pathlib import Path

    from gane.data import DataInfo

    expected = json.loads((Path(__file__).parent / "data" / "state_dicts.json").read_text())
    infos = {"ring8": DataInfo("vector", (2,), 8), "mnist-5k": DataInfo("image", (1, 28, 28), 10)}
    assert set(expected) == {f"{f}/{d}" for f in generative_families() for d in infos if infos[d].kind in FAMILIES.get(f).data_kinds}, \
        "add the new family to tests/data/state_dicts.json"
    for key, names in expected.items():
        family, data = key.split("/")
        model = FAMILIES.get(family)(resolve(family, data=data).model, infos[data])
        assert {k: list(v.shape) for k, v in model.state_dict().items()} == names, key


def test_the_pacgan_networks_on_images_are_refused_before_training(image_npz, tmp_path):
    with pytest.raises(GaneError, match="Drop --vector-net"):
        _train(f"npz:{image_npz}", "gan", {"vector_net": "pacgan"}, tmp_path / "run", steps=1)
    assert not (tmp_path / "run" / "checkpoints").exists()


def _check_family(family, opts, data_spec, tmp_path):
    data = load_data(data_spec)
    torch.manual_seed(0)
    cfg = resolve(family, data=data_spec, **TINY, **opts)
    model = build_family(family, dataclasses.asdict(cfg.model), data.info)  # build_family: what --attention needs
    shape = tuple(data.info.shape)

    # Shapes of the model interface.
    model.eval()
    k = model.code_dim
    assert model.prior(5).shape == (5, k)
    assert model.sample(5).shape == (5, *shape)
    assert model.decode(model.prior(3)).shape == (3, *shape)
    x = data.take(6).x
    if model.has_encoder:
        assert model.encode(x).flatten(1).shape == (6, k)  # a vector per image, or a grid of them (vqgan)
        assert model.reconstruct(x).shape == x.shape
    else:
        with pytest.raises(GaneError, match="no encoder"):
            model.encode(x)

    # One step of each phase: finite losses and gradients only where the phase trains.
    model.train()
    batch = data.take(8)
    for phase in model.phases():
        model.zero_grad(set_to_none=True)
        train_only(model, phase)
        loss, logs = phase.loss(batch)
        assert loss.ndim == 0 and torch.isfinite(loss), (phase.name, loss)
        assert all(torch.isfinite(v) for v in logs.values())
        loss.backward()
        trained = {n for n in phase.modules}
        for name, child in model.named_children():
            grads = [p.grad for p in child.parameters() if p.grad is not None]
            if name in trained:
                assert grads, f"phase {phase.name} gave no gradient to {name}"
            else:
                assert not grads, f"phase {phase.name} leaked gradients into {name}"

    # Save / load round trip: identical outputs from the folder alone.
    full = tmp_path / "full"
    _train(data_spec, family, opts, full, steps=4)
    loaded = gane.load(full)
    z = loaded.prior(5)
    again = gane.load(full)
    assert torch.equal(loaded.decode(z), again.decode(z))
    if loaded.code_density is not None:  # --code-mixture: refitted at every checkpoint, saved with the weights
        assert bool(loaded.code_density.fitted)
    seeded = [m.sample(5, generator=torch.Generator().manual_seed(1)) for m in (loaded, again)]
    assert torch.equal(*seeded)
    if loaded.has_encoder:
        assert torch.equal(loaded.encode(x), again.encode(x))

    _assert_resume_is_exact(data_spec, family, opts, tmp_path, full)


def _assert_resume_is_exact(data_spec, family, opts, tmp_path, full, device="cpu"):
    """2 steps + resume to 4 gives the same weights as 4 straight (``full``), bit for bit."""
    half = tmp_path / "half"
    _train(data_spec, family, opts, half, steps=2, device=device)
    result = _train(data_spec, family, opts, half, steps=4, resume=True, device=device)
    assert result.step == 4
    a, b = gane.load(full).state_dict(), gane.load(half).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume on {device}"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("family", ["ae", "aae", "bigan", "bigbigan", "vaegan", "acgan"])
def test_resume_is_exact_on_cuda_with_deterministic_kernels(family, data_spec, tmp_path):
    """On a GPU, --deterministic (cuDNN deterministic, no TF32) makes resume bit-identical too."""
    full = tmp_path / "full"
    _train(data_spec, family, {}, full, steps=4, device="cuda")
    _assert_resume_is_exact(data_spec, family, {}, tmp_path, full, device="cuda")


def test_aae_adv_weight_scales_the_encoders_adversarial_step(vector_npz, tmp_path):
    """Each phase has its own Adam, which cancels a constant weight on a phase's only loss,
    so --adv-weight is the learning-rate multiplier of E's adversarial phase."""
    spec = f"npz:{vector_npz}"
    cfg = resolve("aae", data=spec, lr=1e-3, adv_weight=0.25, out=str(tmp_path), progress=False, **TINY)
    lrs = {name: opt.param_groups[0]["lr"] for name, opt in Trainer(cfg).optimizers.items()}
    assert lrs == {"AE": 1e-3, "D": 1e-3, "E": pytest.approx(2.5e-4)}
    # The weight is not also applied to the loss: E's adversarial loss is the same for any weight.
    batch = load_data(spec).take(8)
    e_losses = []
    for w in (0.2, 1.0):
        torch.manual_seed(0)
        model = FAMILIES.get("aae")(resolve("aae", data=spec, adv_weight=w, **TINY).model, load_data(spec).info)
        e_losses.append(float({p.name: p for p in model.phases()}["E"].loss(batch)[0].detach()))
    assert e_losses[0] == e_losses[1]
    # Resuming with another weight (or --lr) takes the new step size, not the one saved with Adam's state.
    Trainer(resolve("aae", data=spec, steps=2, tick=2, batch_size=8, adv_weight=0.25, out=str(tmp_path), progress=False, **TINY)).run()
    again = Trainer(resolve("aae", data=spec, steps=4, adv_weight=0.5, lr=2e-3, out=str(tmp_path), resume=True, progress=False))
    again._restore(latest_checkpoint(tmp_path))
    assert again.step == 2
    assert {name: opt.param_groups[0]["lr"] for name, opt in again.optimizers.items()} == {"AE": 2e-3, "D": 2e-3, "E": pytest.approx(1e-3)}
    with pytest.raises(GaneError, match="adv-weight"):
        FAMILIES.get("aae")(resolve("aae", data=spec, adv_weight=-1.0, **TINY).model, load_data(spec).info)


def test_aae_resume_with_another_schedule_names_the_phases_and_changes_nothing(vector_npz, tmp_path):
    spec = f"npz:{vector_npz}"
    Trainer(resolve("aae", data=spec, steps=2, tick=2, batch_size=8, out=str(tmp_path), progress=False, **TINY)).run()
    before = (tmp_path / "config.json").read_text()
    again = Trainer(resolve("aae", data=spec, steps=4, schedule="joint", out=str(tmp_path), resume=True, progress=False))
    with pytest.raises(GaneError, match=r"trained in phases AE, D, E, and this 'aae' run trains in D, EG.*--schedule"):
        again.run()
    assert (tmp_path / "config.json").read_text() == before


@pytest.mark.parametrize("family", ["bigan", "bigbigan"])
def test_stochastic_encoder_samples_real_codes_and_encodes_the_mean(family, vector_npz):
    spec = f"npz:{vector_npz}"
    data = load_data(spec)
    model = FAMILIES.get(family)(resolve(family, data=spec, stochastic=True, **TINY).model, data.info)
    x = data.take(16).x
    with torch.no_grad():
        out = model.E(x)
        assert out.shape == (16, 2 * model.z_dim)  # mean and log-variance
        torch.manual_seed(0)
        z1, _ = model._real_code(x, None)
        z2, _ = model._real_code(x, None)
        assert not torch.equal(z1, z2)  # real pairs carry a draw from E's posterior
        mu, logvar = out.chunk(2, dim=1)
        sigma = (0.5 * logvar).exp()
        draws = torch.stack([model._real_code(x, None)[0] for _ in range(2000)])  # (2000, 16, z)
        assert torch.allclose(draws.mean(0), mu, atol=0.15 * float(sigma.max()))
        assert torch.allclose(draws.std(0), sigma, rtol=0.1)
        assert torch.equal(model.encode(x), mu)  # encode gives the posterior mean


def test_conditional_stochastic_encoder_reads_mean_log_variance_then_class_logits(vector_npz):
    """E's outputs are laid out [mean (z) | log-variance (z) | class logits (C)]."""
    spec = f"npz:{vector_npz}"
    data = load_data(spec)
    model = FAMILIES.get("bigan")(resolve("bigan", data=spec, stochastic=True, conditional=True, **TINY).model, data.info)
    z, classes = model.z_dim, model.classes
    mu = torch.arange(z, dtype=torch.float32)[None].repeat(3, 1)
    logvar = torch.full((3, z), -60.0)  # clamped to -30: sigma ~ 3e-7
    logits = torch.eye(classes)[[2, 0, 3]] * 10

    class HandBuilt(torch.nn.Module):
        def forward(self, x):
            return torch.cat([mu, logvar, logits], 1)

    model.E = HandBuilt()
    x, y = data.take(3).x, torch.tensor([2, 0, 3])
    code = model.encode(x)
    assert torch.equal(code[:, :z], mu) and torch.equal(code[:, z:].argmax(1), y)
    real, got_logits = model._real_code(x, y)
    assert torch.allclose(real[:, :z], mu, atol=1e-5) and torch.equal(got_logits, logits)
    assert torch.equal(real[:, z:], F.one_hot(y, classes).float())
