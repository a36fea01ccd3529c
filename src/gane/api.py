"""The Python API: ``gane.train(...)``, ``gane.load(run_dir)`` (``gane.load_run`` with its checkpoint and config), ``gane.families()``, ``gane.datasets()``."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import resolve
from .data import DATASETS, Data, DataInfo, DataOptions, load_data, split_or_first
from .device import resolve_device
from .errors import GaneError, check_writable
from .families import FAMILIES, Family, build_family
from . import translate  # noqa: F401  (registers the translation models beside the families)
from .train import TrainResult, latest_checkpoint, train_run
from .train.checkpoint import load_module_state


def train(family: str, **options) -> TrainResult:
    """Train a family; options are the CLI flags with underscores, e.g.
    ``gane.train("bigan", data="mnist-5k", steps=2000, z_dim=32, out="runs/b")``."""
    return train_run(resolve(family, **options))


@dataclass
class Run:
    """A trained model with where it came from: the checkpoint folder it was loaded from and that
    checkpoint's config.json (``family``, ``model`` and ``train`` options, ``data_info``)."""

    model: Family
    checkpoint: Path
    config: dict

    def data(self, spec: str | None = None, split: str = "test") -> Data:
        """The run's own dataset, or ``spec`` (a --data value), read with the run's --data-root and
        --image-size: its ``split`` when it has one, else its first split. The data must have the
        shape the model was trained on."""
        train = self.config.get("train") or {}
        spec = spec or train.get("data")
        if not spec:
            raise GaneError(f"{self.checkpoint / 'config.json'} does not name the data the run was trained on; name it (e.g. --data mnist-5k).")
        loaded = load_data(spec, split_or_first(spec, split),
                           DataOptions(data_root=train.get("data_root"), image_size=train.get("image_size")))
        if tuple(loaded.info.shape) != tuple(self.model.info.shape):
            raise GaneError(
                f"The data {spec!r} has shape {tuple(loaded.info.shape)}, but the model was trained on {tuple(self.model.info.shape)}. "
                "Use data of the same kind (or the same --image-size)."
            )
        return loaded


def load_run(path: str | Path, ema: bool = True, device: str | torch.device = "cpu", frozen: bool = False) -> Run:
    """Rebuild a trained model from a run folder (its latest checkpoint) or one checkpoint folder,
    keeping the checkpoint's path and config beside it (see :func:`load`). ``device``: a torch device,
    or "auto" for the CUDA GPU when there is one."""
    path, device = Path(path), resolve_device(device)
    if not path.exists():
        raise GaneError(f"{path} does not exist. Pass a run folder (runs/NAME) or one of its checkpoints.")
    if not path.is_dir():
        raise GaneError(f"{path} is a file; pass the run folder that holds it (runs/NAME) or one of its checkpoints (runs/NAME/checkpoints/step-N).")
    ckpt = path if (path / "model.safetensors").exists() else latest_checkpoint(path)
    if ckpt is None:
        raise GaneError(f"{path} holds no checkpoint (looked for {path / 'checkpoints'}/step-*). Train first, or point at another run folder.")
    try:
        config = json.loads((ckpt / "config.json").read_text())
        family, options, info = config["family"], config["model"], DataInfo.from_dict(config["data_info"])
    except (OSError, ValueError, KeyError, TypeError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise GaneError(f"{ckpt / 'config.json'} is missing or damaged ({e}); gane cannot rebuild the model without it.") from None
    if family not in FAMILIES:
        raise GaneError(f"{ckpt} was made by family {family!r}, which this version of gane does not have.")
    try:
        model = build_family(family, options, info)
    except GaneError as e:  # options of another family, or edited by hand
        raise GaneError(f"{ckpt / 'config.json'} names family {family!r}, but its model options do not fit that family: {e} "
                        "The file was edited or copied from another run; restore it from the run that made these weights.") from None
    load_module_state(model, ckpt / "model.safetensors", family)
    ema_file = ckpt / "ema.safetensors"
    if ema and ema_file.exists():
        load_module_state(model.averaged_modules(), ema_file, family, "EMA weights")
    if frozen:
        model.requires_grad_(False)
    model = model.to(device).eval()
    model.attach(ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt, load)
    return Run(model, ckpt, config)


def load(path: str | Path, ema: bool = True, device: str | torch.device = "cpu", frozen: bool = False) -> Family:
    """Rebuild a trained model from a run folder (its latest checkpoint) or one checkpoint folder.

    Reads config.json and safetensors weights only: no flags needed, nothing unpickled.
    With ``ema=True`` the moving average of G (and E) is used when the run kept one.
    The model is returned in eval mode. With ``frozen=True`` none of its weights (G, and D and E where
    the family has them) takes gradients: inversion and editing optimise codes through it, never the
    weights. :func:`load_run` also gives the checkpoint and its config.
    """
    return load_run(path, ema, device, frozen).model


def evaluate(run: str | Path, metrics, split: str = "test", n: int = 5000, data: str | None = None, features: str = "domain",
             inception_weights: str | None = None, seed: int = 0, train_n: int = 10_000, ema: bool = True,
             device: str | torch.device = "cpu", write: bool = True, log=None) -> dict:
    """Judge a trained run with registered metrics (``"fd,kid"`` or a list; see ``gane.metrics.METRICS``)
    against ``split`` of its dataset (or of ``data``, a dataset of the same shape), from ``n`` samples.
    Appends the result, with the step of the checkpoint judged, to RUN/metrics.json unless
    ``write=False``, and returns that record: ``record["metrics"]`` holds the numbers."""
    import time

    from .metrics import MetricContext, append_record, check_applicable, compute, parse_names, record

    names = parse_names(metrics)
    if features not in ("domain", "inception"):
        raise GaneError(f"features must be 'domain' or 'inception', not {features!r}.")
    loaded = load_run(run, ema, device)
    reals = loaded.data(data, split)  # checks that the data has the model's shape
    train_opts = loaded.config.get("train") or {}
    spec = data or train_opts["data"]
    options = DataOptions(data_root=train_opts.get("data_root"), image_size=train_opts.get("image_size"))
    chosen = split_or_first(spec, split)
    if chosen != split and log:
        log(f"{spec} has no {split!r} split; judging against its {chosen!r} split")
    split = chosen
    ctx = MetricContext(loaded.model, spec, split, n, seed, train_n=train_n, features_kind=features,
                        inception_weights=inception_weights, options=options, device=loaded.model.device)
    ctx.preload(split, reals)
    check_applicable(names, ctx)
    t = time.perf_counter()
    values = compute(names, ctx, log)
    rec = record(ctx, values, _checkpoint_step(loaded.checkpoint), str(loaded.checkpoint), time.perf_counter() - t)
    if write:
        append_record(metrics_file(loaded.checkpoint), rec)
    return rec


def invert(run: str | Path, images=None, methods="optimize", n: int = 16, out: str | Path | None = "auto",
           encoder: str | None = None, ema: bool = True, device: str | torch.device = "cpu", log=None, space: str = "z", **options):
    """Invert images into a trained run's frozen generator with one or more methods (``"encoder"``,
    ``"optimize"``, ``"hybrid"``, ``"multicode"``, or a comma-separated list), judge each (PSNR, SSIM,
    feature distance, class agreement, seconds per image) and return the report.

    ``images``: "test" (default) or "train" for that split of the run's data, a dataset name, or folders
    and image files. ``options``: the fields of :class:`gane.inversion.InversionOptions` (steps, lr,
    pixel, features, feature_weight, prior_weight, categorical, codes, layer, batch_size, seed, ...).
    ``out``: a folder for grid.png, curve.png and inversion.json; "auto" is RUN/inversions/N (a new N
    each time, so nothing of the run is overwritten); None writes nothing. ``encoder``: the name of an
    encoder fitted with :func:`fit_encoder` for the encoder and hybrid methods (default: the family's own E).
    ``space``: the latent space to invert into: "z", or "w" and "w+" for a style-based generator (stylegan)."""
    from .inversion import InversionOptions
    from .inversion.report import invert_run

    names = _method_names(methods)
    _check_options(InversionOptions, options, "inversion")
    loaded, fitted, folder = frozen_run(run, ema, device, encoder, out, "inversions", names, space=space)
    return invert_run(loaded, images, names, n, InversionOptions(**options), folder, log, encoder=fitted, encoder_name=encoder,
                      space=space)


def restore(run: str | Path, task: str, images=None, methods="optimize", n: int = 16, out: str | Path | None = "auto",
            encoder: str | None = None, mask: str = "centre", noise: float = 0.3, factor: int = 4, degrade_seed: int = 0,
            ema: bool = True, device: str | torch.device = "cpu", log=None, space: str = "z", **options):
    """Restore images through a trained run's frozen generator: ``task`` is "inpaint" (``mask``: centre,
    rectangles, strokes or an image file, white = missing), "denoise" (Gaussian ``noise`` std), "colorize"
    (colour models) or "superres" (downsampled by ``factor``). Each method of :func:`invert` inverts the
    observation through the degradation; the classical baseline of the task is judged beside it (PSNR,
    SSIM against the clean images). ``out``: "auto" is RUN/restorations/N (a new N each time).
    ``space``: as for :func:`invert`."""
    from .inversion import InversionOptions
    from .inversion.restore import DegradeOptions, restore_run

    names = _method_names(methods)
    _check_options(InversionOptions, options, "restoration")
    loaded, fitted, folder = frozen_run(run, ema, device, encoder, out, "restorations", names, space=space)
    return restore_run(loaded, task, images, names, n, InversionOptions(**options), DegradeOptions(mask, noise, factor, degrade_seed),
                       folder, fitted, encoder, log, space)


def fit_encoder(run: str | Path, method: str, name: str | None = None, ema: bool = True, device: str | torch.device = "cpu",
                log=None, **options) -> Path:
    """Fit an encoder to a trained run's frozen generator: ``method`` is "z-regression" (pairs (G(z), z)),
    "x-reconstruction" (real images through G) or "domain-guided" (in-domain inversion: x-reconstruction
    plus D's realism and code consistency). Saved as RUN/encoders/NAME (NAME defaults to the method) and
    used by ``invert(run, methods="encoder,hybrid", encoder=NAME)``. ``options``: the fields of
    :class:`gane.inversion.encoders.FitOptions` (steps, lr, batch_size, width, features, ...)."""
    from .inversion.encoders import FitOptions, fit_encoder as fit

    _check_options(FitOptions, options, "fit-encoder")
    return fit(load_run(run, ema, device, frozen=True), method, name, FitOptions(**options), log, ema)


def translate_images(run: str | Path, images=None, to: str = "B", n: int = 16, out: str | Path | None = "auto", grid: bool = False,
              ema: bool = True, device: str | torch.device = "cpu"):
    """Translate images with a trained translation run (pix2pix, cyclegan, ...) into domain ``to``.
    ``images``: None or "test"/"train" (that split of the run's data, its domain A for ``to="B"``), a
    dataset name (a two-domain task, or images of the source domain's shape; its test split), or
    folders and image files (resized and converted to the source domain's shape, with a note). Writes
    one PNG per translation (the source file's name, or the dataset index) into ``out`` (RUN/translations/N
    for "auto", nothing for None), and with ``grid`` a grid.png of sources above translations (and the
    true targets, for aligned data). Returns a :class:`gane.translate.run.Translation`."""
    from .translate.run import translate_run

    return translate_run(load_run(run, ema, device, frozen=True), images, to, n, out, grid)


def frozen_run(run: str | Path, ema: bool, device, encoder: str | None, out, kind: str, methods=(), flag: str = "--method",
               space: str = "z"):
    """The run loaded frozen, its fitted encoder ``encoder`` (None: the family's own E), and the folder
    to write into: ``out``, or RUN/KIND/N (a new N) for "auto", or None to write nothing. ``methods``
    that need an encoder (encoder, hybrid) are refused here, before any work, when there is none, and so
    is a latent ``space`` the model does not have."""
    from .inversion.encoders import load_encoder, no_encoder_message
    from .inversion.report import next_folder

    loaded = load_run(run, ema, device, frozen=True)
    if loaded.model.translates:
        raise GaneError(f"{run} is a translation run ({loaded.model.name}): it maps images between two domains and has no "
                        f"generator code to invert, restore or edit through. Use `gane translate {run} --images SRC`.")
    loaded.model.in_space(space)  # a clear error for a space this generator does not have
    fitted = None if encoder is None else load_encoder(_run_dir(loaded), encoder, loaded.model, loaded.model.device, loaded.checkpoint, ema)
    needing = [m for m in methods if m in ("encoder", "hybrid")]
    if needing and fitted is None and not loaded.model.in_space(space).has_encoder:
        raise GaneError(no_encoder_message(loaded.model.name, f"{flag} {','.join(needing)}", _run_dir(loaded), flag))
    folder = None if out is None else next_folder(_run_dir(loaded), kind) if out == "auto" else Path(out)
    if folder is not None:  # an unwritable folder is said before the work, not after it
        check_writable(folder.parent if out == "auto" else folder, "results", "--out")
    return loaded, fitted, folder


def _method_names(methods) -> list[str]:
    """"a,b" or a list -> the method names, each once, in the order given."""
    names = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
    return list(dict.fromkeys(names))


def _check_options(cls, options: dict, what: str) -> None:
    """A clear error for keyword options that are not fields of the dataclass ``cls``."""
    valid = {f.name for f in dataclasses.fields(cls)}
    wrong = sorted(set(options) - valid)
    if wrong:
        raise GaneError(f"Unknown {what} option{'s' if len(wrong) > 1 else ''} {', '.join(wrong)}; the options are {', '.join(sorted(valid))}.")


def _run_dir(loaded: Run) -> Path:
    """The run folder of a loaded checkpoint (the checkpoint folder itself when it stands alone)."""
    return loaded.checkpoint.parent.parent if loaded.checkpoint.parent.name == "checkpoints" else loaded.checkpoint


def metrics_file(checkpoint: Path) -> Path:
    """Where evaluations of ``checkpoint`` are kept: RUN/metrics.json for a run's checkpoint
    (RUN/checkpoints/step-N), else metrics.json inside the checkpoint folder itself."""
    return checkpoint.parent.parent / "metrics.json" if checkpoint.parent.name == "checkpoints" else checkpoint / "metrics.json"


def _checkpoint_step(checkpoint: Path) -> int | None:
    try:
        return int(json.loads((checkpoint / "state.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def families() -> dict[str, str]:
    """Registered families and their one-line descriptions."""
    return {name: cls.description for name, cls in FAMILIES.items()}


def datasets(options: DataOptions | None = None) -> dict[str, dict]:
    """Registered datasets: description and whether each is available offline here."""
    opts = options or DataOptions()
    return {name: {"description": e.description, "available": bool(e.available(opts)), "takes_path": e.takes_argument} for name, e in DATASETS.items()}
