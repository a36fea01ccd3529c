"""Translation models: one shared test for every registered translator on tiny two-domain data (build,
translate both ways where it can, one step of each phase with gradients only where the phase trains,
save and load, exact resume), then the pieces (U-Net skip, cycle loss, history buffer), `gane
translate`, and the errors a user meets."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gane
from gane.cli import main
from gane.config import resolve
from gane.data import load_data
from gane.errors import GaneError
from gane.families import FAMILIES
from gane.train import Trainer
from gane.train.step import train_only
from gane.translate import HistoryBuffer, Translator

TINY = {"width": 0.125}


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def _square(i: int, side: int = 28) -> tuple[int, int, int]:
    """A square's corner and size, different for each image."""
    return 4 + (i * 3) % 10, 4 + (i * 5) % 10, 8 + i % 5


def _outline_and_fill(i: int, side: int = 28):
    r, c, s = _square(i, side)
    outline = np.zeros((side, side))
    outline[r : r + s, c : c + s] = 255
    outline[r + 1 : r + s - 1, c + 1 : c + s - 1] = 0
    fill = np.zeros((side, side, 3))
    fill[r : r + s, c : c + s] = (40 * (i % 5) + 60, 200, 255 - 30 * (i % 4))
    return outline, fill


@pytest.fixture(scope="module")
def pair_data(tmp_path_factory):
    """Three tiny two-domain datasets: colour (aligned, A grey outlines, B colour squares), same (aligned,
    both grey 28x28, B = A with a hole filled: for the context encoder and the identity loss), lowres
    (aligned, A 7x7, B 28x28), unaligned (A grey, B colour, different counts)."""
    root = tmp_path_factory.mktemp("pairs")
    for i in range(12):
        outline, fill = _outline_and_fill(i)
        _png(root / "colour" / "A" / f"{i}.png", outline)
        _png(root / "colour" / "B" / f"{i}.png", fill)
        grey = fill.mean(2)
        holed = grey.copy()
        holed[7:21, 7:21] = grey.mean()
        _png(root / "same" / "A" / f"{i}.png", holed)
        _png(root / "same" / "B" / f"{i}.png", grey)
        _png(root / "lowres" / "A" / f"{i}.png", grey.reshape(14, 2, 14, 2).mean((1, 3)))
        _png(root / "lowres" / "B" / f"{i}.png", grey)
    for split, n in (("trainA", 12), ("trainB", 10), ("testA", 4), ("testB", 3)):
        for i in range(n):
            outline, fill = _outline_and_fill(i + (50 if split.endswith("B") else 0))
            _png(root / "unaligned" / split / f"{i}.png", outline if split.endswith("A") else fill)
    return {
        "colour": f"aligned:{root / 'colour' / 'A'},{root / 'colour' / 'B'}",
        "same": f"aligned:{root / 'same' / 'A'},{root / 'same' / 'B'}",
        "lowres": f"aligned:{root / 'lowres' / 'A'},{root / 'lowres' / 'B'}",
        "unaligned": f"unaligned:{root / 'unaligned'}",
    }


TRANSLATORS = sorted(n for n, cls in FAMILIES.items() if cls.translates)
# (model, options, data) for every translator and the options that change its losses or networks
CASES = [
    ("pix2pix", {}, "colour"), ("pix2pix", {"adv": 0.0}, "colour"), ("pix2pix", {"l1": 0.0, "loss": "wgan-gp"}, "same"),
    ("pix2pix", {"conditional": False, "loss": "hinge", "spectral_norm": True, "norm": "instance"}, "colour"),
    ("cyclegan", {"identity": 0.0}, "unaligned"), ("cyclegan", {"history": 0, "loss": "ns"}, "same"), ("cyclegan", {"r1": 1.0}, "same"),
    ("unit", {}, "unaligned"), ("unit", {"loss": "hinge", "norm": "batch"}, "colour"),
    ("srgan", {"content": 0.0}, "lowres"), ("srgan", {"content": 0.0, "adv": 0.0}, "lowres"),
    ("context-encoder", {}, "same"), ("context-encoder", {"adv": 0.0}, "same"),
    ("cgan-encoder", {"gan_steps": 2}, "unaligned"), ("cgan-encoder", {"gan_steps": 2, "method": "z-regression", "loss": "wgan-gp"}, "same"),
]


def _id(case):
    model, opts, data = case
    return model + "".join(f"-{k}={v}" for k, v in opts.items()) + f"-{data}"


def test_every_translator_has_cases():
    assert {c[0] for c in CASES} == set(TRANSLATORS), "add the new translation model to CASES"


def _train(spec, model, opts, out, steps, resume=False, device="cpu"):
    cfg = resolve(model, data=spec, steps=steps, batch_size=4, tick=2, out=str(out), progress=False, resume=resume, device=device,
                  deterministic=device != "cpu", **TINY, **opts)
    return Trainer(cfg).run()


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_translator(case, pair_data, tmp_path):
    name, opts, which = case
    spec = pair_data[which]
    data = load_data(spec)
    torch.manual_seed(0)
    model = FAMILIES.get(name)(resolve(name, data=spec, **TINY, **opts).model, data.info)
    assert isinstance(model, Translator)

    # translate: each direction it has gives the target domain's shape; the others say why not
    model.eval()
    batch = data.take(4)
    assert model.translate(batch.a, "B").shape == (4, *data.info.b_shape)
    if model.two_way:
        assert model.translate(batch.b, "A").shape == (4, *data.info.shape)
    else:
        with pytest.raises(GaneError, match="one-way"):
            model.translate(batch.b, "A")
    with pytest.raises(GaneError, match="translates images of domain A"):
        model.translate(torch.zeros(2, 5, 9, 9), "B")
    with pytest.raises(GaneError, match="translation model"):
        model.sample(2)

    # one step of each phase: finite losses and gradients only where the phase trains
    model.train()
    for phase in model.phases():
        model.zero_grad(set_to_none=True)
        train_only(model, phase)
        loss, logs = phase.loss(data.take(4))
        assert loss.ndim == 0 and torch.isfinite(loss), (phase.name, loss)
        assert all(torch.isfinite(v) for v in logs.values())
        loss.backward()
        for child_name, child in model.named_children():
            grads = [p.grad for p in child.parameters() if p.grad is not None]
            if child_name in phase.modules:
                assert grads, f"phase {phase.name} gave no gradient to {child_name}"
            else:
                assert not grads, f"phase {phase.name} leaked gradients into {child_name}"

    # saved and loaded: the same translations from the folder alone; the checkpoint pictures are written
    full = tmp_path / "full"
    _train(spec, name, opts, full, steps=4)
    assert (full / "translations.png").exists()
    loaded, again = gane.load(full), gane.load(full)
    assert torch.equal(loaded.translate(batch.a), again.translate(batch.a))

    # 2 steps and a resume to 4 give the weights (and buffers: the history of generated images) of 4 straight
    half = tmp_path / "half"
    _train(spec, name, opts, half, steps=2)
    assert _train(spec, name, opts, half, steps=4, resume=True).step == 4
    a, b = gane.load(full).state_dict(), gane.load(half).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("case", [next(c for c in CASES if c[0] == name) for name in TRANSLATORS], ids=_id)
def test_translator_trains_and_resumes_on_cuda(case, pair_data, tmp_path):
    """On a GPU (with --deterministic), every translator trains, translates and resumes to the weights of
    an uninterrupted run: bit for bit but for reflection padding, whose backward on CUDA adds with atomics."""
    name, opts, which = case
    spec = pair_data[which]
    _train(spec, name, opts, tmp_path / "full", steps=4, device="cuda")
    _train(spec, name, opts, tmp_path / "half", steps=2, device="cuda")
    _train(spec, name, opts, tmp_path / "half", steps=4, resume=True, device="cuda")
    a, b = gane.load(tmp_path / "full").state_dict(), gane.load(tmp_path / "half").state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), rtol=1e-3, atol=1e-5) for k in a), \
        [k for k in a if not torch.allclose(a[k].float(), b[k].float(), rtol=1e-3, atol=1e-5)][:3]
    model = gane.load(tmp_path / "full", device="cuda")
    x = load_data(spec).take(3).a.cuda()
    assert model.translate(x).device.type == "cuda"


# --------------------------------------------------------------------------- the pieces


def test_a_unet_whose_other_weights_are_zero_passes_a_through_its_outer_skip():
    """The last layer reads the input beside the decoder: with it set to pick the input and every other
    weight zero, the output is the input (through the output's tanh), at every level count."""
    from gane.nets.translate import UNet

    for size in (28, 32, 64):
        net = UNet(3, 3, size, width=0.125).eval()
        with torch.no_grad():
            for p in net.parameters():
                p.zero_()
            base = net.out.in_channels - 3
            for c in range(3):
                net.out.weight[c, base + c, 1, 1] = 1.0
        x = torch.rand(2, 3, size, size) * 2 - 1
        assert torch.allclose(net(x), torch.tanh(x), atol=1e-6), size
        assert net.levels == {28: 2, 32: 3, 64: 4}[size]


def test_the_cycle_and_identity_losses_are_zero_for_identity_generators(pair_data):
    data = load_data(pair_data["same"])
    model = FAMILIES.get("cyclegan")(resolve("cyclegan", data=pair_data["same"], **TINY).model, data.info)
    model.G_AB, model.G_BA = torch.nn.Identity(), torch.nn.Identity()
    _, logs = model.g_loss(data.take(4))
    assert float(logs["cycle_A"]) == float(logs["cycle_B"]) == float(logs["identity"]) == 0.0
    model2 = FAMILIES.get("cyclegan")(resolve("cyclegan", data=pair_data["same"], **TINY).model, data.info)
    _, logs2 = model2.g_loss(data.take(4))  # the real generators are not the identity
    assert float(logs2["cycle_A"]) > 0 and float(logs2["identity"]) > 0


def test_the_history_buffer_keeps_its_size_and_returns_old_images_half_the_time():
    torch.manual_seed(0)
    pool = HistoryBuffer(50, (1, 2, 2))
    first = torch.arange(30, dtype=torch.float).view(30, 1, 1, 1).expand(30, 1, 2, 2)
    assert torch.equal(pool.query(first), first)  # filling: each image comes back as it went in
    second = torch.arange(30, 60, dtype=torch.float).view(30, 1, 1, 1).expand(30, 1, 2, 2)
    out = pool.query(second)
    assert torch.equal(out[:20], second[:20])  # the 20 that complete the pool come back as they are
    assert int(pool.count) == 50 and pool.images.shape == (50, 1, 2, 2)
    seen, old = set(range(60)), 0
    for step in range(200):
        x = torch.full((10, 1, 2, 2), 1000.0 + step)
        got = pool.query(x)
        values = got[:, 0, 0, 0].tolist()
        old += sum(v != 1000.0 + step for v in values)
        assert all(v == 1000.0 + step or v in seen for v in values)  # an old image is one that went in before
        seen.add(1000.0 + step)
        assert pool.images.shape == (50, 1, 2, 2) and int(pool.count) == 50
    assert 0.45 < old / 2000 < 0.55
    assert torch.equal(HistoryBuffer(0, (1, 2, 2)).query(x), x)  # size 0: the newest only


def test_a_pix2pix_learns_the_mapping_on_tiny_data(pair_data, tmp_path):
    """Not a quality benchmark: 60 steps on 12 pairs bring G(A) much closer to B than the start."""
    spec = pair_data["colour"]
    data = load_data(spec)
    torch.manual_seed(0)
    before = FAMILIES.get("pix2pix")(resolve("pix2pix", data=spec, **TINY).model, data.info).eval()
    batch = data.take(12)
    start = float((before.translate(batch.a) - batch.b).abs().mean())
    cfg = resolve("pix2pix", data=spec, steps=60, batch_size=4, tick=60, out=str(tmp_path / "r"), progress=False, lr=2e-3, device="cpu",
                  **TINY)
    Trainer(cfg).run()
    end = float((gane.load(tmp_path / "r").translate(batch.a) - batch.b).abs().mean())
    assert end < 0.5 * start, (start, end)


# --------------------------------------------------------------------------- gane translate and the errors


@pytest.fixture(scope="module")
def cyclegan_run(pair_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cyclegan"
    _train(pair_data["unaligned"], "cyclegan", {"identity": 0.0}, out, steps=2)
    return out


def test_gane_translate_writes_one_png_per_image_and_a_grid(cyclegan_run, tmp_path, capsys):
    assert main(["translate", str(cyclegan_run), "--n", "3", "--grid", "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    files = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert "grid.png" in files and len([f for f in files if f != "grid.png"]) == 3
    assert "(A -> B)" in out
    img = Image.open(next(p for p in (tmp_path / "t").iterdir() if p.name != "grid.png"))
    assert img.size == (28, 28) and img.mode == "RGB"  # B is colour
    assert main(["translate", str(cyclegan_run), "--to", "A", "--n", "2", "--out", str(tmp_path / "back")]) == 0
    assert Image.open(next((tmp_path / "back").iterdir())).mode == "L"  # A is grey
    assert main(["translate", str(cyclegan_run), "--n", "2"]) == 0  # default: RUN/translations/N, a new N each time
    assert main(["translate", str(cyclegan_run), "--n", "2"]) == 0
    assert (cyclegan_run / "translations" / "1").is_dir() and (cyclegan_run / "translations" / "2").is_dir()


def test_gane_translate_fits_image_files_to_the_source_domain_with_a_note(cyclegan_run, tmp_path, capsys):
    _png(tmp_path / "in" / "photo.png", np.random.default_rng(0).random((40, 50, 3)) * 255)
    assert main(["translate", str(cyclegan_run), "--images", str(tmp_path / "in"), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "resized to 28x28" in out and "converted to grey" in out
    assert (tmp_path / "o" / "photo.png").exists()
    result = gane.translate_images(cyclegan_run, [str(tmp_path / "in" / "photo.png")], out=None)
    assert result.translations.shape == (1, 3, 28, 28) and result.folder is None


def test_an_aligned_task_is_judged_against_its_true_targets(pair_data, tmp_path, capsys):
    run = tmp_path / "p"
    _train(pair_data["colour"], "pix2pix", {}, run, steps=2)
    assert main(["translate", str(run), "--images", "train", "--n", "4", "--grid", "--out", str(tmp_path / "o")]) == 0
    assert "against the true targets: L1" in capsys.readouterr().out
    result = gane.translate_images(run, "train", n=4, out=None)
    assert result.truth is not None and result.quality["l1"] == pytest.approx(float((result.translations - result.truth).abs().mean()))
    # two folders hold one split: asked for nothing, gane translate takes it and says so; asked for test, it refuses
    assert main(["translate", str(run), "--n", "4", "--out", str(tmp_path / "o2")]) == 0
    assert "4 " + pair_data["colour"] + " train images of domain A" in " ".join(capsys.readouterr().out.split())
    assert main(["translate", str(run), "--images", "test", "--out", str(tmp_path / "o3")]) == 2
    assert "has no 'test' split; it has: train" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize("args,message", [
    (["--to", "A"], "one-way"),
    (["--images", "no/such/place"], "neither a split"),
    (["--images", "mnist-5k"], None),  # a single-domain dataset of A's shape (grey 28x28): translated
])
def test_gane_translate_says_what_was_wrong(pair_data, tmp_path, capsys, args, message):
    run = tmp_path / "p"
    _train(pair_data["colour"], "pix2pix", {}, run, steps=1)
    code = main(["translate", str(run), "--n", "2", "--out", str(tmp_path / "o"), *args])
    err = " ".join(capsys.readouterr().err.split())
    if message is None:
        assert code == 0, err
        return
    assert code == 2 and message in err and "Traceback" not in err


def test_translation_and_generator_commands_refuse_each_others_runs(cyclegan_run, tmp_path, image_npz, capsys):
    for command in (["invert", str(cyclegan_run)], ["sample", str(cyclegan_run)], ["edit", str(cyclegan_run), "--attribute", "thickness"],
                    ["eval", str(cyclegan_run), "--metrics", "fd"], ["reconstruct", str(cyclegan_run)]):
        assert main(command) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "translation" in err and "gane translate" in err and "Traceback" not in err, command
    gan = tmp_path / "gan"
    gane.train("gan", data=f"npz:{image_npz}", steps=1, width=0.125, z_dim=4, batch_size=8, out=str(gan), progress=False)
    assert main(["translate", str(gan)]) == 2
    assert "not a translation model" in capsys.readouterr().err


def test_cgan_encoder_trains_the_gan_then_the_encoder_on_the_frozen_g(pair_data, tmp_path, capsys):
    spec = pair_data["unaligned"]
    _train(spec, "cgan-encoder", {"gan_steps": 3}, tmp_path / "r", steps=5)
    import json

    logs = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    by_step = {rec["step"]: {k.split("/")[0] for k in rec if "/" in k} for rec in logs}
    assert by_step[2] == {"D", "G"} and by_step[5] == {"E"}  # the first two steps: the GAN; the fifth: E alone
    _train(spec, "cgan-encoder", {"gan_steps": 3}, tmp_path / "short", steps=2)  # stops before the encoder's stage: says so
    assert "the E phase starts at step 3, after --steps 2: this run will not train it" in " ".join(capsys.readouterr().out.split())
    model = FAMILIES.get("cgan-encoder")(resolve("cgan-encoder", data=spec, gan_steps=3, **TINY).model, load_data(spec).info)
    assert [(p.name, p.start, p.stop) for p in model.phases()] == [("D", 0, 3), ("G", 0, 3), ("E", 3, None)]
    assert [p.name for p in model.phases() if p.due(2)] == ["D", "G"] and [p.name for p in model.phases() if p.due(3)] == ["E"]


@pytest.mark.parametrize("model,opts,which,message", [
    ("pix2pix", {}, "unaligned", "learns from aligned pairs"),
    ("srgan", {}, "unaligned", "learns from aligned pairs"),
    ("cyclegan", {}, "unaligned", "--identity 0"),  # A grey, B colour: the identity loss cannot feed B to G_AB
    ("pix2pix", {}, "lowres", "Use srgan"),
    ("srgan", {}, "colour", "power of two"),
    ("srgan", {}, "lowres", "no labels"),  # the content loss needs B's classifier
    ("context-encoder", {}, "colour", "one shape"),
    ("pix2pix", {"l1": 0.0, "adv": 0.0}, "colour", "nothing to learn"),
])
def test_a_translator_refuses_data_or_options_it_cannot_train_on(pair_data, tmp_path, capsys, model, opts, which, message):
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in opts.items()]
    code = main(["train", model, "--data", pair_data[which], "--steps", "1", "--out", str(tmp_path / "r"), "--width", "0.125", *flags])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_a_family_and_a_translator_each_refuse_the_others_data(pair_data, image_npz, tmp_path, capsys):
    assert main(["train", "gan", "--data", pair_data["colour"], "--steps", "1", "--out", str(tmp_path / "a")]) == 2
    assert "Train " in capsys.readouterr().err  # names the models that do train on two domains
    assert main(["train", "pix2pix", "--data", f"npz:{image_npz}", "--steps", "1", "--out", str(tmp_path / "b")]) == 2
    assert "two-domain dataset" in " ".join(capsys.readouterr().err.split())


def test_bad_layouts_are_one_paragraph_and_exit_code_2(tmp_path, capsys):
    _png(tmp_path / "p" / "train" / "square.png", np.zeros((8, 8)))
    _png(tmp_path / "A" / "one.png", np.zeros((8, 8)))
    _png(tmp_path / "A" / "two.png", np.zeros((8, 8)))
    _png(tmp_path / "B" / "one.png", np.zeros((8, 8)))
    _png(tmp_path / "u" / "trainA" / "0.png", np.zeros((8, 8)))
    for data, message in ((f"aligned:{tmp_path / 'p'}", "twice as wide"), (f"aligned:{tmp_path / 'A'},{tmp_path / 'B'}", "only in A: two"),
                          (f"unaligned:{tmp_path / 'u'}", "trainB/")):
        assert main(["train", "pix2pix", "--data", data, "--steps", "1", "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert message in " ".join(err.split()) and "Traceback" not in err
        assert "\n\n" not in err.strip()


def test_translators_train_with_their_default_data_and_list_apart(capsys):
    for name in TRANSLATORS:
        assert resolve(name).train.data == FAMILIES.get(name).default_data
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    families, translators = out.split("Translation models")[0], out.split("Translation models")[1].split("Datasets")[0]
    assert all(name in translators and f"  {name} " not in families for name in TRANSLATORS)


def test_help_lists_every_option_of_every_translator(capsys):
    for name in TRANSLATORS:
        assert main(["train", name, "--help"]) == 0
        out = capsys.readouterr().out
        missing = ["--" + f.name.replace("_", "-") for f in dataclasses.fields(FAMILIES.get(name).Config)
                   if "--" + f.name.replace("_", "-") not in out]
        assert not missing, (name, missing)
        assert f"[default: {FAMILIES.get(name).default_data}]" in " ".join(out.split())  # its own task, not mnist-5k
