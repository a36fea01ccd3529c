"""Shared pieces of the studio's tests: tiny runs, a server on a free port, and the browser."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import numpy as np
from PIL import Image

import gane

TINY = {"steps": 4, "tick": 2, "width": 0.125, "batch_size": 16, "progress": False}


def tiny_runs(root: Path, image_npz: Path) -> Path:
    """RUNS/bigan (an encoder; labelled 28x28 grey squares), RUNS/gan (no encoder) and RUNS/pix2pix
    (A: outlines, B: filled squares)."""
    runs = root / "runs"
    # bigan long enough (60 steps) that its G answers a painted stroke and its E tells images apart
    gane.train("bigan", data=f"npz:{image_npz}", z_dim=8, out=str(runs / "bigan"), **{**TINY, "steps": 60, "tick": 60})
    gane.train("gan", data=f"npz:{image_npz}", z_dim=8, out=str(runs / "gan"), **TINY)
    pairs = root / "pairs"
    for i in range(8):
        a = np.zeros((28, 28), np.uint8)
        r, c, s = 4 + (i * 3) % 10, 4 + (i * 5) % 10, 8 + i % 5
        a[r : r + s, c : c + s] = 255
        b = a.copy()
        a[r + 1 : r + s - 1, c + 1 : c + s - 1] = 0
        for side, arr in (("A", a), ("B", b)):
            (pairs / side).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(pairs / side / f"{i}.png")
    gane.train("pix2pix", data=f"aligned:{pairs / 'A'},{pairs / 'B'}", out=str(runs / "pix2pix"), **{**TINY, "batch_size": 4})
    return runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_paths() -> tuple[str | None, str | None]:
    """The Chromium and ChromeDriver of this machine (Debian's chromium and chromium-driver), or None."""
    browser = os.environ.get("GANE_CHROMIUM") or next(
        (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = os.environ.get("GANE_CHROMEDRIVER") or shutil.which("chromedriver")
    return browser, driver


def artifacts() -> Path:
    """Where the browser tests leave their screenshots: $GANE_TEST_ARTIFACTS, or test-artifacts/studio."""
    folder = Path(os.environ.get("GANE_TEST_ARTIFACTS", "test-artifacts")) / "studio"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
