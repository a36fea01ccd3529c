"""Run configs: presets fill in what the user did not give, and the user's options win."""
from __future__ import annotations

import pytest

from gane.config import PRESETS, presets_of, resolve
from gane.errors import GaneError


def test_preset_applies_when_family_and_dataset_match():
    cfg = resolve("bigan", data="mnist-5k")
    assert (cfg.model.width, cfg.model.z_dim, cfg.train.lr, cfg.train.steps) == (0.25, 32, 5e-4, 3000)
    assert "mnist-5k" in presets_of("bigan") and "bigan/mnist-5k" in PRESETS


def test_user_options_override_the_preset():
    cfg = resolve("bigan", data="mnist-5k", width=0.5, lr=1e-4, epochs=2)
    assert (cfg.model.width, cfg.model.z_dim, cfg.train.lr) == (0.5, 32, 1e-4)
    assert cfg.train.epochs == 2 and cfg.train.steps is None  # --epochs replaces the preset's steps


def test_no_preset_means_the_family_defaults():
    cfg = resolve("bigan", data="ring8")
    assert (cfg.model.width, cfg.model.z_dim, cfg.train.lr, cfg.train.steps) == (1.0, 64, 2e-4, None)


def test_unknown_option_names_the_known_ones():
    with pytest.raises(GaneError, match="Unknown option.*widht.*width"):
        resolve("bigan", widht=0.5)
