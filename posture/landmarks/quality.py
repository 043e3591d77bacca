"""Is the photo usable? Body in frame, big enough, alone, and how tall it stands in pixels."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from posture.landmarks.detector import PoseDetector
from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import Landmark as L

# Head to feet: what must be inside the photo for the posture metrics to mean anything.
_HEAD = (L.NOSE, L.LEFT_EAR, L.RIGHT_EAR)
_FEET = (L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL)
_TORSO = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP)
# Below this fraction of the photo's height the body is a few hundred pixels on a phone photo
# and a landmark's pixel noise becomes a large angle.
MIN_BODY_FRACTION = 0.4
# A second detection whose torso is at least this fraction of the patient's is another person
# (a child or a poster far smaller is not a likely confusion for the detector).
SECOND_PERSON_MIN_SIZE = 0.3
# Drillis & Contini (1966) segment proportions: eye height is about 0.936 of stature.
EYE_HEIGHT_FRACTION = 0.936


@dataclass(frozen=True)
class Finding:
    """Something the clinician should know before trusting the numbers."""

    code: str      # stable identifier: body_cut_off, person_small, multiple_people, ...
    message: str   # one line, says what to do


@dataclass(frozen=True)
class BodyExtent:
    """The standing body's vertical extent in photo pixels (y down).

    method: "segmentation" (top and bottom of MediaPipe's person mask: includes hair and shoe
    soles, typically 1-3 % taller than stature) or "eye-height ratio" (heel-to-eye distance
    divided by 0.936, Drillis & Contini 1966; individual proportions vary by about +/-2 %).
    """

    top: float
    bottom: float
    method: str

    @property
    def height_px(self) -> float:
        return self.bottom - self.top


def _name(lm: L) -> str:
    return lm.name.lower().replace("_", " ")


def frame_findings(lm: PoseLandmarks, min_visibility: float) -> list[Finding]:
    """Body cut off, too small, landmarks of the torso not visible."""
    out = []
    w, h = lm.image_size
    cut = [p for p in _HEAD + _FEET if not lm.inside_image(p)]
    if cut:
        where = "head" if any(p in _HEAD for p in cut) else "feet"
        if any(p in _HEAD for p in cut) and any(p in _FEET for p in cut):
            where = "head and feet"
        out.append(Finding("body_cut_off", f"The body is cut off ({where} outside the photo): "
                           "step back so head to feet are in the frame."))
    else:
        feet_vis = [p for p in _FEET if lm.visibility[p] < min_visibility]
        if len(feet_vis) == len(_FEET):
            out.append(Finding("feet_not_visible", "The feet are not visible: photograph the "
                               "whole body, feet included, on a clear floor."))
    ys = lm.xy[:, 1]
    if (np.max(ys) - np.min(ys)) < MIN_BODY_FRACTION * h:
        out.append(Finding("person_small", "The person fills less than "
                           f"{MIN_BODY_FRACTION:.0%} of the photo's height: move the camera "
                           "closer (2-4 m) or zoom in; small bodies give noisy angles."))
    hidden = [p for p in _TORSO if lm.visibility[p] < min_visibility]
    if hidden:
        out.append(Finding("low_visibility", "Low landmark confidence at "
                           + ", ".join(_name(p) for p in hidden)
                           + ": loose clothing, shadow or occlusion; metrics using them are "
                           "not reported."))
    return out


def another_person(rgb: np.ndarray, working_xy: np.ndarray, detector: PoseDetector,
                   people_seen: int | None = None) -> bool:
    """True if a second person of comparable size is in the photo.

    MediaPipe Pose follows one person; a second one can pull its landmarks across. Hide the
    patient (their landmark box, widened) and look again.

    people_seen: how many people the detection's person detector saw (`RawPose.people`), when
        known. At most one: that is the patient, and the look again is skipped. More: the look
        again confirms or not (the person detector alone also fires on clutter now and then).
        Its one blind spot: two people so close that the detector merged them into one, which
        the look again could have told apart.
    """
    if people_seen is not None and people_seen < 2:
        return False
    h, w = rgb.shape[:2]
    x0, y0 = np.min(working_xy, axis=0)
    x1, y1 = np.max(working_xy, axis=0)
    pad = 0.15 * (y1 - y0)
    hidden = np.array(rgb, copy=True)
    hidden[max(0, int(y0 - 2 * pad)):min(h, int(y1 + pad)),
           max(0, int(x0 - pad)):min(w, int(x1 + pad))] = 127
    other = detector.detect(hidden)
    if other is None or np.mean(other.visibility[list(_TORSO)]) < 0.5:
        return False
    torso = lambda xy: np.linalg.norm((xy[L.LEFT_SHOULDER] + xy[L.RIGHT_SHOULDER]) / 2  # noqa: E731
                                      - (xy[L.LEFT_HIP] + xy[L.RIGHT_HIP]) / 2)
    return bool(torso(other.xy) >= SECOND_PERSON_MIN_SIZE * torso(working_xy))


def body_extent(lm: PoseLandmarks, mask: np.ndarray | None, scale: float) -> BodyExtent:
    """The body's top and bottom in photo pixels, from the segmentation mask when it is usable.

    mask: person probability at the working size (photo pixels / scale); None to use the ratio.
    """
    xy = lm.xy
    feet_y = float(np.max(xy[list(_FEET) + [L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX], 1]))
    if mask is not None:
        person = mask > 0.5
        # Only the columns of the body's own landmark span: another object's mask is ignored.
        x0 = max(0, int(np.min(xy[:, 0]) / scale) - 2)
        x1 = min(mask.shape[1], int(np.max(xy[:, 0]) / scale) + 3)
        rows = np.flatnonzero(person[:, x0:x1].any(axis=1))
        if rows.size:
            top = rows[0] * scale
            bottom = max((rows[-1] + 1) * scale, feet_y)
            eye_y = float(np.mean(xy[[L.LEFT_EYE, L.RIGHT_EYE], 1]))
            # A mask top below the eyes, or far above them, is not a head: fall back.
            if top < eye_y and (eye_y - top) < 0.25 * (bottom - top):
                return BodyExtent(top=float(top), bottom=float(bottom), method="segmentation")
    eye_y = float(np.mean(xy[[L.LEFT_EYE, L.RIGHT_EYE], 1]))
    stature = (feet_y - eye_y) / EYE_HEIGHT_FRACTION
    return BodyExtent(top=feet_y - stature, bottom=feet_y, method="eye-height ratio")


# A standing body's axis (mid-ankles to mid-shoulders, `views.body_axis`) off the camera's
# vertical by more than this is not normal sway. Measured on the 17 sample photos (default
# passes; tests/test_harden.py re-measures them): 12 front views within -2.5..+1.5 deg, 5 side
# views within -2.6..+1.9 deg, SD 1.4 deg over all 17; 3 deg is just above the largest and
# about 2 SD. Beyond it the camera is rolled or the patient leans, and a tilt reads the
# difference one for one (METRICS.md), so it is said before the tilts.
BODY_AXIS_WARNING_DEG = 3.0


def body_axis_finding(axis_deg: float, lower: str, roll_deg: float | None,
                      roll_applied: float | None) -> Finding | None:
    """A finding when the body axis is BODY_AXIS_WARNING_DEG or more off the vertical the tilts
    are measured against (the photo's edges, or the true vertical once a level is applied), and
    a known camera roll does not explain it; None otherwise.

    axis_deg: `views.body_axis`, counter-clockwise positive. roll_deg: the camera roll when
    known (straight lines agree, or marked by hand), else None. roll_applied: the roll the
    metrics were corrected by, or None.
    """
    residual = axis_deg - (roll_applied or 0.0)
    if lower != "ankles" or abs(residual) < BODY_AXIS_WARNING_DEG:
        return None  # the threshold holds for the whole standing body only: a trunk alone
        # (ankles hidden) leans several degrees in normal posture (side views up to 7.6)
    where = f"mid-{lower} to mid-shoulders"
    if roll_deg is not None:
        lean = axis_deg - roll_deg
        if abs(lean) < BODY_AXIS_WARNING_DEG:
            return None  # the camera's roll explains it (and camera_tilted says so)
        way = "left" if lean > 0 else "right"
        return Finding("body_leans", f"The patient leans {abs(lean):.0f} deg toward the "
                       f"image's {way} ({where}, against the true vertical): tilts include "
                       "that lean; ask the patient to stand evenly on both feet and retake.")
    way = "left" if residual > 0 else "right"
    return Finding("body_axis_tilted", f"The body's axis ({where}) is {abs(residual):.0f} deg "
                   f"off the photo's vertical, toward the image's {way}: the camera is rolled "
                   "or the patient leans, and tilts read that much off. Hold the camera level "
                   "(a door frame in view lets it be checked) or mark a true vertical, and have "
                   "the patient stand evenly.")


def level_unknown_finding(reason: str) -> Finding:
    """The photo's true vertical is not known: say so where the tilts are read."""
    why = reason.replace("; camera level unknown", "").strip() or "no straight lines found"
    return Finding("camera_level_unknown", f"Camera level unknown ({why}): tilts and leans are "
                   "measured against the photo's edges; mark a true vertical (a door frame) "
                   "to be sure.")


#: Between two findings in one CSV cell (a message may hold ";" and ":").
FINDINGS_SEPARATOR = " | "


def findings_text(messages) -> str:
    """The `findings` cell of a photo's rows: its findings' messages, in order, one line."""
    return FINDINGS_SEPARATOR.join(" ".join(str(m).split()) for m in messages)


# Above this median uncertainty (1 SD, deg) of a photo's angles, the borderline band (value +/-
# 2 uncertainties, `posture.metrics.compute.BORDERLINE_UNCERTAINTIES`) is at least +/-2 deg: as
# wide as the +/-2 deg screening ranges of the tilts, so no tilt can be called within or outside.
# The 152x317 sample photo's front angles have a median of 1.1 deg; every sample photo with the
# body 700 px tall or more, 0.2-0.4 deg (tests/test_harden.py).
LOW_RESOLUTION_UNCERTAINTY_DEG = 1.0


def precision_finding(angle_uncertainties: list[float], body_px: float) -> Finding | None:
    """A "low_resolution" finding when the median uncertainty of a photo's measured angles
    (degrees, one SD each) is above LOW_RESOLUTION_UNCERTAINTY_DEG; None otherwise."""
    values = [u for u in angle_uncertainties if u is not None and np.isfinite(u)]
    if not values:
        return None
    median = float(np.median(values))
    if median <= LOW_RESOLUTION_UNCERTAINTY_DEG:
        return None
    return Finding("low_resolution", f"The landmarks are too imprecise for the measures (angles "
                   f"+/-{median:.1f} deg typical, the body {body_px:.0f} px tall): the photo's "
                   "resolution or sharpness limits them, and no tilt can be called within or "
                   "outside its range; use a sharp photo with the body at least 700 px tall.")


# Words by which phone makers name the front (selfie) camera in the EXIF lens or model fields
# (e.g. Apple's LensModel "iPhone 13 front camera 2.71mm f/2.2").
_FRONT_CAMERA = re.compile(r"\b(front|selfie|facetime|user[- ]facing)\b", re.IGNORECASE)


def mirror_finding(camera: str) -> Finding | None:
    """A "mirror_possible" finding when the EXIF names a front (selfie) camera, whose photos
    many phones save mirrored (left and right swapped); None otherwise. Without such evidence
    every photo is assumed not mirrored (said on the page and in the PDF)."""
    if not camera or not _FRONT_CAMERA.search(camera):
        return None
    return Finding("mirror_possible", f"Taken with a front (selfie) camera ({camera}): many "
                   "phones save these mirrored, which swaps the patient's left and right; check "
                   "which side is which before reading any left/right result.")
