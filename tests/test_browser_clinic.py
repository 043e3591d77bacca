"""A clinic's day in a real browser (Playwright + Debian's Chromium, as tests/test_browser.py):
the patient and date saved are the ones on the page; Records and back keeps the work; every
page works at a phone's 390 px and a tablet's 820 px.

Screenshots go under tmp_path; with POSTURE_SCREENSHOTS=DIR they are also written to DIR (the
ones in docs/screenshots/ come from `POSTURE_SCREENSHOTS=docs/screenshots pytest
tests/test_browser_clinic.py`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from posture.store import list_patients, list_visits, open_store
from tests.test_browser import (
    COMPARED_SUBJECT,
    ROOT,
    SAMPLES,
    _free_port,
    _wait_until_healthy,
    assert_images_loaded,
    seed_records,
    stop_server,
    upload_sample_pair,
    wait_for_results,
)

pytestmark = pytest.mark.browser

RESULTS_TIMEOUT_MS = 90_000
PHONE, TABLET, LAPTOP = 390, 820, 1400


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run app.py` with its own records (seeded: leo's two visits): (url, db url)."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("clinic")
    records = f"sqlite:///{folder / 'r.db'}"
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "POSTURE_DATABASE_URL": records})
    try:
        seed_records(records)
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, proc)
        yield url, records
    finally:
        stop_server(proc, log)



def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def pick_sample_pair(page) -> None:
    page.get_by_text("Try sample photos", exact=True).click()
    wait_for_results(page)


def test_changing_patient_and_date_after_the_results_saves_under_the_new_ones(server, browser):
    url, records = server
    page = browser.new_page(viewport={"width": LAPTOP, "height": 900})
    try:
        page.goto(url)
        subject = page.get_by_label("Patient ID", exact=True)
        subject.wait_for(timeout=30_000)
        subject.fill("P-1")
        subject.press("Enter")
        pick_sample_pair(page)
        # After the results: another patient and another date.
        subject.fill("P-1001")
        subject.press("Enter")
        day = page.locator('[data-testid="stDateInput"] input').first
        day.fill("2026/01/05")
        day.press("Enter")
        save = page.get_by_role("button", name="Save visit 2026-01-05 for P-1001")
        save.wait_for(timeout=30_000)
        save.click()
        page.get_by_text("Saved as visit").wait_for(timeout=RESULTS_TIMEOUT_MS)
        no_exception(page)
    finally:
        page.close()
    store = open_store(records)
    try:
        assert "P-1" not in {p.subject for p in list_patients(store)}
        [visit] = list_visits(store, "P-1001")
        assert visit.visit_date == dt.date(2026, 1, 5)
        assert visit.slots == ("front", "right")     # Ana's side photo: her right side
    finally:
        store.close()


def test_records_and_back_keeps_results_and_hand_placed_landmarks(server, browser):
    url, _records = server
    page = browser.new_page(viewport={"width": LAPTOP, "height": 900})
    try:
        page.goto(url)
        subject = page.get_by_label("Patient ID", exact=True)
        subject.wait_for(timeout=30_000)
        subject.fill("P-77")
        subject.press("Enter")
        upload_sample_pair(page, SAMPLES / "ana_test.jpg", SAMPLES / "ana_test_right.jpg")
        wait_for_results(page)
        page.get_by_text("Check landmarks on the front photo").click()
        review = page.frame_locator('iframe[title*="image_coordinates"]').first.locator("img")
        review.wait_for(timeout=30_000)
        box = review.bounding_box()
        review.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.3})
        # The landmark chosen first is moved: the measures using it read "(manual)".
        manual = page.locator('[data-testid="stTable"] td').filter(has_text="(manual)")
        manual.first.wait_for(timeout=RESULTS_TIMEOUT_MS)
        placed = sorted(set(manual.all_text_contents()))
        assert page.evaluate("typeof window.onbeforeunload") == "function"

        page.get_by_role("link", name="Records").click()
        page.get_by_role("heading", name="Records").wait_for(timeout=30_000)
        page.get_by_text("Unsaved intake: 2 photo(s) analysed").wait_for(timeout=30_000)
        assert page.evaluate("typeof window.onbeforeunload") == "function"
        page.get_by_role("link", name="Back to Intake").click()

        manual.first.wait_for(timeout=RESULTS_TIMEOUT_MS)
        wait_for_results(page)
        assert sorted(set(manual.all_text_contents())) == placed
        assert page.get_by_text("ana_test.jpg, uploaded earlier in this session").count() == 1
        # The fields show what was typed (the server kept it; the browser once showed it empty).
        assert subject.input_value() == "P-77"
        images = page.locator('[data-testid="stImage"] img')
        assert images.count() >= 2            # both annotated photos (and the levels ladder)
        assert_images_loaded(page, images)
        no_exception(page)

        # A reload asks first (the browser's own question); accepted, the page reloads.
        asked = []
        page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
        page.reload()
        assert asked == ["beforeunload"]
        page.get_by_label("Patient ID", exact=True).wait_for(timeout=30_000)
        # Nothing unsaved in the new session: no question.
        assert page.evaluate("typeof window.onbeforeunload") != "function"
    finally:
        page.close()


def _full_height(page, width: int) -> None:
    """Grow the viewport to the page's height: Streamlit scrolls an inner element, so a
    full-page screenshot otherwise shows one screen."""
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": width, "height": min(height + 40, 12_000)})
    page.wait_for_timeout(1500)


def _shot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.jpg"
    page.screenshot(path=str(path), full_page=True, type="jpeg", quality=70)
    target = os.environ.get("POSTURE_SCREENSHOTS")
    if target and not name.endswith("tablet"):     # the docs keep phone and laptop
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def assert_everything_visible(page, width: int) -> None:
    """Every photo inside the page's width and loaded; every table cell inside its table and
    the table inside the page (nothing cut off, nothing behind a sideways scroll); on a phone,
    every cell named by its column's header."""
    no_exception(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    images = page.locator('[data-testid="stImage"] img')
    assert images.count() > 0
    assert_images_loaded(page, images)
    for i in range(images.count()):
        box = images.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
    tables = page.locator('[data-testid="stTable"]')
    assert tables.count() > 0
    for i in range(tables.count()):
        table = tables.nth(i)
        outer = table.bounding_box()
        assert outer["x"] >= 0 and outer["x"] + outer["width"] <= width + 0.5
        overflow = table.evaluate(
            "t => [...t.querySelectorAll('div')].some(d => d.scrollWidth > d.clientWidth + 1)")
        assert not overflow, f"table {i} scrolls sideways at {width} px"
        headers = [h.strip() for h in table.locator("th").all_text_contents()]
        if table.locator("thead").is_visible():
            cells = table.locator("th").all() + table.locator("td").all()
        else:
            # A phone's card layout: each cell is named by its column's header.
            cells = table.locator("td").all()
            named = table.locator("tr").nth(1).evaluate(
                "tr => [...tr.querySelectorAll('td')].map("
                "td => getComputedStyle(td, '::before').content)")
            assert named[1:] == [f'"{h}: "' for h in headers[1:]], (named, headers)
        for cell in cells:
            box = cell.bounding_box()
            assert box is not None and box["width"] > 0, cell.text_content()
            assert box["x"] >= outer["x"] - 0.5, cell.text_content()
            assert box["x"] + box["width"] <= outer["x"] + outer["width"] + 0.5, \
                (width, cell.text_content())


def _choose_patient(page, subject: str) -> None:
    patient = page.locator('[data-testid="stSelectbox"]').filter(has_text="Patient").first
    patient.wait_for(timeout=30_000)
    if subject not in patient.inner_text():
        patient.click()
        page.get_by_role("option", name=subject, exact=True).click()


@pytest.mark.parametrize("width", [PHONE, TABLET, LAPTOP])
def test_every_page_shows_every_photo_and_column(server, browser, tmp_path, width):
    url, _records = server
    name = {PHONE: "phone", TABLET: "tablet", LAPTOP: "laptop"}[width]
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(url)
        page.get_by_label("Patient ID", exact=True).wait_for(timeout=30_000)
        page.get_by_label("Patient ID", exact=True).fill("P-2002")
        pick_sample_pair(page)
        _full_height(page, width)
        assert_everything_visible(page, width)
        _shot(page, tmp_path, f"intake_{name}")

        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{url}/records")
        _choose_patient(page, COMPARED_SUBJECT)
        page.locator('[data-testid="stTable"]').first.wait_for(timeout=RESULTS_TIMEOUT_MS)
        _full_height(page, width)
        assert_everything_visible(page, width)
        _shot(page, tmp_path, f"records_{name}")

        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{url}/compare")
        _choose_patient(page, COMPARED_SUBJECT)
        table = page.locator('[data-testid="stTable"]').first
        table.get_by_text("Verdict", exact=True).wait_for(state="attached",
                                                          timeout=RESULTS_TIMEOUT_MS)
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)
        _full_height(page, width)
        assert_everything_visible(page, width)
        # The before | after pair is one image: the after photo is its right half.
        pair = page.locator('[data-testid="stImage"] img').first
        natural = pair.evaluate("img => img.naturalWidth")
        assert pair.bounding_box()["width"] <= natural + 0.5
        _shot(page, tmp_path, f"compare_{name}")
    finally:
        page.close()
