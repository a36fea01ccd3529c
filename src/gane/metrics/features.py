"""Feature networks for distances between sets of images.

- ``domain``: the penultimate activations (128 numbers) of the small classifier trained on the
  dataset's own train split (:mod:`gane.metrics.classifier`). It exists for every labelled image
  dataset and needs nothing downloaded; distances in it are comparable between gane runs on the
  same dataset, not with published Inception figures.
- ``inception``: Inception-v3's 2,048 pool features and its logits, as in FID (Heusel et al. 2017),
  through torch-fidelity's network, from a weights file the user already has. Nothing is
  downloaded: without weights this is a clear error.
- ``raw``: the data itself, for vector data (2-D mixtures, npz vectors).

Every feature network maps a batch in gane's convention ([-1, 1] images or raw vectors) to
(n, dim) features and, where it has them, (n, K) class logits for the Inception Score.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..errors import GaneError

#: file names the FID Inception weights have in the torch hub cache (torch-fidelity's and pytorch-fid's)
INCEPTION_FILES = ("weights-inception-2015-12-05-6726825d.pth", "pt_inception-2015-12-05-6726825d.pth")


@dataclass
class FeatureNet:
    """``run(x)`` -> (features (n, dim), class logits (n, K) or None when the network has no classes)."""

    name: str  # "domain", "inception" or "raw", as metrics.json records it
    description: str
    dim: int
    fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]  # one batch
    batch: int = 500

    @torch.no_grad()
    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        parts = [self.fn(x[i : i + self.batch]) for i in range(0, len(x), self.batch)]
        feats = torch.cat([f.float().cpu() for f, _ in parts])
        logits = None if parts[0][1] is None else torch.cat([l.float().cpu() for _, l in parts])
        assert feats.shape == (len(x), self.dim), (feats.shape, self.dim)
        return feats, logits


def raw_features(dim: int) -> FeatureNet:
    return FeatureNet("raw", "the data itself", dim, lambda x: (x.flatten(1), None))


def domain_features(dataset: str, options=None) -> FeatureNet:
    """The cached domain classifier's penultimate activations (trained on first use)."""
    from .classifier import domain_classifier

    return classifier_features(domain_classifier(dataset, options))


def classifier_features(clf) -> FeatureNet:
    """A domain classifier's penultimate activations (and its class logits), wherever its weights are."""
    net = clf.net.eval()
    device = next(net.parameters()).device

    def run(x):
        h = net.embed(x.to(device))
        return h, net.classify(h)

    return FeatureNet("domain", f"the {clf.dataset} classifier's {net.embedding_dim} penultimate activations "
                      f"(test accuracy {clf.test_accuracy:.1%})", net.embedding_dim, run)


# --------------------------------------------------------------------------- Inception-v3


def find_inception_weights() -> Path | None:
    """FID Inception weights already in the torch hub cache ($TORCH_HOME/hub/checkpoints), if any."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    for name in INCEPTION_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file, or from a .pth/.pt file read with torch's weights-only
    loader (which refuses anything but tensors and plain containers: no code is unpickled)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged file, a pickle holding code, a file of another kind
        raise GaneError(f"Could not read Inception weights from {path} ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
                        "Pass the FID Inception file (pt_inception-2015-12-05-6726825d.pth) or a .safetensors copy of it.") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GaneError(f"{path} does not hold a state dict of tensors, so it is not a weights file for Inception-v3.")
    return state


def inception_features(weights: str | Path | None = None, device: str | torch.device = "cpu") -> FeatureNet:
    """Inception-v3 (the FID network) from ``weights``, else from the torch hub cache; never downloaded."""
    path = Path(weights).expanduser() if weights else find_inception_weights()
    if path is None:
        raise GaneError(
            "Inception features need the FID Inception-v3 weights, and gane downloads nothing. Pass --inception-weights PATH "
            f"(the file {INCEPTION_FILES[1]}, as torch-fidelity and pytorch-fid use), or put it in "
            f"{Path(torch.hub.get_dir()) / 'checkpoints'}. Without them, use the domain features (the default)."
        )
    if not path.is_file():
        raise GaneError(f"--inception-weights {path}: no such file.")
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise GaneError("Inception features use torch-fidelity's network: pip install 'gane[inception]' "
                        "(or pip install torch-fidelity).") from None
    state = _read_weights(path)
    # torch-fidelity reads a weights path with the full unpickler; it is given a copy holding only the
    # tensors read above, so nothing from the user's file is unpickled.
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "inception.pth"
        torch.save(state, clean)
        try:
            net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(clean))
        except RuntimeError as e:  # missing or unexpected keys, other shapes
            raise GaneError(f"{path} does not fit the FID Inception-v3 network ({str(e).splitlines()[0][:200]}).") from None
    net = net.eval().to(device)

    def to_uint8(x):  # gane's [-1, 1] images (grey ones repeated to RGB) -> the uint8 RGB torch-fidelity expects
        x = x.to(device)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

    return FeatureNet("inception", f"Inception-v3 pool features (2048) from {path}", 2048, lambda x: net(to_uint8(x)), batch=100)


def feature_net(kind: str, info, dataset: str, options=None, inception_weights=None, device="cpu") -> FeatureNet:
    """The feature network ``kind`` ("domain" or "inception") for data described by ``info``."""
    if info.kind == "vector":
        return raw_features(info.shape[0])
    if kind == "inception":
        return inception_features(inception_weights, device)
    if info.num_classes is None:
        raise GaneError(f"{dataset} has no labels, so gane has no domain classifier for its features. Use Inception features "
                        "(--features inception with --inception-weights PATH), or a dataset with labels (class subfolders).")
    return domain_features(dataset, options)

