"""Every user mistake ends in one paragraph naming the flag or file and exit status 2, never a
traceback; data a user brings is read as it is (size, channels, depth, labels) and the choices are said."""
from __future__ import annotations

import dataclasses
import logging
import re

import numpy as np
import pytest
import torch
from PIL import Image

import gane
from gane.cli import _paragraph, main
from gane.config import TrainConfig, resolve
from gane.data import Batch, DataInfo, DataOptions, load_data
from gane.errors import GaneError
from gane.families import FAMILIES, build_family, generative_families, make_config
from gane.fields import field_kind, flag
from gane.nets import check_batch_for_batch_norm
from test_cli import TINY, assert_user_error, run


# --------------------------------------------------------------------------- the option layer


def _configs():
    return [("the trainer", TrainConfig)] + [(f"the {n!r} family", cls.Config) for n, cls in FAMILIES.items()]


def _numeric_fields():
    for what, cls in _configs():
        for f in dataclasses.fields(cls):
            if field_kind(f) in (int, float):
                yield what, cls, f


def _outside(f: dataclasses.Field):
    """A value just outside the field's declared range."""
    a = f.metadata["allowed"]
    if a.min is not None:
        return a.min - 1
    if a.above is not None:
        return a.above
    if a.below is not None:
        return a.below
    if a.max is not None:
        return a.max + 1
    return -1  # only a check: every check here refuses negative numbers


def test_every_numeric_option_declares_its_range():
    missing = [f"{what}: {f.name}" for what, _, f in _numeric_fields() if f.metadata.get("allowed") is None]
    assert missing == []


@pytest.mark.parametrize("what,cls,f", list(_numeric_fields()), ids=lambda v: getattr(v, "name", None) or str(v)[:20])
def test_every_numeric_option_refuses_a_value_outside_its_range(what, cls, f):
    bad = _outside(f)
    with pytest.raises(GaneError) as e:
        make_config(cls, {f.name: bad}, what)
    msg = str(e.value)
    assert msg.startswith(f"{flag(f.name)} {bad:g} is not allowed: it must be ") and what in msg
    # the default is always allowed
    make_config(cls, {f.name: f.default} if f.default is not None else {}, what)


@pytest.mark.parametrize("family,args,phrases", [
    ("gan", ["--z-dim", "0"], ["--z-dim 0 is not allowed", "at least 1", "size of the latent code"]),
    ("gan", ["--width", "0"], ["--width 0 is not allowed", "above 0"]),
    ("gan", ["--width", "-0.5"], ["--width -0.5 is not allowed"]),
    ("gan", ["--log-every", "0"], ["--log-every 0", "at least 1"]),
    ("gan", ["--time-limit", "-5"], ["--time-limit -5", "above 0"]),
    ("gan", ["--image-size", "0"], ["--image-size 0", "8, 14, 16, 28, 32", "the nearest to 0 is 8"]),
    ("gan", ["--image-size", "30"], ["--image-size 30", "the nearest to 30 are 28 and 32"]),
    ("gan", ["--tick", "0"], ["--tick 0"]),
    ("gan", ["--batch-size", "0"], ["--batch-size 0"]),
    ("gan", ["--keep-checkpoints", "0"], ["--keep-checkpoints 0"]),
    ("gan", ["--ema", "1"], ["--ema 1", "at least 0 and below 1"]),
    ("gan", ["--dropout", "1"], ["--dropout 1", "below 1"]),
    ("gan", ["--dropout", "-0.1"], ["--dropout -0.1"]),
    ("gan", ["--lr", "nan"], ["--lr nan", "a finite number"]),
    ("gan", ["--lr", "inf"], ["--lr inf", "a finite number"]),
    ("gan", ["--steps", "2", "--epochs", "1"], ["--steps or --epochs, not both"]),
    ("vae", ["--code-mixture", "-1"], ["--code-mixture -1", "at least 0"]),
    ("vae", ["--recon-std", "0"], ["--recon-std 0", "above 0"]),
    ("infogan", ["--categorical", "1"], ["--categorical 1", "0 (no categorical code) or at least 2"]),
    ("ebgan", ["--margin", "0"], ["--margin 0"]),
    ("aae", ["--components", "0"], ["--components 0"]),
])
def test_cli_options_outside_their_range(family, args, phrases, tmp_path, capsys):
    code, out, err = run(capsys, "train", family, "--data", "ring8", "--out", tmp_path / "r", *args)
    assert_user_error(code, err, *phrases)
    assert not (tmp_path / "r").exists()  # refused before anything was made


def test_the_python_api_gets_the_same_checks(tmp_path):
    with pytest.raises(GaneError, match="--z-dim 0 is not allowed"):
        gane.train("gan", data="ring8", z_dim=0, out=str(tmp_path / "r"))
    with pytest.raises(GaneError, match=r"--z-dim '4' is not allowed: it must be a whole number"):
        resolve("gan", z_dim="4")
    with pytest.raises(GaneError, match="--z-dim 2.5 is not allowed: it must be a whole number"):
        resolve("gan", z_dim=2.5)
    with pytest.raises(GaneError, match="--loss 'bogus' is not allowed: it must be one of .*hinge"):
        resolve("gan", loss="bogus")
    with pytest.raises(GaneError, match="--spectral-norm 1 .* true or false"):
        resolve("gan", spectral_norm=1)
    # numbers from numpy or a JSON file become the field's own type
    cfg = resolve("gan", z_dim=np.int64(8), width=1, tick=np.float64(4.0))
    assert type(cfg.model.z_dim) is int and type(cfg.model.width) is float and type(cfg.train.tick) is int


def test_help_shows_each_options_range(capsys):
    assert main(["train", "gan", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "size of the latent code z; at least 1" in out and "dropout in D; at least 0 and below 1" in out


# --------------------------------------------------------------------------- commands' own options and output paths


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, image_npz):
    out = tmp_path_factory.mktemp("runs") / "bigan"
    assert main(["train", "bigan", "--data", f"npz:{image_npz}", "--out", str(out), *TINY]) == 0
    return out


@pytest.mark.parametrize("args,phrases", [
    (["sample", "--n", "0"], ["'--n'", "0 is not in the range x>=1"]),
    (["sample", "--n", "-1"], ["'--n'", "-1 is not in the range x>=1"]),
    (["sample", "--nrow", "0"], ["'--nrow'", "x>=1"]),
    (["reconstruct", "--n", "0"], ["'--n'", "x>=1"]),
])
def test_counts_of_zero_or_below(run_dir, args, phrases, capsys):
    code, out, err = run(capsys, args[0], run_dir, *args[1:])
    assert_user_error(code, err, *phrases)


@pytest.mark.parametrize("command", ["sample", "reconstruct"])
def test_output_paths_that_cannot_take_a_picture(run_dir, command, tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    cases = [
        (tmp_path / "grid", ["has no extension", ".png, .jpg, .jpeg", f"--out {tmp_path / 'grid.png'}"]),
        (tmp_path / "grid.txt", ["ends in '.txt'"]),
        (tmp_path, ["is a folder", f"--out {tmp_path / 'samples.png'}"]),
        (tmp_path / "a-file" / "grid.png", ["cannot be written", f"{tmp_path / 'a-file'} is a file"]),
    ]
    for out, phrases in cases:
        code, _, err = run(capsys, command, run_dir, "--out", out)
        assert_user_error(code, err, f"--out {out}", *phrases)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing was written
    code, _, err = run(capsys, command, run_dir, "--out", tmp_path / "new" / "grid.jpg")
    assert code == 0, err
    assert Image.open(tmp_path / "new" / "grid.jpg").format == "JPEG"


def test_a_picture_the_file_system_refuses_is_a_message(run_dir, tmp_path, capsys, monkeypatch):
    import errno

    import gane.pictures

    def full(x, fp, **kwargs):
        with open(fp, "wb") as f:
            f.write(b"\x89PNG half")  # part of the file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gane.pictures, "save_image", full)
    out = tmp_path / "grid.png"
    code, _, err = run(capsys, "sample", run_dir, "--out", out)
    assert_user_error(code, err, f"{out} cannot be written: No space left on device")
    assert list(tmp_path.iterdir()) == []  # no half-written picture or temporary file left


def test_any_file_the_machine_refuses_is_named_not_a_traceback(capsys, monkeypatch):
    import errno

    import gane.cli

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/log.jsonl")

    monkeypatch.setattr(gane.cli.cli, "main", refused)
    assert main(["list"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("gane: error: /somewhere/log.jsonl: Permission denied. Fix its permissions") and "Traceback" not in err

    def bug(*args, **kwargs):
        raise OSError("a fault of gane's, not about a file")

    monkeypatch.setattr(gane.cli.cli, "main", bug)
    with pytest.raises(OSError, match="fault of gane's"):
        main(["list"])


def test_messages_never_break_inside_an_option_name():
    for pad in range(55, 88):  # one of these puts --image-size across column 100
        msg = "x" * pad + " The flag --image-size must be 28 or 32; see /a/long-hyphenated-path/name-with-dashes.png."
        lines = _paragraph(msg, "gane: error: ").splitlines()
        assert lines[0].startswith("gane: error: x") and all(len(line) <= 100 or " " not in line for line in lines)
        words = " ".join(lines).split()
        assert "--image-size" in words and "/a/long-hyphenated-path/name-with-dashes.png." in words
        assert not any(line.endswith("-") for line in lines)


@pytest.mark.parametrize("family", FAMILIES.names())
def test_help_never_breaks_inside_an_option_name(family, capsys):
    """Each family's description and options, as `gane train FAMILY --help` wraps them: every option
    name a line mentions is whole, and no line ends in a hyphen (as in "--code-" / "mixture")."""
    assert main(["train", family, "--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if re.search(r"[A-Za-z]-$", line)]
    flags = {"--" + f.name.replace("_", "-") for f in dataclasses.fields(FAMILIES.get(family).Config)}
    mentioned = set(re.findall(r"--[a-z][a-z0-9-]*[a-z0-9]", "\n".join(lines)))
    assert flags <= mentioned
    import click._textwrap
    assert click._textwrap.TextWrapper.__name__ == "TextWrapper"  # click's own wrapper is back once the command ends


# --------------------------------------------------------------------------- batch norm with one example per batch


def test_batch_of_one_is_refused_exactly_where_batch_norm_cannot_train():
    """The check refuses a batch of one for a model iff one training step on such a batch fails in torch."""
    info = DataInfo("image", (1, 28, 28), 4)
    for name in generative_families():
        model = build_family(name, {"width": 0.125, "z_dim": 4}, info)
        try:
            for phase in model.phases():
                phase.loss(Batch(torch.rand(1, 1, 28, 28) * 2 - 1, torch.zeros(1, dtype=torch.long)))[0].backward()
            torch_fails = False
        except ValueError as e:
            assert "Expected more than 1 value per channel" in str(e)
            torch_fails = True
        if torch_fails:
            with pytest.raises(GaneError, match="--batch-size 1 leaves one example per batch.*batch norm.*--batch-size 2"):
                check_batch_for_batch_norm(model, 1)
            with pytest.raises(GaneError, match="--batch-size 4 split over 4 processes.*--batch-size 8"):
                check_batch_for_batch_norm(model, 1, processes=4)
        else:
            check_batch_for_batch_norm(model, 1)
        check_batch_for_batch_norm(model, 2)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in build_family("gan", {}, info).modules())


# --------------------------------------------------------------------------- npz files


def _npz(tmp_path, name="d.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_npz_labels_must_be_class_numbers_from_zero(tmp_path):
    x = np.zeros((6, 2), np.float32)
    with pytest.raises(GaneError, match=r"d.npz, labels y must be class numbers 0 to K-1; 2 of 6 are negative \(the lowest is -3\)"):
        load_data(_npz(tmp_path, x=x, y=np.array([0, 1, -1, 2, -3, 1])))
    with pytest.raises(GaneError, match="labels y must be integers"):
        load_data(_npz(tmp_path, x=x, y=np.linspace(0, 1, 6)))
    d = load_data(_npz(tmp_path, x=x, y=np.array([[0], [1], [1], [0], [1], [0]])))  # a column of labels
    assert d.y.tolist() == [0, 1, 1, 0, 1, 0] and d.info.num_classes == 2
    gaps = load_data(_npz(tmp_path, x=x, y=np.array([0, 3, 3, 0, 3, 0])))
    assert gaps.info.num_classes == 4 and "2 of those classes have no examples (1, 2)" in gaps.notes[0]


def test_empty_npz(tmp_path):
    with pytest.raises(GaneError, match=r"x is empty \(shape \(0, 28, 28\)\)"):
        load_data(_npz(tmp_path, x=np.zeros((0, 28, 28), np.uint8), y=np.zeros(0, np.int64)))
    with pytest.raises(GaneError, match="x is empty"):
        load_data(_npz(tmp_path, x=np.zeros((0,), np.float32)))
    with pytest.raises(GaneError, match="has no array named 'x' .it has: nothing"):
        load_data(_npz(tmp_path))


def test_nan_or_infinite_values_name_the_file_before_training(tmp_path, capsys):
    x = np.random.default_rng(0).random((32, 2)).astype(np.float32)
    x[5, 1], x[9, 0], x[9, 1] = np.nan, np.inf, -np.inf
    spec = _npz(tmp_path, "bad.npz", x=x)
    code, _, err = run(capsys, "train", "gan", "--data", spec, "--out", tmp_path / "r", *TINY)
    assert_user_error(code, err, "bad.npz", "1 NaN and 2 infinite values", "in 2 of 32 rows", "the first is row 5",
                      "drop or repair those rows")
    assert "diverged" not in err and not (tmp_path / "r").exists()
    images = np.random.default_rng(0).random((8, 28, 28)).astype(np.float32)
    images[3, 4, 4] = np.nan
    with pytest.raises(GaneError, match="bad-img.npz, x holds 1 NaN and 0 infinite values"):
        load_data(_npz(tmp_path, "bad-img.npz", x=images))


def test_float_npz_images_follow_image_size(tmp_path):
    x = np.random.default_rng(0).random((6, 28, 28, 3)).astype(np.float32)
    d = load_data(_npz(tmp_path, x=x), options=DataOptions(image_size=32))
    assert d.info.shape == (3, 32, 32) and d.x.shape == (6, 3, 32, 32) and d.x.dtype == torch.float32
    assert -1 <= float(d.x.min()) and float(d.x.max()) <= 1
    assert abs(float(d.x.mean()) - float(x.mean() * 2 - 1)) < 0.01  # resized, not rescaled


def test_16_bit_npz_images_are_scaled_to_8_bits(tmp_path):
    x = np.full((4, 16, 16), 65535, np.uint16)
    x[:, :8] = 32896  # 128 * 257
    d = load_data(_npz(tmp_path, x=x))
    assert d.x.dtype == torch.uint8 and set(d.x.unique().tolist()) == {128, 255} and "16-bit" in d.notes[0]


def test_image_size_with_vectors_is_refused(tmp_path):
    with pytest.raises(GaneError, match="--image-size 32 resizes images, and 'ring8' holds vectors"):
        load_data("ring8", options=DataOptions(image_size=32))


# --------------------------------------------------------------------------- folders


def _png(path, size, mode="RGB", value=None, rng=np.random.default_rng(0)):
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    a = rng.integers(0, 256, shape).astype(np.uint8) if value is None else np.full(shape, value, np.uint8)
    Image.fromarray(a, mode).save(path)


def test_16_bit_pngs_are_read_at_their_depth(tmp_path):
    for i, v in enumerate((0, 16448, 32896, 65535)):  # 0, 64, 128, 255 in 8 bits
        Image.fromarray(np.full((28, 28), v, np.uint16)).save(tmp_path / f"{i}.png")
    assert Image.open(tmp_path / "1.png").mode.startswith("I;16")
    d = load_data(f"folder:{tmp_path}")
    assert d.info.shape == (1, 28, 28)
    assert [int(v) for v in d.x[:, 0, 0, 0]] == [0, 64, 128, 255]


def test_folder_default_size_is_the_images_own_or_the_nearest_the_networks_take(tmp_path):
    for i in range(3):
        _png(tmp_path / "own" / f"{i}.png", (28, 28))
        _png(tmp_path / "forty" / f"{i}.png", (40, 40))
        _png(tmp_path / "wide" / f"{i}.png", (120, 100))
    own = load_data(f"folder:{tmp_path / 'own'}")
    assert own.info.shape == (3, 28, 28) and "3 images of 28x28; training at 28x28: their own side" in own.notes[0]
    forty = load_data(f"folder:{tmp_path / 'forty'}")
    assert forty.info.shape == (3, 32, 32) and "their own side is 40, and the nearest side the networks take is 32" in forty.notes[0]
    wide = load_data(f"folder:{tmp_path / 'wide'}")
    assert wide.info.shape == (3, 64, 64) and "center-cropped" in wide.notes[0] and "--image-size 112" in wide.notes[0]
    given = load_data(f"folder:{tmp_path / 'forty'}", options=DataOptions(image_size=56))
    assert given.info.shape == (3, 56, 56) and not any("training at" in n for n in given.notes)


def test_folder_channels_come_from_every_file(tmp_path):
    _png(tmp_path / "a-grey.png", (28, 28), "L", value=200)  # first in order
    for i in range(3):
        _png(tmp_path / f"b{i}.png", (28, 28))
    d = load_data(f"folder:{tmp_path}")
    assert d.info.shape == (3, 28, 28)
    assert "1 of 4 images is grey and the rest in colour: training in colour, the grey ones converted to RGB" in d.notes[-1]
    grey = d.take(1).x[0]
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])


def test_folder_loose_files_beside_class_folders(tmp_path):
    for i in range(2):
        _png(tmp_path / "cats" / f"{i}.png", (28, 28))
        _png(tmp_path / "dogs" / f"{i}.png", (28, 28))
    _png(tmp_path / "stray.png", (28, 28))
    d = load_data(f"folder:{tmp_path}")
    assert len(d) == 4 and d.info.num_classes == 2 and d.y.tolist() == [0, 0, 1, 1]
    assert ("labels from 2 class folders (cats, dogs); 1 loose image beside them (stray.png) left out so that every "
            "image keeps a label") in d.notes[1]
    one = tmp_path / "one"
    _png(one / "sub" / "a.png", (28, 28))
    _png(one / "b.png", (28, 28))
    d = load_data(f"folder:{one}")
    assert len(d) == 2 and d.y is None and d.info.num_classes is None
    assert "found 1 subfolder (sub) and 1 loose images beside it: no class labels" in d.notes[1]


def test_the_command_line_says_what_it_chose_for_a_folder(tmp_path, capsys):
    _png(tmp_path / "pics" / "a.png", (28, 28), "L")
    for i in range(5):
        _png(tmp_path / "pics" / f"c{i}.png", (40, 40))
    code, out, err = run(capsys, "train", "gan", "--data", f"folder:{tmp_path / 'pics'}", "--out", tmp_path / "r",
                         "--steps", "1", "--batch-size", "2", "--width", "0.125", "--no-progress")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "gane: folder:" in flat and "training at 32x32" in flat and "converted to RGB" in flat


def test_data_notes_go_to_the_gane_logger(tmp_path, caplog):
    """Library use prints nothing by itself (the notes are INFO records); the command line shows them."""
    _png(tmp_path / "a.png", (40, 40))
    with caplog.at_level(logging.INFO, logger="gane"):
        load_data(f"folder:{tmp_path}")
    assert [r.levelno for r in caplog.records] == [logging.INFO] and "training at 32x32" in caplog.records[0].getMessage()


def test_image_shapes_the_networks_cannot_take_say_which_size_to_pass():
    with pytest.raises(GaneError, match=r"square images; these are 28x32 .* --image-size 32"):
        build_family("gan", {}, DataInfo("image", (1, 28, 32)))
    with pytest.raises(GaneError, match="Images of side 30 .* nearest to 30 are 28 and 32. Pass --image-size 28"):
        build_family("gan", {}, DataInfo("image", (1, 30, 30)))
