"""The PDF visit report, read back with poppler (pdftotext, pdftoppm, pdfinfo).

Poppler comes from Debian's `poppler-utils`; the tests fail, saying so, when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posture import report
from posture.compare import VisitRecord
from posture.report import visit_report_pdf
from posture.store import load_visit, open_store, save_visit
from tests.postgres import leo_visit

NAMES = [
    "Łukasz Żółć-Brzęczyszczykiewicz",      # Latin Extended
    "Дмитрий Шостакович",                    # Cyrillic
    "李小龍",                                 # CJK: not in DejaVu Sans
    "محمد عبد الله",                          # Arabic
    "Zoë 🙂 \u200b\x07 tab\there",            # emoji, zero-width space, control characters
    '=HYPERLINK("x") ' + "W" * 400,          # long, formula-like
]


def poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} not found: install Debian's poppler-utils (apt-get install -y "
                    "poppler-utils); the PDF tests read the report back with it")
    done = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def stored_visits(tmp_path_factory):
    """leo's two visits, saved to and loaded back from a SQLite store."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('records') / 'r.db'}")
    ids = []
    for which, day in (("first", date(2025, 1, 10)), ("second", date(2025, 4, 2))):
        s = leo_visit(which)
        ids.append(save_visit(store, "P-0042", s.assessment, s.photos, filenames=s.filenames,
                              annotated=s.annotated, visit_date=day, patient_name="Léo Ünal",
                              notes="Desk worker; neck pain on the left."))
    visits = [load_visit(store, i) for i in ids]
    store.close()
    return visits


@pytest.fixture(scope="module")
def pdf_file(stored_visits, tmp_path_factory) -> Path:
    first, second = stored_visits
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(visit_report_pdf(second, first, generated=date(2025, 4, 2)))
    return path


def test_the_report_text_holds_the_patient_and_every_measured_value(pdf_file, stored_visits):
    text = poppler("pdftotext", "-layout", str(pdf_file), "-")
    first, second = stored_visits
    assert "P-0042" in text and "Léo Ünal" in text and "2025-04-02" in text
    measured = [r for r in second.rows if r["value"] is not None]
    assert len(measured) > 15
    for r in measured:
        assert f"{r['value']:.1f}" in text, r["metric"]
        assert r["label"].split(" (")[0] in text
    assert "Change since the previous visit (2025-01-10)" in text
    assert "real change" in text
    for words in ("Limits of photo measurement", "2D photos", "not on the", "acromion",
                  "not the ASIS", "proxy of", "craniovertebral angle", "reads higher",
                  "not validated cut-offs", "not a diagnosis"):
        assert words in " ".join(text.split()), words


def test_the_report_pages_render_and_are_not_blank(pdf_file, tmp_path):
    poppler("pdftoppm", "-r", "40", "-png", str(pdf_file), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page*.png"))
    assert 2 <= len(pages) <= 5  # five with the anatomical-point measures (about 40 rows)
    for page in pages:
        grey = np.asarray(Image.open(page).convert("L"))
        inked = (grey < 200).mean()
        assert inked > 0.01, f"{page.name} is blank"
    first = np.asarray(Image.open(pages[0]).convert("RGB"))
    assert first.std(axis=2).mean() > 2, "the first page shows the colour photos"


def test_the_report_carries_no_photo_metadata_and_no_patient_in_its_info(pdf_file):
    photo = (Path(__file__).resolve().parents[1]
             / "sample_images/usize-backend/leo2_test.jpg").read_bytes()
    assert b"Exif" in photo[:200]                  # the upload has EXIF: the record keeps it
    data = pdf_file.read_bytes()
    assert b"Exif" not in data and b"GPS" not in data
    info = poppler("pdfinfo", str(pdf_file))
    assert "P-0042" not in info and "Léo" not in info
    assert "Posture screening report" in info


def test_a_first_visit_has_no_comparison(stored_visits):
    pdf = visit_report_pdf(stored_visits[0])
    assert pdf.startswith(b"%PDF") and b"Change since" not in pdf


@pytest.mark.parametrize("font", ["dejavu", "latin-1 fallback"])
@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_any_patient_name_makes_a_readable_pdf(name, font, monkeypatch, tmp_path):
    if font == "dejavu" and report._font_files() is None:
        pytest.fail("DejaVu Sans not found: install Debian's fonts-dejavu-core")
    if font != "dejavu":
        monkeypatch.setattr(report, "FONT_DIRS", ())
    s = leo_visit("first")
    record = VisitRecord.from_assessment(s.assessment, "2025-01-10", visit_date=date(2025, 1, 10),
                                         patient_name=name, notes=name, images={})
    record = VisitRecord(**{**record.__dict__, "subject": name[:100]})
    path = tmp_path / "r.pdf"
    path.write_bytes(visit_report_pdf(record))
    text = poppler("pdftotext", str(path), "-")
    assert "Measures: front view" in text
    if name.startswith("Łukasz"):
        assert ("Łukasz" if font == "dejavu" else "Lukasz") in text
    if name.startswith("Дмитрий") and font == "dejavu":
        assert "Дмитрий" in text
    if name.startswith("محمد") and font == "dejavu":
        # Shaped right to left, it reads back in logical order; printed letter by letter left
        # to right (no shaping), pdftotext gives it reversed: "هللا دبع دمحم".
        assert "محمد عبد الله" in text
