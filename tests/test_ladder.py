"""The ladder figure: each level of the chain drawn beside the photo, at its height, in its
flag's colour, its higher end marked."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from posture import AnalysisOptions, analyze
from posture.ladder import FLAG_COLOURS, render_ladder, render_ladder_png
from posture.metrics.chain import levels_chain
from tests.conftest import sample


@pytest.fixture(scope="module")
def ana_front(detector):
    return analyze(sample("ana_test.jpg"), None, AnalysisOptions(passes=1),
                   detector=detector).front


def _colour_rows(img: np.ndarray, x_from: int, colour) -> np.ndarray:
    match = np.all(np.abs(img[:, x_from:].astype(int) - colour) < 40, axis=2)
    return np.flatnonzero(match.any(axis=1))


def test_every_level_is_drawn_beside_the_photo_at_its_height(ana_front):
    img = render_ladder(ana_front)
    h, w = ana_front.photo.rgb.shape[:2]
    assert img.shape[0] == h and img.shape[1] > w
    # The photo itself untouched but for short ticks at its right edge leading to each rung.
    body = int(0.9 * w) - 1
    assert np.array_equal(img[:, :body], ana_front.photo.rgb[:, :body])
    chain = levels_chain(ana_front.metrics)
    for level in chain.levels:
        rows = _colour_rows(img, w, FLAG_COLOURS[level.flag])
        landmarks = {"hips": 23, "knees": 25, "ankles": 27}.get(level.level)
        if landmarks is None:
            continue
        y = ana_front.landmarks.xy[[landmarks, landmarks + 1], 1].mean() / ana_front.photo.scale
        assert np.any(np.abs(rows - y) < 40), level.level


def test_the_png_has_no_metadata(ana_front):
    png = render_ladder_png(ana_front)
    with Image.open(io.BytesIO(png)) as im:
        assert not im.info and im.getexif() == {}
