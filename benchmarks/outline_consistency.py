"""Consistency of the side view's anatomical points and their angles on the sample side photos.

For every side photo: rotate it by +/-3 and +/-5 deg (counter-clockwise positive), mirror it,
halve its resolution, find the points again, map them back to the original photo's pixels, and
compare with the unmodified photo's. A perfect system scores 0.

- points: distance, as % of the person's height (vertex to sole, else the landmarks' span);
  target: at most 1 %.
- angles: the CVA (a rotation adds the angle toward the face), the kyphosis and lordosis
  tangent angles (a rotation leaves them unchanged); target: at most 0.5 deg worst case. Also
  each tangent's own direction against the vertical (`tangent ils`, ...: what the angles are
  made of) and the flèches, as % of the person's height.
- mirror: every point and value should be exact (to 1e-6).
- honesty: the share of moves within 2 SD (both copies' stated SDs, per axis for points),
  and the median stated SD beside the moves (a stated SD far above the moves hides real
  changes between visits as surely as one below them invents some).

Rotations are run twice: "told the vertical" (the finder and the metrics are given the
rotation as the camera's roll, as a marked true vertical or the level correction would) and
"photo's vertical" (they are not: a camera rolled by 5 deg really moves an apex along a flat
back, and the flèches change with it).

    .venv/bin/python benchmarks/outline_consistency.py [--passes 1 18] [--cache DIR]
        [--rotations 3 -3 5 -5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.outline_cache import cached_detection  # noqa: E402
from posture.images import load_photo  # noqa: E402
from posture.landmarks.mediapipe_pose import default_detector  # noqa: E402
from posture.landmarks.passes import DEFAULT_PASSES  # noqa: E402
from posture.landmarks.views import classify_view  # noqa: E402
from posture.metrics.compute import Frame, compute_metrics  # noqa: E402
from posture.metrics.reference import load_ranges  # noqa: E402
from posture.outline.side import side_points  # noqa: E402
from tests.conftest import manifest, sample  # noqa: E402
from tests.photo_variants import half, mirrored, rotated, rotation_matrix  # noqa: E402

ANGLES = ("cva", "kyphosis_angle", "lordosis_angle")
# Depths in photo px, compared as % of the person's height (the _pct rows need C7, which none
# of the sample side photos shows)
DEPTHS = ("fleche_cervicale", "fleche_lombaire", "kyphosis_index")
TANGENTS = ("ict", "itl", "ils")
ROTATIONS = (3.0, -3.0, 5.0, -5.0)


def analyse(photo, detector, passes, roll=None, cache=None):
    """Points (working pixels of this photo), metric values by id, and the seconds taken by
    the outline stage alone."""
    d = cached_detection(photo.rgb, detector, passes, photo.scale, cache)
    view = classify_view(d.landmarks)
    t0 = time.perf_counter()
    pts = side_points(d.mask, photo.scale, d.landmarks, view.forward, photo.rgb,
                      roll_degrees=roll)
    dt = time.perf_counter() - t0
    res = compute_metrics(d.landmarks, Frame("side", forward=view.forward), ranges=load_ranges(),
                          roll_degrees=roll, points=pts)
    xy = {n: np.array([p.x, p.y]) / photo.scale for n, p in pts.items() if p.ok}
    sd = {n: np.array(p.sd_xy) / photo.scale for n, p in pts.items() if p.ok}
    height = (xy["sole"][1] - xy["vertex"][1] if "vertex" in xy and "sole" in xy
              else np.ptp(d.landmarks.xy[:, 1]) / photo.scale / 0.9)
    unc = {m.metric: m.uncertainty for m in res}
    values = {m.metric: m.value for m in res}
    for a in DEPTHS:
        if values.get(a) is not None:
            values[a] = values[a] / photo.scale / height * 100
            unc[a] = unc[a] / photo.scale / height * 100
    for t in TANGENTS:
        if t in xy and t + "_tangent" in xy:
            values[f"tangent {t}"], unc[f"tangent {t}"] = _direction(
                pts[t], pts[t + "_tangent"], view.forward, roll)
    return xy, values, view.forward, height, dt, sd, unc


def _direction(inflection, tip, forward, roll):
    """A tangent's direction against the true vertical (deg, + = running forward going down)
    and its SD: the tip's SD across the line beyond its inflection's, which it shares
    (`posture.metrics.compute._shared_errors`)."""
    dx, dy = tip.x - inflection.x, tip.y - inflection.y
    turn = np.deg2rad(roll or 0.0)  # into the true vertical's frame (roll: counter-clockwise)
    dx, dy = dx * np.cos(turn) - dy * np.sin(turn), dx * np.sin(turn) + dy * np.cos(turn)
    across = np.sqrt(max(tip.sd_xy[0] ** 2 - inflection.sd_xy[0] ** 2, 0.0))
    length2 = dx * dx + dy * dy
    return (float(np.degrees(np.arctan2(forward * dx, dy))),
            float(np.degrees(across * abs(dy) / length2)))


def run(passes: int, cache=None, rotations=ROTATIONS) -> None:
    det = default_detector()
    names = [r["file"].split("/")[-1] for r in manifest() if r["view"] == "side"]
    moves: dict[str, list[float]] = {}
    angle_err: dict[str, list[float]] = {}
    angle_in_sd: dict[str, list[bool]] = {}
    angle_sd: dict[str, list[float]] = {}
    missing: dict[str, int] = {}
    mirror_worst = 0.0
    in_sd: dict[str, list[float]] = {}
    worst_by_point: dict[str, dict[str, float]] = {}
    times = []

    def note(key, errs, store):
        store.setdefault(key, []).extend(errs)

    for name in names:
        photo = load_photo(sample(name))
        h, w = photo.rgb.shape[:2]
        base_xy, base_v, fwd, height, dt, base_sd, base_u = analyse(photo, det, passes,
                                                                    cache=cache)
        times.append(dt)
        variants = []
        for ang in rotations:
            m = rotation_matrix(w, h, ang)[0]
            inv = np.vstack([m, [0, 0, 1]])
            inv = np.linalg.inv(inv)[:2]
            back = lambda xy, inv=inv: (xy - 0.5) @ inv[:, :2].T + inv[:, 2] + 0.5  # noqa: E731
            for told in (True, False):
                label = f"rotation, {'told the vertical' if told else 'photo vertical'}"
                variants.append((label, rotated(photo, ang), back, ang if told else None,
                                 ang * fwd))
        variants.append(("mirror", mirrored(photo), lambda xy, w=w: np.array([w - xy[0], xy[1]]),
                         None, 0.0))
        f = w / half(photo).rgb.shape[1]
        variants.append(("half resolution", half(photo), lambda xy, f=f: xy * f, None, 0.0))
        for label, ph, back, roll, cva_shift in variants:
            xy, vals, _, _, dt, sd, unc = analyse(ph, det, passes, roll, cache)
            times.append(dt)
            errs = []
            for n, p in base_xy.items():
                if n in xy:
                    d = np.abs(back(xy[n]) - p)
                    errs.append(float(np.hypot(*d)) / height * 100)
                    scale_back = 1.0 if label.startswith("rotation") or label == "mirror" else f
                    within = np.all(d <= 2 * np.hypot(base_sd[n], sd[n] * scale_back) + 1e-9)
                    note(label, [float(within)], in_sd)
                    worst_by_point.setdefault(label, {})
                    worst_by_point[label][n] = max(worst_by_point[label].get(n, 0.0), errs[-1])
                    if label == "mirror":
                        mirror_worst = max(mirror_worst, errs[-1] * height / 100)
                else:
                    missing[label] = missing.get(label, 0) + 1
            note(label, errs, moves)
            for a in ANGLES + DEPTHS + tuple(f"tangent {t}" for t in TANGENTS):
                if base_v.get(a) is not None and vals.get(a) is not None:
                    shift = cva_shift if (a == "cva" and roll is None) else 0.0
                    if a.startswith("tangent") and roll is None:
                        shift = cva_shift  # against the photo's vertical: turned with it
                    if label == "mirror":
                        shift = 0.0
                    note(f"{label}: {a}", [abs(vals[a] - base_v[a] - shift)], angle_err)
                    stated = np.hypot(base_u.get(a) or 0.0, unc.get(a) or 0.0)
                    note(f"{label}: {a}", [abs(vals[a] - base_v[a] - shift) <= 2 * stated],
                         angle_in_sd)
                    note(f"{label}: {a}", [base_u.get(a) or 0.0], angle_sd)

    print(f"\n== passes={passes}: {len(names)} side photos; outline stage "
          f"{np.median(times) * 1000:.1f} ms median per photo (max {max(times) * 1000:.1f})")
    print(f"{'points moved (% of height)':<44} {'median':>7} {'90th':>7} {'worst':>7} {'lost':>5}")
    for key, e in moves.items():
        e = np.array(e)
        print(f"{key:<44} {np.median(e):7.2f} {np.percentile(e, 90):7.2f} {e.max():7.2f} "
              f"{missing.get(key, 0):5d}")
    print(f"mirror: worst point difference {mirror_worst:.2e} working px")
    for key, frac in in_sd.items():
        worst = sorted(worst_by_point.get(key, {}).items(), key=lambda kv: -kv[1])[:3]
        print(f"{key}: {100 * np.mean(frac):.0f} % of moves within 2 SD (both photos' SDs); "
              "worst: " + ", ".join(f"{n} {v:.2f} %" for n, v in worst))
    print(f"{'angles moved (deg; flèches: % height)':<44} {'median':>7} {'90th':>7} "
          f"{'worst':>7} {'n':>5} {'in 2 SD':>7} {'SD med':>6}")
    for key, e in angle_err.items():
        e = np.array(e)
        print(f"{key:<44} {np.median(e):7.2f} {np.percentile(e, 90):7.2f} {e.max():7.2f} "
              f"{e.size:5d} {100 * np.mean(angle_in_sd[key]):6.0f}% "
              f"{np.median(angle_sd[key]):6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, nargs="+", default=[DEFAULT_PASSES])
    ap.add_argument("--rotations", type=float, nargs="+", default=list(ROTATIONS),
                    help="degrees, counter-clockwise positive (more copies: more moves to "
                         "check the stated SDs against)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="keep detections in this folder between runs "
                         "(benchmarks/outline_cache.py)")
    args = ap.parse_args()
    for passes in args.passes:
        run(passes, args.cache, tuple(args.rotations))


if __name__ == "__main__":
    main()
