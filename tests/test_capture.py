"""Photos taken in the app: the component's value, the device level at the shutter, and how it
travels with the photo into the analysis, the exports and the records."""

from __future__ import annotations

import base64

import pytest

from posture import AnalysisOptions, analyze
from posture.app.capture import JPEG_PREFIX, parse_capture
from posture.camera import roll_from_device
from posture.errors import InputError
from posture.export import assessment_json, csv_text
from tests.conftest import sample

FRONTAL_TILTS = ("head_tilt", "shoulder_tilt", "pelvic_obliquity", "ankle_tilt", "knee_tilt",
                 "eye_tilt")


def component_value(data: bytes, **kw) -> dict:
    value = {"image": JPEG_PREFIX + base64.b64encode(data).decode(), "width": 780,
             "height": 1040, "view": "front", "level": "device", "roll": 3.0, "pitch": -1.5,
             "level_ok": False, "overridden": True, "facing": "environment",
             "taken_at": "2026-11-25T10:11:12.000Z"}
    value.update(kw)
    return value


def test_the_component_value_becomes_a_photo_with_its_level():
    data = sample("leo2_test.jpg").read_bytes()
    photo = parse_capture(component_value(data), "front")
    assert photo.data == data
    assert photo.name == "capture-front-20261125101112.jpg"
    assert (photo.roll_deg, photo.pitch_deg, photo.overridden) == (3.0, -1.5, True)
    assert photo.level.method == "device" and photo.level.degrees == 3.0
    assert photo.level.pitch == -1.5
    assert parse_capture(None, "front") is None


def test_without_a_sensor_the_photo_has_no_level():
    data = sample("leo2_test.jpg").read_bytes()
    photo = parse_capture(component_value(data, level="none", roll=None, pitch=None), "side")
    assert photo.roll_deg is None and photo.level is None


@pytest.mark.parametrize("value, match", [
    ({"image": "data:image/png;base64,AAAA"}, "no JPEG photo"),
    ({"image": JPEG_PREFIX + "not base64!"}, "damaged in transfer"),
    ({"image": JPEG_PREFIX}, "empty or too large"),
])
def test_a_bad_value_is_one_line_to_act_on(value, match):
    with pytest.raises(InputError, match=match):
        parse_capture(value, "front")


def test_a_non_finite_or_absurd_level_is_no_level():
    data = sample("leo2_test.jpg").read_bytes()
    photo = parse_capture(component_value(data, roll=float("nan")), "front")
    assert photo.roll_deg is None
    with pytest.raises(InputError, match="at most 45 deg"):
        roll_from_device(60.0)


@pytest.fixture(scope="module")
def leo_front(detector):
    return analyze(sample("leo2_test.jpg"), None, AnalysisOptions(passes=2, height_cm=178),
                   detector=detector)


@pytest.mark.parametrize("roll", [3.0, -2.5])
def test_tilts_are_corrected_by_exactly_the_device_roll_raw_values_kept(leo_front, roll):
    level = roll_from_device(roll, 0.8)
    corrected = leo_front.with_camera_roll("front", level)
    before = {m.metric: m for m in leo_front.front.metrics}
    for m in corrected.front.metrics:
        if m.metric in FRONTAL_TILTS:
            assert m.corrected and m.raw_value == pytest.approx(before[m.metric].value)
            assert m.value == pytest.approx(m.raw_value - roll, abs=1e-6), m.metric
    [note] = [f for f in corrected.all_findings() if f.code == "device_level"]
    assert note.message.startswith("Front photo: Tilts are measured against the true vertical "
                                   "from the device level at the shutter (roll")
    # The CSV says it was corrected, with the raw value; the JSON keeps the level.
    rows = [r for r in csv_text(corrected.rows()).splitlines()[1:] if ",shoulder_tilt," in r]
    assert rows and "True" in rows[0]
    stored = assessment_json(corrected)
    roll_json = stored["photos"][0]["camera_roll"]
    assert (roll_json["method"], roll_json["degrees"], roll_json["pitch"]) == ("device", roll,
                                                                              0.8)


def test_re_analysing_a_saved_capture_keeps_its_device_level(tmp_path, leo_front):
    from posture.store import load_analysis_json, open_store, reanalyse_visit, save_visit

    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        data = sample("leo2_test.jpg").read_bytes()
        result = leo_front.with_camera_roll("front", roll_from_device(2.0, -0.5))
        visit_id = save_visit(store, "P-1", result, {"front": data},
                              filenames={"front": "capture-front.jpg"})
        analysis_id = reanalyse_visit(store, visit_id)
        stored = load_analysis_json(store, visit_id, analysis_id)
    finally:
        store.close()
    roll = stored["photos"][0]["camera_roll"]
    assert (roll["method"], roll["degrees"], roll["pitch"], roll["applied"]) == (
        "device", 2.0, -0.5, 2.0)
    tilt = next(m for m in stored["metrics"] if m["metric"] == "shoulder_tilt")
    assert tilt["corrected"] and tilt["value"] == pytest.approx(tilt["raw_value"] - 2.0,
                                                                abs=0.011)
