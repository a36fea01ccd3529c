"""The trainer's guarantees: divergence stops cleanly, half-written checkpoints are ignored,
time limits and EMA work, and the quickstart runs end to end."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

import gane
from gane.errors import GaneError, TrainingDiverged
from gane.families.gan import GAN
from gane.train import latest_checkpoint

TINY = dict(batch_size=8, z_dim=4, width=0.125, progress=False)


def test_nan_loss_stops_naming_step_and_phase_and_keeps_last_checkpoint(tmp_path, image_npz, monkeypatch):
    original = GAN.g_loss
    calls = {"n": 0}

    def poisoned(self, batch):
        calls["n"] += 1
        loss, logs = original(self, batch)
        return (loss * float("nan"), logs) if calls["n"] >= 5 else (loss, logs)

    monkeypatch.setattr(GAN, "g_loss", poisoned)
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged) as e:
        gane.train("gan", data=f"npz:{image_npz}", steps=10, tick=2, log_every=1, out=str(out), **TINY)
    msg = str(e.value)
    assert "G phase" in msg and "step 5" in msg and "step 4" in msg
    ckpt = latest_checkpoint(out)
    assert ckpt.name == "step-00000004"
    assert all(torch.isfinite(v).all() for v in gane.load(out).state_dict().values() if v.is_floating_point())


def test_half_written_checkpoint_is_ignored(tmp_path, image_npz):
    out = tmp_path / "run"
    gane.train("vae", data=f"npz:{image_npz}", steps=4, tick=2, out=str(out), **TINY)
    ckpts = out / "checkpoints"
    # a kill during the next save leaves a .tmp folder with partial files
    partial = ckpts / "step-00000006.tmp"
    shutil.copytree(ckpts / "step-00000004", partial)
    (partial / "model.safetensors").write_bytes(b"partial")
    assert latest_checkpoint(out).name == "step-00000004"
    gane.load(out)  # loads the last complete checkpoint
    result = gane.train("vae", data=f"npz:{image_npz}", steps=6, tick=2, out=str(out), resume=True, **TINY)
    assert result.step == 6 and not partial.exists()
    assert [p.name for p in sorted(ckpts.iterdir())] == ["step-00000004", "step-00000006"]  # keep_checkpoints=2


def test_time_limit_saves_and_resume_reaches_the_total(tmp_path, image_npz):
    out = tmp_path / "run"
    r = gane.train("ae", data=f"npz:{image_npz}", steps=100_000, time_limit=0.5, out=str(out), **TINY)
    assert r.stopped_early and 0 < r.step < 100_000
    assert latest_checkpoint(out).name == f"step-{r.step:08d}"
    r2 = gane.train("ae", data=f"npz:{image_npz}", steps=r.step + 3, out=str(out), resume=True, **TINY)
    assert r2.step == r.step + 3


def test_epochs_count_passes_over_the_data(tmp_path, image_npz):
    r = gane.train("ae", data=f"npz:{image_npz}", epochs=2, out=str(tmp_path / "run"), **TINY)
    assert r.step == 2 * (64 // 8)


def test_ema_of_generator_and_encoder_is_saved_and_used(tmp_path, image_npz):
    out = tmp_path / "run"
    gane.train("gan", data=f"npz:{image_npz}", steps=6, tick=3, ema=0.9, out=str(out), **TINY)
    assert (latest_checkpoint(out) / "ema.safetensors").exists()
    with_ema, raw = gane.load(out), gane.load(out, ema=False)
    z = torch.randn(4, 4)
    assert not torch.equal(with_ema.decode(z), raw.decode(z))
    assert torch.equal(with_ema.D.head.weight, raw.D.head.weight)
    # with an encoder, E is averaged too, so reconstructions use the averaged pair
    out = tmp_path / "bigan"
    gane.train("bigan", data=f"npz:{image_npz}", steps=6, tick=3, ema=0.9, out=str(out), **TINY)
    with_ema, raw = gane.load(out), gane.load(out, ema=False)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert not torch.equal(with_ema.encode(x), raw.encode(x))
    assert torch.equal(with_ema.D.head.weight, raw.D.head.weight)
    resumed = gane.train("bigan", data=f"npz:{image_npz}", steps=8, tick=3, ema=0.9, out=str(out), resume=True, **TINY)
    assert resumed.step == 8 and (latest_checkpoint(out) / "ema.safetensors").exists()


def test_vector_family_samples_land_near_the_ring(tmp_path):
    """bigan on ring8 with the MLP networks: most samples lie near the unit circle.
    (Without the moving average, 600 steps land 56% to 92% of samples there depending on the seed.)"""
    r = gane.train("bigan", data="ring8", steps=600, batch_size=128, z_dim=2, width=0.5, lr=1e-3, ema=0.99,
                   out=str(tmp_path / "ring"), progress=False)
    model = gane.load(r.run_dir)
    radius = model.sample(1000, generator=torch.Generator().manual_seed(0)).norm(dim=1)
    assert float(((radius - 1).abs() < 0.25).float().mean()) > 0.6
    assert (r.run_dir / "samples.png").exists()


def test_quickstart_runs_end_to_end(tmp_path):
    from gane.quickstart import run_quickstart

    res = run_quickstart(tmp_path / "qs", minutes=0.1, progress=False)
    for f in ("samples.png", "reconstructions.png", "interpolation.png", "report.md", "report.html", "quickstart.json"):
        assert (tmp_path / "qs" / f).exists(), f
    assert res.classifier_accuracy > 0.95  # the judge itself must be good
    assert 0 <= res.reconstruction_agreement <= 1 and 0 <= res.sample_confident_rate <= 1
    report = (tmp_path / "qs" / "report.md").read_text()
    assert f"{res.reconstruction_agreement:.1%}" in report
    assert json.loads((tmp_path / "qs" / "quickstart.json").read_text())["steps"] == res.steps


def _poison_after(monkeypatch, calls_before: int, poison, phase: str = "g_loss"):
    """Make one of GAN's phases call ``poison(model, loss)`` from its ``calls_before + 1``-th call on."""
    original = getattr(GAN, phase)
    calls = {"n": 0}

    def patched(self, batch):
        calls["n"] += 1
        if calls["n"] > calls_before:
            poison(self, None)
        loss, logs = original(self, batch)
        return (poison(self, loss), logs) if calls["n"] > calls_before else (loss, logs)

    monkeypatch.setattr(GAN, phase, patched)


def test_non_finite_weights_with_finite_losses_are_never_checkpointed(tmp_path, image_npz, monkeypatch):
    """A NaN that reaches the weights or buffers but not the losses is caught before the checkpoint is written."""
    def nan_buffer(model, loss):
        if loss is None:  # before D's phase: G's batch-norm running variance, which no training loss reads
            with torch.no_grad():
                model.G.fc[1].running_var.fill_(float("nan"))
        return loss

    _poison_after(monkeypatch, 3, nan_buffer, phase="d_loss")
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged) as e:
        gane.train("gan", data=f"npz:{image_npz}", steps=10, tick=2, out=str(out), **TINY)
    msg = " ".join(str(e.value).split())
    assert "at step 4" in msg and "G phase" in msg and "G.fc.1.running_var" in msg, msg
    assert "the last good checkpoint (step 2)" in msg
    assert latest_checkpoint(out).name == "step-00000002"
    assert all(torch.isfinite(v).all() for v in gane.load(out).state_dict().values() if v.is_floating_point())


def test_a_diverging_resume_keeps_the_runs_options(tmp_path, image_npz, monkeypatch):
    """A resumed segment's options reach config.json only once it has written a good checkpoint,
    so the advised plain --resume continues with the options that worked."""
    out = tmp_path / "run"
    gane.train("gan", data=f"npz:{image_npz}", steps=2, tick=2, lr=2e-4, out=str(out), **TINY)
    _poison_after(monkeypatch, 0, lambda model, loss: None if loss is None else loss * float("nan"))
    with pytest.raises(TrainingDiverged):
        gane.train("gan", data=f"npz:{image_npz}", steps=6, tick=2, lr=0.5, out=str(out), resume=True, **TINY)
    assert json.loads((out / "config.json").read_text())["train"]["lr"] == 2e-4
    monkeypatch.undo()
    r = gane.train("gan", out=str(out), steps=4, resume=True, progress=False)
    assert r.step == 4
    assert json.loads((out / "config.json").read_text())["train"]["lr"] == 2e-4
    r = gane.train("gan", out=str(out), steps=6, tick=2, lr=1e-4, resume=True, progress=False)
    assert json.loads((out / "config.json").read_text())["train"]["lr"] == 1e-4  # a good checkpoint: the new lr is the run's


def test_resume_without_a_checkpoint_starts_from_step_zero(tmp_path, image_npz, capsys):
    """A job killed before its first checkpoint and relaunched with the same command (--resume) starts afresh."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{ half-written")
    r = gane.train("ae", data=f"npz:{image_npz}", steps=2, tick=2, out=str(out), resume=True, **TINY)
    assert r.step == 2 and latest_checkpoint(out).name == "step-00000002"
    assert "has no checkpoint yet, so training starts from step 0" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["family"] == "ae"


def test_resume_reads_the_checkpoints_config_and_names_a_damaged_or_foreign_one(tmp_path, image_npz):
    out = tmp_path / "run"
    gane.train("ae", data=f"npz:{image_npz}", steps=2, tick=2, out=str(out), **TINY)
    (out / "config.json").write_text("garbage")  # the run folder's copy: the checkpoint's own is used
    assert gane.train("ae", out=str(out), steps=3, tick=3, resume=True, progress=False).step == 3
    ckpt_config = latest_checkpoint(out) / "config.json"
    saved = ckpt_config.read_text()
    ckpt_config.write_text("{")
    with pytest.raises(GaneError, match="is damaged") as e:
        gane.train("ae", out=str(out), steps=4, resume=True, progress=False)
    assert str(ckpt_config) in str(e.value)
    ckpt_config.write_text(saved.replace('"family": "ae"', '"family": "vae"'))
    with pytest.raises(GaneError, match="belongs to a 'vae' run") as e:
        gane.train("ae", out=str(out), steps=4, resume=True, progress=False)
    assert "gane train vae" in str(e.value) and str(ckpt_config) in str(e.value)


@pytest.mark.parametrize("options", [{"precision": "bf16"}, {"channels_last": True}, {"fused": True}], ids=str)
def test_speed_options_train_and_resume_on_the_cpu(tmp_path, image_npz, options):
    """--precision bf16, --channels-last and fused Adam run on the CPU too (exact resume there)."""
    full, half = tmp_path / "full", tmp_path / "half"
    common = dict(data=f"npz:{image_npz}", tick=2, device="cpu", **TINY, **options)
    gane.train("bigan", steps=4, out=str(full), **common)
    gane.train("bigan", steps=2, out=str(half), **common)
    gane.train("bigan", steps=4, out=str(half), resume=True, **common)
    a, b = gane.load(full).state_dict(), gane.load(half).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.isfinite(v).all() for v in a.values() if v.is_floating_point())


def test_compile_trains_on_the_cpu(tmp_path, vector_npz):
    r = gane.train("gan", data=f"npz:{vector_npz}", steps=3, tick=3, compile=True, device="cpu", out=str(tmp_path / "c"), **TINY)
    assert r.step == 3
    assert all(torch.isfinite(v).all() for v in gane.load(r.run_dir).state_dict().values() if v.is_floating_point())


def test_cuda_graph_is_refused_on_the_cpu(tmp_path, image_npz):
    with pytest.raises(GaneError, match="--cuda-graph"):
        gane.train("gan", data=f"npz:{image_npz}", steps=2, cuda_graph=True, device="cpu", out=str(tmp_path / "g"), **TINY)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("options", [{}, {"precision": "bf16", "channels_last": True}, {"cuda_graph": True}], ids=str)
def test_gpu_paths_train_with_finite_losses(tmp_path, image_npz, options):
    """On CUDA: bf16 autocast, channels-last and the CUDA graph train bigan and give finite weights."""
    r = gane.train("bigan", data=f"npz:{image_npz}", steps=8, tick=4, device="cuda", out=str(tmp_path / "g"), **TINY, **options)
    assert r.step == 8
    assert all(torch.isfinite(v).all() for v in gane.load(r.run_dir).state_dict().values() if v.is_floating_point())


def test_a_failed_checkpoint_write_is_a_clear_error(tmp_path, image_npz, monkeypatch):
    """Checkpoints are written on a background thread; a disk error there reaches the user as a GaneError."""
    import importlib

    trainer_module = importlib.import_module("gane.train.trainer")  # gane.train is also the function gane.train()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trainer_module, "write_checkpoint", disk_full)
    with pytest.raises(GaneError, match="No space left on device.*writable"):
        gane.train("ae", data=f"npz:{image_npz}", steps=2, tick=2, out=str(tmp_path / "run"), **TINY)


def test_a_checkpoint_config_naming_another_family_names_the_file(tmp_path, image_npz):
    out = tmp_path / "run"
    gane.train("bigan", data=f"npz:{image_npz}", steps=2, tick=2, out=str(out), **TINY)
    config = latest_checkpoint(out) / "config.json"
    config.write_text(config.read_text().replace('"family": "bigan"', '"family": "ae"'))
    with pytest.raises(GaneError, match="names family 'ae', but its model options do not fit") as e:
        gane.load(out)
    assert str(config) in str(e.value)


def test_a_compiler_failure_is_a_clear_error(tmp_path, vector_npz, monkeypatch):
    """torch.compile can fail inside the first step (it did in float32 on an H200); the user gets a GaneError."""
    from gane.train.step import StepRunner

    def compiler_error(self, batch, step):
        raise AssertionError("expected size 64==64, stride 196==1 at dim=1")

    monkeypatch.setattr(StepRunner, "__call__", compiler_error)
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: None)
    with pytest.raises(GaneError, match="--compile: torch.compile could not compile.*stride 196==1.*without --compile"):
        gane.train("gan", data=f"npz:{vector_npz}", steps=2, compile=True, device="cpu", out=str(tmp_path / "c"), **TINY)


def test_a_phase_that_shares_an_optimizer_must_name_an_owner_over_the_same_networks():
    from gane.families import Phase
    from gane.train.step import check_shared_optimizers

    model = torch.nn.Module()
    model.D, model.G = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    loss = lambda batch: (torch.zeros(()), {})  # noqa: E731
    owner, lazy = Phase("D", ("D",), loss), Phase("D_r1", ("D",), loss, every=16, optimizer="D")
    check_shared_optimizers([owner, lazy], model)  # fine
    assert lazy.optimizer_name == "D" and owner.optimizer_name == "D"
    for bad in (Phase("X", ("D",), loss, optimizer="nobody"), Phase("X", ("G",), loss, optimizer="D"),
                Phase("X", ("D",), loss, optimizer="D_r1")):
        with pytest.raises(ValueError, match="shares the optimizer"):
            check_shared_optimizers([owner, lazy, bad], model)
