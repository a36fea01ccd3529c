"""The ``gane`` command: a thin layer over the Python API.

Every user mistake ends in a one-paragraph message and exit status 2, never a traceback.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import math
import os
import sys
import textwrap
import typing
from pathlib import Path

import click

from .errors import GaneError
from .fields import field_kind, rule_text

EXIT_USER_ERROR = 2
EXIT_IO_ERROR = 1


def _options_from(config_cls, defaults: dict | None = None) -> list[click.Option]:
    """One click option per dataclass field; defaults stay None so that presets can fill them.
    ``defaults``: the default shown for some fields, where the model has its own (a translator's --data)."""
    out = []
    for f in dataclasses.fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        names = [flag] + ([f.metadata["alias"]] if f.metadata.get("alias") else [])
        rule = rule_text(f)
        help_text = f.metadata.get("help", "") + (f"; {rule}" if rule else "")
        default = (defaults or {}).get(f.name, f.default if f.default is not dataclasses.MISSING else None)
        default = "none" if default == "" else default
        kind = field_kind(f)
        choices = f.metadata.get("choices")
        if kind is bool:
            out.append(click.Option([f"{flag}/--no-{flag[2:]}"], default=None, help=f"{help_text} [default: {default}]"))
            continue
        if choices is not None:
            ctype: typing.Any = click.Choice(list(choices() if callable(choices) else choices))
            out.append(click.Option(names, type=ctype, default=None, help=f"{help_text} [default: {default}]"))
        else:
            out.append(click.Option(names, type=kind, default=None, help=f"{help_text} [default: {default}]", metavar=kind.__name__.upper()))
    return out


class FamilyGroup(click.Group):
    """``gane train FAMILY``: one subcommand per registered family, built from its config."""

    def list_commands(self, ctx):
        from .families import FAMILIES

        return FAMILIES.names()

    def get_command(self, ctx, name):
        from .config import TrainConfig, presets_of
        from .families import FAMILIES

        if name not in FAMILIES:
            return None
        cls = FAMILIES.get(name)

        def run(**kwargs):
            from .api import train

            result = train(name, **kwargs)
            if result.already_done:  # the trainer said so
                return
            made = [f for f in ("samples.png", "reconstructions.png", "translations.png") if (result.run_dir / f).exists()]
            click.echo(
                f"gane: {result.step} steps, {result.images_seen:,} images seen, {result.images_per_second:,.0f} images/s. "
                f"Run folder: {result.run_dir} ({', '.join(made + ['checkpoints/'])}; "
                f"TensorBoard: tensorboard --logdir {result.run_dir / 'tensorboard'})"
            )

        own = {"data": cls.default_data} if hasattr(cls, "default_data") else {}
        params = _options_from(TrainConfig, own) + _options_from(cls.Config)
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or cls.description).strip()
        presets = presets_of(name)
        if presets:  # \b keeps click from rewrapping the list
            doc += "\n\n\b\nPresets (used when --data matches; your options override them):\n" + "\n".join(
                f"  {data}: {p.summary}" for data, p in presets.items()
            )
        return click.Command(name, params=params, callback=run, help=doc, short_help=cls.description)

    def resolve_command(self, ctx, args):
        from .families import FAMILIES

        if args and not args[0].startswith("-") and args[0] not in FAMILIES:
            raise click.UsageError(FAMILIES.unknown_message(args[0]), ctx)
        return super().resolve_command(ctx, args)


@contextlib.contextmanager
def _help_keeps_option_names():
    """While gane's command runs, click wraps help text without breaking at hyphens, so option
    names such as --code-mixture in a family's description stay whole. click builds its wrapper
    from ``click._textwrap.TextWrapper`` at each call; it is swapped for one with textwrap's
    break_on_hyphens off, and put back afterwards."""
    import click._textwrap as click_textwrap

    original = click_textwrap.TextWrapper

    class KeepHyphens(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "break_on_hyphens": False})

    click_textwrap.TextWrapper = KeepHyphens
    try:
        yield
    finally:
        click_textwrap.TextWrapper = original


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="gane")
def cli():
    """gane: generative models with encoders. GAN = G + D; a better GAN = G + D + E.

    Start with `gane quickstart`, or `gane list` to see the families and datasets.
    """


@cli.group(cls=FamilyGroup)
def train():
    """Train a model family (`gane train FAMILY --help` for its options).

    Example: `gane train bigan --data mnist-5k --steps 3000`.
    """


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--n", type=click.IntRange(min=1), default=64, show_default=True, help="number of samples (with --sweep: number of rows)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="PNG or JPEG file (default RUN/samples-N.png)")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--nrow", type=click.IntRange(min=1), default=8, show_default=True, help="images per row")
@click.option("--class", "class_", type=int, default=None, help="draw only this class (class-conditional models: acgan, --conditional)")
@click.option("--sweep", default=None, metavar="PART",
              help="vary one part of the code along each row, holding the rest (e.g. c1 or c2 for infogan, class for acgan)")
@click.option("--truncation", "psi", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="stylegan: the truncation trick, each w pulled to mean + PSI (w - mean); 1 = off, 0 = the mean image")
@click.option("--truncation-clusters", "clusters", type=click.IntRange(min=1), default=None, metavar="K",
              help="stylegan: truncate toward the nearest of K cluster centres of W instead of the mean (multi-modal truncation)")
@click.option("--mix-from", "mix_from", type=click.IntRange(min=0), default=None, metavar="SEED",
              help="stylegan: take the styles of --mix-layers from codes drawn with this seed (style mixing)")
@click.option("--mix-layers", default=None, metavar="A:B",
              help="stylegan, with --mix-from: the style layers [A, B) to take from the other codes (default: the second half)")
@click.option("--no-ema", is_flag=True, help="use the raw generator even if the run kept a moving average")
def sample(run, n, out, seed, nrow, class_, sweep, psi, clusters, mix_from, mix_layers, no_ema):
    """Draw samples from a trained run into a PNG grid.

    With --sweep PART each row holds one code fixed except PART, which runs over
    its categories (categorical parts) or from -2 to 2 (continuous parts): InfoGAN's
    "varying c1 / varying c2" pictures. A stylegan run also takes --truncation,
    --truncation-clusters and style mixing (--mix-from, --mix-layers).
    """
    import torch

    from . import pictures
    from .api import load_run
    from .edit import code_sweep

    styled = psi != 1.0 or clusters is not None or mix_from is not None or mix_layers is not None
    if sweep is not None:
        default = f"sweep-{sweep}.png"
    elif styled:
        default = f"samples-styled-{n}.png"
    else:
        default = f"samples-{n}.png" if class_ is None else f"samples-class{class_}-{n}.png"
    out = pictures.picture_path(out or Path(run) / default)
    loaded = load_run(run, ema=not no_ema)
    model = loaded.model
    gen = torch.Generator().manual_seed(seed)
    if styled:
        from .families.stylegan import styled_samples

        x, what = styled_samples(model, n, seed, psi, clusters, mix_from, mix_layers, classes=class_, sweep=sweep)
        pictures.save_samples(x, out, nrow=nrow)
        click.echo(f"gane: wrote {n} samples ({what}) to {out}")
        return
    if sweep is not None:
        grid = code_sweep(model, sweep, rows=min(n, 10), generator=gen, classes=class_)  # (rows, cols, *shape)
        if grid.ndim != 5:
            raise GaneError("--sweep draws image grids; this model makes vectors. Use --class or plain sampling.")
        pictures.save_samples(grid.flatten(0, 1), out, nrow=grid.shape[1])
        click.echo(f"gane: wrote a {grid.shape[0]} x {grid.shape[1]} sweep of {sweep} to {out} (one row per code, {sweep} varies along each row)")
        return
    x = model.sample(n, generator=gen, classes=class_)
    if model.sampling_note():
        click.echo(f"gane: note: {model.sampling_note()}")
    real = None
    if x.ndim == 2:
        real = loaded.data().take(2000).x
    pictures.save_samples(x, out, real=real, nrow=nrow)
    click.echo(f"gane: wrote {n} samples{'' if class_ is None else f' of class {class_}'} to {out}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--data", default=None, help="dataset to reconstruct (default: the run's, test split when it has one)")
@click.option("--n", type=click.IntRange(min=1), default=32, show_default=True, help="number of images")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="PNG or JPEG file (default RUN/reconstructions-test.png)")
def reconstruct(run, data, n, out):
    """Reconstruct real data through E and G: each real row above its reconstruction."""
    from . import pictures
    from .api import load_run

    out = pictures.picture_path(out or Path(run) / "reconstructions-test.png")
    loaded = load_run(run)
    if not loaded.model.has_encoder:
        loaded.model.encode(None)  # raises the family's "no encoder" message
    batch = loaded.data(data).take(n)
    recon = loaded.model.reconstruct(batch.x)
    pictures.save_reconstructions(batch.x, recon, out)
    mse = float((recon - batch.x).pow(2).mean())
    click.echo(f"gane: wrote {len(batch.x)} reconstructions to {out} (mean squared error {mse:.4f})")


class _EvalCommand(click.Command):
    """`gane eval --help` ends with the registered metrics, read when help is shown."""

    def format_epilog(self, ctx, formatter):
        from .metrics import METRICS

        with formatter.section("Metrics"):
            formatter.write_dl([(name, m.description + (f" (needs: {', '.join(m.needs)})" if m.needs else ""))
                                for name, m in METRICS.items()])


def _device_option(f):
    from .device import DEVICE_HELP

    return click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)(f)


def _space_option(f):
    return click.option("--space", type=click.Choice(["z", "w", "w+"]), default="z", show_default=True,
                        help="the latent space to invert into: z, or for stylegan w (one style for every layer) or w+ (one per layer)")(f)


@cli.command("eval", cls=_EvalCommand)
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--metrics", "metric_names", required=True, help="comma-separated metric names (listed below), e.g. fd,kid,pr,recon")
@click.option("--split", default="test", show_default=True, help="split of the dataset to judge against (datasets without it use their train split)")
@click.option("--n", type=click.IntRange(min=2), default=5000, show_default=True,
              help="samples drawn; reals: N examples of the split spread through it (all of it when N covers it)")
@click.option("--data", default=None, help="dataset to judge against (default: the run's own)")
@click.option("--features", type=click.Choice(["domain", "inception"]), default="domain", show_default=True,
              help="feature network for fd, kid, is, pr, dc and recon's feature distance: the dataset's own classifier, or Inception-v3")
@click.option("--inception-weights", type=click.Path(path_type=Path), default=None,
              help="the FID Inception-v3 weights file (pt_inception-2015-12-05-6726825d.pth); default: the torch hub cache")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="seed of the samples")
@click.option("--train-n", type=click.IntRange(min=2), default=10_000, show_default=True, help="labelled train examples knn and probe learn from")
@click.option("--no-ema", is_flag=True, help="judge the raw networks even if the run kept a moving average")
@_device_option
def eval_(run, metric_names, split, n, data, features, inception_weights, seed, train_n, no_ema, device):
    """Judge a trained run with registered metrics: prints a table and appends it to RUN/metrics.json.

    Example: `gane eval runs/bigan-mnist-5k --metrics fd,kid,pr,recon,knn`.
    """
    from .api import evaluate

    if inception_weights is not None and features != "inception":
        features = "inception"
    rec = evaluate(run, metric_names, split=split, n=n, data=data, features=features,
                   inception_weights=str(inception_weights) if inception_weights else None, seed=seed, train_n=train_n,
                   ema=not no_ema, device=device, log=lambda msg: click.echo(f"gane: {msg}"))
    from .api import metrics_file

    step = f"step {rec['step']}" if rec["step"] is not None else rec["checkpoint"]
    judged = [f"{rec['reals']:,} {rec['split']} examples of {rec['dataset']}" if rec["reals"] is not None else None,
              f"{' and '.join(f'{n:,}' for n in rec['samples_drawn'])} samples" if rec["samples_drawn"] else None]
    click.echo(f"\n{run} at {step}: " + ", ".join(j for j in judged if j)
               + (f"; features: {rec['features']}" if rec["features"] else ""))
    width = max(len(k) for k in rec["metrics"])
    for k, v in rec["metrics"].items():
        click.echo(f"  {k:<{width}}  {v:.4g}")
    click.echo(f"gane: appended to {metrics_file(Path(rec['checkpoint']))} ({rec['seconds']:.1f} s)")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--images", "images", multiple=True,
              help="what to invert: test or train (that split of the run's data; default test), a dataset name, or a folder or "
                   "image file (repeatable)")
@click.option("--method", "methods", default="optimize", show_default=True,
              help="comma-separated: encoder (E(x)), optimize (descent on z), hybrid (descent from E(x)), multicode (mGANprior)")
@click.option("--n", type=click.IntRange(min=1), default=16, show_default=True, help="number of images (spread through a split)")
@click.option("--steps", type=click.IntRange(min=0), default=300, show_default=True, help="optimisation steps")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.05, show_default=True, help="learning rate for the codes")
@click.option("--optimizer", type=click.Choice(["adam", "rmsprop", "sgd"]), default="adam", show_default=True,
              help="optimiser of the codes (sgd with momentum 0.9)")
@click.option("--pixel", type=click.Choice(["mse", "l1"]), default="mse", show_default=True, help="pixel distance")
@click.option("--features", type=click.Choice(["none", "domain", "discriminator"]), default="none", show_default=True,
              help="feature distance added to the pixel one: the domain classifier's features or the run's discriminator's")
@click.option("--feature-weight", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="weight of the feature distance (relative to the target's own feature size)")
@click.option("--prior-weight", type=click.FloatRange(min=0), default=1e-3, show_default=True,
              help="weight of the mean square of the code's Gaussian parts (its negative log-prior)")
@click.option("--categorical", type=click.Choice(["relax", "fixed"]), default="relax", show_default=True,
              help="one-hot code parts: a softmax over learnt logits, or kept (a class from the labels or E(x))")
@click.option("--codes", type=click.IntRange(min=1), default=4, show_default=True, help="multicode: number of codes")
@click.option("--layer", type=click.IntRange(min=1), default=None, help="multicode: the layer of G the codes are mixed at (default: the middle)")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="images optimised together")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="seed of the starting codes (optimize's prior draws, multicode's codes)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder for grid.png, curve.png and inversion.json "
              "(default RUN/inversions/N, a new N each time)")
@click.option("--encoder", default=None, metavar="NAME",
              help="encoder and hybrid: an encoder fitted with `gane fit-encoder` (default: the family's own E)")
@_space_option
@click.option("--no-ema", is_flag=True, help="use the raw networks even if the run kept a moving average")
@_device_option
def invert(run, images, methods, n, steps, lr, optimizer, pixel, features, feature_weight, prior_weight, categorical, codes, layer,
           batch_size, seed, out, encoder, space, no_ema, device):
    """Invert real images into a trained run's frozen generator: grid, PSNR curve and a table of each method.

    Example: `gane invert runs/bigan-mnist-5k --method encoder,optimize,hybrid,multicode --n 64`.
    """
    from .api import invert as invert_images

    report = invert_images(run, list(images) or None, methods, n, out if out is not None else "auto", encoder=encoder, ema=not no_ema,
                           device=device, space=space,
                           log=lambda msg: click.echo(f"gane: {msg}"), steps=steps, lr=lr, optimizer=optimizer, pixel=pixel, features=features,
                           feature_weight=feature_weight, prior_weight=prior_weight, categorical=categorical, codes=codes,
                           layer=layer, batch_size=batch_size, seed=seed, curve_every=max(1, steps // 20), progress=True)
    for note in report.notes:
        click.echo(f"gane: note: {note}")
    click.echo(f"\n{report.targets.source}:\n{report.table()}")
    rows = "grid rows" if report.targets.x.dim() == 4 else "colours"
    click.echo(f"gane: wrote {', '.join(report.files)} to {report.folder} ({rows}: the targets, then {', '.join(report.results)})")


@cli.command("fit-encoder")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--method", required=True, type=click.Choice(["z-regression", "x-reconstruction", "domain-guided"]),
              help="z-regression: pairs (G(z), z); x-reconstruction: real images through G; domain-guided: in-domain "
                   "inversion (x-reconstruction + D's realism + code consistency)")
@click.option("--name", default=None, help="saved as RUN/encoders/NAME (default: the method)")
@click.option("--steps", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=2), default=64, show_default=True)
@click.option("--width", type=click.FloatRange(min=0, min_open=True), default=None, help="E's width (default: the run's)")
@click.option("--features", type=click.Choice(["domain", "discriminator", "none"]), default="domain", show_default=True,
              help="feature distance of x-reconstruction and domain-guided")
@click.option("--feature-weight", type=click.FloatRange(min=0), default=0.1, show_default=True)
@click.option("--realism-weight", type=click.FloatRange(min=0), default=0.01, show_default=True, help="domain-guided: weight of D's realism term")
@click.option("--code-weight", type=click.FloatRange(min=0), default=1.0, show_default=True, help="domain-guided: weight of E(G(z)) = z")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--no-ema", is_flag=True, help="fit to the raw generator even if the run kept a moving average")
@_device_option
def fit_encoder_(run, method, name, steps, lr, batch_size, width, features, feature_weight, realism_weight, code_weight, seed, no_ema,
                 device):
    """Fit an encoder to a trained run's frozen generator; saved into the run as RUN/encoders/NAME.

    An interrupted fit resumes when run again with the same settings. Example:
    `gane fit-encoder runs/gan-mnist-5k --method x-reconstruction`, then
    `gane invert runs/gan-mnist-5k --method encoder,hybrid --encoder x-reconstruction`.
    """
    import json

    from .api import fit_encoder

    folder = fit_encoder(run, method, name, ema=not no_ema, device=device, log=lambda msg: click.echo(f"gane: {msg}"), steps=steps, lr=lr,
                         batch_size=batch_size, width=width, features=features, feature_weight=feature_weight,
                         realism_weight=realism_weight, code_weight=code_weight, seed=seed, progress=True)
    final = json.loads((folder / "config.json").read_text()).get("final", {})
    losses = ", ".join(f"{k} {v:.4g}" for k, v in final.items())
    click.echo(f"gane: fitted {folder.name} ({method}, {steps:,} steps; last batch: {losses}) in {folder}\n"
               f"gane: use it with `gane invert {run} --method encoder,hybrid --encoder {folder.name}`")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--task", required=True, type=click.Choice(["inpaint", "denoise", "colorize", "superres"]),
              help="the degradation to undo")
@click.option("--mask", default="centre", show_default=True,
              help="inpaint: centre (or center), rectangles, strokes, or an image file (white = missing, resized to the model's size)")
@click.option("--noise", type=click.FloatRange(min=0, min_open=True), default=0.3, show_default=True,
              help="denoise: std of the Gaussian noise added (data in [-1, 1])")
@click.option("--factor", type=click.IntRange(min=2), default=4, show_default=True, help="superres: downsampling factor")
@click.option("--images", "images", multiple=True, help="what to degrade and restore: as for `gane invert` (default: test split)")
@click.option("--method", "methods", default="optimize", show_default=True,
              help="comma-separated inversion methods (encoder, optimize, hybrid, multicode)")
@click.option("--n", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--steps", type=click.IntRange(min=0), default=300, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.05, show_default=True)
@click.option("--prior-weight", type=click.FloatRange(min=0), default=1e-3, show_default=True)
@click.option("--codes", type=click.IntRange(min=1), default=4, show_default=True, help="multicode: number of codes")
@click.option("--layer", type=click.IntRange(min=1), default=None, help="multicode: the layer of G the codes are mixed at")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="masks, noise and starting codes")
@click.option("--encoder", default=None, metavar="NAME", help="encoder and hybrid: a fitted encoder (default: the family's own)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder for grid.png and restore.json (default RUN/restorations/N)")
@_space_option
@click.option("--no-ema", is_flag=True, help="use the raw networks even if the run kept a moving average")
@_device_option
def restore(run, task, mask, noise, factor, images, methods, n, steps, lr, prior_weight, codes, layer, seed, encoder, out, space, no_ema,
            device):
    """Restore degraded images through a trained run's frozen generator, beside each task's classical baseline.

    Example: `gane restore runs/bigan-mnist-5k --task inpaint --mask strokes --method hybrid,multicode`.
    """
    from .api import restore as restore_images
    from .inversion.restore import table

    result = restore_images(run, task, list(images) or None, methods, n, out if out is not None else "auto", encoder=encoder,
                            mask=mask, noise=noise, factor=factor, degrade_seed=seed, ema=not no_ema, device=device, space=space,
                            log=lambda msg: click.echo(f"gane: {msg}"), steps=steps, lr=lr, prior_weight=prior_weight,
                            codes=codes, layer=layer, seed=seed, progress=True)
    click.echo(f"\n{task} ({result.degradation.description}), against the clean images:\n{table(result)}")
    click.echo(f"gane: wrote grid.png and restore.json to {result.folder} (grid rows: clean, observed, "
               f"{', '.join(result.restored)})")


def _refuse_unused(ctx, belongs_to: str | None, names: list[str]) -> None:
    """An error naming the options given on the command line that this use of the command would ignore."""
    if belongs_to is None:
        return
    given = [n for n in names if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
    if given:
        flags = ", ".join("--" + (n if n != "attributes_csv" else "attributes").replace("_", "-") for n in given)
        raise GaneError(f"{flags} {'belongs' if len(given) == 1 else 'belong'} to {belongs_to}, which this command line does not ask "
                        "for; drop it, or ask for that.")


def _codes_options(f):
    """--encoder, --invert and --invert-steps, shared by the editing commands."""
    f = click.option("--invert-steps", type=click.IntRange(min=1), default=300, show_default=True,
                     help="with --invert optimize or hybrid: its optimisation steps")(f)
    f = click.option("--invert", "invert_method", type=click.Choice(["encoder", "optimize", "hybrid"]), default="encoder",
                     show_default=True, help="how the images' codes are found: E (own or --encoder), or an inversion method")(f)
    f = click.option("--encoder", default=None, metavar="NAME", help="an encoder fitted with `gane fit-encoder` (default: the family's own)")(f)
    return f


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--attribute", default=None, help="label=V, a computed attribute (thickness, brightness, slant, height) or a "
                                                 "boolean column of --attributes")
@click.option("--attributes", "attributes_csv", type=click.Path(path_type=Path), default=None,
              help="CSV whose first column names image files and whose boolean columns are attributes (e.g. CelebA's)")
@click.option("--alphas", default="-2,-1,0,1,2", show_default=True, help="comma-separated steps along the attribute vector")
@click.option("--images", "images", multiple=True, help="images to edit and measure the vector on (as for `gane invert`)")
@click.option("--n", type=click.IntRange(min=1), default=8, show_default=True, help="images edited (rows)")
@click.option("--pool", type=click.IntRange(min=2), default=1000, show_default=True, help="images the attribute vector is measured on")
@click.option("--edit-mask", type=click.Path(path_type=Path), default=None, help="constrained edit (iGAN): the region to edit, white in an image file")
@click.option("--edit-image", type=click.Path(path_type=Path), default=None, help="constrained edit: the target pixels, from an image file")
@click.option("--edit-value", type=float, default=None, help="constrained edit: a target value in [-1, 1] for the whole region")
@click.option("--steps", type=click.IntRange(min=1), default=200, show_default=True, help="constrained edit: optimisation steps")
@click.option("--code-weight", type=click.FloatRange(min=0), default=0.1, show_default=True, help="constrained edit: lambda1 on ||z - z0||^2")
@click.option("--realism-weight", type=click.FloatRange(min=0), default=0.0, show_default=True, help="constrained edit: lambda2 on D's realism")
@_codes_options
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder for the picture and JSON (default RUN/edits/N)")
@click.option("--no-ema", is_flag=True, help="use the raw networks even if the run kept a moving average")
@_device_option
def edit(run, attribute, attributes_csv, alphas, images, n, pool, edit_mask, edit_image, edit_value, steps, code_weight,
         realism_weight, encoder, invert_method, invert_steps, out, no_ema, device):
    """Edit images through the code space: along an attribute vector, or by a painted constraint (iGAN).

    Examples: `gane edit runs/b --attribute thickness`, `gane edit runs/b --attribute label=7 --alphas 0,0.5,1,1.5`,
    `gane edit runs/b --edit-mask hole.png --edit-value 1`.
    """
    from .edit import constrained, edit as attribute_edit

    target = out if out is not None else "auto"
    _refuse_unused(click.get_current_context(), "--invert optimize or hybrid" if invert_method == "encoder" else None, ["invert_steps"])
    if edit_mask is not None:
        if attribute is not None:
            raise GaneError("Give --attribute or --edit-mask, not both: they are two kinds of edit.")
        _refuse_unused(click.get_current_context(), "--attribute", ["alphas", "pool", "attributes_csv"])
        rec = constrained(run, edit_mask, edit_image, edit_value, list(images) or None, n, steps, code_weight=code_weight,
                          realism_weight=realism_weight, encoder=encoder, invert=invert_method, invert_steps=invert_steps,
                          out=target, ema=not no_ema, device=device)
        click.echo(f"gane: inside the mask the squared error to the target went from {rec['target_error_before']:.4f} to "
                   f"{rec['target_error_after']:.4f}; outside it the image moved by {rec['change_outside']:.4f} (mean squared)")
        click.echo(f"gane: wrote constrained.png (one row per image; columns: the image, its reconstruction, the edit asked, the result) to {rec['folder']}")
        return
    if attribute is None:
        raise GaneError("Say what to edit: --attribute (label=V, thickness, brightness, slant, height, or a CSV column) "
                        "or --edit-mask with --edit-image or --edit-value.")
    _refuse_unused(click.get_current_context(), "--edit-mask", ["edit_image", "edit_value", "steps", "code_weight", "realism_weight"])
    try:
        steps_along = [float(a) for a in alphas.split(",") if a.strip()]
    except ValueError:
        steps_along = []
    if len(set(steps_along)) < 2 or not all(math.isfinite(a) for a in steps_along):
        raise GaneError(f"--alphas takes at least two different finite numbers, comma-separated (e.g. -2,-1,0,1,2); got {alphas!r}.")
    rec = attribute_edit(run, attribute, steps_along, list(images) or None, n, pool, attributes_csv, encoder, invert_method,
                         target, ema=not no_ema, device=device, invert_steps=invert_steps)
    click.echo(f"gane: attribute vector of {rec['set']} ({rec['images_in_set']} of {rec['images']} images)")
    click.echo("gane: how far the edit moves each computed attribute (standard deviations per unit alpha): "
               + ", ".join(f"{k} {v:+.2f}" if v is not None else f"{k} n/a (the same in every image)" for k, v in rec["moves"].items()))
    click.echo(f"gane: wrote edit.png (each row: the image, then alpha = {', '.join(f'{a:g}' for a in rec['alphas'])}) to {rec['folder']}")


@cli.command("interpolate")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--images", "images", multiple=True, help="images in pairs (or threes with --arithmetic); default: test images")
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True)
@click.option("--mode", type=click.Choice(["linear", "spherical"]), default="linear", show_default=True)
@click.option("--arithmetic", is_flag=True, help="decode a - b + c for each three images instead")
@_codes_options
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder for the picture and JSON (default RUN/edits/N)")
@click.option("--no-ema", is_flag=True, help="use the raw networks even if the run kept a moving average")
@_device_option
def interpolate_(run, images, steps, mode, arithmetic, encoder, invert_method, invert_steps, out, no_ema, device):
    """Interpolate between images in code space (linear or spherical), or do vector arithmetic a - b + c."""
    from .edit import interpolate_images

    ctx = click.get_current_context()
    _refuse_unused(ctx, "--invert optimize or hybrid" if invert_method == "encoder" else None, ["invert_steps"])
    if arithmetic:
        _refuse_unused(ctx, "interpolation (without --arithmetic)", ["steps", "mode"])
    rec = interpolate_images(run, list(images) or None, steps, mode, arithmetic, encoder, invert_method,
                             out if out is not None else "auto", ema=not no_ema, device=device, invert_steps=invert_steps)
    what = "arithmetic.png (each row: a, b, c as reconstructed, then a - b + c)" if arithmetic else \
        f"interpolation.png (each row: the first image, {steps} {mode} steps, the second image)"
    click.echo(f"gane: wrote {what} to {rec['folder']}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--images", "images", multiple=True, help="query images (as for `gane invert`; default: test images)")
@click.option("--n", type=click.IntRange(min=1), default=8, show_default=True, help="queries")
@click.option("--k", type=click.IntRange(min=1), default=8, show_default=True, help="neighbours per query")
@click.option("--metric", type=click.Choice(["l2", "cosine"]), default="l2", show_default=True)
@click.option("--pool", default="train", show_default=True, help="what is searched: train or test (of the run's data), a dataset, or a folder of images")
@click.option("--pool-n", type=click.IntRange(min=1), default=10_000, show_default=True, help="images of the pool searched")
@_codes_options
@click.option("--out", type=click.Path(path_type=Path), default=None, help="folder for the picture and JSON (default RUN/edits/N)")
@click.option("--no-ema", is_flag=True, help="use the raw networks even if the run kept a moving average")
@_device_option
def neighbors(run, images, n, k, metric, pool, pool_n, encoder, invert_method, invert_steps, out, no_ema, device):
    """Nearest neighbours of query images in code space: each query, then its k nearest images of the pool."""
    from .edit import neighbors as find

    _refuse_unused(click.get_current_context(), "--invert optimize or hybrid" if invert_method == "encoder" else None, ["invert_steps"])
    rec = find(run, list(images) or None, n, k, metric, pool, pool_n, encoder, invert_method, out if out is not None else "auto",
               ema=not no_ema, device=device, invert_steps=invert_steps)
    same = f"; {rec['same_label']:.1%} of neighbours share their query's label" if "same_label" in rec else ""
    click.echo(f"gane: wrote neighbors.png (each row: a query, then its {rec['k']} nearest in {metric}) to {rec['folder']}{same}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--images", "images", multiple=True,
              help="what to translate: test or train (that split of the run's task; default test), a dataset name (a "
                   "two-domain task, or images of the source domain's shape), or folders and image files (resized to fit)")
@click.option("--to", "to", type=click.Choice(["A", "B"]), default="B", show_default=True,
              help="the domain to translate into (A: two-way models only, from images of B)")
@click.option("--n", type=click.IntRange(min=1), default=16, show_default=True, help="images taken from a split or dataset (files: the first N)")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="folder for the PNG files (default RUN/translations/N, a new N each time)")
@click.option("--grid", is_flag=True, help="also write grid.png: sources above their translations (and the true targets, for aligned data)")
@_device_option
@click.option("--no-ema", is_flag=True, help="use the raw networks even if the run kept a moving average")
def translate(run, images, to, n, out, grid, device, no_ema):
    """Translate images with a trained translation run (pix2pix, cyclegan, ...): one PNG per image.

    Examples: `gane translate runs/pix2pix-edges2digits --grid`,
    `gane translate runs/cyclegan-digits2styled --to A --images photos/ --out styled-back`.
    """
    from .api import translate_images

    result = translate_images(run, list(images) or None, to, n, out if out is not None else "auto", grid, ema=not no_ema, device=device)
    for note in result.notes:
        click.echo(f"gane: note: {note}")
    against = ""
    if result.quality:
        against = f"; against the true targets: L1 {result.quality['l1']:.4f}, PSNR {result.quality['psnr']:.2f} dB"
    source = "A" if to == "B" else "B"
    click.echo(f"gane: translated {result.source} ({source} -> {to}){against}")
    click.echo(f"gane: wrote {len(result.names)} PNG files{' and grid.png' if grid else ''} to {result.folder}")


@cli.command("list")
@click.option("--data-root", default=None, help="also look for dataset files here")
def list_(data_root):
    """Families, datasets (and whether each is available offline here), losses and presets."""
    from .api import datasets, families
    from .config import PRESETS
    from .data import DataOptions
    from .losses import ADVERSARIAL_LOSSES

    from .families import FAMILIES

    click.echo("Families (gane train FAMILY --help for options):")
    for name, desc in families().items():
        if not FAMILIES.get(name).translates:
            click.echo(f"  {name:<12} {desc}")
    click.echo("\nTranslation models (gane train MODEL --data TASK, then gane translate RUN):")
    for name, desc in families().items():
        if FAMILIES.get(name).translates:
            click.echo(f"  {name:<16} {desc}")
    click.echo("\nDatasets (--data NAME):")
    for name, d in datasets(DataOptions(data_root=data_root)).items():
        shown = f"{name}[:SPEC]" if d["takes_path"] == "optional" else f"{name}:PATH" if d["takes_path"] else name
        status = "available offline" if d["available"] else "not found here (see --data-root / --download)"
        click.echo(f"  {shown:<18} {status:<46} {d['description']}")
    from .metrics import METRICS

    click.echo("\nMetrics (gane eval RUN --metrics a,b; gane train ... --metrics a,b):")
    for name, metric in METRICS.items():
        click.echo(f"  {name:<10} {metric.description}")
    from .suites import SUITES

    click.echo(f"\nBenchmark suites (gane bench suite NAME): {', '.join(SUITES.names())}")
    click.echo("\nAdversarial losses (--loss):")
    for name, loss in ADVERSARIAL_LOSSES.items():
        click.echo(f"  {name:<10} {loss.description}")
    if PRESETS.names():
        click.echo("\nPresets (applied when family and dataset match):")
        for name, p in PRESETS.items():
            click.echo(f"  {name:<22} {p.summary}")


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/quickstart"), show_default=True)
@click.option("--minutes", type=float, default=4.0, show_default=True, help="training time budget")
@click.option("--seed", default=0, show_default=True)
def quickstart(out, minutes, seed):
    """Train BiGAN on the built-in MNIST digits and write a report with pictures and numbers."""
    from .quickstart import run_quickstart

    run_quickstart(out, minutes=minutes, seed=seed)


@cli.command()
@click.argument("runs_dir", type=click.Path(path_type=Path), default=Path("runs"), required=False)
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="the address to listen on; anything but this machine's own (127.0.0.1) lets other machines in, with a warning")
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="the largest image a page may upload, in MB")
@click.option("--device", default="cpu", show_default=True, help="where the models run: " + "cpu, cuda, cuda:N, mps or auto")
def studio(runs_dir, port, host, max_upload_mb, device):
    """Open the runs under RUNS_DIR (default runs/) in the browser: sample, encode, edit, paint,
    restore and translate, on http://127.0.0.1:PORT. Needs the studio extra: pip install 'gane[studio]'."""
    from .studio import serve

    serve(runs_dir, host=host, port=port, max_upload_mb=max_upload_mb, device=device, say=click.echo)


@cli.group()
def bench():
    """Benchmarks: trainer speed (`bench train`) and published tables reproduced (`bench suite`)."""


@bench.command("train")
@click.argument("family")
@click.option("--data", default="mnist-5k", show_default=True)
@click.option("--steps", default=500, show_default=True, help="timed steps per loop (after 25 untimed ones); a multiple of 25")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--repeats", default=3, show_default=True, help="alternating timed rounds of each loop")
@click.option("--device", default="auto", show_default=True)
@click.option("--width", type=float, default=None, help="network width multiplier")
@click.option("--variants", default="default", show_default=True,
              help="comma-separated trainer variants to time, each against the same plain loop: default, unfused, fused, "
                   "bf16, channels-last, bf16+channels-last, compile, cuda-graph, bf16+cuda-graph")
def bench_train(family, data, steps, batch_size, repeats, device, width, variants):
    """images/s of the gane trainer beside a plain PyTorch loop of the same networks and losses."""
    from .bench import bench_train as run_bench

    run_bench(family, data=data, steps=steps, batch_size=batch_size, repeats=repeats, device=device, width=width,
              variants=tuple(v.strip() for v in variants.split(",") if v.strip()))


@bench.command("suite")
@click.argument("name")
@click.option("--data", "datasets", multiple=True, help="only these datasets (repeatable); default: the suite's own list")
@click.option("--runs", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="run folders are kept (and reused when finished) under here")
@click.option("--results", type=click.Path(path_type=Path), default=Path("benchmarks/results"), show_default=True,
              help="where NAME.md and NAME.json are written")
@click.option("--fresh", is_flag=True, help="retrain runs that already finished")
@click.option("--family", "families", multiple=True, help="only these families (repeatable); default: the suite's own list")
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="suites with seeds (modes-2d, stacked-mnist, and claims for its 2-D runs): how many")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="suites with their own protocol: training steps per run (modes-2d, stacked-mnist, translation, modern: "
                   "of 32 images); inversion: optimisation steps per image")
@click.option("--width", type=click.FloatRange(min=0, min_open=True), default=None,
              help="suites with their own protocol: width multiplier of the protocol's networks")
def bench_suite(name, datasets, runs, results, fresh, families, seeds, steps, width):
    """Reproduce a published table or a lecture's claim at gane's scale: modes-2d, stacked-mnist,
    representation, fidelity, claims, inversion, translation, modern.

    Our rows beside the quoted ones, with the command, the wall time and where our protocol differs,
    written to RESULTS/NAME.md (+ .json). Runs are reused when finished, resumed when interrupted.
    """
    from .families import FAMILIES
    from .suites import SUITES, SuiteOptions, run_suite

    SUITES.get(name)  # an unknown name is refused before anything runs
    for f in families:
        FAMILIES.get(f)
    path = run_suite(name, SuiteOptions(tuple(datasets), runs, results, fresh, seeds, tuple(families), steps, width,
                                        log=lambda m: click.echo(f"gane: {m}")))
    click.echo(f"gane: wrote {path} and {path.with_suffix('.json')}")


def _paragraph(msg: str, prefix: str = "") -> str:
    """``prefix`` and the message as one paragraph of at most 100 columns; never broken inside a word,
    a path or an option name like --image-size."""
    return textwrap.fill(" ".join(str(msg).split()), width=100, initial_indent=prefix,
                         break_on_hyphens=False, break_long_words=False)


class _SayHandler(logging.Handler):
    """Prints the library's notes (logger "gane", e.g. the image size chosen for a folder) as "gane: ..." lines.

    Library use stays quiet: only the command line installs it. Under torchrun only rank 0 speaks.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if os.environ.get("RANK", "0") == "0":
            click.echo(f"gane: {self.format(record)}")  # resolves sys.stdout now, not when installed


def _say_library_notes() -> None:
    logger = logging.getLogger("gane")
    if not any(isinstance(h, _SayHandler) for h in logger.handlers):
        logger.addHandler(_SayHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    _say_library_notes()
    try:
        with _help_keeps_option_names():
            cli.main(args=argv, prog_name="gane", standalone_mode=False)
    except GaneError as e:
        click.echo(_paragraph(str(e), "gane: error: "), err=True)
        return EXIT_USER_ERROR
    except click.exceptions.Abort:
        click.echo("gane: aborted.", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("gane: interrupted; the last complete checkpoint is kept. Continue with --resume.", err=True)
        return 130
    except OSError as e:
        if e.filename is None:  # not about a file: a fault of gane's, with its traceback
            raise
        # the machine refused a file (no space, no permission, a read-only or special file system):
        # the path and the reason are what to act on
        where = f"{e.filename}" + (f" -> {e.filename2}" if e.filename2 else "")
        advice = {errno.ENOSPC: "Free space on that disk", errno.EDQUOT: "Free space within your quota",
                  errno.EACCES: "Fix its permissions or pass a path you can write to", errno.EPERM: "Fix its permissions or pass "
                  "a path you can write to", errno.EROFS: "Pass a path on a file system that can be written"}.get(e.errno, "Check the path")
        click.echo(_paragraph(f"{where}: {e.strerror or e}. {advice}, then run the command again.", "gane: error: "), err=True)
        return EXIT_IO_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
