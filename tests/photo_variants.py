"""Rotated, mirrored and half-resolution copies of a loaded photo, for consistency tests."""

from __future__ import annotations

import cv2
import numpy as np

from posture.images import Photo


def _photo(rgb: np.ndarray, like: Photo, tag: str) -> Photo:
    rgb = np.ascontiguousarray(rgb)
    rgb.setflags(write=False)
    h, w = rgb.shape[:2]
    return Photo(rgb=rgb, original_size=(w, h), scale=1.0, source_format=like.source_format,
                 exif_orientation=1, name=f"{like.name} ({tag})")


def rotation_matrix(w: int, h: int, degrees_ccw: float) -> tuple[np.ndarray, int, int]:
    """The 2x3 affine `rotated` applies to a w x h photo (pixel-centre coordinates), and the
    grown canvas's width and height."""
    t = np.deg2rad(degrees_ccw)
    out_w = int(np.ceil(w * abs(np.cos(t)) + h * abs(np.sin(t))))
    out_h = int(np.ceil(w * abs(np.sin(t)) + h * abs(np.cos(t))))
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees_ccw, 1.0)
    m[0, 2] += (out_w - w) / 2
    m[1, 2] += (out_h - h) / 2
    return m, out_w, out_h


def rotated(photo: Photo, degrees_ccw: float) -> Photo:
    """The photo rotated counter-clockwise as displayed, on a canvas grown to keep it all."""
    h, w = photo.rgb.shape[:2]
    m, out_w, out_h = rotation_matrix(w, h, degrees_ccw)
    rgb = cv2.warpAffine(photo.rgb, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    return _photo(rgb, photo, f"rotated {degrees_ccw:+g} deg")


def mirrored(photo: Photo) -> Photo:
    return _photo(photo.rgb[:, ::-1], photo, "mirrored")


def half(photo: Photo) -> Photo:
    h, w = photo.rgb.shape[:2]
    rgb = cv2.resize(photo.rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return _photo(rgb, photo, "half resolution")


def blurred(photo: Photo, sigma: float) -> Photo:
    """Gaussian blur of `sigma` pixels (a shaken or badly focused photo)."""
    rgb = cv2.GaussianBlur(photo.rgb, (0, 0), sigma)
    return _photo(rgb, photo, f"blurred sigma {sigma:g}")


def legs_dark(photo: Photo, from_fraction: float = 0.5, gain: float = 0.1) -> Photo:
    """Everything below `from_fraction` of the height at `gain` of its brightness: legs in
    deep shadow."""
    rgb = photo.rgb.copy()
    top = int(rgb.shape[0] * from_fraction)
    rgb[top:] = (rgb[top:].astype(np.float32) * gain).astype(np.uint8)
    return _photo(rgb, photo, "legs dark")


def cropped_to_body(photo: Photo, detector, margin: float = 0.08) -> Photo:
    """The photo cut to the person's landmark box plus `margin` of its height on each side:
    little of the room (door frames, wall corners) is left to level the camera by."""
    from posture.landmarks.passes import detect_landmarks

    xy = detect_landmarks(photo.rgb, detector, passes=1).landmarks.xy
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    pad = margin * (y1 - y0)
    h, w = photo.rgb.shape[:2]
    box = (max(0, int(x0 - pad)), max(0, int(y0 - 2 * pad)), min(w, int(x1 + pad)),
           min(h, int(y1 + pad)))
    return _photo(photo.rgb[box[1]:box[3], box[0]:box[2]], photo, "cropped to the body")
