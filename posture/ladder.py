"""The levels chain drawn beside the photo: a "ladder" of every bilateral level from the floor
up, each rung at its height on the body, tilted as measured, its higher end marked.

Rungs are drawn with their angle magnified (LADDER_MAGNIFICATION, said on the figure): a 2 deg
tilt, the size screened for, is invisible on a short line at its true angle. The patient's
left and right are written at the rung ends as they appear in the photo (a front photo shows
the patient's left on the image's right).
"""

from __future__ import annotations

import cv2
import numpy as np

from posture.assessment import PhotoAnalysis
from posture.images import strip_metadata_png
from posture.landmarks.vocabulary import Landmark as L
from posture.metrics.chain import ChainLevel, LevelsChain, levels_chain
from posture.metrics.definitions import METRICS_BY_ID
from posture.numbers import value_text

LADDER_MAGNIFICATION = 5
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (150, 150, 150)
FLAG_COLOURS = {"outside": (235, 40, 40), "borderline": (255, 140, 0), "within": (40, 160, 70)}


def _level_height(p: PhotoAnalysis, level: ChainLevel) -> float | None:
    """The level's height in working-image pixels: the mean y of its two points."""
    points = METRICS_BY_ID[level.metric].points[:2] if level.metric in METRICS_BY_ID else ()
    ys = []
    for point in points:
        if isinstance(point, L):
            ys.append(float(p.landmarks.xy[point, 1]))
        else:  # an anatomical point (outline stage), by name
            anatomical = getattr(p, "anatomical_points", {}).get(str(point))
            if anatomical is None or anatomical.y is None:
                return None
            ys.append(float(anatomical.y))
    return float(np.mean(ys)) / p.photo.scale if len(ys) == 2 else None


def render_ladder(p: PhotoAnalysis, chain: LevelsChain | None = None) -> np.ndarray:
    """The working image with the ladder panel to its right, as an RGB array."""
    chain = chain or levels_chain(p.metrics)
    photo = np.asarray(p.photo.rgb)
    h, w = photo.shape[:2]
    panel_w = max(260, int(0.75 * w))
    img = np.full((h, w + panel_w, 3), 255, dtype=np.uint8)
    img[:, :w] = photo
    unit = max(h, w) / 1000.0
    font, thick = 0.55 * max(unit, 0.6), max(1, round(1.6 * unit))
    x0, x1 = w + int(0.12 * panel_w), w + int(0.42 * panel_w)
    half = (x1 - x0) / 2.0
    # In a front photo the patient's left is on the image's right; from behind, on its left.
    left_on_right = p.view.view != "back"
    end_names = ("R", "L") if left_on_right else ("L", "R")
    cv2.putText(img, f"Levels (angles x{LADDER_MAGNIFICATION})", (w + 8, int(22 * unit) + 8),
                cv2.FONT_HERSHEY_SIMPLEX, font, BLACK, thick, cv2.LINE_AA)
    last_y = None
    for level in chain.levels:
        y = _level_height(p, level)
        if y is None:
            continue
        yi = int(round(y))
        if last_y is not None and abs(yi - last_y) < 26 * unit:  # rungs too close: nudge
            yi = last_y - int(26 * unit)
        last_y = yi
        colour = FLAG_COLOURS.get(level.flag, GREY)
        cv2.line(img, (int(0.9 * w), yi), (w - 2, yi), GREY, 1, cv2.LINE_AA)  # to the body
        if level.value is None:
            cv2.putText(img, f"{level.level}: not measured", (x0, yi), cv2.FONT_HERSHEY_SIMPLEX,
                        font, GREY, thick, cv2.LINE_AA)
            continue
        # Signed so that positive lifts the image-right end: the patient's left higher lifts
        # the image-right end in a front photo, the image-left end in a back photo.
        s = np.radians(np.clip(level.value * LADDER_MAGNIFICATION, -60, 60))
        s = s if left_on_right else -s
        cx = (x0 + x1) / 2.0
        a = (int(cx - half * np.cos(s)), int(round(yi + half * np.sin(s))))
        b = (int(cx + half * np.cos(s)), int(round(yi - half * np.sin(s))))
        cv2.line(img, a, b, colour, thick + 2, cv2.LINE_AA)
        if level.higher in ("left", "right"):
            high = b if (level.higher == "left") == left_on_right else a
            cv2.circle(img, high, max(3, thick + 2), colour, -1, cv2.LINE_AA)
        for end, name in ((a, end_names[0]), (b, end_names[1])):
            dx = -int(14 * unit) if end is a else int(5 * unit)
            cv2.putText(img, name, (end[0] + dx, end[1] + int(5 * unit)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.8 * font, GREY, max(1, thick - 1),
                        cv2.LINE_AA)
        side = {"left": "L higher", "right": "R higher"}.get(level.higher, "level")
        text = f"{level.level} {value_text(level.value, sign=True)} deg {side}"  # no "-0.0"
        cv2.putText(img, text, (x1 + int(22 * unit), yi + int(5 * unit)),
                    cv2.FONT_HERSHEY_SIMPLEX, font, colour, thick, cv2.LINE_AA)
    return img


def render_ladder_png(p: PhotoAnalysis, chain: LevelsChain | None = None) -> bytes:
    """The ladder figure as PNG bytes with no metadata (no EXIF, no GPS)."""
    return strip_metadata_png(render_ladder(p, chain))
