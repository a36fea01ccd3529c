"""The dataset registry: built-in sets, files, folders, errors, and the deterministic sampler."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from gane.data import DATASETS, DataOptions, EpochSampler, StreamingData, TensorData, load_data
from gane.data import sources
from gane.errors import GaneError


def test_mnist5k_fixed_stratified_split():
    train, test = load_data("mnist-5k", "train"), load_data("mnist-5k", "test")
    assert isinstance(train, TensorData) and len(train) == 4000 and len(test) == 1000
    assert train.info.shape == (1, 28, 28) and train.info.num_classes == 10
    assert torch.bincount(train.y).tolist() == [400] * 10
    assert torch.bincount(test.y).tolist() == [100] * 10
    x, y = sources.mnist5k_arrays()
    tr, te = sources.mnist5k_split(y, "train"), sources.mnist5k_split(y, "test")
    assert not set(tr) & set(te) and len(set(tr) | set(te)) == 5000
    b = test.take(8)
    assert b.x.dtype == torch.float32 and b.x.min() >= -1 and b.x.max() <= 1 and b.x.max() > 0.9
    # the same split every time (no randomness)
    assert torch.equal(load_data("mnist-5k", "test").take(8).x, b.x)


def test_spread_covers_every_class():
    assert set(load_data("mnist-5k", "test").spread(20).y.tolist()) == set(range(10))


@pytest.mark.parametrize("name,radius_check", [("ring8", True), ("grid25", False)])
def test_mixtures_follow_pacgan_settings(name, radius_check):
    d = load_data(name)
    means, std = sources.MIXTURES[name]
    m = torch.tensor(means(), dtype=torch.float32)
    assert d.info.kind == "vector" and d.info.shape == (2,) and len(d) == 50_000
    dist = torch.cdist(d.x, m).min(1).values
    assert dist.max() < 6 * std
    assert abs(float((d.x - m[d.y]).std()) - std) < 0.1 * std
    if radius_check:
        assert torch.allclose(m.norm(dim=1), torch.ones(8))
    else:
        assert sorted(set(m[:, 0].tolist())) == [-4, -2, 0, 2, 4]


def test_npz_images_and_vectors(image_npz, vector_npz, tmp_path):
    img = load_data(f"npz:{image_npz}")
    assert img.info.kind == "image" and img.info.shape == (1, 28, 28) and img.info.num_classes == 4
    vec = load_data(f"npz:{vector_npz}")
    assert vec.info.kind == "vector" and vec.info.shape == (2,)
    nhwc = tmp_path / "rgb.npz"
    np.savez(nhwc, x=np.random.default_rng(0).random((10, 32, 32, 3)).astype(np.float32))
    rgb = load_data(f"npz:{nhwc}")
    assert rgb.info.shape == (3, 32, 32) and rgb.y is None and float(rgb.x.min()) >= -1


def test_image_size_resizes(image_npz):
    d = load_data(f"npz:{image_npz}", options=DataOptions(image_size=32))
    assert d.info.shape == (1, 32, 32) and d.take(2).x.shape == (2, 1, 32, 32)


def _write_png(path: Path, value: int, size=(20, 30), mode="RGB"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, (value,) * (3 if mode == "RGB" else 1) if mode == "RGB" else value).save(path)


def test_folder_with_class_subfolders(tmp_path):
    for i in range(3):
        _write_png(tmp_path / "cats" / f"{i}.png", 10)
        _write_png(tmp_path / "dogs" / f"{i}.jpg", 200)
    d = load_data(f"folder:{tmp_path}", options=DataOptions(image_size=16))
    assert d.info.shape == (3, 16, 16) and d.info.num_classes == 2
    assert d.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert float(d.take(6).x[-1].mean()) > 0.5  # dogs are bright


def test_folder_streams_when_large(tmp_path):
    for i in range(12):
        _write_png(tmp_path / f"{i}.png", 20 * i, mode="L")
    opts = DataOptions(image_size=28, max_memory_bytes=100, workers=0)
    d = load_data(f"folder:{tmp_path}", options=opts)
    assert isinstance(d, StreamingData) and d.info.shape == (1, 28, 28) and d.info.num_classes is None
    sampler = EpochSampler(len(d), 4, seed=0)
    it = d.batches(sampler, torch.device("cpu"))
    first = [next(it).x for _ in range(3)]
    assert all(b.shape == (4, 1, 28, 28) for b in first) and sampler.batches_done == 3
    # the batches depend only on how many were consumed: a restarted stream continues identically
    again = EpochSampler(len(d), 4, seed=0)
    again.batches_done = 2
    assert torch.equal(next(d.batches(again, torch.device("cpu"))).x, first[2])


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(GaneError, match="does not exist"):
        load_data(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GaneError, match="holds no image files"):
        load_data(f"folder:{tmp_path / 'empty'}")
    bad = tmp_path / "bad"
    _write_png(bad / "good.png", 100)
    (bad / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(GaneError, match="broken.png"):
        load_data(f"folder:{bad}")


def test_spec_errors():
    with pytest.raises(GaneError, match="Unknown dataset 'mnist5k'.*mnist-5k"):
        load_data("mnist5k")
    with pytest.raises(GaneError, match="needs a path"):
        load_data("folder")
    with pytest.raises(GaneError, match="takes no argument"):
        load_data("ring8:/x")
    with pytest.raises(GaneError, match="no 'test' split"):
        load_data("folder:/tmp", "test")


def test_missing_torchvision_data_explains_where_and_how(tmp_path, monkeypatch):
    opts = DataOptions(data_root=str(tmp_path))
    with pytest.raises(GaneError) as e:
        load_data("mnist", options=opts)
    msg = str(e.value)
    assert str(tmp_path / "MNIST" / "raw") in msg and "--download" in msg and "--data-root" in msg
    monkeypatch.setattr(sources, "DEBIAN_FASHION", tmp_path / "no-debian")
    with pytest.raises(GaneError, match="dataset-fashion-mnist"):
        load_data("fashion-mnist", options=opts)
    with pytest.raises(GaneError, match="cifar-10-batches-py"):
        load_data("cifar10", options=opts)


def _idx_images(path: Path, arr: np.ndarray):
    header = np.array([0x803, len(arr), 28, 28], dtype=">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def _idx_labels(path: Path, arr: np.ndarray):
    with gzip.open(path, "wb") as f:
        f.write(np.array([0x801, len(arr)], dtype=">i4").tobytes() + arr.astype(np.uint8).tobytes())


def test_fashion_mnist_read_from_the_debian_location(tmp_path, monkeypatch):
    deb = tmp_path / "debian"
    deb.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 10)):
        _idx_images(deb / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)))
        _idx_labels(deb / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setattr(sources, "DEBIAN_FASHION", deb)
    assert DATASETS.get("fashion-mnist").available(DataOptions(data_root=str(tmp_path / "empty")))
    d = load_data("fashion-mnist", "test", DataOptions(data_root=str(tmp_path / "empty")))
    assert len(d) == 10 and d.info.shape == (1, 28, 28) and d.y.tolist() == list(range(10))


def test_epoch_sampler_is_deterministic_and_splits_ranks():
    a = EpochSampler(100, 10, seed=3)
    first_epoch = torch.cat([a.next() for _ in range(10)])
    assert sorted(first_epoch.tolist()) == list(range(100))
    b = EpochSampler(100, 10, seed=3)
    b.batches_done = 7
    assert torch.equal(b.next(), first_epoch[70:80])
    r0, r1 = EpochSampler(100, 10, 3, rank=0, world=2), EpochSampler(100, 10, 3, rank=1, world=2)
    assert not set(r0.next().tolist()) & set(r1.next().tolist())
    with pytest.raises(GaneError, match="fewer than one batch"):
        EpochSampler(5, 10, 0)
