"""Anatomical points in the metric engine: by name, like landmarks, with status and SD."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from posture.metrics.compute import STATUS_NOT_VISIBLE, STATUS_OK, Frame, compute_metrics
from posture.metrics.definitions import LENGTH, MetricDef
from posture.metrics.reference import load_ranges
from posture.outline.points import (
    ALL_POINTS,
    STATUS_OUT_OF_FRAME,
    AnatomicalPoint,
    found,
    missing,
)
from tests import skeletons as sk


def _side(points=None, facing_right=True, floor_px=0.0):
    lm = replace(sk.landmarks(sk.side(65, 0, 0, facing_right)), floor_px=floor_px)
    pts = sk.side_points(facing_right) if points is None else points
    out = compute_metrics(lm, Frame("side", forward=1 if facing_right else -1),
                          ranges=load_ranges(), points=pts)
    return {m.metric: m for m in out}


@pytest.mark.parametrize("facing_right", [True, False])
def test_point_metrics_have_the_drawn_values_either_way(facing_right):
    r = _side(facing_right=facing_right)
    # c7 (455, 345) to tragus (545, 262): atan2(83, 90)
    assert r["cva"].value == pytest.approx(math.degrees(math.atan2(83, 90)), abs=1e-9)
    assert r["cva"].points == ("c7", "tragus")
    assert r["fleche_cervicale"].value == pytest.approx(30.0)
    assert r["fleche_lombaire"].value == pytest.approx(40.0)
    assert r["kyphosis_index"].value == pytest.approx(70.0)
    assert r["cervical_lumbar_depth"].value == pytest.approx(-10.0)
    assert r["cervical_lumbar_depth"].direction == "lumbar curve deeper than cervical"
    trunk = math.hypot(10, 395)
    assert r["fleche_cervicale_pct"].value == pytest.approx(100 * 30 / trunk)
    assert r["kyphosis_index_pct"].value == pytest.approx(100 * 70 / trunk)
    t = math.degrees(math.atan2(10, 40))
    assert r["kyphosis_angle"].value == pytest.approx(2 * t)
    assert r["lordosis_angle"].value == pytest.approx(t + math.degrees(math.atan2(15, 30)))
    for m in r.values():
        assert m.status == STATUS_OK, m.metric


def test_a_point_not_ok_makes_its_metrics_not_visible_with_the_reason():
    pts = sk.side_points()
    pts["c7"] = missing("c7", "hair covers the back of the neck")
    pts["lumbar_apex"] = missing("lumbar_apex", "below the photo", STATUS_OUT_OF_FRAME)
    r = _side(pts)
    assert r["cva"].status == STATUS_NOT_VISIBLE and r["cva"].value is None
    assert "c7: hair covers the back of the neck" in r["cva"].detail
    assert r["fleche_cervicale_pct"].status == STATUS_NOT_VISIBLE  # per uses c7
    assert r["fleche_lombaire"].status == STATUS_OUT_OF_FRAME
    assert r["fleche_cervicale"].status == STATUS_OK
    pts["c7"] = sk.side_points()["c7"]
    del pts["tragus"]
    assert _side(pts)["cva"].detail == "tragus: not located in this photo"
    # Without any points every point metric says so: never silently missing.
    none = compute_metrics(sk.landmarks(sk.side()), Frame("side"), ranges=load_ranges())
    cva = next(m for m in none if m.metric == "cva")
    assert cva.status == STATUS_NOT_VISIBLE and "not located" in cva.detail


def test_uncertainty_comes_from_the_points_sd_and_grows_with_it():
    small = _side(sk.side_points(sd_px=1.0))["cva"].uncertainty
    large = _side(sk.side_points(sd_px=4.0))["cva"].uncertainty
    assert 0 < small < large
    assert large / small == pytest.approx(4.0, rel=0.15)
    # An x-only SD moves the flèche; a y-only SD does not.
    pts = sk.side_points(sd_px=0.0)
    pts["thoracic_apex"] = found("thoracic_apex", 440, 440, 0.0, 20.0)
    assert _side(pts)["fleche_cervicale"].uncertainty is None
    pts["thoracic_apex"] = found("thoracic_apex", 440, 440, 3.0, 0.0)
    assert _side(pts)["fleche_cervicale"].uncertainty == pytest.approx(3.0, rel=0.15)


def test_landmark_uncertainty_is_unchanged_by_points():
    a = _side(floor_px=1.5)["forward_head_angle"].uncertainty
    b = _side(sk.side_points(sd_px=9.0), floor_px=1.5)["forward_head_angle"].uncertainty
    assert a == b


def test_manual_point_marks_its_metrics_manual():
    pts = sk.side_points()
    pts["c7"] = pts["c7"].moved(450.0, 350.0)
    r = _side(pts)
    assert r["cva"].manual and not r["fleche_lombaire"].manual
    assert pts["c7"].uncertainty_px == 0.0 and pts["c7"].status == "ok"


def test_point_contract_refuses_misuse():
    with pytest.raises(ValueError, match="unknown anatomical point"):
        AnatomicalPoint("c8", 1.0, 2.0, 1.0, "ok")
    with pytest.raises(ValueError, match="no finite position"):
        AnatomicalPoint("c7", None, None, None, "ok")
    with pytest.raises(ValueError, match="status"):
        AnatomicalPoint("c7", 1.0, 1.0, 1.0, "fine")
    with pytest.raises(ValueError, match="unknown anatomical point 'c_7'"):
        MetricDef("x", "x", "side", "forward_offset", ("c_7", "tragus"), LENGTH, "a", "b")
    assert len(set(ALL_POINTS)) == len(ALL_POINTS)
