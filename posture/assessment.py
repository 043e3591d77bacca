"""The assessment: one call composing the stages, one frozen result per visit.

    photo bytes -> images -> landmarks (passes, view, quality) -> metrics -> Assessment

CLI, app, export, store and compare all read an `Assessment`; none of them recomputes a metric.
Its tidy table form (`Assessment.rows()`, columns in `TABLE_COLUMNS`) is what CSV files, the UI
table and the database hold.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TypeVar

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
from posture.metrics.bilateral import Level, both_sides, disagreements, front_and_back
from posture.metrics.compute import (
    MIN_VISIBILITY,
    STATUS_WRONG_VIEW,
    Frame,
    MetricResult,
    compute_metrics,
    not_measured,
)
from posture.metrics.definitions import METRICS
from posture.metrics.detectable import load_detectable_changes
from posture.metrics.reference import ReferenceRange, load_ranges
from posture.numbers import stored
from posture.outline.points import (
    FRONT_POINTS,
    MANUAL_POINTS,
    SIDE_POINTS,
    AnatomicalPoint,
    PointMap,
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

T = TypeVar("T")
# Control characters (a line break in a manifest's cell) would break a one-line message.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Said wherever left and right are read, when no evidence points to a mirror.
MIRROR_ASSUMPTION = "photo assumed not mirrored (a mirror or a selfie camera swaps left and right)"

#: The photo slots of a visit, each optional: SAPO's and PostureScreen's four views. "left" is
#: the patient's left side toward the camera (facing image left, unless the photo is mirrored).
SLOTS = ("front", "back", "left", "right")
SIDE_SLOTS = ("left", "right")
#: A side photo given without saying which side: filed as left or right by the way the patient
#: faces (the CLI's --side, records made before the four slots).
ANY_SIDE = "side"

#: The tidy table, one row per metric and slot. Documented in README.md ("CSV columns"); pinned
#: by a test. `slot` is the photo's slot, or a combination of two (posture.metrics.bilateral).
TABLE_COLUMNS = (
    "subject", "slot", "view", "metric", "label", "value", "unit", "uncertainty", "side", "status",
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

    slot: str                  # the slot it is analysed in: one of SLOTS
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
        default_factory=lambda: PointMap({}))
    # The slot the caller gave it in (one of SLOTS or ANY_SIDE), when analyze() filed it
    # elsewhere (the view it shows); "" when it is the same.
    given_as: str = ""

    @property
    def name(self) -> str:
        return self.photo.name


def slot_title(slot: str) -> str:
    """"Front photo", "Left side photo", "Sides (mean)" ...: how pages and reports name it."""
    return {"left": "Left side photo", "right": "Right side photo", "sides": "Both sides (mean)",
            "left-right": "Left minus right side", "front-back": "Front minus back"}.get(
        slot, f"{slot.capitalize()} photo")


@dataclass(frozen=True, eq=False)
class Assessment:
    """The result of one visit's photos: any of front, back, left side and right side.

    combined: each measure two photos share (both sides: mean and left-right difference;
    front and back: their difference), made from the photos' metrics whenever they change.
    """

    subject: str
    options: AnalysisOptions
    front: PhotoAnalysis | None = None
    back: PhotoAnalysis | None = None
    left: PhotoAnalysis | None = None
    right: PhotoAnalysis | None = None
    findings: tuple[Finding, ...] = ()
    analysed_at: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    posture_version: str = ""
    combined: tuple[MetricResult, ...] = ()
    combined_findings: tuple[Finding, ...] = ()

    @property
    def photos(self) -> tuple[PhotoAnalysis, ...]:
        return tuple(p for p in (self.front, self.back, self.left, self.right) if p is not None)

    @property
    def side(self) -> PhotoAnalysis | None:
        """The side photo: the left one when both sides are given."""
        return self.left or self.right

    @property
    def frontal(self) -> tuple[PhotoAnalysis, ...]:
        """The front and back photos given."""
        return tuple(p for p in (self.front, self.back) if p is not None)

    def photo(self, slot: str) -> PhotoAnalysis | None:
        return getattr(self, slot) if slot in SLOTS else None

    def filed(self, given: Mapping[str, T]) -> dict[str, T]:
        """What the caller keyed by the slots it gave the photos in (their bytes, file names),
        keyed by the slots the photos were analysed in: how a visit's photos are stored.
        A key already naming the analysed slot is kept."""
        out = {}
        for p in self.photos:
            key = p.given_as if p.given_as in given else p.slot
            if key in given:
                out[p.slot] = given[key]
        return out

    @property
    def metrics(self) -> tuple[MetricResult, ...]:
        """Every photo's metrics, then the combined ones; each knows its slot."""
        return tuple(m for p in self.photos for m in p.metrics) + self.combined

    def all_findings(self) -> tuple[Finding, ...]:
        """The visit's findings, then each photo's, named by photo ("Left side photo: ...")."""
        return self.findings + self.combined_findings + tuple(
            Finding(f.code, f"{slot_title(p.slot)}: {f.message}")
            for p in self.photos for f in p.findings)

    def metric(self, metric_id: str, slot: str | None = None) -> MetricResult:
        """The first result of the metric (in the given slot, if one is given)."""
        for m in self.metrics:
            if m.metric == metric_id and (slot is None or m.slot == slot):
                return m
        raise KeyError(metric_id if slot is None else f"{metric_id} ({slot})")

    def rows(self) -> list[dict]:
        """The tidy table: one dict per metric and slot, keys in TABLE_COLUMNS order."""
        out = []
        visit = self.findings + self.combined_findings
        sources = [(p.metrics, p.view.view, p.name, p.landmarks.passes,
                    findings_text(f.message for f in visit + p.findings)) for p in self.photos]
        if self.combined:  # rows of two photos: named by both, with the visit's findings
            for slot in dict.fromkeys(m.slot for m in self.combined):
                pair = [p for p in self.photos if p.slot in _COMBINED_FROM[slot]]
                sources.append((tuple(m for m in self.combined if m.slot == slot),
                                "side" if slot in ("sides", "left-right") else "front",
                                " + ".join(p.name for p in pair),
                                min(p.landmarks.passes for p in pair),
                                findings_text(f.message for f in visit)))
        for metrics, view, image, passes, findings in sources:
            for m in metrics:
                out.append({
                    "subject": self.subject,
                    "slot": m.slot,
                    "view": view,
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
                    "image": image,
                    "passes": passes,
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
            photo = replace(photo, anatomical_points=PointMap(points))
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
        return self._with(slot, replace(photo, anatomical_points=PointMap(points)))

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
        photo = self.side if slot == ANY_SIDE else self.photo(slot)
        if photo is None:
            raise InputError(f"there is no {slot} photo to edit")
        return photo

    def _with(self, slot: str, photo: PhotoAnalysis) -> Assessment:
        ranges = load_ranges(self.options.reference_ranges)
        photo = replace(photo, metrics=_metrics_for(photo, self.options, ranges))
        return replace(self, **{photo.slot: photo}).recombined(ranges)

    def recombined(self, ranges: dict[str, ReferenceRange] | None = None) -> Assessment:
        """The combined measures and their findings made anew from the photos' metrics."""
        ranges = load_ranges(self.options.reference_ranges) if ranges is None else ranges
        detectable = load_detectable_changes()
        combined: tuple[MetricResult, ...] = ()
        if self.left and self.right:
            combined += both_sides(self.left.metrics, self.right.metrics, ranges, detectable,
                                   (self._level(self.left, ranges),
                                    self._level(self.right, ranges)))
        if self.front and self.back:
            combined += front_and_back(self.front.metrics, self.back.metrics, detectable,
                                       (self._level(self.front, ranges),
                                        self._level(self.back, ranges)))
        said = tuple(Finding(d.code, d.message) for d in disagreements(combined))
        return replace(self, combined=combined, combined_findings=said)

    def _level(self, p: PhotoAnalysis, ranges: dict[str, ReferenceRange]) -> Level:
        """How well the photo's vertical is known, and each measure's move per degree of
        camera roll (the metrics measured again against a vertical turned by 1 deg)."""
        roll = p.roll
        if p.roll_applied is not None:
            sd = _LEVEL_SD.get(roll.method if roll else "", _LEVEL_SD["lines"])
        elif roll is not None and roll.degrees is not None and \
                roll.confidence >= ROLL_MIN_CONFIDENCE:
            sd = math.hypot(roll.degrees, _LEVEL_SD["lines"])   # known, left uncorrected
        else:
            sd = None
        turned = compute_metrics(p.landmarks, _frame(p.view), ranges=ranges,
                                 cm_per_px=p.cm_per_px, roll_degrees=(p.roll_applied or 0.0) + 1,
                                 min_visibility=self.options.min_visibility,
                                 points=p.anatomical_points)
        before = {m.metric: m.value for m in p.metrics if m.value is not None}
        return Level(sd, {m.metric: m.value - before[m.metric] for m in turned
                          if m.value is not None and m.metric in before})


#: SD (deg) of a photo's corrected vertical, by how it was found: straight edges (the roll
#: estimate's confidence is its chance of being within 0.5 deg), the device's sensor at the
#: shutter (phones' tilt sensors read to a few tenths of a degree), two clicks on a door frame
#: (a pixel each over a few hundred). Screening assumptions, not calibrated.
_LEVEL_SD = {"lines": 0.5, "device": 0.5, "manual": 0.3}

# Which photo slots each combined slot is made from.
_COMBINED_FROM = {"sides": SIDE_SLOTS, "left-right": SIDE_SLOTS, "front-back": ("front", "back")}


_round = stored  # the one rounding rule (posture.numbers)


def _frame(view: ViewClass) -> Frame:
    if view.view == "side":
        return Frame(view="side", forward=view.forward)
    return Frame(view=view.view, lateral=1 if view.left_on_image_right else -1)


def _expected_group(slot: str) -> tuple[str, ...]:
    """The views a slot's metrics can be measured on: the frontal measures read the same, in the
    patient's frame, from the front or the back; the sagittal ones from either side."""
    return ("side",) if slot in SIDE_SLOTS else ("front", "back")


def _slot_of_view(view: ViewClass) -> str | None:
    """The slot a view belongs in: a side view by the way the patient faces (facing image
    right shows the right side, in a photo that is not mirrored); None for an oblique view."""
    if view.view == "side":
        return "right" if view.forward > 0 else "left"
    return view.view if view.view in ("front", "back") else None


def _metrics_for(p: PhotoAnalysis, options: AnalysisOptions,
                 ranges: dict[str, ReferenceRange]) -> tuple[MetricResult, ...]:
    group = "side" if p.slot in SIDE_SLOTS else "front"
    if p.view.view not in _expected_group(p.slot):
        detail = f"the {slot_title(p.slot).lower()} is a {p.view.view} view"
        out = tuple(not_measured(m, STATUS_WRONG_VIEW, detail, p.cm_per_px, ranges.get(m.id))
                    for m in METRICS if m.view == group)
    else:
        out = compute_metrics(p.landmarks, _frame(p.view), ranges=ranges, cm_per_px=p.cm_per_px,
                              roll_degrees=p.roll_applied, min_visibility=options.min_visibility,
                              points=p.anatomical_points)
    return tuple(replace(m, slot=p.slot) for m in out)


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
    return PointMap(dict(pts))


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
    given_as: str = ""   # the slot it was given in, once filed in another (_placed)


def _detect(slot: str, source, options: AnalysisOptions, detector: PoseDetector,
            name: str | None, started: list[SceneWork]) -> _Detected:
    photo = source if isinstance(source, Photo) else load_photo(source, name=name)
    scene = SceneWork(photo.rgb, detector)
    started.append(scene)
    try:
        detection = detect_landmarks(photo.rgb, detector, passes=options.passes,
                                     scale=photo.scale)
    except NoPersonError as exc:
        raise NoPersonError(f"{slot_title(slot)} ({photo.name}): {exc}") from None
    try:
        check_upright(detection.landmarks)
    except OrientationError as exc:
        raise OrientationError(f"{slot_title(slot)} ({photo.name}): {exc}") from None
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
                                f"upload a {slot_title(slot).lower()} ({view.reason})."))
    elif _slot_of_view(view) != slot:
        shows = slot_title(_slot_of_view(view)).lower().removesuffix(" photo")
        findings.append(Finding("wrong_view", f"It looks like a {shows} view, not the "
                                f"{slot_title(slot).lower().removesuffix(' photo')} the slot "
                                "is for: its measures are kept, named by the slot given."))
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
                      findings=tuple(findings), metrics=(), anatomical_points=points,
                      given_as=detected.given_as)
    metrics = _metrics_for(p, options, ranges)
    imprecise = precision_finding([m.uncertainty for m in metrics if m.unit == "deg"
                                   and m.value is not None], extent.height_px)
    if imprecise:
        findings.append(imprecise)
    return replace(p, metrics=metrics, findings=tuple(findings))


def _placed(detected: dict[str, _Detected]) -> tuple[dict[str, _Detected], list[Finding]]:
    """Each photo into the slot its view belongs in, where that slot is free: a side photo
    given without its side (ANY_SIDE) always, a photo in the wrong slot when moving it takes
    no other photo's place (photos given in swapped slots trade places). Said in a finding."""
    wants = {slot: _slot_of_view(classify_view(d.detection.landmarks))
             for slot, d in detected.items()}
    placed: dict[str, _Detected] = {}
    moved = []
    for slot, d in detected.items():
        target = wants[slot]
        # Free: not given, or given a photo that itself belongs elsewhere.
        free = target is not None and target not in placed and (
            target not in detected or wants[target] not in (target, None))
        if target != slot and free:
            placed[target] = replace(d, given_as=slot)
            if slot != ANY_SIDE or target not in SIDE_SLOTS:   # "side" to a side: as asked
                moved.append(f"the {slot} photo shows the {target}"
                             + ("" if target in ("front", "back") else " side"))
        elif slot == ANY_SIDE:
            # An oblique or frontal photo given as "a side photo", or both sides taken:
            # into the first side slot free, where the view check speaks of it.
            free_side = next((s for s in SIDE_SLOTS if s not in placed and s not in detected),
                             None)
            if free_side is None:   # check_given let it by: a photo of another slot is a side
                raise InputError("a side photo was given beside two photos showing the left "
                                 "and the right side: give at most one photo per slot")
            placed[free_side] = replace(d, given_as=slot)
        elif slot in placed:  # its own slot was taken by a photo that belongs there
            raise InputError(f"two photos show the {slot} view: give one photo per view")
        else:
            placed[slot] = d
    findings = [Finding("views_swapped", "Photos were given in the wrong slots ("
                        + "; ".join(moved) + "): each was analysed as the view it shows.")
                ] if moved else []
    return {slot: placed[slot] for slot in SLOTS if slot in placed}, findings


#: How a one-line message names a slot's photo ("the left side photo").
_SLOT_WORDS = {"front": "front", "back": "back", "left": "left side", "right": "right side",
               ANY_SIDE: "side"}


def check_given(photos: Mapping[str, object]) -> None:
    """Refuse, before any photo is read, what cannot be one visit's photos: none at all, one
    file in two slots, or a side photo (ANY_SIDE) beside both a left and a right one (it is
    filed as one of them). `analyze` runs it first; the CLI and batch run it on their own
    (before a record is opened or a batch starts) and add where the photos came from.

    photos: slot (one of SLOTS or ANY_SIDE) -> a photo as `analyze` takes it. A file is known
    by its path (its real path: a link and its target are one file); bytes and loaded photos
    are not compared, as a clinic may well take two alike.

    Raises InputError with one line the clinician can act on."""
    if not photos:
        raise InputError("give at least one photo: front, back, left side or right side")
    seen: dict[str, str] = {}
    for slot, source in photos.items():
        if not isinstance(source, (str, os.PathLike)):
            continue
        other = seen.setdefault(os.path.realpath(source), slot)
        if other != slot:
            name = _CONTROL.sub(" ", os.path.basename(os.fspath(source)))[:60]
            raise InputError(f"'{name}' is given as both the {_SLOT_WORDS.get(other, other)} "
                             f"and the {_SLOT_WORDS.get(slot, slot)} photo: give each photo "
                             "once, in the slot of the view it shows")
    if ANY_SIDE in photos and all(s in photos for s in SIDE_SLOTS):
        raise InputError("a side photo is given beside both a left and a right side photo, "
                         "and would be filed as one of them: give at most one photo per slot")


def analyze(front=None, side=None, options: AnalysisOptions | None = None, *,
            back=None, left=None, right=None, detector: PoseDetector | None = None,
            names: Mapping[str, str] | None = None, front_name: str | None = None,
            side_name: str | None = None) -> Assessment:
    """Analyse a visit's photos: any of front, back, left side and right side.

    Args:
        front, back, left, right: a path, the file's bytes, or a loaded `Photo`; each may be
            None. "left" is the patient's left side toward the camera.
        side: a side photo without saying which side: filed as left or right by the way the
            patient faces.
        options: `AnalysisOptions`; defaults if None.
        detector: a `PoseDetector`; the process-wide MediaPipe pool if None.
        names: slot -> the photo's file name, for bytes (front_name, side_name: the same).

    Raises:
        ImageError: a photo cannot be read. NoPersonError: nobody in a photo.
        InputError: no photo given, one file in two slots, a side photo beside both sides
            (`check_given`, before any photo is read), bad options / reference-range file, or
            two photos of one view.

    A photo in the wrong slot moves to the slot of the view it shows when that slot is free
    (a finding says so); any other mismatch is a "wrong_view" finding, and a frontal slot
    holding a side view (or the reverse) marks that photo's metrics "wrong_view".
    """
    from posture import __version__

    options = options or AnalysisOptions()
    given = {slot: source for slot, source in (("front", front), ("back", back),
                                               ("left", left), ("right", right),
                                               (ANY_SIDE, side)) if source is not None}
    check_given(given)
    names = {**({"front": front_name} if front_name else {}),
             **({ANY_SIDE: side_name} if side_name else {}), **(names or {})}
    if detector is None:
        from posture.landmarks.mediapipe_pose import default_detector

        detector = default_detector()
    one_blas_thread()
    ranges = load_ranges(options.reference_ranges)
    started: list[SceneWork] = []
    try:
        detected = {}
        for slot, source in given.items():
            detected[slot] = _detect(
                slot, source, options, detector,
                names.get(slot) or (os.path.basename(source)
                                    if isinstance(source, (str, os.PathLike)) else None),
                started)
        detected, findings = _placed(detected)
        photos = {slot: _analyse_photo(slot, d, options, detector, ranges)
                  for slot, d in detected.items()}
    finally:
        for scene in started:  # after an error (no person, say): not started, not needed
            scene.cancel()
    return Assessment(subject=options.subject, options=options, findings=tuple(findings),
                      posture_version=__version__, **photos).recombined(ranges)
