"""VQGAN and its prior: the quantizer, the adaptive weight, the causal transformer, the code grid, and the
two-stage commands. (The shared family test runs every phase, save/load and resume of both.)"""
from __future__ import annotations

import pytest
import torch

import gane
from gane.cli import main
from gane.config import resolve
from gane.data import DataInfo
from gane.families import build_family
from gane.nets.vq import CodeTransformer, VectorQuantizer
from gane.train import Trainer

INFO = DataInfo("image", (1, 28, 28), 4)
TINY = {"z_dim": 4, "width": 0.125, "codebook_size": 16}


def test_the_quantizer_picks_the_nearest_code():
    torch.manual_seed(0)
    q = VectorQuantizer(32, 6)
    z = torch.randn(3, 6, 5, 5)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 6)
    expected = torch.cdist(flat, q.codebook).argmin(1).view(3, 5, 5)
    assert torch.equal(q.nearest(z), expected)
    torch.testing.assert_close(q.lookup(expected).permute(0, 2, 3, 1).reshape(-1, 6), q.codebook[expected.flatten()])


def test_straight_through_gradients_reach_the_encoder_unchanged():
    torch.manual_seed(0)
    q = VectorQuantizer(16, 4, beta=0.0, ema=True).eval()
    z = torch.randn(2, 4, 3, 3, requires_grad=True)
    z_q, indices, _, _ = q(z)
    torch.testing.assert_close(z_q, q.lookup(indices))  # the forward value is the code
    upstream = torch.randn_like(z_q)
    (z_q * upstream).sum().backward()
    torch.testing.assert_close(z.grad, upstream)  # the backward pass skips the quantization


def test_the_losses_of_each_quantizer():
    torch.manual_seed(0)
    z = torch.randn(2, 4, 3, 3, requires_grad=True)
    q = VectorQuantizer(16, 4, beta=0.25, ema=False).train()
    _, idx, loss, stats = q(z)
    e = q.lookup(idx).detach()
    torch.testing.assert_close(loss, 0.25 * (z - e).pow(2).mean() + (z - e).pow(2).mean())
    loss.backward()
    assert q.codebook.grad is not None and q.codebook.grad[idx.flatten()].abs().sum() > 0  # the codebook loss moves the codes
    assert 1.0 <= stats["perplexity"] <= 16.0


def test_ema_codes_move_to_their_vectors_and_dead_codes_restart():
    torch.manual_seed(0)
    q = VectorQuantizer(8, 2, ema=True, decay=0.5).train()
    target = torch.tensor([3.0, -3.0])
    z = target.view(1, 2, 1, 1).expand(4, 2, 2, 2).clone()
    for _ in range(30):
        _, idx, _, stats = q(z)
    chosen = int(idx.flatten()[0])
    torch.testing.assert_close(q.codebook[chosen], target, atol=1e-3, rtol=0)
    # Every other code was never chosen: counted dead, then restarted at vectors of the batch (here all the target).
    assert torch.allclose(q.codebook, target.expand(8, 2), atol=1e-3)


def test_the_transformer_is_causal():
    torch.manual_seed(0)
    t = CodeTransformer(10, 12, dim=16, layers=2, heads=2, num_classes=3).eval()
    codes = torch.randint(0, 10, (2, 12))
    changed = codes.clone()
    changed[:, 5] = (codes[:, 5] + 1) % 10
    a, b = t(codes, torch.tensor([0, 2])), t(changed, torch.tensor([0, 2]))
    # Output i predicts code i from the codes before it: a change at position 5 changes no output up to 5 ...
    torch.testing.assert_close(a[:, :6], b[:, :6])
    assert not torch.allclose(a[:, 6:], b[:, 6:])  # ... and changes the later ones
    assert not torch.allclose(t(codes, torch.tensor([1, 2]))[0, 0], a[0, 0])  # the class sets the first code's distribution


def test_top_k_one_sampling_is_greedy():
    torch.manual_seed(0)
    t = CodeTransformer(10, 6, dim=16, layers=1, heads=2).eval()
    seq = t.generate(3, top_k=1, generator=torch.Generator().manual_seed(1))
    again = t.generate(3, top_k=1, generator=torch.Generator().manual_seed(2))
    assert torch.equal(seq, again)
    logits = t(seq)
    assert torch.equal(logits.argmax(-1), seq)


def test_the_adaptive_weight_is_the_ratio_of_gradient_norms_at_the_last_layer():
    torch.manual_seed(0)
    model = build_family("vqgan", {**TINY, "perceptual": 0.0}, INFO)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    x_hat, rec, _ = model._reconstruction(x)
    adv, _ = model.adversary.g_loss(model.D, (x_hat,))
    last = model.G.last.weight
    g_rec = torch.autograd.grad(rec, last, retain_graph=True)[0]
    g_adv = torch.autograd.grad(adv, last, retain_graph=True)[0]
    torch.testing.assert_close(model.adaptive_weight(rec, adv), g_rec.norm() / (g_adv.norm() + 1e-4))


def test_encode_gives_a_grid_that_decode_takes():
    model = build_family("vqgan", {**TINY, "perceptual": 0.0}, INFO).eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    grid = model.encode(x)
    assert grid.shape == (3, 4, 7, 7)  # z_dim x (28 / 2^2) x (28 / 2^2)
    idx = model.code_indices(x)
    torch.testing.assert_close(grid, model.Q.lookup(idx))
    torch.testing.assert_close(model.decode(grid), model.decode(grid.flatten(1)))
    torch.testing.assert_close(model.reconstruct(x), model.decode_indices(idx))
    with pytest.raises(gane.GaneError, match="multiple of 8"):
        build_family("vqgan", {**TINY, "halvings": 3}, INFO)
    with pytest.raises(gane.GaneError, match="--perceptual 0"):
        build_family("vqgan", TINY, DataInfo("image", (1, 28, 28), None))


@pytest.fixture(scope="module")
def vq_run(image_npz, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vqgan"
    Trainer(resolve("vqgan", data=f"npz:{image_npz}", steps=4, batch_size=8, tick=4, adv_start=2, out=str(out), progress=False, **TINY)).run()
    return out


def _gane(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def test_two_stages_from_the_command_line(vq_run, tmp_path, capsys):
    code, out = _gane(capsys, "sample", vq_run, "--n", 4, "--out", tmp_path / "before.png")
    assert code == 0 and "has no prior" in out and "gane train vqgan-prior --from" in out
    code, out = _gane(capsys, "train", "vqgan-prior", "--from", vq_run, "--steps", 3, "--batch-size", 8, "--dim", 16, "--layers", 1,
                      "--no-progress")
    assert code == 0, out
    prior_dir = vq_run / "prior"
    assert (prior_dir / "checkpoints").is_dir()  # trained into the vqgan run, on its data
    prior = gane.load(prior_dir)
    stage1 = gane.load(vq_run, ema=False)
    assert prior.classes == 4 and torch.equal(prior.Q.codebook, stage1.Q.codebook)
    code, out = _gane(capsys, "sample", vq_run, "--n", 4, "--class", 2, "--out", tmp_path / "after.png")
    assert code == 0 and "codes drawn by the prior" in out and (tmp_path / "after.png").exists()
    code, out = _gane(capsys, "sample", prior_dir, "--n", 4, "--out", tmp_path / "prior.png")
    assert code == 0, out
    # The codes of a run trained further are not the prior's: it is not used, and the note says so.
    Trainer(resolve("vqgan", out=str(vq_run), resume=True, steps=6, progress=False)).run()
    code, out = _gane(capsys, "sample", vq_run, "--n", 2, "--out", tmp_path / "stale.png")
    assert code == 0 and "trained over other weights" in out


def test_prior_errors_say_what_to_do(vq_run, tmp_path, capsys):
    code, out = _gane(capsys, "train", "vqgan-prior", "--data", "mnist-5k", "--steps", 1, "--out", tmp_path / "p")
    assert code == 2 and "pass --from RUN" in out
    code, out = _gane(capsys, "train", "vqgan-prior", "--from", tmp_path / "nothing", "--steps", 1)
    assert code == 2 and "no trained run there" in out
    code, out = _gane(capsys, "train", "vqgan-prior", "--from", vq_run, "--z-dim", 8, "--steps", 1, "--out", tmp_path / "q")
    assert code == 2 and "--z-dim describe the vqgan run" in out


def test_inversion_and_restoration_work_on_the_grid(vq_run, tmp_path, capsys):
    code, out = _gane(capsys, "invert", vq_run, "--method", "encoder,optimize,hybrid,multicode", "--n", 2, "--steps", 3,
                      "--images", "train", "--out", tmp_path / "inv", "--device", "cpu")
    assert code == 0, out
    code, out = _gane(capsys, "restore", vq_run, "--task", "denoise", "--method", "hybrid", "--n", 2, "--steps", 2,
                      "--images", "train", "--out", tmp_path / "res", "--device", "cpu")
    assert code == 0, out
