"""The metric table is data: walk every row."""

from __future__ import annotations

import math

import pytest

from posture.errors import InputError
from posture.landmarks.vocabulary import Landmark
from posture.metrics.compute import FORMULAS, STATUS_OK, Frame, compute_metrics
from posture.metrics.definitions import DEG, LENGTH, METRICS, PERCENT
from posture.metrics.reference import DEFAULT_PATH, load_ranges, parse_ranges
from tests import skeletons as sk


def test_ids_unique_and_rows_well_formed():
    ids = [m.id for m in METRICS]
    assert len(ids) == len(set(ids))
    for m in METRICS:
        assert m.view in ("front", "side"), m.id
        assert m.formula in FORMULAS, m.id
        assert m.unit in (DEG, LENGTH, PERCENT), m.id
        assert (m.per is not None) == (m.unit == PERCENT), m.id
        assert all(isinstance(lm, Landmark) for lm in m.landmarks()), m.id
        assert m.positive and m.negative, m.id


def test_every_metric_has_a_documented_reference_row():
    ranges = load_ranges()
    assert set(ranges) == {m.id for m in METRICS}
    for r in ranges.values():
        assert r.source, r.metric
        assert r.basis in ("screening default", "no range", "literature"), r.metric


def test_every_metric_computes_on_synthetic_skeletons():
    ranges = load_ranges()
    front = compute_metrics(sk.landmarks(sk.front(1, 1, 1, 1, 10, 5)), Frame("front"),
                            ranges=ranges, points=sk.front_points())
    side = compute_metrics(sk.landmarks(sk.side(65, 2, 5)), Frame("side", forward=1),
                           ranges=ranges, points=sk.side_points())
    results = front + side
    assert {r.metric for r in results} == {m.id for m in METRICS}
    for r in results:
        assert r.status == STATUS_OK and math.isfinite(r.value), r.metric


def test_clinic_override_replaces_only_its_rows(tmp_path, monkeypatch):
    path = tmp_path / "clinic.csv"
    path.write_text("metric,low,high,unit,basis,source\n"
                    "shoulder_tilt,-1.5,1.5,deg,clinic setting,Dr X protocol\n", encoding="utf-8")
    ranges = load_ranges(path)
    assert ranges["shoulder_tilt"].high == 1.5
    assert "clinic setting" in ranges["shoulder_tilt"].describe()
    assert ranges["pelvic_obliquity"].high == 2.0  # default kept
    monkeypatch.setenv("POSTURE_REFERENCE_RANGES", str(path))
    assert load_ranges()["shoulder_tilt"].low == -1.5


@pytest.mark.parametrize("text,match", [
    ("metric,low\nshoulder_tilt,1\n", "missing column"),
    ("metric,low,high\nshoulder_tlt,1,2\n", "unknown metric 'shoulder_tlt'"),
    ("metric,low,high\nshoulder_tilt,abc,2\n", "line 2: 'abc' is not a number"),
    ("metric,low,high\nshoulder_tilt,3,2\n", "low 3 is above high 2"),
    ("metric,low,high\nshoulder_tilt,nan,2\n", "not a finite number"),
])
def test_bad_override_files_are_refused_with_the_line(text, match):
    with pytest.raises(InputError, match=match):
        parse_ranges(text, "clinic.csv")


def test_unreadable_override_is_one_line_error(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="Cannot read reference ranges"):
        load_ranges(bad)
    with pytest.raises(InputError, match="Cannot read reference ranges"):
        load_ranges(tmp_path / "missing.csv")


def test_default_file_ships_with_the_package():
    assert DEFAULT_PATH.is_file()
