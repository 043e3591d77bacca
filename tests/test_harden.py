"""Never confidently wrong, never a crash (issue 11; issue 10's flags): numbers finite or
missing, no "-0.0", files whole or absent on a full disk, bodies upside down or on their side
refused, the body's own axis as evidence of a rolled camera."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posture import AnalysisOptions, analyze
from posture.errors import OrientationError, PostureError
from posture.export import assessment_json, csv_text, json_text
from posture.images import load_photo
from posture.landmarks.quality import BODY_AXIS_WARNING_DEG
from posture.landmarks.views import body_axis
from posture.numbers import finite, value_text
from tests.conftest import SAMPLES, manifest, sample
from tests.photo_variants import cropped_to_body, rotated

ONE = AnalysisOptions(passes=1)
LEVEL_CODES = {"camera_tilted", "camera_level_unknown", "body_axis_tilted", "body_leans"}


@pytest.fixture(scope="module")
def leo(detector):
    return analyze(front=sample("leo_test.jpeg"), options=AnalysisOptions(passes=4),
                   detector=detector)


# --- one number rule -------------------------------------------------------------------------


def test_numbers_are_finite_or_missing_and_never_negative_zero():
    assert value_text(-0.04) == "0.0" and value_text(-0.04, sign=True) == "0.0"
    assert value_text(0.04, sign=True) == "0.0" and value_text(-0.06, sign=True) == "-0.1"
    assert value_text(float("nan"), missing="-") == "-" and value_text(None) == "—"
    assert value_text(float("inf"), digits=2, missing="-") == "-"
    assert str(finite(-0.001, 2)) == "0.0" and finite(float("nan")) is None
    assert finite(np.float64("-inf")) is None and finite("x") is None


def test_no_negative_zero_in_rows_cli_or_labels(leo):
    from posture.cli import _summary
    from posture.render import _value_text

    m = leo.front.metrics[0]
    tiny = replace(m, value=-0.001, raw_value=-0.001, uncertainty=0.3)
    photo = replace(leo.front, metrics=(tiny,) + leo.front.metrics[1:])
    result = replace(leo, front=photo)
    row = result.rows()[0]
    assert str(row["value"]) == "0.0" and str(row["raw_value"]) == "0.0"
    assert "-0.0" not in csv_text(result.rows())
    assert "-0.0" not in _summary(result)
    text, _ = _value_text(photo, m.metric)
    assert "-0.0" not in text and " 0.0 " in text


# --- NaN from failed passes ------------------------------------------------------------------


def test_json_with_failed_passes_is_finite_or_null(leo):
    """A pass that found nobody is a NaN row; before, the spread over it made json.dumps
    raise (issue 11)."""
    lm = leo.front.landmarks
    pass_xy = np.array(lm.pass_xy)
    pass_xy[1] = np.nan                      # one whole pass failed
    pass_xy[2:, 0] = np.nan                  # the nose found by one pass only
    broken = replace(leo, front=replace(leo.front, landmarks=replace(lm, pass_xy=pass_xy)))
    data = json.loads(json_text(broken))     # allow_nan=False inside: raised before the fix
    marks = data["photos"][0]["landmarks"]
    assert data["photos"][0]["passes_found"] == 3
    assert marks[0]["spread_px"] is None      # fewer than two passes: no spread, not NaN
    assert all(isinstance(m["spread_px"], float) for m in marks[1:])


def test_real_photo_with_failed_passes_exports_and_saves(detector, tmp_path):
    """ana's side photo with the legs in deep shadow: some of the 18 passes find nobody."""
    from posture.store import load_visit, open_store, save_visit
    from tests.photo_variants import legs_dark

    photo = legs_dark(load_photo(sample("ana_test_right.jpg")))
    result = analyze(side=photo, detector=detector)
    assert np.isnan(result.side.landmarks.pass_xy).any()  # the case under test
    text = json_text(result)
    assert "NaN" not in text and "Infinity" not in text
    store = open_store(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        visit = save_visit(store, "P-1", result, {"side": b"photo"})
        assert load_visit(store, visit).rows
    finally:
        store.close()


# --- upside down, on its side ----------------------------------------------------------------


@pytest.mark.parametrize("name,slot", [("leo_test.jpeg", "front"), ("ana_test.jpg", "front"),
                                       ("leo_test_left.jpg", "side"),
                                       ("ana_test_right.jpg", "side")])
@pytest.mark.parametrize("turn,what", [(180, "upside down"), (90, "on its side"),
                                       (-90, "on its side")])
def test_body_upside_down_or_on_its_side_is_refused(detector, name, slot, turn, what):
    photo = rotated(load_photo(sample(name)), turn)
    with pytest.raises(OrientationError, match=f"^{slot.capitalize()} photo .*{what}") as info:
        analyze(**{slot: photo}, options=ONE, detector=detector)
    assert "\n" not in str(info.value)


def test_wrong_exif_orientation_3_is_refused(detector, tmp_path):
    """Pixels upright, but EXIF says "rotate 180": the loader turns it upside down."""
    path = tmp_path / "orientation3.jpg"
    with Image.open(sample("leo_test.jpeg")) as im:
        exif = Image.Exif()
        exif[0x0112] = 3
        im.save(path, quality=92, exif=exif.tobytes())
    with pytest.raises(OrientationError, match="upside down"):
        analyze(front=path, options=ONE, detector=detector)


def test_cli_refuses_upside_down_in_one_line(tmp_path, capsys):
    from posture.cli import main

    path = tmp_path / "upside_down.jpg"
    with Image.open(sample("leo_test.jpeg")) as im:
        im.rotate(180).save(path, quality=92)
    assert main(["analyze", "--front", str(path), "--out", str(tmp_path / "out"),
                 "--passes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "upside down" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# --- the body's axis as evidence of a rolled camera ------------------------------------------


@pytest.fixture(scope="module")
def upright_axes(detector):
    """Every sample photo, upright as taken, at default passes: (file, axis deg, codes)."""
    out = []
    for row in manifest():
        slot = "side" if row["view"] == "side" else "front"
        result = analyze(**{slot: SAMPLES / row["file"]}, detector=detector)
        p = result.photos[0]
        out.append((row["file"], body_axis(p.landmarks)[0], {f.code for f in p.findings}))
    return out


def test_threshold_is_above_the_sample_photos_normal_sway(upright_axes):
    """BODY_AXIS_WARNING_DEG is justified by these: every sample photo's standing axis is
    inside it, and it is about 2 SD of their spread (not tuned to pass: it is the largest
    measured axis, rounded up)."""
    axes = np.array([a for _, a, _ in upright_axes])
    assert len(axes) == 17
    assert np.max(np.abs(axes)) < BODY_AXIS_WARNING_DEG, upright_axes
    assert 2.5 * np.std(axes) >= BODY_AXIS_WARNING_DEG
    for name, _, codes in upright_axes:
        assert not codes & {"body_axis_tilted", "body_leans"}, name


def test_leo_garden_rotated_20_deg_is_said_before_the_tilts(detector, tmp_path):
    from posture.cli import _summary

    photo = rotated(load_photo(sample("leo_test.jpeg")), 20)
    result = analyze(front=photo, detector=detector)
    codes = [f.code for f in result.front.findings]
    assert "body_axis_tilted" in codes or "camera_tilted" in codes, codes
    summary = _summary(result)
    warning = summary.index("deg off the photo's vertical") if "body_axis_tilted" in codes \
        else summary.index("camera looks rolled")
    assert warning < summary.index("Shoulder tilt")


@pytest.mark.parametrize("name", ["ana_test.jpg", "anibal1_test.jpg", "anibal2_test.jpg",
                                  "leo2_test.jpg"])
def test_doorway_photos_rotated_and_cropped_are_never_silent(detector, name):
    """Cropped to the body, few lines are left: a rotation of 10 or 20 deg must give a warning
    that the camera is rolled or the body leans; at 4 deg (inside sway plus camera noise) the
    level must at least be said to be unknown, or be measured."""
    base = load_photo(sample(name))
    for turn in (4, -4, 10, -10, 20):
        photo = cropped_to_body(rotated(base, turn), detector)
        result = analyze(front=photo, options=AnalysisOptions(passes=4), detector=detector)
        codes = {f.code for f in result.front.findings}
        assert codes & LEVEL_CODES, (name, turn, codes)
        if abs(turn) >= 10:
            assert codes & {"body_axis_tilted", "camera_tilted"}, (name, turn, codes)
        if "camera_level_unknown" in codes:
            text = csv_text(result.rows())
            assert "Camera level unknown" in text  # where the tilts are read, not JSON only


# --- full disk -------------------------------------------------------------------------------


def _filler(folder: Path, leave: int) -> None:
    """Fill the file system holding `folder` up to `leave` free bytes."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / "filler.bin", "wb") as f:
        f.write(b"\0" * max(0, free - leave))
        with __import__("contextlib").suppress(OSError):
            f.flush()


def _filler_more(folder: Path) -> None:
    """Take the last free blocks too (a second filler file)."""
    try:
        with open(folder / "filler2.bin", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass  # full: what this is for


@pytest.fixture
def small_disk(tmp_path):
    """A real 256 KiB file system (tmpfs), when this test may mount one (root on Linux)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root: test_write_atomic_fault covers it")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}): "
                    "test_write_atomic_fault covers it")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_write_atomic_fault_leaves_the_old_file(tmp_path, monkeypatch):
    """Fault injection, for machines where a small file system cannot be mounted: the write
    fails with ENOSPC half-way."""
    from posture import files

    target = tmp_path / "results.csv"
    target.write_text("old,content\n")
    real_write = os.write

    def half_then_full(fd, data):
        if len(data) > 10:
            return real_write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "write", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        files.write_atomic(target, "new," * 100)
    assert target.read_text() == "old,content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]  # no temporary left


def test_analyze_and_history_on_a_full_disk(small_disk, tmp_path, capsys, detector):
    from posture.cli import main

    out = small_disk / "out"
    out.mkdir()
    (out / "results.csv").write_text("the old results\n")
    _filler(small_disk, leave=4096)
    code = main(["analyze", "--front", str(sample("leo_test.jpeg")), "--out", str(out),
                 "--passes", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "No space left" in err, err
    assert (out / "results.csv").read_text() == "the old results\n"
    for p in out.iterdir():
        assert p.stat().st_size > 0, p.name   # nothing 0-byte, nothing half-written
        assert p.name == "results.csv" or not p.name.startswith("."), p.name

    # history --csv: the same, with a stored visit (the records live off the full disk).
    from posture.store import open_store, save_visit

    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = open_store(url)
    save_visit(store, "P-1", analyze(front=sample("leo_test.jpeg"), options=ONE,
                                     detector=detector), {"front": b"photo"})
    store.close()
    old = small_disk / "history.csv"
    old.write_text("the old history\n")
    _filler_more(small_disk)
    code = main(["history", "P-1", "--csv", str(old), "--db", url])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "No space left" in err, err
    assert old.read_text() == "the old history\n"
    assert not [p for p in small_disk.iterdir() if p.name.startswith(".history")]
    for filler in small_disk.glob("filler*.bin"):
        filler.unlink()
    assert main(["history", "P-1", "--csv", str(old), "--db", url]) == 0
    assert old.read_text().startswith("subject,slot,view,metric")


def test_batch_on_a_full_disk_keeps_whole_subjects(small_disk, tmp_path, capsys):
    import csv

    from posture.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    rows = ["subject,front,side"] + [f"S{i},{sample('leo_test.jpeg')}," for i in range(6)]
    (photos / "manifest.csv").write_text("\n".join(rows) + "\n")
    # Room for two and a half subjects: one subject's rows, measured on a roomy disk first.
    one = tmp_path / "one"
    one.mkdir()
    (one / "manifest.csv").write_text(rows[0] + "\n" + rows[1] + "\n")
    assert main(["batch", str(one), "--out", str(tmp_path / "one.csv"), "--passes", "1",
                 "--workers", "1", "--no-progress"]) == 0
    capsys.readouterr()
    out = small_disk / "batch.csv"
    _filler(small_disk, leave=int(2.5 * (tmp_path / "one.csv").stat().st_size))
    args = ["batch", str(photos), "--out", str(out), "--passes", "1", "--workers", "1",
            "--no-progress"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "No space left" in err and "--resume" in err and "Traceback" not in err
    with open(out, encoding="utf-8") as f:
        kept = list(csv.DictReader(f))
    subjects = [r["subject"] for r in kept]
    assert subjects and len(set(subjects)) < 6
    n_metrics = subjects.count(subjects[0])
    assert all(subjects.count(s) == n_metrics for s in set(subjects))  # whole subjects only
    assert out.read_bytes().endswith(b"\n")
    (small_disk / "filler.bin").unlink()
    assert main(args + ["--resume"]) == 0
    with open(out, encoding="utf-8") as f:
        done = [r["subject"] for r in csv.DictReader(f)]
    assert sorted(set(done)) == [f"S{i}" for i in range(6)]
    assert all(done.count(s) == n_metrics for s in set(done))


# --- small ones ------------------------------------------------------------------------------


def test_top_level_usage_error_names_posture_once(capsys):
    from posture.cli import main

    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "posture posture" not in err and "(see `posture --help`)" in err
    with pytest.raises(SystemExit):
        main(["analyze", "--passes", "x"])
    assert "(see `posture analyze --help`)" in capsys.readouterr().err


def test_posture_errors_are_one_line_and_builtin_catchable():
    assert issubclass(OrientationError, ValueError) and issubclass(OrientationError,
                                                                   PostureError)


def test_assessment_json_keeps_findings(leo):
    data = assessment_json(leo)
    assert [f["code"] for f in data["photos"][0]["findings"]] == [
        f.code for f in leo.front.findings]


def test_malformed_exif_loads_silently_and_keeps_its_orientation(tmp_path, capfd):
    import warnings

    from tests.bad_inputs import make_bad_inputs

    files = make_bad_inputs(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # Pillow's "Truncated File Read" would raise
        photo = load_photo(files["jpeg_malformed_exif"])
    assert photo.exif_orientation == 6 and photo.rgb.shape[:2] == (120, 80)
    assert capfd.readouterr().err == ""


def test_float_rgb_tiff_loads_with_its_colours(tmp_path):
    from tests.bad_inputs import float_rgb_tiff

    rgb = np.zeros((80, 120, 3), np.float32)
    rgb[..., 0] = 1.0
    rgb[:, 60:, 2] = 0.5
    path = tmp_path / "float.tif"
    path.write_bytes(float_rgb_tiff(rgb))
    photo = load_photo(path)
    assert photo.source_format == "TIFF"
    assert tuple(photo.rgb[0, 0]) == (255, 0, 0) and tuple(photo.rgb[0, 100]) == (255, 0, 128)


# --- borderline flags, low resolution --------------------------------------------------------


def test_borderline_rule():
    from posture.metrics.compute import (
        FLAG_BORDERLINE,
        FLAG_NO_RANGE,
        FLAG_OUTSIDE,
        FLAG_WITHIN,
        range_flag,
    )
    from posture.metrics.reference import ReferenceRange

    ref = ReferenceRange(metric="head_tilt", low=-2.0, high=2.0, unit="deg", basis="", source="")
    assert range_flag(2.8, 1.7, ref) == FLAG_BORDERLINE     # issue 10's example
    assert range_flag(2.8, 0.41, ref) == FLAG_BORDERLINE    # 0.8 < 2 x 0.41
    assert range_flag(2.8, 0.3, ref) == FLAG_OUTSIDE        # 0.8 >= 2 x 0.3
    assert range_flag(1.5, 0.3, ref) == FLAG_BORDERLINE     # inside, 0.5 < 0.6
    assert range_flag(0.0, 0.3, ref) == FLAG_WITHIN
    assert range_flag(2.8, None, ref) == FLAG_OUTSIDE       # no uncertainty: never borderline
    assert range_flag(1.0, 0.3, None) == FLAG_NO_RANGE
    one_sided = ReferenceRange(metric="m", low=None, high=10.0, unit="deg", basis="", source="")
    assert range_flag(-50.0, 1.0, one_sided) == FLAG_WITHIN


def test_low_resolution_photo_no_longer_says_no_problems(detector):
    """The 152x317 sample photo: its angles are +/-1 deg or worse (issue 10)."""
    from posture.landmarks.quality import LOW_RESOLUTION_UNCERTAINTY_DEG

    small = analyze(front=sample("front_image.jpg"), detector=detector)
    codes = [f.code for f in small.front.findings]
    assert "low_resolution" in codes
    assert "low_resolution" in csv_text(small.rows()) or "imprecise" in csv_text(small.rows())
    assert any(m.flag == "borderline" for m in small.metrics)
    sharp = analyze(front=sample("saif1.jpeg"), detector=detector)  # 1185 px tall body
    assert "low_resolution" not in [f.code for f in sharp.front.findings]
    assert LOW_RESOLUTION_UNCERTAINTY_DEG == 1.0


# --- findings in every export ----------------------------------------------------------------


def test_findings_column_on_each_photos_rows(detector):
    from posture.assessment import TABLE_COLUMNS

    assert TABLE_COLUMNS.index("findings") == TABLE_COLUMNS.index("passes") + 1
    result = analyze(front=sample("front_image.jpg"), side=sample("leo_test_right.jpg"),
                     options=AnalysisOptions(passes=4), detector=detector)
    for photo in result.photos:
        rows = [r for r in result.rows() if r["image"] == photo.name]
        expected = " | ".join(f.message for f in photo.findings)
        assert expected and {r["findings"] for r in rows} == {expected}


def test_batch_csv_names_two_people(tmp_path):
    import csv

    from posture.batch import plan_jobs, run_batch
    from tests.bad_inputs import make_bad_inputs

    files = make_bad_inputs(tmp_path / "corpus")
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "pair_front.jpg").write_bytes(files["two_people"].read_bytes())
    out = tmp_path / "batch.csv"
    list(run_batch(plan_jobs(folder), out, ONE))
    with open(out, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all("More than one person" in r["findings"] for r in rows)


def test_stored_visit_keeps_findings_named_by_photo(detector, tmp_path):
    from posture.report import visit_report_pdf
    from posture.store import history_csv, load_visit, open_store, save_visit

    result = analyze(front=sample("front_image.jpg"), options=AnalysisOptions(passes=4),
                     detector=detector)
    store = open_store(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        visit = save_visit(store, "P-1", result, {"front": b"photo"})
        record = load_visit(store, visit)
        text = history_csv(store, "P-1")
    finally:
        store.close()
    assert record.findings == tuple(f.message for f in result.all_findings())
    assert all(f.startswith("Front photo: ") for f in record.findings)
    assert "Camera level unknown" in text or "imprecise" in text
    pdf = tmp_path / "visit.pdf"
    pdf.write_bytes(visit_report_pdf(record))
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "Front photo: " in text and "assumed not mirrored" in text


def test_front_camera_exif_warns_of_a_mirror(detector, tmp_path):
    path = tmp_path / "selfie.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 13"
    exif.get_ifd(0x8769)[0xA434] = "iPhone 13 front camera 2.71mm f/2.2"
    with Image.open(sample("leo_test.jpeg")) as im:
        im.save(path, quality=92, exif=exif.tobytes())
    assert "front camera" in load_photo(path).camera
    result = analyze(front=path, options=ONE, detector=detector)
    assert "mirror_possible" in [f.code for f in result.front.findings]
    plain = analyze(front=sample("leo_test.jpeg"), options=ONE, detector=detector)
    assert "mirror_possible" not in [f.code for f in plain.front.findings]


def test_records_page_shows_notes_literally(tmp_path, monkeypatch, leo):
    from streamlit.testing.v1 import AppTest

    from posture.store import open_store, save_visit
    from tests.conftest import ROOT

    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("POSTURE_DATABASE_URL", url)
    store = open_store(url)
    save_visit(store, "P-1", leo, {"front": b"photo"}, notes="<script> *not bold* 1. x")
    store.close()
    at = AppTest.from_file(str(ROOT / "posture" / "app" / "records.py"), default_timeout=60)
    at.run()
    assert not at.exception
    [visits] = at.dataframe
    assert list(visits.value["Notes"]) == ["<script> *not bold* 1. x"]


def test_body_axis_sign_follows_the_camera_roll(detector):
    """Counter-clockwise positive, as `posture.camera`'s roll: a photo turned +20 deg reads
    about +20 (the sample's own stance within the threshold)."""
    from posture.landmarks.passes import detect_landmarks
    from posture.landmarks.quality import body_axis_finding

    base = load_photo(sample("leo_test.jpeg"))
    for turn in (20, -20):
        lm = detect_landmarks(rotated(base, turn).rgb, detector, passes=1).landmarks
        axis, lower = body_axis(lm)
        assert lower == "ankles" and abs(axis - turn) < BODY_AXIS_WARNING_DEG, (turn, axis)
        assert body_axis_finding(axis, lower, None, None).code == "body_axis_tilted"
        assert body_axis_finding(axis, lower, None, float(turn)) is None   # level applied
        assert body_axis_finding(axis, lower, float(turn), None) is None   # roll explains it
    assert body_axis_finding(10.0, "hips", None, None) is None  # a trunk alone: no finding


def test_borderline_has_its_own_colour_and_words(leo):
    from posture.app.widgets import BORDERLINE_STYLE, OUTSIDE_STYLE, _flag_text
    from posture.metrics.compute import FLAG_BORDERLINE
    from posture.render import YELLOW, _value_text

    m = next(m for m in leo.front.metrics if m.metric == "shoulder_tilt")
    border = replace(m, flag=FLAG_BORDERLINE)
    assert "borderline" in _flag_text(border) and "OUTSIDE" not in _flag_text(border)
    assert BORDERLINE_STYLE != OUTSIDE_STYLE
    photo = replace(leo.front, metrics=(border,))
    assert _value_text(photo, "shoulder_tilt")[1] == YELLOW


def test_page_says_level_unknown_and_mirror_assumption_beside_the_tilts(detector):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.slider(key="option_passes").set_value(1)
    at.file_uploader(key="front_upload").set_value(
        ("leo.jpg", sample("leo_test.jpeg").read_bytes(), "image/jpeg"))
    at.run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "camera level unknown" in captions and "assumed not mirrored" in captions
    banner = " ".join(w.value.replace("\\", "") for w in at.warning)
    assert "Camera level unknown" in banner
