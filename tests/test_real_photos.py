"""Real photos: views, EXIF orientation, and the consistency of frontal tilts at default passes.

Consistency, not accuracy (no ground truth here): rotating a front photo counter-clockwise by
4 deg must raise every frontal tilt by 4 deg, mirroring must flip its sign, and halving the
resolution must change nothing, each within the tolerances issue #2 sets.
"""

from __future__ import annotations

import pytest

from posture import AnalysisOptions, analyze
from posture.images import load_photo
from posture.landmarks.vocabulary import Landmark as L
from tests.conftest import manifest, sample
from tests.photo_variants import half, mirrored, rotated

TILTS = ("shoulder_tilt", "pelvic_obliquity")
FRONTS = [r["file"].split("/")[-1] for r in manifest() if r["view"] == "front"]


@pytest.fixture(scope="module")
def front_results(detector):
    """Each front photo and its variants, analysed once at default passes."""
    out = {}
    opts = AnalysisOptions(check_second_person=False)
    for name in FRONTS:
        photo = load_photo(sample(name))
        variants = {"plain": photo, "rot4": rotated(photo, 4.0), "rot-3": rotated(photo, -3.0),
                    "mirror": mirrored(photo), "half": half(photo)}
        out[name] = {k: analyze(front=v, options=opts, detector=detector)
                     for k, v in variants.items()}
    return out


@pytest.mark.parametrize("row", manifest(), ids=lambda r: r["file"])
def test_view_and_facing_match_the_manifest(row, detector):
    result = analyze(front=sample(row["file"].split("/")[-1]) if row["view"] == "front" else None,
                     side=sample(row["file"].split("/")[-1]) if row["view"] == "side" else None,
                     options=AnalysisOptions(passes=2, check_second_person=False),
                     detector=detector)
    photo = result.photos[0]
    assert photo.view.view == row["view"]
    if row["view"] == "side":
        assert photo.view.facing == row["facing"]
    assert not [f for f in photo.findings if f.code in ("wrong_view", "oblique")]


@pytest.mark.parametrize("name", ["jara_test_front_3.jpg", "jara_test_side_3.jpg"])
def test_exif_rotated_photos_are_analysed_upright(name, detector):
    result = analyze(side=sample(name), options=AnalysisOptions(passes=1), detector=detector) \
        if "side" in name else analyze(front=sample(name), options=AnalysisOptions(passes=1),
                                       detector=detector)
    p = result.photos[0]
    assert p.landmarks.image_size == (3000, 4000)
    xy = p.landmarks.xy
    assert xy[L.NOSE, 1] < xy[L.LEFT_HIP, 1] < xy[L.LEFT_ANKLE, 1]
    # Landmark measures all computed; outline-point ones are computed or say why not.
    assert all(m.status == "ok" for m in p.metrics if not m.points)
    assert all(m.status == "ok" or m.detail for m in p.metrics)


@pytest.mark.parametrize("name", FRONTS)
def test_rotation_adds_to_frontal_tilts(name, front_results):
    r = front_results[name]
    for metric in TILTS:
        base = r["plain"].metric(metric).value
        assert r["rot4"].metric(metric).value - base == pytest.approx(4.0, abs=1.5), metric
        assert r["rot-3"].metric(metric).value - base == pytest.approx(-3.0, abs=1.5), metric


@pytest.mark.parametrize("name", FRONTS)
def test_mirroring_flips_frontal_tilts(name, front_results):
    r = front_results[name]
    for metric in TILTS + ("head_tilt",):
        assert r["mirror"].metric(metric).value == pytest.approx(
            -r["plain"].metric(metric).value, abs=0.1), metric


@pytest.mark.parametrize("name", FRONTS)
def test_half_resolution_moves_no_angle_much(name, front_results):
    r = front_results[name]
    for m in r["plain"].metrics:
        if m.unit == "deg" and m.value is not None:
            other = r["half"].metric(m.metric).value
            assert other is not None
            assert other == pytest.approx(m.value, abs=1.5), m.metric


def test_same_photo_gives_identical_landmarks(detector):
    photo = load_photo(sample("leo2_test.jpg"))
    a = analyze(front=photo, detector=detector)
    b = analyze(front=photo, detector=detector)
    assert (a.front.landmarks.xy == b.front.landmarks.xy).all()
    assert [m.value for m in a.metrics] == [m.value for m in b.metrics]


def test_height_gives_centimetres_of_plausible_size(ana_assessment):
    shoulder_width_cm = abs(
        ana_assessment.front.landmarks.xy[L.LEFT_SHOULDER, 0]
        - ana_assessment.front.landmarks.xy[L.RIGHT_SHOULDER, 0]) * ana_assessment.front.cm_per_px
    # Adult biacromial-ish joint-centre width: 25-45 cm.
    assert 25 < shoulder_width_cm < 45
    assert ana_assessment.front.extent.method == "segmentation"
    assert ana_assessment.metric("plumb_ear").unit == "cm"


def test_swapped_photos_are_detected_and_swapped_back(detector):
    front, side = sample("ana_test.jpg"), sample("ana_test_right.jpg")
    result = analyze(front=side, side=front, options=AnalysisOptions(passes=1),
                     detector=detector)
    [swapped] = result.findings
    assert swapped.code == "views_swapped"
    assert "the front photo shows the right side; the side photo shows the front" \
        in swapped.message
    assert result.front.view.view == "front" and result.side.view.view == "side"


def test_lone_side_photo_in_front_slot_is_analysed_as_the_side_it_shows(detector):
    result = analyze(front=sample("leo_test_right.jpg"), options=AnalysisOptions(passes=1),
                     detector=detector)
    assert result.front is None and result.side is not None
    assert result.side.slot == ("right" if result.side.view.forward > 0 else "left")
    [swapped] = [f.message for f in result.findings if f.code == "views_swapped"]
    assert f"the front photo shows the {result.side.slot} side" in swapped
    assert any(m.status == "ok" for m in result.metrics)


def test_side_photo_in_front_slot_beside_that_side_is_flagged_wrong_view(detector, tmp_path):
    photo = sample("leo_test_right.jpg")
    facing = analyze(side=photo, options=AnalysisOptions(passes=1), detector=detector).side.slot
    # A second file of the same photo: one file in two slots is refused before any analysis.
    again = tmp_path / "again.jpg"
    again.write_bytes(photo.read_bytes())
    result = analyze(front=again, options=AnalysisOptions(passes=1), detector=detector,
                     **{facing: photo})
    assert "wrong_view" in [f.code for f in result.front.findings]
    assert {m.status for m in result.front.metrics} == {"wrong_view"}
    assert all(m.value is None for m in result.front.metrics)
    assert result.photo(facing).view.view == "side"
