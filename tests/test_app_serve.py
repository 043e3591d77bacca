"""The model loads when the app's server starts, not on the first upload."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from posture.app import serve
from posture.landmarks.mediapipe_pose import MediaPipePoseDetector, default_detector
from tests.conftest import sample
from tests.test_packaging import free_port, stop, wait_for_line


def test_warm_up_creates_every_graph_an_analysis_uses():
    detector = MediaPipePoseDetector(parallelism=2)
    created = []
    real_new = detector._new_graph

    def counting(with_mask):
        created.append(with_mask)
        return real_new(with_mask)

    detector._new_graph = counting
    detector.warm_up()
    assert sorted(created) == [False, False, True, True]
    # Analyses from then on, two at a time as the passes run, create nothing more.
    from PIL import Image

    rgb = np.asarray(Image.open(sample("leo_test.jpeg")).convert("RGB"))
    assert detector.detect(rgb) is not None and detector.detect(rgb, with_mask=True)
    assert len(created) == 4


def test_preload_starts_once_per_process_and_warms_the_apps_detector():
    said = []
    thread = serve.preload(said.append)
    assert serve.preload() is thread   # later calls (each page run) start nothing more
    thread.join(timeout=300)
    assert not thread.is_alive()
    detector = default_detector()
    assert detector._created == {False: detector.parallelism, True: detector.parallelism}


def test_no_preload_means_no_preload_on_page_views_either(monkeypatch):
    monkeypatch.setattr(serve, "_preload", None)
    monkeypatch.setattr(serve, "_preload_off", True)   # as `posture app --no-preload` sets
    assert serve.preload() is None
    assert serve._preload is None


def test_posture_app_loads_the_model_at_start_before_any_page_view(tmp_path):
    port = free_port()
    log = tmp_path / "app.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "posture.cli", "app", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for_line(log, f"posture: the app is at http://localhost:{port}")
        deadline = time.monotonic() + 300
        while "posture: pose model loaded in" not in log.read_text(errors="replace"):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    finally:
        stop(server)
    text = log.read_text(errors="replace")
    # MediaPipe's native start-up chatter is filtered from the server's log.
    assert "XNNPACK" not in text and "Traceback" not in text
