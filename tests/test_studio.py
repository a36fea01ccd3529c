"""The studio without a browser: what each tab computes (against gane's own API), what uploads it
refuses, what it never writes, and its HTTP layer and command line."""
from __future__ import annotations

import io
import json
import socket
import struct
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import gane
from gane.cli import main
from gane.errors import GaneError
from gane.studio import Studio, find_runs, read_image
from gane.studio.core import image_tensor, stroke_layer


def png_bytes(array, mode=None) -> bytes:
    b = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(b, "PNG")
    return b.getvalue()


def claimed_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels and that holds almost nothing (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def bar(side=28) -> np.ndarray:
    a = np.zeros((side, side), np.uint8)
    a[side // 4 : 3 * side // 4, side // 2 - 2 : side // 2 + 2] = 255
    return a


# ------------------------------------------------------------------ uploads
@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"just some text", "is not an image"),
    (png_bytes(bar())[:60], "damaged or cut short"),
    (claimed_png(30_000, 30_000), "decompression bomb"),
])
def test_a_bad_upload_is_refused_with_a_reason(data, message):
    with pytest.raises(GaneError, match=message):
        read_image(data, "x.png")


def test_uploads_are_limited_in_size_and_type():
    with pytest.raises(GaneError, match="big.png is .* kB; the studio takes images up to 1 kB"):
        read_image(png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64))), "big.png", max_bytes=1024)
    with pytest.raises(GaneError, match="more than the 0 million Pillow allows|decompression bomb"):
        read_image(png_bytes(bar()), "x.png", max_pixels=100)
    icon = io.BytesIO()
    Image.new("RGB", (16, 16)).save(icon, "ICO")  # an image, but of a type no upload parser reads
    with pytest.raises(GaneError, match="is not an image"):
        read_image(icon.getvalue(), "x.ico")


def test_an_upload_becomes_the_models_shape_as_image_files_do():
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :20, 3] = 255  # the left half opaque red, the right transparent (white once flattened)
    im = read_image(png_bytes(rgba, "RGBA"), "x.png")
    assert im.mode == "RGBA"
    x = image_tensor(im, (1, 28, 28))
    assert x.shape == (1, 1, 28, 28) and -1 <= float(x.min()) and float(x.max()) <= 1
    assert float(x[0, 0, :, -3:].mean()) == pytest.approx(1.0)  # transparent -> white
    assert float(x[0, 0, :, :3].mean()) < 0  # red -> dark grey
    assert image_tensor(read_image(png_bytes(bar()), "x.png"), (3, 16, 16)).shape == (1, 3, 16, 16)


def test_a_painted_layer_becomes_a_soft_mask_and_its_colour():
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[:128, :, :] = (255, 255, 255, 255)  # the top half painted white
    alpha, colour = stroke_layer(png_bytes(layer, "RGBA"), 28, 28, 1)
    assert alpha.shape == (1, 1, 28, 28) and colour.shape == (1, 1, 28, 28)
    assert float(alpha[0, 0, :13].min()) == 1.0 and float(alpha[0, 0, 15:].max()) == 0.0
    assert float(colour[0, 0, :13].mean()) == pytest.approx(1.0, abs=1e-3)


# ------------------------------------------------------------------ runs and tabs
def test_runs_are_found_nested_and_only_runs(studio_runs, tmp_path):
    found = [p.name for p in find_runs(studio_runs)]
    assert found == ["bigan", "gan", "pix2pix"]
    assert find_runs(tmp_path) == []
    import shutil

    shutil.copytree(studio_runs / "gan", tmp_path / "group" / "gan")
    shutil.copytree(studio_runs / "gan", tmp_path / "group" / "gan" / "prior")  # a run inside a run, as vqgan's prior
    (tmp_path / "group" / "gan" / "encoders" / "e" / "checkpoints").mkdir(parents=True)  # not a run
    assert [p.relative_to(tmp_path).as_posix() for p in find_runs(tmp_path)] == ["group/gan", "group/gan/prior"]
    assert Studio(tmp_path).run_ids() == ["group/gan", "group/gan/prior"]
    with pytest.raises(GaneError, match="does not exist"):
        Studio(tmp_path / "nowhere")


def test_each_run_enables_the_tabs_it_can_use(studio_runs):
    s = Studio(studio_runs)
    bigan, gan, p2p = (s.describe(r) for r in ("bigan", "gan", "pix2pix"))
    assert all(bigan["tabs"][t] for t in ("sample", "encode", "edit", "paint", "restore")) and not bigan["tabs"]["translate"]
    assert not gan["tabs"]["edit"] and "fit-encoder" in gan["why"]["edit"]
    assert gan["tabs"]["paint"] and gan["tabs"]["encode"]
    # the registered tasks a grey model can do, inpainting first (the page's default); colour runs add colorize
    assert bigan["restore_tasks"] == ["inpaint", "denoise", "superres"] and p2p.get("restore_tasks", []) == []
    assert p2p["tabs"] == {"sample": False, "encode": False, "edit": False, "paint": False, "restore": False, "translate": True}
    with pytest.raises(GaneError, match="no run"):
        s.describe("../bigan")  # only ids from the list, never a path


@pytest.fixture(scope="module")
def studio(studio_runs):
    return Studio(studio_runs)


@pytest.fixture(scope="module")
def picture(studio):
    return studio.upload(png_bytes(bar()), "bar.png")["id"]


def test_encode_is_g_of_e_of_the_image(studio, studio_runs, picture):
    out = studio.encode("bigan", picture)
    model = gane.load(studio_runs / "bigan", frozen=True)
    x = image_tensor(Image.fromarray(bar()), (1, 28, 28))
    shown = np.asarray(Image.open(io.BytesIO(out["recon"])), dtype=np.float32)
    with torch.no_grad():
        expected = ((model.reconstruct(x)[0, 0].clamp(-1, 1) + 1) * 127.5).round().numpy()
    assert np.abs(shown - expected).max() <= 1
    assert out["psnr"] > 0 and -1 <= out["ssim"] <= 1
    assert studio.encode("gan", picture)["recon"] is None  # no encoder: said, and x shown


def test_an_optimised_inversion_reports_progress_and_improves(studio, picture):
    job = studio.jobs.wait(studio.invert_job("gan", picture, "optimize", 40).id)
    assert job.state == "done", job.error
    assert job.step == 40 and job.preview is not None
    curve = job.result["curve"]
    assert curve[-1][1] > curve[0][1]
    with pytest.raises(GaneError, match="no encoder"):
        studio.invert_job("gan", picture, "hybrid", 10)


def test_a_new_job_cancels_the_one_before(studio, picture):
    first = studio.invert_job("gan", picture, "optimize", 2000)
    second = studio.invert_job("gan", picture, "optimize", 5)
    assert studio.jobs.wait(first.id).state == "cancelled"
    assert studio.jobs.wait(second.id).state == "done"


def test_attribute_sliders_move_the_code_along_gane_edits_vectors(studio, studio_runs, picture):
    listed = studio.direction_list("bigan")
    names = [d["name"] for d in listed["directions"]]
    assert {"label=0", "label=3", "brightness"} <= set(names)
    plain = studio.edit("bigan", picture, {})
    assert plain["png"] == plain["recon"]
    moved = studio.edit("bigan", picture, {"label=3": 2.0})
    assert moved["png"] != plain["png"]
    with pytest.raises(GaneError, match="no direction"):
        studio.edit("bigan", picture, {"smile": 1.0})
    # the vector is gane.edit's: mean code of label 3 minus the mean code of the rest
    from gane.edit import attribute_vector
    from gane.inversion.targets import load_targets

    run = gane.load_run(studio_runs / "bigan", frozen=True)
    source = load_targets(run, "test", 1000)
    with torch.no_grad():
        codes = run.model.encode(source.x)
    expected = attribute_vector(codes, source.labels == 3)
    torch.testing.assert_close(studio.directions("bigan")["found"]["label=3"]["vector"], expected, atol=1e-5, rtol=1e-4)


def test_interpolation_and_arithmetic(studio, picture):
    other = studio.upload(png_bytes(bar().T), "across.png")["id"]
    start, end = studio.interpolate("bigan", picture, other, 0.0), studio.interpolate("bigan", picture, other, 1.0)
    assert start["png"] == studio.edit("bigan", picture, {})["recon"]
    assert end["png"] == studio.edit("bigan", other, {})["recon"]
    assert studio.arithmetic("bigan", picture, picture, other)["png"] == end["png"]  # a - a + c = c
    with pytest.raises(GaneError, match="between 0 and 1"):
        studio.interpolate("bigan", picture, other, 1.5)


def test_a_painted_stroke_pulls_g_toward_it_and_states_chain(studio, picture):
    start = studio.jobs.wait(studio.paint_start("bigan", picture).id)
    assert start.state == "done", start.error
    layer = np.zeros((256, 256, 4), np.uint8)
    layer[40:216, 100:156] = (255, 255, 255, 255)
    job = studio.jobs.wait(studio.paint("bigan", start.result["state"], png_bytes(layer, "RGBA"), None, 100, code_weight=0.0).id)
    assert job.state == "done", job.error
    before = np.asarray(Image.open(io.BytesIO(start.result["png"])), dtype=np.float32)
    after = np.asarray(Image.open(io.BytesIO(job.result["png"])), dtype=np.float32)
    region = np.zeros((28, 28), bool)
    region[5:24, 11:17] = True
    assert after[region].mean() > before[region].mean() + 10  # toward white where the stroke is
    again = studio.jobs.wait(studio.paint("bigan", job.result["state"], None, png_bytes(layer, "RGBA"), 5).id)  # keep it
    assert again.state == "done"
    with pytest.raises(GaneError, match="Nothing is painted"):
        studio.paint("bigan", start.result["state"], None, None)
    with pytest.raises(GaneError, match="no longer held"):
        studio.paint("gan", start.result["state"], png_bytes(layer, "RGBA"))  # another run's state


def test_restoration_is_judged_beside_its_baseline(studio, picture):
    job = studio.jobs.wait(studio.restore("bigan", picture, "inpaint", "optimize", 20).id)
    assert job.state == "done", job.error
    assert [r["name"] for r in job.result["results"]] == ["optimize", "harmonic fill"]
    hole = np.zeros((256, 256, 4), np.uint8)
    hole[100:160, 100:160, 3] = 255
    drawn = studio.jobs.wait(studio.restore("bigan", picture, "inpaint", "encoder", 5, "drawn", png_bytes(hole, "RGBA")).id)
    assert drawn.state == "done" and "drawn" in drawn.result["description"]
    with pytest.raises(GaneError, match="Draw the region"):
        studio.restore("bigan", picture, "inpaint", mask="drawn")
    with pytest.raises(GaneError, match="colour images"):
        studio.restore("bigan", picture, "colorize", steps=2)  # said at once, not from the job
    with pytest.raises(GaneError, match="divides"):
        studio.restore("bigan", picture, "superres", factor=3)


def test_translate_and_the_tabs_a_translator_lacks(studio):
    ex = studio.examples("pix2pix", 2)
    out = studio.translate("pix2pix", ex[0]["id"])
    assert Image.open(io.BytesIO(out["png"])).size == (28, 28)
    with pytest.raises(GaneError, match="translation run"):
        studio.encode("pix2pix", ex[0]["id"])
    with pytest.raises(GaneError, match="one-way"):
        studio.translate("pix2pix", ex[0]["id"], "A")


def test_the_studio_writes_nothing_to_a_run_but_a_saved_direction(studio_runs, picture, studio):
    def files():
        return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in studio_runs.rglob("*") if p.is_file()}

    before = files()
    studio.sample("bigan", 3, 8)
    studio.encode("bigan", picture)
    studio.jobs.wait(studio.invert_job("bigan", picture, "hybrid", 5).id)
    studio.edit("bigan", picture, {"label=1": 1.0})
    studio.jobs.wait(studio.restore("gan", picture, "denoise", steps=3).id)
    assert files() == before
    with pytest.raises(GaneError, match="name"):
        studio.save_direction("bigan", "label=1", "../escape")
    saved = studio.save_direction("bigan", "label=1", "ones")
    added = set(files()) - set(before)
    assert {p.relative_to(studio_runs).as_posix() for p in added} == {"bigan/directions/ones.safetensors", "bigan/directions/ones.json"}
    assert json.loads((studio_runs / "bigan/directions/ones.json").read_text())["attribute"] == "label=1"
    assert saved["name"] in [d["name"] for d in studio.direction_list("bigan")["directions"]]
    with pytest.raises(GaneError, match="already exists"):
        studio.save_direction("bigan", "label=1", "ones")
    fresh = Studio(studio_runs)  # a saved direction is offered again after a restart
    assert "saved:ones" in [d["name"] for d in fresh.direction_list("bigan")["directions"]]


def test_an_encoder_fitted_in_the_studio_is_the_librarys_and_opens_edit(studio_runs, tmp_path):
    import shutil

    from safetensors.torch import load_file

    for copy in ("mine", "library"):
        shutil.copytree(studio_runs / "gan", tmp_path / copy / "gan")
    s = Studio(tmp_path / "mine")
    picture = s.upload(png_bytes(bar()), "bar.png")["id"]
    assert not s.describe("gan")["tabs"]["edit"] and s.describe("gan")["fit_methods"][0] == "x-reconstruction"
    before = {p for p in (tmp_path / "mine").rglob("*") if p.is_file()}
    for args, message in ((("x-reconstruction", "../out"), "name"), (("x-reconstruction", "e.partial"), "name"),
                          (("x-reconstruction", "e", 0), "1 to 20000 steps"), (("guesswork", "e"), "guesswork")):
        with pytest.raises(GaneError, match=message):
            s.fit_encoder_job("gan", *args)
    job = s.jobs.wait(s.fit_encoder_job("gan", "x-reconstruction", "mine", 12).id, timeout=300)
    assert job.state == "done", job.error
    assert (job.step, job.steps) == (12, 12) and job.preview is not None  # the last step's G(E(x)) was shown
    info = s.describe("gan")
    assert info["tabs"]["edit"] and info["encoders"] == ["mine"]
    added = {p.relative_to(tmp_path / "mine").as_posix() for p in (tmp_path / "mine").rglob("*") if p.is_file()} - \
        {p.relative_to(tmp_path / "mine").as_posix() for p in before}
    assert added == {"gan/encoders/mine/encoder.safetensors", "gan/encoders/mine/config.json", "gan/encoders/mine/state.json"}
    # the same fit as the library's (and gane fit-encoder's) with the same settings
    gane.fit_encoder(tmp_path / "library" / "gan", "x-reconstruction", "mine", steps=12,
                     features=json.loads((tmp_path / "mine/gan/encoders/mine/config.json").read_text())["options"]["features"])
    ours, theirs = (load_file(str(tmp_path / r / "gan/encoders/mine/encoder.safetensors")) for r in ("mine", "library"))
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert s.encode("gan", picture, "mine")["recon"] is not None
    assert s.direction_list("gan", "mine")["directions"]
    with pytest.raises(GaneError, match="already has an encoder"):
        s.fit_encoder_job("gan", "z-regression", "mine")
    with pytest.raises(GaneError, match="not 'own'"):
        s.fit_encoder_job("gan", "z-regression", "own")  # the name the page gives the family's own E


def _running_past(job, step, timeout=120):
    end = time.perf_counter() + timeout
    while job.state == "running" and job.step <= step and time.perf_counter() < end:
        time.sleep(0.01)
    assert job.state == "running" and job.step > step, (job.state, job.step, job.error)


def test_fits_in_the_studio_replace_resume_and_leave_other_runs_alone(studio_runs, tmp_path):
    import shutil

    for run in ("gan", "gan2"):
        shutil.copytree(studio_runs / "gan", tmp_path / run)
    s = Studio(tmp_path)
    # a fit past its first checkpoint (500 steps), replaced by a fit of the same name with other settings:
    # that one is refused rather than throwing the unfinished fit away
    first = s.fit_encoder_job("gan", "z-regression", "e", 520)
    _running_past(first, 500)
    other = s.jobs.wait(s.fit_encoder_job("gan", "z-regression", "e", 600).id)
    assert s.jobs.wait(first.id).state == "cancelled"
    assert other.state == "error" and "unfinished fit of 'e' with other settings" in other.error
    assert (tmp_path / "gan/encoders/e.partial").is_dir() and s.describe("gan")["encoders"] == []
    # asked for again with its own settings, it resumes from its checkpoint and finishes
    again = s.jobs.wait(s.fit_encoder_job("gan", "z-regression", "e", 520).id)
    assert again.state == "done" and "resuming the fit from step 500" in again.note
    assert s.describe("gan")["encoders"] == ["e"] and not (tmp_path / "gan/encoders/e.partial").exists()
    # a fit of another run goes on beside one of this run; a new fit of a run replaces that run's own
    long = s.fit_encoder_job("gan", "z-regression", "long", 20000)
    beside = s.jobs.wait(s.fit_encoder_job("gan2", "z-regression", "short", 3).id)
    assert beside.state == "done" and long.state == "running"
    replacing = s.fit_encoder_job("gan", "z-regression", "short", 3)
    assert s.jobs.wait(long.id).state == "cancelled" and s.jobs.wait(replacing.id).state == "done"
    assert s.describe("gan")["encoders"] == ["e", "short"] and s.describe("gan2")["encoders"] == ["short"]


def test_a_running_job_is_never_forgotten():
    import threading

    from gane.studio.core import Jobs

    jobs, release = Jobs(keep=2), threading.Event()
    slow = jobs.start("fit", lambda watch: release.wait(30) and {})
    quick = []
    for k in range(5):
        quick.append(jobs.start(f"other{k}", lambda watch: {}))
        jobs.wait(quick[-1].id)
    jobs.start("last", lambda watch: {})
    assert jobs.get(slow.id).state == "running"  # six newer jobs, and it is still followed
    with pytest.raises(GaneError, match="No such job"):
        jobs.get(quick[0].id)  # finished ones beyond keep are forgotten, oldest first
    release.set()
    assert jobs.wait(slow.id).state == "done"


def test_sample_controls(studio):
    a, b = studio.sample("bigan", 0, 4), studio.sample("bigan", 1, 4)
    assert a["png"] != b["png"] and a["png"] == studio.sample("bigan", 0, 4)["png"]
    with pytest.raises(GaneError, match="not class-conditional"):
        studio.sample("bigan", 0, 4, cls=1)
    with pytest.raises(GaneError, match="1 to 64"):
        studio.sample("bigan", 0, 65)


# ------------------------------------------------------------------ the HTTP layer
@pytest.fixture(scope="module")
def server(studio):
    pytest.importorskip("fastapi", reason="the studio's server needs its extra: pip install -e '.[studio]'")
    from gane.studio import Background

    s = Background(studio)
    yield s
    s.stop()


def request(server, path, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(server.url + path, data=data,
                                 headers={"Content-Type": "application/json", "X-Gane-Studio": "1", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_the_page_and_its_files_are_served(server):
    status, page = request(server, "/")
    assert status == 200 and b"gane studio" in page and b"/static/studio.js" in page
    assert request(server, "/static/studio.js")[0] == 200
    assert request(server, "/static/..%2Fcore.py")[0] == 404
    status, body = request(server, "/api/runs")
    assert [r["id"] for r in json.loads(body)["runs"]][:3] == ["bigan", "gan", "pix2pix"]


def test_mistakes_are_messages_not_tracebacks(server, monkeypatch, studio):
    status, body = request(server, "/api/upload", raw=b"not an image", headers={"Content-Type": "image/png", "X-Filename": "a%20b.png"})
    assert status == 400 and "a b.png is not an image" in json.loads(body)["error"]
    status, body = request(server, "/api/upload", raw=b"hello", headers={"Content-Type": "text/plain"})
    assert status == 400 and "image files" in json.loads(body)["error"]
    status, body = request(server, "/api/sample", raw=b"{not json")
    assert status == 400 and "not understood" in json.loads(body)["error"]
    status, body = request(server, "/api/sample", {"run": "nope"})
    assert status == 400 and "no run 'nope'" in json.loads(body)["error"]
    status, body = request(server, "/api/sample", {"run": "bigan", "n": 1000})
    assert status == 400 and "n" in json.loads(body)["error"]
    monkeypatch.setattr(studio, "sample", lambda *a, **k: 1 / 0)
    status, body = request(server, "/api/sample", {"run": "bigan"})
    assert status == 500 and json.loads(body)["error"].startswith("The studio hit an internal error (ZeroDivisionError)")
    assert "Traceback" not in body.decode()


def test_a_job_is_followed_over_http(server, studio, picture):
    status, body = request(server, "/api/invert", {"run": "gan", "image": picture, "steps": 5})
    job = json.loads(body)["job"]
    studio.jobs.wait(job)
    status, body = request(server, f"/api/jobs/{job}")
    state = json.loads(body)
    assert state["state"] == "done" and state["preview"].startswith("data:image/png;base64,")
    assert state["result"]["png"].startswith("data:image/png;base64,")


def test_large_bodies_and_other_hosts_are_refused(studio_runs, server):
    from gane.studio import Background

    small = Background(Studio(studio_runs, max_upload_mb=0.01))
    try:
        rng = np.random.default_rng(0)
        over = png_bytes(rng.integers(0, 255, (120, 120)))  # 14 kB: over the limit: read, then refused by the studio
        status, body = request(small, "/api/upload", raw=over, headers={"Content-Type": "image/png"})
        assert status == 400 and "takes images up to 10.2 kB" in json.loads(body)["error"]
        huge = png_bytes(rng.integers(0, 255, (400, 400)))  # far over: refused from its Content-Length, unread
        status, body = request(small, "/api/upload", raw=huge, headers={"Content-Type": "image/png"})
        assert status == 413 and "10.2 kB" in json.loads(body)["error"]
    finally:
        small.stop()
    status, _ = request(server, "/api/runs", headers={"Host": "attacker.example"})
    assert status == 400  # a page on another host (DNS rebinding) cannot reach a studio on this machine


def test_other_sites_cannot_post_and_a_streamed_body_is_cut_off(server, studio_runs):
    import http.client

    for headers in ({"X-Gane-Studio": ""}, {"Sec-Fetch-Site": "cross-site"}):
        status, body = request(server, "/api/save-direction", {"run": "bigan", "direction": "label=1", "name": "x"}, headers=headers)
        assert status == 403 and "its own page only" in json.loads(body)["error"]
    assert not (studio_runs / "bigan/directions/x.safetensors").exists()
    status, body = request(server, "/api/nowhere", {})
    assert status == 404 and "Not Found" in json.loads(body)["error"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/api/upload")
    for k, v in (("Content-Type", "image/png"), ("X-Gane-Studio", "1"), ("Transfer-Encoding", "chunked")):
        conn.putheader(k, v)
    conn.endheaders()
    chunk = b"x" * 2**20
    try:
        for _ in range(20):  # 20 MB with no Content-Length, over the 10 MB limit
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close the connection once it has answered
    response = conn.getresponse()
    assert response.status == 413 and "10 MB" in json.loads(response.read())["error"]


# ------------------------------------------------------------------ the command line
def said(text: str) -> str:
    return " ".join(text.split())  # messages are wrapped to 100 columns


def test_gane_studio_says_what_is_wrong(tmp_path, capsys, monkeypatch):
    assert main(["studio", str(tmp_path / "none")]) == 2
    assert "does not exist" in said(capsys.readouterr().err)
    assert main(["studio", str(tmp_path)]) == 2
    assert "no runs under" in said(capsys.readouterr().err).lower()
    monkeypatch.setitem(__import__("sys").modules, "uvicorn", None)
    assert main(["studio", str(tmp_path)]) == 2
    assert "pip install 'gane[studio]'" in said(capsys.readouterr().err)


def test_gane_studio_binds_this_machine_and_warns_otherwise(studio_runs, capsys, monkeypatch):
    pytest.importorskip("uvicorn")
    import uvicorn

    from studio_helpers import free_port

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    port = free_port()
    assert main(["studio", str(studio_runs), "--port", str(port)]) == 0
    out = said(capsys.readouterr().out)
    assert calls[-1]["host"] == "127.0.0.1" and "warning" not in out and f"http://127.0.0.1:{port}" in out
    assert main(["studio", str(studio_runs), "--host", "0.0.0.0", "--port", str(port)]) == 0
    assert calls[-1]["host"] == "0.0.0.0" and "warning: the studio listens on 0.0.0.0" in said(capsys.readouterr().out)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["studio", str(studio_runs), "--port", str(port)]) == 2
        assert "--port" in said(capsys.readouterr().err)


def test_sample_offers_each_models_own_controls(tmp_path, image_npz, vector_npz):
    runs = tmp_path / "runs"
    tiny = {"steps": 2, "tick": 2, "width": 0.125, "batch_size": 16, "progress": False}
    gane.train("infogan", data=f"npz:{image_npz}", z_dim=8, out=str(runs / "infogan"), **tiny)
    gane.train("acgan", data=f"npz:{image_npz}", z_dim=8, out=str(runs / "acgan"), **tiny)
    gane.train("stylegan", data=f"npz:{image_npz}", z_dim=8, out=str(runs / "stylegan"), **tiny)
    gane.train("gan", data=f"npz:{vector_npz}", z_dim=2, out=str(runs / "points"), **tiny)
    colour = np.random.default_rng(0).integers(0, 255, (32, 3, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "colour.npz", x=colour)
    gane.train("gan", data=f"npz:{tmp_path / 'colour.npz'}", z_dim=8, out=str(runs / "colour"), **tiny)
    s = Studio(runs)
    assert s.describe("colour")["restore_tasks"] == ["inpaint", "colorize", "denoise", "superres"]
    info = s.describe("infogan")
    parts = {p["name"]: p["kind"] for p in info["parts"]}
    assert parts and set(parts.values()) <= {"categorical", "uniform"} and "categorical" in parts.values()
    cat = next(n for n, k in parts.items() if k == "categorical")
    assert s.sample("infogan", 0, 8, parts={cat: 0})["png"] != s.sample("infogan", 0, 8, parts={cat: 1})["png"]
    assert s.describe("acgan")["classes"] == 4
    assert s.sample("acgan", 0, 8, cls=0)["png"] != s.sample("acgan", 0, 8, cls=2)["png"]
    style = s.describe("stylegan")
    assert style["truncation"] and style["spaces"] == ["z", "w", "w+"] and not style["tabs"]["edit"]
    assert s.sample("stylegan", 0, 8, psi=0.5)["png"] != s.sample("stylegan", 0, 8)["png"]
    # toward the nearest of k centres of W: the CLI's --truncation-clusters, the same images
    from gane.families.stylegan import styled_samples
    from gane.studio.core import png

    toward = s.sample("stylegan", 0, 8, psi=0.5, clusters=4)
    assert "nearest of 4 cluster centres" in toward["note"] and toward["png"] != s.sample("stylegan", 0, 8, psi=0.5)["png"]
    with torch.no_grad():
        assert toward["png"] == png(styled_samples(s.run("stylegan").model, 8, 0, 0.5, 4)[0].cpu(), nrow=8)
    for k in (0, -1, 500):
        with pytest.raises(GaneError, match="1 to 100 cluster centres"):
            s.sample("stylegan", 0, 8, psi=0.5, clusters=k)
    with pytest.raises(GaneError, match="style space W"):  # a model without W: said before any k-means
        s.sample("acgan", 0, 8, psi=0.5, clusters=4)
    with pytest.raises(GaneError, match="style space"):
        s.sample("acgan", 0, 8, psi=0.5)
    picture = s.upload(png_bytes(bar()), "bar.png")["id"]
    job = s.jobs.wait(s.invert_job("stylegan", picture, "optimize", 5, space="w+").id)
    assert job.state == "done", job.error
    points = s.describe("points")
    assert not any(points["tabs"].values()) and "vectors" in points["why"]["sample"]
