"""Run configs: presets fill in what the user did not give, and the user's options win."""
from __future__ import annotations

import json
from pathlib import Path

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
    from gane.families import generative_families

    for family in generative_families():
        offline = ("mnist-5k", "fashion-mnist") + (("ring8", "grid25") if family in generative_families("vector") else ())
        assert set(offline) <= set(presets_of(family)), family
        for data in offline:
            cfg = resolve(family, data=data)  # each preset resolves to valid options
            assert cfg.train.steps is not None
        assert resolve(family, data="mnist-5k").train.ema > 0  # every digit preset samples from averaged weights


def test_image_preset_notes_state_the_options_they_set():
    """The notes shown by `gane list` and --help are written by hand beside the options (gane/presets/):
    this checks each image preset's note against the options it sets, so a changed option with a stale note fails."""
    from gane.families import generative_families

    for family in generative_families():
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


def test_every_preset_resolves_to_the_options_pinned_in_the_snapshot():
    """tests/data/presets.json was written from the presets before they moved from code in config.py
    to data in gane/presets/: each preset's own options, note and caveat, and the options a run with it
    resolves to. Values are compared as JSON text, so 1 and 1.0 differ. Trainer or family options
    added later with a default are not in the snapshot and are not compared; a preset that sets one is."""
    snapshot = json.loads((Path(__file__).parent / "data" / "presets.json").read_text())
    assert sorted(snapshot) == PRESETS.names()
    for name, pinned in snapshot.items():
        preset, (family, data) = PRESETS.get(name), name.split("/", 1)
        assert json.dumps(preset.model, sort_keys=True) == json.dumps(pinned["model"], sort_keys=True), name
        assert json.dumps(preset.train, sort_keys=True) == json.dumps(pinned["train"], sort_keys=True), name
        assert (preset.note, preset.caveat) == (pinned["note"], pinned["caveat"]), name
        resolved = resolve(family, data=data).to_dict()
        assert resolved["family"] == family
        for part in ("model", "train"):
            for key, value in pinned["resolved"][part].items():
                assert json.dumps(resolved[part][key]) == json.dumps(value), (name, part, key)


def test_every_preset_says_what_was_measured_with_it():
    """The measured note names a result and the results page it comes from."""
    for name, preset in PRESETS.items():
        assert "%" in preset.measured and "benchmarks/results/" in preset.measured, (name, preset.measured)


def test_preset_files_are_data_named_after_their_family():
    """Every file in gane/presets/ is a family's, and holds only literals (nothing computed)."""
    import ast
    import pkgutil

    import gane.presets
    from gane.families import FAMILIES

    for module in pkgutil.iter_modules(gane.presets.__path__):
        assert module.name.replace("_", "-") in FAMILIES, module.name  # context_encoder.py holds context-encoder's
        tree = ast.parse(Path(gane.presets.__path__[0], f"{module.name}.py").read_text())
        body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]  # past the docstring
        assert len(body) == 1 and isinstance(body[0], ast.Assign) and body[0].targets[0].id == "PRESETS", module.name
        ast.literal_eval(body[0].value)  # raises on anything but literals
