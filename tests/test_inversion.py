"""Inversion into a frozen generator: generators opened at a layer, frozen loading, every method on tiny
models, recovery of a known code, batching that changes nothing, the command line and its errors."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import gane
from gane.cli import cli, main
from gane.data import DataInfo
from gane.errors import GaneError
from gane.families import FAMILIES, build_family, generative_families
from gane.inversion import INVERTERS, InversionOptions, invert, psnr
from gane.nets.conv import ConvGenerator
from gane.nets.mlp import VECTOR_NETS, MLPGenerator
from gane.nets.resnet import ResGenerator

IMAGE = DataInfo("image", (1, 28, 28), 4)
VECTOR = DataInfo("vector", (2,), 4)


def _generators():
    yield "conv 28", ConvGenerator(6, (1, 28, 28), 0.125), 6
    yield "conv 32 rgb, no batch norm", ConvGenerator(6, (3, 32, 32), 0.125, batch_norm=False), 6
    yield "residual", ResGenerator(6, (1, 28, 28), 0.125), 6
    yield "residual, class-conditional", ResGenerator(6 + 3, (3, 32, 32), 0.125, num_classes=3), 9
    yield "mlp", MLPGenerator(3, (2,), 0.25), 3
    yield "pacgan", VECTOR_NETS.get("pacgan").generator(3, 2, 0.25, True), 3


@pytest.mark.parametrize("name,G,dim", list(_generators()), ids=[g[0] for g in _generators()])
def test_a_generator_continued_from_any_layer_draws_what_it_draws_end_to_end(name, G, dim):
    torch.manual_seed(0)
    for m in G.modules():  # running statistics away from (0, 1), so eval-mode batch norm is not the identity
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    G.eval()
    code = torch.randn(5, dim)
    if name.endswith("class-conditional"):
        code[:, -3:] = torch.nn.functional.one_hot(torch.arange(5) % 3, 3).float()
    out = G(code)
    assert G.num_layers >= 3
    assert torch.equal(G.features(code, 0), code)
    torch.testing.assert_close(G.features(code, G.num_layers), out, rtol=0, atol=0)
    for layer in range(G.num_layers + 1):
        h = G.features(code, layer)
        torch.testing.assert_close(G.from_features(h, layer, code), out, rtol=0, atol=0)
    with pytest.raises(GaneError, match="layers 0"):
        G.features(code, G.num_layers + 1)


def test_a_class_conditional_generator_continued_from_a_layer_asks_for_the_code():
    G = ResGenerator(9, (1, 28, 28), 0.125, num_classes=3).eval()
    code = torch.cat([torch.randn(2, 6), torch.eye(3)[:2]], 1)
    with pytest.raises(GaneError, match="pass code="):
        G.from_features(G.features(code, 1), 1)


def _tiny(family: str, info=IMAGE, **options):
    torch.manual_seed(0)
    model = build_family(family, {"width": 0.125, "z_dim": 4, **options}, info).eval()
    return model.requires_grad_(False)


@pytest.fixture(scope="module")
def bigan_run(tmp_path_factory, image_npz):
    out = tmp_path_factory.mktemp("runs") / "bigan"
    gane.train("bigan", data=f"npz:{image_npz}", steps=4, tick=2, width=0.125, z_dim=4, batch_size=16, out=str(out), progress=False)
    return out


def test_a_frozen_load_is_in_eval_mode_with_no_weight_taking_gradients(bigan_run):
    model = gane.load(bigan_run, frozen=True)
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert {"G", "D", "E"} <= {name.split(".")[0] for name, _ in model.named_parameters()}
    assert any(p.requires_grad for p in gane.load(bigan_run).parameters())  # only when asked


def test_inversion_refuses_a_model_that_is_not_frozen(bigan_run):
    model = gane.load(bigan_run)
    with pytest.raises(GaneError, match="frozen"):
        invert(model, torch.zeros(1, 1, 28, 28), "optimize")


FAMILY_OPTIONS = {"acgan": {}, "infogan": {"categorical": 3, "continuous": 2}, "gan": {"conditional": True}}


@pytest.mark.parametrize("family", generative_families())
@pytest.mark.parametrize("method", INVERTERS.names())
def test_every_method_inverts_with_every_family(family, method):
    model = _tiny(family, **FAMILY_OPTIONS.get(family, {}))
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    o = InversionOptions(steps=3, codes=2)
    if method in ("encoder", "hybrid") and not model.has_encoder:
        with pytest.raises(GaneError, match="no encoder of its own"):
            invert(model, x, method, o)
        return
    out = invert(model, x, method, o)
    assert out.images.shape == x.shape and torch.isfinite(out.images).all()
    if method == "multicode":
        assert out.codes is None and out.extra["codes"].shape == (3, 2, model.code_dim)
    else:
        assert out.codes.shape == (3, model.code_dim)
        torch.testing.assert_close(model.decode(out.codes), out.images)


def test_one_hot_parts_are_relaxed_to_a_softmax_or_kept_fixed():
    model = _tiny("acgan")
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    classes = torch.tensor([0, 1, 2, 3])
    fixed = invert(model, x, "optimize", InversionOptions(steps=5, categorical="fixed"), classes=classes)
    part = fixed.codes[:, model.code_slices()["class"]]
    assert torch.equal(part, torch.eye(4))
    relaxed = invert(model, x, "optimize", InversionOptions(steps=5, lr=0.5))
    part = relaxed.codes[:, model.code_slices()["class"]]
    torch.testing.assert_close(part.sum(1), torch.ones(4))
    assert (part > 0).all() and not torch.allclose(part, torch.full_like(part, 0.25))  # a softmax that moved


def test_uniform_parts_stay_in_their_range():
    model = _tiny("infogan", categorical=3, continuous=2)
    out = invert(model, torch.rand(3, 1, 28, 28) * 2 - 1, "optimize", InversionOptions(steps=20, lr=1.0))
    part = out.codes[:, model.code_slices()["c2"]]
    assert part.abs().max() <= 1


@pytest.mark.parametrize("info", [IMAGE, VECTOR], ids=["images", "vectors"])
def test_optimisation_recovers_an_image_drawn_from_a_known_code(info):
    model = _tiny("gan", info, z_dim=3)
    g = torch.Generator().manual_seed(1)
    x = model.decode(model.prior(4, g))
    o = InversionOptions(steps=400, lr=0.05, prior_weight=0)
    out = invert(model, x, "optimize", o)
    before, after = psnr(model.decode(model.prior(4, torch.Generator().manual_seed(2))), x), psnr(out.images, x)
    assert (after > 35).all(), after
    assert (after > before + 10).all()
    assert out.curve[0][0] == 0 and out.curve[-1] == (400, pytest.approx(float(after.mean())))


@pytest.mark.parametrize("optimizer,lr", [("rmsprop", 0.01), ("sgd", 1.0)])
def test_every_optimiser_descends(optimizer, lr):
    model = _tiny("gan", VECTOR, z_dim=3)
    x = model.decode(model.prior(4, torch.Generator().manual_seed(1)))
    out = invert(model, x, "optimize", InversionOptions(steps=100, lr=lr, optimizer=optimizer, candidates=1, prior_weight=0))
    assert out.curve[-1][1] > out.curve[0][1] + 3


def test_a_batch_inverts_each_image_as_it_would_alone():
    model = _tiny("bigan")
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    for method in ("optimize", "hybrid", "multicode"):
        o = InversionOptions(steps=15, codes=2)
        together = invert(model, x, method, o)
        pairs = invert(model, x, method, dataclasses.replace(o, batch_size=2))
        alone = [invert(model, x[i : i + 1], method, o, first=i) for i in range(5)]
        torch.testing.assert_close(pairs.images, together.images, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(torch.cat([a.images for a in alone]), together.images, rtol=1e-4, atol=1e-5)


def test_multicode_reconstructs_better_than_one_code_on_the_same_budget():
    model = _tiny("gan", z_dim=4)
    x = torch.rand(6, 1, 28, 28) * 2 - 1  # noise: far from anything one code of this G draws
    one = invert(model, x, "optimize", InversionOptions(steps=60))
    many = invert(model, x, "multicode", InversionOptions(steps=60, codes=4))
    assert psnr(many.images, x).mean() > psnr(one.images, x).mean()
    assert many.extra["weights"].shape[:2] == (6, 4)
    assert (many.extra["weights"] > 0).all()  # a positive mix of G's activations (docs/inversion.md)


def test_the_feature_distance_reads_the_discriminator_or_says_there_is_none():
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    out = invert(_tiny("gan"), x, "optimize", InversionOptions(steps=2, features="discriminator"))
    assert torch.isfinite(out.images).all()
    for family in ("ae", "aae"):
        with pytest.raises(GaneError, match="--features domain"):
            invert(_tiny(family), x, "optimize", InversionOptions(steps=2, features="discriminator"))


@pytest.mark.parametrize("family", [f for f, cls in FAMILIES.items() if cls.data_discriminator])
def test_a_discriminator_of_data_gives_features_and_says_whether_it_scores_data_alone(family):
    model = _tiny(family, **FAMILY_OPTIONS.get(family, {}))
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert model.critic_features(x).shape[0] == 3
    joint = family == "bigan" or (family == "gan" and FAMILY_OPTIONS.get(family, {}).get("conditional"))
    if joint:
        with pytest.raises(GaneError, match="together with a code or class"):
            model.critic_realism(x)
    else:
        assert model.critic_realism(x).shape == (3,)


def test_multicode_refuses_a_layer_that_is_not_hidden():
    model = _tiny("gan")
    with pytest.raises(GaneError, match="hidden layer"):
        invert(model, torch.zeros(1, 1, 28, 28), "multicode", InversionOptions(steps=1, layer=model.generator_layers))


@pytest.mark.parametrize("field,value", [("steps", -1), ("lr", 0.0), ("pixel", "l3"), ("features", "vgg"), ("codes", 0),
                                         ("optimizer", "lbfgs")])
def test_bad_options_are_refused_by_name(field, value):
    with pytest.raises(GaneError, match=field.replace("_", "-") if field not in ("pixel", "features", "optimizer") else "must be one of"):
        InversionOptions(**{field: value}).check()


def test_targets_of_the_wrong_shape_or_none_are_refused():
    with pytest.raises(GaneError, match="shape"):
        invert(_tiny("gan"), torch.zeros(2, 3, 28, 28), "optimize")
    with pytest.raises(GaneError, match="no targets"):
        invert(_tiny("gan"), torch.zeros(0, 1, 28, 28), "optimize")


# ----------------------------------------------------------------- the command line


def test_gane_invert_writes_a_grid_a_curve_and_a_table_and_never_overwrites(bigan_run):
    r = CliRunner().invoke(cli, ["invert", str(bigan_run), "--method", "encoder,optimize,hybrid,multicode", "--n", "4", "--steps", "4",
                                 "--codes", "2"])
    assert r.exit_code == 0, r.output
    folder = bigan_run / "inversions" / "1"
    assert {"grid.png", "curve.png", "inversion.json"} <= {p.name for p in folder.iterdir()}
    record = json.loads((folder / "inversion.json").read_text())
    assert set(record["quality"]) == {"encoder", "optimize", "hybrid", "multicode"}
    assert {"psnr", "ssim", "seconds_per_image"} <= set(record["quality"]["optimize"])
    assert "| hybrid |" in r.output
    r = CliRunner().invoke(cli, ["invert", str(bigan_run), "--n", "2", "--steps", "1"])
    assert r.exit_code == 0, r.output
    assert (bigan_run / "inversions" / "2" / "grid.png").exists() and (folder / "grid.png").exists()


def test_gane_invert_fits_image_files_to_the_model_with_a_note(bigan_run, tmp_path):
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    r = CliRunner().invoke(cli, ["invert", str(bigan_run), "--images", str(tmp_path / "a.png"), "--steps", "2",
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "resized to 28x28" in r.output and "converted to grey" in r.output
    assert "1 image file" in r.output


@pytest.mark.parametrize("args,message", [
    (["--images", "no/such/thing"], "neither a split"),
    (["--method", "optimise"], "optimize"),
    (["--features", "discriminator", "--method", "optimize"], None),  # bigan's D has x features: works
    (["--method", "multicode", "--layer", "9"], "hidden layer"),
])
def test_gane_invert_says_what_was_wrong(bigan_run, tmp_path, capsys, args, message):
    code = main(["invert", str(bigan_run), "--n", "2", "--steps", "1", "--out", str(tmp_path / "o"), *args])
    out = capsys.readouterr()
    if message is None:
        assert code == 0, out.err
        return
    assert code == 2, out.err
    assert message in out.err and "Traceback" not in out.err


# ----------------------------------------------------------------- encoders fitted to a frozen generator


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory, image_npz):
    out = tmp_path_factory.mktemp("runs") / "gan"
    gane.train("gan", data=f"npz:{image_npz}", steps=4, tick=2, width=0.125, z_dim=4, batch_size=16, out=str(out), progress=False)
    return out


@pytest.mark.parametrize("method", ["z-regression", "x-reconstruction", "domain-guided"])
def test_each_fitting_method_saves_an_encoder_that_loads_back_and_inverts(gan_run, method):
    from gane.inversion.encoders import load_encoder

    folder = gane.fit_encoder(gan_run, method, name=f"t-{method}", steps=3, batch_size=8, features="none")
    assert folder == gan_run / "encoders" / f"t-{method}" and not (gan_run / "encoders" / f"t-{method}.partial").exists()
    config = json.loads((folder / "config.json").read_text())
    assert config["method"] == method and set(config["final"]) >= ({"code"} if method == "z-regression" else {"pixel"})
    model = gane.load(gan_run, frozen=True)
    E = load_encoder(gan_run, f"t-{method}", model)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    code = E(x)
    assert code.shape == (3, model.code_dim) and not any(p.requires_grad for p in E.parameters())
    out = invert(model, x, "hybrid", InversionOptions(steps=2), encoder=E)
    assert out.images.shape == x.shape
    report = gane.invert(gan_run, "test", "encoder", n=2, out=None, encoder=f"t-{method}")
    assert list(report.quality) == [f"encoder (t-{method})"]


def test_z_regression_learns_to_read_codes_back_from_images(gan_run):
    from gane.inversion.encoders import load_encoder

    gane.fit_encoder(gan_run, "z-regression", name="zr-long", steps=150, batch_size=32, lr=3e-3)
    model = gane.load(gan_run, frozen=True)
    E = load_encoder(gan_run, "zr-long", model)
    z = model.prior(256, torch.Generator().manual_seed(5))
    fitted = (E(model.decode(z)) - z).pow(2).mean()
    assert fitted < 0.5 * z.pow(2).mean()  # a constant guess (0) would score 1


def test_an_interrupted_fit_resumes_and_ends_where_an_uninterrupted_one_does(gan_run, monkeypatch):
    from safetensors.torch import load_file

    from gane.inversion import encoders

    gane.fit_encoder(gan_run, "x-reconstruction", name="whole", steps=6, batch_size=8, features="none", checkpoint_every=2)
    real = encoders._x_reconstruction
    calls = {"n": 0}

    def dies_at_step_5(ctx, g):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(ctx, g)

    monkeypatch.setitem(encoders.FIT_METHODS._items, "x-reconstruction", dies_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        gane.fit_encoder(gan_run, "x-reconstruction", name="cut", steps=6, batch_size=8, features="none", checkpoint_every=2)
    partial = gan_run / "encoders" / "cut.partial"
    assert json.loads((partial / "state.json").read_text())["step"] == 4 and not (gan_run / "encoders" / "cut").exists()
    monkeypatch.setitem(encoders.FIT_METHODS._items, "x-reconstruction", real)
    gane.fit_encoder(gan_run, "x-reconstruction", name="cut", steps=6, batch_size=8, features="none", checkpoint_every=2)
    whole, cut = (load_file(str(gan_run / "encoders" / n / "encoder.safetensors")) for n in ("whole", "cut"))
    for k in whole:
        torch.testing.assert_close(cut[k], whole[k], rtol=0, atol=0)


def test_fitting_says_what_was_wrong(bigan_run, gan_run):
    with pytest.raises(GaneError, match="together with a code"):  # bigan's D judges (x, z) pairs
        gane.fit_encoder(bigan_run, "domain-guided", steps=1, features="none")
    gane.fit_encoder(bigan_run, "domain-guided", name="no-realism", steps=1, batch_size=4, features="none", realism_weight=0)
    with pytest.raises(GaneError, match="encoder name"):
        gane.fit_encoder(gan_run, "z-regression", name="../escape", steps=1)
    with pytest.raises(GaneError, match="encoder-fitting method"):
        gane.fit_encoder(gan_run, "pixels", steps=1)
    with pytest.raises(GaneError, match="no fitted encoder 'nope'"):
        gane.invert(gan_run, "test", "encoder", n=2, out=None, encoder="nope")
    with pytest.raises(GaneError, match="Unknown fit-encoder option"):
        gane.fit_encoder(gan_run, "z-regression", stepz=1)
    with pytest.raises(GaneError, match="'own' names a family's own encoder"):
        gane.fit_encoder(gan_run, "z-regression", name="own", steps=1)


def test_a_fit_told_not_to_overwrite_keeps_an_encoder_saved_under_its_name_meanwhile(gan_run):
    from gane.api import load_run
    from gane.inversion.encoders import FitOptions, fit_encoder

    run = load_run(gan_run, frozen=True)
    theirs = gan_run / "encoders" / "kept"
    seen = []

    def another_gane_saves_one(step, steps, images):
        seen.append((step, images))
        if step == steps:
            theirs.mkdir(parents=True)
            (theirs / "encoder.safetensors").write_bytes(b"someone else's")

    with pytest.raises(GaneError, match="already has an encoder 'kept'"):
        fit_encoder(run, "z-regression", "kept", FitOptions(steps=3, batch_size=4), watch=another_gane_saves_one, overwrite=False)
    assert (theirs / "encoder.safetensors").read_bytes() == b"someone else's"
    assert [s for s, _ in seen] == [1, 2, 3] and all(im is None for _, im in seen)  # z-regression has no G(E(x)) to show
    with pytest.raises(GaneError, match="already has an encoder 'kept'"):
        fit_encoder(run, "z-regression", "kept", FitOptions(steps=3, batch_size=4), overwrite=False)  # refused at the start too


# ----------------------------------------------------------------- restoration through the generator


def test_inversion_through_the_identity_operator_is_plain_inversion():
    model = _tiny("bigan")
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    for method in ("optimize", "hybrid", "multicode"):
        o = InversionOptions(steps=10, codes=2)
        plain = invert(model, x, method, o)
        through = invert(model, x, method, o, operator=lambda images: images, lifted=x)
        torch.testing.assert_close(through.images, plain.images, rtol=0, atol=0)


RGB = DataInfo("image", (3, 32, 32), 4)


@pytest.mark.parametrize("task,info", [("inpaint", IMAGE), ("denoise", IMAGE), ("superres", IMAGE), ("colorize", RGB)])
def test_every_task_restores_with_every_method_beside_its_baseline(task, info):
    from gane.inversion.restore import restore

    model = _tiny("bigan", info)
    x = torch.rand(5, *info.shape) * 2 - 1
    out = restore(model, x, task, ("encoder", "optimize", "hybrid", "multicode"), InversionOptions(steps=3, codes=2, batch_size=2))
    assert set(out.results) == {"encoder", "optimize", "hybrid", "multicode"}
    assert len(out.degradation.baselines) >= 1 and set(out.quality) == set(out.restored)
    for name, img in out.restored.items():
        assert img.shape == x.shape and torch.isfinite(img).all(), name
    if task == "inpaint":  # the known pixels are kept exactly, per image (batches of 2 read their own masks)
        m = out.degradation.mask
        for img in list(out.restored.values()):
            torch.testing.assert_close(img * m, x * m)


def test_restoration_is_judged_against_the_clean_images():
    from gane.inversion.restore import judge_restoration

    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert judge_restoration(x, x)["ssim"] == pytest.approx(1.0)
    noisy = x + 0.1 * torch.randn_like(x)
    expected = 10 * torch.log10(4 / (noisy.clamp(-1, 1) - x).pow(2).flatten(1).mean(1))
    assert judge_restoration(noisy, x)["psnr"] == pytest.approx(float(expected.mean()), rel=1e-5)


def test_the_baselines_against_hand_computed_cases():
    from gane.inversion.restore import harmonic_fill, median_filter

    ramp = torch.linspace(-1, 1, 28).view(1, 1, 1, 28).expand(1, 1, 28, 28).contiguous()
    mask = torch.ones(1, 1, 28, 28)
    mask[..., 8:20, 8:20] = 0
    filled = harmonic_fill(ramp * mask, mask, iterations=3000)  # a linear ramp solves Laplace's equation: recovered
    torch.testing.assert_close(filled, ramp, rtol=0, atol=1e-3)
    spike = torch.zeros(1, 1, 8, 8)
    spike[0, 0, 4, 4] = 1.0
    assert median_filter(spike).abs().max() == 0  # one outlier among nine is the median's to remove


@pytest.mark.parametrize("kind", ["centre", "rectangles", "strokes"])
def test_masks_hide_some_pixels_and_keep_the_rest(kind):
    from gane.inversion.restore import make_mask

    m = make_mask(kind, torch.zeros(3, 1, 28, 28), seed=0)
    assert m.shape == (3, 1, 28, 28) and set(m.unique().tolist()) == {0.0, 1.0}
    assert 0.02 < float(1 - m.mean()) < 0.6
    assert torch.equal(m, make_mask(kind, torch.zeros(3, 1, 28, 28), seed=0))


def test_restoration_says_what_was_wrong(tmp_path):
    from PIL import Image

    from gane.inversion.restore import DegradeOptions, degrade

    x = torch.zeros(2, 1, 28, 28)
    with pytest.raises(GaneError, match="colour images"):
        degrade("colorize", x)
    with pytest.raises(GaneError, match="divides the image side"):
        degrade("superres", x, DegradeOptions(factor=3))
    with pytest.raises(GaneError, match="is not"):
        degrade("inpaint", x, DegradeOptions(mask="no-such-mask.png"))
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "black.png")
    with pytest.raises(GaneError, match="marks no pixel as white"):
        degrade("inpaint", x, DegradeOptions(mask=str(tmp_path / "black.png")))
    white = np.zeros((10, 10), np.uint8)
    white[3:6, 3:6] = 255
    Image.fromarray(white).save(tmp_path / "hole.png")
    d = degrade("inpaint", x, DegradeOptions(mask=str(tmp_path / "hole.png")))
    assert 0 < float(1 - d.mask.mean()) < 0.2
    with pytest.raises(GaneError, match="vectors"):
        degrade("denoise", torch.zeros(2, 2))
    with pytest.raises(GaneError, match="restoration task"):
        degrade("deblur", x)


def test_gane_restore_writes_a_grid_and_a_table_and_never_overwrites(bigan_run, capsys):
    for _ in range(2):
        assert main(["restore", str(bigan_run), "--task", "inpaint", "--mask", "strokes", "--method", "hybrid,multicode",
                     "--n", "3", "--steps", "2", "--codes", "2"]) == 0
    out = capsys.readouterr().out
    assert "| harmonic fill |" in out and "| hybrid |" in out
    for k in ("1", "2"):
        record = json.loads((bigan_run / "restorations" / k / "restore.json").read_text())
        assert record["rows"] == ["clean", "observed", "hybrid", "multicode", "harmonic fill"]
        assert (bigan_run / "restorations" / k / "grid.png").exists()
    code = main(["restore", str(bigan_run), "--task", "colorize", "--n", "2", "--steps", "1"])
    assert code == 2 and "colour images" in capsys.readouterr().err


def test_a_fitted_encoder_is_refused_for_another_state_of_the_generator(gan_run):
    from gane.inversion.encoders import load_encoder

    gane.fit_encoder(gan_run, "z-regression", name="pinned", steps=2, batch_size=4)
    model = gane.load(gan_run, frozen=True)
    run = gane.load_run(gan_run)
    load_encoder(gan_run, "pinned", model, checkpoint=run.checkpoint, ema=True)
    with pytest.raises(GaneError, match="raw weights"):
        load_encoder(gan_run, "pinned", model, checkpoint=run.checkpoint, ema=False)
    with pytest.raises(GaneError, match="step-00000002") as refused:
        load_encoder(gan_run, "pinned", model, checkpoint=run.checkpoint.parent / "step-00000002", ema=True)
    said = " ".join(str(refused.value).split())
    # the refit command as it can be run (this run, the options that were not defaults), and the old generator
    assert f"gane fit-encoder {gan_run} --method z-regression --name pinned --steps 2 --batch-size 4" in said
    assert f"passing its checkpoint {run.checkpoint} as the run" in said


@pytest.mark.parametrize("command", [["invert", "--method", "optimize", "--n", "2", "--steps", "1"],
                                     ["restore", "--task", "denoise", "--n", "2", "--steps", "1"],
                                     ["interpolate"], ["neighbors", "--n", "2", "--k", "2", "--pool-n", "10"]])
def test_an_unwritable_out_is_refused_with_a_message(bigan_run, tmp_path, capsys, command):
    (tmp_path / "file").write_text("")  # a folder inside a file cannot be made, even by root
    name, *rest = command
    code = main([name, str(bigan_run), "--out", str(tmp_path / "file" / "o"), *rest])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Cannot write the results" in err and "--out" in err and "Traceback" not in err


def test_encoder_methods_without_an_encoder_are_refused_before_the_work_naming_the_fitted_ones(gan_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "gan"
    shutil.copytree(gan_run, run, ignore=shutil.ignore_patterns("encoders"))  # a run with no fitted encoder
    code = main(["invert", str(run), "--method", "optimize,hybrid", "--n", "2", "--steps", "1", "--out", str(tmp_path / "x")])
    out = capsys.readouterr()
    err = " ".join(out.err.split())
    assert code == 2 and "no encoder of its own" in err and "Traceback" not in err
    assert f"gane fit-encoder {run} --method x-reconstruction" in err
    assert "inverting" not in out.out + out.err and not any((tmp_path / "x").glob("*"))
    gane.fit_encoder(run, "z-regression", name="named-one", steps=1, batch_size=8)
    assert main(["invert", str(run), "--method", "hybrid", "--n", "2", "--steps", "1"]) == 2
    assert "--encoder NAME (this run has: named-one)" in " ".join(capsys.readouterr().err.split())
    assert main(["interpolate", str(run)]) == 2  # the editing commands refuse before the work too
    assert "--invert encoder needs one" in " ".join(capsys.readouterr().err.split())


def test_a_missing_attribute_table_is_named(bigan_run, capsys):
    code = main(["edit", str(bigan_run), "--attribute", "smile", "--attributes", "/no/such/table.csv", "--n", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "/no/such/table.csv does not exist" in " ".join(err.split())


# ----------------------------------------------------------------- devices

DEVICE_COMMANDS = [["eval", "--metrics", "recon"], ["invert"], ["fit-encoder", "--method", "z-regression"],
                   ["restore", "--task", "denoise"], ["edit", "--attribute", "thickness"], ["interpolate"], ["neighbors"]]


@pytest.mark.parametrize("command", DEVICE_COMMANDS, ids=[c[0] for c in DEVICE_COMMANDS])
def test_every_command_on_a_trained_run_refuses_a_device_it_cannot_use_before_the_work(bigan_run, tmp_path, capsys, command):
    name, *rest = command
    asked = ["tpu", "meta"] + ([] if torch.cuda.is_available() else ["cuda"])
    out = [] if name in ("eval", "fit-encoder") else ["--out", str(tmp_path / "o")]
    for device in asked:
        code = main([name, str(bigan_run), *rest, *out, "--device", device])
        err = " ".join(capsys.readouterr().err.split())
        assert code == 2, err
        assert ("no CUDA GPU" if device == "cuda" else f"Unknown device {device!r}") in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() and not (bigan_run / "encoders" / "z-regression").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_inversion_restoration_editing_and_fitting_run_on_the_gpu_as_on_the_cpu(bigan_run, gan_run, tmp_path):
    from gane.edit import constrained, edit, interpolate_images, neighbors

    kw = dict(n=4, out=None, steps=3, codes=2, features="domain")
    on = {d: gane.invert(bigan_run, "test", "encoder,optimize,hybrid,multicode", device=d, **kw) for d in ("cpu", "cuda")}
    for method, q in on["cpu"].quality.items():  # the same starts and steps; TF32 convolutions differ in the last digits
        assert abs(q["psnr"] - on["cuda"].quality[method]["psnr"]) < 0.5, method
        assert abs(q["agreement"] - on["cuda"].quality[method]["agreement"]) <= 0.25, method
    assert all(r.images.device.type == "cuda" for r in on["cuda"].results.values())
    restored = gane.restore(bigan_run, "inpaint", "test", "hybrid,multicode", n=3, out=tmp_path / "r", steps=2, codes=2, device="cuda")
    assert set(restored.quality) >= {"hybrid", "multicode"} and (tmp_path / "r" / "grid.png").exists()
    folder = gane.fit_encoder(gan_run, "x-reconstruction", name="on-gpu", steps=3, batch_size=8, device="cuda")
    assert json.loads((folder / "config.json").read_text())["method"] == "x-reconstruction"
    assert main(["invert", str(gan_run), "--method", "hybrid", "--encoder", "on-gpu", "--n", "2", "--steps", "2",
                 "--device", "cuda", "--out", str(tmp_path / "i")]) == 0
    assert edit(bigan_run, "brightness", (-1, 0, 1), n=2, pool=16, out=None, device="cuda")["strip"].shape == (2, 3, 1, 28, 28)
    mask = tmp_path / "mask.png"
    from PIL import Image

    Image.fromarray(np.pad(np.full((8, 8), 255, np.uint8), 10)).save(mask)
    rec = constrained(bigan_run, mask, value=1.0, n=2, steps=5, out=None, device="cuda")
    assert rec["target_error_after"] < rec["target_error_before"]
    assert interpolate_images(bigan_run, steps=3, out=None, device="cuda")["rows"].shape[1] == 5
    assert neighbors(bigan_run, n=2, k=2, pool_n=16, out=None, device="cuda")["indices"].shape == (2, 2)
    assert main(["eval", str(bigan_run), "--metrics", "recon", "--n", "16", "--device", "cuda"]) == 0
