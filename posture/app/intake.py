"""The intake page: patient details, up to four photos (front, back, left side, right side),
the screening results: each photo's, then what two photos measure together.

A thin shell (STYLE.md 8): widgets are parsed once into `AnalysisOptions`, `posture.analyze`
does the work and the page shows the `Assessment`. Detection runs only when the photos or the
detection options (passes, level correction) change: each browser session keeps its latest
analysis in st.session_state, keyed by a hash of the photo bytes and those options. Everything
else is applied to that detected analysis without re-detection, in this order: the height
(`Assessment.with_height`), then the clinician's edits in the order made (a landmark placed by
hand, `with_landmark_moved`; an anatomical point placed by hand, `with_point_placed`; a true
vertical marked by hand, `with_camera_roll`). The edits are
kept with the analysis, so they survive reruns and a change of detection options for the same
photos. Patient ID, visit date and notes only label the result.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw
from streamlit_image_coordinates import streamlit_image_coordinates

from posture.app import signin
from posture.app.capture import CAPTURED, PROTOCOL, camera
from posture.app.chain_view import levels_chain_view, summary_by_region
from posture.app.records import is_saved, save_visit_panel
from posture.app.widgets import file_stem, findings_banner, metrics_table, plain, wrapping_columns
from posture.assessment import (
    MIRROR_ASSUMPTION,
    SLOTS,
    AnalysisOptions,
    Assessment,
    PhotoAnalysis,
    analyze,
    placeable_points,
    slot_title,
)
from posture.camera import RollEstimate, roll_from_points
from posture.errors import InputError, PostureError
from posture.export import assessment_json, csv_text
from posture.images import load_photo
from posture.landmarks.detector import PoseDetector
from posture.landmarks.passes import DEFAULT_PASSES, MAX_PASSES
from posture.landmarks.quality import Finding
from posture.landmarks.vocabulary import Landmark
from posture.metrics.bilateral import SIDES_MEAN
from posture.metrics.compute import FLAG_BORDERLINE, FLAG_OUTSIDE, MetricResult
from posture.metrics.reference import ENV_VAR as REFERENCE_ENV_VAR
from posture.metrics.summary import frontal_levels, visit_values
from posture.render import render_png
from posture.store.audit import LANDMARK_EDIT
from posture.store.validation import MAX_NAME, MAX_NOTES, MAX_SUBJECT

# What posture.images.load_photo reads (phones write JPEG or HEIC). The uploader refuses other
# types itself; a damaged or disguised file gets load_photo's message.
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "heic", "heif", "avif", "bmp", "tif", "tiff", "gif"]

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_images"
# Photos of one person each, by slot (sample_images/ATTRIBUTION.md; sides as MANIFEST.csv's
# facing says). No sample set holds a photo taken from behind.
SAMPLE_SETS = {
    "Ana: doorway (front), patio (right side)": {
        "front": "usize-backend/ana_test.jpg", "right": "usize-backend/ana_test_right.jpg"},
    "Jara: phone photos stored rotated (EXIF)": {
        "front": "usize-backend/jara_test_front_3.jpg",
        "right": "usize-backend/jara_test_side_3.jpg"},
    "Leo: garden (front), patio (left and right side)": {
        "front": "usize-backend/leo_test.jpeg", "left": "usize-backend/leo_test_left.jpg",
        "right": "usize-backend/leo_test_right.jpg"},
    "Very low resolution (150 x 300 px)": {
        "front": "posture-measuremnent/front_image.jpg",
        "right": "posture-measuremnent/side_image.jpg"},
}
UPLOAD, TAKE, SAMPLE = "Upload photos", "Take photos", "Try sample photos"
# Tall enough to see the landmarks on a laptop screen, short enough to sit beside the table.
MAX_IMAGE_HEIGHT_PX = 640

# st.session_state keys. DETECTION_RUNS counts analyses in this session: the tests read it.
ANALYSIS = "intake_analysis"
DETECTION_RUNS = "intake_detection_runs"
KEPT_PHOTOS = "intake_photos"    # slot -> PhotoInput: the uploads, kept while on other pages
UNSAVED = "intake_unsaved"       # one line on the intake's unsaved results, or None

# The intake's widgets keep their values for the browser session, across a visit to another
# page (Streamlit otherwise drops the state of a widget a run does not draw; re-setting it from
# the other page kept it on the server but the browser showed the field empty on coming back).
# File uploaders cannot be restored; KEPT_PHOTOS keeps their photos.
KEPT = "session"
UPLOAD_KEYS = {slot: f"{slot}_upload" for slot in SLOTS}   # "front_upload" as before
CAMERA_VIEW = "camera_view"      # the view the camera takes next: one live camera at a time
# What each uploader asks for ("left side" is the patient's left side toward the camera).
SLOT_HELP = {
    "front": "Patient facing the camera, whole body, head to feet.",
    "back": "Patient's back to the camera, whole body, head to feet.",
    "left": "The patient's left side toward the camera (facing the image's left), whole body, "
            "arms relaxed.",
    "right": "The patient's right side toward the camera (facing the image's right), whole "
             "body, arms relaxed.",
}

# What a click on the review photo does.
PLACE_LANDMARK, SET_VERTICAL = "Place a landmark", "Set the true vertical"
PLACE_POINT = "Place an anatomical point"
# The marked vertical drawn on the review photo: blue (the annotation uses no blue), its line
# width relative to the long side.
VERTICAL_COLOUR = (40, 120, 255)
VERTICAL_WIDTH_FRACTION = 0.004


@dataclass(frozen=True)
class PhotoInput:
    """A photo as given: its bytes and a display name (never used as a path); for a photo
    taken in the app, the device's level at the shutter (tilts are measured against it)."""

    name: str
    data: bytes
    level: RollEstimate | None = None


@dataclass(frozen=True)
class Patient:
    """The page's one patient identity: what labels the result and what a save files."""

    subject: str
    height_cm: float | None
    visit_date: dt.date
    notes: str
    name: str = ""


@dataclass(frozen=True)
class LandmarkEdit:
    """A landmark placed by hand at (x, y) original photo pixels."""

    slot: str
    landmark: Landmark
    x: float
    y: float

    def apply(self, result: Assessment) -> Assessment:
        return result.with_landmark_moved(self.slot, self.landmark, self.x, self.y)


@dataclass(frozen=True)
class VerticalEdit:
    """The true vertical marked by hand: two points (original photo pixels) and their roll."""

    slot: str
    points: tuple[tuple[float, float], tuple[float, float]]
    roll: RollEstimate

    def apply(self, result: Assessment) -> Assessment:
        return result.with_camera_roll(self.slot, self.roll)


@dataclass(frozen=True)
class DeviceLevelEdit:
    """The device's level at the shutter of a photo taken in the app: applied first, so a
    true vertical the clinician marks afterwards still overrides it."""

    slot: str
    roll: RollEstimate

    def apply(self, result: Assessment) -> Assessment:
        return result.with_camera_roll(self.slot, self.roll)


@dataclass(frozen=True)
class PointEdit:
    """An anatomical point (acromion, ASIS, C7, ...) placed by hand at (x, y) original photo
    pixels, SAPO's way: palpated, marked on the skin, clicked on the photo."""

    slot: str
    name: str
    x: float
    y: float

    def apply(self, result: Assessment) -> Assessment:
        return result.with_point_placed(self.slot, self.name, self.x, self.y)


Edit = LandmarkEdit | VerticalEdit | PointEdit | DeviceLevelEdit


@dataclass
class SessionAnalysis:
    """This session's analysis of the current photos and detection options (`key`), or why it
    failed; with the height and the clinician's edits applied (`result`)."""

    key: str
    photos: str = ""                        # hash of the photos alone: edits belong to them
    error: str | None = None
    detected: Assessment | None = None      # as detected, lengths in px
    height_cm: float | None = None          # applied to `result`
    edits: list[Edit] = field(default_factory=list)  # applied to `result` in this order
    result: Assessment | None = None        # detected, with the height and the edits
    annotated: dict[str, bytes] = field(default_factory=dict)  # slot -> PNG of `result`
    # slot -> the last click applied: the click component repeats its value on every rerun.
    last_click: dict[str, dict] = field(default_factory=dict)
    # slot -> the first point (photo pixels) of a true vertical being marked.
    first_point: dict[str, tuple[float, float]] = field(default_factory=dict)
    # slot -> why the last pair of points was refused as a vertical (one line).
    refused: dict[str, str] = field(default_factory=dict)

    def refresh(self, slots: tuple[str, ...] | None = None) -> None:
        """Recompute `result` from `detected` (no re-detection) and redraw the slots' photos
        (all when None). An edit that no longer applies (its photo is gone) is dropped."""
        result = self.detected.with_height(self.height_cm) if self.height_cm else self.detected
        kept = []
        for edit in self.edits:
            try:
                result = edit.apply(result)
            except InputError:
                continue
            kept.append(edit)
        self.edits, self.result = kept, result
        for p in result.photos:
            if slots is None or p.slot in slots:
                self.annotated[p.slot] = render_png(p)

    def set_height(self, height_cm: float | None) -> None:
        if height_cm != self.height_cm:
            self.height_cm = height_cm
            self.refresh()

    def vertical(self, slot: str) -> VerticalEdit | None:
        """The true vertical marked on this photo, if any."""
        return next((e for e in reversed(self.edits)
                     if isinstance(e, VerticalEdit) and e.slot == slot), None)


@st.cache_resource(show_spinner=False)
def pose_detector() -> PoseDetector:
    """The pose model, once per process. A thread-safe pool: sessions run on threads."""
    from posture.landmarks.mediapipe_pose import default_detector

    return default_detector()


#: The photos as given on the page: slot -> photo, only the slots that have one.
GivenPhotos = Mapping[str, PhotoInput]


def analyse_photos(given: GivenPhotos, options: AnalysisOptions,
                   detector: PoseDetector | None = None) -> Assessment:
    """Decode each photo (a decoding error names the photo) and analyse them together.

    Raises PostureError with a one-line message for the clinician.
    """
    photos = {}
    for slot in SLOTS:
        if slot not in given:
            continue
        try:
            photos[slot] = load_photo(given[slot].data, name=given[slot].name)
        except PostureError as exc:
            raise type(exc)(f"{slot_title(slot)} ({given[slot].name}): {exc}") from exc
    return analyze(options=options, detector=detector or pose_detector(), **photos)


def photos_key(given: GivenPhotos) -> str:
    digest = hashlib.sha256()
    for slot in SLOTS:
        if slot not in given:
            digest.update(b"no photo")
        else:
            digest.update(hashlib.sha256(given[slot].data).digest())
            digest.update(given[slot].name.encode("utf-8", "replace"))
    return digest.hexdigest()


def analysis_key(given: GivenPhotos, options: AnalysisOptions) -> str:
    """What detection depends on: the photos and the options but the height."""
    detection_options = dataclasses.replace(options, height_cm=None)
    return hashlib.sha256((photos_key(given) + repr(detection_options)).encode()).hexdigest()


def _slot_names(result: Assessment | None) -> dict[str, str]:
    return {} if result is None else {p.slot: p.name for p in result.photos}


def current_analysis(given: GivenPhotos, options: AnalysisOptions) -> SessionAnalysis:
    """The session's analysis for these photos and options, detecting only if the photos or
    the detection options changed; the height and the edits are applied without detection."""
    key = analysis_key(given, options)
    held = st.session_state.get(ANALYSIS)
    if held is None or held.key != key:
        previous = held
        held = SessionAnalysis(key=key, photos=photos_key(given))
        st.session_state[DETECTION_RUNS] = st.session_state.get(DETECTION_RUNS, 0) + 1
        with st.spinner("Finding landmarks and measuring…"):
            try:
                held.detected = analyse_photos(given, dataclasses.replace(options, height_cm=None))
            except PostureError as exc:
                held.error = str(exc)
        if held.error is None:
            held.edits = _device_levels(held.detected, given)
        if (held.error is None and previous is not None and previous.photos == held.photos
                and _slot_names(previous.detected) == _slot_names(held.detected)):
            # Same photos, other detection options: the clinician's edits still hold.
            held.edits += [e for e in previous.edits if not isinstance(e, DeviceLevelEdit)]
            held.last_click = dict(previous.last_click)
            held.first_point = dict(previous.first_point)
        if held.error is None:
            held.height_cm = options.height_cm
            held.refresh()
        st.session_state[ANALYSIS] = held
    elif held.error is None:
        held.set_height(options.height_cm)  # milliseconds: no detection
    return held


def _device_levels(detected: Assessment, given: GivenPhotos) -> list[Edit]:
    """The device level of each photo taken in the app, for the slot its photo was analysed in
    (the library moves a photo given in the wrong slot to the slot of the view it shows)."""
    return [DeviceLevelEdit(slot, p.level) for slot, p in detected.filed(given).items()
            if p.level is not None]


# --- inputs ----------------------------------------------------------------------------------


def patient_details() -> Patient:
    """The patient fields, once on the page: the results and the save both read them."""
    st.subheader("Patient")
    subject = st.text_input(
        "Patient ID", key="patient_subject", max_chars=MAX_SUBJECT, persist_state=KEPT,
        help="An existing ID adds the visit to that patient's records; a new one creates the "
             "patient when the visit is saved.")
    name = st.text_input("Patient name (optional)", key="patient_name", max_chars=MAX_NAME,
                         persist_state=KEPT,
                         help="Left empty, an existing patient's name is kept.")
    height = st.number_input(
        "Height in cm (optional)", min_value=50.0, max_value=250.0, value=None, step=1.0,
        format="%.0f", key="patient_height", persist_state=KEPT,
        help="With the height, offsets are reported in cm; without it, in pixels.")
    visit_date = st.date_input("Visit date", value="today", key="visit_date", persist_state=KEPT)
    notes = st.text_area("Notes (optional)", key="visit_notes", height=100, persist_state=KEPT,
                         max_chars=MAX_NOTES)
    return Patient(subject=subject.strip(), height_cm=height, visit_date=visit_date, notes=notes,
                   name=name.strip())


def available_samples() -> dict[str, dict[str, Path]]:
    """The bundled sample sets present on this machine (a repository checkout has them)."""
    sets = {label: {slot: SAMPLE_DIR / name for slot, name in photos.items()}
            for label, photos in SAMPLE_SETS.items()}
    return {label: paths for label, paths in sets.items()
            if all(p.is_file() for p in paths.values())}


def _uploaded(file) -> PhotoInput | None:
    return None if file is None else PhotoInput(name=file.name, data=file.getvalue())


def _upload_changed(slot: str) -> None:
    """The clinician added, replaced or removed a photo in the uploader."""
    kept = st.session_state.setdefault(KEPT_PHOTOS, {})
    given = _uploaded(st.session_state.get(UPLOAD_KEYS[slot]))
    if given is None:
        kept.pop(slot, None)
    else:
        kept[slot] = given


def _photo_input(column, slot: str) -> PhotoInput | None:
    """The uploader's photo; else the one uploaded earlier in this session (the uploader comes
    back empty from another page), said under it with a button to remove it."""
    kept = st.session_state.setdefault(KEPT_PHOTOS, {})
    with column:
        given = _uploaded(st.file_uploader(
            slot_title(slot), type=PHOTO_TYPES, key=UPLOAD_KEYS[slot], help=SLOT_HELP[slot],
            on_change=_upload_changed, args=(slot,)))
        if given is not None:
            kept[slot] = given
            return given
        if slot in kept:
            st.caption(f"Using {plain(kept[slot].name)}, uploaded earlier in this session. "
                       "Upload another photo to replace it.")
            if st.button(f"Remove the {slot_title(slot).lower()}", key=f"remove_kept_{slot}",
                         icon=":material/close:"):
                kept.pop(slot, None)
                st.rerun()
        return kept.get(slot)


def _camera_input(slot: str) -> PhotoInput | None:
    """The camera for one view: the photo just taken, else one taken earlier in this session
    (kept like an upload while on other pages), until "Retake"."""
    kept = st.session_state.setdefault(KEPT_PHOTOS, {})
    try:
        state = camera(slot, key=f"camera_{slot}")
    except PostureError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return None
    if state.photo is not None:
        kept[slot] = PhotoInput(state.photo.name, state.photo.data, state.photo.level)
        if state.photo.level is None:
            st.caption("No level sensor: the camera's tilt is checked from the photo's "
                       "straight lines instead.")
        return kept[slot]
    if state.retaken:
        kept.pop(slot, None)
    return _taken_earlier(slot)


def _taken_earlier(slot: str) -> PhotoInput | None:
    """The photo of this view taken in the app earlier in this session, if any (an uploaded
    photo stays kept for the upload view)."""
    photo = st.session_state.setdefault(KEPT_PHOTOS, {}).get(slot)
    return photo if photo is not None and photo.name.startswith(CAPTURED) else None


def camera_inputs() -> dict[str, PhotoInput]:
    """One live camera at a time (a tablet opens one camera stream), for the view picked; the
    photos of the other views taken earlier are kept and listed, each with a way to drop it."""
    with st.expander("How to take the photos", icon=":material/info:"):
        st.markdown("\n".join(f"- {plain(line)}" for line in PROTOCOL))
    view = st.radio("View to take", SLOTS, format_func=lambda s: slot_title(s).removesuffix(
        " photo"), horizontal=True, key=CAMERA_VIEW, persist_state=KEPT,
        help="Any of the four views, in any order: each is analysed as soon as it is taken.")
    photos = {view: _camera_input(view)}
    photos |= {slot: _taken_earlier(slot) for slot in SLOTS if slot != view}
    taken = [slot for slot in SLOTS if photos[slot] is not None]
    st.caption("Taken: " + ", ".join(slot_title(s).lower().removesuffix(" photo")
                                     for s in taken) + "." if taken else "No photo taken yet.")
    for slot in taken:
        if slot != view and st.button(f"Drop the {slot_title(slot).lower()}",
                                      key=f"remove_taken_{slot}", icon=":material/close:"):
            st.session_state[KEPT_PHOTOS].pop(slot, None)
            st.rerun()
    return {slot: photo for slot, photo in photos.items() if photo is not None}


def photo_inputs() -> dict[str, PhotoInput]:
    """The photos given, by slot: any of front, back, left side and right side."""
    st.subheader("Photos")
    samples = available_samples()
    source = st.radio("Photos", [UPLOAD, TAKE] + ([SAMPLE] if samples else []),
                      horizontal=True, key="photo_source", label_visibility="collapsed",
                      persist_state=KEPT)
    if source == TAKE:
        return camera_inputs()
    if source == SAMPLE:
        label = st.selectbox("Sample photos", list(samples), key="sample_pair", persist_state=KEPT,
                             help="Photos published under the MIT license; see "
                                  "sample_images/ATTRIBUTION.md.")
        return {slot: PhotoInput(path.name, path.read_bytes())
                for slot, path in samples[label].items()}
    st.caption("Any of the four, each optional: front and back measure the frontal plane, the "
               "sides the sagittal plane; both of a pair are also compared with each other.")
    photos = {}
    # Front and back in one row, the two sides in the next: each pair is measured together.
    for row, slots in (("upload_frontal", ("front", "back")), ("upload_sides", ("left", "right"))):
        for column, slot in zip(wrapping_columns(row, [1, 1], [220, 220]), slots):
            photos[slot] = _photo_input(column, slot)
    return {slot: photo for slot, photo in photos.items() if photo is not None}


def analysis_options(height_cm: float | None) -> AnalysisOptions:
    with st.expander("Analysis options"):
        passes = st.slider(
            "Detection passes per photo", 1, MAX_PASSES, DEFAULT_PASSES, key="option_passes",
            persist_state=KEPT,
            help="Each pass shows the photo slightly rotated or mirrored; more passes give "
                 "steadier landmarks and the ± column. 1 is fastest.")
        level = st.checkbox(
            "Correct for camera tilt", key="option_level", persist_state=KEPT,
            help="Measure tilts against the photo's true vertical, estimated from straight "
                 "lines such as door frames. The CSV keeps the uncorrected value too.")
        clinic_ranges = os.environ.get(REFERENCE_ENV_VAR)
        st.caption(f"Reference ranges: the clinic's file {plain(Path(clinic_ranges).name)} "
                   "over the built-in screening defaults." if clinic_ranges else
                   "Reference ranges: the built-in screening defaults. A clinic's own file is "
                   f"set with `{REFERENCE_ENV_VAR}` in the environment when starting the app.")
    return AnalysisOptions(passes=passes, height_cm=height_cm, correct_camera_roll=level)


# --- results ---------------------------------------------------------------------------------


def photo_summary(p: PhotoAnalysis) -> str:
    """One caption line: what the photo was taken for and how it was measured."""
    parts = [f"{plain(p.name)}"]
    if p.given_as:   # analyze() moved it to the slot of the view it shows
        parts.append(f"given as the {slot_title(p.given_as).lower()}")
    parts += [f"seen as a {p.view.view} view",
              f"{p.landmarks.passes} detection pass{'es' if p.landmarks.passes > 1 else ''}"]
    parts.append("lengths in cm from the height" if p.cm_per_px
                 else "lengths in pixels (enter the height for cm)")
    if p.roll_applied is not None and p.roll is not None and p.roll.method == "manual":
        parts.append(f"camera tilt of {p.roll_applied:+.1f} deg corrected from the vertical "
                     "you marked")
    elif p.roll_applied is not None:
        parts.append(f"camera tilt of {p.roll_applied:+.1f} deg corrected")
    elif p.roll is not None and p.roll.degrees is not None:
        parts.append(f"camera tilt about {p.roll.degrees:+.1f} deg, not corrected")
    else:
        parts.append("camera level unknown")
    if not any(f.code == "mirror_possible" for f in p.findings):
        parts.append(MIRROR_ASSUMPTION)
    return " · ".join(parts)


def landmark_label(lm: Landmark) -> str:
    return lm.name.lower().replace("_", " ")


def click_in_photo_px(held: SessionAnalysis, slot: str, click: dict) -> tuple[float, float]:
    """A click on the review image in original photo pixels.

    The click is in displayed-image pixels; the annotated image is the working image, so
    displayed -> working by the displayed width, working -> photo pixels by `photo.scale`.
    """
    photo = getattr(held.result, slot).photo
    height, width = photo.rgb.shape[:2]
    to_working = width / click["width"]
    x = min(max(click["x"] * to_working, 0.0), width) * photo.scale
    y = min(max(click["y"] * to_working, 0.0), height) * photo.scale
    return x, y


def _new_click(held: SessionAnalysis, slot: str, click: dict) -> bool:
    """False for a click already applied (the component repeats its last value on reruns)."""
    if click == held.last_click.get(slot):
        return False
    held.last_click[slot] = click
    return True


def place_landmark(held: SessionAnalysis, slot: str, landmark: Landmark, click: dict) -> bool:
    """Apply one click of the review image: move `landmark` there and re-measure.

    Returns False for a click already applied.
    """
    if not _new_click(held, slot, click):
        return False
    held.edits.append(LandmarkEdit(slot, Landmark(landmark), *click_in_photo_px(held, slot, click)))
    held.refresh((slot,))
    return True


def undo_placed_landmarks(held: SessionAnalysis, slot: str) -> None:
    held.edits = [e for e in held.edits if not (isinstance(e, LandmarkEdit) and e.slot == slot)]
    held.refresh((slot,))


def place_point(held: SessionAnalysis, slot: str, name: str, click: dict) -> bool:
    """Apply one click of the review image: put anatomical point `name` there and re-measure.

    Returns False for a click already applied.
    """
    if not _new_click(held, slot, click):
        return False
    held.edits.append(PointEdit(slot, name, *click_in_photo_px(held, slot, click)))
    held.refresh((slot,))
    return True


def undo_placed_points(held: SessionAnalysis, slot: str) -> None:
    held.edits = [e for e in held.edits if not (isinstance(e, PointEdit) and e.slot == slot)]
    held.refresh((slot,))


def mark_vertical_point(held: SessionAnalysis, slot: str, click: dict) -> bool:
    """Apply one click of the review image in "Set the true vertical" mode.

    The first click holds a point; the second sets the true vertical through both
    (`roll_from_points`, photo pixels) and re-measures, replacing any vertical marked before.
    A pair that is not a vertical is refused with a one-line reason in `held.refused`.
    Returns False for a click already applied.
    """
    if not _new_click(held, slot, click):
        return False
    point = click_in_photo_px(held, slot, click)
    held.refused.pop(slot, None)
    first = held.first_point.pop(slot, None)
    if first is None:
        held.first_point[slot] = point
        return True
    try:
        roll = roll_from_points(first, point)
    except InputError as exc:
        held.refused[slot] = str(exc)
        return True
    held.edits = [e for e in held.edits if not (isinstance(e, VerticalEdit) and e.slot == slot)]
    held.edits.append(VerticalEdit(slot, (first, point), roll))
    held.refresh((slot,))
    return True


def undo_vertical(held: SessionAnalysis, slot: str) -> None:
    """Back to the camera level as estimated from the photo (or none)."""
    held.edits = [e for e in held.edits if not (isinstance(e, VerticalEdit) and e.slot == slot)]
    held.first_point.pop(slot, None)
    held.refused.pop(slot, None)
    held.refresh((slot,))


def review_image(held: SessionAnalysis, slot: str) -> Image.Image:
    """The annotated photo, with the true vertical marked on it (or its first point)."""
    image = Image.open(io.BytesIO(held.annotated[slot])).convert("RGB")
    scale = getattr(held.result, slot).photo.scale
    vertical = held.vertical(slot)
    points = list(vertical.points) if vertical else []
    if slot in held.first_point:
        points = [held.first_point[slot]]
    if not points:
        return image
    width = max(2, round(VERTICAL_WIDTH_FRACTION * max(image.size)))
    working = [(x / scale, y / scale) for x, y in points]  # photo -> working pixels
    draw = ImageDraw.Draw(image)
    if len(working) == 2:
        draw.line(working, fill=VERTICAL_COLOUR, width=width)
    for x, y in working:
        r = 2.5 * width
        draw.ellipse((x - r, y - r, x + r, y + r), outline=VERTICAL_COLOUR, width=width)
    return image


def landmark_controls(p: PhotoAnalysis, held: SessionAnalysis) -> Landmark:
    used = sorted({lm for m in p.metrics for lm in m.landmarks})
    landmark = st.selectbox("Landmark to place", used, format_func=landmark_label,
                            key=f"review_landmark_{p.slot}", persist_state=KEPT)
    if landmark in p.landmarks.manual:
        st.caption("This landmark was placed by hand.")
    else:
        st.caption(f"Detected with confidence {p.landmarks.visibility[landmark]:.2f}.")
    st.markdown("Click the photo where the landmark belongs: the measures using it "
                "update at once and are marked *manual* in the table and the CSV.")
    st.caption("Dots: green detected, red low confidence, magenta placed by hand.")
    if p.landmarks.manual and st.button("Undo hand placements", key=f"review_undo_{p.slot}"):
        undo_placed_landmarks(held, p.slot)
        st.rerun()
    return landmark


def point_label(name: str) -> str:
    if name.startswith("waist_arm_"):
        return f"arm beside the {name.rsplit('_', 1)[1]} waist"
    return name.replace("_", " ").replace("asis", "ASIS").replace("psis", "PSIS").replace(
        "c7", "C7")


def point_controls(p: PhotoAnalysis, held: SessionAnalysis) -> str:
    names = placeable_points(p)
    name = st.selectbox("Anatomical point to place", names, format_func=point_label,
                        key=f"review_point_{p.slot}")
    point = p.anatomical_points.get(name)
    if point is not None and point.manual:
        st.caption("This point was placed by hand.")
    elif point is not None and point.ok:
        st.caption(f"Found on the outline (SD {point.uncertainty_px:.0f} px).")
    elif point is not None:
        st.caption(f"Not found: {plain(point.reason)}.")
    st.markdown("Click the photo where the point is (palpated and marked on the skin, as "
                "SAPO does): the measures using it update at once and are marked *manual*.")
    st.caption("Rings: white found on the outline, magenta placed by hand.")
    if any(pt.manual for pt in p.anatomical_points.values()) and st.button(
            "Undo placed points", key=f"review_undo_points_{p.slot}"):
        undo_placed_points(held, p.slot)
        st.rerun()
    return name


def vertical_controls(p: PhotoAnalysis, held: SessionAnalysis) -> None:
    st.markdown("Click two points on something truly vertical: a door frame, a wall corner, a "
                "plumb line. Far apart, and near the middle of the photo if you can (verticals "
                "near the edges lean with the camera's pitch). Tilts are then measured against "
                "it.")
    estimate = getattr(held.detected, p.slot).roll
    if estimate is not None and estimate.degrees is not None:
        st.caption(f"From the photo's straight lines: camera roll {estimate.degrees:+.1f} deg "
                   f"(confidence {estimate.confidence:.2f}).")
    elif estimate is not None:
        st.caption(f"From the photo's straight lines: {plain(estimate.reason)}.")
    if p.slot in held.first_point:
        st.info("First point marked: click a second point on the same vertical.",
                icon=":material/straighten:")
    if p.slot in held.refused:
        st.warning(plain(held.refused[p.slot]), icon=":material/warning:")
    vertical = held.vertical(p.slot)
    if vertical is not None:
        st.caption(f"Vertical marked (in blue): camera roll {vertical.roll.degrees:+.1f} deg. "
                   "Click two new points to mark it again.")
        if st.button("Undo the marked vertical", key=f"review_undo_vertical_{p.slot}"):
            undo_vertical(held, p.slot)
            st.rerun()


def landmark_review(p: PhotoAnalysis, held: SessionAnalysis) -> None:
    """Let the clinician place a landmark the detector got wrong, or mark the true vertical;
    the measures update at once."""
    with st.expander(f"Check landmarks on the {slot_title(p.slot).lower()}; place them, or "
                     "the true vertical, by hand"):
        controls, picture = wrapping_columns(f"review_row_{p.slot}", [1, 2], [240, 320])
        with controls:
            mode = st.radio("A click on the photo", [PLACE_LANDMARK, PLACE_POINT, SET_VERTICAL],
                            key=f"review_mode_{p.slot}", persist_state=KEPT)
            if mode != SET_VERTICAL:
                held.first_point.pop(p.slot, None)  # a vertical half marked is dropped
            if mode == PLACE_LANDMARK:
                landmark = landmark_controls(p, held)
            elif mode == PLACE_POINT:
                point = point_controls(p, held)
            else:
                vertical_controls(p, held)
        with picture:
            # Keyed by the photos too: a new photo must not receive the previous one's click.
            click = streamlit_image_coordinates(
                review_image(held, p.slot), width="stretch", image_format="JPEG",
                jpeg_quality=90, cursor="crosshair",
                key=f"review_click_{p.slot}_{held.photos[:16]}")
        if not click:
            return
        if mode == PLACE_LANDMARK:
            applied = place_landmark(held, p.slot, landmark, click)
            what = f"{landmark_label(landmark)} placed by hand"
        elif mode == PLACE_POINT:
            applied = place_point(held, p.slot, point, click)
            what = f"{point.replace('_', ' ')} placed by hand"
        else:
            applied = mark_vertical_point(held, p.slot, click)
            # The first click only holds a point; a refused pair changes nothing.
            set_now = p.slot not in held.first_point and p.slot not in held.refused
            what = "true vertical marked by hand" if set_now else ""
        if applied:
            if what:
                signin.log_action(LANDMARK_EDIT, f"{slot_title(p.slot).lower()}: {what} "
                                  "(analysis not saved yet)",
                                  subject=st.session_state.get("patient_subject") or None)
            st.rerun()


def display_width(p: PhotoAnalysis) -> int:
    """Pixels to show the photo at: a portrait photo at most MAX_IMAGE_HEIGHT_PX tall, so a
    narrow photo is not blown up beside its table (wider than its column is capped by st)."""
    height, width = p.photo.rgb.shape[:2]
    return max(1, round(MAX_IMAGE_HEIGHT_PX * width / height))


def photo_section(p: PhotoAnalysis, held: SessionAnalysis) -> None:
    st.subheader(slot_title(p.slot))
    st.caption(photo_summary(p))
    image_col, table_col = wrapping_columns(f"photo_row_{p.slot}", [5, 7], [280, 520])
    with image_col:
        st.image(held.annotated[p.slot], width=display_width(p))
    with table_col:
        metrics_table(p.metrics, key=f"metrics_table_{p.slot}")
        if p.roll_applied is not None and p.roll is not None and p.roll.method == "manual":
            st.caption(f"Tilts measured against the vertical you marked (camera roll "
                       f"{p.roll_applied:+.1f} deg); the Flag column keeps each uncorrected "
                       "value.")
    landmark_review(p, held)


def _named(m: MetricResult) -> str:
    """"Head tilt (front)", "Trunk sagittal lean (left side)": a measure and where it was
    taken, in a list (a mean of both sides says so in its label)."""
    if m.slot == SIDES_MEAN:
        return plain(m.label)
    return f"{plain(m.label)} ({slot_title(m.slot).lower().removesuffix(' photo')})"


def outside_summary(result: Assessment) -> None:
    # What the summary by region reads (`visit_values`): each measure once, both sides' mean
    # and the front over the back (each photo's own flag is in its table).
    metrics = visit_values(result.metrics)
    outside = [_named(m) for m in metrics if m.flag == FLAG_OUTSIDE]
    borderline = [_named(m) for m in metrics if m.flag == FLAG_BORDERLINE]
    if outside:
        st.markdown(f"**Outside the reference range:** {', '.join(outside)}.")
    if borderline:
        st.markdown(f"**Borderline** (a range bound within 2 ± of the value): "
                    f"{', '.join(borderline)}.")
    if not outside and not borderline:
        st.markdown("**Every measure taken is within its reference range** (or has none).")


def banner_findings(result: Assessment) -> list[Finding]:
    """The visit's and each photo's findings; what two photos disagree on in one line that
    points to the tables of two photos, where each is said in full."""
    pairs = {"front_back_differ": "front and back photos", "sides_differ": "side photos"}
    counts = {code: sum(f.code == code for f in result.combined_findings) for code in pairs}
    said = [f"the {pairs[code]} on {n} measure{'s' if n > 1 else ''}"
            for code, n in counts.items() if n]
    summary = [Finding("photos_disagree", "The photos disagree: " + ", ".join(said)
                       + " (see Two photos together, below).")] if said else []
    return list(result.findings) + summary + [
        f for f in result.all_findings()
        if f not in result.findings and f not in result.combined_findings]


# What each table of two photos holds, said under its title.
COMBINED_CAPTIONS = {
    "sides": "Each sagittal measure taken on both side photos: their mean, flagged against the "
             "reference range.",
    "left-right": "The left side photo's value minus the right's. A difference beyond the "
                  "detection noise and the detectable change says the patient stood "
                  "differently, or is turned, between the two photos.",
    "front-back": "The front photo's value minus the back's, both in the patient's frame: a "
                  "real difference says the two photos disagree, not that the body changed.",
}


def combined_section(result: Assessment) -> None:
    """The measures two photos share (both sides; front and back), and what they disagree on."""
    if not result.combined:
        return
    st.subheader("Two photos together")
    if result.combined_findings:
        st.warning("\n".join(f"- {plain(f.message)}" for f in result.combined_findings),
                   icon=":material/compare:")
    for slot in dict.fromkeys(m.slot for m in result.combined):
        st.markdown(f"**{slot_title(slot)}**")
        st.caption(COMBINED_CAPTIONS.get(slot, ""))
        metrics_table([m for m in result.combined if m.slot == slot],
                      key=f"metrics_table_{slot}")


def visit_json(result: Assessment, patient: Patient) -> str:
    """The library's JSON result, with the visit details entered on this page."""
    data = {"visit": {"date": patient.visit_date.isoformat(), "notes": patient.notes},
            **assessment_json(result)}
    return json.dumps(data, indent=2, allow_nan=False)


def downloads(result: Assessment, held: SessionAnalysis, patient: Patient) -> None:
    st.subheader("Download")
    stem = f"posture_{file_stem(patient.subject)}_{patient.visit_date.isoformat()}"
    files = [("csv", "Results table (CSV)", csv_text(result.rows()), f"{stem}.csv", "text/csv"),
             ("json", "Full results (JSON)", visit_json(result, patient), f"{stem}.json",
              "application/json")]
    files += [(p.slot, f"Annotated {slot_title(p.slot).lower()} (PNG)", held.annotated[p.slot],
               f"{stem}_{p.slot}.png", "image/png") for p in result.photos]
    columns = wrapping_columns("downloads", [1] * len(files), [190] * len(files), gap="small")
    for column, (kind, label, data, name, mime) in zip(columns, files):
        # on_click="ignore": downloading must not re-run the page.
        data = signin.audited(data, f"{label} of an analysis not saved",
                              subject=patient.subject or None)
        column.download_button(label, data, file_name=name, mime=mime, on_click="ignore",
                               icon=":material/download:", key=f"download_{kind}")
    st.caption("Annotated photos carry no EXIF metadata (no GPS position, no camera serial).")


def save_panel(result: Assessment, held: SessionAnalysis, patient: Patient,
               given: GivenPhotos) -> bool:
    """Offer to save the visit in the records (posture.app.records owns the store).
    True when exactly what the page shows is saved. The photos go keyed as given: the store
    files each under the slot it was analysed in (a photo given in the wrong slot moves)."""
    return save_visit_panel(
        result, {slot: p.data for slot, p in given.items()},
        filenames={slot: p.name for slot, p in given.items()},
        annotated=held.annotated, subject=patient.subject, visit_date=patient.visit_date,
        notes=patient.notes, patient_name=patient.name)


def show() -> None:
    """The page."""
    st.title("Posture screening")
    st.caption("A screening aid from up to four photos (front, back, left side, right side): "
               "landmarks by MediaPipe Pose, measures with their uncertainty and reference "
               "ranges. Not a diagnosis.")
    patient_col, photos_col = wrapping_columns("intake_inputs", [1, 2], [260, 440], gap="large")
    with patient_col:
        patient = patient_details()
    with photos_col:
        given = photo_inputs()
        try:
            options = analysis_options(patient.height_cm)
        except PostureError as exc:
            st.error(str(exc), icon=":material/error:")
            return
    if not given:
        st.session_state[UNSAVED] = None
        st.info("Upload any of the four photos (front, back, left side, right side), or try "
                "the sample photos, to see the measures.", icon=":material/photo_camera:")
        return

    held = current_analysis(given, options)
    if held.error:
        st.session_state[UNSAVED] = None
        st.error(plain(held.error), icon=":material/error:")
        return
    result = dataclasses.replace(held.result, subject=patient.subject)
    # Said before the long page is drawn: a click elsewhere (a page switch, a landmark) can cut
    # this run short, and the other pages must still remind of what is not saved.
    st.session_state[UNSAVED] = None if is_saved(
        result, {slot: p.data for slot, p in given.items()}, patient.subject,
        patient.visit_date) else unsaved_line(result, patient)
    st.divider()
    findings_banner(banner_findings(result))
    outside_summary(result)
    summary_by_region(result)
    for p in result.photos:
        photo_section(p, held)
    combined_section(result)
    levels = frontal_levels(result.metrics)
    for p in result.frontal:   # after every photo's own table: the chain reads across them
        if p.view.view in ("front", "back"):
            levels_chain_view(p, levels)
    st.divider()
    downloads(result, held, patient)
    st.divider()
    # Again where the run settles: a save on this run clears it.
    saved = save_panel(result, held, patient, given)
    st.session_state[UNSAVED] = None if saved else unsaved_line(result, patient)


def unsaved_line(result: Assessment, patient: Patient) -> str:
    """What the intake holds that is not in the records, in one line."""
    manual = sum(len(p.landmarks.manual) for p in result.photos)
    whose = f" for {patient.subject}" if patient.subject else ""
    parts = [f"{len(result.photos)} photo(s) analysed{whose}"]
    if manual:
        parts.append(f"{manual} landmark(s) placed by hand")
    return "Unsaved intake: " + ", ".join(parts) + "."
