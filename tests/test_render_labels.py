"""Labels on annotated photos: never over a point a metric uses, never over each other, never
off the photo; on real photos and on the 152 x 317 px one."""

from __future__ import annotations

import numpy as np
import pytest

from posture.render import _Canvas, label_boxes, metric_points
from tests.conftest import PAIRS, sample


@pytest.fixture(scope="module")
def analysed(detector):
    from posture import AnalysisOptions, analyze

    out = {}
    for name, (front, side) in PAIRS.items():
        result = analyze(sample(front).read_bytes(), sample(side).read_bytes(),
                         AnalysisOptions(passes=2), front_name=front, side_name=side,
                         detector=detector)
        out[f"{name}-front"], out[f"{name}-side"] = result.front, result.side
    return out


def _inside(point, box, margin):
    x, y = point
    return box[0] - margin <= x <= box[2] + margin and box[1] - margin <= y <= box[3] + margin


@pytest.mark.parametrize("photo", [f"{n}-{s}" for n in PAIRS for s in ("front", "side")])
def test_no_label_covers_a_metric_point_another_label_or_the_edge(analysed, photo):
    p = analysed[photo]
    boxes = label_boxes(p)
    assert boxes, "the measures are labelled on the photo"
    h, w = p.photo.rgb.shape[:2]
    dot = max(2, round(3 * max(h, w) / 1000))
    points = [np.asarray(xy) / p.photo.scale for xy in metric_points(p)]
    for label in boxes:
        left, top, right, bottom = label.box
        assert left >= 0 and right <= w and top >= 0 and bottom <= h, label   # on the photo
        for xy in points:
            if 0 <= xy[0] < w and 0 <= xy[1] < h:
                assert not _inside(xy, label.box, dot), (label, xy)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a.box[2] <= b.box[0] or b.box[2] <= a.box[0]
                     or a.box[3] <= b.box[1] or b.box[3] <= a.box[1])
            assert apart, (a, b)


def test_the_side_views_head_label_leaves_the_ear_visible(analysed):
    """The "Head (CVA proxy)" label once hid the ear it measures from."""
    for name in PAIRS:
        p = analysed[f"{name}-side"]
        [head] = [b for b in label_boxes(p) if b.text.startswith("Head")]
        ears = [np.asarray(xy) / p.photo.scale for xy in metric_points(p)]
        assert not any(_inside(e, head.box, 0) for e in ears)


def test_a_crowded_spot_moves_the_label_and_a_long_text_shrinks_to_fit():
    canvas = _Canvas(np.zeros((317, 152, 3), np.uint8), 1.0)
    canvas.keep_clear((30, 100))
    first = canvas.label((28, 100), "Shoulders +1.2 deg", (255, 255, 255))
    second = canvas.label((28, 100), "Pelvis -0.4 deg", (255, 255, 255))
    long = canvas.label((140, 200), "Head (CVA proxy) +61.3 deg and more words", (255, 255, 255))
    for label in (first, second, long):
        left, top, right, bottom = label.box
        assert left >= 0 and right <= 152 and top >= 0 and bottom <= 317
        assert not (left <= 30 <= right and top <= 100 <= bottom)
    assert first.box[3] <= second.box[1] or second.box[3] <= first.box[1] or \
        first.box[2] <= second.box[0] or second.box[2] <= first.box[0]
