"""StyleGAN in small: its networks' defining properties, truncation, style mixing, lazy R1 and the W / W+ spaces.
(The shared family test runs its phases, save/load and resume; tests/test_inversion.py every inversion method.)"""
from __future__ import annotations

import pytest
import torch

import gane
from gane.cli import main
from gane.config import resolve
from gane.data import DataInfo
from gane.errors import GaneError
from gane.families import build_family
from gane.inversion import InversionOptions, invert
from gane.nets.style import ModulatedConv2d, minibatch_stddev
from gane.train import Trainer

INFO = DataInfo("image", (1, 28, 28), 4)
TINY = {"z_dim": 8, "w_dim": 8, "width": 0.125, "mapping_layers": 2}


def _model(**options):
    torch.manual_seed(0)
    return build_family("stylegan", {**TINY, **options}, INFO).eval().requires_grad_(False)


def test_demodulation_keeps_unit_variance_for_unit_input():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 32, 3, w_dim=16)
    with torch.no_grad():
        conv.affine.weight.normal_()  # styles far from 1, so that demodulation has something to undo
        x = torch.randn(16, 64, 24, 24)
        out = conv(x, torch.randn(16, 16))[:, :, 1:-1, 1:-1]  # away from the zero padding
        assert out.var().item() == pytest.approx(1.0, abs=0.05)
        conv.demodulate = False
        assert abs(conv(x, torch.randn(16, 16)).var().item() - 1.0) > 0.2  # the styles alone change the variance


def test_minibatch_stddev_adds_the_spread_of_each_group():
    x = torch.randn(8, 3, 4, 4)
    out = minibatch_stddev(x, 4)
    assert out.shape == (8, 4, 4, 4)
    expected = x.view(4, 2, 3, 4, 4).std(0, unbiased=False).mean((1, 2, 3))  # groups of 4 taken with stride 2
    torch.testing.assert_close(out[:2, 3, 0, 0], expected, rtol=1e-4, atol=1e-4)
    six = torch.randn(6, 3, 4, 4)  # 4 does not divide 6: groups of gcd(4, 6) = 2
    torch.testing.assert_close(minibatch_stddev(six, 4)[:3, 3, 0, 0], six.view(2, 3, 3, 4, 4).std(0, unbiased=False).mean((1, 2, 3)),
                               rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(minibatch_stddev(torch.randn(1, 2, 4, 4), 4)[:, 2], torch.full((1, 4, 4), 1e-4))  # alone: no spread


def test_truncation_is_the_identity_at_one_and_the_anchor_at_zero():
    model = _model()
    model.G.mapping.w_avg.normal_()
    ws = model.styles(model.prior(5))
    assert torch.equal(model.truncate(ws, 1.0), ws)
    torch.testing.assert_close(model.truncate(ws, 0.0), model.G.mapping.w_avg.expand_as(ws))
    half = model.truncate(ws, 0.5)
    torch.testing.assert_close(half, 0.5 * (ws + model.G.mapping.w_avg))
    centres = model.cluster_centres(3, n=200)
    assert centres.shape == (3, 8)
    at_zero = model.truncate(ws, 0.0, centres)
    nearest = torch.cdist(ws[:, 0], centres).argmin(1)
    torch.testing.assert_close(at_zero, centres[nearest][:, None].expand_as(ws))
    torch.testing.assert_close(model.truncate(ws, 1.0, centres), ws)


def test_style_mixing_with_the_same_seed_is_plain_sampling():
    model = _model()
    z = model.sample_codes(4, torch.Generator().manual_seed(3))
    plain = model.decode(z)
    torch.testing.assert_close(model.draw(z, mix_z=z.clone(), mix_layers=(1, 3)), plain)
    other = model.sample_codes(4, torch.Generator().manual_seed(4))
    mixed = model.draw(z, mix_z=other, mix_layers=(1, None))
    assert not torch.allclose(mixed, plain)
    # Layer 0 (the coarsest) from z, every later layer from the other codes: the synthesis network sees exactly those ws.
    ws = model.styles(z).clone()
    ws[:, 1:] = model.styles(other)[:, 1:]
    torch.testing.assert_close(mixed, model.G.synthesis(ws))


def test_eval_mode_noise_is_fixed_and_training_noise_is_fresh():
    model = _model()
    for layer in model.G.synthesis.convs:
        layer.noise_strength.fill_(1.0)
    z = model.prior(2)
    assert torch.equal(model.decode(z), model.decode(z))
    model.train()
    assert not torch.equal(model.G(z), model.G(z))


def test_w_and_w_plus_spaces_draw_what_z_draws():
    model = _model()
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    z = model.prior(3, gen())
    images = model.decode(z)
    w, wp = model.in_space("w"), model.in_space("w+")
    assert w.code_dim == 8 and wp.code_dim == 8 * model.num_ws
    assert [p.kind for p in w.code_parts()] == ["latent"]
    torch.testing.assert_close(w.decode(w.prior(3, gen())), images)
    torch.testing.assert_close(wp.decode(wp.prior(3, gen())), images)
    for space in (w, wp):  # the staged interface that multicode mixes through composes to decode
        code = space.prior(2, gen())
        for layer in range(space.generator_layers + 1):
            torch.testing.assert_close(space.decode_from(space.decode_features(code, layer), layer, code), space.decode(code))
    with pytest.raises(GaneError, match="one latent space, z"):
        build_family("gan", {"width": 0.125}, INFO).in_space("w+")


@pytest.mark.parametrize("space", ["w", "w+"])
@pytest.mark.parametrize("method", ["optimize", "multicode"])
def test_inversion_in_each_space(space, method):
    model = _model()
    view = model.in_space(space)
    target = view.decode(view.prior(2, torch.Generator().manual_seed(9)))
    out = invert(view, target, method, InversionOptions(steps=30, codes=2, lr=0.1))
    assert out.images.shape == target.shape and torch.isfinite(out.images).all()
    if method == "optimize":
        assert out.codes.shape == (2, view.code_dim)
        torch.testing.assert_close(view.decode(out.codes), out.images)
        assert out.curve[-1][1] > out.curve[0][1]  # the descent in that space got closer


def test_w_plus_fits_better_than_z_on_a_real_image():
    """The lecture's point, at test size: more codes (one w per layer) reconstruct a target the generator
    cannot draw exactly better than one code does."""
    model = _model()
    x = torch.zeros(2, 1, 28, 28) - 1
    x[:, :, 8:20, 10:18] = 1  # a bar, not a sample of this untrained G
    o = InversionOptions(steps=150, lr=0.1, prior_weight=0.0)
    psnr = {space: invert(model.in_space(space), x, "optimize", o).curve[-1][1] for space in ("z", "w+")}
    assert psnr["w+"] > psnr["z"], psnr


def test_lazy_r1_steps_d_with_d_s_own_optimizer(image_npz, tmp_path):
    spec = f"npz:{image_npz}"
    cfg = resolve("stylegan", data=spec, steps=17, batch_size=8, tick=17, out=str(tmp_path), progress=False, pl_weight=1.0, **TINY)
    trainer = Trainer(cfg)
    phases = {p.name: p for p in trainer.phases}
    assert set(trainer.optimizers) == {"D", "G"}  # the penalties share their networks' Adam
    assert (phases["D_r1"].every, phases["D_r1"].optimizer) == (16, "D")
    assert (phases["G_pl"].every, phases["G_pl"].optimizer) == (4, "G")
    trainer.run()
    logged = [line for line in (tmp_path / "log.jsonl").read_text().splitlines() if "D_r1/r1" in line]
    assert logged  # the lazy phase ran
    # R1 every step folds the penalty into D's phase instead.
    eager = build_family("stylegan", {**TINY, "r1_every": 1}, INFO)
    assert [p.name for p in eager.phases()] == ["D", "G"] and eager.adv.config.r1 == 1.0


def test_the_path_length_penalty_tracks_its_running_mean():
    model = _model(pl_weight=2.0).train().requires_grad_(True)
    batch = type("B", (), {"x": torch.zeros(8, 1, 28, 28), "y": None, "shared": {}})()
    phase = {p.name: p for p in model.phases()}["G_pl"]
    loss, logs = phase.loss(batch)
    assert loss.item() >= 0 and model.pl_mean.item() == pytest.approx(0.01 * logs["pl_length"].item(), rel=1e-5)
    loss.backward()
    assert model.G.mapping.net[0].weight.grad is not None and model.D.head.weight.grad is None


@pytest.fixture(scope="module")
def style_run(image_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "stylegan"
    Trainer(resolve("stylegan", data=f"npz:{image_npz}", steps=4, batch_size=8, tick=4, out=str(out), progress=False, **TINY)).run()
    return out


def _gane(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_sample_with_truncation_and_mixing(style_run, tmp_path, capsys):
    code, out = _gane(capsys, "sample", style_run, "--n", 8, "--truncation", 0.5, "--truncation-clusters", 2, "--mix-from", 3,
                      "--mix-layers", "1:", "--out", tmp_path / "s.png")
    assert code == 0, out
    assert "truncation 0.5 toward the nearest of 2 cluster centres" in out and "from seed 3" in out
    assert (tmp_path / "s.png").exists()
    code, out = _gane(capsys, "sample", style_run, "--n", 8, "--truncation", 0, "--out", tmp_path / "m.png")
    assert code == 0 and "toward the mean w" in out
    for args, message in [(["--mix-layers", "1:2"], "pass --mix-from too"),
                          (["--mix-from", "1", "--mix-layers", "2"], "takes A:B"),
                          (["--mix-from", "1", "--mix-layers", "3:9"], "style layers 0 to"),
                          (["--truncation-clusters", "3"], "--truncation PSI"),
                          (["--truncation", "0.5", "--sweep", "z"], "do not combine")]:
        code, out = _gane(capsys, "sample", style_run, "--out", tmp_path / "x.png", *args)
        assert code == 2 and message in " ".join(out.split()) and "Traceback" not in out, (args, out)
    assert not (tmp_path / "x.png").exists()


def test_invert_command_takes_a_space(style_run, tmp_path, capsys):
    import json

    code, out = _gane(capsys, "invert", style_run, "--space", "w+", "--n", 2, "--steps", 3, "--method", "optimize,multicode",
                      "--images", "train", "--out", tmp_path / "inv", "--device", "cpu")
    assert code == 0, out
    assert json.loads((tmp_path / "inv" / "inversion.json").read_text())["space"] == "w+"
    report = gane.invert(style_run, "train", "optimize", n=2, out=None, space="w", steps=2)
    assert report.space == "w" and report.results["optimize"].codes.shape == (2, 8)
    code, out = _gane(capsys, "restore", style_run, "--task", "inpaint", "--space", "w", "--n", 2, "--steps", 2,
                      "--images", "train", "--out", tmp_path / "res", "--device", "cpu")
    assert code == 0, out


def test_a_space_the_generator_lacks_and_style_options_on_another_family(bigan_tiny_run, tmp_path, capsys):
    code, out = _gane(capsys, "invert", bigan_tiny_run, "--space", "w", "--n", 2, "--steps", 1, "--out", tmp_path / "i")
    assert code == 2 and "one latent space, z" in " ".join(out.split()) and not (tmp_path / "i").exists()
    code, out = _gane(capsys, "sample", bigan_tiny_run, "--truncation", 0.7, "--out", tmp_path / "s.png")
    assert code == 2 and "Train stylegan" in " ".join(out.split())


@pytest.fixture(scope="module")
def bigan_tiny_run(image_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "bigan"
    Trainer(resolve("bigan", data=f"npz:{image_npz}", steps=2, batch_size=8, tick=2, out=str(out), progress=False, z_dim=4, width=0.125)).run()
    return out
