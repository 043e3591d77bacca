"""The app in a real browser: `streamlit run app.py` driven by Playwright in Debian's Chromium.

Needs /usr/bin/chromium (`apt-get install -y chromium`); without it these tests fail, they do
not skip: CI installs it. The server's records are a temp SQLite file (POSTURE_DATABASE_URL)
seeded with two visits of one patient for the comparison page.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images" / "usize-backend"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SERVER_START_TIMEOUT_S = 60
RESULTS_TIMEOUT_MS = 60_000

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_server(server: subprocess.Popen, log=None) -> None:
    """Stop a server the tests started (SIGTERM, then SIGKILL after 10 s) and close its log."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if log is not None:
        log.close()


def _wait_until_healthy(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer at {url} within {SERVER_START_TIMEOUT_S} s")


# The comparison page's patient: two front photos of one person, as two visits.
COMPARED_SUBJECT = "leo"
COMPARED_VISITS = (("leo_test.jpeg", date(2025, 1, 10)), ("leo2_test.jpg", date(2025, 4, 2)))


def seed_records(url: str) -> None:
    """Save COMPARED_VISITS in the records at `url` (2 detection passes: quick)."""
    from posture import AnalysisOptions, analyze
    from posture.store import open_store, save_visit

    store = open_store(url)
    try:
        for name, day in COMPARED_VISITS:
            data = (SAMPLES / name).read_bytes()
            result = analyze(data, None, AnalysisOptions(passes=2, height_cm=178),
                             front_name=name)
            save_visit(store, COMPARED_SUBJECT, result, {"front": data},
                       filenames={"front": name}, visit_date=day)
    finally:
        store.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`streamlit run app.py` on a free localhost port, its records seeded (seed_records),
    stopped after the module's tests."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("streamlit")
    log = (folder / "server.log").open("wb")
    records = f"sqlite:///{folder / 'r.db'}"
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "POSTURE_DATABASE_URL": records})
    try:
        seed_records(records)  # while the server starts: it opens the records on first use
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, server)
        yield url
    finally:
        stop_server(server, log)



def upload_sample_pair(page, front: Path, side: Path, side_slot: str = "right") -> None:
    """Upload front and side (into the uploader of its side), one at a time, each until its
    file chip shows.

    A file set while the page is re-running (just after another widget changed) can land on an
    input element React is replacing and be lost, so each upload is retried once or twice.
    """
    uploaders = page.locator('[data-testid="stFileUploader"]')
    # The uploaders in page order: front, back, left side, right side.
    for i, photo in ((0, front), (("left", "right").index(side_slot) + 2, side)):
        chip = uploaders.nth(i).get_by_text(photo.name, exact=True)
        for _attempt in range(3):
            uploaders.nth(i).locator('input[type="file"]').set_input_files(str(photo))
            try:
                chip.wait_for(timeout=10_000)
                break
            except PlaywrightTimeout:
                continue
        else:
            raise AssertionError(f"the {photo.name} upload never showed in the page")


def assert_images_loaded(page, images) -> None:
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()  # Streamlit lazy-loads images
        page.wait_for_function("img => img.complete", arg=images.nth(i).element_handle())
        # 0 when the media route failed: streamlit 1.60's server errors on images with
        # starlette >= 1.4 (see the pin in pyproject.toml).
        assert images.nth(i).evaluate("img => img.naturalWidth") > 0, "image did not load"


def metrics_table(page, slot: str):
    """A photo's measures table (posture.app.intake keys it by the photo's slot)."""
    return page.locator(f'.st-key-metrics_table_{slot} [data-testid="stTable"]')


def wait_for_results(page) -> None:
    # Both photos' tables (keyed: the levels chain adds tables of its own, and a page with the
    # front photo alone must not pass for the pair): st.table renders its cells as text.
    for slot in ("front", "right"):   # the sample photos used are of the right side
        metrics_table(page, slot).wait_for(timeout=RESULTS_TIMEOUT_MS)
    page.get_by_text("Download", exact=True).wait_for(timeout=RESULTS_TIMEOUT_MS)


def test_upload_pair_shows_measures_and_annotated_photos(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(app_url)
        page.get_by_text("Patient ID", exact=True).wait_for(timeout=30_000)
        page.get_by_label("Patient ID", exact=True).fill("PT-0042")
        upload_sample_pair(page, SAMPLES / "ana_test.jpg", SAMPLES / "ana_test_right.jpg")
        wait_for_results(page)

        front_text = metrics_table(page, "front").inner_text()
        side_text = metrics_table(page, "right").inner_text()
        for label in ("Shoulder tilt", "Pelvic obliquity", "Head tilt"):
            assert label in front_text
        for label in ("Forward-head angle (CVA proxy)", "Plumb line: hip"):
            assert label in side_text
        assert "within" in front_text and "between -2 and 2 deg" in front_text

        images = page.locator('[data-testid="stImage"] img')
        assert images.count() >= 2             # both annotated photos (and the levels ladder)
        assert_images_loaded(page, images)

        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(tmp_path / "intake.png"), full_page=True)

        # Landmark review: a click on the photo places the landmark chosen first; the measures
        # using it read "(manual)".
        page.get_by_text("Check landmarks on the front photo").click()
        expander = page.locator('[data-testid="stExpander"]').filter(
            has_text="Check landmarks on the front photo")
        review = page.frame_locator('iframe[title*="image_coordinates"]').first.locator("img")
        review.wait_for(timeout=30_000)
        box = review.bounding_box()
        review.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.3})
        metrics_table(page, "front").locator("td").filter(has_text="(manual)").first.wait_for(
            timeout=RESULTS_TIMEOUT_MS)
        assert page.locator('[data-testid="stException"]').count() == 0

        # The true vertical: two clicks on the photo (the door frame's line, near enough).
        expander.get_by_text("Set the true vertical", exact=True).click()
        expander.get_by_text("Click two points on something truly vertical").wait_for()
        review.click(position={"x": box["width"] * 0.2, "y": box["height"] * 0.15})
        expander.get_by_text("First point marked").wait_for(timeout=RESULTS_TIMEOUT_MS)
        review.click(position={"x": box["width"] * 0.21, "y": box["height"] * 0.85})
        page.get_by_text("Tilts measured against the vertical you marked").wait_for(
            timeout=RESULTS_TIMEOUT_MS)
        assert "level-corrected from" in metrics_table(page, "front").inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_non_image_upload_shows_a_message(app_url, browser, tmp_path):
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_bytes(b"hello, this is not a photo")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(app_url)
        page.get_by_text("Patient ID", exact=True).wait_for(timeout=30_000)
        # Both uploaders drawn and the page idle: a file set mid-run can land on the wrong input.
        page.locator('[data-testid="stFileUploader"]').nth(1).wait_for(timeout=30_000)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=30_000)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
            str(not_a_photo))
        alert = page.locator('[data-testid="stAlertContentError"]')
        alert.wait_for(timeout=RESULTS_TIMEOUT_MS)
        assert "Front photo (notes.jpg)" in alert.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_compare_page_shows_the_change_and_both_annotated_photos(app_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(f"{app_url}/compare")
        page.get_by_text("Compare visits").first.wait_for(timeout=30_000)
        patient = page.locator('[data-testid="stSelectbox"]').filter(has_text="Patient")
        patient.wait_for(timeout=30_000)
        if COMPARED_SUBJECT not in patient.inner_text():
            patient.click()
            page.get_by_role("option", name=COMPARED_SUBJECT, exact=True).click()
        table = page.locator('[data-testid="stTable"]').first
        table.get_by_text("Change", exact=True).wait_for(timeout=RESULTS_TIMEOUT_MS)
        text = table.inner_text()
        for label in ("Shoulder tilt", "Pelvic obliquity", "Needs >", "Verdict"):
            assert label in text
        assert "2025-01-10" in text and "2025-04-02" in text  # the two visits' columns

        # Front before | front after, drawn into one image at one scale.
        photos = page.locator('[data-testid="stImage"]').filter(has_text="Front photo")
        photos.first.wait_for(timeout=RESULTS_TIMEOUT_MS)
        pair_image = photos.first.locator("img")
        assert_images_loaded(page, pair_image)
        width, height = pair_image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert width > 1.5 * height  # two portrait photos side by side
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    finally:
        page.close()
