"""Time per photo, stage by stage, next to bare MediaPipe inference on the same pixels.

For a 12 MP phone photo, a 780x1040 photo and a tiny 152x317 one:

- decode: `load_photo` (header checks, draft JPEG decode, EXIF orientation, resize to 1280 px);
- bare: one `mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1).process(rgb)`
  on the decoded working image, nothing else (the yardstick);
- the parts of `analyze` at passes=1: base pass with the segmentation graph (what
  detect_landmarks runs), the same pass on the plain graph, the second-person check (one more
  inference on the photo with the patient hidden), the resolution floor (sharpness, computed
  inside detect_landmarks), camera-roll estimation (LSD line segments),
  reference ranges loading, view + findings + body extent + metrics;
- end to end: `analyze(path)` at passes=1 (decode included), and its ratio to bare;
- at the default passes: one photo, and a front+side pair, on 2 threads; the passes of one
  photo with a 1-graph detector vs a 2-graph detector (the passes run on a thread pool sized
  by `detector.parallelism`).

Every figure is the median of --repeat runs after a warm-up; all ratios come from this one run.
The machine is shared: run it when `uptime` shows a low load, and look at the load printed.

    .venv/bin/python benchmarks/speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posture import AnalysisOptions, analyze  # noqa: E402
from posture.assessment import _expected_group, _frame  # noqa: E402
from posture.camera import estimate_roll  # noqa: E402
from posture.images import load_photo  # noqa: E402
from posture.landmarks.mediapipe_pose import MediaPipePoseDetector  # noqa: E402
from posture.landmarks.passes import (  # noqa: E402
    DEFAULT_PASSES,
    _detector_pixel,
    detect_landmarks,
)
from posture.landmarks.quality import another_person, body_extent, frame_findings  # noqa: E402
from posture.landmarks.views import classify_view  # noqa: E402
from posture.metrics.compute import compute_metrics  # noqa: E402
from posture.metrics.reference import load_ranges  # noqa: E402
from posture.sharpness import resolution_floor  # noqa: E402

SAMPLES = ROOT / "sample_images"
PHOTOS = {
    "12 MP phone (ana_test.jpg)": SAMPLES / "usize-backend" / "ana_test.jpg",
    "780x1040 (leo_test.jpeg)": SAMPLES / "usize-backend" / "leo_test.jpeg",
    "152x317 (front_image.jpg)": SAMPLES / "posture-measuremnent" / "front_image.jpg",
}
PAIR = (SAMPLES / "usize-backend" / "ana_test.jpg",
        SAMPLES / "usize-backend" / "ana_test_right.jpg")


def median_ms(fn, repeat: int) -> float:
    fn()  # warm-up: graphs created, caches filled
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bare_pose():
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)


def per_photo(name: str, path: Path, detector, bare, repeat: int) -> dict[str, float]:
    photo = load_photo(path)
    rgb = photo.rgb
    one = AnalysisOptions(passes=1)
    det = detect_landmarks(rgb, detector, passes=1, scale=photo.scale)
    lm = det.landmarks
    view = classify_view(lm)
    ranges = load_ranges()
    x0, y0, x1, y1 = det.crop_box

    def rest():
        v = classify_view(lm)
        frame_findings(lm, one.min_visibility)
        body_extent(lm, det.mask, photo.scale)
        if v.view in _expected_group("front"):
            compute_metrics(lm, _frame(v), ranges=ranges, cm_per_px=None, roll_degrees=None,
                            min_visibility=one.min_visibility)

    t = {
        "decode": median_ms(lambda: load_photo(path), repeat),
        "bare MediaPipe": median_ms(lambda: bare.process(rgb), repeat),
        "base pass, segmentation graph": median_ms(
            lambda: detector.detect(rgb, with_mask=True), repeat),
        "base pass, plain graph": median_ms(lambda: detector.detect(rgb), repeat),
        "detect_landmarks(passes=1)": median_ms(
            lambda: detect_landmarks(rgb, detector, passes=1, scale=photo.scale), repeat),
        "  of which resolution floor (sharpness)": median_ms(
            lambda: resolution_floor(rgb[y0:y1, x0:x1], _detector_pixel(lm.pass_xy / photo.scale)),
            repeat),
        "second-person check": median_ms(
            lambda: another_person(rgb, lm.xy / photo.scale, detector), repeat),
        "camera roll": median_ms(lambda: estimate_roll(rgb, exclude_box=det.crop_box), repeat),
        "load reference ranges": median_ms(load_ranges, repeat),
        "view, findings, extent, metrics": median_ms(rest, repeat),
        "analyze, passes=1": median_ms(
            lambda: analyze(front=path, options=one, detector=detector), repeat),
        "analyze, passes=1, no 2nd-person check": median_ms(
            lambda: analyze(front=path, options=AnalysisOptions(passes=1,
                                                                check_second_person=False),
                            detector=detector), repeat),
        f"analyze, passes={DEFAULT_PASSES}": median_ms(
            lambda: analyze(front=path, options=AnalysisOptions(), detector=detector),
            max(3, repeat // 2)),
    }
    print(f"\n== {name}: working image {rgb.shape[1]}x{rgb.shape[0]} "
          f"(original {photo.original_size[0]}x{photo.original_size[1]}), view {view.view}")
    bare_ms = t["bare MediaPipe"]
    for key, ms in t.items():
        print(f"  {key:<42} {ms:8.1f} ms  {ms / bare_ms:5.2f} x bare")
    return t


def passes_threads(path: Path, repeat: int) -> None:
    """1 graph vs 2 graphs, runs interleaved so that a burst of load elsewhere hits both."""
    photo = load_photo(path)
    detectors = {graphs: MediaPipePoseDetector(parallelism=graphs) for graphs in (1, 2)}
    times: dict[int, list[float]] = {1: [], 2: []}
    for d in detectors.values():
        detect_landmarks(photo.rgb, d, passes=DEFAULT_PASSES, scale=photo.scale)  # warm-up
    for _ in range(repeat):
        for graphs, d in detectors.items():
            t0 = time.perf_counter()
            detect_landmarks(photo.rgb, d, passes=DEFAULT_PASSES, scale=photo.scale)
            times[graphs].append((time.perf_counter() - t0) * 1000)
    print(f"\n== {DEFAULT_PASSES} passes on {path.name}: detect_landmarks alone, "
          f"{repeat} interleaved runs")
    for graphs, ts in times.items():
        print(f"  {graphs} graph(s) / thread(s): median {statistics.median(ts):6.1f} ms, "
              f"best {min(ts):6.1f} ms")
    ratio = statistics.median(times[1]) / statistics.median(times[2])
    print(f"  speed-up on 2 threads: median {ratio:.2f} x, "
          f"best {min(times[1]) / min(times[2]):.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    detector = MediaPipePoseDetector(parallelism=2)
    bare = bare_pose()
    for name, path in PHOTOS.items():
        per_photo(name, path, detector, bare, args.repeat)
    passes_threads(PHOTOS["12 MP phone (ana_test.jpg)"], 2 * args.repeat)
    pair_ms = median_ms(lambda: analyze(*PAIR, AnalysisOptions(), detector=detector),
                        max(3, args.repeat // 2))
    print(f"\n== front+side pair (ana, 12 MP each) at passes={DEFAULT_PASSES}, 2 threads: "
          f"{pair_ms / 1000:.2f} s (target < 2 s)")
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
