"""The metric registry and the context every metric is computed from.

A metric is a function ``fn(ctx) -> {name: number}`` registered with :func:`register_metric`
(stylegan2-ada's ``metric_main.py`` pattern). It reads what it needs from a
:class:`MetricContext`: the model (through the family interface: ``sample``, ``encode``,
``reconstruct``), the real examples of a dataset split, and features of both sets. The context
computes each of these once, so ``fd,kid,pr`` run the feature network once on the samples and
once on the reals, and real features are cached on disk per dataset, split and network.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..data import Batch, DataOptions, cache_dir, load_data
from ..errors import GaneError
from ..registry import Registry
from .features import FeatureNet, feature_net


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[["MetricContext"], dict[str, float]]
    description: str
    needs: tuple[str, ...] = ()  # "images", "labels", "encoder", "heldout", "modes", "features": what model and data must have


METRICS: Registry[Metric] = Registry("metric")


def register_metric(name: str, description: str, needs: tuple[str, ...] = ()):
    """``@register_metric("fd", "...")`` on a function ``fn(ctx) -> {name: number}``."""

    def deco(fn):
        METRICS.register(name)(Metric(name, fn, description, tuple(needs)))
        return fn

    return deco


@dataclass
class MetricContext:
    """One model judged against one dataset split: the samples, the reals and their features,
    each computed on first use. ``n`` samples are drawn (with ``seed``); the reals are
    ``min(n, len(split))`` examples spread evenly through the split."""

    model: torch.nn.Module  # a gane Family, in eval mode
    dataset: str
    split: str = "test"
    n: int = 5000
    seed: int = 0
    train_n: int = 10_000  # labelled train examples kNN and probes learn from
    features_kind: str = "domain"  # or "inception"
    inception_weights: str | None = None
    options: DataOptions = field(default_factory=DataOptions)
    device: torch.device | str | None = None  # default: where the model's weights are
    _cache: dict = field(default_factory=dict, repr=False)

    def for_model(self, model) -> "MetricContext":
        """This context for another model (or the same one, trained further): what depends only on
        the data and the feature network is kept, samples and their features are not."""
        keep = {k: v for k, v in self._cache.items()
                if k in ("net", "real") or (isinstance(k, tuple) and (k[0] in ("data", "train") or k == ("features", "real")))}
        return dataclasses.replace(self, model=model, _cache=keep)

    def __post_init__(self):
        if getattr(self.model, "translates", False):
            raise GaneError(f"The metrics judge a generator's samples and codes, and {self.model.name} is a translation model. "
                            "Judge translations with `gane translate RUN --images test` (L1 and PSNR against the true targets of "
                            "aligned data) or `gane bench suite translation`; train without --metrics.")
        if self.device is None:
            params = next(iter(self.model.parameters()), None) if isinstance(self.model, torch.nn.Module) else None
            self.device = params.device if params is not None else torch.device("cpu")

    def _once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -------------------------------------------------------------- data
    def preload(self, split: str, data) -> None:
        """Use ``data``, already read with this context's options, as ``split`` instead of reading it again."""
        self._cache[("data", split)] = data

    def data(self, split: str | None = None):
        split = split or self.split
        return self._once(("data", split), lambda: load_data(self.dataset, split, self.options))

    @property
    def info(self):
        return self.data().info

    def real(self) -> Batch:
        """``min(n, len(split))`` examples of the split spread evenly through it (all of it, in order,
        when n covers it): files sorted by class give every class its share (on the CPU)."""
        data = self.data()
        return self._once("real", lambda: data.spread(min(self.n, len(data))))

    def train_examples(self, n: int) -> Batch:
        """``n`` examples of the train split spread evenly through it: the labelled neighbours of kNN and the probe's data."""
        data = self.data("train")
        return self._once(("train", n), lambda: data.spread(min(n, len(data))))

    @torch.no_grad()
    def samples(self, n: int | None = None) -> torch.Tensor:
        """``n`` (default: the context's ``n``) samples of the model, drawn with ``seed`` (from its code
        mixture when it fitted one)."""
        n = n or self.n

        def draw():  # in parts of 2,500 to bound memory; a single part draws exactly what model.sample(n) would
            g = torch.Generator().manual_seed(self.seed)
            return torch.cat([self.model.sample(min(2500, n - i), generator=g).cpu() for i in range(0, n, 2500)])
        return self._once(("samples", n), draw)

    @torch.no_grad()
    def reconstructions(self) -> torch.Tensor:
        """G(E(x)) of :meth:`real`'s examples."""
        x = self.real().x
        return self._once("recon", lambda: torch.cat([self.model.reconstruct(x[i : i + 500].to(self.device)).cpu()
                                                      for i in range(0, len(x), 500)]))

    # -------------------------------------------------------------- features
    def feature_net(self) -> FeatureNet:
        return self._once("net", lambda: feature_net(self.features_kind, self.info, self.dataset, self.options,
                                                     self.inception_weights, self.device))

    def features(self, which: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(features, class logits or None) of "real", "samples" or "reconstructions"."""
        def make():
            if which == "real":
                return _cached_real_features(self)
            return self.feature_net().run(getattr(self, which)())
        return self._once(("features", which), make)

    def feature_suffix(self) -> str:
        """Appended to the names of distances in Inception features ("fd" -> "fd_inception")."""
        return "_inception" if self.feature_net().name == "inception" else ""


def data_identity(spec: str, options: DataOptions | None = None) -> list:
    """What identifies the contents of a dataset spec for caches: the spec, the options that change
    the images, and for a file or folder its resolved path with the size and modification time of
    every file in it (an edited, added or removed image gives another identity)."""
    options = options or DataOptions()
    ident: list = [spec, options.image_size, options.data_root]
    if ":" in spec:
        local = Path(spec.split(":", 1)[1]).expanduser()
        if local.exists():
            files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
            ident.append(str(local.resolve()))
            ident.append(hashlib.sha256(json.dumps([[str(f.relative_to(local) if local.is_dir() else f.name), f.stat().st_size,
                                                     f.stat().st_mtime_ns] for f in files]).encode()).hexdigest())
    return ident


def _cached_real_features(ctx: MetricContext):
    """Features of the reals, cached in gane's cache folder by dataset, split, count and network:
    stylegan2-ada's cached reference statistics. Folders and npz files are keyed by their files'
    sizes and modification times (:func:`data_identity`), so an edited dataset is not judged
    against stale features."""
    net = ctx.feature_net()
    from .classifier import CLASSIFIER_VERSION

    ident = [*data_identity(ctx.dataset, ctx.options), ctx.split, len(ctx.real().x), net.name, net.description, CLASSIFIER_VERSION]
    key = hashlib.sha256(json.dumps(ident, default=str).encode()).hexdigest()[:20]
    path = cache_dir() / "features" / f"{key}.safetensors"
    from safetensors.torch import load_file, save_file

    if path.exists():
        try:
            t = load_file(str(path))
            return t["features"], t.get("logits")
        except Exception:  # a damaged cache file is recomputed
            pass
    feats, logits = net.run(ctx.real().x)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
    save_file({"features": feats.contiguous(), **({"logits": logits.contiguous()} if logits is not None else {})}, str(tmp))
    os.replace(tmp, path)
    return feats, logits


# ------------------------------------------------------------------ applicability and running


def why_not(metric: Metric, ctx: MetricContext) -> str | None:
    """Why ``metric`` does not apply to this model and data, or None when it does."""
    from .modes import mode_counter

    info = ctx.info
    for need in metric.needs:
        if need == "encoder" and not getattr(ctx.model, "has_encoder", False):
            return f"{type(ctx.model).name} has no encoder"
        if need == "labels" and info.num_classes is None:
            return f"{ctx.dataset} has no labels"
        if need == "images" and info.kind != "image":
            return f"{ctx.dataset} is not an image dataset"
        if need == "features":
            ctx.feature_net()  # no feature network (missing Inception weights, no labels) is its own error, with its own remedy
        if need == "heldout" and ctx.split == "train":
            return f"it needs examples held out from training, and {ctx.dataset} has only a train split"
        if need == "modes" and mode_counter(ctx.dataset, ctx.options) is None:
            return f"{ctx.dataset} has no known modes (ring8, grid25, stacked-mnist and stacked-mnist-full have)"
    return None


def parse_names(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """"fd,kid" or ["fd", "kid"] -> registered names, unknown ones refused with the known list."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise GaneError(f"No metric named. Known metrics: {', '.join(METRICS.names())} (`gane eval --help` describes them).")
    for n in names:
        METRICS.get(n)  # raises the registry's "did you mean" error
    return list(dict.fromkeys(names))


def check_applicable(names: list[str], ctx: MetricContext) -> None:
    problems = [f"{n} ({reason})" for n in names if (reason := why_not(METRICS.get(n), ctx))]
    if problems:
        raise GaneError(f"These metrics do not apply here: {'; '.join(problems)}. Leave them out of --metrics.")


def compute(names: list[str], ctx: MetricContext, log: Callable[[str], None] | None = None) -> dict[str, float]:
    """Every metric in ``names`` on ``ctx``, as one flat {name: number} dict."""
    check_applicable(names, ctx)
    out: dict[str, float] = {}
    for name in names:
        t = time.perf_counter()
        values = METRICS.get(name).fn(ctx)
        out.update({k: float(v) for k, v in values.items()})
        if log:
            log(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()) + f" ({time.perf_counter() - t:.1f} s)")
    return out


def append_record(path: Path, record: dict) -> None:
    """Append one evaluation to ``path`` (a JSON list), written atomically. A damaged file is kept
    aside as ``metrics.json.damaged`` rather than overwritten."""
    records = []
    if path.exists():
        try:
            records = json.loads(path.read_text())
            if not isinstance(records, list):
                raise ValueError("not a list")
        except (ValueError, UnicodeDecodeError):
            os.replace(path, path.with_name(path.name + ".damaged"))
            records = []
    records.append(record)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(records, indent=2))
    os.replace(tmp, path)


def record(ctx: MetricContext, values: dict[str, float], step: int | None, checkpoint: str | None, seconds: float) -> dict:
    """One metrics.json entry: what was judged, against what, and the numbers."""
    net = ctx._cache.get("net")
    drawn = sorted(k[1] for k in ctx._cache if isinstance(k, tuple) and k[0] == "samples")
    return {
        "step": step, "checkpoint": checkpoint, "dataset": ctx.dataset, "split": ctx.split, "n": ctx.n, "samples_drawn": drawn,
        "reals": len(ctx.real().x) if "real" in ctx._cache else None, "seed": ctx.seed,
        "features": net.description if net is not None else None,
        "metrics": values, "seconds": round(seconds, 2),
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
