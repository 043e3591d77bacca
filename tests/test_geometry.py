"""Metrics on synthetic skeletons with known angles: signs, symmetries, invariances."""

from __future__ import annotations

import numpy as np
import pytest

from posture.landmarks.vocabulary import Landmark as L
from posture.metrics import geometry as g
from posture.metrics.compute import (
    FLAG_OUTSIDE,
    FLAG_WITHIN,
    STATUS_NOT_VISIBLE,
    STATUS_OK,
    STATUS_OUT_OF_FRAME,
    Frame,
    compute_metrics,
)
from posture.metrics.definitions import METRICS_BY_ID
from posture.metrics.reference import load_ranges
from tests import skeletons as sk

RANGES = load_ranges()
FRONT, BACK = Frame("front", lateral=1), Frame("back", lateral=-1)
FRONTAL_SIGNED = ("head_tilt", "shoulder_tilt", "pelvic_obliquity", "shoulder_pelvis_angle",
                  "trunk_lateral_lean", "head_lateral_shift_pct")


def values(xy, frame, **kw):
    return {m.metric: m.value for m in compute_metrics(sk.landmarks(xy), frame, ranges=RANGES,
                                                       **kw)}


@pytest.mark.parametrize("tilt", range(-20, 21, 5))
def test_frontal_tilts_recover_known_angles(tilt):
    v = values(sk.front(shoulder_tilt=tilt, pelvic_tilt=-tilt / 2, head_tilt=tilt / 4), FRONT)
    assert v["shoulder_tilt"] == pytest.approx(tilt, abs=1e-9)
    assert v["pelvic_obliquity"] == pytest.approx(-tilt / 2, abs=1e-9)
    assert v["head_tilt"] == pytest.approx(tilt / 4, abs=1e-9)
    assert v["shoulder_pelvis_angle"] == pytest.approx(tilt * 1.5, abs=1e-9)


def test_positive_tilt_means_patients_left_higher():
    xy = sk.front(shoulder_tilt=5)
    assert xy[L.LEFT_SHOULDER, 0] > xy[L.RIGHT_SHOULDER, 0]  # front view: left on image right
    assert xy[L.LEFT_SHOULDER, 1] < xy[L.RIGHT_SHOULDER, 1]  # and higher (y down)
    results = {m.metric: m for m in compute_metrics(sk.landmarks(xy), FRONT, ranges=RANGES)}
    assert results["shoulder_tilt"].value > 0
    assert results["shoulder_tilt"].direction == "left shoulder higher"
    assert results["shoulder_height_diff"].value > 0


@pytest.mark.parametrize("lean", [-6, -2, 0, 3, 8])
def test_trunk_lean_and_head_shift_signs(lean):
    v = values(sk.front(lean=lean, head_shift=30), FRONT)
    assert v["trunk_lateral_lean"] == pytest.approx(lean, abs=1e-9)
    assert v["head_lateral_shift"] == pytest.approx(30.0)  # px, toward image right = left
    assert v["head_lateral_shift_pct"] == pytest.approx(100 * 30 / 220)


def test_mirroring_flips_every_frontal_sign():
    xy = sk.front(shoulder_tilt=4, pelvic_tilt=-3, head_tilt=2, lean=3, head_shift=25)
    a, b = values(xy, FRONT), values(sk.mirror(xy), FRONT)
    for metric in FRONTAL_SIGNED:
        assert b[metric] == pytest.approx(-a[metric], abs=1e-9), metric


def test_back_view_gives_the_front_view_values():
    xy = sk.front(shoulder_tilt=4, pelvic_tilt=-3, head_tilt=2, lean=3, head_shift=25,
                  knee_in=20)
    a, b = values(xy, FRONT), values(sk.as_back(xy), BACK)
    for metric, value in a.items():
        if METRICS_BY_ID[metric].face:  # the face is not seen from behind
            assert b[metric] is None, metric
            continue
        assert b[metric] == pytest.approx(value, abs=1e-9), metric


@pytest.mark.parametrize("dx,dy,scale", [(0, 0, 2.0), (137, -40, 1.0), (-50, 20, 0.5)])
def test_translation_and_scale_change_no_angle(dx, dy, scale):
    xy = sk.front(shoulder_tilt=3, pelvic_tilt=2, lean=-2, knee_in=15)
    moved = xy * scale + (dx, dy)
    size = (int(sk.SIZE[0] * max(scale, 1) + 200), int(sk.SIZE[1] * max(scale, 1) + 200))
    a = {m.metric: m for m in compute_metrics(sk.landmarks(xy), FRONT, ranges=RANGES)}
    b = {m.metric: m for m in compute_metrics(sk.landmarks(moved, size), FRONT, ranges=RANGES)}
    for metric, m in a.items():
        if m.value is None:  # anatomical points not given: not measured either way
            assert b[metric].value is None, metric
        elif m.unit == "px":
            assert b[metric].value == pytest.approx(m.value * scale, abs=1e-9)
        else:
            assert b[metric].value == pytest.approx(m.value, abs=1e-9), metric


@pytest.mark.parametrize("rotation", [-6, -3, 2, 5])
def test_rotating_a_front_photo_ccw_adds_to_tilts(rotation):
    xy = sk.front(shoulder_tilt=1.5, pelvic_tilt=-1)
    center = (500.0, 700.0)
    rotated = g.rotate_points(xy, center, rotation)
    a, b = values(xy, FRONT), values(rotated, FRONT)
    for metric in ("head_tilt", "shoulder_tilt", "pelvic_obliquity"):
        assert b[metric] == pytest.approx(a[metric] + rotation, abs=1e-9)
    # The top of the trunk moves toward image left, the patient's right.
    assert b["trunk_lateral_lean"] == pytest.approx(a["trunk_lateral_lean"] - rotation, abs=1e-9)
    # Correcting for the known camera roll gives back the level values, raw ones kept.
    corrected = {m.metric: m for m in compute_metrics(sk.landmarks(rotated), FRONT,
                                                      ranges=RANGES, roll_degrees=rotation)}
    for metric in ("shoulder_tilt", "pelvic_obliquity", "trunk_lateral_lean"):
        assert corrected[metric].value == pytest.approx(a[metric], abs=1e-9)
        assert corrected[metric].raw_value == pytest.approx(b[metric], abs=1e-9)
        assert corrected[metric].corrected


@pytest.mark.parametrize("knee_in,sign", [(25, 1), (-25, -1)])
def test_knee_frontal_valgus_positive(knee_in, sign):
    v = values(sk.front(knee_in=knee_in), FRONT)
    expected = np.degrees(np.arctan2(abs(knee_in), 250)) * 2  # symmetric bend at mid-leg
    for metric in ("knee_frontal_angle_left", "knee_frontal_angle_right"):
        assert np.sign(v[metric]) == sign
        assert abs(v[metric]) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("fha", [40, 55, 70, 90, 100])
@pytest.mark.parametrize("facing_right", [True, False])
def test_forward_head_angle_both_facings(fha, facing_right):
    frame = Frame("side", forward=1 if facing_right else -1)
    v = values(sk.side(fha=fha, facing_right=facing_right), frame)
    assert v["forward_head_angle"] == pytest.approx(fha, abs=1e-9)
    expected_offset = 150 * np.cos(np.deg2rad(fha))
    assert v["head_forward_offset"] == pytest.approx(expected_offset, abs=1e-9)
    assert v["plumb_ear"] == pytest.approx(expected_offset, abs=1e-9)


@pytest.mark.parametrize("lean", [-5, 0, 4, 10])
def test_sagittal_leans_positive_forward(lean):
    for facing_right in (True, False):
        frame = Frame("side", forward=1 if facing_right else -1)
        v = values(sk.side(trunk_lean=lean, facing_right=facing_right), frame)
        assert v["trunk_sagittal_lean"] == pytest.approx(lean, abs=1e-9)
        assert np.sign(v["plumb_shoulder"]) == np.sign(lean)


@pytest.mark.parametrize("knee,sign", [(30, 1), (-30, -1)])
def test_knee_sagittal_flexion_positive(knee, sign):
    for facing_right in (True, False):
        frame = Frame("side", forward=1 if facing_right else -1)
        v = values(sk.side(knee_flex_px=knee, facing_right=facing_right), frame)
        assert np.sign(v["knee_sagittal_angle"]) == sign
        assert abs(v["knee_sagittal_angle"]) == pytest.approx(
            2 * np.degrees(np.arctan2(30, 250)), abs=1e-6)


def test_hidden_landmark_gives_status_not_a_number():
    vis = np.ones(33)
    vis[L.LEFT_HIP] = 0.2
    results = {m.metric: m for m in compute_metrics(
        sk.landmarks(sk.front(), visibility=vis), FRONT, ranges=RANGES)}
    assert results["pelvic_obliquity"].status == STATUS_NOT_VISIBLE
    assert results["pelvic_obliquity"].value is None
    assert "left hip" in results["pelvic_obliquity"].detail
    assert results["shoulder_tilt"].status == STATUS_OK


def test_landmark_outside_the_photo_gives_status():
    xy = sk.front()
    xy[L.LEFT_ANKLE, 1] = sk.SIZE[1] + 40
    results = {m.metric: m for m in compute_metrics(sk.landmarks(xy), FRONT, ranges=RANGES)}
    assert results["knee_frontal_angle_left"].status == STATUS_OUT_OF_FRAME
    assert results["knee_frontal_angle_left"].value is None


def test_flags_follow_reference_ranges():
    results = {m.metric: m for m in compute_metrics(
        sk.landmarks(sk.front(shoulder_tilt=5, pelvic_tilt=1)), FRONT, ranges=RANGES)}
    assert results["shoulder_tilt"].flag == FLAG_OUTSIDE
    assert results["pelvic_obliquity"].flag == FLAG_WITHIN
    assert "screening default" in results["shoulder_tilt"].reference


def test_cm_scale_applies_to_lengths_only():
    xy = sk.front(shoulder_tilt=3, head_shift=40)
    px = values(xy, FRONT)
    cm = {m.metric: m for m in compute_metrics(sk.landmarks(xy), FRONT, ranges=RANGES,
                                              cm_per_px=0.2)}
    assert cm["head_lateral_shift"].unit == "cm"
    assert cm["head_lateral_shift"].value == pytest.approx(px["head_lateral_shift"] * 0.2)
    assert cm["shoulder_tilt"].value == pytest.approx(px["shoulder_tilt"])
    assert cm["head_lateral_shift_pct"].value == pytest.approx(px["head_lateral_shift_pct"])


def test_manual_landmark_marks_the_metrics_using_it():
    lm = sk.landmarks(sk.front()).moved(L.LEFT_SHOULDER, 620.0, 380.0)
    results = {m.metric: m for m in compute_metrics(lm, FRONT, ranges=RANGES)}
    assert results["shoulder_tilt"].manual
    assert not results["pelvic_obliquity"].manual
    assert L.LEFT_SHOULDER in lm.manual
