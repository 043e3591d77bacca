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
from posture.numbers import value_text
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
        assert value_text(r["value"]) in text, r["metric"]  # the one rounding rule
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
    # The outline-point rows (front and side) and the summary by region add pages.
    assert 2 <= len(pages) <= 8
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
    assert "Measures: front photo" in text
    if name.startswith("Łukasz"):
        assert ("Łukasz" if font == "dejavu" else "Lukasz") in text
    if name.startswith("Дмитрий") and font == "dejavu":
        assert "Дмитрий" in text
    if name.startswith("محمد") and font == "dejavu":
        # Shaped right to left, it reads back in logical order; printed letter by letter left
        # to right (no shaping), pdftotext gives it reversed: "هللا دبع دمحم".
        assert "محمد عبد الله" in text


# --- page 1 first, no lone lines, bounded text (issue 10, issue 11) ------------------------------


def _record(notes: str = "", flags: dict[str, str] | None = None, findings=()) -> VisitRecord:
    s = leo_visit("first")
    record = VisitRecord.from_assessment(s.assessment, "2025-01-10", visit_date=date(2025, 1, 10),
                                         patient_name="Léo Ünal", notes=notes, images=s.annotated)
    rows = tuple({**r, "flag": (flags or {}).get(r["metric"], r["flag"])} for r in record.rows)
    return VisitRecord(**{**record.__dict__, "rows": rows,
                          "findings": record.findings + tuple(findings)})


def _pages(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    n = int(next(line.split()[-1] for line in poppler("pdfinfo", str(path)).splitlines()
                 if line.startswith("Pages:")))
    return [poppler("pdftotext", "-layout", "-f", str(i), "-l", str(i), str(path), "-")
            for i in range(1, n + 1)]


def _body_lines(page: str) -> list[str]:
    """A page's text lines without its running header and footer."""
    return [line for line in page.splitlines() if line.strip()
            and "Posture screening report" not in line and "Generated " not in line
            and "Page " not in line]


def test_page_one_says_what_is_outside_or_borderline_before_any_table(tmp_path):
    measured = [r for r in leo_visit("first").assessment.rows()
                if r["value"] is not None and r["status"] == "ok"]
    out, border = measured[0], measured[1]
    pages = _pages(visit_report_pdf(_record(
        notes="Long notes. " * 800,
        flags={r["metric"]: "within" for r in measured} | {out["metric"]: "outside",
                                                           border["metric"]: "borderline"})),
        tmp_path)
    first = " ".join(pages[0].split())
    assert "At a glance" in first
    assert "Outside the reference range: 1" in first and "Borderline" in first
    glance = first.index("At a glance")
    for row, after in ((out, "Outside the reference range"), (border, "Borderline")):
        label = row["label"].split(" (")[0]
        at = first.index(label, first.index(after))
        assert glance < at
        assert f"{row['value']:.1f}" in first[at:at + 200]
    if "Measures:" in first:
        assert first.index("Measures:") > first.index(border["label"].split(" (")[0])
    assert "continued under Visit notes" in first


def test_page_one_says_so_when_nothing_is_outside(tmp_path):
    rows = leo_visit("first").assessment.rows()
    pages = _pages(visit_report_pdf(_record(flags={r["metric"]: "within" for r in rows})),
                   tmp_path)
    first = " ".join(pages[0].split())
    assert "measured values are within their reference ranges" in first
    assert "Outside the reference range" not in first


def test_warnings_name_their_photo(tmp_path):
    pages = _pages(visit_report_pdf(_record(findings=("Side photo: low resolution",))),
                   tmp_path)
    assert "Side photo: low resolution" in " ".join(" ".join(pages).split())


@pytest.mark.parametrize("notes_chars", [0, 400, 1500, 2600, 3700, 4800, 6000, 7500, 10_000])
@pytest.mark.parametrize("with_previous", [False, True])
def test_no_page_holds_a_lone_line(notes_chars, with_previous, stored_visits, tmp_path):
    """Notes of every length shift where the pages break; no page, the last included, is left
    with a line or two of text."""
    first, second = stored_visits
    words = "Neck pain on the left, worse at the desk; sleeps on the right side. "
    notes = (words * (notes_chars // len(words) + 1))[:notes_chars]
    visit = VisitRecord(**{**second.__dict__, "notes": notes})
    pages = _pages(visit_report_pdf(visit, first if with_previous else None), tmp_path)
    assert len(pages) >= 2
    for i, page in enumerate(pages, 1):
        assert len(_body_lines(page)) >= 3, (i, _body_lines(page))
    if notes_chars:
        text = " ".join(" ".join(pages).split())
        assert notes.split()[-1] in text                     # the notes in full


def test_the_reports_size_is_bounded_whatever_the_notes(tmp_path):
    """A megabyte of notes (a record saved before the limits) prints as the first 10,000
    characters: same pages as notes at the limit, not a minute of layout."""
    from posture.store.validation import MAX_NOTES

    at_limit = _pages(visit_report_pdf(_record(notes="w " * (MAX_NOTES // 2))), tmp_path)
    huge = _pages(visit_report_pdf(_record(notes="w " * 500_000)), tmp_path)
    assert len(huge) == len(at_limit)
    assert sum(p.count("w") for p in huge) <= sum(p.count("w") for p in at_limit) + 50


def test_only_text_that_needs_it_is_shaped():
    assert not report._needs_shaping("Łukasz Żółć, Дмитрий, Zoë, Ωmega 🙂")
    assert report._needs_shaping("محمد") and report._needs_shaping("שלום")
    assert report._needs_shaping("नमस्ते") and report._needs_shaping("e\u0301")
