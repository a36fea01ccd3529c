"""How responsive the studio is on this machine: the page's requests timed over HTTP against the
studio served on localhost, each beside the same work called in Python (the HTTP layer's cost is
their ratio). Writes benchmarks/results/studio.md (+ .json).

    make demo                                   # trains runs/quickstart (bigan on mnist-5k)
    .venv/bin/python benchmarks/studio.py       # times it (about a minute)
    .venv/bin/python benchmarks/studio.py --run runs/other --repeats 100

What is timed (median and 90th percentile of --repeats calls, after 5 untimed ones):
- encode: POST /api/encode, an uploaded image -> G(E(x)) with its PSNR and SSIM, as a PNG;
- edit: POST /api/edit, one attribute slider moved (E, the vector, G);
- sample: POST /api/sample, a grid of 32;
- paint: a 50-step constrained edit from a painted stroke, POST /api/paint until its job is done,
  polled every 20 ms as the page does (the page polls every 80 ms);
- the same work through Studio's Python methods, and the bare model calls (E and G, constrained_edit).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gane.errors import GaneError
from gane.studio import Background, Studio

TARGETS = {"encode": 100.0, "paint": 2000.0}  # ms: what issue 18 asks on a 2-core CPU


def post(url: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json", "X-Gane-Studio": "1"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def get(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path, timeout=60) as r:
        return json.loads(r.read())


def timed(fn, repeats: int, warm: int = 5) -> dict:
    for _ in range(warm):
        fn()
    ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {"median_ms": statistics.median(ms), "p90_ms": ms[int(0.9 * (len(ms) - 1))], "n": repeats}


def png_bytes(array, mode=None) -> bytes:
    b = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(b, "PNG")
    return b.getvalue()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, default=Path("runs/quickstart"), help="the run to time (default: make demo's)")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--paint-repeats", type=int, default=10)
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = ap.parse_args(argv)
    run = args.run
    if not (run / "checkpoints").is_dir():
        print(f"benchmarks/studio.py: {run} is not a trained run. Train it first: make demo (or pass --run RUN).", file=sys.stderr)
        return 2
    studio = Studio(run.parent)
    run_id = run.name
    info = studio.describe(run_id)
    if not info["tabs"]["encode"] or not info.get("encoders"):
        print(f"benchmarks/studio.py: {run} has no encoder; time a run of a family with one (bigan, vae, ...).", file=sys.stderr)
        return 2
    c, h, w = info["shape"]
    image = studio.examples(run_id, 1)[0]["id"]
    server = Background(studio)
    url = server.url
    loaded = studio.run(run_id)
    model = loaded.model
    x = studio._image(loaded, image)
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[40:216, 110:146] = (255, 255, 255, 255)  # a white bar down the middle
    stroke = png_bytes(layer, "RGBA")
    rows = {}
    try:
        def bare_encode():
            with torch.no_grad():
                model.decode(model.encode(x))

        rows["encode"] = {
            "http": timed(lambda: post(url, "/api/encode", {"run": run_id, "image": image}), args.repeats),
            "python": timed(lambda: studio.encode(run_id, image), args.repeats),
            "model": timed(bare_encode, args.repeats),
        }
        directions = studio.direction_list(run_id)["directions"]
        name = next((d["name"] for d in directions if d["name"] == "thickness"), directions[0]["name"])
        rows["edit"] = {
            "http": timed(lambda: post(url, "/api/edit", {"run": run_id, "image": image, "alphas": {name: 1.5}}), args.repeats),
            "python": timed(lambda: studio.edit(run_id, image, {name: 1.5}), args.repeats),
        }
        rows["sample"] = {
            "http": timed(lambda: post(url, "/api/sample", {"run": run_id, "seed": 1, "n": 32}), args.repeats),
            "python": timed(lambda: studio.sample(run_id, 1, 32), args.repeats),
        }
        start = studio.jobs.wait(studio.paint_start(run_id, image).id).result["state"]
        import base64

        stroke_url = "data:image/png;base64," + base64.b64encode(stroke).decode()

        def paint_http():
            job = post(url, "/api/paint", {"run": run_id, "state": start, "strokes": stroke_url, "steps": 50})["job"]
            while True:
                s = get(url, f"/api/jobs/{job}")
                if s["state"] != "running":
                    if s["state"] != "done":
                        raise GaneError(s.get("error", s["state"]))
                    return
                time.sleep(0.02)

        def paint_python():
            studio.jobs.wait(studio.paint(run_id, start, stroke, None, 50).id)

        from gane.edit import constrained_edit
        from gane.studio.core import stroke_layer

        alpha, colour = stroke_layer(stroke, h, w, c)
        code = studio._remembered(run_id, start)
        with torch.no_grad():
            target = torch.where(alpha > 0, colour, model.decode(code))

        rows["paint"] = {
            "http": timed(paint_http, args.paint_repeats, warm=2),
            "python": timed(paint_python, args.paint_repeats, warm=2),
            "model": timed(lambda: constrained_edit(model, code, alpha, target, 50), args.paint_repeats, warm=2),
        }
    finally:
        server.stop()

    machine = {"cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
               "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
               "processor": platform.machine(), "device": str(model.device)}
    record = {"date": date.today().isoformat(), "run": str(run), "family": info["family"], "shape": info["shape"],
              "machine": machine, "rows": rows, "targets_ms": TARGETS}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "studio.json").write_text(json.dumps(record, indent=2))
    what = {"encode": "encode + reconstruct (E, G, PSNR/SSIM, PNG)", "edit": "an attribute slider moved",
            "sample": "a grid of 32 samples", "paint": "a 50-step paint edit (constrained, from a stroke)"}
    lines = [
        "# The studio's responsiveness",
        "",
        f"`.venv/bin/python benchmarks/studio.py --run {run}` on {record['date']}: {info['family']} ({'x'.join(map(str, info['shape']))}), "
        f"{machine['cpus']} CPU cores, torch {machine['torch']} with {machine['torch_threads']} threads, on the {machine['device']}. "
        "Median (90th percentile) of each request over HTTP to the studio on localhost, beside the same work "
        "called in Python and the bare model; timings on a shared machine are noisy, the ratios less so.",
        "",
        "| request | over HTTP | Studio in Python | bare model | HTTP / Python | target |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in rows.items():
        model_ms = f"{row['model']['median_ms']:.1f} ms" if "model" in row else ""
        target = f"under {TARGETS[key]:.0f} ms: {'met' if row['http']['median_ms'] < TARGETS[key] else 'NOT met'}" if key in TARGETS else ""
        lines.append(f"| {what[key]} | {row['http']['median_ms']:.1f} ms ({row['http']['p90_ms']:.1f}) | "
                     f"{row['python']['median_ms']:.1f} ms | {model_ms} | {row['http']['median_ms'] / row['python']['median_ms']:.2f} | {target} |")
    lines += ["", "The paint edit over HTTP includes polling its job every 20 ms, so up to 20 ms of its time is waiting; "
              "the page polls every 80 ms and shows each intermediate image it finds."]
    (args.results / "studio.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
