"""A small domain classifier, trained once per labelled dataset and cached.

The standard Inception network cannot be downloaded here, so sample quality on
digit-like data is judged by a classifier trained on the dataset's own train
split: how often it is confident about a sample, and whether a reconstruction
keeps the class of the image it came from.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data import DataOptions, cache_dir, load_data
from ..errors import GaneError
from ..train.checkpoint import load_module_state

CLASSIFIER_VERSION = 1


class SmallConvNet(nn.Module):
    """(B, C, H, W) in [-1, 1] -> class logits (B, K). Two conv blocks and an MLP head."""

    embedding_dim = 128

    def __init__(self, channels: int, size: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(64 * (size // 4) ** 2, self.embedding_dim), nn.ReLU(True), nn.Dropout(0.3), nn.Linear(self.embedding_dim, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations (B, 128): the domain features distances are measured in."""
        return self.head[1](self.head[0](self.features(x)))

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        """Class logits from :meth:`embed`'s output (dropout is the identity in eval mode)."""
        return self.head[3](self.head[2](h))


@dataclass
class DomainClassifier:
    net: SmallConvNet
    dataset: str
    test_accuracy: float
    shape: tuple[int, ...]  # (C, H, W) of the images it classifies
    num_classes: int

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
        self.net.eval()
        dev = next(self.net.parameters()).device
        return torch.cat([F.softmax(self.net(x[i : i + batch].to(dev)), 1).cpu() for i in range(0, len(x), batch)])

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.probabilities(x).argmax(1)

    def confident_rate(self, x: torch.Tensor, threshold: float = 0.9) -> float:
        """Fraction of images whose top class has probability above ``threshold``."""
        return float((self.probabilities(x).max(1).values > threshold).float().mean())

    def agreement(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        """Fraction of images classified as ``labels``."""
        return float((self.predict(x) == labels.cpu()).float().mean())


def _shift(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Random translations by up to max_shift pixels (padding with the background value -1)."""
    b, _, h, w = x.shape
    padded = F.pad(x, [max_shift] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2, b), generator=g)
    rows = (torch.arange(h)[None, :] + dy[:, None])[:, None, :, None].expand(b, x.shape[1], h, w + 2 * max_shift)
    out = padded.gather(2, rows)
    cols = (torch.arange(w)[None, :] + dx[:, None])[:, None, None, :].expand(b, x.shape[1], h, w)
    return out.gather(3, cols)


def train_classifier(dataset: str, epochs: int = 12, seed: int = 0, options: DataOptions | None = None, verbose: bool = True) -> DomainClassifier:
    from ..data import dataset_splits

    has_test = "test" in dataset_splits(dataset)  # a folder or npz file has only a train split
    train = load_data(dataset, "train", options)
    test = load_data(dataset, "test", options) if has_test else train
    clf = fit_classifier(train, test, dataset, epochs, seed)
    if verbose:
        print(f"gane: trained a {dataset} classifier: {'test' if has_test else 'train (no test split)'} accuracy "
              f"{clf.test_accuracy:.2%}", flush=True)
    return clf


def fit_classifier(train, test, name: str, epochs: int = 12, seed: int = 0) -> DomainClassifier:
    """A classifier trained on the labelled images of ``train`` (a single-domain Data), its accuracy
    measured on ``test``: the domain classifier of a dataset, or of one domain of a translation task."""
    if train.info.kind != "image" or train.info.num_classes is None:
        raise GaneError(f"A domain classifier needs labelled images; {name!r} has none.")
    c, h, _ = train.info.shape
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = SmallConvNet(c, h, train.info.num_classes)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    x_all, y_all = train.take(len(train)).x, train.take(len(train)).y
    steps_per_epoch = max(1, len(x_all) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * steps_per_epoch)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x_all), generator=g)
        for i in range(steps_per_epoch):
            idx = perm[i * 128 : (i + 1) * 128]
            loss = F.cross_entropy(net(_shift(x_all[idx], 2, g)), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    clf = DomainClassifier(net.eval(), name, 0.0, train.info.shape, train.info.num_classes)
    t = test.take(len(test))
    clf.test_accuracy = clf.agreement(t.x, t.y)
    return clf


def domain_classifier(dataset: str, options: DataOptions | None = None, verbose: bool = True) -> DomainClassifier:
    """The cached classifier for ``dataset``, trained on its train split the first time it is asked for."""
    folder = cache_dir() / "classifiers"
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in dataset)[:60]
    if ":" in dataset or (options is not None and (options.image_size or options.data_root)):
        # files or folders (by their contents) and resized images get a classifier of their own
        from .core import data_identity

        stem += "-" + hashlib.sha256(json.dumps(data_identity(dataset, options), default=str).encode()).hexdigest()[:16]
    weights, meta_file = folder / f"{stem}.safetensors", folder / f"{stem}.json"
    if weights.exists() and meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("version") == CLASSIFIER_VERSION:
            c, h, _ = meta["shape"]
            net = SmallConvNet(c, h, meta["num_classes"])
            load_module_state(net, weights, "classifier", "classifier weights")
            return DomainClassifier(net.eval(), dataset, meta["test_accuracy"], tuple(meta["shape"]), meta["num_classes"])
    clf = train_classifier(dataset, options=options, verbose=verbose)
    folder.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save_file

    tmp = weights.with_name(f"{weights.stem}.{os.getpid()}-{threading.get_ident()}.tmp")  # two trainings never share one
    save_file({k: v.contiguous() for k, v in clf.net.state_dict().items()}, str(tmp), metadata={"family": "classifier"})
    tmp.replace(weights)
    meta_file.write_text(json.dumps({"version": CLASSIFIER_VERSION, "shape": list(clf.shape), "num_classes": clf.num_classes, "test_accuracy": clf.test_accuracy}))
    return clf
