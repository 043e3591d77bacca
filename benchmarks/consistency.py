"""Consistency of frontal metrics on the sample front photos (issue #2's precision goal).

For every front photo: rotate it by +/-4 deg (counter-clockwise positive), mirror it, halve its
resolution, and compare each metric with what the unmodified photo gives (plus the rotation, or
negated for the mirror). A perfect system scores 0. Prints median and worst error per check, at
1 pass and at the default (or the --passes given).

    .venv/bin/python benchmarks/consistency.py [--passes 1 10] [--extra-angles]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posture import AnalysisOptions, analyze  # noqa: E402
from posture.images import load_photo  # noqa: E402
from posture.landmarks.passes import DEFAULT_PASSES  # noqa: E402
from tests.conftest import manifest, sample  # noqa: E402
from tests.photo_variants import half, mirrored, rotated  # noqa: E402

TILTS = ("head_tilt", "shoulder_tilt", "pelvic_obliquity")
ANGLES = TILTS + ("shoulder_pelvis_angle", "trunk_lateral_lean", "knee_frontal_angle_left",
                  "knee_frontal_angle_right")
# The levels chain's own levels turn with the photo like the tilts; the shifts and the head's
# rotation do not turn with it (a shift is measured against the photo's vertical, so it changes
# by geometry under rotation: only mirror and half resolution apply to them).
CHAIN_TILTS = ("ankle_tilt", "knee_tilt", "eye_tilt")
UNTURNED = ("pelvic_lateral_shift_pct", "shoulder_lateral_shift_pct", "head_rotation")


def run(passes: int, angles: list[float]) -> dict[str, list[float]]:
    opts = AnalysisOptions(passes=passes, check_second_person=False)
    errors: dict[str, list[float]] = {}
    fronts = [r["file"].split("/")[-1] for r in manifest() if r["view"] == "front"]
    t0 = time.perf_counter()
    for name in fronts:
        photo = load_photo(sample(name))
        base = analyze(front=photo, options=opts)
        value = lambda res, m: res.metric(m).value  # noqa: E731
        for angle in angles:
            r = analyze(front=rotated(photo, angle), options=opts)
            for m in TILTS + CHAIN_TILTS:
                errors.setdefault(f"rotation: {m}", []).append(
                    abs(value(r, m) - value(base, m) - angle))
            errors.setdefault("rotation: head_rotation", []).append(
                abs(value(r, "head_rotation") - value(base, "head_rotation")))
        r = analyze(front=mirrored(photo), options=opts)
        for m in TILTS + CHAIN_TILTS + UNTURNED:
            errors.setdefault(f"mirror: {m}", []).append(abs(value(r, m) + value(base, m)))
        r = analyze(front=half(photo), options=opts)
        for m in ANGLES + CHAIN_TILTS + UNTURNED:
            errors.setdefault(f"half-res: {m}", []).append(abs(value(r, m) - value(base, m)))
    elapsed = time.perf_counter() - t0
    n_analyses = len(fronts) * (len(angles) + 3)
    print(f"\n== passes={passes}: {len(fronts)} front photos, {n_analyses} analyses, "
          f"{elapsed / n_analyses * 1000:.0f} ms per photo")
    print(f"{'check':<42} {'median':>7} {'90th':>7} {'worst':>7}   (deg; shifts in %)")
    for key, errs in errors.items():
        e = np.array(errs)
        print(f"{key:<42} {np.median(e):7.2f} {np.percentile(e, 90):7.2f} {e.max():7.2f}")
    tilt_errs = np.concatenate([errors[k] for k in errors
                                if k.split(": ")[1] in TILTS])
    print(f"{'ALL frontal tilts, every check':<42} {np.median(tilt_errs):7.2f} "
          f"{np.percentile(tilt_errs, 90):7.2f} {tilt_errs.max():7.2f}")
    return errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, nargs="+", default=[1, DEFAULT_PASSES])
    ap.add_argument("--extra-angles", action="store_true",
                    help="also rotate by +/-3 and +/-5 deg (off the pass grid)")
    args = ap.parse_args()
    angles = [4.0, -4.0] + ([3.0, -3.0, 5.0, -5.0] if args.extra_angles else [])
    for passes in args.passes:
        run(passes, angles)


if __name__ == "__main__":
    main()
