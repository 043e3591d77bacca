"""Annotated photos: landmarks, the lines each metric uses, a plumb line, readable labels.

Drawn on the working image (the photo downscaled to at most 1280 px), sized relative to it so
labels stay readable on a phone screen. Output is PNG bytes with no metadata (no EXIF, no GPS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from posture.assessment import PhotoAnalysis
from posture.images import strip_metadata_png
from posture.landmarks.vocabulary import MIRROR_ORDER, SKELETON
from posture.landmarks.vocabulary import Landmark as L
from posture.metrics.compute import FLAG_BORDERLINE, FLAG_OUTSIDE, STATUS_OK
from posture.numbers import value_text

# Colours (RGB).
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
CYAN, YELLOW, MAGENTA = (0, 200, 255), (255, 210, 0), (255, 0, 200)
GREEN, RED, ORANGE = (40, 220, 90), (235, 40, 40), (255, 140, 0)
MANUAL = (255, 90, 255)
# The smallest font scale a label keeps its full text at (Hershey simplex: about 7 px tall).
MIN_FONT = 0.28


@dataclass(frozen=True)
class LabelBox:
    """A label as drawn: its text and its box (left, top, right, bottom) in working pixels."""

    text: str
    box: tuple[int, int, int, int]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """The overlapping area of two boxes, in px^2 (0 when apart)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


class _Canvas:
    """The working image being annotated, with the placement rule for labels.

    Labels are placed last-come around what is already there: `keep_clear` registers a point
    no label may cover (a landmark or anatomical point a metric uses, in photo pixels) and
    every label placed is kept out of the next one's way. `label` tries its anchor first, then
    the other side of the anchor, then steps up and down, and draws at the first place inside
    the photo that covers nothing; if there is none, at the place that covers the least.
    """

    def __init__(self, rgb: np.ndarray, scale: float) -> None:
        self.img = np.array(rgb, copy=True)
        self.scale = scale
        h, w = self.img.shape[:2]
        self.unit = max(h, w) / 1000.0           # 1 at 1000 px
        self.thick = max(1, round(2 * self.unit))
        # About 2.5 % of the long side: readable when a portrait photo is shown phone-sized.
        self.font = 0.85 * max(self.unit, 0.35)
        self.dot_r = max(2, round(3 * self.unit))
        self.clear: list[tuple[int, int, int, int]] = []   # boxes around points to keep clear
        self.labels: list[LabelBox] = []

    def pt(self, xy) -> tuple[int, int]:
        x, y = np.asarray(xy) / self.scale
        return int(round(x)), int(round(y))

    def keep_clear(self, xy) -> None:
        """No label may cover this point (photo pixels) or its dot."""
        x, y = self.pt(xy)
        r = self.dot_r + max(1, round(2 * self.unit))
        self.clear.append((x - r, y - r, x + r, y + r))

    def line(self, a, b, colour, dashed=False, thick=None):
        thick = thick or self.thick
        pa, pb = np.array(self.pt(a), float), np.array(self.pt(b), float)
        if not dashed:
            cv2.line(self.img, tuple(map(int, pa)), tuple(map(int, pb)), colour, thick,
                     cv2.LINE_AA)
            return
        n = max(1, int(np.linalg.norm(pb - pa) / (12 * self.unit + 1)))
        for i in range(0, n, 2):
            s, e = pa + (pb - pa) * i / n, pa + (pb - pa) * min(i + 1, n) / n
            cv2.line(self.img, tuple(map(int, s)), tuple(map(int, e)), colour, thick, cv2.LINE_AA)

    def dot(self, xy, colour, r=None):
        cv2.circle(self.img, self.pt(xy), r or self.dot_r, colour, -1, cv2.LINE_AA)

    def _fit(self, text: str) -> tuple[str, float, int, int, int]:
        """Text, font scale, text width, height and baseline: the photo's font, smaller if the
        text would not fit across the photo; on a very narrow photo, without its words in
        brackets ("Head (CVA proxy)" -> "Head") before going below a readable size."""
        w = self.img.shape[1]
        short = re.sub(r" \([^)]*\)", "", text)
        for candidate, smallest in ((text, MIN_FONT), (short, 0.1)):
            font = self.font
            while True:
                (tw, th), base = cv2.getTextSize(candidate, cv2.FONT_HERSHEY_SIMPLEX, font,
                                                 self.thick)
                if tw + 8 <= w or font < smallest:
                    break
                font *= 0.9
            if tw + 8 <= w:
                break
        return candidate, font, tw, th, base

    def _candidates(self, x: int, y: int, tw: int, th: int, base: int, right_align: bool):
        """Baseline-left corners to try, best first: the anchor's side, the other side, then
        each stepped up and down by a label's height."""
        h, w = self.img.shape[:2]
        step = th + base + 6
        sides = [x - tw if right_align else x, x if right_align else x - tw]
        for k in range(0, 2 * (h // step) + 2):
            dy = (k + 1) // 2 * step * (1 if k % 2 else -1)
            for sx in sides:
                yield (int(np.clip(sx, 2, max(2, w - tw - 2))),
                       int(np.clip(y + dy, th + 2, h - base - 2)))

    def label(self, xy, text, colour, right_align=False) -> LabelBox:
        text, font, tw, th, base = self._fit(text)
        x, y = self.pt(xy)
        best, best_cost = None, None
        for cx, cy in self._candidates(x, y, tw, th, base, right_align):
            box = (cx - 2, cy - th - 2, cx + tw + 2, cy + base + 1)
            cost = (sum(_overlap(box, c) for c in self.clear)
                    + sum(_overlap(box, placed.box) for placed in self.labels))
            if best_cost is None or cost < best_cost:
                best, best_cost = (cx, cy, box), cost
            if cost == 0:
                break
        cx, cy, box = best
        cv2.rectangle(self.img, box[:2], box[2:], BLACK, -1)
        cv2.putText(self.img, text, (cx, cy), cv2.FONT_HERSHEY_SIMPLEX, font, colour,
                    self.thick, cv2.LINE_AA)
        placed = LabelBox(text, box)
        self.labels.append(placed)
        return placed


# Short names keep labels inside a portrait photo; the table beside it has the full names.
SHORT = {
    "head_tilt": "Head", "shoulder_tilt": "Shoulders", "pelvic_obliquity": "Pelvis",
    "trunk_lateral_lean": "Trunk", "knee_frontal_angle_left": "L knee",
    "knee_frontal_angle_right": "R knee", "forward_head_angle": "Head (CVA proxy)",
    "trunk_sagittal_lean": "Trunk", "knee_sagittal_angle": "Knee", "plumb_hip": "Hip-plumb",
}


def _value_text(p: PhotoAnalysis, metric_id: str) -> tuple[str, tuple[int, int, int]] | None:
    """Label text and colour (orange when outside its reference range, yellow when
    borderline)."""
    for m in p.metrics:
        if m.metric == metric_id and m.status == STATUS_OK:
            colour = {FLAG_OUTSIDE: ORANGE, FLAG_BORDERLINE: YELLOW}.get(m.flag, WHITE)
            value = value_text(m.value, sign=True)
            return f"{SHORT.get(metric_id, m.label)} {value} {m.unit}", colour
    return None


def render(p: PhotoAnalysis) -> np.ndarray:
    """The annotated working image as an RGB array."""
    return _draw(p).img


def label_boxes(p: PhotoAnalysis) -> tuple[LabelBox, ...]:
    """The labels of the annotated image and where they are (working pixels)."""
    return tuple(_draw(p).labels)


def metric_points(p: PhotoAnalysis) -> list[np.ndarray]:
    """The points (photo pixels) the photo's measured metrics use, landmarks and anatomical
    points: no label covers them."""
    used = {lm for m in p.metrics if m.status == STATUS_OK for lm in m.landmarks}
    names = {n for m in p.metrics if m.status == STATUS_OK for n in m.points}
    anatomical = [np.array([pt.x, pt.y]) for n, pt in p.anatomical_points.items()
                  if n in names and pt.ok]
    return [p.landmarks.xy[lm] for lm in sorted(used)] + anatomical


def _draw(p: PhotoAnalysis) -> _Canvas:
    c = _Canvas(p.photo.rgb, p.photo.scale)
    xy = p.landmarks.xy
    vis = p.landmarks.visibility
    for point in metric_points(p):
        c.keep_clear(point)
    for a, b in SKELETON:
        if vis[a] >= 0.5 and vis[b] >= 0.5:
            c.line(xy[a], xy[b], (200, 200, 200), thick=max(1, c.thick - 1))
    for lm in L:
        colour = MANUAL if lm in p.landmarks.manual else (GREEN if vis[lm] >= 0.5 else RED)
        c.dot(xy[lm], colour)
    if p.roll is not None and p.roll.method == "manual" and p.roll.points:
        # The true vertical the clinician marked: tilts were measured against it.
        top, bottom = (np.asarray(pt, dtype=float) for pt in p.roll.points)
        c.line(top, bottom, (30, 120, 255), thick=c.thick + 1)
        c.label(top, f"true vertical ({value_text(p.roll.degrees, sign=True)} deg)",
                (30, 120, 255))
    if p.view.view == "side":
        _side(c, p)
    elif p.view.view in ("front", "back"):
        _front(c, p)
        _front_points(c, p)
    return c


def _horizontal(c: _Canvas, a, b, colour, text):
    """The line a-b, a dashed horizontal through its left end, and the label."""
    left = a if a[0] < b[0] else b
    right = b if left is a else a
    c.line(a, b, colour)
    c.line(left, (right[0] + 0.15 * abs(right[0] - left[0]), left[1]), colour, dashed=True,
           thick=max(1, c.thick - 1))
    if text:
        c.label((right[0] + 0.2 * abs(right[0] - left[0]), right[1]), text[0], text[1])


def _front(c: _Canvas, p: PhotoAnalysis) -> None:
    xy = p.landmarks.xy
    mid = lambda a, b: (xy[a] + xy[b]) / 2  # noqa: E731
    _horizontal(c, xy[L.LEFT_EAR], xy[L.RIGHT_EAR], CYAN, _value_text(p, "head_tilt"))
    _horizontal(c, xy[L.LEFT_SHOULDER], xy[L.RIGHT_SHOULDER], YELLOW,
                _value_text(p, "shoulder_tilt"))
    _horizontal(c, xy[L.LEFT_HIP], xy[L.RIGHT_HIP], MAGENTA, _value_text(p, "pelvic_obliquity"))
    hip, sh = mid(L.LEFT_HIP, L.RIGHT_HIP), mid(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    c.line(hip, sh, GREEN)
    ankle = mid(L.LEFT_ANKLE, L.RIGHT_ANKLE)
    ear = mid(L.LEFT_EAR, L.RIGHT_EAR)
    # The frontal plumb line through the mid-ankle point: head shift is measured from it.
    c.line((ankle[0], ankle[1]), (ankle[0], ear[1] - 0.05 * (ankle[1] - ear[1])), RED,
           dashed=True)
    text = _value_text(p, "trunk_lateral_lean")
    if text:
        c.label(sh + (0, -0.25 * abs(hip[1] - sh[1])), text[0], text[1])
    for side in ("LEFT", "RIGHT"):
        metric = f"knee_frontal_angle_{side.lower()}"
        h, k, a = (xy[L[f"{side}_{j}"]] for j in ("HIP", "KNEE", "ANKLE"))
        c.line(h, k, ORANGE)
        c.line(k, a, ORANGE)
        text = _value_text(p, metric)
        if text:
            outward = 1 if k[0] > hip[0] else -1
            c.label(k + (outward * 0.08 * abs(a[1] - h[1]), 0), text[0], text[1],
                    right_align=outward < 0)


# The front outline's point pairs: (left, right, metric, colour). Hand-placed ASIS and PSIS
# are drawn like the rest once placed.
POINT_LINES = (
    ("acromion_left", "acromion_right", "shoulder_tilt_acromion", (255, 235, 120)),
    ("waist_left", "waist_right", "waist_tilt", (120, 255, 200)),
    ("trochanter_left", "trochanter_right", "trochanter_tilt", (255, 120, 230)),
    ("asis_left", "asis_right", "asis_tilt", (255, 170, 90)),
    ("psis_left", "psis_right", "psis_tilt", (255, 170, 90)),
)
SHORT.update({"shoulder_tilt_acromion": "Acromions", "waist_tilt": "Waist",
              "trochanter_tilt": "Trochanters", "asis_tilt": "ASIS", "psis_tilt": "PSIS",
              "waist_triangle_asymmetry": "Waist triangles"})


def _front_points(c: _Canvas, p: PhotoAnalysis) -> None:
    """The outline's anatomical points (rings; magenta when placed by hand), the line through
    each pair with its tilt labelled at the left end, and the waist triangles' widths."""
    pts = {n: pt for n, pt in p.anatomical_points.items() if pt.ok}

    def at(name):
        return np.array([pts[name].x, pts[name].y], dtype=float)

    for side in ("left", "right"):
        waist, arm = f"waist_{side}", f"waist_arm_{side}"
        if waist in pts and arm in pts:
            c.line(at(waist), at(arm), (120, 255, 200), dashed=True)
    for left, right, metric, colour in POINT_LINES:
        if left in pts and right in pts:
            a, b = at(left), at(right)
            c.line(a, b, colour)
            text = _value_text(p, metric)
            if text:
                end = a if a[0] < b[0] else b
                c.label(end - (0.15 * abs(a[0] - b[0]), 0), text[0], text[1], right_align=True)
    for pt in pts.values():
        r = max(3, round(5 * c.unit))
        cv2.circle(c.img, c.pt((pt.x, pt.y)), r, MANUAL if pt.manual else (255, 255, 255),
                   max(1, c.thick - 1), cv2.LINE_AA)


def _side(c: _Canvas, p: PhotoAnalysis) -> None:
    near = (lambda lm: L(MIRROR_ORDER[lm])) if p.view.facing == "image-left" else (lambda lm: lm)
    xy = p.landmarks.xy
    ear, sh, hip, knee, ankle = (xy[near(lm)] for lm in (
        L.RIGHT_EAR, L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE))
    top = ear[1] - 0.08 * (ankle[1] - ear[1])
    c.line((ankle[0], ankle[1]), (ankle[0], top), RED, dashed=True)  # plumb line
    for pnt in (ear, sh, hip, knee):
        c.line(pnt, (ankle[0], pnt[1]), RED, thick=max(1, c.thick - 1))
    c.line(sh, ear, CYAN)
    c.line(sh, (sh[0] + p.view.forward * 0.6 * abs(sh[1] - ear[1]), sh[1]), CYAN, dashed=True)
    c.line(hip, sh, GREEN)
    c.line(hip, knee, ORANGE)
    c.line(knee, ankle, ORANGE)
    # Labels go behind the body, where the face and toes are not.
    back = -p.view.forward
    dx = back * 0.12 * abs(ankle[1] - ear[1])
    for pnt, metric in ((ear, "forward_head_angle"), (sh, "trunk_sagittal_lean"),
                        (knee, "knee_sagittal_angle"), (hip, "plumb_hip")):
        text = _value_text(p, metric)
        if text:
            c.label(pnt + (dx, 0), text[0], text[1], right_align=back < 0)
    _side_outline(c, p)


OUTLINE = (255, 255, 60)


def _side_outline(c: _Canvas, p: PhotoAnalysis) -> None:
    """The back's anatomical points: the CVA line (tragus-C7 and C7's horizontal), the
    thoracic apex's vertical with the two flèches, and the inflection tangents."""
    pts = {n: np.array([q.x, q.y]) for n, q in p.anatomical_points.items() if q.ok}
    manual = {n for n, q in p.anatomical_points.items() if q.ok and q.manual}
    if not pts:
        return
    fwd = p.view.forward
    if "c7" in pts and "tragus" in pts:
        c7, tragus = pts["c7"], pts["tragus"]
        c.line(c7, tragus, OUTLINE)
        reach = abs(tragus[0] - c7[0]) + 0.3 * abs(tragus[1] - c7[1])
        c.line(c7, (c7[0] + fwd * reach, c7[1]), OUTLINE, dashed=True,
               thick=max(1, c.thick - 1))
        text = _value_text(p, "cva")
        if text:
            c.label(c7 + (-fwd * 0.25 * reach, -0.1 * reach), text[0], text[1],
                    right_align=fwd > 0)
    if "thoracic_apex" in pts:
        apex = pts["thoracic_apex"]
        ys = [pts[n][1] for n in ("cervical_apex", "lumbar_apex", "c7", "sacral_point")
              if n in pts] + [apex[1]]
        c.line((apex[0], min(ys)), (apex[0], max(ys)), OUTLINE, dashed=True)
        for n in ("cervical_apex", "lumbar_apex"):
            if n in pts:
                c.line(pts[n], (apex[0], pts[n][1]), OUTLINE)
    for n in ("ict", "itl", "ils"):
        if n in pts and n + "_tangent" in pts:
            a, b = pts[n], pts[n + "_tangent"]
            c.line(2 * a - b, b, ORANGE, thick=max(1, c.thick - 1))
    for n, xy in pts.items():
        if not n.endswith("_tangent"):
            c.dot(xy, MANUAL if n in manual else OUTLINE)


def render_png(p: PhotoAnalysis) -> bytes:
    """The annotated image as PNG bytes with no metadata."""
    return strip_metadata_png(render(p))
