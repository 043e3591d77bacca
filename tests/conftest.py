"""Shared fixtures: sample photos and analyses computed once per test session."""

from __future__ import annotations

import csv
import os
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_images"


def manifest() -> list[dict]:
    with open(SAMPLES / "MANIFEST.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sample(name: str) -> Path:
    """A sample photo by file name (searched in every sample folder)."""
    hits = list(SAMPLES.glob(f"*/{name}"))
    if len(hits) != 1:
        raise FileNotFoundError(name)
    return hits[0]


# Front + side pairs of the same person (sample_images/ATTRIBUTION.md).
PAIRS = {
    "ana": ("ana_test.jpg", "ana_test_right.jpg"),
    "jara": ("jara_test_front_3.jpg", "jara_test_side_3.jpg"),
    "leo": ("leo_test.jpeg", "leo_test_left.jpg"),
    "p1": ("front_image.jpg", "side_image.jpg"),
}


@pytest.fixture(scope="session", autouse=True)
def records_outside_the_users_data(tmp_path_factory):
    """No test reads or writes the real records in the user data folder: by default every test
    (and every process it starts) uses a throwaway SQLite file; tests set their own as needed."""
    old = os.environ.get("POSTURE_DATABASE_URL")
    os.environ["POSTURE_DATABASE_URL"] = \
        f"sqlite:///{tmp_path_factory.mktemp('default_records') / 'records.db'}"
    yield
    if old is None:
        os.environ.pop("POSTURE_DATABASE_URL", None)
    else:
        os.environ["POSTURE_DATABASE_URL"] = old


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (tests/test_browser.py says
    how; without /usr/bin/chromium the browser tests fail, they do not skip)."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium "
                    "(`apt-get install -y chromium`) to run the browser tests")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def detector():
    from posture.landmarks.mediapipe_pose import default_detector

    return default_detector()


@pytest.fixture(scope="session")
def ana_assessment(detector):
    """The ana pair at default options, height 165 cm."""
    from posture import AnalysisOptions, analyze

    front, side = PAIRS["ana"]
    return analyze(sample(front), sample(side),
                   AnalysisOptions(height_cm=165, subject="ana"), detector=detector)


def png_chunk_types(png: bytes) -> list[bytes]:
    """The chunk types of a PNG file, in order."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kinds.append(png[at + 4:at + 8])
        at += 12 + length
    return kinds
