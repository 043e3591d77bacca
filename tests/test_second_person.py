"""The second-person check: the person count that runs beside the landmarks, and its shortcut."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from posture import AnalysisOptions, analyze
from posture.images import load_photo
from posture.landmarks.quality import another_person
from tests.bad_inputs import make_bad_inputs
from tests.conftest import sample


class CountingDetector:
    """The real detector, counting the calls of each kind."""

    def __init__(self, inner, detect_delay: float = 0.0):
        self._inner = inner
        self._delay = detect_delay
        self.parallelism = inner.parallelism
        self.calls = {"detect": 0, "count_people": 0}
        self.counted_on: set[int] = set()  # threads count_people ran on
        self._lock = threading.Lock()

    def detect(self, rgb, *, with_mask=False):
        with self._lock:
            self.calls["detect"] += 1
        time.sleep(self._delay)
        return self._inner.detect(rgb, with_mask=with_mask)

    def count_people(self, rgb):
        with self._lock:
            self.calls["count_people"] += 1
            self.counted_on.add(threading.get_ident())
        return self._inner.count_people(rgb)


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    return make_bad_inputs(tmp_path_factory.mktemp("corpus"))["two_people"]


@pytest.mark.parametrize("name", ["leo_test.jpeg", "ana_test_right.jpg", "front_image.jpg"])
def test_one_person_photos_count_one(detector, name):
    assert detector.count_people(load_photo(sample(name)).rgb) == 1


def test_two_people_count_two(detector, two_people):
    assert detector.count_people(load_photo(two_people).rgb) == 2


def test_an_empty_scene_counts_nobody(detector):
    assert detector.count_people(np.full((480, 360, 3), 127, np.uint8)) == 0


def test_one_person_seen_skips_the_look_again(detector):
    photo = load_photo(sample("leo_test.jpeg"))
    counting = CountingDetector(detector)
    xy = counting.detect(photo.rgb).xy
    assert not another_person(photo.rgb, xy, counting, people_seen=1)
    assert counting.calls["detect"] == 1  # only the call above


def test_two_people_seen_are_confirmed_by_the_look_again(detector, two_people):
    photo = load_photo(two_people)
    counting = CountingDetector(detector)
    xy = counting.detect(photo.rgb).xy
    assert another_person(photo.rgb, xy, counting, people_seen=2)
    assert counting.calls["detect"] == 2


def test_a_count_that_the_look_again_does_not_confirm_is_no_finding(detector):
    # The count is only a hint: a photo of one person said to hold two is checked, and cleared.
    photo = load_photo(sample("leo_test.jpeg"))
    xy = detector.detect(photo.rgb).xy
    assert not another_person(photo.rgb, xy, detector, people_seen=2)


def test_analyze_of_one_person_at_one_pass_runs_the_model_once(detector):
    counting = CountingDetector(detector)
    result = analyze(front=sample("leo_test.jpeg"), options=AnalysisOptions(passes=1),
                     detector=counting)
    assert counting.calls == {"detect": 1, "count_people": 1}
    assert "multiple_people" not in [f.code for f in result.all_findings()]


def test_analyze_of_two_people_warns(detector, two_people):
    counting = CountingDetector(detector)
    result = analyze(front=two_people, options=AnalysisOptions(passes=1), detector=counting)
    assert counting.calls == {"detect": 2, "count_people": 1}
    assert "multiple_people" in [f.code for f in result.all_findings()]


def test_switching_the_check_off_counts_nobody(detector):
    counting = CountingDetector(detector)
    analyze(front=sample("leo_test.jpeg"),
            options=AnalysisOptions(passes=1, check_second_person=False), detector=counting)
    assert counting.calls == {"detect": 1, "count_people": 0}


def rows_without_time(result):
    return [{k: v for k, v in r.items() if k != "analysed_at"} for r in result.rows()]


def test_the_scene_work_runs_beside_on_two_cores_and_inline_on_one(detector):
    two_cores = CountingDetector(detector, detect_delay=0.3)  # the pose model finishes last
    one_core = CountingDetector(detector)
    one_core.parallelism = 1
    photos = (sample("ana_test.jpg"), sample("ana_test_right.jpg"))
    beside = analyze(*photos, options=AnalysisOptions(passes=1), detector=two_cores)
    inline = analyze(*photos, options=AnalysisOptions(passes=1), detector=one_core)
    assert threading.get_ident() not in two_cores.counted_on
    assert one_core.counted_on == {threading.get_ident()}
    assert rows_without_time(inline) == rows_without_time(beside)
    assert inline.front.roll == beside.front.roll and inline.side.roll == beside.side.roll


def test_the_calling_thread_counts_the_people_when_the_edges_take_longer(detector, monkeypatch):
    import posture.scene

    find = posture.scene.find_straight_edges

    def slow_edges(rgb):
        time.sleep(0.3)
        return find(rgb)

    monkeypatch.setattr(posture.scene, "find_straight_edges", slow_edges)
    counting = CountingDetector(detector)
    photo = sample("leo_test.jpeg")
    result = analyze(front=photo, options=AnalysisOptions(passes=1), detector=counting)
    assert counting.counted_on == {threading.get_ident()}
    assert counting.calls == {"detect": 1, "count_people": 1}
    monkeypatch.undo()
    again = analyze(front=photo, options=AnalysisOptions(passes=1), detector=detector)
    assert rows_without_time(result) == rows_without_time(again)


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
