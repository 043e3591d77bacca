"""Annotated photos: drawn on the working image, lines where the metrics are, no metadata."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from posture.landmarks.vocabulary import Landmark as L
from posture.render import YELLOW, render, render_png


def test_annotations_follow_the_landmarks(ana_assessment):
    front = ana_assessment.front
    img = render(front)
    assert img.shape == front.photo.rgb.shape
    changed = np.any(img != front.photo.rgb, axis=2)
    assert 0.005 < changed.mean() < 0.3  # drawn on, but the photo still shows
    # The shoulder line is drawn in yellow midway between the two shoulder landmarks.
    mid = (front.landmarks.xy[L.LEFT_SHOULDER] + front.landmarks.xy[L.RIGHT_SHOULDER]) / 2
    x, y = (mid / front.photo.scale).round().astype(int)
    patch = img[y - 3:y + 4, x - 3:x + 4].reshape(-1, 3)
    assert any((abs(p.astype(int) - YELLOW) < 40).all() for p in patch)


def test_png_is_metadata_free_and_decodes_to_the_render(ana_assessment):
    data = render_png(ana_assessment.side)
    im = Image.open(io.BytesIO(data))
    assert im.format == "PNG" and not im.info.get("exif") and not im.getexif()
    assert (np.asarray(im.convert("RGB")) == render(ana_assessment.side)).all()
