"""Run configs: presets fill in what the user did not give, and the user's options win."""
from __future__ import annotations

import json

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
    cfg = resolve("bigan", data="cifar10")
    assert (cfg.model.width, cfg.model.z_dim, cfg.train.lr, cfg.train.steps) == (1.0, 64, 2e-4, None)


def test_unknown_option_names_the_known_ones():
    with pytest.raises(GaneError, match="Unknown option.*widht.*width"):
        resolve("bigan", widht=0.5)


def test_resume_takes_the_runs_options_but_not_its_time_limit(tmp_path):
    first = resolve("bigan", data="ring8", z_dim=3, lr=1e-3, steps=10, time_limit=5.0, out=str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps(first.to_dict()))
    again = resolve("bigan", out=str(tmp_path), resume=True, steps=20)
    assert (again.train.data, again.model.z_dim, again.train.lr, again.train.steps) == ("ring8", 3, 1e-3, 20)
    assert again.train.time_limit is None and again.train.resume


def test_every_family_has_presets_for_the_offline_datasets():
    from gane.config import presets_of
    from gane.families import FAMILIES

    for family in FAMILIES.names():
        assert {"mnist-5k", "fashion-mnist", "ring8", "grid25"} <= set(presets_of(family)), family
        for data in ("mnist-5k", "fashion-mnist", "ring8", "grid25"):
            cfg = resolve(family, data=data)  # each preset resolves to valid options
            assert cfg.train.steps is not None
        assert resolve(family, data="mnist-5k").train.ema > 0  # every digit preset samples from averaged weights


def test_image_preset_notes_state_the_options_they_set():
    """The notes shown by `gane list` and --help are written from the options, so they cannot go stale."""
    from gane.families import FAMILIES

    for family in FAMILIES.names():
        for data in ("mnist-5k", "fashion-mnist"):
            preset, cfg = PRESETS.get(f"{family}/{data}"), resolve(family, data=data)
            note = preset.note
            lr = f"{cfg.train.lr:.0e}".replace("e-0", "e-")
            assert f"lr {lr}," in note, (family, data, note)
            steps = f"{cfg.train.steps:,} steps" + (f" of {cfg.train.batch_size}" if cfg.train.batch_size != 64 else "")
            assert note.endswith(steps), (family, data, note)
            assert (f"({cfg.train.ema})" in note) if cfg.train.ema else ("no moving average" in note), (family, data, note)
            if "loss" in preset.model:
                assert f"{preset.model['loss']} loss" in note, (family, data, note)
    # Fashion-MNIST's GANs train with their own recipe, and say so.
    assert PRESETS.get("gan/fashion-mnist").note != PRESETS.get("gan/mnist-5k").note
