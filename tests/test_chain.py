"""The pelvis-to-head chain: levels from the floor up, lateral shifts, head rotation, and the
summary by region, on synthetic skeletons with known geometry and on real photos."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from posture.errors import InputError
from posture.landmarks.vocabulary import Landmark as L
from posture.metrics.bilateral import both_sides, front_and_back
from posture.metrics.chain import levels_chain
from posture.metrics.compute import (
    HEAD_DEPTH_RATIO,
    STATUS_WRONG_VIEW,
    Frame,
    MetricResult,
    compute_metrics,
)
from posture.metrics.detectable import load_detectable_changes
from posture.metrics.reference import load_ranges
from posture.metrics.summary import frontal_levels, load_wording, patient_lines, region_summary
from tests import skeletons as sk

RANGES = load_ranges()
FRONT, BACK = Frame("front", lateral=1), Frame("back", lateral=-1)


def metrics(xy, frame=FRONT):
    return compute_metrics(sk.landmarks(xy), frame, ranges=RANGES)


def by_id(xy, frame=FRONT):
    return {m.metric: m for m in metrics(xy, frame)}


def raised(xy, side: str, names: tuple[str, ...], px: float) -> np.ndarray:
    """The skeleton with the named landmarks of one side raised by px (y up is negative)."""
    out = xy.copy()
    for name in names:
        out[L[f"{side}_{name}"], 1] -= px
    return out


LEG_AND_UP = ("KNEE", "HIP", "SHOULDER", "EAR", "EYE", "EYE_INNER", "EYE_OUTER")


def test_levels_run_from_the_floor_up():
    chain = levels_chain(metrics(sk.front()))
    assert [lv.level for lv in chain.levels] == ["ankles", "knees", "hips", "shoulders", "ears",
                                                 "eyes"]
    assert all(lv.higher == "level" and not lv.tilted for lv in chain.levels)
    assert chain.observations[0].startswith("Every measured level is within")


def test_known_level_differences_are_measured_in_each_pair():
    xy = raised(sk.front(), "LEFT", ("ANKLE",), 10)
    m = by_id(xy)
    # ankles 120 px apart (hip half-width 60): 10 px is atan(10 / 120)
    assert m["ankle_height_diff"].value == pytest.approx(10)
    assert m["ankle_tilt"].value == pytest.approx(np.degrees(np.arctan2(10, 120)))
    assert m["knee_tilt"].value == pytest.approx(0)
    assert "leg-length proxy" in m["ankle_tilt"].detail


def test_a_pelvis_started_asymmetry_is_said_to_start_above_the_knees():
    chain = levels_chain(metrics(sk.front(pelvic_tilt=-4)))
    assert chain.level("hips").higher == "right" and chain.level("hips").tilted
    assert chain.level("knees").higher == "level"
    assert chain.observations[0] == ("Legs level from the ankles to the knees; hips right side "
                                     "higher: the asymmetry starts above the knees.")


def test_a_knee_started_asymmetry_is_a_leg_length_proxy():
    # The left leg longer below the knee: the left knee and everything above it 15 px higher.
    xy = raised(sk.front(), "LEFT", LEG_AND_UP, 15)
    chain = levels_chain(metrics(xy))
    assert chain.level("ankles").higher == "level"
    assert chain.level("knees").tilted and chain.level("knees").higher == "left"
    assert chain.observations[0].startswith("The asymmetry starts at the knees: left side higher")
    assert any("leg-length proxy only" in o for o in chain.observations)
    # Shoulders and pelvis follow the knees the same way: no compensation.
    assert any("both higher on the left" in o for o in chain.observations)


def test_shoulders_tilting_against_the_pelvis_is_called_compensation():
    chain = levels_chain(metrics(sk.front(pelvic_tilt=4, shoulder_tilt=-4)))
    assert any("tilt opposite ways" in o and "compensate" in o for o in chain.observations)
    assert any("head is held level above shoulders higher on the right" in o
               for o in chain.observations)


@pytest.mark.parametrize("copy", ["mirror", "back"])
def test_mirrored_and_back_view_copies_give_the_patient_frame_answer(copy):
    xy = sk.front(pelvic_tilt=4, shoulder_tilt=-4)
    if copy == "mirror":  # a mirrored photo is another body: the patient's sides swap
        chain = levels_chain(metrics(sk.mirror(xy)))
        assert chain.level("hips").higher == "right" and chain.level("shoulders").higher == "left"
    else:  # the same body from behind: the same answer
        chain = levels_chain(metrics(sk.as_back(xy), BACK))
        assert chain.level("hips").higher == "left" and chain.level("shoulders").higher == "right"
        assert chain.observations == levels_chain(metrics(xy)).observations


def test_pelvic_and_shoulder_shift_are_measured_over_the_feet():
    xy = sk.front()
    xy[[L.LEFT_HIP, L.RIGHT_HIP], 0] += 18      # pelvis 18 px toward the patient's left
    m = by_id(xy)
    assert m["pelvic_lateral_shift"].value == pytest.approx(18)
    assert m["pelvic_lateral_shift_pct"].value == pytest.approx(100 * 18 / 120)
    assert m["pelvic_lateral_shift"].direction == "pelvis shifted to the patient's left"
    assert m["shoulder_lateral_shift"].value == pytest.approx(0)
    chain = levels_chain(m.values())
    assert any(o == "The pelvis is shifted to the patient's left of the feet under a centred "
               "head." for o in chain.observations)
    back = by_id(sk.as_back(xy), BACK)
    assert back["pelvic_lateral_shift"].value == pytest.approx(18)


@pytest.mark.parametrize("turn", [-25, -10, 0, 5, 10, 30])
def test_head_rotation_recovers_a_known_turn(turn):
    xy = sk.front()
    # The head model: nose D = ratio x half ear distance ahead of the ears; turned by t, the
    # nose shows D sin t off the ears' midpoint while the ears appear 2 W cos t apart.
    half_w = 45.0
    xy[L.LEFT_EAR, 0], xy[L.RIGHT_EAR, 0] = 500 + half_w * np.cos(np.radians(turn)), \
        500 - half_w * np.cos(np.radians(turn))
    xy[L.NOSE, 0] = 500 + HEAD_DEPTH_RATIO * half_w * np.sin(np.radians(turn))
    m = by_id(xy)["head_rotation"]
    assert m.value == pytest.approx(turn, abs=1e-9)
    assert by_id(sk.mirror(xy))["head_rotation"].value == pytest.approx(-turn, abs=1e-9)
    if turn:
        side = "left" if turn > 0 else "right"
        assert m.direction == f"head turned to the patient's {side}"


def test_head_rotation_is_not_guessed_from_behind():
    m = by_id(sk.as_back(sk.front()), BACK)["head_rotation"]
    assert m.value is None and m.status == STATUS_WRONG_VIEW


def test_region_summary_lists_only_what_is_outside_or_at_the_edge():
    summary = region_summary(metrics(sk.front(pelvic_tilt=-4)))
    regions = {r.region: r for r in summary}
    assert list(regions) == ["head_neck", "shoulders", "trunk_spine", "pelvis", "legs"]
    [line] = regions["pelvis"].lines
    assert line.metric == "pelvic_obliquity"
    assert line.clinician.startswith("Pelvic obliquity (hip joints): -4.0")
    assert "right hip higher" in line.clinician and "outside the reference range" in line.clinician
    assert regions["legs"].clear and regions["head_neck"].clear
    # shoulder-pelvis angle and trunk lean are outside too (the shoulders stay level)
    assert {ln.metric for ln in regions["shoulders"].lines} == {"shoulder_pelvis_angle"}
    assert patient_lines(summary)["Pelvis"] == ("One hip sits higher than the other.",)


def test_a_clinic_rewords_the_summary_and_bad_files_are_refused(tmp_path):
    own = tmp_path / "wording.csv"
    own.write_text("region,metric,clinician,patient\n"
                   "pelvis,pelvic_obliquity,Beckenschiefstand,Ihr Becken steht schief.\n",
                   encoding="utf-8")
    summary = region_summary(metrics(sk.front(pelvic_tilt=-4)), load_wording(own))
    pelvis = next(r for r in summary if r.region == "pelvis")
    assert pelvis.lines[0].clinician.startswith("Beckenschiefstand: -4.0")
    assert pelvis.lines[0].patient == "Ihr Becken steht schief."
    bad = tmp_path / "bad.csv"
    bad.write_text("region,metric,clinician,patient\nhead,head_tilt,a,b\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv, line 2: unknown region 'head'"):
        load_wording(bad)
    bad.write_text("region,metric,clinician,patient\npelvis,pelvic_tilt,a,b\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown metric 'pelvic_tilt'"):
        load_wording(bad)


def test_every_metric_the_summary_words_exists_and_every_region_is_known():
    wording = load_wording()
    assert wording  # parsed against the metric table: unknown ids would have raised
    assert {w.region for w in wording.values()} == {"head_neck", "shoulders", "trunk_spine",
                                                    "pelvis", "legs"}


# ---- real photos


def test_the_chain_of_a_real_front_photo_is_complete_and_consistent(ana_assessment):
    front = ana_assessment.front
    chain = levels_chain(front.metrics)
    assert [lv.level for lv in chain.levels][:3] == ["ankles", "knees", "hips"]
    assert all(lv.measured for lv in chain.levels)
    assert chain.observations
    by = {m.metric: m for m in front.metrics}
    # A person standing for a screening photo: the pelvis within a hand of the feet, the head
    # turned less than 15 deg, each with an uncertainty.
    assert abs(by["pelvic_lateral_shift_pct"].value) < 50
    assert abs(by["head_rotation"].value) < 15
    assert by["head_rotation"].uncertainty is not None
    assert by["pelvic_lateral_shift"].unit == "cm"  # the fixture gives a height


def test_a_mirrored_real_photo_mirrors_every_new_measure(detector):
    from posture import AnalysisOptions, analyze
    from posture.images import load_photo
    from tests.conftest import sample
    from tests.photo_variants import mirrored

    photo = load_photo(sample("leo2_test.jpg"))
    options = AnalysisOptions(passes=2)
    a = {m.metric: m for m in analyze(photo, options=options, detector=detector).front.metrics}
    b = {m.metric: m for m in analyze(mirrored(photo), options=options,
                                      detector=detector).front.metrics}
    for metric in ("ankle_tilt", "knee_tilt", "eye_tilt", "pelvic_lateral_shift_pct",
                   "shoulder_lateral_shift_pct", "head_rotation"):
        assert a[metric].value is not None, metric
        assert b[metric].value == pytest.approx(-a[metric].value, abs=1e-6), metric


def test_rows_give_the_same_summary_and_chain_as_the_analysis(ana_assessment):
    from posture.metrics.summary import results_from_rows

    metrics = ana_assessment.front.metrics
    rows = [r for r in ana_assessment.rows() if r["view"] in ("front", "back")]
    again = results_from_rows(rows)
    assert [lv.level for lv in levels_chain(again).levels] == \
        [lv.level for lv in levels_chain(metrics).levels]
    assert levels_chain(again).observations == levels_chain(metrics).observations
    assert [[ln.metric for ln in r.lines] for r in region_summary(again)] == \
        [[ln.metric for ln in r.lines] for r in region_summary(metrics)]


# --- several photos of one visit ------------------------------------------------------------------


def slotted(results, slot: str) -> list:
    return [replace(m, slot=slot) for m in results]


def test_with_front_and_back_the_summary_and_levels_read_the_front_and_say_if_the_back_agrees():
    front = slotted(metrics(sk.front(pelvic_tilt=-4)), "front")
    back = slotted(metrics(sk.front(pelvic_tilt=-4)), "back")
    visit = front + back + list(front_and_back(front, back, load_detectable_changes()))
    pelvis = next(r for r in region_summary(visit) if r.region == "pelvis")
    [line] = pelvis.lines                                  # once, not once per photo
    assert line.clinician.startswith("Pelvic obliquity (hip joints): -4.0")
    assert line.clinician.endswith("; the back photo agrees")
    levels = frontal_levels(visit)
    assert levels.slot == "front"
    assert levels.chain.observations == levels_chain(front).observations
    assert levels.back == "The back photo agrees with the front on every level measured on both."
    assert levels.observations[-1] == levels.back

    # The back photo's pelvis tilts the other way: a disagreement, said where it belongs.
    back = slotted(metrics(sk.front(pelvic_tilt=4)), "back")
    visit = front + back + list(front_and_back(front, back, load_detectable_changes()))
    pelvis = next(r for r in region_summary(visit) if r.region == "pelvis")
    obliquity, differs = pelvis.lines
    assert obliquity.clinician.endswith("; the back photo differs")
    assert differs.flag == "differs" and differs.metric == "pelvic_obliquity"
    assert differs.clinician.startswith("Front and back photos disagree on pelvic obliquity")
    assert differs.patient == ""                          # a check of the photos, not for them
    assert "hips" in frontal_levels(visit).back and "differs" in frontal_levels(visit).back


def test_a_back_photo_alone_gives_the_levels_and_names_its_photo():
    back = slotted(metrics(sk.front(pelvic_tilt=-4)), "back")
    levels = frontal_levels(back)
    assert levels.slot == "back" and levels.back == ""
    assert levels.chain.observations == levels_chain(back).observations
    pelvis = next(r for r in region_summary(back) if r.region == "pelvis")
    assert pelvis.lines[0].clinician.startswith("Pelvic obliquity (hip joints) (back photo):")
    assert frontal_levels([m for m in back if m.view == "side"]) is None


def side_result(metric: str, value: float, unit: str, flag: str = "", uncertainty=0.3):
    return MetricResult(metric=metric, label=metric, view="side", value=value, unit=unit,
                        uncertainty=uncertainty, direction="", status="ok", detail="",
                        flag=flag, reference="at least 50 deg", landmarks=(), raw_value=value)


def test_with_both_sides_the_summary_reads_their_mean_and_a_turned_pelvis():
    left = slotted([side_result("cva", 45.0, "deg", "outside"),
                    side_result("plumb_hip", 4.0, "cm")], "left")
    right = slotted([side_result("cva", 47.0, "deg", "outside"),
                     side_result("plumb_hip", 1.0, "cm")], "right")
    visit = left + right + list(both_sides(left, right, RANGES, load_detectable_changes()))
    summary = {r.region: r for r in region_summary(visit)}
    [cva] = summary["head_neck"].lines
    assert "(mean of both sides): 46.0" in cva.clinician
    [turned] = summary["pelvis"].lines
    assert turned.flag == "differs" and turned.metric == "plumb_hip"
    assert "The left hip sits further forward" in turned.clinician
    assert "pelvis" in turned.patient and "stood differently" in turned.patient
    assert patient_lines(tuple(summary.values()))["Pelvis"] == (turned.patient,)
    # One side photo only: its own value, no mean, nothing turned.
    alone = {r.region: r for r in region_summary(left)}
    assert "45.0" in alone["head_neck"].lines[0].clinician and alone["pelvis"].clear


def test_rows_of_four_photos_keep_their_slots_for_the_summary():
    from posture.metrics.summary import results_from_rows

    rows = [{"metric": "cva", "slot": "sides", "value": 46.0, "unit": "deg", "status": "ok",
             "flag": "outside"},
            {"metric": "cva", "value": 45.0, "unit": "deg", "status": "ok", "view": "side"}]
    assert [m.slot for m in results_from_rows(rows)] == ["sides", "side"]
