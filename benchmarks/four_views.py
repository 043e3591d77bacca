"""Four photos a visit: what the combined rows are worth, and what the extra photos cost.

leo is the one sample person with a front, a left side and a right side photo; his back photo
is the stand-in the tests use (`tests/back_view.py`: the front photo mirrored, its landmarks
relabelled as a back view). Printed:

- time: analyze() on front + side, front + both sides, and all four, at the default passes
  (median of --repeat runs after a warm-up), and the time per photo relative to the pair's;
- consistency of the combined rows (`sides` mean, `left-right` and `front-back` differences)
  when every photo is rotated by +/-3 deg, halved in resolution, or mirrored (mirroring a left
  side photo makes a right side one: the sides trade places, so the mean must stay and the
  left-right difference change sign, exactly but for MediaPipe's own mirror asymmetry).

    .venv/bin/python benchmarks/four_views.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posture import AnalysisOptions, analyze  # noqa: E402
from posture.images import load_photo  # noqa: E402
from posture.landmarks.mediapipe_pose import default_detector  # noqa: E402
from tests.back_view import back_photo, seen_from_behind  # noqa: E402
from tests.conftest import sample  # noqa: E402
from tests.photo_variants import half, mirrored, rotated  # noqa: E402

OPTIONS = AnalysisOptions(height_cm=178, subject="leo")


def leo() -> dict:
    return {"front": load_photo(sample("leo_test.jpeg")),
            "back": back_photo(sample("leo_test.jpeg")),
            "left": load_photo(sample("leo_test_left.jpg")),
            "right": load_photo(sample("leo_test_right.jpg"))}


def analysed(photos: dict, detector):
    backs = [photos["back"]] if "back" in photos else []
    with pytest.MonkeyPatch.context() as mp, seen_from_behind(mp, *backs):
        return analyze(options=OPTIONS, detector=detector, **photos)


def combined(a) -> dict:
    return {(m.slot, m.metric): m for m in a.combined}


def timing(photos: dict, detector, repeat: int) -> None:
    sets = {"front + side": ("front", "right"), "front + both sides": ("front", "left", "right"),
            "all four": ("front", "back", "left", "right")}
    pair = None
    for label, slots in sets.items():
        chosen = {s: photos[s] for s in slots}
        analysed(chosen, detector)                                   # warm-up
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            analysed(chosen, detector)
            runs.append(time.perf_counter() - t0)
        per_photo = statistics.median(runs) / len(slots)
        pair = pair or per_photo
        print(f"{label:20} {statistics.median(runs):6.2f} s   {per_photo:5.2f} s a photo "
              f"({per_photo / pair:.2f} x the pair's)")


def moves(base: dict, other: dict, flip_sides: bool = False) -> dict[str, list[tuple]]:
    """By combined slot: (metric, unit, |move|) of every row both analyses made."""
    out: dict[str, list[tuple]] = {}
    for (slot, metric), m in base.items():
        twin = other.get((slot, metric))
        if twin is None:
            continue
        expected = -m.value if (flip_sides and slot == "left-right") else m.value
        out.setdefault(slot, []).append((metric, m.unit, abs(twin.value - expected)))
    return out


def report(title: str, found: dict[str, list[tuple]]) -> None:
    for slot, rows in sorted(found.items()):
        for unit in sorted({u for _, u, _ in rows}):
            d = np.array([v for _, u, v in rows if u == unit])
            worst = max((r for r in rows if r[1] == unit), key=lambda r: r[2])
            print(f"{title:18} {slot:11} {unit:4} n={len(d):2d}  median {np.median(d):5.2f}  "
                  f"worst {d.max():5.2f} ({worst[0]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    detector = default_detector()
    photos = leo()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    timing(photos, detector, args.repeat)
    base = combined(analysed(photos, detector))
    for slot in ("sides", "left-right", "front-back"):
        differs = [m.metric for (s, _), m in base.items() if s == slot and m.flag == "differs"]
        print(f"{slot}: {sum(1 for s, _ in base if s == slot)} rows"
              + (f", differing: {', '.join(differs)}" if slot != "sides" else ""))
    for degrees in (-3, 3):
        turned = {s: rotated(p, degrees) for s, p in photos.items()}
        report(f"rotated {degrees:+d} deg", moves(base, combined(analysed(turned, detector))))
    report("half resolution", moves(base, combined(analysed(
        {s: half(p) for s, p in photos.items()}, detector))))
    # The mirror: the left photo mirrored shows a right side, and the back stand-in mirrored
    # is the front photo itself (kept as the back: its landmarks are relabelled again).
    swapped = {"front": mirrored(photos["front"]), "back": mirrored(photos["back"]),
               "left": mirrored(photos["right"]), "right": mirrored(photos["left"])}
    flipped = combined(analysed(swapped, detector))
    report("mirrored", {s: r for s, r in moves(base, flipped, flip_sides=True).items()
                        if s != "front-back"})


if __name__ == "__main__":
    main()
