"""Front and back views: acromions, waist and trochanters on the person's outline.

Every point is found in the body's own frame, built from the pose landmarks: `up` runs from the
mid-hip to the mid-shoulder point (trunk length T), `lateral` toward the patient's left. The
outline is the 0.5 level of the segmentation probability, read by bilinear interpolation along
scan lines of that frame, so a rotated photo gives the rotated points and a mirrored photo
(mirrored mask, mirrored landmarks) the mirrored points.

Definitions (patient's side S, heights as fractions of T above the hip line):
- acromion_S: the top-lateral corner of the shoulder outline: the outline point furthest out
  along the bisector of `up` and the arm's outward normal (45 deg up-and-out for a hanging
  arm). On a rounded shoulder this is the point whose outline turns through that direction.
- waist_S: the narrowest point of the trunk outline on side S between heights 0.15 and 0.65
  (above the iliac crest, below the lower ribs): the vertex of a parabola fitted to the trunk's
  half-width over that band. Needs a gap between arm and trunk (else the outline there is the
  arm's).
- trochanter_S: the widest point of the hip outline on side S between heights -0.40 and 0.15:
  the vertex of a parabola fitted to the hip's half-width over that band.
- waist_arm_S: the arm's inner edge on the waist's own scan line: the far side of the waist
  triangle (the gap between arm and trunk), whose width is waist_arm_S - waist_S.
- asis_S, psis_S: never found here (no outline shows them): always not_visible, saying to
  place them by hand on the view that shows them.

A point is `not_visible`, with the reason, when: the arm touches the trunk or hip on that side
(no gap), the outline lies far outside the skeleton (loose clothing, a jacket, hair), there is
no waist curve (the outline is straight) or it is too flat to place the extremum within
MAX_ALONG_SD of the height, the shoulder shows two corners (a hood, a collar, hair), the arm is
raised too far for a shoulder corner, or the mask is broken (the trunk is not inside it, or it
runs off into the background). It is `out_of_frame` when the outline there touches the
photo's edge. Mirrored photos give exactly mirrored points (symmetric scan grids).

Limits, with their reasons (anatomy of adults; METRICS.md):
- The outline corner is the skin (or cloth) over the acromion and deltoid, not the bone: it
  sits lateral to and above the acromion a skin marker would show. Fitted clothes and hair
  tied up are part of the photo protocol (README).
- The greater trochanter sits about level with the hip joint; the hip outline's widest point
  includes the soft tissue of the buttock and thigh, a few cm lower in many people.
"""

from __future__ import annotations

import math

import numpy as np

from posture.landmarks.quality import EYE_HEIGHT_FRACTION
from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import Landmark as L
from posture.outline.points import (
    FRONT_POINTS,
    MANUAL_POINTS,
    STATUS_NOT_VISIBLE,
    STATUS_OUT_OF_FRAME,
    AnatomicalPoint,
    found,
    missing,
)

# Height bands (fractions of the hip-to-shoulder landmark distance T above the hip line).
# Adult proportions: the iliac crest lies about 0.2 T above the hip joints, the lower ribs
# about 0.6 T; the greater trochanter about level with the hip joint.
WAIST_BAND = (0.15, 0.65)
TROCHANTER_BAND = (-0.40, 0.15)
# Scan steps along each line, in working pixels; rows per band.
STEP = 0.5
ROWS = 41
# A band must be readable (a gap between arm and trunk, no hand on the hip) on at least this
# share of its rows, and on both sides of the extremum, for a parabola to be trusted.
MIN_VALID_SHARE = 0.6
# Loose clothing: the outline's distance from the skeleton, in units of the landmark shoulder
# width W (glenohumeral centres, about 30 cm in adults). Fitted clothes put the shoulder corner
# about 0.15-0.25 W from the joint centre (humeral head and deltoid, 4-6 cm); the trunk's half
# width at the waist about 0.5 W; the hips' about 0.6 W. Beyond these the outline is cloth.
MAX_ACROMION_REACH = 0.42
MAX_WAIST_HALF_WIDTH = 0.80
MAX_HIP_HALF_WIDTH = 0.95
# A waist or hip extremum is dropped when the outline is so flat that its position along it
# has an SD above this share of the standing height. The consistency target is 1 %;
# the SD here is the flatness range (where the parabola stays within an edge SD of its
# extremum), and rotated copies of the sample photos moved such points by up to about that.
MAX_ALONG_SD = 0.015
# Beyond this arm abduction (deg from hanging) the shoulder top runs into the arm: no corner.
MAX_ARM_ABDUCTION = 70.0
# Position SD of an outline edge, working pixels: the mask is upsampled from the model's
# 256 px output, about a working pixel at the usual working size.
EDGE_SD = 1.0

_SIDES = {1: "left", -1: "right"}
_LM = {
    1: dict(shoulder=L.LEFT_SHOULDER, elbow=L.LEFT_ELBOW, wrist=L.LEFT_WRIST,
            index=L.LEFT_INDEX, pinky=L.LEFT_PINKY, hip=L.LEFT_HIP),
    -1: dict(shoulder=L.RIGHT_SHOULDER, elbow=L.RIGHT_ELBOW, wrist=L.RIGHT_WRIST,
             index=L.RIGHT_INDEX, pinky=L.RIGHT_PINKY, hip=L.RIGHT_HIP),
}


def _sample(padded: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear mask value at continuous points (..., 2) (pixel centres at +0.5); 0 outside.
    `padded`: the mask with a ring of zeros around it (no bounds checks needed)."""
    h, w = padded.shape[0] - 2, padded.shape[1] - 2
    x = np.clip(pts[..., 0] - 0.5, -1.0, w) + 1.0
    y = np.clip(pts[..., 1] - 0.5, -1.0, h) + 1.0
    x0 = np.minimum(np.floor(x), w).astype(np.intp)
    y0 = np.minimum(np.floor(y), h).astype(np.intp)
    fx, fy = x - x0, y - y0
    top = padded[y0, x0] * (1 - fx) + padded[y0, x0 + 1] * fx
    bottom = padded[y0 + 1, x0] * (1 - fx) + padded[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _crossings(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per scan line (rows of `values`): the first outward 0.5 crossing (in steps, interpolated;
    NaN if the line starts outside or never leaves) and the first re-entry after it (NaN: none)."""
    inside = values >= 0.5
    n, m = values.shape
    first_out = np.full(n, np.nan)
    re_entry = np.full(n, np.nan)
    for i in range(n):
        if not inside[i, 0]:
            continue
        outs = np.flatnonzero(~inside[i])
        if outs.size == 0:
            continue
        j = outs[0]
        a, b = values[i, j - 1], values[i, j]
        first_out[i] = j - 1 + (a - 0.5) / (a - b)
        ins = np.flatnonzero(inside[i, j:])
        if ins.size:
            k = j + ins[0]
            a, b = values[i, k - 1], values[i, k]
            re_entry[i] = k - 1 + (0.5 - a) / (b - a)
    return first_out, re_entry


def _vertex(s: np.ndarray, r: np.ndarray, want: str):
    """Parabola r = a s^2 + b s + c fitted to (s, r): vertex (s*, r*), curvature a and the fit's
    residual SD; None unless it is a minimum ("min") / maximum ("max") inside the samples."""
    if s.size < 5:
        return None
    a, b, c = np.polyfit(s, r, 2)
    if (want == "min" and a <= 0) or (want == "max" and a >= 0):
        return None
    sv = -b / (2 * a)
    if not s.min() < sv < s.max():
        return None
    resid = r - np.polyval((a, b, c), s)
    return float(sv), float(np.polyval((a, b, c), sv)), float(a), float(np.std(resid))


class _Frame:
    """The body frame in working pixels."""

    def __init__(self, xy: np.ndarray, lateral: int):
        self.xy = xy
        self.hip = (xy[L.LEFT_HIP] + xy[L.RIGHT_HIP]) / 2
        shoulder = (xy[L.LEFT_SHOULDER] + xy[L.RIGHT_SHOULDER]) / 2
        self.trunk = float(np.linalg.norm(shoulder - self.hip))
        self.up = (shoulder - self.hip) / self.trunk
        # Patient's left: +x in a front photo (lateral +1) when upright.
        self.left = lateral * np.array([-self.up[1], self.up[0]])
        self.width = float(np.linalg.norm(xy[L.LEFT_SHOULDER] - xy[L.RIGHT_SHOULDER]))
        # Standing height, px: the eyes-to-feet span along `up` over the eyes' share of it.
        along = (xy - self.hip) @ self.up
        self.stature = float(np.ptp(along)) / EYE_HEIGHT_FRACTION

    def body(self, p: np.ndarray, side: int) -> tuple[float, float]:
        """(t, s): outward distance on `side` (px) and height above the hip line (fraction T)."""
        d = p - self.hip
        return float(side * d @ self.left), float(d @ self.up / self.trunk)

    def arm_at(self, side: int, s: float) -> float | None:
        """Outward distance of the arm's axis (shoulder-elbow-wrist-fingertips) at height s, or
        None when the arm does not reach that height."""
        lm = _LM[side]
        hand = (self.xy[lm["index"]] + self.xy[lm["pinky"]]) / 2
        tip = hand + 0.6 * (hand - self.xy[lm["wrist"]])  # fingers beyond the knuckles
        chain = [self.xy[lm["shoulder"]], self.xy[lm["elbow"]], self.xy[lm["wrist"]], hand, tip]
        pts = [self.body(p, side) for p in chain]
        best = None
        for (t0, s0), (t1, s1) in zip(pts, pts[1:]):
            if min(s0, s1) <= s <= max(s0, s1) and s0 != s1:
                t = t0 + (s - s0) / (s1 - s0) * (t1 - t0)
                best = t if best is None else min(best, t)
        return best


def _not(name: str, reason: str, status: str = STATUS_NOT_VISIBLE) -> AnatomicalPoint:
    return missing(name, reason, status)


def _point(name: str, found_at, scale: float, shape: tuple[int, int]) -> AnatomicalPoint:
    """An ok point from (position, across-outline unit normal, SD across, SD along, ...),
    working pixels; the SDs become per-axis SDs in photo pixels."""
    p, normal, sd_across, sd_along = found_at[:4]
    h, w = shape
    if not (1.0 <= p[0] <= w - 1.0 and 1.0 <= p[1] <= h - 1.0):
        return _not(name, "the outline there touches the photo's edge", STATUS_OUT_OF_FRAME)
    along = np.array([-normal[1], normal[0]])
    cov = sd_across ** 2 * np.outer(normal, normal) + sd_along ** 2 * np.outer(along, along)
    sd_x, sd_y = math.sqrt(cov[0, 0]) * scale, math.sqrt(cov[1, 1]) * scale
    return found(name, p[0] * scale, p[1] * scale, sd_x, sd_y)


def _second_top(h: np.ndarray, lo: int, hi: int, level: float) -> bool:
    """Whether the outline has another peak, outside the top's run lo..hi, reaching `level`
    with a dip of at least a pixel between (two candidate corners)."""
    for i in range(1, len(h) - 1):
        if lo - 1 <= i <= hi + 1 or not np.isfinite(h[i]) or h[i] < level:
            continue
        if h[i] >= np.nan_to_num(h[i - 1], nan=-np.inf) and h[i] >= np.nan_to_num(
                h[i + 1], nan=-np.inf):
            between = h[min(i, lo):max(i, hi) + 1]
            if np.nanmin(between) < h[i] - 1.0:
                return True
    return False


def _acromion(mask, f: _Frame, side: int, name: str) -> AnatomicalPoint | tuple:
    lm = _LM[side]
    shoulder = f.xy[lm["shoulder"]]
    arm = f.xy[lm["elbow"]] - shoulder
    arm_len = float(np.linalg.norm(arm))
    if arm_len == 0:
        return _not(name, "the arm's landmarks coincide")
    arm /= arm_len
    abduction = math.degrees(math.acos(float(np.clip(-arm @ f.up, -1, 1))))
    if abduction > MAX_ARM_ABDUCTION:
        return _not(name, "the arm is raised: the shoulder outline has no corner; "
                    "photograph with the arms hanging")
    out = side * f.left
    normal = np.array([-arm[1], arm[0]])
    if normal @ (f.up + out) < 0:
        normal = -normal
    d = f.up + normal
    d /= np.linalg.norm(d)
    e = np.array([-d[1], d[0]])
    reach = f.width * 0.6
    # A grid symmetric about the shoulder landmark: the mirrored photo scans the mirrored lines
    # (e turns to -e's mirror image there), so mirrored points come out exactly mirrored.
    half_n = int(0.3 * f.width)
    qs = np.arange(-half_n, half_n + 1, dtype=float)
    rs = np.arange(0.0, reach, STEP)
    pts = shoulder + qs[:, None, None] * e + rs[None, :, None] * d
    if _sample(mask, shoulder[None])[0] < 0.5:
        return _not(name, "the person's outline is broken at the shoulder (busy background?)")
    values = _sample(mask, pts)
    first, _ = _crossings(values)
    h = first * STEP
    if not np.isfinite(h).any():
        return _not(name, "the outline runs off into the background at the shoulder")
    k = int(np.nanargmax(h))
    top = h[k]
    # A line that starts inside and never leaves within the scan: the outline lies further out.
    endless = (values[:, 0] >= 0.5) & ~np.isfinite(first)
    if top > MAX_ACROMION_REACH * f.width or endless.any():
        return _not(name, "the shoulder outline lies far outside the skeleton (loose "
                    "clothing, a jacket or hair): wear fitted clothes, hair up")
    # The corner: vertex of a parabola over the outline within 1 px (or 1 % W) of the top.
    near = np.isfinite(h) & (h >= top - max(1.0, 0.01 * f.width))
    lo, hi = k, k
    while lo > 0 and near[lo - 1]:
        lo -= 1
    while hi < len(h) - 1 and near[hi + 1]:
        hi += 1
    if lo == 0 or hi == len(h) - 1 or not (np.isfinite(h[lo - 1]) and np.isfinite(h[hi + 1])):
        return _not(name, "no shoulder corner in the outline (arm or clothing hides it)")
    if _second_top(h, lo, hi, top - max(3.0, 0.015 * f.width)):
        return _not(name, "two shoulder corners in the outline (a hood, collar or hair): "
                    "place the acromion by hand")
    lo, hi = max(0, lo - 2), min(len(h) - 1, hi + 2)
    q_fit, h_fit = qs[lo:hi + 1], h[lo:hi + 1]
    ok = np.isfinite(h_fit)
    fit = _vertex(q_fit[ok], h_fit[ok], "max")
    if fit is None:
        qv, hv, slide = float(qs[k]), float(top), (hi - lo) / 2.0
    else:
        qv, hv, a, resid = fit
        slide = math.sqrt(1.0 / abs(a)) if a else (hi - lo) / 2.0
        slide = min(slide, (hi - lo) / 2.0)
    return shoulder + qv * e + hv * d, d, EDGE_SD, slide / 2.0


def _band(mask, f: _Frame, side: int, band: tuple[float, float], limit: float):
    """Per row of a band: heights s, outward trunk edge (px) and whether the row is readable
    (a gap between the arm and the trunk, or no arm at that height)."""
    s = np.linspace(band[0], band[1], ROWS)
    out = side * f.left
    # Scan from the midline, or below the hip line from the hip landmark (inside the thigh:
    # the midline there may fall between the legs).
    start = np.where(s < 0, max(0.0, f.body(f.xy[_LM[side]["hip"]], side)[0]), 0.0)
    origins = f.hip + (s * f.trunk)[:, None] * f.up + start[:, None] * out
    rs = np.arange(0.0, limit * f.width * 1.6, STEP)
    values = _sample(mask, origins[:, None, :] + rs[None, :, None] * out)
    first, again = _crossings(values)
    edge = start + first * STEP
    again = start + again * STEP
    readable = np.zeros(ROWS, dtype=bool)
    for i, si in enumerate(s):
        if not np.isfinite(edge[i]):
            continue
        arm = f.arm_at(side, float(si))
        if arm is None:
            readable[i] = True
        else:
            # The arm crosses this row: the trunk edge must lie inside the arm's axis and a gap
            # (the mask re-entering at the arm) must follow it.
            readable[i] = bool(edge[i] < arm and np.isfinite(again[i])
                               and again[i] < arm + 0.5 * f.width)
    return s, edge, readable, origins


def _profile_point(mask, f: _Frame, side: int, name: str, band, want: str, limit: float,
                   what: str) -> AnatomicalPoint | tuple:
    s, edge, readable, origins = _band(mask, f, side, band, limit)
    if not np.isfinite(edge).any():
        return _not(name, f"the person's outline is broken at the {what} (busy background?)")
    if np.nanmedian(edge) > limit * f.width:
        return _not(name, f"the outline at the {what} lies far outside the skeleton (loose "
                    "clothing or a jacket): wear fitted clothes")
    if np.count_nonzero(readable) < MIN_VALID_SHARE * ROWS:
        touching = np.isfinite(edge) & ~readable
        if np.count_nonzero(touching) > 0:
            return _not(name, f"the arm or hand touches the {what}: no gap between arm and "
                        "trunk; photograph with the arms slightly away from the body")
        return _not(name, f"the outline at the {what} cannot be read")
    ok = readable & np.isfinite(edge)
    fit = _vertex(s[ok], edge[ok], want)
    if fit is None:
        shape = "narrowest" if want == "min" else "widest"
        return _not(name, f"no {shape} point: the {what} outline is straight in this photo")
    sv, ev, a, resid = fit
    # Both sides of the vertex must be readable rows: no extrapolated extremum.
    if not (np.any(s[ok] < sv - 0.05) and np.any(s[ok] > sv + 0.05)):
        return _not(name, f"the arm or hand hides part of the {what}")
    # Height SD: where the parabola rises by the edge's own SD (a flat curve: a wide range).
    ds = math.sqrt(math.hypot(EDGE_SD, resid) / abs(a))  # in units of T
    if ds * f.trunk / 2 > MAX_ALONG_SD * f.stature:
        shape = "narrowest" if want == "min" else "widest"
        return _not(name, f"the {what} outline is too straight to place its {shape} point "
                    f"within {100 * MAX_ALONG_SD:g} % of the height: place it by hand")
    p = f.hip + sv * f.trunk * f.up + ev * side * f.left
    return p, side * f.left, math.hypot(EDGE_SD, resid), ds * f.trunk / 2, sv


def _waist_arm(mask, f: _Frame, side: int, name: str, waist) -> AnatomicalPoint | tuple:
    """The arm's inner edge on the waist's own scan line: where the mask re-enters after the
    trunk's edge (the waist triangle's far side)."""
    if isinstance(waist, AnatomicalPoint):
        return _not(name, waist.reason, waist.status)
    p, normal, sd_across, sd_along, _ = waist
    arm = f.arm_at(side, f.body(p, side)[1])
    if arm is None:
        return _not(name, "the arm is not beside the waist (raised): no waist triangle; "
                    "photograph with the arms hanging")
    rs = np.arange(0.0, 0.5 * f.width + arm - f.body(p, side)[0], STEP)
    values = _sample(mask, (p + STEP * normal)[None, None, :] + rs[None, :, None] * normal)
    values[0, 0] = 0.0  # the scan starts in the gap, just outside the trunk's edge
    ins = np.flatnonzero(values[0] >= 0.5)
    if ins.size == 0:
        return _not(name, "no arm beside the waist in the outline")
    k = ins[0]
    a, b = values[0, k - 1], values[0, k]
    q = p + STEP * normal + (k - 1 + (0.5 - a) / (b - a)) * STEP * normal
    return q, normal, EDGE_SD, sd_along


def frontal_points(mask: np.ndarray | None, scale: float, landmarks: PoseLandmarks,
                   lateral: int, rgb: np.ndarray | None = None) -> dict[str, AnatomicalPoint]:
    """The front or back photo's outline points, in photo pixels.

    Args:
        mask: person-segmentation probability (0..1) at the working size (`Detection.mask`);
            None gives every point not_visible.
        scale: photo pixels per working pixel (`Photo.scale`).
        landmarks: `PoseLandmarks` in photo pixels.
        lateral: +1 when the patient's left is image +x (front view), -1 (back view).
        rgb: the working image (unused so far: the mask's edge is used as it is).

    Returns {name: AnatomicalPoint} for every name in FRONT_POINTS (then MANUAL_POINTS, always
    not_visible: only a clinician's click places them), each with its SD per image
    axis: the mask edge's SD across the outline and the extremum's spread along it (a flat
    waist curve gives a large vertical SD).
    """
    del rgb  # reserved for sharpening the edge on the photo
    if mask is None:
        return _with_manual({n: _not(n, "no segmentation mask for this photo")
                             for n in FRONT_POINTS}, lateral)
    shape = np.shape(mask)
    mask = np.pad(np.asarray(mask, dtype=np.float64), 1)
    xy = np.asarray(landmarks.xy, dtype=np.float64) / scale
    f = _Frame(xy, lateral)
    out: dict[str, AnatomicalPoint] = {}
    if f.trunk < 10 or f.width < 5:
        return _with_manual({n: _not(n, "the body is too small in the photo")
                             for n in FRONT_POINTS}, lateral)
    for side, word in _SIDES.items():
        waist = _profile_point(mask, f, side, f"waist_{word}", WAIST_BAND, "min",
                               MAX_WAIST_HALF_WIDTH, "waist")
        found_at = {
            "acromion": _acromion(mask, f, side, f"acromion_{word}"),
            "waist": waist,
            "trochanter": _profile_point(mask, f, side, f"trochanter_{word}", TROCHANTER_BAND,
                                         "max", MAX_HIP_HALF_WIDTH, "hip"),
            "waist_arm": _waist_arm(mask, f, side, f"waist_arm_{word}", waist),
        }
        for kind, res in found_at.items():
            name = f"{kind}_{word}"
            out[name] = res if isinstance(res, AnatomicalPoint) else _point(
                name, res, scale, shape)
    return _with_manual({n: out[n] for n in FRONT_POINTS}, lateral)


def _with_manual(points: dict[str, AnatomicalPoint], lateral: int) -> dict[str, AnatomicalPoint]:
    """Add the points no outline shows (ASIS, PSIS): not_visible until placed by hand, on the
    view that shows them (ASIS from the front, PSIS from the back)."""
    for name in MANUAL_POINTS:
        front_mark = name.startswith("asis")
        if front_mark == (lateral > 0):
            reason = "no outline shows it: palpate, mark the skin and place it by hand"
        else:
            reason = ("it is on the " + ("front" if front_mark else "back")
                      + ": place it by hand on a " + ("front" if front_mark else "back")
                      + " photo")
        points[name] = _not(name, reason)
    return points
