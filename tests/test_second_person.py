"""The second-person check (the pose graph's own person count, and its shortcut), and the scene
work that runs beside the pose model."""

from __future__ import annotations

import threading
import time

import mediapipe as mp
import numpy as np
import pytest

from posture import AnalysisOptions, analyze
from posture.images import load_photo
from posture.landmarks.quality import another_person
from tests.bad_inputs import make_bad_inputs
from tests.conftest import sample


class CountingDetector:
    """The real detector, counting its calls."""

    def __init__(self, inner):
        self._inner = inner
        self.parallelism = inner.parallelism
        self.calls = 0
        self._lock = threading.Lock()

    def detect(self, rgb, *, with_mask=False):
        with self._lock:
            self.calls += 1
        return self._inner.detect(rgb, with_mask=with_mask)


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    return make_bad_inputs(tmp_path_factory.mktemp("corpus"))["two_people"]


@pytest.mark.parametrize("name", ["leo_test.jpeg", "ana_test_right.jpg", "front_image.jpg"])
def test_one_person_photos_count_one(detector, name):
    assert detector.detect(load_photo(sample(name)).rgb).people == 1


def test_two_people_count_two(detector, two_people):
    assert detector.detect(load_photo(two_people).rgb, with_mask=True).people == 2


@pytest.mark.parametrize("name", ["leo_test.jpeg", "front_image.jpg"])
@pytest.mark.parametrize("with_mask", [False, True])
def test_the_extra_output_changes_nothing_else(detector, name, with_mask):
    """The graph is MediaPipe Pose's own, with one more output: the same landmarks and mask."""
    rgb = load_photo(sample(name)).rgb
    ours = detector.detect(rgb, with_mask=with_mask)
    pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                                  enable_segmentation=with_mask)
    theirs = pose.process(rgb)
    h, w = rgb.shape[:2]
    xy = np.array([(p.x * w, p.y * h) for p in theirs.pose_landmarks.landmark])
    np.testing.assert_array_equal(ours.xy, xy)
    if with_mask:
        np.testing.assert_array_equal(ours.mask, np.asarray(theirs.segmentation_mask))


def test_one_person_seen_skips_the_look_again(detector):
    photo = load_photo(sample("leo_test.jpeg"))
    counting = CountingDetector(detector)
    xy = counting.detect(photo.rgb).xy
    assert not another_person(photo.rgb, xy, counting, people_seen=1)
    assert counting.calls == 1  # only the call above


def test_two_people_seen_are_confirmed_by_the_look_again(detector, two_people):
    photo = load_photo(two_people)
    counting = CountingDetector(detector)
    xy = counting.detect(photo.rgb).xy
    assert another_person(photo.rgb, xy, counting, people_seen=2)
    assert counting.calls == 2


def test_a_count_that_the_look_again_does_not_confirm_is_no_finding(detector):
    # The count is only a hint: a photo of one person said to hold two is checked, and cleared.
    photo = load_photo(sample("leo_test.jpeg"))
    xy = detector.detect(photo.rgb).xy
    assert not another_person(photo.rgb, xy, detector, people_seen=2)


def test_analyze_of_one_person_at_one_pass_runs_the_model_once(detector):
    counting = CountingDetector(detector)
    result = analyze(front=sample("leo_test.jpeg"), options=AnalysisOptions(passes=1),
                     detector=counting)
    assert counting.calls == 1
    assert "multiple_people" not in [f.code for f in result.all_findings()]


def test_analyze_of_two_people_warns(detector, two_people):
    counting = CountingDetector(detector)
    result = analyze(front=two_people, options=AnalysisOptions(passes=1), detector=counting)
    assert counting.calls == 2
    assert "multiple_people" in [f.code for f in result.all_findings()]


def rows_without_time(result):
    return [{k: v for k, v in r.items() if k != "analysed_at"} for r in result.rows()]


@pytest.fixture
def edges_threads(monkeypatch):
    """The threads `find_straight_edges` ran on during the test."""
    import posture.scene

    find, seen = posture.scene.find_straight_edges, set()

    def recorded(rgb):
        seen.add(threading.get_ident())
        return find(rgb)

    monkeypatch.setattr(posture.scene, "find_straight_edges", recorded)
    return seen


def test_the_scene_work_runs_beside_on_two_cores_and_inline_on_one(detector, edges_threads):
    photos = (sample("ana_test.jpg"), sample("ana_test_right.jpg"))
    beside = analyze(*photos, options=AnalysisOptions(passes=1), detector=detector)
    assert edges_threads and threading.get_ident() not in edges_threads
    edges_threads.clear()
    one_core = CountingDetector(detector)
    one_core.parallelism = 1
    inline = analyze(*photos, options=AnalysisOptions(passes=1), detector=one_core)
    assert edges_threads == {threading.get_ident()}
    assert rows_without_time(inline) == rows_without_time(beside)
    assert inline.front.roll == beside.front.roll and inline.side.roll == beside.side.roll


def test_with_every_thread_beside_busy_the_caller_finds_the_edges(detector, edges_threads):
    from posture.scene import _beside_pool

    pool = _beside_pool()
    release = threading.Event()
    blockers = [pool.submit(release.wait, 30) for _ in range(pool._max_workers)]
    try:
        result = analyze(front=sample("leo_test.jpeg"), options=AnalysisOptions(passes=1),
                         detector=detector)
    finally:
        release.set()
    for b in blockers:
        b.result(timeout=30)
    assert edges_threads == {threading.get_ident()}
    assert result.front.roll is not None


def test_scene_work_runs_once_and_hands_an_error_to_every_caller():
    from posture.scene import _Once

    calls = []

    def fails():
        calls.append(1)
        raise ValueError("no edges")

    once = _Once(fails)
    for _ in range(2):
        with pytest.raises(ValueError, match="no edges"):
            once.result()
    assert calls == [1]


def test_once_waits_for_the_thread_that_took_it():
    from posture.scene import _Once

    started = threading.Event()

    def slow():
        started.set()
        time.sleep(0.2)
        return 42

    once = _Once(slow)
    thread = threading.Thread(target=once.run)
    thread.start()
    started.wait(5)
    assert once.result() == 42  # waited, did not run it a second time
    thread.join()
