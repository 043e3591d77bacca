"""The screening summary in the PDFs: the visit report's page 1 by region with the levels
chain, and the one-page patient sheet in plain words (read back with poppler)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from posture.metrics.chain import levels_chain
from posture.metrics.summary import load_wording, patient_lines, region_summary, results_from_rows
from posture.report import patient_sheet_pdf, visit_report_pdf
from tests.test_report import poppler, stored_visits  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def pdfs(stored_visits, tmp_path_factory):  # noqa: F811
    first, second = stored_visits
    folder = tmp_path_factory.mktemp("pdfs")
    out = {}
    for name, data in (("report", visit_report_pdf(second, first, generated=date(2025, 4, 2))),
                       ("sheet", patient_sheet_pdf(second, first, generated=date(2025, 4, 2))),
                       ("sheet_alone", patient_sheet_pdf(first))):
        (folder / f"{name}.pdf").write_bytes(data)
        out[name] = folder / f"{name}.pdf"
    return out


def _text(path, *args) -> str:
    return " ".join(poppler("pdftotext", *args, str(path), "-").split())


def test_the_report_reads_by_region_and_up_the_levels_before_the_tables(pdfs, stored_visits):  # noqa: F811, E501
    _first, second = stored_visits
    page1 = _text(pdfs["report"], "-f", "1", "-l", "2")
    assert "By region" in page1
    for region in ("Head and neck:", "Shoulders:", "Trunk and spine:", "Pelvis:", "Legs:"):
        assert region in page1
    chain = levels_chain([m for m in results_from_rows(second.rows) if m.view == "front"])
    assert "Levels from the floor up" in page1
    assert " ".join(chain.observations[0].split()) in page1
    # After the photos, before the tables.
    assert page1.index("Annotated photos") < page1.index("By region")
    assert page1.index("By region") < page1.index("Measures")


def test_the_patient_sheet_is_one_page_of_plain_words(pdfs, stored_visits):  # noqa: F811
    first, second = stored_visits
    info = poppler("pdfinfo", str(pdfs["sheet"]))
    assert re.search(r"^Pages:\s+1$", info, re.M)
    text = _text(pdfs["sheet"])
    assert "Your posture screening" in text and "Léo Ünal" in text
    expected = patient_lines(region_summary(results_from_rows(second.rows)))
    for title, lines in expected.items():
        assert f"{title}:" in text
        for line in lines:
            assert line in text
    assert "Since your visit of 2025-01-10" in text
    assert "Your photos" in text
    # No measure table: the sheet speaks in words.
    assert "Reference range" not in text and "+/-" not in text


def test_a_first_visit_sheet_has_no_comparison(pdfs):
    assert re.search(r"^Pages:\s+1$", poppler("pdfinfo", str(pdfs["sheet_alone"])), re.M)
    assert "Since your visit" not in _text(pdfs["sheet_alone"])


def test_every_measure_with_a_range_has_summary_wording():
    from posture.metrics.reference import load_ranges

    wording = load_wording()
    ranged = {m for m, r in load_ranges().items() if r.has_range}
    assert ranged <= set(wording), sorted(ranged - set(wording))
