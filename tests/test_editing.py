"""Attribute vectors, computed attributes, constrained editing, neighbours, and the editing commands."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import gane
from gane.cli import main
from gane.data import DataInfo
from gane.edit import ATTRIBUTES, apply_vector, attribute_vector, constrained_edit, nearest_neighbors, rank_attributes
from gane.edit.attributes import attribute_set, read_attribute_csv
from gane.errors import GaneError
from gane.families import build_family


def blank(n=1, side=28):
    return -torch.ones(n, 1, side, side)


def test_computed_attributes_against_hand_counted_images():
    x = blank(2)
    x[0, 0, 10:14, 5:15] = 1.0  # 40 ink pixels in rows 10..13
    x[1, 0, 2:26, 13] = 1.0  # a vertical line, 24 rows high
    torch.testing.assert_close(ATTRIBUTES.get("thickness")(x), torch.tensor([40 / 784, 24 / 784]))
    torch.testing.assert_close(ATTRIBUTES.get("height")(x), torch.tensor([4 / 28, 24 / 28]))
    torch.testing.assert_close(ATTRIBUTES.get("brightness")(x), torch.tensor([-1 + 2 * 40 / 784, -1 + 2 * 24 / 784]))
    leaning = blank()
    for r in range(4, 24):  # going up (smaller row) the stroke moves right
        leaning[0, 0, r, 24 - r] = 1.0
    upright = blank()
    upright[0, 0, 4:24, 14] = 1.0
    assert ATTRIBUTES.get("slant")(leaning) > 0.9 and abs(float(ATTRIBUTES.get("slant")(upright))) < 1e-6


def test_an_attribute_vector_is_the_difference_of_the_two_means():
    codes = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [2.0, -2.0]])
    v = attribute_vector(codes, torch.tensor([True, True, False, False]))
    torch.testing.assert_close(v, torch.tensor([2.0, 1.0]) - torch.tensor([1.0, -1.0]))
    with pytest.raises(GaneError, match="both with and without"):
        attribute_vector(codes, torch.ones(4, dtype=torch.bool))


def _model(family="ae"):
    torch.manual_seed(0)
    return build_family(family, {"width": 0.125, "z_dim": 4}, DataInfo("image", (1, 28, 28), 4)).eval().requires_grad_(False)


def test_an_edit_with_alpha_zero_is_the_reconstruction():
    model = _model()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    codes = model.encode(x)
    strip = apply_vector(model, codes, torch.randn(4), [-1.0, 0.0, 2.0])
    assert strip.shape == (3, 3, 1, 28, 28)
    torch.testing.assert_close(strip[:, 1], model.reconstruct(x))


def test_ranking_finds_the_attribute_an_edit_moves():
    frames = torch.stack([blank(4)[:, :, :, :] + 0 for _ in range(5)], 1)  # (4, 5, 1, 28, 28)
    for j in range(5):  # each step right brightens the whole image a little: brightness moves, the ink does not
        frames[:, j] = -1 + 0.1 * j
    reference = torch.rand(50, 1, 28, 28) * 2 - 1
    moves = rank_attributes(frames, [-2, -1, 0, 1, 2], reference)
    assert next(iter(moves)) == "brightness" and moves["brightness"] > 0


def test_sets_from_labels_computed_attributes_and_csv_columns(tmp_path):
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    labels = torch.tensor([0, 1, 7, 7, 2, 7])
    assert attribute_set("label=7", x, labels)[0].tolist() == [False, False, True, True, False, True]
    in_set, what = attribute_set("thickness", x, None)
    assert int(in_set.sum()) == 3 and "median" in what
    (tmp_path / "attrs.csv").write_text("image_id,Smiling,Young,Name\na.png,1,-1,x\nb.png,-1,1,y\nc.png,1,1,z\n")
    table = read_attribute_csv(tmp_path / "attrs.csv", ["/data/c.png", "a.png"])
    assert table == {"Smiling": [True, True], "Young": [True, False]}
    assert attribute_set("Young", x[:2], None, ["/data/c.png", "a.png"], table)[0].tolist() == [True, False]
    with pytest.raises(GaneError, match="no row"):
        read_attribute_csv(tmp_path / "attrs.csv", ["d.png"])
    (tmp_path / "list_attr_celeba.txt").write_text("3\n5_o_Clock_Shadow Smiling\n000001.jpg -1  1\n000002.jpg  1 -1\n000003.jpg -1 -1\n")
    celeba = read_attribute_csv(tmp_path / "list_attr_celeba.txt", ["img/000002.jpg", "000001.jpg"])
    assert celeba == {"5_o_Clock_Shadow": [True, False], "Smiling": [False, True]}
    with pytest.raises(GaneError, match="needs labelled images"):
        attribute_set("label=1", x, None)
    with pytest.raises(GaneError, match="Unknown attribute 'smile'"):
        attribute_set("smile", x, labels)


def test_a_constrained_edit_reaches_for_the_target_inside_the_mask():
    model = _model("gan")
    z0 = model.prior(3, torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 1, 28, 28)
    mask[..., 4:10, 4:24] = 1
    target = model.decode(model.prior(1, torch.Generator().manual_seed(9)))  # a patch this G can draw
    before = model.decode(z0)
    after, z = constrained_edit(model, z0, mask, target, steps=60, lr=0.1, code_weight=0.0)
    err = lambda img: float((mask * (img - target)).pow(2).sum() / mask.sum() / 3)  # noqa: E731
    assert err(after) < 0.5 * err(before)
    held, _ = constrained_edit(model, z0, mask, target, steps=60, lr=0.1, code_weight=1e4)
    assert (held - before).abs().max() < (after - before).abs().max()  # a heavy code term keeps the image


def test_nearest_neighbours_match_a_brute_force_search():
    torch.manual_seed(0)
    q, p = torch.randn(5, 3), torch.randn(40, 3)
    brute = torch.stack([(p - qi).norm(dim=1).argsort()[:4] for qi in q])
    assert torch.equal(nearest_neighbors(q, p, 4, "l2"), brute)
    cos = torch.stack([(-(torch.nn.functional.normalize(p, dim=1) @ (qi / qi.norm()))).argsort()[:4] for qi in q])
    assert torch.equal(nearest_neighbors(q, p, 4, "cosine"), cos)


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory, image_npz):
    out = tmp_path_factory.mktemp("runs") / "ae"
    gane.train("ae", data=f"npz:{image_npz}", steps=4, tick=2, width=0.125, z_dim=4, batch_size=16, out=str(out), progress=False)
    return out


def test_the_editing_commands_write_their_pictures(ae_run, tmp_path, capsys):
    from PIL import Image

    assert main(["edit", str(ae_run), "--attribute", "label=1", "--n", "3", "--pool", "40", "--alphas", "0,1"]) == 0
    rec = json.loads((ae_run / "edits" / "1" / "edit.json").read_text())
    assert rec["alphas"] == [0.0, 1.0] and set(rec["moves"]) == set(ATTRIBUTES.names())
    mask = np.zeros((28, 28), np.uint8)
    mask[2:8, 2:26] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    assert main(["edit", str(ae_run), "--edit-mask", str(tmp_path / "mask.png"), "--edit-value", "1", "--n", "2", "--steps", "3"]) == 0
    assert (ae_run / "edits" / "2" / "constrained.png").exists()
    assert main(["interpolate", str(ae_run), "--steps", "4", "--mode", "spherical"]) == 0
    assert main(["interpolate", str(ae_run), "--arithmetic"]) == 0
    assert main(["neighbors", str(ae_run), "--n", "2", "--k", "3", "--pool-n", "30"]) == 0
    out = capsys.readouterr().out
    assert "share their query's label" in out
    for k, name in (("3", "interpolation.png"), ("4", "arithmetic.png"), ("5", "neighbors.png")):
        assert (ae_run / "edits" / k / name).exists()


@pytest.mark.parametrize("args,message", [
    (["edit", "{run}"], "Say what to edit"),
    (["edit", "{run}", "--attribute", "smile"], "Unknown attribute"),
    (["edit", "{run}", "--attribute", "thickness", "--alphas", "a,b"], "two different finite numbers"),
    (["edit", "{run}", "--attribute", "thickness", "--alphas", "nan,1"], "two different finite numbers"),
    (["edit", "{run}", "--attribute", "thickness", "--steps", "5"], "--steps belongs to --edit-mask"),
    (["edit", "{run}", "--attribute", "thickness", "--invert-steps", "5"], "belongs to --invert optimize"),
    (["interpolate", "{run}", "--arithmetic", "--mode", "spherical"], "--mode belongs to interpolation"),
    (["edit", "{run}", "--edit-mask", "nope.png", "--edit-value", "1"], "--edit-mask must be an image file"),
    (["edit", "{run}", "--attribute", "thickness", "--encoder", "nope"], "no fitted encoder"),
    (["interpolate", "{run}", "--images", "{one}"], "in pairs"),
])
def test_the_editing_commands_say_what_was_wrong(ae_run, tmp_path, capsys, args, message):
    from PIL import Image

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "one.png")
    code = main([a.format(run=ae_run, one=tmp_path / "one.png") for a in args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
