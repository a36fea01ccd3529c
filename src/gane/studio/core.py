"""The studio's work, without a web framework: the runs under a folder, the images a person brought,
and each tab's action as a call of gane's own API (sampling, ``gane.edit``, ``gane.inversion``,
restoration, translation). The web layer (``app.py``) only moves JSON and PNGs to and from here, so
everything here is tested without a browser.

Images go in as bytes (an upload) or as a split of a run's data, are kept in memory (never written to
disk) and are converted to a run's shape when a tab uses them: centre-cropped, resized and turned
grey or colour, as ``gane invert --images FILE`` does. Every answer is PNG bytes at the model's size;
the page scales them up.
"""
from __future__ import annotations

import io
import logging
import re
import struct
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import GaneError

log = logging.getLogger("gane.studio")

#: image types an upload may be (Pillow's format names); anything else is refused before it is decoded
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")  # JPEG also opens phone cameras' MPO files
DEFAULT_MAX_UPLOAD_MB = 10.0
KEPT_IMAGES = 256  # uploads and picked images held in memory, oldest forgotten first
KEPT_SIDE = 1024  # an upload is kept at most this many pixels on its longer side (the models draw far fewer)
KEPT_CODES = 256  # paint states (codes) held for undo
POOL = 1000  # images whose codes give the attribute vectors (gane edit's --pool default)
MAX_STEPS = 2000
MAX_FIT_STEPS = 20000
MAX_CLUSTERS = 100
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# ------------------------------------------------------------------------------------------ images
def read_image(data: bytes, name: str = "the upload", max_bytes: int | None = None, max_pixels: int | None = None):
    """Bytes of an uploaded image -> a loaded 8-bit PIL image (grey or RGB, or RGBA when it has
    transparency), or a clear error: too large, not an image type the studio takes, more pixels than
    Pillow's limit (a decompression bomb: a small file that would expand to gigabytes), or damaged."""
    from PIL import Image, UnidentifiedImageError

    from ..data.sources import _as_8bit

    limit = max_bytes if max_bytes is not None else int(DEFAULT_MAX_UPLOAD_MB * 2**20)
    if not data:
        raise GaneError(f"{name} is empty: pick an image file (PNG, JPEG, GIF, BMP, WebP or TIFF).")
    if len(data) > limit:
        raise GaneError(f"{name} is {size_text(len(data))}; the studio takes images up to {size_text(limit)} "
                        "(gane studio --max-upload-mb sets the limit).")
    pixels = max_pixels if max_pixels is not None else Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)  # reads the header only, with these parsers only
            w, h = im.size
            if pixels and w * h > pixels:
                raise GaneError(f"{name} claims {w}x{h} pixels ({w * h / 1e6:.0f} million), more than the "
                                f"{pixels / 1e6:.0f} million Pillow allows: it is refused as a possible decompression bomb.")
            im.seek(0)  # the first frame of an animation
            im.load()
    except GaneError:
        raise
    except UnidentifiedImageError:
        raise GaneError(f"{name} is not an image: pick a PNG, JPEG, GIF, BMP, WebP or TIFF file.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise GaneError(f"{name} has more pixels than Pillow allows: it is refused as a possible decompression bomb.") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as e:
        raise GaneError(f"{name} could not be read as an image ({e}): the file is damaged or cut short.") from None
    from PIL import ImageOps

    im = _as_8bit(ImageOps.exif_transpose(im))  # a phone's photo stands as it was taken
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    return im.convert("L" if im.mode in ("1", "L", "I", "F") else "RGB")


def size_text(n: int) -> str:
    """A number of bytes as a person reads it: 850 bytes, 12 kB, 3.4 MB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 2**20:
        return f"{n / 1024:.3g} kB"
    return f"{n / 2**20:.3g} MB"


def image_tensor(im, shape: tuple[int, ...]) -> torch.Tensor:
    """A PIL image -> (1, C, H, W) in [-1, 1] of ``shape``: centre-cropped to a square, resized, and
    made grey or colour (transparent pixels over white), as gane reads image files."""
    from PIL import Image

    from ..data import images_to_float
    from ..data.sources import square_tensor

    c, h, w = shape
    if h != w:
        raise GaneError(f"gane's image models are square; this one draws {w}x{h} images.")
    if im.mode == "RGBA":
        flat = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(flat, im)
    return images_to_float(square_tensor(im.convert("L" if c == 1 else "RGB"), h)).unsqueeze(0)


def tensor_image(x: torch.Tensor):
    """(C, H, W) in [-1, 1] -> a PIL image (grey or RGB)."""
    from PIL import Image

    a = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    a = a[0].numpy() if a.shape[0] == 1 else a.permute(1, 2, 0).numpy()
    return Image.fromarray(a)


def png(x: torch.Tensor, nrow: int | None = None) -> bytes:
    """PNG bytes of one image (C, H, W) or (1, C, H, W), or of a grid of (n, C, H, W) with ``nrow`` a row."""
    from torchvision.utils import make_grid

    if x.dim() == 4 and len(x) == 1:
        x = x[0]
    if x.dim() == 4:
        x = make_grid(x.detach().float().cpu(), nrow=nrow or len(x), padding=1, pad_value=1.0)
    buf = io.BytesIO()
    tensor_image(x).save(buf, "PNG")
    return buf.getvalue()


def stroke_layer(data: bytes, h: int, w: int, channels: int, max_bytes: int | None = None):
    """A painted layer (a PNG with transparency, at any size) -> (alpha (1, 1, h, w) in [0, 1], colour
    (1, C, h, w) in [-1, 1]): each pixel of the model's image covered by the fraction of paint over it,
    and the mean colour of that paint."""
    from PIL import Image

    im = read_image(data, "the painted layer", max_bytes).convert("RGBA").resize((w, h), Image.BOX)  # Pillow premultiplies alpha
    a = torch.from_numpy(np.asarray(im, dtype=np.float32).copy()) / 255.0  # (h, w, 4)
    alpha = a[..., 3].view(1, 1, h, w)
    rgb = a[..., :3].permute(2, 0, 1).unsqueeze(0) * 2 - 1
    if channels == 1:
        from ..inversion.restore import grey

        rgb = grey(rgb)
    return alpha, rgb


@dataclass
class Picture:
    """An image a person brought (or picked from a run's data), as it came."""

    name: str
    image: object  # PIL image


class Images:
    """The images of this studio session, by id, in memory only (the oldest forgotten past ``KEPT_IMAGES``)."""

    def __init__(self, keep: int = KEPT_IMAGES):
        self.keep, self._items, self._lock = keep, OrderedDict(), threading.Lock()

    def add(self, picture: Picture) -> str:
        key = uuid.uuid4().hex[:12]
        with self._lock:
            self._items[key] = picture
            while len(self._items) > self.keep:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Picture:
        with self._lock:
            if key not in self._items:
                raise GaneError("That image is no longer held by the studio (it keeps the last "
                                f"{self.keep}): upload or pick it again.")
            return self._items[key]


# ------------------------------------------------------------------------------------------ runs
def find_runs(root: Path, depth: int = 3) -> list[Path]:
    """Run folders under ``root`` (a folder holding checkpoints/step-N with a config.json), down to
    ``depth`` levels, in name order. A vqgan run's prior (RUN/prior) is a run of its own."""
    from ..train import latest_checkpoint

    root = Path(root)
    found = []

    def walk(folder: Path, level: int):
        ckpt = latest_checkpoint(folder) if (folder / "checkpoints").is_dir() else None
        if ckpt is not None and (ckpt / "config.json").is_file():
            found.append(folder)
        if level >= depth:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for child in children:
            if child.name not in ("checkpoints", "encoders", "directions", "inversions", "restorations", "edits",
                                  "translations", "tb", "samples"):
                walk(child, level + 1)

    if root.is_dir():
        walk(root, 0)
    return found


@dataclass
class Job:
    """Work that takes a while (an optimisation), run on a thread of its own and watched by the page."""

    id: str
    kind: str
    replaces: str = ""  # a new job cancels the running ones with the same value (default: its kind's first word)
    state: str = "running"  # running, done, error, cancelled
    step: int = 0
    steps: int = 0
    preview: torch.Tensor | None = None
    result: dict = field(default_factory=dict)
    error: str = ""
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    cancelled: bool = False
    note: str = ""  # what the work is doing when steps alone do not say it (e.g. training the domain classifier first)


class Cancelled(Exception):
    """Raised inside a job's watch when a newer job of the page replaced it."""


class Watch:
    """What a job's work calls: ``watch(step, steps, images)`` after each step (images may be None), and
    ``watch.note(text)`` for a line of news; a call raises :class:`Cancelled` once a newer job replaced it."""

    def __init__(self, job: Job):
        self.job = job

    def __call__(self, step, steps, images=None):
        if self.job.cancelled:
            raise Cancelled
        self.job.step, self.job.steps = int(step), int(steps)
        if images is not None:
            self.job.preview = images[:1].detach().cpu()

    def note(self, text) -> None:
        if self.job.cancelled:
            raise Cancelled
        self.job.note = str(text)


class Jobs:
    """Jobs on threads; a new job cancels the running one it replaces (the page shows only the latest).
    The oldest finished jobs are forgotten beyond ``keep``; running ones never are."""

    def __init__(self, keep: int = 32):
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self.keep = keep

    def start(self, kind: str, work: Callable[[Watch], dict], replaces: str | None = None) -> Job:
        """Run ``work(watch)`` on a thread; ``watch`` (a :class:`Watch`) shows its progress. It cancels the
        running jobs with the same ``replaces`` (default: the kind's first word, so a paint start and a
        paint edit replace each other while a Restore goes on beside them)."""
        job = Job(uuid.uuid4().hex[:12], kind, replaces or kind.split("-")[0])
        with self._lock:
            for other in self._jobs.values():
                if other.state == "running" and other.replaces == job.replaces:
                    other.cancelled = True
            self._jobs[job.id] = job
            finished = [key for key, j in self._jobs.items() if j.state != "running"]
            for key in finished[: max(0, len(self._jobs) - self.keep)]:
                del self._jobs[key]

        watch = Watch(job)

        def run():
            try:
                job.result = work(watch)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except GaneError as e:
                job.state, job.error = "error", str(e)
            except Exception as e:  # a fault of gane's, not the user's: said on the page, detailed in the server log
                log.exception("studio job %s (%s) failed", job.id, kind)
                job.state, job.error = "error", f"The studio hit an internal error ({type(e).__name__}: {e}); the server's log has the details."
            job.seconds = time.perf_counter() - job.started

        threading.Thread(target=run, daemon=True, name=f"gane-studio-{kind}").start()
        return job

    def get(self, key: str) -> Job:
        with self._lock:
            if key not in self._jobs:
                raise GaneError("No such job: it finished long ago or the studio was restarted. Run it again.")
            return self._jobs[key]

    def wait(self, key: str, timeout: float = 60.0) -> Job:
        """Block until the job ends (for tests and the benchmark)."""
        end = time.perf_counter() + timeout
        job = self.get(key)
        while job.state == "running" and time.perf_counter() < end:
            time.sleep(0.005)
        return job


class Studio:
    """The runs under ``runs_dir``, loaded on first use (frozen, with their moving averages), and the
    actions of the studio's tabs. Nothing here writes to a run except :meth:`save_direction` and
    :meth:`fit_encoder_job`, each under a new name the user gives."""

    def __init__(self, runs_dir: str | Path = "runs", device: str = "cpu", max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
                 max_pixels: int | None = None):
        from ..device import resolve_device

        self.root = Path(runs_dir)
        if not self.root.exists():
            raise GaneError(f"The runs folder {self.root} does not exist. Train a run first (make demo, or gane train bigan "
                            "--data mnist-5k), or pass the folder that holds your runs: gane studio PATH.")
        if not self.root.is_dir():
            raise GaneError(f"{self.root} is a file; gane studio takes the folder that holds your runs (default runs/).")
        if not max_upload_mb > 0:
            raise GaneError(f"--max-upload-mb must be positive; got {max_upload_mb}.")
        self.device = resolve_device(device)
        self.max_bytes = int(max_upload_mb * 2**20)
        self.max_pixels = max_pixels
        self.images = Images()
        self.jobs = Jobs()
        self._loaded: dict[str, object] = {}
        self._made: dict[tuple, object] = {}  # what _once made, by checkpoint
        self._directions: dict[tuple[str, str], dict] = {}
        self._states: OrderedDict[str, tuple[str, torch.Tensor]] = OrderedDict()
        self._lock = threading.RLock()
        self._locks: dict = {}
        self.refresh()

    # ------------------------------------------------------------------ the runs
    def refresh(self) -> list[str]:
        """Look for runs again (a run trained while the studio is open appears)."""
        self._paths = {p.relative_to(self.root).as_posix() if p != self.root else (p.resolve().name or "."): p
                       for p in find_runs(self.root)}
        return list(self._paths)

    def run_ids(self) -> list[str]:
        return list(self._paths)

    def run(self, run_id: str):
        """The loaded run of an id from the list (never a path from the page)."""
        if run_id not in self._paths:
            self.refresh()
        if run_id not in self._paths:
            raise GaneError(f"There is no run {run_id!r} under {self.root}; pick one from the list.")
        from ..train import latest_checkpoint

        with self._key_lock(("run", run_id)):
            newest = latest_checkpoint(self._paths[run_id])
            loaded = self._loaded.get(run_id)
            if loaded is None or (newest is not None and newest != loaded.checkpoint):  # a run still training moves on
                from ..api import load_run

                loaded = load_run(self._paths[run_id], ema=True, device=self.device, frozen=True)
                with self._lock:
                    self._loaded[run_id] = loaded
                    for key in [k for k in self._directions if k[0] == run_id]:
                        del self._directions[key]
            return loaded

    def _key_lock(self, key) -> threading.Lock:
        """A lock for one slow piece of work (loading a run, its attribute vectors), so others go on meanwhile."""
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def _generative(self, run_id: str):
        """The loaded run, or a clear error when it has no generator of images to sample, invert or edit."""
        loaded = self.run(run_id)
        model = loaded.model
        if getattr(model, "translates", False):
            raise GaneError(f"{run_id} is a translation run ({model.name}): it maps images between two domains and has no "
                            "code to sample, encode, edit, paint or restore through. Use the Translate tab.")
        if model.info.kind != "image":
            raise GaneError(f"{run_id} draws vectors of shape {tuple(model.info.shape)}; the studio works on images.")
        return loaded

    def describe(self, run_id: str) -> dict:
        """What a run is and which tabs it can use, with the reason for each that it cannot."""
        from ..api import _run_dir
        from ..inversion.encoders import FIT_METHODS, fitted_encoders
        from ..inversion.restore import NEEDS_COLOUR, TASKS

        loaded = self.run(run_id)
        model, info = loaded.model, loaded.model.info
        ckpt = loaded.checkpoint
        step = int(ckpt.name.split("-")[-1]) if ckpt.name.startswith("step-") and ckpt.name.split("-")[-1].isdigit() else None
        out = {"id": run_id, "family": model.name, "step": step, "shape": list(info.shape), "kind": info.kind,
               "data": (loaded.config.get("train") or {}).get("data"), "tabs": {}, "why": {}}
        translates = bool(getattr(model, "translates", False))
        image = info.kind == "image"
        if translates:
            out["tabs"] = dict.fromkeys(("sample", "encode", "edit", "paint", "restore"), False)
            for tab in out["tabs"]:
                out["why"][tab] = f"{model.name} is a translation model: it maps images between two domains and has no code to {tab} through."
            out["tabs"]["translate"] = True
            out["directions_to"] = model.directions()
            out["source_shapes"] = {to: list(model.domain_shape("A" if to == "B" else "B")) for to in model.directions()}
            return out
        encoders = (["own"] if model.has_encoder else []) + fitted_encoders(_run_dir(loaded))
        out["encoders"] = encoders
        out["spaces"] = list(model.latent_spaces)
        out["classes"] = model.num_classes
        out["parts"] = [{"name": p.name, "kind": p.kind, "size": p.size} for p in model.code_parts()
                        if p.kind in ("categorical", "uniform") and p.name != "class"]
        out["truncation"] = "w" in model.latent_spaces
        # x-reconstruction first: the lecture's default, and the page's
        out["fit_methods"] = sorted(FIT_METHODS.names(), key=lambda m: (m != "x-reconstruction", m)) if image else []
        out["note"] = model.sampling_note()
        out["tabs"]["sample"] = image
        out["tabs"]["translate"] = False
        out["why"]["translate"] = "only translation runs (pix2pix, cyclegan, unit, ...) translate."
        for tab in ("encode", "paint", "restore"):
            out["tabs"][tab] = image
        out["tabs"]["edit"] = image and bool(encoders)
        if not image:
            for tab in ("sample", "encode", "paint", "restore", "edit"):
                out["why"][tab] = f"this run draws vectors of shape {tuple(info.shape)}; the studio works on images."
        elif not encoders:
            out["why"]["edit"] = (f"attribute vectors need the codes of {POOL} images, from an encoder; {model.name} has none. "
                                  "Fit one in the Encode tab (or with gane fit-encoder).")
        out["restore_tasks"] = (sorted((t for t in TASKS.names() if t not in NEEDS_COLOUR or info.shape[0] == 3),
                                       key=lambda t: t != "inpaint") if image else [])  # inpaint first: the page's default
        return out

    def runs(self) -> list[dict]:
        """The runs for the page's list: id, family, step (read from config.json, without loading weights)."""
        import json

        from ..train import latest_checkpoint

        rows = []
        for run_id, path in self._paths.items():
            ckpt = latest_checkpoint(path)
            try:
                family = json.loads((ckpt / "config.json").read_text()).get("family", "?")
            except (OSError, ValueError):
                family = "?"
            rows.append({"id": run_id, "family": family, "checkpoint": ckpt.name})
        return rows

    def _encoder(self, loaded, name: str | None):
        """None for the family's own E, or a fitted encoder of the run; a clear error where there is none."""
        from ..api import _run_dir
        from ..inversion.encoders import load_encoder, no_encoder_message

        if name in (None, "", "own"):
            if not loaded.model.has_encoder:
                raise GaneError(no_encoder_message(loaded.model.name, "this", _run_dir(loaded)))
            return None
        return self._once(loaded, ("encoder", name),
                          lambda: load_encoder(_run_dir(loaded), name, loaded.model, loaded.model.device, loaded.checkpoint, True))

    def _once(self, loaded, key: tuple, make: Callable):
        """``make()``, made once for this checkpoint of a run (a fitted encoder, the k-means centres of W):
        keyed by the checkpoint's path, so a run reloaded at a newer checkpoint makes its own."""
        full = (str(loaded.checkpoint), *key)
        with self._key_lock(full):
            if full not in self._made:
                value = make()
                with self._lock:
                    self._made[full] = value
            return self._made[full]

    def _image(self, loaded, image_id: str, shape=None) -> torch.Tensor:
        shape = tuple(shape or loaded.model.info.shape)
        if len(shape) != 3:
            raise GaneError(f"This run draws vectors of shape {shape}; the studio works on images.")
        return image_tensor(self.images.get(image_id).image, shape).to(loaded.model.device)

    def _codes(self, loaded, x: torch.Tensor, encoder: str | None) -> torch.Tensor:
        from ..edit import codes_of

        return codes_of(loaded.model, x, self._encoder(loaded, encoder), "encoder")

    # ------------------------------------------------------------------ images in
    def upload(self, data: bytes, name: str = "the upload") -> dict:
        """Keep an uploaded image; returns its id and a preview."""
        im = read_image(data, name, self.max_bytes, self.max_pixels)
        if max(im.size) > KEPT_SIDE:  # kept small: the models see a few dozen pixels, and memory holds KEPT_IMAGES of these
            from PIL import Image

            im.thumbnail((KEPT_SIDE, KEPT_SIDE), Image.LANCZOS)
        shown = im.copy()
        shown.thumbnail((256, 256))
        buf = io.BytesIO()
        shown.save(buf, "PNG")
        return {"id": self.images.add(Picture(Path(name).name or "upload", im)), "name": Path(name).name, "png": buf.getvalue()}

    def examples(self, run_id: str, n: int = 12, domain: str = "A") -> list[dict]:
        """``n`` images spread through the test split of the run's data (of ``domain`` for translation runs)."""
        loaded = self.run(run_id)
        n = max(1, min(int(n), 48))
        if getattr(loaded.model, "translates", False):
            from ..translate.run import translate_run

            to = "B" if domain == "A" else "A"
            if to not in loaded.model.directions():
                raise GaneError(f"{loaded.model.name} translates A to B only; its examples are of domain A.")
            split = _split(loaded)
            try:
                x = translate_run(loaded, split, to, n, out=None).sources
            except GaneError:  # a declared test split whose files are absent (a pix2pix folder without test/)
                if split == "train":
                    raise
                split = "train"
                x = translate_run(loaded, split, to, n, out=None).sources
            what = f"{split} {domain}"
        else:
            if loaded.model.info.kind != "image":
                raise GaneError("This run draws vectors; the studio works on images.")
            split = _split(loaded)
            x = loaded.data(None, split).spread(n).x
            what = split
        out = []
        for i, img in enumerate(x):
            from ..data import images_to_float

            t = images_to_float(img)
            out.append({"id": self.images.add(Picture(f"{what} #{i}", tensor_image(t))), "name": f"{what} #{i}", "png": png(t)})
        return out

    def view(self, run_id: str, image_id: str) -> dict:
        """The image as the run's model sees it (for drawing a mask over exactly those pixels)."""
        loaded = self._generative(run_id)
        return {"png": png(self._image(loaded, image_id))}

    # ------------------------------------------------------------------ Sample
    def sample(self, run_id: str, seed: int = 0, n: int = 16, cls: int | None = None, parts: dict | None = None,
               psi: float = 1.0, clusters: int | None = None) -> dict:
        """A grid of ``n`` samples from ``seed``: the class, InfoGAN's code parts and stylegan's truncation
        (by ``psi`` toward the mean w, or with ``clusters`` toward the nearest of that many k-means
        centres of W) as given."""
        loaded = self._generative(run_id)
        model = loaded.model
        n = int(n)
        if not 1 <= n <= 64:
            raise GaneError(f"Draw 1 to 64 samples; got {n}.")
        parts = {k: v for k, v in (parts or {}).items() if v is not None}
        gen = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            if psi != 1.0:
                from ..families.stylegan import styled_samples

                if cls is not None or parts:
                    raise GaneError("Truncation applies to stylegan's codes alone: leave the class and code parts unset.")
                has_w = "w" in model.latent_spaces  # without W, styled_samples says so before any centres are asked for
                centres = self._centres(loaded, int(clusters)) if clusters is not None and has_w else None
                x, what = styled_samples(model, n, int(seed), float(psi), None if clusters is None else int(clusters), centres=centres)
                return {"png": png(x.cpu(), nrow=min(8, n)), "note": f"{what}."}
            elif parts:
                code = model.sample_codes(n, gen)
                if cls is not None:
                    code = model.set_code_part(code, "class", int(cls))
                for name, value in parts.items():
                    code = model.set_code_part(code, name, value)
                x = model.decode(code)
            else:
                x = model.sample(n, generator=gen, classes=None if cls is None else int(cls))
        return {"png": png(x.cpu(), nrow=min(8, n)), "note": model.sampling_note()}

    def _centres(self, loaded, k: int) -> torch.Tensor:
        """The k-means centres of a run's W for multi-modal truncation, computed once per run and k."""
        if not 1 <= k <= MAX_CLUSTERS:
            raise GaneError(f"Truncation pulls toward 1 to {MAX_CLUSTERS} cluster centres; got {k}.")
        return self._once(loaded, ("centres", k), lambda: loaded.model.cluster_centres(k))

    # ------------------------------------------------------------------ Encode
    def encode(self, run_id: str, image_id: str, encoder: str | None = None) -> dict:
        """x as the model sees it, and G(E(x)) with its PSNR and SSIM against x."""
        from ..inversion.restore import judge_restoration

        loaded = self._generative(run_id)
        t = time.perf_counter()
        x = self._image(loaded, image_id)
        if encoder in (None, "", "own") and not loaded.model.has_encoder:
            return {"x": png(x), "recon": None, "note": f"{loaded.model.name} has no encoder: invert x by optimisation below."}
        with torch.no_grad():
            recon = loaded.model.decode(self._codes(loaded, x, encoder))
        ms = (time.perf_counter() - t) * 1000
        return {"x": png(x), "recon": png(recon), "ms": ms, **judge_restoration(recon.cpu(), x.cpu())}

    def invert_job(self, run_id: str, image_id: str, method: str = "optimize", steps: int = 200, space: str = "z",
                   encoder: str | None = None) -> Job:
        """Optimise a code for the image (optimize, or hybrid from E(x)) on a job the page watches."""
        from ..inversion import InversionOptions, invert
        from ..inversion.restore import judge_restoration

        if method not in ("optimize", "hybrid"):
            raise GaneError(f"The studio inverts by optimize or hybrid; got {method!r}.")
        steps = _steps(steps)
        loaded = self._generative(run_id)
        generator = loaded.model.in_space(space)
        x = self._image(loaded, image_id)
        fitted = self._encoder(loaded, encoder) if method == "hybrid" else None
        if method == "hybrid" and fitted is None and not generator.has_encoder:
            raise GaneError(f"hybrid starts from E(x), and {loaded.model.name} has no encoder into {space}: use optimize.")

        def work(watch):
            result = invert(generator, x, method, InversionOptions(steps=steps, curve_every=max(1, steps // 50)), encoder=fitted, watch=watch)
            return {"png": png(result.images), "curve": result.curve, "seconds": result.seconds,
                    **judge_restoration(result.images.cpu(), x.cpu())}

        return self.jobs.start("invert", work)

    def fit_encoder_job(self, run_id: str, method: str = "x-reconstruction", name: str | None = None, steps: int = 1000) -> Job:
        """Fit an encoder to the run's frozen generator (``gane fit-encoder``) on a job the page watches, and
        save it as RUN/encoders/NAME: with :meth:`save_direction`, the only writes the studio makes to a run.
        A name already saved is refused, never overwritten; a fit stopped midway (a newer fit replaced it,
        or the studio was closed) resumes from its last checkpoint when it is asked for again."""
        from ..api import _run_dir
        from ..inversion.encoders import (FIT_METHODS, NEEDS_DATA, FitOptions, _check_name, _refuse_to_replace, encoder_dir,
                                          fit_encoder)

        FIT_METHODS.get(method)  # a clear error naming the methods
        name = name or method
        if not NAME.match(name):
            raise GaneError(f"An encoder's name is 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit; got {name!r}.")
        _check_name(name)  # and none that gane reads otherwise (own, NAME.partial, NAME.tmp)
        steps = int(steps)
        if not 1 <= steps <= MAX_FIT_STEPS:
            raise GaneError(f"An encoder is fitted for 1 to {MAX_FIT_STEPS} steps; got {steps}.")
        loaded = self._generative(run_id)
        folder = encoder_dir(_run_dir(loaded), name)
        _refuse_to_replace(folder)  # said now, before the job starts; fit_encoder(overwrite=False) checks again when saving

        def work(watch):
            from ..inversion.report import run_classifier

            with self._key_lock(("fit", run_id)):  # a replaced fit of this run stops before this one starts
                t = time.perf_counter()
                features = "none"  # x-reconstruction's feature distance: the domain classifier's, where the data has one
                if method in NEEDS_DATA:
                    watch.note("preparing the domain classifier of the run's data (trained once, then cached)...")
                    with self._key_lock(("classifier", (loaded.config.get("train") or {}).get("data"))):
                        features = "domain" if run_classifier(loaded) is not None else "none"
                    watch.note("")
                fit_encoder(loaded, method, name, FitOptions(steps=steps, features=features), log=watch.note, watch=watch,
                            overwrite=False)
            return {"name": name, "path": str(folder), "seconds": time.perf_counter() - t}

        return self.jobs.start("fit", work, replaces=f"fit:{run_id}")  # fits of other runs go on

    # ------------------------------------------------------------------ Edit
    def directions(self, run_id: str, encoder: str | None = None) -> dict:
        """The attribute vectors of a run (gane edit's): one per class of labelled data and per computed
        attribute, from the codes of ``POOL`` test images, and those saved in RUN/directions."""
        from ..api import _run_dir
        from ..edit.attributes import ATTRIBUTES, attribute_set, attribute_vector
        from ..inversion.targets import load_targets

        loaded = self._generative(run_id)
        key = (run_id, encoder or "own")
        with self._key_lock(("directions",) + key):
            if key in self._directions:
                return self._directions[key]
            model = loaded.model
            source = load_targets(loaded, "test", POOL)
            codes = torch.cat([self._codes(loaded, source.x[i : i + 250].to(model.device), encoder) for i in range(0, len(source.x), 250)])
            found, skipped = {}, {}
            specs = [f"label={k}" for k in sorted(set(source.labels.tolist()))] if source.labels is not None else []
            for spec in specs + ATTRIBUTES.names():
                try:
                    in_set, what = attribute_set(spec, source.x, source.labels)
                    found[spec] = {"vector": attribute_vector(codes, in_set.to(codes.device)), "what": what}
                except GaneError as e:
                    skipped[spec] = str(e)
            from safetensors.torch import load_file

            for path in sorted((_run_dir(loaded) / "directions").glob("*.safetensors")):
                v = load_file(str(path)).get("vector")
                if v is not None and v.numel() == model.code_dim:
                    found[f"saved:{path.stem}"] = {"vector": v.flatten().to(model.device), "what": f"saved in {path}"}
            result = {"found": found, "skipped": skipped, "pool": source.source}
            with self._lock:
                self._directions[key] = result
            return result

    def direction_list(self, run_id: str, encoder: str | None = None) -> dict:
        d = self.directions(run_id, encoder)
        return {"directions": [{"name": k, "what": v["what"]} for k, v in d["found"].items()],
                "skipped": d["skipped"], "pool": d["pool"]}

    def edit(self, run_id: str, image_id: str, alphas: dict[str, float], encoder: str | None = None) -> dict:
        """G(E(x) + sum of alpha * attribute vector) for the sliders' values."""
        loaded = self._generative(run_id)
        found = self.directions(run_id, encoder)["found"]
        x = self._image(loaded, image_id)
        code = self._codes(loaded, x, encoder)
        moved = code.clone()
        for name, alpha in (alphas or {}).items():
            if name not in found:
                raise GaneError(f"There is no direction {name!r} for this run; pick one of {', '.join(found)}.")
            moved = moved + float(alpha) * found[name]["vector"].view(1, -1)
        with torch.no_grad():
            return {"png": png(loaded.model.decode(moved)), "recon": png(loaded.model.decode(code))}

    def interpolate(self, run_id: str, a: str, b: str, t: float = 0.5, mode: str = "linear", encoder: str | None = None,
                    steps: int = 8) -> dict:
        """The image at fraction ``t`` of the way from a's code to b's, and the whole path as a strip."""
        from ..edit.interpolation import code_path, interpolate

        loaded = self._generative(run_id)
        if not 0 <= float(t) <= 1:
            raise GaneError(f"The interpolation fraction is between 0 and 1; got {t}.")
        za = self._codes(loaded, self._image(loaded, a), encoder)
        zb = self._codes(loaded, self._image(loaded, b), encoder)
        with torch.no_grad():
            at = loaded.model.decode(code_path(loaded.model, za, zb, torch.tensor([float(t)], device=za.device), mode)[:, 0])
        strip = interpolate(loaded.model, za, zb, steps, mode)[0]
        return {"png": png(at), "strip": png(strip.cpu(), nrow=steps)}

    def arithmetic(self, run_id: str, a: str, b: str, c: str, encoder: str | None = None) -> dict:
        """G(E(a) - E(b) + E(c)), with the three reconstructions."""
        loaded = self._generative(run_id)
        z = [self._codes(loaded, self._image(loaded, k), encoder) for k in (a, b, c)]
        with torch.no_grad():
            result = loaded.model.decode(z[0] - z[1] + z[2])
            recon = loaded.model.decode(torch.cat(z))
        return {"png": png(result), "recons": png(recon.cpu(), nrow=3)}

    def save_direction(self, run_id: str, direction: str, name: str, encoder: str | None = None) -> dict:
        """Save an attribute vector as RUN/directions/NAME.safetensors (the only write the studio makes to a run)."""
        import json

        from safetensors.torch import save_file

        from ..api import _run_dir

        if not NAME.match(name or ""):
            raise GaneError(f"A direction's name is 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit; got {name!r}.")
        loaded = self._generative(run_id)
        found = self.directions(run_id, encoder)["found"]
        if direction not in found:
            raise GaneError(f"There is no direction {direction!r} for this run.")
        folder = _run_dir(loaded) / "directions"
        path = folder / f"{name}.safetensors"
        if path.exists() or (folder / f"{name}.json").exists():
            raise GaneError(f"{path} already exists; pick another name (the studio never overwrites a saved direction).")
        folder.mkdir(exist_ok=True)
        meta = {"attribute": direction, "what": found[direction]["what"], "encoder": encoder or "own",
                "checkpoint": str(loaded.checkpoint), "pool": self.directions(run_id, encoder)["pool"]}
        save_file({"vector": found[direction]["vector"].detach().cpu().contiguous()}, str(path), metadata={k: str(v) for k, v in meta.items()})
        (folder / f"{name}.json").write_text(json.dumps(meta, indent=2))
        found[f"saved:{name}"] = {"vector": found[direction]["vector"], "what": f"saved in {path}"}
        return {"path": str(path), "name": f"saved:{name}"}

    # ------------------------------------------------------------------ Paint
    def _remember(self, run_id: str, code: torch.Tensor) -> str:
        key = uuid.uuid4().hex[:12]
        with self._lock:
            self._states[key] = (run_id, code.detach())
            while len(self._states) > KEPT_CODES:
                self._states.popitem(last=False)
        return key

    def _remembered(self, run_id: str, key: str) -> torch.Tensor:
        with self._lock:
            if key not in self._states or self._states[key][0] != run_id:
                raise GaneError("That edit is no longer held by the studio: start again from the image.")
            return self._states[key][1]

    def paint_start(self, run_id: str, image_id: str, encoder: str | None = None, steps: int = 200) -> Job:
        """The code painting starts from: E(x), or (without an encoder) an optimised inversion of x."""
        from ..inversion import InversionOptions, invert

        loaded = self._generative(run_id)
        x = self._image(loaded, image_id)
        use_encoder = loaded.model.has_encoder or encoder not in (None, "", "own")

        def work(watch):
            if use_encoder:
                code = self._codes(loaded, x, encoder)
            else:
                code = invert(loaded.model, x, "optimize", InversionOptions(steps=_steps(steps)), watch=watch).codes
            with torch.no_grad():
                image = loaded.model.decode(code)
            return {"png": png(image), "x": png(x), "state": self._remember(run_id, code),
                    "how": "E(x)" if use_encoder else f"an optimised inversion ({steps} steps)"}

        return self.jobs.start("paint-start", work)

    def paint(self, run_id: str, state: str, strokes: bytes | None = None, keep: bytes | None = None, steps: int = 50,
              lr: float = 0.05, code_weight: float = 0.1) -> Job:
        """iGAN's constrained edit from a painting state: inside the colour strokes G(z) is pulled toward
        their colour, inside the keep strokes toward the image as it is; z stays near its start."""
        from ..edit import constrained_edit

        loaded = self._generative(run_id)
        model = loaded.model
        c, h, w = model.info.shape
        start = self._remembered(run_id, state)
        with torch.no_grad():
            current = model.decode(start)
        mask = torch.zeros(1, 1, h, w, device=start.device)
        target = current.clone()
        if keep:
            alpha, _ = stroke_layer(keep, h, w, c, self.max_bytes)
            mask = torch.maximum(mask, alpha.to(mask.device))
        if strokes:
            alpha, colour = stroke_layer(strokes, h, w, c, self.max_bytes)
            alpha, colour = alpha.to(mask.device), colour.to(mask.device)
            target = torch.where(alpha > 0, colour, target)
            mask = torch.maximum(mask, alpha)
        if float(mask.sum()) == 0:
            raise GaneError("Nothing is painted: draw a colour stroke (or a keep stroke) on the image first.")
        steps = _steps(steps)

        def work(watch):
            image, code = constrained_edit(model, start, mask, target, steps, lr, code_weight, watch=watch)
            inside = mask > 0.5
            err = float(((image - target).pow(2) * mask).sum() / mask.sum().clamp_min(1e-6) / c)
            return {"png": png(image), "state": self._remember(run_id, code), "target_error": err,
                    "painted_pixels": int(inside.sum())}

        return self.jobs.start("paint", work)

    # ------------------------------------------------------------------ Restore
    def restore(self, run_id: str, image_id: str, task: str, method: str = "optimize", steps: int = 200, mask: str = "centre",
                drawn: bytes | None = None, noise: float = 0.3, factor: int = 4, encoder: str | None = None, seed: int = 0) -> Job:
        """Degrade the image by ``task`` and restore it through G (gane restore's), beside the task's classical baseline."""
        from ..inversion import InversionOptions
        from ..inversion.restore import TASKS, DegradeOptions, degrade, restore, shown

        loaded = self._generative(run_id)
        model = loaded.model
        TASKS.get(task)
        if method not in ("optimize", "hybrid", "encoder"):
            raise GaneError(f"The studio restores by optimize, hybrid or encoder; got {method!r}.")
        fitted = self._encoder(loaded, encoder) if method in ("hybrid", "encoder") else None
        x = self._image(loaded, image_id)
        c, h, w = model.info.shape
        if task == "inpaint" and mask == "drawn":
            if not drawn:
                raise GaneError("Draw the region to fill on the image first (or pick a built-in mask).")
            alpha, _ = stroke_layer(drawn, h, w, c, self.max_bytes)
            mask = (alpha < 0.5).float()  # 1 = known, where nothing was drawn
        elif task == "inpaint" and mask not in ("centre", "rectangles", "strokes"):
            raise GaneError(f"The mask is centre, rectangles, strokes or drawn; got {mask!r}.")
        steps = _steps(steps)
        options = DegradeOptions(mask, float(noise), int(factor), int(seed))
        degrade(task, x, options)  # a task this model cannot do, or options it cannot take, are said now, not from the job

        def work(watch):
            result = restore(model, x, task, [method], InversionOptions(steps=steps), options, fitted, watch=watch)
            names = list(result.restored)
            return {"clean": png(x), "observed": png(shown(result.degradation)),
                    "description": result.degradation.description,
                    "results": [{"name": k, "png": png(result.restored[k]), **result.quality[k],
                                 "kind": "through G" if k == method else "baseline"} for k in names]}

        return self.jobs.start("restore", work)

    # ------------------------------------------------------------------ Translate
    def translate(self, run_id: str, image_id: str, to: str = "B") -> dict:
        """The image in the source domain's shape beside its translation into domain ``to``."""
        loaded = self.run(run_id)
        model = loaded.model
        if not getattr(model, "translates", False):
            raise GaneError(f"{model.name} is not a translation model; pick a pix2pix, cyclegan, unit, ... run.")
        if to not in model.directions():
            raise GaneError(f"{model.name} translates A to B only (it is one-way).")
        x = self._image(loaded, image_id, model.domain_shape("A" if to == "B" else "B"))
        t = time.perf_counter()
        y = model.translate(x, to=to)
        return {"source": png(x), "png": png(y), "ms": (time.perf_counter() - t) * 1000}

    def job_state(self, key: str) -> dict:
        """A job as the page shows it: its state, step, the latest image and, when done, its result."""
        job = self.jobs.get(key)
        out = {"id": job.id, "kind": job.kind, "state": job.state, "step": job.step, "steps": job.steps,
               "seconds": job.seconds or time.perf_counter() - job.started}
        if job.preview is not None:
            out["preview"] = png(job.preview)
        if job.note:
            out["note"] = job.note
        if job.state == "done":
            out["result"] = job.result
        elif job.state == "error":
            out["error"] = job.error
        return out


def _split(loaded) -> str:
    """The split the studio picks examples from: the run's data's test split, else its only one."""
    from ..data import split_or_first

    spec = (loaded.config.get("train") or {}).get("data")
    if not spec:
        raise GaneError(f"{loaded.checkpoint / 'config.json'} does not name the data the run was trained on, so there are no "
                        "test images to pick: upload images instead.")
    return split_or_first(spec, "test")


def _steps(steps) -> int:
    steps = int(steps)
    if not 1 <= steps <= MAX_STEPS:
        raise GaneError(f"Steps run from 1 to {MAX_STEPS}; got {steps}.")
    return steps

