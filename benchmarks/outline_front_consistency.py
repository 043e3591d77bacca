"""Consistency of the front outline points (acromions, waist, trochanters) and their tilts on
the sample front photos.

For every front photo: rotate it by +/-3 and +/-5 deg (counter-clockwise positive), mirror it,
halve its resolution, find the points again, map them back to the unmodified photo's working
pixels and compare. A perfect system scores 0.

- points: distance, as % of the person's height (`posture.landmarks.quality.body_extent`);
  target: at most 1 %. Only points found ok in both copies are compared; "lost" counts points
  ok in one copy and not in the other (a status that flips is reported, never hidden).
- tilts: the acromion, waist and trochanter lines (a counter-clockwise rotation adds its angle:
  METRICS.md); target: at most 0.5 deg worst case. The mirror flips their sign.
- mirror: every point should be the exact mirror image (with more than one pass, the mask is
  the photo's and the mirrored photo's averaged).
- honesty: the share of point and tilt moves within 2 SD, the SD being both copies' stated
  ones combined (a tilt's from its two points' per-axis SDs): a number that moves must say so.

    .venv/bin/python benchmarks/outline_front_consistency.py [--passes 2 18] [--cache DIR]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.outline_cache import cached_detection  # noqa: E402
from posture.images import Photo, load_photo  # noqa: E402
from posture.landmarks.mediapipe_pose import default_detector  # noqa: E402
from posture.landmarks.passes import DEFAULT_PASSES  # noqa: E402
from posture.landmarks.quality import body_extent  # noqa: E402
from posture.landmarks.views import classify_view  # noqa: E402
from posture.outline.frontal import frontal_points  # noqa: E402
from tests.conftest import manifest, sample  # noqa: E402
from tests.photo_variants import half, mirrored, rotated, rotation_matrix  # noqa: E402

ROTATIONS = (3.0, -3.0, 5.0, -5.0)
LINES = ("acromion", "waist", "trochanter")


def _swap(name: str) -> str:
    return name.replace("left", "@").replace("right", "left").replace("@", "right")


def _working(photo: Photo) -> Photo:
    """The photo's working image as a photo of its own (scale 1), like its variants."""
    h, w = photo.rgb.shape[:2]
    return Photo(rgb=photo.rgb, original_size=(w, h), scale=1.0,
                 source_format=photo.source_format, exif_orientation=1, name=photo.name)


def analyse(photo: Photo, detector, passes: int, cache=None):
    """Front points found ok and their per-axis SDs (working pixels), the body height (px)
    and the outline stage's seconds."""
    d = cached_detection(photo.rgb, detector, passes, photo.scale, cache)
    view = classify_view(d.landmarks)
    t0 = time.perf_counter()
    pts = frontal_points(d.mask, photo.scale, d.landmarks,
                         1 if view.left_on_image_right else -1, photo.rgb)
    dt = time.perf_counter() - t0
    xy = {n: np.array([p.x, p.y]) / photo.scale for n, p in pts.items() if p.ok}
    sd = {n: np.array(p.sd_xy) / photo.scale for n, p in pts.items() if p.ok}
    height = body_extent(d.landmarks, d.mask, photo.scale).height_px / photo.scale
    return xy, sd, height, dt


def tilt(xy: dict, kind: str) -> float | None:
    a, b = xy.get(f"{kind}_left"), xy.get(f"{kind}_right")
    if a is None or b is None:
        return None
    return math.degrees(math.atan2(b[1] - a[1], abs(a[0] - b[0])))


def tilt_sd(xy: dict, sd: dict, kind: str) -> float:
    """The tilt's SD (deg) from its two points' per-axis SDs (first order)."""
    a, b = xy[f"{kind}_left"], xy[f"{kind}_right"]
    sa, sb = sd[f"{kind}_left"], sd[f"{kind}_right"]
    dx, dy = abs(a[0] - b[0]), b[1] - a[1]
    var = (dx ** 2 * (sa[1] ** 2 + sb[1] ** 2) + dy ** 2 * (sa[0] ** 2 + sb[0] ** 2))
    return math.degrees(math.sqrt(var) / (dx ** 2 + dy ** 2))


def _rotation_back(w: int, h: int, degrees_ccw: float):
    """Maps a point of `tests.photo_variants.rotated`'s output back to the photo (continuous
    coordinates, pixel centres at +0.5)."""
    inv = cv2.invertAffineTransform(rotation_matrix(w, h, degrees_ccw)[0])
    return lambda p: (p - 0.5) @ inv[:, :2].T + inv[:, 2] + 0.5


def run(passes: int, cache=None) -> None:
    det = default_detector()
    names = [r["file"].split("/")[-1] for r in manifest() if r["view"] == "front"]
    moves: dict[str, list[float]] = {}
    lost: dict[str, int] = {}
    tilts: dict[str, list[float]] = {}
    within: dict[str, list[bool]] = {}
    sds: dict[str, list[float]] = {}
    mirror_worst = 0.0
    worst: dict[str, tuple[float, str]] = {}  # per tilt: its largest move, and where
    times = []
    for name in names:
        photo = _working(load_photo(sample(name)))
        h, w = photo.rgb.shape[:2]
        base, base_sd, height, dt = analyse(photo, det, passes, cache)
        times.append(dt)
        variants = [(f"rotation {a:+g} deg", rotated(photo, a), _rotation_back(w, h, a), a)
                    for a in ROTATIONS]
        variants.append(("mirror", mirrored(photo), lambda p, w=w: np.array([w - p[0], p[1]]),
                         None))
        f = w / half(photo).rgb.shape[1]
        variants.append(("half resolution", half(photo), lambda p, f=f: p * f, 0.0))
        for label, ph, back, shift in variants:
            xy, sd, _, dt = analyse(ph, det, passes, cache)
            times.append(dt)
            if label == "mirror":
                xy = {_swap(n): p for n, p in xy.items()}
                sd = {_swap(n): p for n, p in sd.items()}
            mapped = {n: back(p) for n, p in xy.items()}
            group = "rotation" if label.startswith("rotation") else label
            for n in set(base) | set(mapped):
                if n in base and n in mapped:
                    d = float(np.hypot(*(mapped[n] - base[n])))
                    moves.setdefault(group, []).append(100 * d / height)
                    ok = np.all(np.abs(mapped[n] - base[n]) <= 2 * np.hypot(base_sd[n], sd[n])
                                + 1e-9)
                    within.setdefault(f"{group}: points", []).append(bool(ok))
                    if label == "mirror":
                        mirror_worst = max(mirror_worst, d)
                else:
                    lost[group] = lost.get(group, 0) + 1
            for kind in LINES:
                # A rotation adds its angle to the rotated photo's own tilt; the mirrored
                # photo's points, names swapped and mapped back, give the same tilt (its own
                # tilt is the negative: the sign flips exactly).
                t0 = tilt(base, kind)
                t1 = tilt(mapped if label == "mirror" else xy, kind)
                if t0 is None or t1 is None:
                    continue
                want = t0 + (shift or 0.0)
                tilts.setdefault(f"{group}: {kind}", []).append(abs(t1 - want))
                if abs(t1 - want) > worst.get(kind, (-1.0, ""))[0]:
                    worst[kind] = (abs(t1 - want), f"{name}, {label}")
                stated = math.hypot(tilt_sd(base, base_sd, kind), tilt_sd(xy, sd, kind))
                within.setdefault(f"{group}: {kind} tilt", []).append(
                    abs(t1 - want) <= 2 * stated + 1e-9)
                sds.setdefault(f"{group}: {kind} tilt", []).append(tilt_sd(base, base_sd, kind))
    print(f"\n== passes={passes}: {len(names)} front photos; front outline stage "
          f"{np.median(times) * 1000:.1f} ms median per photo (max {max(times) * 1000:.1f})")
    print(f"{'points moved (% of height)':<36} {'median':>7} {'90th':>7} {'worst':>7} "
          f"{'n':>4} {'lost':>5}")
    for key, e in moves.items():
        e = np.array(e)
        print(f"{key:<36} {np.median(e):7.2f} {np.percentile(e, 90):7.2f} {e.max():7.2f} "
              f"{e.size:4d} {lost.get(key, 0):5d}")
    print(f"mirror: worst point difference {mirror_worst:.2e} working px")
    print(f"{'tilts moved (deg)':<36} {'median':>7} {'90th':>7} {'worst':>7} {'n':>4}")
    for key, e in sorted(tilts.items()):
        e = np.array(e)
        print(f"{key:<36} {np.median(e):7.2f} {np.percentile(e, 90):7.2f} {e.max():7.2f} "
              f"{e.size:4d}")
    for kind, (move, where) in sorted(worst.items()):
        print(f"largest {kind} tilt move: {move:.2f} deg ({where})")
    for key, ok in sorted(within.items()):
        print(f"{key}: {100 * np.mean(ok):.0f} % of {len(ok)} moves within 2 SD (both copies')"
              + (f"; the photo's own SD median {np.median(sds[key]):.2f}, max "
                 f"{np.max(sds[key]):.2f} deg" if key in sds else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, nargs="+", default=[DEFAULT_PASSES])
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep detections in this folder between runs "
                             "(benchmarks/outline_cache.py)")
    args = parser.parse_args()
    for passes in args.passes:
        run(passes, args.cache)


if __name__ == "__main__":
    main()
