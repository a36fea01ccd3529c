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


def write_markdown(rows: dict, args, baseline_commit: str, current_commit: str, path: Path) -> None:
    lines = [
        "# Each family's phases before and after sharing work between them",
        "",
        f"Written by `benchmarks/phases.py`: `gane.bench.plain_loop` (the family's phases in a hand-written loop, no "
        f"trainer) on {args.data} with each family's preset networks, batch {args.batch_size}, {args.steps} timed steps "
        f"after 5 warm-up steps, {args.rounds} alternating rounds on this project's 2-core CPU machine, one thread, "
        f"images per CPU second of the measuring process (the machine is shared with other jobs, whose load this "
        f"clock leaves out). "
        f"Baseline: the package at `{baseline_commit}`; current: `{current_commit}`. Medians of the rounds.",
        "",
        "| family | phases | baseline images/s | current images/s | current / baseline |",
        "|---|---|---|---|---|",
    ]
    for fam, r in rows.items():
        lines.append(f"| `{fam}` | {r['phases']} | {r['baseline']:,.0f} | {r['current']:,.0f} | {r['current'] / r['baseline']:.2f} |")
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
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "phases.md")
    args = ap.parse_args()
    families = args.family or gane.families()
    rev = lambda r: subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", r], check=True, capture_output=True, text=True).stdout.strip()
    baseline_commit, current_commit = rev(args.baseline), rev("HEAD")
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True).stdout.strip()
    if dirty:
        current_commit += " with uncommitted changes"
    with tempfile.TemporaryDirectory() as tmp:
        versions = {"baseline": export(args.baseline, Path(tmp)), "current": ROOT / "src"}
        runs = {f: {"baseline": [], "current": []} for f in families}
        for r in range(args.rounds):
            for fam in families:
                order = ["baseline", "current"] if r % 2 == 0 else ["current", "baseline"]
                for v in order:
                    runs[fam][v].append(images_per_second(versions[v], fam, args.data, args.steps, args.batch_size))
                print(f"round {r + 1} {fam}: baseline {runs[fam]['baseline'][-1]:,.0f}, current {runs[fam]['current'][-1]:,.0f} images/s", flush=True)
    phase_names = {f: " ".join(p.name for p in _phases(f, args.data)) for f in families}
    rows = {f: {"phases": phase_names[f], "baseline": statistics.median(runs[f]["baseline"]),
                "current": statistics.median(runs[f]["current"]), "rounds": runs[f]} for f in families}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"baseline": baseline_commit, "current": current_commit, "rows": rows}, indent=2))
    write_markdown(rows, args, baseline_commit, current_commit, args.out)
    print(args.out.read_text())


def _phases(family: str, data: str):
    from gane.config import resolve
    from gane.data import load_data
    from gane.families import build_family

    cfg = resolve(family, data=data)
    return build_family(family, dict(cfg.model.__dict__), load_data(data, "train").info).phases()


if __name__ == "__main__":
    main()
