"""Two-domain data for translation: the built-in tasks, the users' layouts, batches and their errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gane.cli import main
from gane.data import DataInfo, EpochSampler, PairBatch, dataset_splits, load_data
from gane.data.paired import centre_hole, downsample, edges, grey, restyle
from gane.errors import GaneError


def _png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def test_edges_mark_the_border_of_a_square_and_nothing_inside_or_outside():
    x = torch.zeros(1, 1, 12, 12, dtype=torch.uint8)
    x[..., 3:9, 3:9] = 255
    e = edges(x)[0, 0] > 0
    assert e.dtype == torch.bool and e.shape == (12, 12)
    assert not e[5, 5] and not e[0, 0] and not e[11, 11]  # inside and far outside: flat
    assert e[3, 5] and e[8, 5] and e[5, 3] and e[5, 8]  # the square's sides


def test_downsample_grey_and_hole_against_hand_values():
    x = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4) * 10
    assert downsample(x, 2)[0, 0].tolist() == [[25, 45], [105, 125]]  # means of the 2x2 blocks
    rgb = torch.tensor([100, 200, 50], dtype=torch.uint8).view(1, 3, 1, 1)
    assert grey(rgb).item() == round(0.299 * 100 + 0.587 * 200 + 0.114 * 50)
    img = torch.full((2, 1, 8, 8), 200, dtype=torch.uint8)
    img[1] = 100
    holed, mask = centre_hole(img)
    assert mask.sum() == 16 and mask[0, 0, 2:6, 2:6].all()
    assert (holed[:, :, 2:6, 2:6] == 150).all() and (holed[0, 0, 0] == 200).all()  # the hole holds the set's mean


def test_restyle_is_colour_and_keeps_the_digit():
    x = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    x[:, :, 8:20, 12:16] = 255
    y = restyle(x, seed=0)
    assert y.shape == (4, 3, 28, 28) and y.dtype == torch.uint8
    assert torch.equal(y, restyle(x, seed=0))  # fixed by its seed
    stroke, paper = y[:, :, 12, 14].float(), y[:, :, 2, 2].float()
    assert (stroke.amax(1) > paper.amax(1) + 100).all()  # the digit stands out from its background
    assert (stroke.amax(1) - stroke.amin(1)).mean() > 20  # and is coloured, not grey


@pytest.mark.parametrize("name,a_shape,b_shape", [
    ("edges2digits", (1, 28, 28), (1, 28, 28)),
    ("lowres2digits", (1, 7, 7), (1, 28, 28)),
    ("masked2digits", (1, 28, 28), (1, 28, 28)),
    ("gray2color", (1, 28, 28), (3, 28, 28)),
])
def test_aligned_tasks_pair_each_image_with_its_source(name, a_shape, b_shape):
    train, test = load_data(name, "train"), load_data(name, "test")
    assert train.info.kind == "pair" and train.info.aligned
    assert train.info.shape == a_shape and train.info.b_shape == b_shape
    assert len(train) == len(train.b) and len(test) == len(test.b) and len(test) < len(train)
    batch = test.select([0, 5])
    assert isinstance(batch, PairBatch) and torch.equal(batch.a, batch.x) and torch.equal(batch.y, batch.y_b)
    assert batch.a.min() >= -1 and batch.b.max() <= 1
    if name == "lowres2digits":  # A is B averaged down
        assert torch.allclose(batch.a, torch.nn.functional.avg_pool2d(batch.b, 4), atol=1 / 127.5)


def test_gray2color_takes_another_colour_dataset_and_refuses_grey_ones(tmp_path):
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    for i, c in enumerate(colours):
        _png(tmp_path / "c" / f"{i}.png", np.tile(np.array(c, dtype=np.uint8), (8, 8, 1)))
    d = load_data(f"gray2color:folder:{tmp_path / 'c'}")
    assert d.info.shape == (1, 8, 8) and d.info.b_shape == (3, 8, 8)
    assert d.a[:, 0, 0, 0].tolist() == [round(0.299 * r + 0.587 * g + 0.114 * b) for r, g, b in colours]
    with pytest.raises(GaneError, match="has no 'test' split"):
        load_data(f"gray2color:folder:{tmp_path / 'c'}", "test")
    with pytest.raises(GaneError, match="needs colour images"):
        load_data("gray2color:mnist-5k")
    with pytest.raises(GaneError, match="optional argument"):
        load_data("gray2color:")


def test_digits2styled_is_unpaired_from_disjoint_halves():
    d = load_data("digits2styled")
    assert not d.info.aligned and d.info.b_shape == (3, 28, 28)
    assert len(d) + len(d.b) == 4000  # the train split, halved: no digit is in both domains
    for y in (d.y_a, d.y_b):  # both halves hold every class
        assert torch.bincount(y, minlength=10).min() >= 150


def test_unaligned_batches_draw_b_on_its_own_and_resume_exactly(tmp_path):
    for split, n in (("trainA", 10), ("trainB", 6), ("testA", 2), ("testB", 3)):
        for i in range(n):
            _png(tmp_path / split / f"{i}.png", np.full((8, 8), 20 * i + (100 if split.endswith("B") else 0)))
    d = load_data(f"unaligned:{tmp_path}")
    assert len(d) == 10 and len(d.b) == 6 and d.info.b_shape == (1, 8, 8)
    s = EpochSampler(len(d), 3, seed=1)
    it = d.batches(s, "cpu")
    first = [next(it) for _ in range(6)]

    def index(batch, which):  # each image's file number, read back from its grey value
        v = ((batch.a if which == "a" else batch.b)[:, 0, 0, 0] + 1) * 127.5
        return (((v - (100 if which == "b" else 0)) / 20).round().long()).tolist()

    a_idx = [i for b in first for i in index(b, "a")]
    b_idx = [i for b in first for i in index(b, "b")]
    for epoch in range(3):  # B's 6 images make 2 batches of 3: every epoch of B holds each once
        assert sorted(b_idx[6 * epoch : 6 * epoch + 6]) == list(range(6))
    assert b_idx != [i % 6 for i in a_idx]  # B is shuffled on its own, not A's order folded onto B
    fresh = load_data(f"unaligned:{tmp_path}")
    resumed = EpochSampler(len(fresh), 3, seed=1)
    resumed.batches_done = 4
    again = next(fresh.batches(resumed, "cpu"))
    assert torch.equal(again.a, first[4].a) and torch.equal(again.b, first[4].b)


def test_unaligned_b_smaller_than_a_batch_is_refused(tmp_path):
    for split, n in (("trainA", 10), ("trainB", 2)):
        for i in range(n):
            _png(tmp_path / split / f"{i}.png", np.zeros((8, 8)))
    d = load_data(f"unaligned:{tmp_path}")
    with pytest.raises(GaneError, match="Domain B .* has 2 images, fewer than one batch"):
        next(d.batches(EpochSampler(len(d), 4, seed=0), "cpu"))


def test_aligned_side_by_side_splits_each_image_into_a_and_b(tmp_path):
    for split in ("train", "test"):
        for i in range(3):
            pair = np.concatenate([np.full((8, 8), 10 * i), np.full((8, 8), 200 + i)], axis=1)
            _png(tmp_path / split / f"{i}.png", pair)
    d = load_data(f"aligned:{tmp_path}", "test")
    assert d.info.aligned and d.a.shape == (3, 1, 8, 8) and d.b.shape == (3, 1, 8, 8)
    assert d.a[:, 0, 4, 4].tolist() == [0, 10, 20] and d.b[:, 0, 4, 4].tolist() == [200, 201, 202]


def test_aligned_two_folders_pair_by_file_name(tmp_path):
    for i, name in enumerate(("x", "y")):
        _png(tmp_path / "A" / f"{name}.png", np.full((8, 8), 50 * i))
        _png(tmp_path / "B" / f"{name}.png", np.full((8, 8, 3), 100 + 50 * i))
    _png(tmp_path / "A" / "x.png", np.full((8, 8), 0))
    d = load_data(f"aligned:{tmp_path / 'A'},{tmp_path / 'B'}")
    assert d.info.shape == (1, 8, 8) and d.info.b_shape == (3, 8, 8)
    # two folders hold one split, and say so (pix2pix's layout and gray2color of a dataset with a test split hold two)
    assert dataset_splits(f"aligned:{tmp_path / 'A'},{tmp_path / 'B'}") == ("train",)
    assert dataset_splits(f"aligned:{tmp_path}") == ("train", "test")
    assert dataset_splits(f"gray2color:folder:{tmp_path / 'B'}") == ("train",) and dataset_splits("gray2color") == ("train", "test")
    for name in ("x", "y"):  # a small A beside a large B (super-resolution): each domain keeps its own side
        _png(tmp_path / "B16" / f"{name}.png", np.full((16, 16, 3), 100))
    assert load_data(f"aligned:{tmp_path / 'A'},{tmp_path / 'B16'}").info.b_shape == (3, 16, 16)
    assert d.a[:, 0, 0, 0].tolist() == [0, 50] and d.b[:, 0, 0, 0].tolist() == [100, 150]


def test_layout_errors_say_what_is_wrong(tmp_path):
    _png(tmp_path / "p" / "train" / "square.png", np.zeros((8, 8)))
    with pytest.raises(GaneError, match="twice as wide"):
        load_data(f"aligned:{tmp_path / 'p'}")
    with pytest.raises(GaneError, match="no test/ folder"):
        load_data(f"aligned:{tmp_path / 'p'}", "test")
    _png(tmp_path / "A" / "one.png", np.zeros((8, 8)))
    _png(tmp_path / "A" / "two.png", np.zeros((8, 8)))
    _png(tmp_path / "B" / "one.png", np.zeros((8, 8)))
    with pytest.raises(GaneError, match="only in A: two"):
        load_data(f"aligned:{tmp_path / 'A'},{tmp_path / 'B'}")
    _png(tmp_path / "u" / "trainA" / "0.png", np.zeros((8, 8)))
    with pytest.raises(GaneError, match="trainB/"):
        load_data(f"unaligned:{tmp_path / 'u'}")
    with pytest.raises(GaneError, match="no B folder"):
        load_data(f"aligned:{tmp_path / 'A'},")
    _png(tmp_path / "A2" / "one.png", np.zeros((8, 8)))
    _png(tmp_path / "A2" / "one.jpg", np.zeros((8, 8)))
    with pytest.raises(GaneError, match="both one"):
        load_data(f"aligned:{tmp_path / 'A2'},{tmp_path / 'B'}")


def test_data_info_of_a_pair_round_trips_and_single_domain_configs_are_unchanged():
    info = DataInfo("pair", (1, 7, 7), 10, b_shape=(3, 28, 28), aligned=False)
    assert DataInfo.from_dict(info.to_dict()) == info
    assert DataInfo("image", (1, 28, 28), 10).to_dict() == {"kind": "image", "shape": [1, 28, 28], "num_classes": 10}


def test_a_family_refuses_two_domain_data_with_a_message(tmp_path, capsys):
    code = main(["train", "gan", "--data", "edges2digits", "--out", str(tmp_path / "r"), "--steps", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "two domains" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
