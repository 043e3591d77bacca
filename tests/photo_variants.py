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


def rotated(photo: Photo, degrees_ccw: float) -> Photo:
    """The photo rotated counter-clockwise as displayed, on a canvas grown to keep it all."""
    h, w = photo.rgb.shape[:2]
    t = np.deg2rad(degrees_ccw)
    out_w = int(np.ceil(w * abs(np.cos(t)) + h * abs(np.sin(t))))
    out_h = int(np.ceil(w * abs(np.sin(t)) + h * abs(np.cos(t))))
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees_ccw, 1.0)
    m[0, 2] += (out_w - w) / 2
    m[1, 2] += (out_h - h) / 2
    rgb = cv2.warpAffine(photo.rgb, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    return _photo(rgb, photo, f"rotated {degrees_ccw:+g} deg")


def mirrored(photo: Photo) -> Photo:
    return _photo(photo.rgb[:, ::-1], photo, "mirrored")


def half(photo: Photo) -> Photo:
    h, w = photo.rgb.shape[:2]
    rgb = cv2.resize(photo.rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return _photo(rgb, photo, "half resolution")
