"""Server start to the first result: `posture app` driven by a real browser (Playwright with
Debian's Chromium), a fresh server each round.

Per round: start `posture app` (t = 0), wait until it answers /_stcore/health, open the intake
page, wait `--think` seconds (a clinician choosing the photos; 0 = upload at once, the worst
case for preloading), upload the 12 MP ana front photo and wait for its measures (the first
result: the page analyses a photo as soon as it is there), then the side photo and wait for
the pair's. Printed: median seconds from server start to health, to the page and to the first
result, from the upload to the first result, and from the first result (side uploaded) to the
pair's, with the model preloaded at start (default) and without (`posture app --no-preload`);
and the server process's CPU time from the upload to the first result (Linux).

    .venv/bin/python benchmarks/app_first_result.py [--repeat 3] [--think 0 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from tests.conftest import PAIRS, sample  # noqa: E402
from tests.test_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    RESULTS_TIMEOUT_MS,
    _free_port,
    _wait_until_healthy,
)


def one_round(browser, preload: bool, think: float, folder: Path) -> dict[str, float]:
    port = _free_port()
    url = f"http://localhost:{port}"
    command = [sys.executable, "-m", "posture.cli", "app", "--port", str(port)]
    if not preload:
        command.append("--no-preload")
    env = {**os.environ, "POSTURE_DATABASE_URL": f"sqlite:///{folder / f'{port}.db'}"}
    with open(folder / f"{port}.log", "wb") as log:
        t0 = time.perf_counter()
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(url, server)
        t_health = time.perf_counter()
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.get_by_text("Patient ID", exact=True).wait_for(timeout=60_000)
        t_page = time.perf_counter()
        time.sleep(think)
        front, side = PAIRS["ana"]
        t_upload, cpu_upload = time.perf_counter(), cpu_seconds(server.pid)
        upload(page, 0, sample(front))
        # The page analyses the front photo as soon as it is there: the first result.
        page.locator('[data-testid="stTable"]').first.wait_for(timeout=RESULTS_TIMEOUT_MS)
        t_first, cpu_first = time.perf_counter(), cpu_seconds(server.pid)
        upload(page, 1, sample(side))
        # The pair (front and side again, together): the side photo's measures are shown.
        page.get_by_text("Plumb line: hip").first.wait_for(timeout=RESULTS_TIMEOUT_MS)
        t_pair = time.perf_counter()
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"health": t_health - t0, "page": t_page - t0, "first result": t_first - t0,
            "upload to first result": t_first - t_upload, "side upload to pair": t_pair - t_first,
            "server CPU, upload to first result": cpu_first - cpu_upload}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): a figure a busy machine
    inflates far less than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upload(page, i: int, photo: Path) -> None:
    """As tests.test_browser.upload_sample_pair, for one photo (retried if React lost it)."""
    uploader = page.locator('[data-testid="stFileUploader"]').nth(i)
    for _attempt in range(3):
        uploader.locator('input[type="file"]').set_input_files(str(photo))
        try:
            uploader.get_by_text(photo.name, exact=True).wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the {photo.name} upload never showed in the page")


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--think", type=float, nargs="+", default=[0.0, 10.0],
                        help="seconds between the page showing and the upload")
    args = parser.parse_args()
    print("load average at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for think in args.think:
                for preload in (True, False):
                    runs = [one_round(browser, preload, think, Path(tmp))
                            for _ in range(args.repeat)]
                    print(f"\n== {'preloaded at start' if preload else 'no preload'}, upload "
                          f"{think:g} s after the page showed, median of {args.repeat} fresh "
                          "servers (seconds from server start)")
                    for key in ("health", "page", "first result", "upload to first result",
                                "side upload to pair", "server CPU, upload to first result"):
                        values = sorted(r[key] for r in runs)
                        print(f"  {key:<36} {statistics.median(values):6.2f}   "
                              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
        finally:
            browser.close()
    print("\nload average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
