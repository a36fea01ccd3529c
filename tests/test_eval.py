"""`gane eval`, `gane train --metrics` and the offline Inception path."""
from __future__ import annotations

import json
import pickle

import pytest
import torch

import gane
from gane.cli import main
from gane.errors import GaneError
from gane.metrics import MetricContext, compute, inception_features

TINY = ["--width", "0.125", "--z-dim", "4", "--batch-size", "16", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory, image_npz):
    out = tmp_path_factory.mktemp("runs") / "vae"
    gane.train("vae", data=f"npz:{image_npz}", steps=4, tick=2, width=0.125, z_dim=4, batch_size=16, out=str(out), progress=False)
    return out


def test_eval_prints_a_table_and_appends_to_metrics_json(tiny_vae, capsys):
    assert main(["eval", str(tiny_vae), "--metrics", "fd,kid,pr,dc,is,recon,parzen,confidence", "--n", "40"]) == 0
    out = capsys.readouterr().out
    for name in ("fd", "kid", "precision", "coverage", "is", "mse", "ssim", "agreement", "parzen_ll", "confidence"):
        assert f"\n  {name} " in out
    assert "has no 'test' split" in out  # an npz file is judged against its train split, and the user is told
    records = json.loads((tiny_vae / "metrics.json").read_text())
    assert records[-1]["step"] == 4 and records[-1]["split"] == "train" and records[-1]["n"] == 40
    assert records[-1]["metrics"]["mse"] >= 0 and 0 <= records[-1]["metrics"]["coverage"] <= 1
    assert main(["eval", str(tiny_vae), "--metrics", "fd", "--n", "40"]) == 0
    again = json.loads((tiny_vae / "metrics.json").read_text())
    assert len(again) == len(records) + 1 and again[-1]["metrics"]["fd"] == pytest.approx(records[-1]["metrics"]["fd"])


def test_eval_refuses_unknown_and_inapplicable_metrics_with_a_sentence(tiny_vae, capsys):
    assert main(["eval", str(tiny_vae), "--metrics", "fid"]) == 2
    err = capsys.readouterr().err
    assert "Unknown metric 'fid'" in err and "Did you mean 'fd'?" in err
    assert main(["eval", str(tiny_vae), "--metrics", "knn,modes"]) == 2
    err = capsys.readouterr().err
    assert "knn (it needs examples held out from training" in err and "modes (" in err and "Traceback" not in err


def test_a_damaged_metrics_json_is_kept_aside_not_overwritten(tiny_vae):
    (tiny_vae / "metrics.json").write_text("{not json")
    gane.evaluate(tiny_vae, "fd", n=20)
    assert (tiny_vae / "metrics.json.damaged").read_text() == "{not json"
    assert len(json.loads((tiny_vae / "metrics.json").read_text())) == 1


def test_train_with_metrics_logs_them_at_checkpoints(tmp_path, image_npz):
    out = tmp_path / "run"
    gane.train("ae", data=f"npz:{image_npz}", steps=6, tick=2, metrics="fd,recon", metrics_every=4, metrics_n=20,
               width=0.125, z_dim=4, batch_size=16, out=str(out), progress=False)
    records = json.loads((out / "metrics.json").read_text())
    assert [r["step"] for r in records] == [4, 6]  # every 4 steps, at a checkpoint, and at the end
    assert all(r["checkpoint"].endswith(f"step-{r['step']:08d}") for r in records)
    logged = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    fd = [(r["step"], r["metrics/fd"]) for r in logged if "metrics/fd" in r]
    assert [s for s, _ in fd] == [4, 6] and fd[1][1] == pytest.approx(records[1]["metrics"]["fd"])
    # resumed: the evaluations keep to multiples of 4 (and the last step)
    gane.train("ae", data=f"npz:{image_npz}", steps=12, tick=2, metrics="fd,recon", metrics_every=4, metrics_n=20,
               width=0.125, z_dim=4, batch_size=16, out=str(out), progress=False, resume=True)
    assert [r["step"] for r in json.loads((out / "metrics.json").read_text())] == [4, 6, 8, 12]  # every 4 steps, as without the stop


def test_train_refuses_a_metric_that_cannot_apply_before_training(tmp_path, image_npz, capsys):
    out = tmp_path / "gan"
    code = main(["train", "gan", "--data", f"npz:{image_npz}", "--steps", "2", "--metrics", "fd,recon", "--out", str(out), *TINY])
    assert code == 2
    assert "recon (gan has no encoder)" in capsys.readouterr().err
    assert not out.exists()
    assert main(["train", "gan", "--data", f"npz:{image_npz}", "--steps", "2", "--metrics", "fd,bogus", "--out", str(out), *TINY]) == 2
    assert "Unknown metric 'bogus'" in capsys.readouterr().err


# ------------------------------------------------------------------ Inception, offline


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A weights file for torch-fidelity's Inception-v3 written by the test: the network with its
    initial (random) weights, built with the download replaced by nothing."""
    fidelity = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3",
                                   reason="torch-fidelity is in the test extra: pip install -e '.[test]'")
    cls = fidelity.FeatureExtractorInceptionV3
    mp = pytest.MonkeyPatch()
    mp.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
    mp.setattr(cls, "load_state_dict", lambda self, state, *a, **k: None)
    torch.manual_seed(0)
    net = cls("inception-v3-compat", ["2048", "logits_unbiased"])
    mp.undo()
    path = tmp_path_factory.mktemp("weights") / "inception.pth"
    torch.save(net.state_dict(), path)
    return path, net.eval()


def test_inception_features_load_from_a_weights_file_without_downloading(inception_file, monkeypatch):
    path, reference = inception_file
    import torch_fidelity.feature_extractor_inceptionv3 as fidelity

    monkeypatch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: pytest.fail("tried to download"))
    net = inception_features(path)
    x = torch.rand(3, 1, 28, 28) * 2 - 1  # grey images in gane's [-1, 1]
    feats, logits = net.run(x)
    assert feats.shape == (3, 2048) and logits.shape == (3, 1008)
    as_uint8 = ((x.repeat(1, 3, 1, 1) + 1) * 127.5).round().to(torch.uint8)
    with torch.no_grad():
        want_feats, want_logits = reference(as_uint8)
    assert torch.allclose(feats, want_feats, atol=1e-5) and torch.allclose(logits, want_logits, atol=1e-4)


def test_inception_metrics_carry_their_own_names(inception_file, tiny_vae):
    ctx = MetricContext(gane.load(tiny_vae), f"npz:{gane.load_run(tiny_vae).config['train']['data'].split(':', 1)[1]}", "train",
                        n=6, features_kind="inception", inception_weights=str(inception_file[0]))
    values = compute(["fd", "is"], ctx)
    assert set(values) == {"fd_inception", "is_inception", "is_inception_std"}


def test_inception_without_weights_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    with pytest.raises(GaneError, match="--inception-weights"):
        inception_features(None)
    with pytest.raises(GaneError, match="no such file"):
        inception_features(tmp_path / "missing.pth")


def test_a_weights_file_that_holds_code_is_refused_unread(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    path = tmp_path / "evil.pth"
    torch.save({"w": Payload()}, path)  # a real torch checkpoint whose pickle would call print when loaded in full
    import importlib.util

    # without torch-fidelity (outside the test extra) the network is refused first; either way nothing is unpickled
    said = "Could not read Inception weights" if importlib.util.find_spec("torch_fidelity") else "torch-fidelity"
    with pytest.raises(GaneError, match=said):
        inception_features(path)
    assert "unpickled!" not in capsys.readouterr().out


def test_eval_of_metrics_that_draw_no_reals_and_of_a_lone_checkpoint_folder(tiny_vae, tmp_path, capsys):
    assert main(["eval", str(tiny_vae), "--metrics", "is", "--n", "30"]) == 0
    out = capsys.readouterr().out
    assert "30 samples" in out and "\n  is " in out
    import shutil

    lone = tmp_path / "exported"
    shutil.copytree(gane.load_run(tiny_vae).checkpoint, lone)
    rec = gane.evaluate(lone, "fd", n=20)
    assert rec["step"] == 4 and (lone / "metrics.json").exists() and not (tmp_path / "metrics.json").exists()


def test_too_few_samples_for_nearest_neighbour_metrics_is_a_sentence(tiny_vae, capsys):
    assert main(["eval", str(tiny_vae), "--metrics", "pr", "--n", "4"]) == 2
    assert "Raise --n" in capsys.readouterr().err


def test_eval_with_a_missing_inception_file_names_the_file(tiny_vae, tmp_path, capsys):
    assert main(["eval", str(tiny_vae), "--metrics", "fd", "--inception-weights", str(tmp_path / "none.pth")]) == 2
    err = capsys.readouterr().err
    assert "none.pth: no such file" in err and "Leave them out" not in err
