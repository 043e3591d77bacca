"""Anatomical points on real photos against the hand-read set (tests/data/anatomical/).

Two parts:
- the set itself: complete (every photo, every point of its view, two rounds), coordinates
  inside the photo, in anatomical order, in the frame of `PoseLandmarks.xy` (checked against
  MediaPipe's own landmarks), read off crops that are upright full-resolution pixels;
- the finders (`posture.outline`): every point the annotator
  saw in both rounds and the finder reports ok lies within a tolerance of the clicks' mean
  (the vertex and the sole, levels, by their height only);
  every point the annotator could not see in either round is not reported ok with a confident
  small SD.

Tolerance per point, % of the body height (vertex to sole as annotated): max(3 x the
annotator's click SD for that kind of point, 1.5 %), the click SD being the RMS click-to-click
distance / sqrt 2 over every photo (left and right pooled). 3 SD holds 99 % of one careful
click's scatter (2-D); the 1.5 % floor keeps points read very repeatably on one photo (C7, the
apexes) from demanding more than the outline's own edge allows, and is the issue's goal of
1.5 x click-to-click in another form. "Confident" for a point the annotator could not see:
an SD under a third of that tolerance (its 3-SD circle smaller than the tolerance).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.anatomical_set import (
    FRONT_POINTS,
    SIDE_POINTS,
    TOLERANCE_FLOOR_PCT,
    body_height_px,
    kind,
    load,
    photos,
    repeatability,
    separation,
)
from tests.conftest import manifest, sample

ANN = load()
REP = repeatability(ANN)
TINY = {"front_image.jpg", "side_image.jpg"}  # 152x317 and 93x314: left out of the set


def _tolerance_px(point: str, height: float) -> float:
    """max(3 x click SD, 1.5 %) of the height; the floor alone for a kind never seen twice."""
    return REP[kind(point)].tolerance_pct / 100 * height if kind(point) in REP else \
        TOLERANCE_FLOOR_PCT / 100 * height


# --- the set ------------------------------------------------------------------------------

def test_every_sample_photo_has_every_point_of_its_view_read_twice():
    expected = {r["file"].split("/")[-1]: r["view"] for r in manifest()}
    expected = {k: v for k, v in expected.items() if k not in TINY}
    assert set(photos(ANN)) == set(expected)
    for photo, view in expected.items():
        names = SIDE_POINTS if view == "side" else FRONT_POINTS
        got = {point for p, point in ANN if p == photo}
        assert got == set(names), photo
        assert all(ANN[photo, n].view == view for n in names)


def test_clicks_lie_inside_the_upright_photo_and_hidden_points_say_why():
    from posture.images import load_photo

    for photo in photos(ANN):
        w, h = load_photo(sample(photo)).original_size  # upright, full resolution
        for (p, point), a in ANN.items():
            if p != photo:
                continue
            for c in (a.first, a.second):
                if c.visible:
                    assert 0 <= c.x < w and 0 <= c.y < h, (photo, point, c)
                else:
                    assert c.x is None and len(c.note) > 10, (photo, point)


def _mean_y(photo: str, point: str) -> float | None:
    a = ANN[photo, point]
    return a.mean[1] if a.visible else None


@pytest.mark.parametrize("photo", photos(ANN))
def test_points_are_in_anatomical_order(photo):
    """Top to bottom as the body is; in a front view the patient's right is image left."""
    view = ANN[photo, "vertex"].view
    order = (("vertex",), ("tragus",), ("c7",), ("thoracic_apex",), ("lumbar_apex",),
             ("sacral_point",), ("sole",)) if view == "side" else (
        ("vertex",), ("acromion_right", "acromion_left"), ("waist_right", "waist_left"),
        ("trochanter_right", "trochanter_left"), ("sole",))
    levels = [[y for n in names if (y := _mean_y(photo, n)) is not None] for names in order]
    levels = [v for v in levels if v]
    for upper, lower in zip(levels, levels[1:]):
        assert max(upper) < min(lower), (photo, levels)
    if view == "front":
        for name in ("acromion", "waist", "trochanter"):
            r, left = ANN[photo, f"{name}_right"], ANN[photo, f"{name}_left"]
            if r.visible and left.visible:
                assert r.mean[0] < left.mean[0], (photo, name)


def test_body_height_from_the_clicks_is_most_of_the_person():
    """Vertex-to-sole spans a plausible share of the photo (the whole person is in frame)."""
    from posture.images import load_photo

    for photo in photos(ANN):
        height = body_height_px(ANN, photo)
        if height is None:
            assert not ANN[photo, "vertex"].visible  # leo3: dark hair on a dark wall
            continue
        img_h = load_photo(sample(photo)).original_size[1]
        assert 0.55 * img_h < height < img_h, photo


def test_repeatability_is_worst_for_the_waist_and_best_for_the_sole():
    """The figures the README reports: soft definitions scatter more than sharp edges."""
    assert REP["sole"].rms_pct < REP["vertex"].rms_pct < REP["acromion"].rms_pct
    assert REP["waist"].rms_pct == max(r.rms_pct for r in REP.values())
    assert all(r.n >= 1 and r.tolerance_pct >= 1.5 for r in REP.values())


def test_crops_are_the_upright_full_resolution_frame():
    """make_crops reads an EXIF-rotated photo (pixels stored landscape) upright at full size,
    and draws a region at the asked width plus its label margin."""
    from tests.data.anatomical.make_crops import render, upright

    rgb = upright("jara_test_side_3.jpg")
    assert rgb.shape == (4000, 3000, 3)
    panel = render(rgb, (1000, 3300, 1700, 3800), step=50, width=700)
    assert panel.size == (700 + 46, round(500 * 700 / 700) + 46)


def test_crop_list_covers_both_rounds_of_every_photo_inside_the_photo():
    """crops.csv (what `make_crops.py round N` redraws) names every photo in both rounds, and
    every region lies within its upright photo."""
    import csv

    from posture.images import load_photo
    from tests.anatomical_set import DATA

    with open(DATA / "crops.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for number in ("1", "2"):
        assert {r["photo"] for r in rows if r["round"] == number} == set(photos(ANN))
    sizes = {p: load_photo(sample(p)).original_size for p in photos(ANN)}
    for r in rows:
        w, h = sizes[r["photo"]]
        for box in r["regions"].split():
            x0, y0, x1, y1 = (int(v) for v in box.split(","))
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (r["image"], box)


def test_annotations_share_the_landmarks_frame(detector):
    """The clicks sit where MediaPipe puts the same body parts: the tragus next to the ear
    landmark, each acromion next to its own side's shoulder landmark (a transposed, rotated or
    left/right-swapped frame would fail)."""
    from posture import AnalysisOptions, analyze
    from posture.landmarks.vocabulary import Landmark as L

    opts = AnalysisOptions(passes=1, check_second_person=False)
    side = analyze(side=sample("jara_test_side_3.jpg"), options=opts, detector=detector).side
    height = body_height_px(ANN, "jara_test_side_3.jpg")
    ear = side.landmarks.xy[L.RIGHT_EAR]  # faces image-right: the right side is near
    assert math.dist(ANN["jara_test_side_3.jpg", "tragus"].mean, ear) < 0.03 * height
    front = analyze(front=sample("saif1.jpeg"), options=opts, detector=detector).front
    height = body_height_px(ANN, "saif1.jpeg")
    for side_name, landmark in (("right", L.RIGHT_SHOULDER), ("left", L.LEFT_SHOULDER)):
        acromion = np.array(ANN["saif1.jpeg", f"acromion_{side_name}"].mean)
        assert np.linalg.norm(acromion - front.landmarks.xy[landmark]) < 0.06 * height
        other = L.LEFT_SHOULDER if landmark == L.RIGHT_SHOULDER else L.RIGHT_SHOULDER
        assert np.linalg.norm(acromion - front.landmarks.xy[landmark]) < \
            np.linalg.norm(acromion - front.landmarks.xy[other])


# --- the finders against the set ------------------------------------------------------------

# Cases the finders (branch outline b11f3ab, branch front 6d4d8ea) do not yet meet, as measured
# by benchmarks/outline_accuracy.py --detail. Not strict: a finder that improves turns a case
# into XPASS; after merging newer finders, `pytest tests/test_outline_accuracy.py -rxX` shows
# what to move.
KNOWN_MISSES = {
    ("ana_test.jpg", "acromion_right"): "4.2 % of height from the clicks (tolerance 3.6 %): "
                                        "the denim jacket's sloping shoulder has no clear corner",
    ("leo_test.jpeg", "acromion_left"): "4.1 % (tolerance 3.6 %): hoodie, rounded shoulder",
    ("ana_test_right.jpg", "vertex"): "1.52 % high (tolerance 1.5 %): dark hair on dark foliage",
    ("leo3_test.jpg", "acromion_right"): "ok with an SD of 21 px (a third of the tolerance: "
                                         "35 px) where a padded jacket meets dark furniture",
    ("leo3_test.jpg", "acromion_left"): "ok with an SD of 34 px (a third of the tolerance: "
                                        "35 px): padded jacket against a dark door frame",
    ("anibal2_test.jpg", "acromion_left"): "ok with an SD of 14 px (a third of the tolerance: "
                                           "47 px): dark jacket against a dark doorway",
}


def _cases(seen: bool) -> list:
    out = []
    for (photo, point), a in ANN.items():
        if a.view == "front" and point in ("vertex", "sole"):
            continue  # no front finder reports them (the contract's front points do not)
        if (a.visible if seen else a.hidden):
            marks = [pytest.mark.xfail(reason=KNOWN_MISSES[photo, point], strict=False)] \
                if (photo, point) in KNOWN_MISSES else []
            out.append(pytest.param(photo, point, id=f"{photo.split('.')[0]}-{point}",
                                    marks=marks))
    return out


@pytest.fixture(scope="module")
def analyses(detector):
    """Every annotated photo analysed at the default options, once."""
    from posture import AnalysisOptions, analyze

    opts = AnalysisOptions(check_second_person=False)
    out = {}
    for photo in photos(ANN):
        view = ANN[photo, "vertex"].view
        res = analyze(**{view: sample(photo)}, options=opts, detector=detector)
        out[photo] = res.front or res.side
    return out


def _height(analyses, photo: str) -> float:
    return body_height_px(ANN, photo) or analyses[photo].extent.height_px


@pytest.mark.parametrize(("photo", "point"), _cases(seen=True))
def test_found_point_lies_within_tolerance_of_the_clicks(analyses, photo, point):
    found = analyses[photo].anatomical_points.get(point)
    if found is None or not found.ok:  # allowed (a status, not a guess): see the test below
        pytest.skip(f"finder: {'not reported' if found is None else found.reason}")
    height = _height(analyses, photo)
    err = separation(point, ANN[photo, point].mean, (found.x, found.y))
    tol = _tolerance_px(point, height)
    assert err <= tol, (f"{photo} {point}: {err:.0f} px ({100 * err / height:.1f} % of height) "
                        f"from the clicks' mean; tolerance {tol:.0f} px")


@pytest.mark.parametrize(("photo", "point"), _cases(seen=False))
def test_point_the_annotator_could_not_see_is_not_confidently_ok(analyses, photo, point):
    found = analyses[photo].anatomical_points.get(point)
    if found is not None and not found.ok:
        assert found.reason  # not visible, and says why
        return
    if found is None:
        pytest.skip("finder does not report this point for this view")
    tol = _tolerance_px(point, _height(analyses, photo))
    assert found.uncertainty_px >= tol / 3, (
        f"{photo} {point}: ok with SD {found.uncertainty_px:.1f} px where the annotator saw "
        f"nothing ({ANN[photo, point].first.note}); a third of the tolerance is {tol / 3:.0f}")


SHARP_PCT = 1.0  # click-to-click under 1 % of height: a point both rounds found easily

MISSED = {  # sharp points the finders call not visible (same commits as KNOWN_MISSES)
    ("arsalan2.jpeg", "trochanter_right"): "finder: the arm or hand hides part of the hip",
    ("arsalan2.jpeg", "trochanter_left"): "finder: hip outline too straight to place",
    ("leo2_test.jpg", "trochanter_right"): "finder: hip outline too straight to place",
    ("saif1.jpeg", "trochanter_right"): "finder: hip outline too straight to place",
}


def _sharp_cases() -> list:
    out = []
    for (photo, point), a in ANN.items():
        height = body_height_px(ANN, photo)
        if (not a.visible or height is None or 100 * a.spread_px / height >= SHARP_PCT
                or (a.view == "front" and point in ("vertex", "sole"))):  # not front outputs
            continue
        marks = [pytest.mark.xfail(reason=MISSED[photo, point], strict=False)] \
            if (photo, point) in MISSED else []
        out.append(pytest.param(photo, point, id=f"{photo.split('.')[0]}-{point}", marks=marks))
    return out


@pytest.mark.parametrize(("photo", "point"), _sharp_cases())
def test_point_the_annotator_placed_easily_is_found(analyses, photo, point):
    """A point both rounds put within 1 % of the height of each other is plainly visible: the
    finder should place it rather than call it not visible."""
    found = analyses[photo].anatomical_points.get(point)
    assert found is not None and found.ok, (
        f"{photo} {point}: {'not reported' if found is None else found.reason}")
