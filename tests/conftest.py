"""Shared fixtures: tiny datasets written to temporary files, and an isolated cache folder."""
from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def isolated_cache(tmp_path_factory):
    """Keep the tests' cache (parsed mnist-5k, classifiers, staged data) out of the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GANE_CACHE", str(tmp_path_factory.mktemp("gane-cache")))
    mp.delenv("GANE_DATA", raising=False)
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def few_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def image_npz(tmp_path_factory):
    """64 labelled 28x28 grayscale images: a bright square whose position depends on the label."""
    rng = np.random.default_rng(0)
    y = np.arange(64) % 4
    x = (rng.random((64, 28, 28)) * 40).astype(np.uint8)
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, 4 + 12 * r : 12 + 12 * r, 4 + 12 * q : 12 + 12 * q] = 230
    path = tmp_path_factory.mktemp("data") / "squares.npz"
    np.savez(path, x=x, y=y)
    return path


@pytest.fixture(scope="session")
def studio_runs(tmp_path_factory, image_npz):
    """Tiny runs for the studio's tests: bigan (an encoder), gan (none) and pix2pix (translation)."""
    from studio_helpers import tiny_runs

    return tiny_runs(tmp_path_factory.mktemp("studio"), image_npz)


@pytest.fixture(scope="session")
def vector_npz(tmp_path_factory):
    """64 points of a 2-D mixture with labels."""
    rng = np.random.default_rng(0)
    y = np.arange(64) % 4
    means = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.float32)
    x = means[y] + 0.05 * rng.standard_normal((64, 2)).astype(np.float32)
    path = tmp_path_factory.mktemp("data") / "blobs.npz"
    np.savez(path, x=x, y=y)
    return path
