"""The comparison tells the truth: what a real change means against the reference range, the
hand-placed values per visit, and history charts that do not magnify noise."""

from __future__ import annotations

from datetime import date

import pytest

from posture.compare import (
    AWAY,
    MIN_SPAN_MDC,
    NOT_REAL,
    NOW_OUTSIDE,
    NOW_WITHIN,
    REAL,
    STILL_WITHIN,
    TOWARD,
    DetectableChange,
    compare_rows,
    comparison_table,
    history_series,
    range_meaning,
)
from posture.metrics.reference import ReferenceRange, load_ranges

TWO = ReferenceRange("head_tilt", -2.0, 2.0, "deg", "screening default", "")
AT_LEAST_50 = ReferenceRange("forward_head_angle", 50.0, None, "deg", "screening default", "")
MDC = {"head_tilt": DetectableChange("head_tilt", 2.0, "deg", "screening default", "")}


def _row(value, u=0.3, metric="head_tilt", unit="deg", manual=False, day=None):
    row = {"metric": metric, "label": "Head tilt", "unit": unit, "value": value,
           "uncertainty": u, "status": "ok", "manual": manual, "flag": ""}
    if day:
        row["visit_date"] = day
    return row


@pytest.mark.parametrize(("before", "after", "ref", "meaning"), [
    (5.0, 1.0, TWO, NOW_WITHIN), (1.0, -5.0, TWO, NOW_OUTSIDE), (-1.5, 1.5, TWO, STILL_WITHIN),
    (9.0, 4.0, TWO, TOWARD), (-4.0, -9.0, TWO, AWAY), (4.0, -3.0, TWO, TOWARD),
    (40.0, 46.0, AT_LEAST_50, TOWARD), (52.0, 45.0, AT_LEAST_50, NOW_OUTSIDE),
    (3.0, 9.0, None, "")])
def test_a_change_says_where_it_went_against_the_reference_range(before, after, ref, meaning):
    assert range_meaning(before, after, ref) == meaning


def test_a_real_change_carries_its_meaning_and_noise_none():
    ranges = {"head_tilt": TWO}
    [real] = compare_rows([_row(5.5)], [_row(0.6)], detectable=MDC, ranges=ranges)
    assert (real.real, real.verdict, real.meaning) == (True, REAL, NOW_WITHIN)
    assert real.summary == "real change: now within range"
    [noise] = compare_rows([_row(2.4)], [_row(1.6)], detectable=MDC, ranges=ranges)
    assert (noise.real, noise.verdict, noise.meaning) == (False, NOT_REAL, "")
    assert noise.summary == NOT_REAL      # crossing the boundary inside the noise says nothing


def test_the_default_ranges_give_the_meaning_in_the_table():
    [c] = compare_rows([_row(6.0)], [_row(0.5)], detectable=MDC)   # default ranges: +/-2 deg
    assert load_ranges()["head_tilt"].contains(0.5)
    table = comparison_table([c])
    assert table[0]["meaning"] == NOW_WITHIN and table[0]["verdict"] == REAL


def test_values_from_hand_placed_landmarks_are_marked_per_visit():
    [c] = compare_rows([_row(1.0)], [_row(1.2, manual=True)], detectable=MDC, ranges={})
    assert (c.manual_before, c.manual_after) == (False, True)
    assert comparison_table([c])[0]["manual_after"] is True


def test_a_history_chart_of_noise_spans_at_least_two_detectable_changes():
    rows = [_row(v, 0.2, day=date(2025, m, 1)) for m, v in ((1, 0.8), (2, 1.2), (3, 0.9))]
    [series] = history_series(rows, detectable=MDC, ranges={})
    bottom, top = series.y_domain
    assert top - bottom == pytest.approx(MIN_SPAN_MDC * 2.0)
    # The 0.4 deg wobble fills a fifth of the axis, not all of it.
    assert (1.2 - 0.8) / (top - bottom) == pytest.approx(0.1)
    assert [p["value"] for p in series.points] == [0.8, 1.2, 0.9]
    assert series.points[1]["low"] == pytest.approx(1.0)
    assert series.points[1]["high"] == pytest.approx(1.4)


def test_a_history_chart_shows_every_value_with_its_error_bar_and_the_reference_range():
    rows = [_row(v, u, day=date(2025, m, 1)) for m, v, u in ((1, 6.0, 0.5), (4, 0.5, 1.0))]
    [series] = history_series(rows, detectable=MDC, ranges={"head_tilt": TWO})
    bottom, top = series.y_domain
    assert series.reference == TWO
    assert bottom <= -2.0 and top >= 6.5                    # the band and every error bar
    assert top - bottom >= MIN_SPAN_MDC * 2.0


def test_history_series_keep_units_apart_and_skip_unmeasured():
    rows = [_row(3.0, metric="plumb_hip", unit="cm", day=date(2025, 1, 1)),
            _row(40.0, metric="plumb_hip", unit="px", day=date(2025, 2, 1)),
            {**_row(None, day=date(2025, 3, 1)), "status": "not_visible"}]
    series = history_series(rows)
    assert [(s.metric, s.unit) for s in series] == [("plumb_hip", "cm"), ("plumb_hip", "px")]
    cm, px = series
    assert cm.y_domain[1] - cm.y_domain[0] >= MIN_SPAN_MDC * 2.0   # plumb_hip MDC: 2 cm
    assert px.y_domain[1] - px.y_domain[0] > 0                     # no MDC in px: still drawn


def test_the_compare_page_shows_per_visit_warnings_hand_placed_values_and_meanings(
        tmp_path, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from posture.landmarks.vocabulary import Landmark
    from posture.store import open_store, save_visit
    from tests.postgres import leo_visit

    url = f"sqlite:///{tmp_path / 'r.db'}"
    monkeypatch.setenv("POSTURE_DATABASE_URL", url)
    store = open_store(url)
    first, second = leo_visit("first"), leo_visit("second")
    xy = second.assessment.front.landmarks.xy[Landmark.LEFT_SHOULDER]
    moved = second.assessment.with_landmark_moved("front", Landmark.LEFT_SHOULDER,
                                                  float(xy[0]), float(xy[1]) - 40)
    for s, result, day in ((first, first.assessment, date(2025, 1, 10)),
                           (second, moved, date(2025, 4, 2))):
        save_visit(store, "leo", result, s.photos, visit_date=day)
    store.close()

    page = Path(__file__).resolve().parents[1] / "posture" / "app" / "compare.py"
    at = AppTest.from_file(str(page), default_timeout=60).run()
    assert not at.exception, at.exception
    frame = at.table[0].value
    after = dict(zip(frame["Measure"], frame["2025-04-02"]))
    before = dict(zip(frame["Measure"], frame["2025-01-10"]))
    assert after["Shoulder tilt (joint centres) (deg)"].endswith("(manual)")
    assert not before["Shoulder tilt (joint centres) (deg)"].endswith("(manual)")
    captions = "\n".join(c.value for c in at.caption)
    assert "From hand-placed landmarks: " in captions and "Shoulder tilt" in captions
    assert "No hand-placed landmarks." in captions               # the first visit
    # Each row's change is its after minus its before, as shown.
    for b_text, a_text, change in zip(frame["2025-01-10"], frame["2025-04-02"],
                                      frame["Change"]):
        if change != "—":
            b, a = (float(v.split(" ")[0].replace("\\", "")) for v in (b_text, a_text))
            assert float(change) == pytest.approx(a - b, abs=1e-9)
    assert set(frame["Photos"]) == {"Front photo", "Right side photo vs left side photo"}
    # One chart per measured metric, each with the error bars and the reference band.
    charts = at.get("vega_lite_chart")
    measured = {(r["metric"], r["unit"]) for r in first.assessment.rows() + moved.rows()
                if r["status"] == "ok" and r["value"] is not None}
    assert len(charts) == len(measured)
