"""Before/after comparison: the deltas of two real visits, and the "real change" rule."""

from __future__ import annotations

import math
import re
from datetime import date

import pytest

from posture.compare import (
    NOISE_FACTOR,
    NOT_COMPARABLE,
    REAL,
    UNJUDGED,
    DetectableChange,
    VisitRecord,
    compare_assessments,
    compare_rows,
    compare_visits,
    comparison_table,
    is_real_change,
    load_detectable_changes,
    noise_threshold,
    parse_detectable_changes,
)
from posture.errors import InputError
from posture.metrics.definitions import METRICS
from posture.store import load_visit, open_store, save_visit
from tests.postgres import leo_visit


@pytest.fixture(scope="module")
def leo():
    return leo_visit("first"), leo_visit("second")


@pytest.fixture(scope="module")
def records_url(leo, tmp_path_factory):
    """leo's two visits in a SQLite store: the same subject's two different photo pairs."""
    url = f"sqlite:///{tmp_path_factory.mktemp('records') / 'r.db'}"
    store = open_store(url)
    for s, day in zip(leo, (date(2025, 1, 10), date(2025, 4, 2))):
        save_visit(store, "leo", s.assessment, s.photos, annotated=s.annotated, visit_date=day)
    store.close()
    return url


# --- two real visits --------------------------------------------------------------------------


def test_stored_visits_compare_to_the_deltas_of_the_assessments_rows(leo, records_url):
    before_rows = {r["metric"]: r for r in leo[0].assessment.rows()}
    after_rows = {r["metric"]: r for r in leo[1].assessment.rows()}
    store = open_store(records_url)
    comparison = compare_visits(load_visit(store, 1), load_visit(store, 2))
    store.close()

    assert [c.metric for c in comparison.changes] == [m.id for m in METRICS]
    compared = 0
    for c in comparison.changes:
        b, a = before_rows[c.metric], after_rows[c.metric]
        assert (c.before, c.after) == (b["value"], a["value"])
        if b["value"] is None or a["value"] is None:
            assert c.change is None and c.real is None
            continue
        assert c.change == pytest.approx(a["value"] - b["value"], abs=0.006)
        noise = NOISE_FACTOR * math.hypot(b["uncertainty"] or 0, a["uncertainty"] or 0)
        assert c.noise == pytest.approx(noise, abs=0.006)
        assert c.real == (abs(a["value"] - b["value"]) > max(noise, c.mdc.mdc))
        compared += 1
    assert compared >= 18
    fha = next(c for c in comparison.changes if c.metric == "forward_head_angle")
    assert fha.mdc.mdc == 5.0 and fha.mdc.basis == "published MDC"
    assert comparison.real_changes and len(comparison.real_changes) < compared


def test_comparing_assessments_directly_matches_the_stored_comparison(leo, records_url):
    store = open_store(records_url)
    stored = compare_visits(load_visit(store, 1), load_visit(store, 2)).changes
    store.close()
    direct = compare_assessments(leo[0].assessment, leo[1].assessment)
    assert direct == stored


def test_an_ad_hoc_record_compares_like_a_stored_one(leo):
    before = VisitRecord.from_assessment(leo[0].assessment, "before", images=leo[0].annotated)
    after = VisitRecord.from_assessment(leo[1].assessment, "after", images=leo[1].annotated)
    comparison = compare_visits(before, after)
    assert comparison.changes == compare_assessments(leo[0].assessment, leo[1].assessment)
    assert set(before.images) == {"front", "right"} and set(after.images) == {"front", "left"}
    table = comparison_table(comparison.changes)
    assert table[0]["metric"] == "head_tilt" and "MDC" in table[0]["threshold_basis"]


def test_identical_visits_show_no_real_change(leo):
    changes = compare_assessments(leo[0].assessment, leo[0].assessment)
    measured = [c for c in changes if c.change is not None]
    assert measured and all(c.change == 0 and c.real is False for c in measured)


# --- the rule, on synthetic numbers -----------------------------------------------------------


@pytest.mark.parametrize(("change", "u_before", "u_after", "mdc", "real"), [
    (6.0, 0.5, 0.5, 5.0, True),        # beyond both
    (-6.0, 0.5, 0.5, 5.0, True),       # direction does not matter
    (4.9, 0.0, 0.0, 5.0, False),       # noise-free but under the MDC
    (6.0, 3.0, 3.0, 5.0, False),       # over the MDC but within 2*sqrt(18) = 8.49 of noise
    (8.6, 3.0, 3.0, 5.0, True),
    (5.0, 0.1, 0.1, 5.0, False),       # equal to the threshold is not beyond it
    (1.0, 0.1, 0.1, None, True),       # no MDC known: noise alone decides
    (0.5, None, None, None, True),     # no uncertainty (one pass) and no MDC: any change
    (0.0, None, None, None, False),
    (3.0, None, 1.0, 2.0, True),       # a missing uncertainty counts as 0: 2*1 = 2 < 3
    (1.9, None, 1.0, 1.0, False),
])
def test_a_change_is_real_only_beyond_both_noise_and_mdc(change, u_before, u_after, mdc, real):
    assert is_real_change(change, u_before, u_after, mdc) is real


def test_the_noise_threshold_is_twice_the_combined_uncertainty():
    assert NOISE_FACTOR == 2.0
    assert noise_threshold(3.0, 4.0) == pytest.approx(10.0)
    assert noise_threshold(None, 0.5) == pytest.approx(1.0)


def test_the_rule_is_monotonic_in_the_size_of_the_change():
    sizes = [i / 10 for i in range(0, 200)]
    verdicts = [is_real_change(s, 1.2, 0.7, 5.0) for s in sizes]
    first_real = verdicts.index(True)
    assert not any(verdicts[:first_real]) and all(verdicts[first_real:])
    assert sizes[first_real] > max(5.0, noise_threshold(1.2, 0.7))


def row(metric, value, unit="deg", uncertainty=0.1, status="ok"):
    return {"metric": metric, "label": metric, "view": "front", "value": value, "unit": unit,
            "uncertainty": uncertainty, "status": status}


MDC = {"head_tilt": DetectableChange("head_tilt", 2.0, "deg", "screening default", ""),
       "head_lateral_shift": DetectableChange("head_lateral_shift", 1.5, "cm",
                                              "screening default", "")}


def test_rows_that_cannot_be_compared_say_why():
    changes = {c.metric: c for c in compare_rows(
        [row("head_tilt", None, status="not_visible"), row("head_lateral_shift", 3.0, "cm"),
         row("shoulder_tilt", 1.0), row("plumb_ear", 4.0, "px")],
        [row("head_tilt", 1.0), row("head_lateral_shift", 40.0, "px"), row("plumb_ear", 9.0, "px"),
         row("forward_head_angle", 60.0)],
        detectable=MDC)}
    assert changes["head_tilt"].verdict == f"{NOT_COMPARABLE}: not measured before (not_visible)"
    assert "units differ (cm vs px)" in changes["head_lateral_shift"].verdict
    assert "pixel lengths depend on the photo" in changes["plumb_ear"].verdict
    assert changes["shoulder_tilt"].verdict == f"{NOT_COMPARABLE}: no such photo after"
    assert changes["forward_head_angle"].verdict == f"{NOT_COMPARABLE}: no such photo before"
    assert all(c.real is None and c.change is None for c in changes.values())


def test_a_change_with_neither_uncertainty_nor_mdc_is_not_judged():
    [c] = compare_rows([row("head_tilt", 1.0, uncertainty=None)],
                       [row("head_tilt", 4.0, uncertainty=None)], detectable={})
    assert (c.change, c.real, c.verdict) == (3.0, None, UNJUDGED)


def test_threshold_is_the_larger_of_noise_and_mdc():
    [small_noise] = compare_rows([row("head_tilt", 1.0, uncertainty=0.1)],
                                 [row("head_tilt", 3.5, uncertainty=0.1)], detectable=MDC)
    assert (small_noise.change, small_noise.threshold, small_noise.verdict) == (2.5, 2.0, REAL)
    [big_noise] = compare_rows([row("head_tilt", 1.0, uncertainty=1.0)],
                               [row("head_tilt", 3.5, uncertainty=1.0)], detectable=MDC)
    assert big_noise.threshold == pytest.approx(2.83) and big_noise.real is False


# --- photo slots ---------------------------------------------------------------------------------


def slot_row(slot, metric, value, view="side", uncertainty=0.1):
    return {**row(metric, value, uncertainty=uncertainty), "slot": slot, "view": view}


def by_slot_and_metric(changes):
    return {(c.before_slot, c.slot, c.metric): c for c in changes}


def test_the_real_visits_one_side_photo_each_compare_across_sides(leo):
    """leo's first visit has his right side, the second his left: matched, and said."""
    changes = compare_assessments(leo[0].assessment, leo[1].assessment)
    fha = next(c for c in changes if c.metric == "forward_head_angle")
    assert (fha.before_slot, fha.slot) == ("right", "left")
    assert fha.photos == "Right side photo vs left side photo"
    assert fha.change is not None
    tilt = next(c for c in changes if c.metric == "head_tilt")
    assert tilt.photos == "Front photo"
    assert comparison_table([fha])[0]["photos"] == "Right side photo vs left side photo"


def test_a_legacy_side_photo_matches_a_later_left_side_photo():
    """Rows stored before the four slots (side unknown) against a visit with a left side."""
    before = [slot_row("front", "head_tilt", 1.0, "front"), slot_row("side", "cva", 50.0)]
    after = [slot_row("front", "head_tilt", 1.5, "front"), slot_row("left", "cva", 58.0)]
    changes = by_slot_and_metric(compare_rows(before, after, detectable={}, ranges={}))
    assert set(changes) == {("front", "front", "head_tilt"), ("side", "left", "cva")}
    cva = changes["side", "left", "cva"]
    assert (cva.before, cva.after, cva.change, cva.real) == (50.0, 58.0, 8.0, True)
    assert cva.photos == "Side photo vs left side photo"
    # Rows with no slot column at all (a CSV written before it) read as their view's.
    bare = [{k: v for k, v in r.items() if k != "slot"} for r in before]
    assert [c.slot for c in compare_rows(bare, after, detectable={})] == ["front", "left"]


def test_both_sides_in_both_visits_compare_side_by_side_and_their_mean():
    def visit(left, right):
        return [slot_row("left", "cva", left), slot_row("right", "cva", right),
                slot_row("sides", "cva", (left + right) / 2),
                slot_row("left-right", "cva", left - right)]

    changes = by_slot_and_metric(compare_rows(visit(50.0, 54.0), visit(56.0, 54.0),
                                              detectable={}, ranges={}))
    assert set(changes) == {(s, s, "cva") for s in ("left", "right", "sides", "left-right")}
    assert changes["left", "left", "cva"].change == 6.0
    assert changes["right", "right", "cva"].change == 0.0
    assert changes["sides", "sides", "cva"].change == 3.0
    assert changes["left-right", "left-right", "cva"].change == 6.0    # -4 -> +2
    assert changes["left-right", "left-right", "cva"].photos == "Left minus right side"


def test_front_and_back_compare_slot_for_slot_with_their_difference():
    before = [slot_row("front", "shoulder_tilt", 1.0, "front"),
              slot_row("back", "shoulder_tilt", 1.2, "back"),
              slot_row("front-back", "shoulder_tilt", -0.2, "front")]
    after = [slot_row("front", "shoulder_tilt", 4.0, "front"),
             slot_row("back", "shoulder_tilt", 1.4, "back"),
             slot_row("front-back", "shoulder_tilt", 2.6, "front")]
    changes = compare_rows(before, after, detectable={}, ranges={})
    assert [(c.slot, c.change) for c in changes] == [
        ("front", 3.0), ("back", 0.2), ("front-back", 2.8)]


def test_a_single_side_photo_beside_both_sides_matches_its_own_side_or_their_mean():
    both = [slot_row("left", "cva", 50.0), slot_row("right", "cva", 54.0),
            slot_row("sides", "cva", 52.0)]
    changes = compare_rows([slot_row("right", "cva", 51.0)], both, detectable={}, ranges={})
    pairs = [(c.before_slot, c.slot, c.change) for c in changes]
    assert pairs == [("", "left", None), ("right", "right", 3.0), ("", "sides", None)]
    assert changes[0].verdict == f"{NOT_COMPARABLE}: no such photo before"
    # A legacy side photo (which side unknown) is compared with the mean of both.
    legacy = compare_rows(both, [slot_row("side", "cva", 49.0)], detectable={}, ranges={})
    matched = [c for c in legacy if c.change is not None]
    assert [(c.before_slot, c.slot, c.change) for c in matched] == [("sides", "side", -3.0)]
    assert matched[0].photos == "Both sides (mean) vs side photo"


def test_history_charts_one_value_a_visit_preferring_the_mean_of_both_sides():
    from posture.compare import history_series

    rows = [{**slot_row("right", "cva", 51.0), "visit_date": "2025-01-01", "visit_id": 1},
            {**slot_row("left", "cva", 50.0), "visit_date": "2025-02-01", "visit_id": 2},
            {**slot_row("right", "cva", 54.0), "visit_date": "2025-02-01", "visit_id": 2},
            {**slot_row("sides", "cva", 52.0), "visit_date": "2025-02-01", "visit_id": 2},
            {**slot_row("left-right", "cva", -4.0), "visit_date": "2025-02-01", "visit_id": 2}]
    [series] = history_series(rows, ranges={})
    assert [(p["value"], p["slot"]) for p in series.points] == [(51.0, "right"), (52.0, "sides")]


def test_history_reads_a_visit_by_the_summarys_rule():
    """The history's value of a visit is the one `visit_values` keeps of the same rows: the
    front photo's over the back's (the back's when the front did not measure it), the mean of
    both sides, a legacy side photo (no slot) as it is; a difference alone is not charted."""
    from posture.compare import history_series
    from posture.metrics.summary import results_from_rows, visit_values

    def visit(visit_id, *rows):
        return [{**r, "visit_date": f"2025-0{visit_id}-01", "visit_id": visit_id} for r in rows]

    legacy_side = {k: v for k, v in slot_row("", "cva", 47.0).items() if k != "slot"}
    visits = [
        visit(1, slot_row("back", "head_tilt", 2.0, "back"), slot_row("front", "head_tilt", 3.0,
              "front"), slot_row("front-back", "head_tilt", 1.0, "front")),
        visit(2, slot_row("back", "head_tilt", 2.5, "back"),
              {**slot_row("front", "head_tilt", None, "front"), "status": "not_visible"}),
        visit(3, slot_row("left", "cva", 50.0), slot_row("right", "cva", 54.0),
              slot_row("sides", "cva", 52.0), slot_row("left-right", "cva", -4.0)),
        visit(4, legacy_side),
        visit(5, slot_row("front-back", "head_tilt", 9.0, "front"))]
    charted = {(p["visit_date"], p["value"], p["slot"]) for s in history_series(
        [r for v in visits for r in v], ranges={}) for p in s.points}
    assert charted == {("2025-01-01", 3.0, "front"), ("2025-02-01", 2.5, "back"),
                       ("2025-03-01", 52.0, "sides"), ("2025-04-01", 47.0, "side")}
    for rows in visits:   # the same choice, visit by visit, as the summary's
        kept = {(m.slot, m.value) for m in visit_values(results_from_rows(rows))
                if m.value is not None and m.status == "ok"}
        assert kept == {(p["slot"], p["value"]) for s in history_series(rows, ranges={})
                        for p in s.points}


# --- the MDC table is data ----------------------------------------------------------------------


def test_every_metric_has_a_documented_detectable_change():
    table = load_detectable_changes()
    assert set(table) == {m.id for m in METRICS}
    fha = table["forward_head_angle"]
    assert (fha.mdc, fha.unit, fha.basis) == (5.0, "deg", "published MDC")
    assert "Gallego-Izquierdo" in fha.source
    for metric, d in table.items():
        if metric != "forward_head_angle":
            assert d.basis == "screening default", metric
            assert "not a published MDC" in d.describe()
        unit = next(m.unit for m in METRICS if m.id == metric)
        assert d.unit == ("cm" if unit == "length" else unit), metric


def test_a_clinic_overrides_detectable_changes_with_its_own_file(tmp_path, monkeypatch):
    own = tmp_path / "mdc.csv"
    own.write_text("metric,mdc,unit,basis,source\nshoulder_tilt,1.0,deg,clinic setting,us\n",
                   encoding="utf-8")
    monkeypatch.setenv("POSTURE_DETECTABLE_CHANGE", str(own))
    table = load_detectable_changes()
    assert table["shoulder_tilt"].mdc == 1.0 and table["head_tilt"].mdc == 2.0


@pytest.mark.parametrize(("text", "message"), [
    ("metric,mdc,unit\nnope,1,deg\n", "unknown metric 'nope'"),
    ("metric,mdc,unit\nhead_tilt,-1,deg\n", "at least 0"),
    ("metric,mdc,unit\nhead_tilt,big,deg\n", "must be a number"),
    ("metric,value\nhead_tilt,1\n", "expected columns"),
    ("metric,mdc,unit\nhead_lateral_shift,1,px\n", "head_lateral_shift is in cm, not 'px'"),
    ('metric,mdc,unit\n"a\nb",1,deg\n', "line 3: unknown metric 'a b'"),
    ("metric,mdc,unit\nhead_tilt,1,deg\n\"" + "x" * 200_000 + "\"\n", "not a readable CSV"),
])
def test_a_bad_detectable_change_file_is_refused_in_one_line(text, message):
    with pytest.raises(InputError, match=re.escape(message)) as caught:
        parse_detectable_changes(text)
    assert "\n" not in str(caught.value)


def test_detectable_changes_read_any_line_ending():
    text = "metric,mdc,unit\r\nhead_tilt,1.5,deg\rshoulder_tilt,2.5,deg\r"
    table = parse_detectable_changes(text)
    assert (table["head_tilt"].mdc, table["shoulder_tilt"].mdc) == (1.5, 2.5)


# --- command line ---------------------------------------------------------------------------------


def test_cli_compare_prints_every_metric_and_the_rule(records_url, capsys):
    from posture.cli import main

    assert main(["compare", "leo", "--db", records_url]) == 0
    out = capsys.readouterr().out
    assert "leo: 2025-01-10 (visit 1) -> 2025-04-02 (visit 2)" in out
    assert "Forward-head angle (CVA proxy)" in out and "real change" in out
    assert "screening defaults, not published MDCs" in out
    # Rows by the photos they compare: leo's side photo showed his right side, then his left.
    headings = [line for line in out.splitlines() if line.startswith("-- ")]
    assert headings == ["-- Front photo", "-- Right side photo vs left side photo"]
    assert main(["compare", "leo", "--db", records_url, "--from", "2025-01-01",
                 "--to", "2025-12-31"]) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2025-02-01"], "select one visit"),
    (["--to", "2025-02-01"], "select one visit"),
    (["--from", "2026-01-01"], "no visit of 'leo' in that range"),
    (["--from", "10/01/2025"], "--from takes a date as YYYY-MM-DD"),
])
def test_cli_compare_explains_a_bad_range_in_one_line(records_url, capsys, args, message):
    from posture.cli import main

    assert main(["compare", "leo", "--db", records_url, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_compare_needs_two_visits(tmp_path, capsys):
    from posture.cli import main

    s = leo_visit("first")
    url = f"sqlite:///{tmp_path / 'one.db'}"
    store = open_store(url)
    save_visit(store, "solo", s.assessment, s.photos, annotated=s.annotated)
    store.close()
    assert main(["compare", "solo", "--db", url]) == 2
    assert "has 1 visit(s); comparing needs two" in capsys.readouterr().err
