"""Four photo slots (front, back, left side, right side): filing, the combined measures of two
photos of one visit, and their findings. Synthetic metric results for the arithmetic; leo's
real photos (front, left side, right side, and a back stand-in: tests/back_view.py) end to end.
"""

from __future__ import annotations

import pytest

from posture import AnalysisOptions, analyze
from posture.assessment import check_given
from posture.camera import roll_from_points
from posture.errors import InputError
from posture.metrics.bilateral import (
    FLAG_AGREES,
    FLAG_DIFFERS,
    FLAG_NOT_JUDGED,
    Level,
    both_sides,
    disagreements,
    front_and_back,
)
from posture.metrics.compute import STATUS_OK, MetricResult
from posture.metrics.detectable import DetectableChange
from posture.metrics.reference import load_ranges
from posture.metrics.summary import frontal_levels
from tests.back_view import back_photo, seen_from_behind
from tests.conftest import sample

MDC = {"plumb_hip": DetectableChange("plumb_hip", 2.0, "cm", "screening default", ""),
       "shoulder_tilt": DetectableChange("shoulder_tilt", 2.0, "deg", "screening default", "")}


def result(metric: str, value: float, unit: str = "cm", uncertainty: float = 0.3,
           view: str = "side") -> MetricResult:
    return MetricResult(metric=metric, label=metric, view=view, value=value, unit=unit,
                        uncertainty=uncertainty, direction="", status=STATUS_OK, detail="", flag="",
                        reference="", landmarks=(), raw_value=value)


def by_slot(rows, slot):
    return {m.metric: m for m in rows if m.slot == slot}


def test_both_sides_give_the_mean_flagged_and_the_difference_judged():
    left = [result("plumb_hip", 4.0), result("plumb_ear", 3.0)]
    right = [result("plumb_hip", 1.0), result("plumb_ear", 2.8)]
    rows = both_sides(left, right, load_ranges(), MDC)
    mean, diff = by_slot(rows, "sides"), by_slot(rows, "left-right")
    assert mean["plumb_hip"].value == pytest.approx(2.5)
    assert mean["plumb_hip"].uncertainty == pytest.approx((0.3 ** 2 * 2) ** 0.5 / 2)
    assert mean["plumb_hip"].flag == "no range"
    assert diff["plumb_hip"].value == pytest.approx(3.0)
    assert diff["plumb_hip"].flag == FLAG_DIFFERS          # beyond 2 x 0.42 cm and 2 cm
    assert diff["plumb_ear"].flag == FLAG_NOT_JUDGED       # no MDC known for it here
    [said] = disagreements(rows)
    assert said.code == "sides_differ" and said.metric == "plumb_hip"
    assert "left hip sits further forward" in said.message
    assert "toward the patient's right" in said.message


def test_the_mean_of_both_sides_is_flagged_against_the_reference_range():
    left, right = [result("cva", 47.0, "deg", 0.5)], [result("cva", 51.0, "deg", 0.5)]
    [mean] = [m for m in both_sides(left, right, load_ranges(), {}) if m.slot == "sides"]
    assert mean.value == pytest.approx(49.0) and mean.flag == "outside"   # at least 50 deg
    assert mean.detail == "left 47.0, right 51.0 deg"


def test_a_difference_within_the_detectable_change_agrees():
    rows = both_sides([result("plumb_hip", 2.0)], [result("plumb_hip", 0.5)], {}, MDC)
    assert by_slot(rows, "left-right")["plumb_hip"].flag == FLAG_AGREES   # 1.5 < 2 cm MDC
    assert disagreements(rows) == ()


def test_a_measure_that_moves_with_the_level_is_judged_only_when_both_levels_are_known():
    left, right = [result("plumb_hip", 4.0)], [result("plumb_hip", 1.0)]
    moves = {"plumb_hip": 1.7}                     # cm per degree of camera roll
    unknown = both_sides(left, right, {}, MDC, (Level(0.3, moves), Level(None, moves)))
    diff = by_slot(unknown, "left-right")["plumb_hip"]
    assert diff.flag == FLAG_NOT_JUDGED and "level is unknown for the right photo" in diff.detail
    assert "by up to 3.4 cm" in diff.detail and disagreements(unknown) == ()
    known = by_slot(both_sides(left, right, {}, MDC, (Level(0.3, moves), Level(1.5, moves))),
                    "left-right")["plumb_hip"]
    # 1.5 deg of doubt on the right photo's vertical: +/-2.6 cm, so 3 cm is within the noise.
    assert known.uncertainty == pytest.approx(((0.3**2 + (1.7 * 0.3)**2)
                                               + (0.3**2 + (1.7 * 1.5)**2)) ** 0.5)
    assert known.flag == FLAG_AGREES
    # A measure the level does not move (a joint angle) is judged without it.
    knee = [result("knee_sagittal_angle", 9.0, "deg", 0.5)], [result("knee_sagittal_angle", 2.0,
                                                                      "deg", 0.5)]
    flat = {"knee_sagittal_angle": 0.0}
    assert by_slot(both_sides(*knee, {}, {}, (Level(None, flat), Level(None, flat))),
                   "left-right")["knee_sagittal_angle"].flag == FLAG_DIFFERS


def test_measures_missing_or_in_other_units_on_one_side_are_not_combined():
    left = [result("plumb_hip", 2.0), result("plumb_knee", 1.0)]
    right = [result("plumb_hip", 30.0, unit="px")]
    assert both_sides(left, right, {}, MDC) == ()


def test_front_and_back_agree_within_noise_and_differ_beyond_it():
    front = [result("shoulder_tilt", 3.0, "deg", 0.4, "front")]
    assert by_slot(front_and_back(front, [result("shoulder_tilt", 2.0, "deg", 0.4, "back")], MDC),
                   "front-back")["shoulder_tilt"].flag == FLAG_AGREES
    rows = front_and_back(front, [result("shoulder_tilt", -2.0, "deg", 0.4, "back")], MDC)
    diff = by_slot(rows, "front-back")["shoulder_tilt"]
    assert diff.value == pytest.approx(5.0) and diff.flag == FLAG_DIFFERS
    [said] = disagreements(rows)
    assert said.code == "front_back_differ" and "check both" in said.message


@pytest.fixture(scope="module")
def four(detector):
    """leo's four views: front, back (stand-in), left side, right side."""
    back = back_photo(sample("leo_test.jpeg"))
    with pytest.MonkeyPatch.context() as mp, seen_from_behind(mp, back):
        return analyze(sample("leo_test.jpeg"), back=back, left=sample("leo_test_left.jpg"),
                       right=sample("leo_test_right.jpg"),
                       options=AnalysisOptions(passes=2, height_cm=178, subject="leo"),
                       detector=detector)


def test_four_views_fill_four_slots_each_with_its_view(four):
    assert [p.slot for p in four.photos] == ["front", "back", "left", "right"]
    assert [p.view.view for p in four.photos] == ["front", "back", "side", "side"]
    assert four.findings == ()                          # nothing moved, nothing wrong
    assert four.side is four.left and four.frontal == (four.front, four.back)
    assert {m.slot for m in four.metrics} == {"front", "back", "left", "right", "sides",
                                               "left-right", "front-back"}


def test_the_back_view_reads_in_the_patients_frame(four):
    """The back stand-in is the front photo seen from behind: every frontal measure in the
    patient's frame agrees with the front's (up to the landmarks' own mirror wobble)."""
    diffs = by_slot(four.combined, "front-back")
    assert len(diffs) >= 10
    for metric in ("shoulder_tilt", "pelvic_obliquity", "head_tilt", "knee_tilt"):
        front, back = four.metric(metric, "front"), four.metric(metric, "back")
        assert back.value == pytest.approx(front.value, abs=1.0), metric
        assert back.direction == front.direction or abs(front.value) < 0.5, metric
        # leo's photos show no straight structure to read the camera's level from: a tilt's
        # difference is not judged until a true vertical is marked on both photos.
        assert diffs[metric].flag == FLAG_NOT_JUDGED and "level is unknown" in diffs[metric].detail
    assert "not judged: the camera's level is unknown" in frontal_levels(four.metrics).back
    level = four.with_camera_roll("front", roll_from_points((100, 50), (100, 900))) \
        .with_camera_roll("back", roll_from_points((300, 50), (300, 900)))
    judged = by_slot(level.combined, "front-back")
    for metric in ("shoulder_tilt", "pelvic_obliquity", "head_tilt", "knee_tilt"):
        assert judged[metric].flag == FLAG_AGREES, metric
    assert frontal_levels(level.metrics).back.startswith("The back photo agrees")
    assert by_slot(four.combined, "front-back")["knee_frontal_angle_left"].flag == FLAG_AGREES


def test_both_sides_of_a_real_person_give_mean_and_difference_rows(four):
    means, diffs = by_slot(four.combined, "sides"), by_slot(four.combined, "left-right")
    assert set(means) == set(diffs) and "plumb_hip" in means and "forward_head_angle" in means
    for metric, mean in means.items():
        left, right = four.metric(metric, "left"), four.metric(metric, "right")
        assert mean.value == pytest.approx((left.value + right.value) / 2)
        assert diffs[metric].value == pytest.approx(left.value - right.value)
        assert mean.unit == "cm" if metric.startswith("plumb") else True
    # A finding for each difference beyond the noise and the detectable change.
    differing = [m for m in four.combined if m.flag == FLAG_DIFFERS]
    said = {f.message.split(":")[0] for f in four.combined_findings}
    assert len(four.combined_findings) == len(differing)
    assert all(s.startswith(("The side photos disagree", "Front and back")) for s in said)


def test_rows_name_each_slot_and_the_pair_behind_a_combined_row(four):
    rows = four.rows()
    assert {r["slot"] for r in rows} == {m.slot for m in four.metrics}
    [hip] = [r for r in rows if r["slot"] == "left-right" and r["metric"] == "plumb_hip"]
    assert hip["image"] == "leo_test_left.jpg + leo_test_right.jpg"
    assert hip["view"] == "side"
    assert len(rows) == len({(r["slot"], r["metric"]) for r in rows})   # one row per pair


def test_three_photos_and_one_side_photo(detector):
    options = AnalysisOptions(passes=1)
    three = analyze(sample("leo_test.jpeg"), left=sample("leo_test_left.jpg"),
                    right=sample("leo_test_right.jpg"), options=options, detector=detector)
    assert [p.slot for p in three.photos] == ["front", "left", "right"]
    assert {m.slot for m in three.combined} == {"sides", "left-right"}
    one = analyze(side=sample("leo_test_left.jpg"), options=options, detector=detector)
    assert [p.slot for p in one.photos] == ["left"] and one.combined == ()
    assert one.findings == ()          # a side photo given as "side" is filed without a word


def test_sides_given_in_each_others_slots_trade_places(detector):
    swapped = analyze(left=sample("leo_test_right.jpg"), right=sample("leo_test_left.jpg"),
                      options=AnalysisOptions(passes=1), detector=detector)
    assert swapped.left.name == "leo_test_left.jpg" and swapped.right.name == "leo_test_right.jpg"
    [moved] = swapped.findings
    assert moved.code == "views_swapped" and "the left photo shows the right side" in moved.message
    given = {"left": b"bytes of leo_test_right", "right": b"bytes of leo_test_left"}
    assert swapped.filed(given) == {"left": given["right"], "right": given["left"]}


class NoDetection:
    """A detector the test fails on if anything asks it for landmarks."""

    def __getattr__(self, name):
        raise AssertionError(f"the detector was used ({name}) before the photos were checked")


@pytest.mark.parametrize("photos, match", [
    ({"side": sample("ana_test_right.jpg"), "left": sample("leo_test_left.jpg"),
      "right": sample("leo_test_right.jpg")},
     r"^a side photo is given beside both a left and a right side photo, and would be filed as "
     r"one of them: give at most one photo per slot$"),
    ({"front": sample("leo_test.jpeg"), "back": sample("leo_test_left.jpg"),
      "right": sample("leo_test_left.jpg")},
     r"^'leo_test_left.jpg' is given as both the back and the right side photo: give each "
     r"photo once, in the slot of the view it shows$"),
    ({}, r"^give at least one photo: front, back, left side or right side$"),
])
def test_photos_that_cannot_be_one_visit_are_refused_before_any_is_read(photos, match):
    with pytest.raises(InputError, match=match):
        analyze(**photos, options=AnalysisOptions(passes=1), detector=NoDetection())


def test_a_file_and_a_link_to_it_are_one_photo(tmp_path):
    link = tmp_path / "front copy.jpeg"
    link.symlink_to(sample("leo_test.jpeg"))
    with pytest.raises(InputError, match=r"^'front copy.jpeg' is given as both the front and "
                                         r"the side photo"):
        check_given({"front": sample("leo_test.jpeg"), "side": link})
    # Bytes are not compared: two alike may be a clinic's own choice, analysed as given.
    data = sample("leo_test.jpeg").read_bytes()
    assert check_given({"front": data, "back": data}) is None


def test_the_levels_are_the_backs_when_the_front_slot_measured_nothing(four):
    """A side view in the front slot (both side slots taken) measures no level: the visit's
    levels are the back photo's, not an empty chain."""
    from dataclasses import replace

    from posture.metrics.compute import STATUS_WRONG_VIEW, not_measured
    from posture.metrics.definitions import METRICS_BY_ID

    front = [replace(not_measured(METRICS_BY_ID[m.metric], STATUS_WRONG_VIEW, "a side view"),
                     slot="front") for m in four.front.metrics]
    levels = frontal_levels(front + list(four.back.metrics))
    assert levels.slot == "back" and any(level.measured for level in levels.chain.levels)
    assert frontal_levels(four.metrics).slot == "front"
    assert frontal_levels(front).slot == "front"     # nothing measured anywhere: the front's


def test_a_difference_not_judged_says_why_in_the_apps_flag_cell():
    from posture.app.widgets import metrics_frame

    moves = {"plumb_hip": 1.7}
    rows = both_sides([result("plumb_hip", 4.0)], [result("plumb_hip", 1.0)], {}, MDC,
                      (Level(None, moves), Level(0.3, moves)))
    [flag] = metrics_frame([m for m in rows if m.slot == "left-right"])["Flag"]
    assert flag.startswith("not judged: the camera's level is unknown for the left photo")
