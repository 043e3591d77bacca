"""The assessment: one call composing the stages, one frozen result per visit.

    photo bytes -> images -> landmarks (passes, view, quality) -> metrics -> Assessment

CLI, app, export, store and compare all read an `Assessment`; none of them recomputes a metric.
Its tidy table form (`Assessment.rows()`, columns in `TABLE_COLUMNS`) is what CSV files, the UI
table and the database hold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import MappingProxyType

from posture.camera import RollEstimate, roll_from_edges
from posture.errors import InputError, NoPersonError, OrientationError
from posture.images import Photo, load_photo
from posture.landmarks.detector import PoseDetector
from posture.landmarks.passes import DEFAULT_PASSES, MAX_PASSES, Detection, detect_landmarks
from posture.landmarks.quality import (
    BodyExtent,
    Finding,
    another_person,
    body_axis_finding,
    body_extent,
    findings_text,
    frame_findings,
    level_unknown_finding,
    mirror_finding,
    precision_finding,
)
from posture.landmarks.result import PoseLandmarks
from posture.landmarks.views import ViewClass, body_axis, check_upright, classify_view
from posture.landmarks.vocabulary import Landmark as L
from posture.metrics.compute import (
    MIN_VISIBILITY,
    STATUS_WRONG_VIEW,
    Frame,
    MetricResult,
    compute_metrics,
    not_measured,
)
from posture.metrics.definitions import METRICS
from posture.metrics.reference import ReferenceRange, load_ranges
from posture.numbers import stored
from posture.outline.points import (
    FRONT_POINTS,
    MANUAL_POINTS,
    SIDE_POINTS,
    AnatomicalPoint,
    complete,
    missing,
)
from posture.outline.side import side_points
from posture.scene import SceneWork, one_blas_thread

try:  # the front/back finder (the `front` branch); until it is merged, those points say so
    from posture.outline.frontal import frontal_points
except ImportError:  # pragma: no cover - present once the front branch is merged
    frontal_points = None

# A camera roll this large, when the photo's lines show it confidently, is worth a warning:
# it reads one-for-one as shoulder or pelvic tilt (METRICS.md).
ROLL_WARNING_DEG = 1.0
ROLL_MIN_CONFIDENCE = 0.5
# Findings about the camera's level and the body's axis: replaced when a vertical is marked.
_LEVEL_CODES = ("camera_tilted", "camera_level_unknown", "body_axis_tilted", "body_leans")

#: Said wherever left and right are read, when no evidence points to a mirror.
MIRROR_ASSUMPTION = "photo assumed not mirrored (a mirror or a selfie camera swaps left and right)"

#: The tidy table, one row per metric. Documented in README.md ("CSV columns"); pinned by a test.
TABLE_COLUMNS = (
    "subject", "view", "metric", "label", "value", "unit", "uncertainty", "side", "status",
    "flag", "reference", "detail", "raw_value", "corrected", "manual", "image", "passes",
    "findings", "analysed_at", "posture_version",
)


@dataclass(frozen=True)
class AnalysisOptions:
    """User options, parsed once at the edge (CLI flags, app widgets) and passed down typed.

    passes: detection passes per photo (1 = single pass; see posture.landmarks.passes).
    height_cm: the patient's standing height; turns pixel offsets into cm.
    correct_camera_roll: measure against the photo's true vertical, estimated from its lines.
    reference_ranges: a clinic's CSV overriding the default reference ranges.
    """

    passes: int = DEFAULT_PASSES
    height_cm: float | None = None
    subject: str = ""
    correct_camera_roll: bool = False
    reference_ranges: str | None = None
    min_visibility: float = MIN_VISIBILITY
    check_second_person: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.passes, int) or not 1 <= self.passes <= MAX_PASSES:
            raise InputError(f"passes must be a whole number from 1 to {MAX_PASSES}")
        if self.height_cm is not None and not (
            isinstance(self.height_cm, (int, float)) and math.isfinite(self.height_cm)
            and 50 <= self.height_cm <= 250
        ):
            raise InputError("height must be in cm, between 50 and 250 (e.g. 172)")


@dataclass(frozen=True, eq=False)
class PhotoAnalysis:
    """One photo, analysed. Landmarks are in the original photo's pixels; `photo.rgb` is the
    working image (photo pixels / photo.scale), which annotated images are drawn on."""

    slot: str                  # the slot it was given in: "front" or "side"
    photo: Photo
    landmarks: PoseLandmarks
    view: ViewClass
    extent: BodyExtent
    cm_per_px: float | None
    roll: RollEstimate | None
    roll_applied: float | None
    findings: tuple[Finding, ...]
    metrics: tuple[MetricResult, ...]
    # Every anatomical point of the photo's view by name (posture.outline), each with a status.
    anatomical_points: Mapping[str, AnatomicalPoint] = field(
        default_factory=lambda: MappingProxyType({}))

    @property
    def name(self) -> str:
        return self.photo.name


@dataclass(frozen=True, eq=False)
class Assessment:
    """The result of one visit's photos: front and/or side."""

    subject: str
    options: AnalysisOptions
    front: PhotoAnalysis | None
    side: PhotoAnalysis | None
    findings: tuple[Finding, ...]
    analysed_at: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    posture_version: str = ""

    @property
    def photos(self) -> tuple[PhotoAnalysis, ...]:
        return tuple(p for p in (self.front, self.side) if p is not None)

    @property
    def metrics(self) -> tuple[MetricResult, ...]:
        return tuple(m for p in self.photos for m in p.metrics)

    def all_findings(self) -> tuple[Finding, ...]:
        """The visit's findings, then each photo's, named by photo ("Side photo: ...")."""
        return self.findings + tuple(
            Finding(f.code, f"{p.slot.capitalize()} photo: {f.message}")
            for p in self.photos for f in p.findings)

    def metric(self, metric_id: str) -> MetricResult:
        for m in self.metrics:
            if m.metric == metric_id:
                return m
        raise KeyError(metric_id)

    def rows(self) -> list[dict]:
        """The tidy table: one dict per metric, keys in TABLE_COLUMNS order."""
        out = []
        for photo in self.photos:
            # The visit's findings and the photo's own, on each of its rows (" | " between).
            findings = findings_text(f.message for f in self.findings + photo.findings)
            for m in photo.metrics:
                out.append({
                    "subject": self.subject,
                    "view": photo.view.view,
                    "metric": m.metric,
                    "label": m.label,
                    "value": _round(m.value),
                    "unit": m.unit,
                    "uncertainty": _round(m.uncertainty),
                    "side": m.direction,
                    "status": m.status,
                    "flag": m.flag,
                    "reference": m.reference,
                    "detail": m.detail,
                    "raw_value": _round(m.raw_value),
                    "corrected": m.corrected,
                    "manual": m.manual,
                    "image": photo.name,
                    "passes": photo.landmarks.passes,
                    "findings": findings,
                    "analysed_at": self.analysed_at,
                    "posture_version": self.posture_version,
                })
        return out

    # Clinician edits: each returns a new Assessment with the photo's metrics recomputed from
    # its landmarks (no re-detection), so the app can apply them instantly.

    def with_landmark_moved(self, slot: str, landmark, x: float, y: float) -> Assessment:
        """A landmark placed by hand at (x, y) photo pixels; it and every metric using it are
        marked manual. On a side photo the near ear is the tragus: moving it moves the tragus
        point too (unless the tragus itself was placed by hand)."""
        photo = self._photo(slot)
        photo = replace(photo, landmarks=photo.landmarks.moved(landmark, x, y))
        tragus = photo.anatomical_points.get("tragus")
        if (photo.view.view == "side" and tragus is not None and not tragus.manual
                and int(landmark) == int(L.RIGHT_EAR if photo.view.forward > 0
                                         else L.LEFT_EAR)):
            points = dict(photo.anatomical_points)
            points["tragus"] = tragus.moved(x, y)
            photo = replace(photo, anatomical_points=MappingProxyType(points))
        return self._with(slot, photo)

    def with_point_placed(self, slot: str, name: str, x: float, y: float) -> Assessment:
        """An anatomical point placed by hand at (x, y) photo pixels, SAPO's way (palpated,
        marked on the skin, clicked on the photo): it replaces what the outline found (or
        gives ASIS and PSIS, which no outline shows), is marked manual with no detection
        uncertainty, and every metric using it is recomputed and marked manual.

        Raises InputError: no such photo, a point its view does not have, or a position
        outside the photo."""
        photo = self._photo(slot)
        names = placeable_points(photo)
        if name not in names:
            raise InputError(f"the {slot} photo has no anatomical point {name!r}: choose one of "
                             + ", ".join(names))
        w, h = photo.landmarks.image_size
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y)) or not (
                0 <= x <= w and 0 <= y <= h):
            raise InputError(f"place the {name.replace('_', ' ')} inside the photo "
                             f"({w} x {h} pixels)")
        points = dict(photo.anatomical_points)
        current = points.get(name) or missing(name, "")
        points[name] = current.moved(x, y)
        return self._with(slot, replace(photo, anatomical_points=MappingProxyType(points)))

    def with_camera_roll(self, slot: str, roll: RollEstimate) -> Assessment:
        """The true vertical set by hand (e.g. `posture.camera.roll_from_points` on a door
        frame) or measured by the device at the shutter (`roll_from_device`): it replaces the
        estimate and is always applied; raw values are kept."""
        photo = self._photo(slot)
        if roll.degrees is None:
            raise InputError("a manual camera level needs an angle")
        findings = tuple(f for f in photo.findings
                         if f.code not in _LEVEL_CODES + ("device_level",)) + tuple(
            _level_findings(photo.landmarks, roll, roll.degrees, self.options.min_visibility))
        if roll.method == "device":  # said where the tilts are read: page, CSV, PDF
            findings += (Finding("device_level", f"Tilts are measured against the true "
                                 f"vertical {roll.reason}; raw values kept."),)
        return self._with(slot, replace(photo, roll=roll, roll_applied=roll.degrees,
                                        findings=findings))

    def with_height(self, height_cm: float | None) -> Assessment:
        """The patient's height changed: lengths re-expressed in cm (or px when None)."""
        options = replace(self.options, height_cm=height_cm)
        out = replace(self, options=options)
        for p in self.photos:
            cm_per_px = height_cm / p.extent.height_px if height_cm else None
            out = out._with(p.slot, replace(p, cm_per_px=cm_per_px))
        return out

    def _photo(self, slot: str) -> PhotoAnalysis:
        photo = getattr(self, slot, None) if slot in ("front", "side") else None
        if photo is None:
            raise InputError(f"there is no {slot} photo to edit")
        return photo

    def _with(self, slot: str, photo: PhotoAnalysis) -> Assessment:
        ranges = load_ranges(self.options.reference_ranges)
        return replace(self, **{slot: replace(photo, metrics=_metrics_for(photo, self.options,
                                                                          ranges))})


_round = stored  # the one rounding rule (posture.numbers)


def _frame(view: ViewClass) -> Frame:
    if view.view == "side":
        return Frame(view="side", forward=view.forward)
    return Frame(view=view.view, lateral=1 if view.left_on_image_right else -1)


def _expected_group(slot: str) -> tuple[str, ...]:
    return ("side",) if slot == "side" else ("front", "back")


def _metrics_for(p: PhotoAnalysis, options: AnalysisOptions,
                 ranges: dict[str, ReferenceRange]) -> tuple[MetricResult, ...]:
    group = "side" if p.slot == "side" else "front"
    if p.view.view not in _expected_group(p.slot):
        detail = f"the {p.slot} photo is a {p.view.view} view"
        return tuple(not_measured(m, STATUS_WRONG_VIEW, detail, p.cm_per_px, ranges.get(m.id))
                     for m in METRICS if m.view == group)
    return compute_metrics(p.landmarks, _frame(p.view), ranges=ranges, cm_per_px=p.cm_per_px,
                           roll_degrees=p.roll_applied, min_visibility=options.min_visibility,
                           points=p.anatomical_points)


def _anatomical_points(view: ViewClass, detection: Detection, photo: Photo,
                       roll_degrees: float | None) -> Mapping[str, AnatomicalPoint]:
    """The outline stage: every anatomical point of the photo's view, with its status."""
    lm = detection.landmarks
    if view.view == "side":
        pts = side_points(detection.mask, photo.scale, lm, view.forward, photo.rgb,
                          roll_degrees=roll_degrees)
    elif view.view in ("front", "back") and frontal_points is not None:
        pts = frontal_points(detection.mask, photo.scale, lm,
                             1 if view.left_on_image_right else -1, photo.rgb)
    elif view.view in ("front", "back"):
        pts = complete({}, FRONT_POINTS, "front outline points are not in this version")
    else:
        pts = {}
    return MappingProxyType(dict(pts))


def placeable_points(p: PhotoAnalysis) -> tuple[str, ...]:
    """The anatomical points a clinician may place by hand on this photo: its view's outline
    points, and ASIS and PSIS on a front or back photo."""
    if p.view.view == "side" or (p.slot == "side" and p.view.view not in ("front", "back")):
        return SIDE_POINTS
    return FRONT_POINTS + MANUAL_POINTS


def outline_extent(points: Mapping[str, AnatomicalPoint]) -> BodyExtent | None:
    """Standing height from the outline's vertex to its sole, when both are found."""
    top, bottom = points.get("vertex"), points.get("sole")
    if top is None or bottom is None or not (top.ok and bottom.ok) or bottom.y <= top.y:
        return None
    return BodyExtent(top=float(top.y), bottom=float(bottom.y), method="outline")


@dataclass(frozen=True, eq=False)
class _Detected:
    """One photo after the landmark stage, with its scene work."""

    photo: Photo
    detection: Detection
    scene: SceneWork


def _detect(slot: str, source, options: AnalysisOptions, detector: PoseDetector,
            name: str | None, started: list[SceneWork]) -> _Detected:
    photo = source if isinstance(source, Photo) else load_photo(source, name=name)
    scene = SceneWork(photo.rgb, detector)
    started.append(scene)
    try:
        detection = detect_landmarks(photo.rgb, detector, passes=options.passes,
                                     scale=photo.scale)
    except NoPersonError as exc:
        raise NoPersonError(f"{slot.capitalize()} photo ({photo.name}): {exc}") from None
    try:
        check_upright(detection.landmarks)
    except OrientationError as exc:
        raise OrientationError(f"{slot.capitalize()} photo ({photo.name}): {exc}") from None
    return _Detected(photo, detection, scene)


def _level_findings(lm: PoseLandmarks, roll: RollEstimate | None, applied: float | None,
                    min_visibility: float) -> list[Finding]:
    """What is known of the vertical the tilts are read against, and whether the body stands
    along it (both said before the tilts, on every face)."""
    known = roll is not None and roll.degrees is not None and (
        roll.method == "manual" or roll.confidence >= ROLL_MIN_CONFIDENCE)
    out = [] if known else [level_unknown_finding(roll.reason if roll else "")]
    axis, lower = body_axis(lm, min_visibility)
    lean = body_axis_finding(axis, lower, roll.degrees if known else None, applied)
    return out + ([lean] if lean else [])


def _analyse_photo(slot: str, detected: _Detected, options: AnalysisOptions,
                   detector: PoseDetector, ranges: dict[str, ReferenceRange]) -> PhotoAnalysis:
    photo, detection = detected.photo, detected.detection
    scene = detected.scene
    lm = detection.landmarks
    view = classify_view(lm)
    findings = frame_findings(lm, options.min_visibility)
    if view.view == "oblique":
        findings.append(Finding("oblique", view.reason))
    elif view.view not in _expected_group(slot):
        findings.append(Finding("wrong_view", f"It looks like a {view.view} view: "
                                f"upload a {slot} photo ({view.reason})."))
    if options.check_second_person and another_person(
            photo.rgb, lm.xy / photo.scale, detector, detection.people_seen):
        findings.append(Finding("multiple_people", "More than one person is likely in the photo: "
                                "photograph the patient alone; landmarks may mix two bodies."))
    roll = roll_from_edges(scene.edges(), exclude_box=detection.crop_box)
    confident = roll.degrees is not None and roll.confidence >= ROLL_MIN_CONFIDENCE
    if confident and abs(roll.degrees) >= ROLL_WARNING_DEG and not options.correct_camera_roll:
        findings.append(Finding("camera_tilted", f"The camera looks rolled by {roll.degrees:+.1f} "
                                "deg (from straight lines in the photo): tilts read that much "
                                "off; hold the camera level, apply the level correction, or "
                                "mark a true vertical by hand."))
    applied = roll.degrees if (options.correct_camera_roll and confident) else None
    points = _anatomical_points(view, detection, photo, applied)
    extent = outline_extent(points) or body_extent(lm, detection.mask, photo.scale)
    cm_per_px = options.height_cm / extent.height_px if options.height_cm else None
    findings += _level_findings(lm, roll, applied, options.min_visibility)
    mirror = mirror_finding(photo.camera)
    if mirror:
        findings.append(mirror)
    p = PhotoAnalysis(slot=slot, photo=photo, landmarks=lm, view=view, extent=extent,
                      cm_per_px=cm_per_px, roll=roll, roll_applied=applied,
                      findings=tuple(findings), metrics=(), anatomical_points=points)
    metrics = _metrics_for(p, options, ranges)
    imprecise = precision_finding([m.uncertainty for m in metrics if m.unit == "deg"
                                   and m.value is not None], extent.height_px)
    if imprecise:
        findings.append(imprecise)
    return replace(p, metrics=metrics, findings=tuple(findings))


def analyze(front=None, side=None, options: AnalysisOptions | None = None, *,
            detector: PoseDetector | None = None, front_name: str | None = None,
            side_name: str | None = None) -> Assessment:
    """Analyse a visit's front and/or side photo.

    Args:
        front, side: a path, the file's bytes, or a loaded `Photo`; either may be None.
        options: `AnalysisOptions`; defaults if None.
        detector: a `PoseDetector`; the process-wide MediaPipe pool if None.

    Raises:
        ImageError: a photo cannot be read. NoPersonError: nobody in a photo.
        InputError: neither photo given, or bad options / reference-range file.

    If the front slot holds a side view and the side slot a front view, they are swapped and a
    finding says so; any other mismatch marks that photo's metrics "wrong_view".
    """
    from posture import __version__

    options = options or AnalysisOptions()
    if front is None and side is None:
        raise InputError("give at least one photo: a front photo, a side photo, or both")
    if detector is None:
        from posture.landmarks.mediapipe_pose import default_detector

        detector = default_detector()
    one_blas_thread()
    ranges = load_ranges(options.reference_ranges)
    started: list[SceneWork] = []
    try:
        detected = {}
        for slot, source, name in (("front", front, front_name), ("side", side, side_name)):
            if source is not None:
                detected[slot] = _detect(
                    slot, source, options, detector,
                    name or (os.path.basename(source)
                             if isinstance(source, (str, os.PathLike)) else None),
                    started)
        findings = []
        if len(detected) == 2:
            views = {slot: classify_view(d.detection.landmarks).view
                     for slot, d in detected.items()}
            if views["front"] == "side" and views["side"] in ("front", "back"):
                detected = {"front": detected["side"], "side": detected["front"]}
                findings.append(Finding("views_swapped", "The front and side photos were "
                                        "swapped; each was analysed as the view it shows."))
        photos = {slot: _analyse_photo(slot, d, options, detector, ranges)
                  for slot, d in detected.items()}
    finally:
        for scene in started:  # after an error (no person, say): not started, not needed
            scene.cancel()
    return Assessment(subject=options.subject, options=options, front=photos.get("front"),
                      side=photos.get("side"), findings=tuple(findings),
                      posture_version=__version__)
