"""Images/s of each family's phases before and after a change to the families, in one run.

    .venv/bin/python benchmarks/phases.py --baseline 18b04dd              # every family on mnist-5k
    .venv/bin/python benchmarks/phases.py --baseline 18b04dd --family aae --family ae --steps 30

The baseline is the package as it was at a git revision (``git archive REV src``); the
current one is this checkout's ``src``. Each measurement is gane.bench.plain_loop (a
hand-written loop over the family's phases, no trainer) on the preset's networks, batch 64,
run in its own process with that version of the package first on the path, on one thread and
timed in CPU seconds of that process (so that other jobs on a shared machine do not count). Rounds alternate
between the two versions (and swap which goes first) so that load on a shared machine hits
both alike; the median of each is reported. Writes benchmarks/results/phases.md and .json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# One thread, and plain_loop's clock replaced by this process's CPU time: other jobs on a shared
# machine then do not count, and what is measured is the work each version does per image.
MEASURE = """
import json, sys, time, torch
torch.set_num_threads(1)
time.perf_counter = time.process_time
from gane.bench import plain_loop
from gane.config import resolve
family, data, steps, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cfg = resolve(family, data=data, batch_size=batch, device="cpu")
t = cfg.train
print(json.dumps(plain_loop(family, dict(cfg.model.__dict__), data, steps, batch, t.lr, (t.beta1, t.beta2), torch.device("cpu"))))
"""

# Forward passes per step through each network, counted at the network's first layer during
# plain_loop's 5 warm-up steps and 1 timed step: a count the machine's load cannot blur.
COUNT = """
import json, sys, torch
import gane.bench as bench
from gane.config import resolve
family, data, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
counts, build = {}, bench.build_family
def counted(*args, **kwargs):
    model = build(*args, **kwargs)
    for name, child in model.named_children():
        first = next((m for m in child.modules() if next(m.parameters(recurse=False), None) is not None), None)
        if first is not None:
            counts[name] = 0
            first.register_forward_hook(lambda m, i, o, name=name: counts.__setitem__(name, counts[name] + 1))
    return model
bench.build_family = counted
cfg = resolve(family, data=data, batch_size=batch, device="cpu")
t = cfg.train
bench.plain_loop(family, dict(cfg.model.__dict__), data, 1, batch, t.lr, (t.beta1, t.beta2), torch.device("cpu"))
print(json.dumps({k: v / 6 for k, v in counts.items() if v}))
"""


def export(revision: str, into: Path) -> Path:
    """The package's sources at a git revision, unpacked under ``into``; returns the src folder."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def images_per_second(src: Path, family: str, data: str, steps: int, batch: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", MEASURE, family, data, str(steps), str(batch)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def passes_per_step(src: Path, family: str, data: str, batch: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", COUNT, family, data, str(batch)], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _passes(counts: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in counts.items())


def write_markdown(result: dict, data: str, batch_size: int, path: Path) -> None:
    t = result["timing"]
    lines = [
        "# Each family's phases before and after sharing work between them",
        "",
        f"Written by `benchmarks/phases.py` on {data} with each family's preset networks, batch {batch_size}. "
        f"Baseline: the package at `{result['baseline']}`; current: `{result['current']}`.",
        "",
        "## Forward passes per step",
        "",
        "Through each network, counted at its first layer during `gane.bench.plain_loop`'s warm-up and one step "
        "(a count the machine's load cannot blur).",
        "",
        "| family | phases | baseline | current |",
        "|---|---|---|---|",
    ]
    for fam, r in result["passes"].items():
        lines.append(f"| `{fam}` | {r['phases']} | {_passes(r['baseline'])} | {_passes(r['current'])} |")
    lines += [
        "",
        "## Images/s",
        "",
        f"`gane.bench.plain_loop` (the family's phases in a hand-written loop, no trainer), {t['steps']} timed steps after "
        f"5 warm-up steps, {t['rounds']} alternating rounds on this project's 2-core CPU machine, one thread, images per "
        "CPU second of the measuring process (the machine is shared with other jobs, whose load this clock leaves out), "
        f"measured with the current code at `{t['current']}`. Medians of the rounds. Families whose code did not change "
        "(`ae`) show how far the timings move by chance.",
        "",
        "| family | baseline images/s | current images/s | current / baseline |",
        "|---|---|---|---|",
    ]
    for fam, r in t["rows"].items():
        lines.append(f"| `{fam}` | {r['baseline']:,.0f} | {r['current']:,.0f} | {r['current'] / r['baseline']:.2f} |")
    lines.append("")
    path.write_text("\n".join(lines))


def main() -> None:
    import gane

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="git revision of the package to compare against")
    ap.add_argument("--family", action="append", help="families to measure (default: all)")
    ap.add_argument("--data", default="mnist-5k")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds; 0 counts passes only and keeps the timings "
                                                          "of the last run against the same baseline")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "phases.md")
    args = ap.parse_args()
    families = args.family or list(gane.families())
    rev = lambda r: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", r], check=True, capture_output=True, text=True).stdout.strip()
    baseline_commit, current_commit = rev(args.baseline), rev("HEAD")
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True).stdout.strip()
    if dirty:
        current_commit += " with uncommitted changes"
    json_path = args.out.with_suffix(".json")
    previous = json.loads(json_path.read_text()) if json_path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        versions = {"baseline": export(args.baseline, Path(tmp)), "current": ROOT / "src"}
        passes = {f: {"phases": " ".join(p.name for p in _phases(f, args.data)),
                      **{v: passes_per_step(src, f, args.data, args.batch_size) for v, src in versions.items()}} for f in families}
        if args.rounds == 0 and previous.get("baseline") == baseline_commit and "timing" in previous:
            timing = previous["timing"]
        else:
            runs = {f: {"baseline": [], "current": []} for f in families}
            for r in range(args.rounds):
                for fam in families:
                    order = ["baseline", "current"] if r % 2 == 0 else ["current", "baseline"]
                    for v in order:
                        runs[fam][v].append(images_per_second(versions[v], fam, args.data, args.steps, args.batch_size))
                    print(f"round {r + 1} {fam}: baseline {runs[fam]['baseline'][-1]:,.0f}, current {runs[fam]['current'][-1]:,.0f} images/s", flush=True)
            timing = {"steps": args.steps, "rounds": args.rounds, "current": current_commit,
                      "rows": {f: {"baseline": statistics.median(v["baseline"]), "current": statistics.median(v["current"]), "rounds": v}
                               for f, v in runs.items() if v["baseline"]}}
    result = {"baseline": baseline_commit, "current": current_commit, "passes": passes, "timing": timing}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2))
    write_markdown(result, args.data, args.batch_size, args.out)
    print(args.out.read_text())


def _phases(family: str, data: str):
    from gane.config import resolve
    from gane.data import load_data
    from gane.families import build_family

    cfg = resolve(family, data=data)
    return build_family(family, dict(cfg.model.__dict__), load_data(data, "train").info).phases()


if __name__ == "__main__":
    main()
