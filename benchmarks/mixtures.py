"""Train every family on the 2-D mixtures ring8 and grid25 with its preset, and count the modes
its samples cover. Writes benchmarks/results/mixtures.md (+ .json and one scatter plot per run).

    .venv/bin/python benchmarks/mixtures.py                       # every family, both mixtures (about an hour on 2 cores)
    .venv/bin/python benchmarks/mixtures.py --family gan --data ring8

PacGAN's measures (Lin et al. 2018; gane.metrics.modes), on 2,500 samples: a sample is high
quality when it lies within 3 standard deviations of the nearest mode's centre (0.03 for ring8,
0.15 for grid25); the reverse KL is KL(q || uniform) of the high-quality samples' histogram over
the modes. A mode counts as covered when at least 5 high-quality samples land on it, a stricter
rule than PacGAN's one sample (the `modes` metric and the modes-2d suite use PacGAN's), kept
because every preset note and tuning record in docs/presets.md was measured with it. Runs are kept in
runs/bench-mixtures/DATA/FAMILY; a finished one is evaluated again, not retrained (--fresh retrains).

    .venv/bin/python benchmarks/mixtures.py --speed 500           # steps/s of every preset (about 20 minutes)

``--speed STEPS`` trains nothing to the end: it times STEPS steps of each preset with the gane
trainer (gane.bench.gane_loop), once with one tick inside the timed steps (as a run has one every
500 steps) and once without, and with a plain loop over the same phases, networks and moving
average (gane.bench.plain_loop), in alternating rounds, on one thread and in CPU seconds of this
process (the machine is shared with other jobs), and writes the "Speed" section of mixtures.md
(kept in mixtures-speed.json).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import statistics
import time

import torch

import gane
from gane.bench import WARMUP, gane_loop, plain_loop
from gane.config import resolve
from gane import pictures
from gane.config import preset_for
from gane.data import load_data
from gane.data.sources import MIXTURES
from gane.metrics import MetricContext
from gane.metrics.modes import mixture_modes
from gane.train import latest_checkpoint

HERE = Path(__file__).resolve().parent
SAMPLES, MIN_PER_MODE = 2500, 5


def run_one(family: str, data: str, runs: Path, fresh: bool, pictures_dir: Path) -> dict:
    out = runs / data / family
    if fresh and out.exists():
        shutil.rmtree(out)
    done = out / "bench-done"
    if not done.exists():  # train, or resume an interrupted run
        result = gane.train(family, data=data, out=str(out), resume=latest_checkpoint(out) is not None)
        done.write_text(json.dumps({"seconds": result.seconds}))
    seconds = json.loads(done.read_text())["seconds"]
    ctx = MetricContext(gane.load(out), data, "test", n=SAMPLES, seed=0)
    means_fn, std = MIXTURES[data]
    m = mixture_modes(ctx.samples(), torch.tensor(means_fn()), std, min_per_mode=MIN_PER_MODE)
    backdrop = load_data(data, "test").take(2000).x
    pictures.save_samples(ctx.samples()[:1000], pictures_dir / f"{data}-{family}.png", real=backdrop)
    return {"seconds": seconds, "modes": m["modes"], "of": m["modes_of"], "high_quality": m["high_quality"], "reverse_kl": m["reverse_kl"]}


def write_markdown(rows: dict, path: Path) -> None:
    lines = [
        "# Every family on the 2-D mixtures",
        "",
        "Written by `benchmarks/mixtures.py`: each family trained on `ring8` (8 Gaussians on a circle of radius 1, "
        "std 0.01) and `grid25` (25 Gaussians on a 5x5 grid with spacing 2, std 0.05) with its preset, seed 0, on this "
        f"project's 2-core CPU machine. PacGAN's measures on {SAMPLES:,} samples: **high quality** is the fraction within "
        f"3 standard deviations of the nearest mode's centre; a mode is **covered** when at least {MIN_PER_MODE} "
        "high-quality samples land on it (PacGAN counts one: the `modes` metric and benchmarks/results/modes-2d.md, "
        "which trains every family with PacGAN's own networks over several seeds, follow PacGAN); the **reverse KL** "
        "is KL(q || uniform) of the high-quality samples' histogram q over the modes.",
        "",
        "| family | data | wall time | modes covered | high quality | reverse KL | preset |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in rows.items():
        fam, data = key.split("/")
        preset = preset_for(fam, data)
        kl = f"{r['reverse_kl']:.3f}" if "reverse_kl" in r else ""
        lines.append(f"| `{fam}` | {data} | {r['seconds']:.0f} s | {r['modes']:.0f} / {r['of']:.0f} | {r['high_quality']:.1%} | {kl} | "
                     f"{preset.note if preset else 'family defaults'} |")
    lines += speed_section(path.parent / "mixtures-speed.json")
    lines += ["", "Pictures: 1,000 samples (red) over real points (grey).", ""]
    for key in rows:
        fam, data = key.split("/")
        lines += [f"## {fam} on {data}", "", f"![{fam} on {data}](mixtures/{data}-{fam}.png)", ""]
    path.write_text("\n".join(lines))


def speed_section(path: Path) -> list[str]:
    """The "Speed" section from the --speed measurements, if there are any."""
    if not path.exists():
        return []
    speed = json.loads(path.read_text())
    rows = speed["rows"]
    if not all("no_tick" in r for r in rows.values()):
        return []  # measured by an earlier version of this script, without the trainer's steps alone
    lines = [
        "",
        "## Speed",
        "",
        f"Measured by `benchmarks/mixtures.py --speed {speed['steps']} --rounds {speed['rounds']}` with the code at "
        f"`{speed['commit']}`: {speed['steps']} steps of each preset (its batch size) after {WARMUP} untimed ones, one thread, "
        "steps per CPU second of the measuring process (the 2-core machine is shared with other jobs, whose load this "
        "clock leaves out; the wall times above are from the full runs, taken on the same machine under other loads), "
        "in alternating rounds; medians of the rounds. **trainer, one tick**: `gane.bench.gane_loop`, the trainer with "
        f"its logging and loss checks and one tick inside the timed steps (pictures, the code mixture's fit where the "
        f"preset has one, a checkpoint), as a run has one every 500 steps. **trainer, steps only**: the same with no tick "
        "inside the timed steps. **plain loop**: `gane.bench.plain_loop`, the family's phases over the same networks, "
        "with the preset's moving average, in a hand-written loop.",
        "",
        "| family | data | trainer, one tick | trainer, steps only | plain loop | one tick / plain | steps only / plain |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in rows.items():
        fam, data = key.split("/")
        lines.append(f"| `{fam}` | {data} | {r['gane']:,.0f} | {r['no_tick']:,.0f} | {r['plain']:,.0f} | "
                     f"{r['gane'] / r['plain']:.2f} | {r['no_tick'] / r['plain']:.2f} |")
    steps_only = sorted(r["no_tick"] / r["plain"] for r in rows.values())
    with_tick = sorted(r["gane"] / r["plain"] for r in rows.values())
    spread = sorted(max(v) / min(v) for r in rows.values() for v in r["rounds"].values())
    lines += [
        "",
        f"Between ticks the trainer runs at the plain loop's speed: steps only / plain is {statistics.median(steps_only):.2f} "
        f"at the median ({steps_only[0]:.2f} to {steps_only[-1]:.2f}). With its tick the median is "
        f"{statistics.median(with_tick):.2f} ({with_tick[0]:.2f} to {with_tick[-1]:.2f}). Single rows are noisy: the two "
        f"rounds of one measurement differ by {statistics.median(spread) - 1:.0%} at the median and up to "
        f"{spread[-1] - 1:.0%} on this shared machine, so read the medians. The tick's work is what a plain loop does not "
        "do, and it weighs most where a step is cheapest (ae and vae, 3 to 5 ms a step). Profiled with cProfile on "
        "ae/grid25, a tick takes about 0.47 CPU seconds: refitting the code mixture to 10,000 codes (scikit-learn's "
        "k-means, then EM over 25 full-covariance components; the ae, vae, aae, alphagan and vaegan presets have one) "
        "about 0.33 s, which is what lets every checkpoint sample from a density that matches its own encoder; the "
        "pictures, their TensorBoard copies and the checkpoint, most of it on a background thread, the rest. EM written "
        "in torch over all components at once was no faster on this CPU (and slower for 16- and 64-dimensional codes), "
        "and EM started from the previous tick's mixture, 2 to 3 times cheaper, stayed in that fit's poor optimum early in "
        "training, when the codes move far between ticks (aae on ring8 covered 6 of 8 modes, not 8); so every fit is "
        "scikit-learn's, from k-means. bigan and bigbigan are slow on grid25 because of their networks, not the trainer: "
        "at width 1 their joint D(x, z) has 1.12 million weights (a 512-wide z path and a 1,024-wide joint layer, with "
        "dropout), against 67 thousand in gan's D.",
    ]
    return lines


def measure_speed(families, datasets, steps: int, rounds: int, results: Path) -> None:
    """Steps/s of each preset, gane trainer and plain loop, in alternating rounds (see the module docstring)."""
    import subprocess

    torch.set_num_threads(1)
    time.perf_counter = time.process_time  # the clock gane_loop's trainer and plain_loop read
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    path = results / "mixtures-speed.json"
    out = {"steps": steps, "rounds": rounds, "commit": commit, "rows": {}}
    if path.exists():  # measurements taken with the same settings are kept: presets can be measured in parts
        old = json.loads(path.read_text())
        if (old["steps"], old["rounds"]) == (steps, rounds):
            out["rows"] = old["rows"]
    # One untimed run first: what a process pays once (imports, matplotlib's first figure) is not
    # a cost of the preset that happens to be measured first.
    gane_loop(families[0], {"data": datasets[0], "device": "cpu"}, WARMUP)
    for data in datasets:
        for fam in families:
            cfg = resolve(fam, data=data, device="cpu")
            t = cfg.train
            ways = {
                "gane": lambda: gane_loop(fam, {"data": data, "device": "cpu"}, steps) / t.batch_size,
                "no_tick": lambda: gane_loop(fam, {"data": data, "device": "cpu"}, steps, tick=False) / t.batch_size,
                "plain": lambda: plain_loop(fam, dict(cfg.model.__dict__), data, steps, t.batch_size, t.lr, (t.beta1, t.beta2),
                                            torch.device("cpu"), ema=t.ema) / t.batch_size,
            }
            runs = {w: [] for w in ways}
            for r in range(rounds):
                for w in (list(ways) if r % 2 == 0 else list(reversed(ways))):
                    runs[w].append(ways[w]())
            out["rows"][f"{fam}/{data}"] = {w: statistics.median(v) for w, v in runs.items()} | {"rounds": runs}
            print(f"{fam} on {data}: trainer {out['rows'][f'{fam}/{data}']['gane']:.0f}, plain loop "
                  f"{out['rows'][f'{fam}/{data}']['plain']:.0f} steps/s", flush=True)
            path.write_text(json.dumps(out, indent=2))
            rows = json.loads((results / "mixtures.json").read_text()) if (results / "mixtures.json").exists() else {}
            write_markdown({k: rows[k] for d in MIXTURES for f in gane.families() if (k := f"{f}/{d}") in rows}, results / "mixtures.md")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", action="append", choices=list(gane.families()), help="only these families (repeatable); default: all")
    ap.add_argument("--data", action="append", choices=list(MIXTURES), help="only these mixtures (repeatable); default: both")
    ap.add_argument("--runs", type=Path, default=Path("runs/bench-mixtures"))
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--fresh", action="store_true", help="retrain runs that already finished")
    ap.add_argument("--speed", type=int, metavar="STEPS", help="only time STEPS steps of each preset (see above)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of --speed")
    args = ap.parse_args(argv)
    families = args.family or list(gane.families())
    (args.results / "mixtures").mkdir(parents=True, exist_ok=True)
    json_path = args.results / "mixtures.json"
    rows = json.loads(json_path.read_text()) if json_path.exists() else {}
    if args.speed:
        measure_speed(families, args.data or list(MIXTURES), args.speed, args.rounds, args.results)
        print(f"wrote {args.results / 'mixtures.md'}")
        return 0
    for data in args.data or list(MIXTURES):
        for fam in families:
            print(f"== {fam} on {data}", flush=True)
            rows[f"{fam}/{data}"] = run_one(fam, data, args.runs, args.fresh, args.results / "mixtures")
            print(f"   {json.dumps(rows[f'{fam}/{data}'])}", flush=True)
            ordered = {k: rows[k] for d in MIXTURES for f in gane.families() if (k := f"{f}/{d}") in rows}
            json_path.write_text(json.dumps(ordered, indent=2))
            write_markdown(ordered, args.results / "mixtures.md")
    print(f"wrote {args.results / 'mixtures.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
