"""Benchmark suites: the report they write and the runs they reuse (the suites themselves train for
minutes and run as benchmarks, not in CI)."""
from __future__ import annotations

import json

import pytest

from gane.cli import main
from gane.errors import GaneError
from gane.suites import SUITES, Report, SuiteOptions, Table, register_suite, run_suite
from gane.suites.core import preset_run


def test_a_report_marks_quoted_rows_with_their_source_and_says_how_it_was_made(tmp_path):
    @register_suite("tiny-test-suite")
    def tiny(opts):
        t = Table("numbers", ["method", "score"], rows=[["ours", "0.9"]], quoted=[(["theirs", "0.8"], "Paper et al. 2020, Table 1")])
        return Report("tiny-test-suite", "Tiny", "What was measured.", "gane bench suite tiny-test-suite", [t],
                      protocol=["fewer images"], data={"ours": 0.9}, skipped=["fashion-mnist: not here"])

    try:
        md = run_suite("tiny-test-suite", SuiteOptions(results=tmp_path))
        text = md.read_text()
        assert "| ours | 0.9 | gane, measured |" in text and "| theirs | 0.8 | quoted: Paper et al. 2020, Table 1 |" in text
        assert "`gane bench suite tiny-test-suite`" in text and "- fewer images" in text and "- fashion-mnist: not here" in text
        assert json.loads((tmp_path / "tiny-test-suite.json").read_text())["ours"] == 0.9
    finally:
        SUITES._items.pop("tiny-test-suite")


def test_the_registered_suites_and_an_unknown_name(capsys):
    assert {"representation", "fidelity"} <= set(SUITES.names())
    assert main(["bench", "suite", "fidelty"]) == 2
    assert "Did you mean 'fidelity'?" in capsys.readouterr().err


def test_preset_runs_are_reused_when_finished_resumed_when_short_and_retrained_when_fresh(tmp_path, image_npz):
    tiny = dict(width=0.125, z_dim=4, batch_size=16, progress=False)
    spec = f"npz:{image_npz}"
    out, timing = preset_run("ae", spec, tmp_path, images=32, **tiny)  # 2 steps of 16
    assert timing["steps"] == 2 and timing["images"] == 32 and (out / "checkpoints").exists()
    mtime = (out / "bench-timing.json").stat().st_mtime_ns
    again, same = preset_run("ae", spec, tmp_path, images=32, **tiny)
    assert same == timing and (out / "bench-timing.json").stat().st_mtime_ns == mtime  # not retrained
    longer = preset_run("ae", spec, tmp_path, images=64, **tiny)[1]
    assert longer["steps"] == 4 and longer["images"] == 64  # resumed for the 2 missing steps
    with pytest.raises(GaneError, match="past the 2"):
        preset_run("ae", spec, tmp_path, images=32, **tiny)
    fresh = preset_run("ae", spec, tmp_path, images=32, fresh=True, **tiny)[1]
    assert fresh["images"] == 32


def test_an_unwritable_results_folder_is_refused_before_the_suite_runs(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["bench", "suite", "fidelity", "--results", str(blocker / "results")]) == 2
    assert "Pass --results with a folder you can write to" in " ".join(capsys.readouterr().err.split())
    assert main(["bench", "suite", "fidelity", "--results", str(tmp_path / "results"), "--runs", str(blocker)]) == 2
    assert "Pass --runs with a folder you can write to" in " ".join(capsys.readouterr().err.split())


def test_modes_2d_trains_each_seed_with_the_published_protocol_and_reports_mean_and_error(tmp_path, capsys):
    runs, results = tmp_path / "runs", tmp_path / "results"
    args = ["bench", "suite", "modes-2d", "--data", "ring8", "--family", "gan", "--family", "ae", "--seeds", "2", "--steps", "3",
            "--width", "0.05", "--runs", str(runs), "--results", str(results)]
    assert main(args) == 0
    text = (results / "modes-2d.md").read_text()
    assert "| `gan` |" in text and "| `ae` |" in text and "| GAN | 6.3 ± 0.5 | 98.2 ± 0.2% | 0.45 ± 0.09 |" in text
    assert "### grid25" not in text and (results / "modes-2d" / "ring8.png").stat().st_size > 0
    numbers = json.loads((results / "modes-2d.json").read_text())["ring8"]
    assert len(numbers["gan"]["modes"]) == 2 and numbers["gan"]["modes_of"] == 8
    config = json.loads((runs / "suite-modes-2d" / "3-steps-width-0.05" / "ring8" / "seed1" / "gan" / "config.json").read_text())
    assert config["model"]["vector_net"] == "pacgan" and config["model"]["z_dim"] == 2 and config["model"]["loss"] == "ns"
    assert config["train"]["lr"] == 1e-4 and config["train"]["beta1"] == 0.8 and config["train"]["batch_size"] == 100
    assert config["train"]["seed"] == 1 and config["train"]["ema"] == 0


def test_an_unknown_family_for_a_suite_is_refused_with_a_suggestion(capsys):
    assert main(["bench", "suite", "modes-2d", "--family", "gann"]) == 2
    assert "Did you mean 'gan'?" in capsys.readouterr().err


def test_stacked_mnist_trains_each_family_with_its_mnist_preset_less_its_length():
    from gane.presets import preset_for
    from gane.suites.stacked import mnist_preset_options

    opts = mnist_preset_options("gan", "mnist-5k", None)
    preset = preset_for("gan", "mnist-5k")
    assert "steps" not in opts and opts["lr"] == preset.train["lr"] and opts["z_dim"] == preset.model["z_dim"]
    assert mnist_preset_options("gan", "mnist-5k", 0.25)["width"] == 0.25


def test_stacked_mnist_says_what_it_cannot_judge(tmp_path):
    md = run_suite("stacked-mnist", SuiteOptions(datasets=("ring8",), results=tmp_path, runs=tmp_path / "runs"))
    assert "ring8: not a Stacked MNIST dataset" in md.read_text()


def test_a_suite_refuses_options_it_would_ignore_and_families_or_data_it_does_not_judge(capsys):
    assert main(["bench", "suite", "representation", "--seeds", "3"]) == 2
    assert "has no use for --seeds" in " ".join(capsys.readouterr().err.split())
    assert main(["bench", "suite", "modes-2d", "--family", "infogan"]) == 2
    assert "judges gan, aae, ae" in " ".join(capsys.readouterr().err.split())
    assert main(["bench", "suite", "modes-2d", "--data", "mnist-5k"]) == 2
    assert "gane bench suite stacked-mnist" in " ".join(capsys.readouterr().err.split())


def test_a_run_trained_with_other_options_is_never_reused(tmp_path, image_npz):
    tiny = dict(width=0.125, z_dim=4, batch_size=16, progress=False)
    preset_run("ae", f"npz:{image_npz}", tmp_path, images=32, **tiny)
    with pytest.raises(GaneError, match="z_dim 4, not 8"):
        preset_run("ae", f"npz:{image_npz}", tmp_path, images=64, **{**tiny, "z_dim": 8})


def test_mean_and_standard_error_cells():
    import math

    from gane.suites.core import mean_cell, mean_se

    assert mean_se([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1 / math.sqrt(3)))
    assert mean_cell([1.0, 2.0, 3.0], "{:.2f}") == "2.00 ± 0.58"
    assert mean_cell([0.5, float("inf")], "{:.2f}") == "0.50 (1 inf)"
    assert mean_cell([97.0], "{:.1f}", "%") == "97.0%"


def test_the_suite_command_names_every_registered_suite_in_its_help():
    from click.testing import CliRunner

    from gane.cli import cli

    r = CliRunner().invoke(cli, ["bench", "suite", "--help"], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert [name for name in SUITES if name not in r.output] == []


def test_translation_trains_each_objective_and_model_and_judges_them_on_one_page(tmp_path, monkeypatch):
    import gane.suites.translation as translation

    monkeypatch.setattr(translation, "TEST", 40)
    runs, results = tmp_path / "runs", tmp_path / "results"
    assert main(["bench", "suite", "translation", "--data", "mnist-5k", "--steps", "4", "--width", "0.05",
                 "--runs", str(runs), "--results", str(results)]) == 0
    text = (results / "translation.md").read_text()
    for row in ("| edges2digits | L1 alone |", "| edges2digits | cGAN alone |", "| edges2digits | L1 + cGAN |",
                "| lowres2digits | bicubic upsampling |", "| lowres2digits | SRGAN |", "| masked2digits | mean fill |",
                "| masked2digits | context encoder (L2) |", "| cyclegan |", "| unit |", "| cgan-encoder |"):
        assert row in text, row
    assert (results / "translation" / "examples.png").stat().st_size > 0
    numbers = json.loads((results / "translation.json").read_text())
    assert set(numbers["edges2digits"]) == {"L1 alone", "cGAN alone", "L1 + cGAN"}
    assert {"agreement", "fd"} <= set(numbers["digits2styled"]["unit"]["A to B"])
    config = json.loads((runs / "translation" / "pix2pix-edges2digits-l1" / "pix2pix" / "config.json").read_text())
    assert config["model"]["adv"] == 0.0 and config["model"]["width"] == 0.05 and config["train"]["steps"] == 4
    config = json.loads((runs / "translation" / "cgan-encoder-digits2styled-default" / "cgan-encoder" / "config.json").read_text())
    assert config["model"]["gan_steps"] == 3  # the encoder is fitted in the last quarter


def test_modern_trains_every_model_at_one_budget_and_judges_samples_truncation_reconstruction_and_spaces(tmp_path, monkeypatch):
    import gane.suites.modern as modern

    for name, value in (("SAMPLES", 60), ("INVERT_N", 3), ("INVERT_STEPS", 2), ("CLUSTERS", 2), ("PSIS", (1.0, 0.5))):
        monkeypatch.setattr(modern, name, value)
    runs, results = tmp_path / "runs", tmp_path / "results"
    assert main(["bench", "suite", "modern", "--data", "mnist-5k", "--steps", "2", "--runs", str(runs), "--results", str(results)]) == 0
    text = (results / "modern.md").read_text()
    for row in ("| stylegan |", "| vqgan (codes drawn independently) |", "| vqgan + prior |", "| bigbigan (best earlier family) |",
                "| 0.5 | mean w |", "| 0.5 | nearest of 2 centres |", "| 16x7x7 grid |", "| `ae` |", "| w+ | "):
        assert row in text, row
    numbers = json.loads((results / "modern.json").read_text())["mnist-5k"]
    assert set(numbers["inversion"]) == {"z", "w", "w+"} and set(numbers["reconstruction"]) == {"vqgan", "ae", "vae"}
    assert (results / "modern" / "truncation-mnist-5k.png").stat().st_size > 0
    prior = json.loads((runs / "bench-modern" / "vqgan-prior" / "config.json").read_text())
    assert prior["model"]["from_run"] == str(runs / "bench-modern" / "vqgan") and prior["train"]["steps"] == 2
