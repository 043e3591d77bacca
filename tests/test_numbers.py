"""The one rounding rule (posture.numbers) and the comparison that adds up: the change column
is the difference of the values shown, the intake and the records show the same number and the
same +/- for one analysis, and no "-0.0"."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from posture.app.records import rows_frame
from posture.app.widgets import metrics_frame
from posture.compare import compare_rows
from posture.numbers import change_text, shown, stored, uncertainty_text, value_text


@pytest.mark.parametrize(("value", "text"), [
    (5.5, "5.5"), (0.649, "0.7"), (0.65, "0.7"), (0.6449, "0.6"), (-0.65, "-0.7"),
    (-0.04, "0.0"), (-0.0, "0.0"), (1e-9, "0.0"), (12, "12.0"), (2.25, "2.3"), (-2.25, "-2.3")])
def test_values_are_shown_from_their_kept_two_decimals_half_away_from_zero(value, text):
    assert value_text(value) == text
    assert value_text(-value) == (text if text == "0.0" else
                                  (text[1:] if text.startswith("-") else "-" + text))


def test_no_minus_zero_anywhere():
    for v in (-0.0, -0.001, -0.044, -1e-12):
        assert value_text(v) == "0.0" and value_text(v, sign=True) == "0.0"  # no side
        assert str(shown(v)) == "0.0"
    for v in (-0.0, -0.001, -0.004, -1e-12):
        assert str(stored(v)) == "0.0"
    assert change_text(0.04, -0.04) == "0.0"


def test_an_uncertainty_never_reads_zero():
    assert uncertainty_text(0.04) == "<0.1" and uncertainty_text(0.05) == "0.1"
    assert uncertainty_text(None) == ""


@pytest.mark.parametrize(("before", "after", "text"), [
    (5.54, 6.56, "+1.1"),          # shown 5.5 -> 6.6: +1.1, not the unrounded +1.0
    (-1.66, -0.24, "+1.5"),        # shown -1.7 -> -0.2: +1.5, not +1.4
    (2.0, 2.0, "0.0"), (3.04, -3.04, "-6.0"), (None, 1.0, "—")])
def test_the_change_is_the_difference_of_the_values_shown(before, after, text):
    assert change_text(before, after) == text


def test_the_change_adds_up_for_any_values():
    rng = random.Random(7)
    for _ in range(2000):
        b, a = rng.uniform(-30, 30), rng.uniform(-30, 30)
        assert Decimal(value_text(a)) - Decimal(value_text(b)) == Decimal(change_text(b, a))


def _row(metric, value, u=0.3, unit="deg", manual=False):
    return {"metric": metric, "label": metric, "unit": unit, "value": value, "uncertainty": u,
            "status": "ok", "manual": manual}


def test_every_compared_row_adds_up_as_shown_and_as_kept():
    rng = random.Random(3)
    metrics = ["head_tilt", "shoulder_tilt", "pelvic_obliquity", "trunk_lateral_lean"]
    for _ in range(200):
        before = [_row(m, rng.uniform(-6, 6)) for m in metrics]
        after = [_row(m, rng.uniform(-6, 6)) for m in metrics]
        for c in compare_rows(before, after, detectable={}, ranges={}):
            assert Decimal(value_text(c.after)) - Decimal(value_text(c.before)) == \
                Decimal(c.change_text)
            assert round(c.after - c.before, 2) == c.change     # the CSV adds up too


def test_intake_and_records_show_the_same_value_and_uncertainty(ana_assessment):
    """The intake shows MetricResults; the records show the stored rows of the same analysis."""
    for p in ana_assessment.photos:
        intake = metrics_frame(p.metrics)
        rows = [r for r in ana_assessment.rows() if r["view"] == p.slot or
                r["image"] == p.name]
        rows = [r for r in rows if r["metric"] in {m.metric for m in p.metrics}]
        records = rows_frame(rows)
        assert list(records.columns) == list(intake.columns)
        assert list(records["Value"]) == list(intake["Value"])
        assert list(records["±"]) == list(intake["±"])


def test_a_kept_value_on_a_rounding_edge_shows_as_the_fresh_value_does():
    # 0.649 is kept as 0.65: both pages show 0.7 (they once showed 0.6 and 0.7).
    assert value_text(0.649) == value_text(stored(0.649)) == "0.7"
    rng = random.Random(11)
    for _ in range(2000):
        v = rng.uniform(-20, 20)
        assert value_text(v) == value_text(stored(v))
        assert uncertainty_text(abs(v)) == uncertainty_text(stored(abs(v)))
