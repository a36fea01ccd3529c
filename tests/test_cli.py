"""The command line: the happy path end to end, and every user mistake ending in exit 2 without a traceback."""
from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from gane.cli import main

TINY = ["--steps", "4", "--batch-size", "8", "--tick", "2", "--z-dim", "4", "--width", "0.125", "--no-progress"]


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_user_error(code, err, *phrases):
    assert code == 2, err
    assert "Traceback" not in err
    flat = " ".join(err.split())  # messages are wrapped to the terminal
    for p in phrases:
        assert p in flat, err


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, image_npz):
    out = tmp_path_factory.mktemp("runs") / "bigan"
    assert main(["train", "bigan", "--data", f"npz:{image_npz}", "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_a_complete_run_folder(trained_run):
    cfg = json.loads((trained_run / "config.json").read_text())
    assert cfg["family"] == "bigan" and cfg["model"]["z_dim"] == 4 and cfg["train"]["steps"] == 4
    assert (trained_run / "samples.png").exists() and (trained_run / "reconstructions.png").exists()
    lines = (trained_run / "log.jsonl").read_text().splitlines()
    assert lines and "images_per_second" in json.loads(lines[-1])
    ckpts = sorted((trained_run / "checkpoints").iterdir())
    assert [c.name for c in ckpts] == ["step-00000002", "step-00000004"]
    assert {p.name for p in ckpts[-1].iterdir()} == {"config.json", "model.safetensors", "optim.safetensors", "state.json"}
    assert any((trained_run / "tensorboard").iterdir())


def test_train_names_only_the_pictures_it_made(image_npz, tmp_path, capsys):
    code, out, _ = run(capsys, "train", "bigan", "--data", f"npz:{image_npz}", "--out", tmp_path / "b", *TINY)
    assert code == 0 and "(samples.png, reconstructions.png, checkpoints/;" in out
    code, out, _ = run(capsys, "train", "gan", "--data", f"npz:{image_npz}", "--out", tmp_path / "g", *TINY)
    assert code == 0 and "(samples.png, checkpoints/;" in out and not (tmp_path / "g" / "reconstructions.png").exists()


def test_sample_and_reconstruct(trained_run, tmp_path, capsys):
    code, out, _ = run(capsys, "sample", trained_run, "--n", 16, "--out", tmp_path / "s.png")
    assert code == 0 and Image.open(tmp_path / "s.png").size[0] > 28 * 8
    code, out, _ = run(capsys, "reconstruct", trained_run, "--n", 16, "--out", tmp_path / "r.png")
    assert code == 0 and "mean squared error" in out and (tmp_path / "r.png").exists()


def test_list_shows_families_and_dataset_availability(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in ("ae", "vae", "gan", "bigan", "mnist-5k", "fashion-mnist", "folder:PATH", "npz:PATH", "ring8", "grid25"):
        assert name in out
    assert "mnist-5k           available offline" in out


def test_bad_data_on_resume_leaves_the_run_untouched(trained_run, tmp_path, capsys):
    run_dir = tmp_path / "copy"
    shutil.copytree(trained_run, run_dir)
    code, out, err = run(capsys, "train", "bigan", "--data", f"npz:{tmp_path / 'missing.npz'}", "--out", run_dir, "--resume", *TINY)
    assert_user_error(code, err, "missing.npz", "does not exist")
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir())[-1] == "step-00000004"


def test_resume_from_cli(trained_run, image_npz, tmp_path, capsys):
    run_dir = tmp_path / "copy"
    shutil.copytree(trained_run, run_dir)
    args = ["train", "bigan", "--data", f"npz:{image_npz}", "--out", run_dir, *TINY]
    args[args.index("--steps") + 1] = "6"
    code, out, err = run(capsys, *args, "--resume")
    assert code == 0, err
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir())[-1] == "step-00000006"


def test_user_mistakes_exit_2_with_one_paragraph(tmp_path, image_npz, trained_run, capsys):
    assert_user_error(*run(capsys, "train", "bigann")[::2], "Unknown family 'bigann'", "bigan")
    assert_user_error(*run(capsys, "train", "gan", "--data", "mnist5k", *TINY)[::2], "Unknown dataset 'mnist5k'", "mnist-5k")
    assert_user_error(*run(capsys, "train", "gan", "--no-such-option", "1")[::2], "No such option")
    assert_user_error(*run(capsys, "train", "gan", "--loss", "bogus")[::2], "bogus")
    assert_user_error(*run(capsys, "train", "gan", "--data", "mnist", "--data-root", tmp_path, *TINY)[::2], "was not found", "--download")
    (tmp_path / "empty").mkdir()
    assert_user_error(*run(capsys, "train", "gan", "--data", f"folder:{tmp_path / 'empty'}", *TINY)[::2], "holds no image files")
    bad = tmp_path / "bad"
    bad.mkdir()
    Image.new("L", (8, 8)).save(bad / "ok.png")
    (bad / "corrupt.jpg").write_bytes(b"\x00\x01 not an image")
    assert_user_error(*run(capsys, "train", "gan", "--data", f"folder:{bad}", *TINY)[::2], "corrupt.jpg")
    # an existing run is never overwritten by accident
    assert_user_error(*run(capsys, "train", "bigan", "--data", f"npz:{image_npz}", "--out", trained_run, *TINY)[::2], "--resume")
    assert_user_error(*run(capsys, "sample", tmp_path / "missing")[::2], "does not exist")


def test_checkpoint_of_another_family_or_damaged_file(trained_run, tmp_path, image_npz, capsys):
    gan_run = tmp_path / "gan"
    assert main(["train", "gan", "--data", f"npz:{image_npz}", "--out", str(gan_run), *TINY]) == 0
    mixed = tmp_path / "mixed"
    shutil.copytree(trained_run, mixed)
    ckpt = sorted((mixed / "checkpoints").iterdir())[-1]
    shutil.copy(sorted((gan_run / "checkpoints").iterdir())[-1] / "model.safetensors", ckpt / "model.safetensors")
    assert_user_error(*run(capsys, "sample", mixed)[::2], "'gan'", "'bigan'")
    (ckpt / "model.safetensors").write_bytes(b"garbage")
    assert_user_error(*run(capsys, "sample", mixed)[::2], "damaged")
    assert_user_error(*run(capsys, "reconstruct", gan_run)[::2], "no encoder")


def test_resume_keeps_the_runs_own_options(trained_run, tmp_path, capsys):
    """--resume needs only --out and the new --steps: model and data options come from the run."""
    run_dir = tmp_path / "copy"
    shutil.copytree(trained_run, run_dir)
    code, out, err = run(capsys, "train", "bigan", "--out", run_dir, "--resume", "--steps", 5, "--no-progress")
    assert code == 0, err
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["model"]["z_dim"] == 4 and cfg["train"]["data"].startswith("npz:") and cfg["train"]["steps"] == 5
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir())[-1] == "step-00000005"


def test_resuming_a_finished_run_changes_nothing(trained_run, tmp_path, capsys):
    """--resume with --steps at or below the run's step says so and leaves config, pictures and checkpoints alone."""
    run_dir = tmp_path / "copy"
    shutil.copytree(trained_run, run_dir)
    before = {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "train", "bigan", "--out", run_dir, "--resume", "--steps", 2, "--no-progress")
    assert code == 0, err
    assert "already at step 4" in out and "--steps above 4" in out and "images/s" not in out
    assert {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_class_conditional_sampling_and_code_sweeps(tmp_path, capsys, image_npz):
    """acgan samples a chosen class; infogan sweeps its codes; wrong classes or parts are user errors."""
    acgan, info = tmp_path / "acgan", tmp_path / "info"
    assert main(["train", "acgan", "--data", f"npz:{image_npz}", "--out", str(acgan), *TINY]) == 0
    assert main(["train", "infogan", "--data", f"npz:{image_npz}", "--out", str(info), "--categorical", "3", "--continuous", "1", *TINY]) == 0
    capsys.readouterr()

    code, out, err = run(capsys, "sample", acgan, "--class", 2, "--n", 6, "--out", tmp_path / "c2.png")
    assert code == 0 and (tmp_path / "c2.png").exists(), err
    code, out, err = run(capsys, "sample", acgan, "--sweep", "class", "--n", 2, "--out", tmp_path / "sw.png")
    assert code == 0, err
    assert Image.open(tmp_path / "sw.png").size[0] > Image.open(tmp_path / "sw.png").size[1]  # 2 rows of 4 classes
    code, out, err = run(capsys, "sample", info, "--sweep", "c1", "--n", 3)
    assert code == 0 and "3 x 3 sweep of c1" in out, err
    code, out, err = run(capsys, "sample", info, "--sweep", "c2", "--n", 3)
    assert code == 0 and "3 x 10 sweep of c2" in out, err

    code, _, err = run(capsys, "sample", acgan, "--class", 9)
    assert_user_error(code, err, "category from 0 to 3")
    code, _, err = run(capsys, "sample", info, "--class", 1)
    assert_user_error(code, err, "not class-conditional", "--sweep c1")
    code, _, err = run(capsys, "sample", info, "--sweep", "c7")
    assert_user_error(code, err, "no part 'c7'", "z, c1, c2")


def test_conditional_families_need_labels(tmp_path, capsys):
    import numpy as np

    path = tmp_path / "unlabelled.npz"
    np.savez(path, x=np.random.default_rng(0).random((16, 2)).astype(np.float32))
    for args in (["acgan"], ["gan", "--conditional"], ["bigan", "--conditional"]):
        code, _, err = run(capsys, "train", *args, "--data", f"npz:{path}", "--out", tmp_path / args[0], *TINY)
        assert_user_error(code, err, "needs labelled data")


def test_a_preset_with_a_known_limit_says_so(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "ebgan", "--data", "grid25", "--steps", "2", "--tick", "2", "--out", tmp_path / "b")
    assert code == 0
    assert "note: the ebgan preset for grid25 covers about 9 of the 25 modes" in " ".join(out.split())
    # Overriding the preset's model options silences the note: the run is no longer the preset.
    code, out, _ = run(capsys, "train", "ebgan", "--data", "grid25", "--steps", "2", "--tick", "2", "--z-dim", "3", "--out", tmp_path / "c")
    assert code == 0 and "note:" not in out
    assert main(["train", "ebgan", "--help"]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    grid = [line for line in lines if line.startswith("grid25:")]
    ring = [line for line in lines if line.startswith("ring8:")]
    assert len(grid) == 1 and "(known limit: covers about 9 of the 25 modes" in grid[0]
    assert len(ring) == 1 and "known limit" not in ring[0]


def test_bench_refuses_bad_values_before_timing_anything(capsys):
    for args, phrase in ((["--steps", "30"], "multiple of 25"), (["--steps", "-25"], "positive multiple of 25"),
                         (["--repeats", "0"], "--repeats must be at least 1"), (["--variants", "bogus"], "Unknown bench variant")):
        code, _, err = run(capsys, "bench", "train", "bigan", *args)
        assert_user_error(code, err, phrase)
    code, _, err = run(capsys, "bench", "train", "bigan", "--device", "cpu", "--variants", "cuda-graph", "--steps", "25")
    assert_user_error(code, err, "need a CUDA GPU")
