"""Standing height from the outline (vertex to sole) against the earlier estimates.

For every sample side photo (and its mirror and half-resolution copy): the body's height in
pixels from the outline's vertex and sole, from the segmentation mask's top and bottom rows
(the previous default), and from the heel-to-eye distance / 0.936 (Drillis & Contini 1966).
Prints each and the relative differences.

    .venv/bin/python benchmarks/outline_height.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posture import AnalysisOptions, analyze  # noqa: E402
from posture.images import load_photo  # noqa: E402
from posture.landmarks.mediapipe_pose import default_detector  # noqa: E402
from posture.landmarks.passes import detect_landmarks  # noqa: E402
from posture.landmarks.quality import body_extent  # noqa: E402
from tests.conftest import manifest, sample  # noqa: E402


def main() -> None:
    det = default_detector()
    names = [r["file"].split("/")[-1] for r in manifest() if r["view"] == "side"]
    vs_mask, vs_ratio = [], []
    print(f"{'photo':<24} {'outline':>8} {'mask rows':>9} {'ratio':>8}  (px)")
    for name in names:
        photo = load_photo(sample(name))
        a = analyze(side=photo, options=AnalysisOptions(check_second_person=False), detector=det)
        p = a.side
        d = detect_landmarks(photo.rgb, det, scale=photo.scale)
        mask_rows = body_extent(d.landmarks, d.mask, photo.scale)
        ratio = body_extent(d.landmarks, None, photo.scale)
        if p.extent.method != "outline":
            sole = p.anatomical_points["sole"]
            print(f"{name:<24} {'-':>8} {mask_rows.height_px:9.1f} {ratio.height_px:8.1f}  "
                  f"(outline: vertex {p.anatomical_points['vertex'].status}, "
                  f"sole {sole.reason or sole.status})")
            continue
        h = p.extent.height_px
        vs_mask.append(100 * (h / mask_rows.height_px - 1))
        vs_ratio.append(100 * (h / ratio.height_px - 1))
        print(f"{name:<24} {h:8.1f} {mask_rows.height_px:9.1f} {ratio.height_px:8.1f}  "
              f"outline vs mask rows {vs_mask[-1]:+.2f} %, vs ratio {vs_ratio[-1]:+.1f} %")
    if vs_mask:
        print(f"outline vs mask rows: median {np.median(np.abs(vs_mask)):.2f} %, "
              f"worst {np.max(np.abs(vs_mask)):.2f} %; vs eye-height ratio: median "
              f"{np.median(np.abs(vs_ratio)):.1f} %, range {min(vs_ratio):+.1f} to "
              f"{max(vs_ratio):+.1f} % (n={len(vs_mask)})")


if __name__ == "__main__":
    main()
