"""Time per photo, stage by stage, next to bare MediaPipe inference.

For a 12 MP phone photo, a 780x1040 photo and a tiny 152x317 one. Three yardsticks:

- bare inference: `mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)
  .process(rgb)` on the working image `load_photo` decoded, nothing else;
- the same on the photo's full-resolution pixels, already decoded (MediaPipe scales them down
  itself);
- bare script: what a script using MediaPipe directly does with the same file:
  `cv2.imread`, BGR to RGB, `process` on the full-resolution pixels.

The stages of `analyze` at passes=1. On the calling thread: decode (`load_photo`), the base
pass with the segmentation graph (what detect_landmarks runs), the resolution floor (the
sharpness measure inside detect_landmarks), then view, findings, extent and metrics. Beside it,
on a second thread: the photo's straight edges (LSD); after the pass, the camera roll from
those edges (box-dependent part). Then:

- end to end: `analyze(path)` at passes=1, decode included, and its ratio to the yardsticks;
  its CPU time shows how much ran in parallel;
- at the default passes: one photo, and a front+side pair; the passes of one photo with a
  1-graph detector vs a 2-graph detector (the passes run on a thread pool sized by
  `detector.parallelism`).

Every figure is the median of --repeat runs after a warm-up; all ratios come from this one run.
The machine is shared: run it when `uptime` shows a low load, and look at the load printed.

    .venv/bin/python benchmarks/speed.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posture import AnalysisOptions, analyze  # noqa: E402
from posture.assessment import _expected_group, _frame  # noqa: E402
from posture.camera import find_straight_edges, roll_from_edges  # noqa: E402
from posture.images import load_photo  # noqa: E402
from posture.landmarks.mediapipe_pose import MediaPipePoseDetector  # noqa: E402
from posture.landmarks.passes import (  # noqa: E402
    DEFAULT_PASSES,
    _detector_pixel,
    detect_landmarks,
)
from posture.landmarks.quality import body_extent, frame_findings  # noqa: E402
from posture.landmarks.views import classify_view  # noqa: E402
from posture.metrics.compute import compute_metrics  # noqa: E402
from posture.metrics.reference import load_ranges  # noqa: E402
from posture.scene import one_blas_thread  # noqa: E402
from posture.sharpness import resolution_floor  # noqa: E402

SAMPLES = ROOT / "sample_images"
PHOTOS = {
    "12 MP phone (ana_test.jpg)": SAMPLES / "usize-backend" / "ana_test.jpg",
    "780x1040 (leo_test.jpeg)": SAMPLES / "usize-backend" / "leo_test.jpeg",
    "152x317 (front_image.jpg)": SAMPLES / "posture-measuremnent" / "front_image.jpg",
}
PAIR = (SAMPLES / "usize-backend" / "ana_test.jpg",
        SAMPLES / "usize-backend" / "ana_test_right.jpg")


def median_ms(fn, repeat: int, clock=time.perf_counter) -> float:
    """Median time per call after a warm-up (graphs created, caches filled). With
    clock=time.process_time: this process's CPU time, all threads (above wall time = work in
    parallel)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times) * 1000


def bare_pose():
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)


def per_photo(name: str, path: Path, detector, bare, repeat: int) -> None:
    photo = load_photo(path)
    rgb = photo.rgb
    one = AnalysisOptions(passes=1)
    det = detect_landmarks(rgb, detector, passes=1, scale=photo.scale)
    lm = det.landmarks
    view = classify_view(lm)
    ranges = load_ranges()
    edges = find_straight_edges(rgb)
    x0, y0, x1, y1 = det.crop_box

    def bare_script():
        bare.process(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))

    def rest():
        v = classify_view(lm)
        frame_findings(lm, one.min_visibility)
        body_extent(lm, det.mask, photo.scale)
        if v.view in _expected_group("front"):
            compute_metrics(lm, _frame(v), ranges=ranges, cm_per_px=None, roll_degrees=None,
                            min_visibility=one.min_visibility)

    def end_to_end():
        analyze(front=path, options=one, detector=detector)

    full_res = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    yardsticks = {
        "bare inference (working pixels)": median_ms(lambda: bare.process(rgb), repeat),
        "bare inference (full-res pixels)": median_ms(lambda: bare.process(full_res), repeat),
        "bare script (imread + process, full res)": median_ms(bare_script, repeat),
    }
    calling_thread = {
        "decode (load_photo)": median_ms(lambda: load_photo(path), repeat),
        "base pass, segmentation graph": median_ms(
            lambda: detector.detect(rgb, with_mask=True), repeat),
        "resolution floor (sharpness)": median_ms(
            lambda: resolution_floor(rgb[y0:y1, x0:x1], _detector_pixel(lm.pass_xy / photo.scale)),
            repeat),
        "view, findings, extent, metrics": median_ms(rest, repeat),
    }
    beside = {
        "straight edges (LSD)": median_ms(lambda: find_straight_edges(rgb), repeat),
        "camera roll from the edges": median_ms(
            lambda: roll_from_edges(edges, exclude_box=det.crop_box), repeat),
    }
    whole = {
        "analyze, passes=1 (wall)": median_ms(end_to_end, repeat),
        "analyze, passes=1 (CPU, all threads)": median_ms(end_to_end, repeat, time.process_time),
        f"analyze, passes={DEFAULT_PASSES} (wall)": median_ms(
            lambda: analyze(front=path, options=AnalysisOptions(), detector=detector),
            max(3, repeat // 2)),
    }
    print(f"\n== {name}: working image {rgb.shape[1]}x{rgb.shape[0]} "
          f"(original {photo.original_size[0]}x{photo.original_size[1]}), view {view.view}")
    inference = yardsticks["bare inference (working pixels)"]
    script = yardsticks["bare script (imread + process, full res)"]
    for title, group in (("yardsticks", yardsticks), ("calling thread", calling_thread),
                         ("beside, second thread", beside), ("whole", whole)):
        print(f"  {title}:")
        for key, ms in group.items():
            print(f"    {key:<42} {ms:7.1f} ms  {ms / inference:5.2f} x bare inference  "
                  f"{ms / script:5.2f} x bare script")
    print(f"  sum of the calling thread's stages {sum(calling_thread.values()):6.1f} ms, "
          f"of the second thread's {sum(beside.values()):6.1f} ms")


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
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    one_blas_thread()  # as analyze() sets it: every stage timed under the same setting
    detector = MediaPipePoseDetector(parallelism=2)
    bare = bare_pose()
    for name, path in PHOTOS.items():
        per_photo(name, path, detector, bare, args.repeat)
    passes_threads(PHOTOS["12 MP phone (ana_test.jpg)"], args.repeat)
    for passes in (1, DEFAULT_PASSES):
        options = AnalysisOptions(passes=passes)
        pair_ms = median_ms(lambda: analyze(*PAIR, options,  # noqa: B023 (called at once)
                                            detector=detector), max(3, args.repeat // 2))
        print(f"\n== front+side pair (ana, 12 MP each) at passes={passes}: "
              f"{pair_ms / 1000:.2f} s (target < 2 s)")
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
