"""Clinician edits recompute metrics from stored landmarks, without re-detection."""

from __future__ import annotations

import pytest

from posture.camera import roll_from_points
from posture.errors import InputError, NoPersonError
from posture.landmarks.vocabulary import Landmark as L


def test_moving_a_landmark_recomputes_and_marks_manual(ana_assessment):
    front = ana_assessment.front
    x, y = front.landmarks.xy[L.LEFT_SHOULDER]
    edited = ana_assessment.with_landmark_moved("front", L.LEFT_SHOULDER, x, y - 40)
    before, after = ana_assessment.metric("shoulder_tilt"), edited.metric("shoulder_tilt")
    assert after.value > before.value  # left shoulder raised: tilt toward positive
    assert after.manual and not before.manual
    assert not edited.metric("pelvic_obliquity").manual
    assert edited.metric("pelvic_obliquity").value == ana_assessment.metric(
        "pelvic_obliquity").value
    row = next(r for r in edited.rows() if r["metric"] == "shoulder_tilt")
    assert row["manual"] is True


def test_manual_true_vertical_corrects_every_tilt(ana_assessment):
    # A door frame leaning 2 deg counter-clockwise in the photo: the camera rolled +2 deg.
    h = 1000.0
    roll = roll_from_points((500.0, 0.0), (500.0 + h * 0.0349208, h))
    assert roll.method == "manual"
    edited = ana_assessment.with_camera_roll("front", roll)
    for metric in ("shoulder_tilt", "pelvic_obliquity", "head_tilt"):
        m = edited.metric(metric)
        assert m.corrected
        assert m.raw_value == pytest.approx(ana_assessment.metric(metric).value)
        assert m.value == pytest.approx(m.raw_value - roll.degrees, abs=1e-6)
    assert "camera_tilted" not in [f.code for f in edited.front.findings]
    assert edited.side is ana_assessment.side


def test_changing_the_height_rescales_lengths_only(ana_assessment):
    taller = ana_assessment.with_height(ana_assessment.options.height_cm * 1.1)
    a, b = ana_assessment.metric("plumb_ear"), taller.metric("plumb_ear")
    assert b.value == pytest.approx(a.value * 1.1, rel=1e-3)
    assert taller.metric("forward_head_angle").value == ana_assessment.metric(
        "forward_head_angle").value
    in_px = ana_assessment.with_height(None)
    assert in_px.metric("plumb_ear").unit == "px"


def test_edits_of_a_missing_photo_are_refused(ana_assessment):
    with pytest.raises(InputError, match="there is no back photo"):
        ana_assessment.with_landmark_moved("back", L.NOSE, 1, 1)


def test_no_person_error_names_the_photo(tmp_path, detector):
    import numpy as np
    from PIL import Image

    from posture import analyze

    path = tmp_path / "wall.png"
    Image.fromarray(np.full((400, 300, 3), 200, np.uint8)).save(path)
    with pytest.raises(NoPersonError, match=r"^Side photo \(wall.png\): No person found"):
        analyze(side=path, detector=detector)


def test_a_marked_plumb_vertical_counts_as_corrected_and_is_drawn(ana_assessment):
    import numpy as np

    from posture.render import render

    scale = ana_assessment.front.photo.scale
    roll = roll_from_points((100 * scale, 50 * scale), (100 * scale, 900 * scale))
    assert roll.degrees == 0.0
    edited = ana_assessment.with_camera_roll("front", roll)
    m = edited.metric("shoulder_tilt")
    assert m.corrected and m.value == pytest.approx(m.raw_value)
    img = render(edited.front)
    column = img[300:800, 100]
    assert (np.abs(column.astype(int) - (30, 120, 255)) < 30).all(axis=1).mean() > 0.9
