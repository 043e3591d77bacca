"""Is the reported uncertainty honest? Calibration against re-analysis of altered photos.

For each sample front photo, the photo is altered in ways that should not change a tilt (after
adding back a known rotation): rotated by +/-3 deg, half resolution. If the uncertainty u is a
standard error, the change d between the two analyses should behave like a normal variable of
SD sqrt(u1^2 + u2^2): the ratio |d| / sqrt(u1^2 + u2^2) should have a median near 0.67 and fall
below 2 about 95 % of the time. Also prints uncertainty on sharp vs blurred vs tiny photos.

    .venv/bin/python benchmarks/uncertainty.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posture import AnalysisOptions, analyze  # noqa: E402
from posture.errors import NoPersonError  # noqa: E402
from posture.images import Photo, load_photo  # noqa: E402
from tests.conftest import manifest, sample  # noqa: E402
from tests.photo_variants import half, rotated  # noqa: E402

METRICS = ("head_tilt", "shoulder_tilt", "pelvic_obliquity", "trunk_lateral_lean",
           "knee_frontal_angle_left", "knee_frontal_angle_right")


def blurred(photo: Photo, sigma: float) -> Photo:
    rgb = cv2.GaussianBlur(photo.rgb, (0, 0), sigma)
    rgb.setflags(write=False)
    return Photo(rgb, photo.original_size, photo.scale, photo.source_format, 1, photo.name)


def main() -> None:
    opts = AnalysisOptions(check_second_person=False)
    ratios: dict[str, list[float]] = {m: [] for m in METRICS}
    unc: dict[str, dict[str, list[float]]] = {k: {m: [] for m in METRICS}
                                              for k in ("sharp", "blur sigma 3", "tiny (1/6)")}
    fronts = [r["file"].split("/")[-1] for r in manifest() if r["view"] == "front"]
    for name in fronts:
        photo = load_photo(sample(name))
        base = analyze(front=photo, options=opts)
        for variant, shift in ((rotated(photo, 3.0), 3.0), (rotated(photo, -3.0), -3.0),
                               (half(photo), 0.0)):
            other = analyze(front=variant, options=opts)
            for m in METRICS:
                a, b = base.metric(m), other.metric(m)
                if a.value is None or b.value is None:
                    continue
                expected = shift if m in ("head_tilt", "shoulder_tilt", "pelvic_obliquity") \
                    else (-shift if m == "trunk_lateral_lean" else 0.0)
                if m.startswith("knee") and shift:
                    continue  # a rotation also changes nothing in a bend angle, but skip: noisy
                d = b.value - a.value - expected
                ratios[m].append(abs(d) / np.hypot(a.uncertainty, b.uncertainty))
        small = load_photo(sample(name), max_side=max(160, max(photo.rgb.shape) // 6))
        for label, variant in (("sharp", photo), ("blur sigma 3", blurred(photo, 3.0)),
                               ("tiny (1/6)", small)):
            try:
                res = base if label == "sharp" else analyze(front=variant, options=opts)
            except NoPersonError:
                print(f"{name}, {label}: no person found")
                continue
            for m in METRICS:
                if res.metric(m).uncertainty is not None:
                    unc[label][m].append(res.metric(m).uncertainty)
    print(f"{'metric':<26} {'median |d|/u':>13} {'share < 2':>10}   (ideal 0.67, 95 %)")
    for m, r in ratios.items():
        r = np.array(r)
        print(f"{m:<26} {np.median(r):13.2f} {np.mean(r < 2):10.0%}")
    print(f"\n{'median uncertainty (deg)':<26} " + " ".join(f"{k:>14}" for k in unc))
    for m in METRICS:
        print(f"{m:<26} " + " ".join(f"{np.median(unc[k][m]):14.2f}" for k in unc))


if __name__ == "__main__":
    main()
