"""The studio driven in a real browser: headless Chromium (Debian's chromium and chromium-driver)
through selenium, against the page served by uvicorn on a free port.

Each tab leaves a screenshot in $GANE_TEST_ARTIFACTS/studio (default test-artifacts/studio). With
GANE_STUDIO_DEMO_RUN=runs/quickstart (a trained run) that run is opened for the image tabs instead of
the tiny untrained one, which is how the README's screenshot is taken.
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import time

import numpy as np
import pytest
import torch
from PIL import Image

from studio_helpers import artifacts, browser_paths

selenium = pytest.importorskip("selenium", reason="the browser tests need selenium (pip install -e '.[test]')")
pytest.importorskip("fastapi", reason="the studio needs its extra: pip install -e '.[studio]'")
BROWSER, DRIVER = browser_paths()
if not (BROWSER and DRIVER):
    pytest.skip("no Chromium and ChromeDriver on this machine, so the studio's browser tests are skipped: install them "
                "(Debian: apt-get install chromium chromium-driver; .ci/run does) or point GANE_CHROMIUM and "
                "GANE_CHROMEDRIVER at them", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

import gane  # noqa: E402
from gane.studio import Background, Studio  # noqa: E402
from gane.studio.core import image_tensor  # noqa: E402


@pytest.fixture(scope="module")
def runs(studio_runs, tmp_path_factory, image_npz):
    """A copy of the tiny runs (an encoder is fitted into one here, and the other tests keep theirs),
    and a tiny stylegan for the truncation controls."""
    runs = tmp_path_factory.mktemp("browser") / "runs"
    shutil.copytree(studio_runs, runs)
    gane.train("stylegan", data=f"npz:{image_npz}", z_dim=8, out=str(runs / "stylegan"), steps=2, tick=2, width=0.125,
               batch_size=16, progress=False)
    demo = os.environ.get("GANE_STUDIO_DEMO_RUN")
    if demo:
        shutil.copytree(demo, runs / "demo", ignore=shutil.ignore_patterns("tensorboard", "*.png"))
    return runs


@pytest.fixture(scope="module")
def image_run(runs):
    return "demo" if (runs / "demo").exists() else "bigan"


@pytest.fixture(scope="module")
def server(runs):
    s = Background(Studio(runs))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1320,980",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.get(server.url)
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    yield driver
    driver.quit()


def wait(driver, seconds=60):
    return WebDriverWait(driver, seconds, poll_frequency=0.05)


def shot(driver, name):
    driver.save_screenshot(str(artifacts() / f"{name}.png"))


def image_of(driver, element_id) -> np.ndarray:
    """The picture an <img> shows (its PNG data URL), as an array."""
    src = driver.find_element(By.ID, element_id).get_attribute("src")
    assert src and src.startswith("data:image/png;base64,"), f"#{element_id} shows no image"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))), dtype=np.float32)


def src(driver, element_id):
    return driver.find_element(By.ID, element_id).get_attribute("src") or ""


def changed(driver, element_id, before):
    wait(driver).until(lambda d: src(d, element_id) not in ("", before))
    return src(driver, element_id)


def open_run(driver, run_id):
    select = Select(driver.find_element(By.ID, "run-select"))
    if select.first_selected_option.get_attribute("value") != run_id:
        select.select_by_value(run_id)
    wait(driver).until(lambda d: d.execute_script("return state.info && state.info.id") == run_id and
                       d.find_element(By.ID, "gallery").get_attribute("data-run") == run_id and
                       d.find_elements(By.CSS_SELECTOR, "#gallery img"))


def tab(driver, name):
    driver.find_element(By.CSS_SELECTOR, f"#tabs button[data-tab={name}]").click()


def upload(driver, path):
    field = driver.find_element(By.ID, "upload")
    driver.execute_script("arguments[0].hidden = false;", field)
    field.send_keys(str(path))
    driver.execute_script("arguments[0].hidden = true;", field)


def test_the_page_lists_the_runs_and_draws_samples(browser, image_run):
    names = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#run-select option")]
    assert {"bigan", "gan", "pix2pix"} <= set(names)
    open_run(browser, image_run)
    tab(browser, "sample")
    first = changed(browser, "sample-grid", "")
    browser.find_element(By.ID, "sample-next").click()
    changed(browser, "sample-grid", first)  # another seed, other samples
    shot(browser, "sample")


def test_stylegan_samples_truncated_toward_the_mean_or_the_nearest_centre(browser):
    open_run(browser, "stylegan")
    tab(browser, "sample")
    plain = changed(browser, "sample-grid", "")
    psi = browser.find_element(By.ID, "sample-psi")
    assert psi.is_displayed(), "a style-based run offers truncation"
    for _ in range(6):
        psi.send_keys(Keys.ARROW_LEFT)  # 1 -> 0.7, in steps of 0.05
    truncated = changed(browser, "sample-grid", plain)
    assert "toward the mean w" in browser.find_element(By.ID, "sample-note").text
    Select(browser.find_element(By.ID, "sample-toward")).select_by_value("4")
    changed(browser, "sample-grid", truncated)
    wait(browser).until(lambda d: "nearest of 4 cluster centres" in d.find_element(By.ID, "sample-note").text)
    assert "truncation 0.7" in browser.find_element(By.ID, "sample-note").text
    shot(browser, "sample-truncation")


def test_an_uploaded_image_is_reconstructed_as_the_api_does(browser, runs, image_run, tmp_path):
    open_run(browser, image_run)
    picture = np.zeros((40, 40), np.uint8)
    picture[8:32, 16:24] = 255  # a bar, larger than the model's images: cropped and resized as gane reads files
    path = tmp_path / "bar.png"
    Image.fromarray(picture).save(path)
    tab(browser, "encode")
    upload(browser, path)
    wait(browser).until(lambda d: d.find_element(By.ID, "current-name").text == "bar.png")
    wait(browser).until(lambda d: d.find_element(By.ID, "encode-recon").get_attribute("data-image")
                        == d.execute_script("return state.current.id"))
    shown = image_of(browser, "encode-recon")
    model = gane.load(runs / image_run, frozen=True)
    with Image.open(path) as im:
        x = image_tensor(im.convert("L"), tuple(model.info.shape))
    with torch.no_grad():
        expected = model.reconstruct(x)[0, 0]
    expected = ((expected.clamp(-1, 1) + 1) * 127.5).round().numpy()
    assert shown.shape == expected.shape
    # the server's threads may sum in another order: a few levels of 255 at most, on a barely trained net
    diff = np.abs(shown - expected)
    assert diff.max() <= 4 and diff.mean() < 0.5, "the page shows G(E(x)) of the uploaded image"
    assert "PSNR" in browser.find_element(By.ID, "encode-recon-cap").text


def test_an_optimised_inversion_shows_its_progress(browser, image_run):
    open_run(browser, image_run)
    tab(browser, "encode")
    steps = browser.find_element(By.ID, "invert-steps")
    steps.clear()
    steps.send_keys("60")
    browser.find_element(By.ID, "invert-run").click()
    wait(browser).until(lambda d: "PSNR" in d.find_element(By.ID, "encode-live-cap").text)
    assert src(browser, "encode-live").startswith("data:image/png")
    assert float(browser.find_element(By.ID, "invert-progress").get_attribute("value")) > 0
    shot(browser, "encode")


def pick(driver, index):
    """Make the gallery's image ``index`` (a test image of the run's data) the current one."""
    image = driver.find_elements(By.CSS_SELECTOR, "#gallery img")[index]
    name = image.get_attribute("title")
    image.click()
    wait(driver).until(lambda d: d.find_element(By.ID, "current-name").text == name)


def test_moving_an_attribute_slider_changes_the_output(browser, image_run):
    open_run(browser, image_run)
    tab(browser, "edit")
    pick(browser, 4)
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#edit-sliders input[type=range]"))
    wait(browser).until(lambda d: src(d, "edit-out").startswith("data:"))
    start = src(browser, "edit-out")
    sliders = browser.find_elements(By.CSS_SELECTOR, "#edit-sliders input[type=range]")
    names = [s.get_attribute("data-direction") for s in sliders]
    slider = sliders[names.index("thickness")] if "thickness" in names else sliders[-1]
    name = slider.get_attribute("data-direction")
    slider.click()  # the middle of the slider: alpha 0
    slider.send_keys(*[Keys.ARROW_RIGHT] * 20)
    wait(browser).until(lambda d: d.find_element(By.ID, "edit-out").get_attribute("data-alphas") == '{"%s":2}' % name)
    assert src(browser, "edit-out") != start, "moving the slider changed G(E(x) + alpha v)"
    wait(browser).until(lambda d: src(d, "interp-strip").startswith("data:"))
    shot(browser, "edit")


def test_a_painted_stroke_pulls_the_image_toward_it(browser, image_run):
    open_run(browser, image_run)
    tab(browser, "paint")
    pick(browser, 2)
    wait(browser).until(lambda d: "draw on it" in d.find_element(By.ID, "paint-cap").text)
    before = image_of(browser, "paint-base")
    start_src = src(browser, "paint-base")
    steps = browser.find_element(By.ID, "paint-steps")
    steps.clear()
    steps.send_keys("100")
    canvas = browser.find_element(By.ID, "paint-canvas")
    # a white vertical bar down the middle of the canvas (256 px for 28: about 9 px a pixel)
    actions = ActionChains(browser)
    actions.move_to_element_with_offset(canvas, 0, -90).click_and_hold()
    for dy in range(10):
        actions.move_by_offset(0, 18)
    actions.release().perform()
    browser.find_element(By.ID, "paint-apply").click()
    wait(browser).until(lambda d: "applied" in d.find_element(By.ID, "paint-cap").text)
    after = image_of(browser, "paint-base")
    h, w = after.shape[:2]
    band = np.zeros((h, w), bool)
    band[int(h * 0.17) : int(h * 0.83), int(w * 0.44) : int(w * 0.56)] = True  # where the stroke went
    grey = (lambda a: a if a.ndim == 2 else a.mean(2))
    inside = grey(after)[band].mean() - grey(before)[band].mean()
    assert inside > 10, f"the painted white bar brightened the image under it (by {inside:.1f} of 255)"
    assert (browser.find_element(By.ID, "paint-download").get_attribute("href") or "").startswith("data:image/png"), "the result can be downloaded"
    shot(browser, "paint")
    edited = src(browser, "paint-base")
    tab(browser, "encode")
    tab(browser, "paint")
    time.sleep(0.3)
    assert src(browser, "paint-base") == edited, "looking at another tab keeps the paint work"
    browser.find_element(By.ID, "paint-undo").click()
    assert src(browser, "paint-base") == start_src, "undo returns to the image before the edit"
    painted = browser.execute_script("return painter.painted('colour')")
    browser.find_element(By.ID, "paint-undo").click()
    assert painted and not browser.execute_script("return painter.painted('colour')"), "a second undo takes back the stroke"


def test_a_new_image_picked_while_paint_starts_gets_its_own_start(browser, image_run):
    open_run(browser, image_run)
    tab(browser, "encode")
    # in one turn of the page's event loop, so the first start is surely still under way
    browser.execute_script("showTab('paint'); setCurrent(state.images[3]);")
    wait(browser).until(lambda d: "draw on it" in d.find_element(By.ID, "paint-cap").text)
    assert browser.execute_script("return state.current.id === state.images[3].id && state.paint !== null")


def test_restoration_through_g_beside_the_baseline(browser, image_run):
    open_run(browser, image_run)
    tab(browser, "restore")
    Select(browser.find_element(By.ID, "restore-task")).select_by_value("inpaint")
    steps = browser.find_element(By.ID, "restore-steps")
    steps.clear()
    steps.send_keys("40")
    browser.find_element(By.ID, "restore-run").click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#restore-results figure[data-name]"))
    names = [f.get_attribute("data-name") for f in browser.find_elements(By.CSS_SELECTOR, "#restore-results figure[data-name]")]
    assert names == ["optimize", "harmonic fill"]
    assert all("PSNR" in c.text for c in browser.find_elements(By.CSS_SELECTOR, "#restore-results figure[data-name] figcaption"))
    shot(browser, "restore")


def test_a_translation_run_shows_source_and_translation(browser):
    open_run(browser, "pix2pix")
    disabled = {b.get_attribute("data-tab") for b in browser.find_elements(By.CSS_SELECTOR, "#tabs button") if not b.is_enabled()}
    assert disabled == {"sample", "encode", "edit", "paint", "restore"}, "a translation run has only the Translate tab"
    wait(browser).until(lambda d: src(d, "translate-out").startswith("data:"))
    assert "translated to B" in browser.find_element(By.ID, "translate-out-cap").text
    shot(browser, "translate")


def test_a_run_without_an_encoder_fits_one_and_opens_the_edit_tab(browser, runs):
    open_run(browser, "gan")
    button = browser.find_element(By.CSS_SELECTOR, "#tabs button[data-tab=edit]")
    assert not button.is_enabled() and "Encode tab" in button.get_attribute("title")
    tab(browser, "encode")
    assert Select(browser.find_element(By.ID, "encode-encoder")).first_selected_option.text == "none"
    steps = browser.find_element(By.ID, "fit-steps")
    steps.clear()
    steps.send_keys("6")
    browser.find_element(By.ID, "fit-name").send_keys("from-the-page")
    browser.find_element(By.ID, "fit-run").click()
    wait(browser, 240).until(lambda d: "saved as" in d.find_element(By.ID, "fit-cap").text)
    assert (runs / "gan/encoders/from-the-page/encoder.safetensors").exists()
    assert Select(browser.find_element(By.ID, "encode-encoder")).first_selected_option.get_attribute("value") == "from-the-page"
    wait(browser).until(lambda d: src(d, "encode-recon").startswith("data:"))  # G(E(x)) with the new encoder
    assert browser.find_element(By.CSS_SELECTOR, "#tabs button[data-tab=edit]").is_enabled()
    shot(browser, "fit-encoder")
    browser.find_element(By.ID, "fit-name").send_keys("from-the-page")  # a name taken: refused, and said
    browser.find_element(By.ID, "fit-run").click()
    wait(browser).until(lambda d: "already has an encoder 'from-the-page'" in d.find_element(By.ID, "message").text)
    assert "from-the-page was not saved" in browser.find_element(By.ID, "fit-cap").text


def test_a_file_that_is_not_an_image_gives_a_message(browser, image_run, tmp_path):
    open_run(browser, image_run)
    path = tmp_path / "notes.png"
    path.write_text("this is text, not a picture")
    upload(browser, path)
    wait(browser).until(lambda d: d.find_element(By.ID, "message").is_displayed())
    assert "is not an image" in browser.find_element(By.ID, "message").text
    shot(browser, "bad-upload")
    time.sleep(0.1)
    assert browser.find_element(By.ID, "current-name").text != "notes.png", "the bad upload replaced nothing"
