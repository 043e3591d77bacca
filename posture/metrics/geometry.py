"""Pure NumPy geometry behind every metric.

Frame: pixels, x right, y down (see `posture.landmarks.result`). Points are arrays of shape
(..., 2), so one call measures a single photo or every detection pass at once. Angles are in
degrees. `lateral` is +1 when the patient's left is image +x (front view), -1 when it is image -x
(back view); `forward` is +1 when anatomical forward is image +x (side view facing image-right).
"""

from __future__ import annotations

import numpy as np


def _x(p: np.ndarray) -> np.ndarray:
    return np.asarray(p, dtype=np.float64)[..., 0]


def _y(p: np.ndarray) -> np.ndarray:
    return np.asarray(p, dtype=np.float64)[..., 1]


def tilt(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Angle of the line through a left and a right landmark vs horizontal, in degrees.

    Positive = the patient's left point higher (SAPO: counter-clockwise as seen from the front),
    in -90..90. Using |dx| makes it the same formula for front and back views: no 180-degree
    jumps when the patient's left is on the image's left.
    """
    return np.degrees(np.arctan2(_y(right) - _y(left), np.abs(_x(left) - _x(right))))


def height_difference(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """How much higher the left point is than the right, in pixels (positive = left higher)."""
    return _y(right) - _y(left)


def lean_from_vertical(bottom: np.ndarray, top: np.ndarray, toward: int) -> np.ndarray:
    """Angle of the bottom-to-top line vs vertical, degrees; positive when the top point lies
    toward image direction `toward` (+1 = +x, -1 = -x) of the bottom point."""
    return np.degrees(np.arctan2(toward * (_x(top) - _x(bottom)), _y(bottom) - _y(top)))


def horizontal_offset(point: np.ndarray, reference: np.ndarray, toward: int) -> np.ndarray:
    """Horizontal distance of point from the vertical through reference, pixels; positive
    toward image direction `toward`."""
    return toward * (_x(point) - _x(reference))


def elevation(base: np.ndarray, tip: np.ndarray, toward: int) -> np.ndarray:
    """Angle at `base` between the horizontal pointing `toward` and the line to `tip`, degrees.

    90 = tip straight above base; less than 90 = tip leaning toward `toward`; over 90 = away.
    """
    return np.degrees(np.arctan2(_y(base) - _y(tip), toward * (_x(tip) - _x(base))))


def descent_angle(upper: np.ndarray, lower: np.ndarray, toward: int) -> np.ndarray:
    """Direction of the line from upper down to lower vs vertical, degrees in -90..90:
    positive when it runs toward image direction `toward` (+1 = +x) as it descends.

    The kyphosis angle is descent_angle at the thoraco-lumbar tangent minus that at the
    cervico-thoracic one (the tangents' angle, rasterstereography's definition).
    """
    return np.degrees(np.arctan2(toward * (_x(lower) - _x(upper)),
                                 np.abs(_y(lower) - _y(upper))))


def bend(upper: np.ndarray, middle: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Deviation of upper-middle-lower from a straight line, degrees, unsigned (0 = straight)."""
    u = np.asarray(upper, dtype=np.float64) - middle
    v = np.asarray(lower, dtype=np.float64) - middle
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _side_of_line(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Sign of the cross product (b - a) x (p - a): which side of line a-b the point p is on."""
    d = np.asarray(b, dtype=np.float64) - a
    e = np.asarray(p, dtype=np.float64) - a
    return np.sign(d[..., 0] * e[..., 1] - d[..., 1] * e[..., 0])


def knee_frontal(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray,
                 midline: np.ndarray) -> np.ndarray:
    """Frontal knee angle, degrees: the hip-knee-ankle bend, positive when the knee lies on the
    midline's side of the hip-ankle line (valgus, knock-knee), negative outside it (varus)."""
    sign = _side_of_line(hip, ankle, knee) * _side_of_line(hip, ankle, midline)
    return bend(hip, knee, ankle) * np.where(sign == 0, 1.0, sign)


def knee_sagittal(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray,
                  forward: int) -> np.ndarray:
    """Sagittal knee angle, degrees: the hip-knee-ankle bend, positive when the knee lies
    anterior of the hip-ankle line (flexion), negative posterior (hyperextension)."""
    hip = np.asarray(hip, dtype=np.float64)
    ankle = np.asarray(ankle, dtype=np.float64)
    t = (_y(knee) - _y(hip)) / np.where(_y(ankle) == _y(hip), np.nan, _y(ankle) - _y(hip))
    line_x = _x(hip) + t * (_x(ankle) - _x(hip))
    sign = np.sign(forward * (_x(knee) - line_x))
    return bend(hip, knee, ankle) * np.where(sign == 0, 1.0, sign)


def head_yaw(nose: np.ndarray, left_ear: np.ndarray, right_ear: np.ndarray, lateral: int,
             depth_ratio: float) -> np.ndarray:
    """Head rotation about the vertical in a front photo, degrees; positive = the face turned
    toward the patient's left (lateral as in the module docstring).

    A head turned by t shows the nose sin(t) x D off the ears' midpoint while the ears appear
    2 W cos(t) apart (D: the nose's depth ahead of the ear axis, W: half the ear distance), so
    t = atan(k / (D / W)) with k the nose offset over the apparent half ear distance.
    `depth_ratio` is D / W for the landmarks used.
    """
    mid = (np.asarray(left_ear, dtype=np.float64) + right_ear) / 2.0
    half = np.abs(_x(left_ear) - _x(right_ear)) / 2.0
    k = lateral * (_x(nose) - _x(mid)) / np.where(half > 0, half, np.nan)
    return np.degrees(np.arctan(k / depth_ratio))


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(a, dtype=np.float64) - b, axis=-1)


def rotate_points(xy: np.ndarray, center: tuple[float, float], degrees_ccw: float) -> np.ndarray:
    """Rotate points about center by an angle counter-clockwise as displayed (y is down)."""
    t = np.deg2rad(degrees_ccw)
    c, s = np.cos(t), np.sin(t)
    d = np.asarray(xy, dtype=np.float64) - center
    out = np.empty_like(d)
    out[..., 0] = d[..., 0] * c + d[..., 1] * s
    out[..., 1] = -d[..., 0] * s + d[..., 1] * c
    return out + center
