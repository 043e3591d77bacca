"""Camera roll: consistency of ``estimate_roll`` on the sample photos rotated by known angles.

For every sample photo: rotate it counter-clockwise by -6..+6 deg about its centre, keep the
central region that has no empty corners at 6 deg (the same region at every angle, 0 included),
and compare the estimate with the unrotated estimate plus the rotation (a perfect system: 0).
No ground truth: consistency, not accuracy. A photo whose unrotated estimate is unknown drops
out of that comparison, so a last line also compares every two copies of a photo that have an
estimate (unrotated or not): the differences of estimate minus rotation. Run twice: without
``exclude_box``, and with the person's box (MediaPipe 0.10.21 landmarks' extent on each photo,
padded by 5 % of its height, rotated with the photo). Each estimate runs as ``estimate_roll``
does, in its two parts, timed apart: ``find_straight_edges`` (the part that can start before
the person's box is known) and ``roll_from_edges``.

    .venv/bin/python benchmarks/camera_roll.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posture.camera import find_straight_edges, roll_from_edges  # noqa: E402
from tests.conftest import manifest, sample  # noqa: E402
from tests.test_camera import load_upright, rotate_crop  # noqa: E402

ANGLES = [a for a in range(-6, 7) if a != 0]
# Person boxes as fractions of width and height of the upright photo: (x0, y0, x1, y1).
PERSON = {
    "ana_test.jpg": (0.25, 0.16, 0.65, 0.97),
    "ana_test_right.jpg": (0.41, 0.29, 0.54, 0.92),
    "anibal1_test.jpg": (0.37, 0.15, 0.64, 0.91),
    "anibal2_test.jpg": (0.30, 0.11, 0.62, 0.95),
    "jara_test_front_3.jpg": (0.29, 0.09, 0.73, 0.83),
    "jara_test_side_3.jpg": (0.37, 0.09, 0.54, 0.91),
    "leo2_test.jpg": (0.31, 0.14, 0.65, 0.90),
    "leo3_test.jpg": (0.35, 0.17, 0.62, 0.80),
    "leo_test.jpeg": (0.31, 0.24, 0.68, 0.88),
    "leo_test_left.jpg": (0.42, 0.23, 0.56, 0.91),
    "leo_test_right.jpg": (0.44, 0.18, 0.58, 0.86),
    "arsalan2.jpeg": (0.09, 0.19, 0.87, 0.76),
    "ramzan1.jpeg": (0.26, 0.27, 0.74, 0.83),
    "ramzan2.jpeg": (0.09, 0.26, 0.87, 0.82),
    "saif1.jpeg": (0.25, 0.17, 0.72, 0.84),
    "front_image.jpg": (0.20, 0.08, 0.73, 0.98),
    "side_image.jpg": (0.43, 0.09, 0.86, 0.96),
}


def person_box(rgb: np.ndarray, name: str, degrees_ccw: float) -> tuple[float, ...]:
    """The padded person box, rotated with the photo, in the rotated crop's pixels."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = PERSON[name]
    pad = 0.05 * (y1 - y0) * h
    x0, x1, y0, y1 = x0 * w - pad, x1 * w + pad, y0 * h - pad, y1 * h + pad
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees_ccw, 1.0)
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]]) @ m.T
    ch, cw = rotate_crop(rgb, 0.0).shape[:2]
    dx, dy = (w - cw) // 2, (h - ch) // 2
    return (
        corners[:, 0].min() - dx,
        corners[:, 1].min() - dy,
        corners[:, 0].max() - dx,
        corners[:, 1].max() - dy,
    )


def run(with_box: bool) -> None:
    print(f"\n== {'with' if with_box else 'without'} the person's exclude_box ==")
    print(f"{'photo':24} {'unrotated':>16}  error (deg) at " + " ".join(f"{a:+d}" for a in ANGLES))
    errors, unknown, total, pairs = [], 0, 0, []
    spent = {"edges": 0.0, "roll": 0.0}
    t0 = time.perf_counter()
    for row in manifest():
        name = row["file"].split("/")[-1]
        rgb = load_upright_path(name)

        def estimate(angle: float, rgb=rgb, name=name):
            box = person_box(rgb, name, angle) if with_box else None
            rotated = rotate_crop(rgb, angle)
            t1 = time.perf_counter()
            edges = find_straight_edges(rotated)
            t2 = time.perf_counter()
            est = roll_from_edges(edges, box)  # = estimate_roll(rotated, exclude_box=box)
            spent["edges"] += t2 - t1
            spent["roll"] += time.perf_counter() - t2
            return est

        base = estimate(0.0)
        cells = []
        level = [] if base.degrees is None else [base.degrees]  # estimate minus rotation
        for angle in ANGLES:
            total += 1
            est = estimate(float(angle))
            if est.degrees is not None:
                level.append(est.degrees - angle)
            if base.degrees is None or est.degrees is None:
                unknown += 1
                cells.append("  unk")
                continue
            err = est.degrees - base.degrees - angle
            errors.append(abs(err))
            cells.append(f"{err:+.2f}")
        pairs += [abs(a - b) for i, a in enumerate(level) for b in level[i + 1 :]]
        head = "unknown" if base.degrees is None else f"{base.degrees:+.2f} c={base.confidence:.2f}"
        print(f"{name:24} {head:>16}  {' '.join(cells)}")
    e = np.array(errors)
    print(
        f"{len(e)} rotated copies with an estimate: median {np.median(e):.2f}, "
        f"90th pct {np.percentile(e, 90):.2f}, worst {e.max():.2f} deg; "
        f"{unknown}/{total} unknown (rotated copy or unrotated photo); "
        f"{(time.perf_counter() - t0) / (total + len(PERSON)) * 1000:.0f} ms per estimate"
    )
    n = total + len(PERSON)
    print(
        f"of which find_straight_edges {spent['edges'] / n * 1000:.0f} ms, "
        f"roll_from_edges {spent['roll'] / n * 1000:.1f} ms per estimate"
    )
    p = np.array(pairs)
    print(
        f"any two copies of a photo with an estimate ({len(p)} pairs): median {np.median(p):.2f}, "
        f"90th pct {np.percentile(p, 90):.2f}, worst {p.max():.2f} deg"
    )


def load_upright_path(name: str) -> np.ndarray:
    sample(name)  # fails loudly if the manifest and the folders disagree
    return load_upright(name)


if __name__ == "__main__":
    run(with_box=False)
    run(with_box=True)
