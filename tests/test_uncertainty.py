"""Every metric carries an honest uncertainty: larger where the photo holds less detail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posture import AnalysisOptions, analyze
from posture.images import Photo, load_photo
from posture.landmarks.result import PoseLandmarks
from posture.metrics.compute import Frame, compute_metrics
from posture.metrics.reference import load_ranges
from posture.outline.points import found
from posture.sharpness import blur_sigma, resolution_floor
from tests import skeletons as sk
from tests.conftest import sample

TILTS = ("head_tilt", "shoulder_tilt", "pelvic_obliquity", "trunk_lateral_lean")
OPTS = AnalysisOptions(check_second_person=False)


def _blurred(photo: Photo, sigma: float) -> Photo:
    rgb = cv2.GaussianBlur(photo.rgb, (0, 0), sigma)
    rgb.setflags(write=False)
    return Photo(rgb, photo.original_size, photo.scale, photo.source_format, 1, photo.name)


@pytest.fixture(scope="module")
def sharp_and_worse(detector):
    photo = load_photo(sample("saif1.jpeg"))
    return {
        "sharp": analyze(front=photo, options=OPTS, detector=detector),
        "blurred": analyze(front=_blurred(photo, 4.0), options=OPTS, detector=detector),
        "tiny": analyze(front=sample("front_image.jpg"), options=OPTS, detector=detector),
    }


def test_every_measured_metric_has_an_uncertainty(sharp_and_worse):
    for result in sharp_and_worse.values():
        for m in result.metrics:
            if m.value is not None:
                assert m.uncertainty is not None and m.uncertainty > 0, m.metric


@pytest.mark.parametrize("worse", ["blurred", "tiny"])
def test_uncertainty_grows_on_blurred_and_tiny_photos(sharp_and_worse, worse):
    sharp = sharp_and_worse["sharp"]
    other = sharp_and_worse[worse]
    for metric in TILTS:
        assert other.metric(metric).uncertainty > 1.5 * sharp.metric(metric).uncertainty, metric


def test_reanalysis_is_identical_values_and_uncertainties(detector):
    photo = load_photo(sample("leo_test.jpeg"))
    a = analyze(front=photo, options=OPTS, detector=detector)
    b = analyze(front=photo, options=OPTS, detector=detector)
    assert [(m.value, m.uncertainty) for m in a.metrics] == \
        [(m.value, m.uncertainty) for m in b.metrics]


@pytest.mark.parametrize("sigma", [2.0, 4.0, 8.0])
def test_blur_estimate_tracks_known_blur(sigma):
    """Blurring by sigma should read about sqrt(sigma0^2 + sigma^2)."""
    rgb = load_photo(sample("saif1.jpeg")).rgb
    base = blur_sigma(rgb)
    expected = np.hypot(base, sigma)
    assert blur_sigma(cv2.GaussianBlur(rgb, (0, 0), sigma)) == pytest.approx(expected, rel=0.2)


def test_floor_vanishes_when_the_detector_is_coarser_than_the_blur():
    rgb = load_photo(sample("saif1.jpeg")).rgb
    assert resolution_floor(rgb, detector_pixel=50.0) == 0.0
    assert resolution_floor(rgb) > resolution_floor(rgb, detector_pixel=2.0)
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert np.isinf(resolution_floor(flat))


def _tangent_points(slope_px: float, manual_tip: str = "") -> dict:
    """The drawn side view's points, 2 px SD each; each tangent point adds `slope_px` across
    its line (x) beyond its inflection's SD, as the outline finder states a fitted slope."""
    pts = sk.side_points(sd_px=2.0)
    for name in ("ict", "itl", "ils"):
        tip = pts[name + "_tangent"]
        pts[tip.name] = found(tip.name, tip.x, tip.y, float(np.hypot(2.0, slope_px)), 2.0)
    if manual_tip:
        pts[manual_tip] = pts[manual_tip].moved(pts[manual_tip].x, pts[manual_tip].y)
    return pts


def _angles(points: dict) -> dict:
    res = compute_metrics(PoseLandmarks.single(sk.side(65), sk.SIZE), Frame("side"),
                          ranges=load_ranges(), points=points)
    return {m.metric: m for m in res}


def test_a_tangent_angle_doubts_only_the_slopes_not_the_points_positions():
    # Both points of a tangent come from one fit: moved together they do not turn the line.
    # The angle's SD is the two slopes' (0.5 px over each tangent's length), not that of four
    # points jittered apart (2 px each over 30-40 px: several degrees).
    lordosis = _angles(_tangent_points(0.5))["lordosis_angle"]
    expected = 0.0
    for name in ("itl", "ils"):
        (x0, y0), (x1, y1) = sk.SIDE_POINTS[name], sk.SIDE_POINTS[name + "_tangent"]
        expected += np.degrees(0.5 * abs(y1 - y0) / ((x1 - x0) ** 2 + (y1 - y0) ** 2)) ** 2
    assert lordosis.uncertainty == pytest.approx(np.sqrt(expected), rel=0.2)
    # a point placed by hand is not on the fit: it shares nothing, and the doubt grows
    hand = _angles(_tangent_points(0.5, manual_tip="ils"))["lordosis_angle"]
    assert hand.uncertainty > 2 * lordosis.uncertainty
