"""The suite registry, its options, the report it returns and the runs it trains."""
from __future__ import annotations

import json
import math
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from ..errors import GaneError, check_writable
from ..registry import Registry


@dataclass
class SuiteOptions:
    datasets: tuple[str, ...] = ()  # empty: the suite's own list
    runs: Path = Path("runs")  # run folders are kept (and reused) under here
    results: Path = Path("benchmarks/results")
    fresh: bool = False  # retrain runs that already finished
    seeds: int | None = None  # suites with seeds: how many (None: the suite's default)
    families: tuple[str, ...] = ()  # empty: the suite's own list
    steps: int | None = None  # suites with their own protocol: training steps per run (None: the suite's default)
    width: float | None = None  # suites with their own protocol: width multiplier of its networks (None: 1.0)
    log: Callable[[str], None] = print


@dataclass
class Table:
    """A Markdown table: ``rows`` are lists of cells; ``quoted`` rows are figures from papers."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    quoted: list[tuple[list[str], str]] = field(default_factory=list)  # (cells, source)
    note: str = ""

    def markdown(self) -> list[str]:
        cols = self.columns + (["source"] if self.quoted else [])
        lines = [f"### {self.title}", ""] + ([self.note, ""] if self.note else [])
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(r + (["gane, measured"] if self.quoted else [])) + " |" for r in self.rows]
        lines += ["| " + " | ".join(cells + [f"quoted: {src}"]) + " |" for cells, src in self.quoted]
        return lines + [""]


@dataclass
class Report:
    name: str
    title: str
    summary: str  # what was measured, in a paragraph
    command: str
    tables: list[Table] = field(default_factory=list)
    protocol: list[str] = field(default_factory=list)  # where ours differs from the paper's
    pictures: list[tuple[str, str]] = field(default_factory=list)  # (caption, path relative to the page)
    data: dict = field(default_factory=dict)  # every number, for the JSON file
    skipped: list[str] = field(default_factory=list)  # what could not run here, and how to make it run

    def markdown(self, seconds: float) -> str:
        lines = [f"# {self.title}", "", self.summary, "",
                 f"Written by `{self.command}` in {seconds / 60:.1f} minutes on {_machine()} (runs it could reuse were not retrained).", ""]
        if self.skipped:
            lines += ["Not run here:", ""] + [f"- {s}" for s in self.skipped] + [""]
        for t in self.tables:
            lines += t.markdown()
        if self.protocol:
            lines += ["## How our protocol differs", ""] + [f"- {p}" for p in self.protocol] + [""]
        for caption, path in self.pictures:
            lines += [f"![{caption}]({path})", "", caption, ""]
        return "\n".join(lines)


SUITES: Registry[Callable[[SuiteOptions], Report]] = Registry("suite")
#: the options of SuiteOptions a suite may be given beyond --data, --runs, --results and --fresh
TUNABLE = ("families", "seeds", "steps", "width")


def register_suite(name: str, accepts: tuple[str, ...] = ()):
    """Register a suite function; ``accepts`` names the options of :data:`TUNABLE` it reads (any other
    one given is refused before the suite runs, never ignored)."""
    def deco(fn):
        fn.accepts = tuple(accepts)
        return SUITES.register(name)(fn)

    return deco


def check_options(name: str, options: SuiteOptions) -> None:
    fn = SUITES.get(name)
    given = [k for k in TUNABLE if getattr(options, k)]
    refused = [k for k in given if k not in fn.accepts]
    if refused:
        flags = ", ".join(f"--{k.rstrip('s') if k == 'families' else k}" for k in refused)
        takes = ", ".join(f"--{k.rstrip('s') if k == 'families' else k}" for k in fn.accepts) or "none of them"
        raise GaneError(f"The {name} suite has no use for {flags}: it trains and judges a fixed set of runs "
                        f"(of --family, --seeds, --steps and --width it takes {takes}).")


def command(name: str, options: SuiteOptions) -> str:
    """The command line that runs suite ``name`` with these options, for its page."""
    o = options
    return (f"gane bench suite {name}" + "".join(f" --data {d}" for d in o.datasets) + "".join(f" --family {f}" for f in o.families)
            + (f" --seeds {o.seeds}" if o.seeds else "") + (f" --steps {o.steps}" if o.steps else "")
            + (f" --width {o.width:g}" if o.width else ""))


#: the small modern generators (issue 17), judged by their own suite, `modern`, beside the best earlier family
MODERN = ("stylegan", "vqgan", "vqgan-prior")


def earlier_families() -> list[str]:
    """The eleven families the families, fidelity, representation and mode-collapse pages judge."""
    from ..families import generative_families

    return [f for f in generative_families() if f not in MODERN]


def gan_and_encoders(name: str, options: SuiteOptions | None = None) -> list[str]:
    """gan and every earlier family with an encoder (the mode-collapse suites' families), or those of them
    ``options.families`` names."""
    from ..families import FAMILIES

    own = ["gan"] + [f for f in earlier_families() if FAMILIES.get(f).has_encoder]
    return check_families(name, options.families if options else (), own)


def finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (nan for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def finite_mean(values: list[float]) -> float:
    """The mean of the finite values (inf when there are none)."""
    kept = finite(values)
    return mean_se(kept)[0] if kept else math.inf


def mean_cell(values: list[float], fmt: str, suffix: str = "") -> str:
    """"mean ± standard error" of the finite values, saying how many were infinite."""
    kept = finite(values)
    if not kept:
        return "inf"
    m, se = mean_se(kept)
    cell = f"{fmt.format(m)}{suffix}" if math.isnan(se) else f"{fmt.format(m)} ± {fmt.format(se)}{suffix}"
    return cell + (f" ({len(values) - len(kept)} inf)" if len(kept) < len(values) else "")


def check_families(name: str, wanted: tuple[str, ...], own: list[str]) -> list[str]:
    """The suite's families limited to ``wanted`` (its own list when empty); a family it does not
    judge is an error naming the ones it does."""
    outside = [f for f in wanted if f not in own]
    if outside:
        raise GaneError(f"The {name} suite judges {', '.join(own)}; not {', '.join(outside)}. Pick --family among those.")
    return [f for f in own if not wanted or f in wanted]


def run_suite(name: str, options: SuiteOptions) -> Path:
    """Run a registered suite and write RESULTS/NAME.md and .json; returns the Markdown path."""
    fn = SUITES.get(name)
    check_options(name, options)
    # before the suite runs: an unwritable folder is said now, not after an hour of training
    for folder, what, flag in ((options.results, "suite's results", "--results"), (options.runs, "suite's runs", "--runs")):
        check_writable(folder, what, flag)
    start = time.perf_counter()
    report = fn(options)
    seconds = time.perf_counter() - start
    md = options.results / f"{name}.md"
    md.write_text(report.markdown(seconds))
    (options.results / f"{name}.json").write_text(json.dumps({"seconds": round(seconds, 1), **report.data}, indent=2))
    return md


def _machine() -> str:
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"{torch.get_num_threads()} CPU threads"
    return f"{platform.machine()} with {device}".replace("1 CPU threads", "1 CPU thread")


# ------------------------------------------------------------------ runs a suite trains or reuses


def available(dataset: str) -> bool:
    from ..data import DATASETS, DataOptions, parse_spec

    return bool(DATASETS.get(parse_spec(dataset)[0]).available(DataOptions()))


def missing_data_note(dataset: str) -> str:
    if dataset == "fashion-mnist":
        return ("fashion-mnist: its files are not on this machine. Install the Debian package "
                "(`apt-get install dataset-fashion-mnist`), or let torchvision fetch them once "
                "(`gane train gan --data fashion-mnist --download --steps 1`), then run the suite again.")
    return f"{dataset}: its files are not on this machine (see `gane list`)."


def preset_run(family: str, dataset: str, runs: Path, images: int | None = None, fresh: bool = False, seed: int = 0,
               log: Callable[[str], None] = print, **options) -> tuple[Path, dict]:
    """The run of ``family`` on ``dataset`` with its preset, trained for ``images`` images seen (or the
    preset's own length), reused when already finished and resumed when interrupted. Returns the run
    folder and {steps, batch_size, seconds, images} (the seconds of training, summed over resumptions)."""
    from ..api import train
    from ..config import DEFAULT_STEPS, resolve
    from ..train import latest_checkpoint

    out = runs / family
    resolved = resolve(family, data=dataset, seed=seed, **options)
    cfg = resolved.train
    steps = -(-images // cfg.batch_size) if images else cfg.steps or DEFAULT_STEPS
    timing_file = out / "bench-timing.json"
    if fresh and out.exists():
        shutil.rmtree(out)
    ckpt = latest_checkpoint(out) if out.exists() else None
    if ckpt is not None:
        _check_same_options(out, family, resolved)
    done = int(json.loads((ckpt / "state.json").read_text())["step"]) if ckpt and (ckpt / "state.json").exists() else None
    timing = json.loads(timing_file.read_text()) if timing_file.exists() else {"seconds": 0.0, "images": 0}
    if ckpt is None or done is None or done < steps:
        log(f"training {family} on {dataset} ({steps:,} steps of {cfg.batch_size}) into {out}")
        result = train(family, data=dataset, steps=steps, out=str(out), resume=ckpt is not None, seed=seed, **options)
        timing = {"seconds": timing["seconds"] + result.seconds, "images": timing["images"] + (result.step - (done or 0)) * cfg.batch_size}
        out.mkdir(parents=True, exist_ok=True)
        timing_file.write_text(json.dumps(timing))
    elif done > steps:
        raise GaneError(f"{out} was trained to step {done}, past the {steps} this suite asks for; pass --fresh or another --runs folder.")
    return out, {"steps": steps, "batch_size": cfg.batch_size, **timing}


def _check_same_options(out: Path, family: str, cfg) -> None:
    """A run folder is reused or resumed only when it was trained with the options asked for now."""
    import dataclasses

    saved_file = out / "config.json"
    if not saved_file.exists():
        return
    saved = json.loads(saved_file.read_text())
    now = {"family": family, **dataclasses.asdict(cfg.model),
           **{k: getattr(cfg.train, k) for k in ("data", "batch_size", "lr", "beta1", "beta2", "ema", "seed")}}
    then = {"family": saved.get("family"), **saved.get("model", {}), **saved.get("train", {})}
    differ = [k for k in now if k in then and then[k] != now[k]]
    if differ:
        raise GaneError(f"{out} was trained with other options ({', '.join(f'{k} {then[k]!r}, not {now[k]!r}' for k in differ)}); "
                        "pass --fresh to retrain it, or another --runs folder.")


#: where benchmarks/families.py keeps its runs: the suites that judge those same runs reuse them
def families_runs(runs: Path, dataset: str) -> Path:
    return runs / ("bench-families" if dataset == "mnist-5k" else f"bench-families-{dataset}")


#: images seen by every family on mnist-5k (benchmarks/families.py's budget); other data: each preset's own length
MNIST_BUDGET = 192_000


def budget(dataset: str) -> int | None:
    return MNIST_BUDGET if dataset == "mnist-5k" else None
