"""It installs as a package and starts offline.

- `scripts/run` on a set-up checkout starts the app with the package index unreachable
  (PIP_INDEX_URL at a closed local port), also after pyproject.toml changed; `scripts/setup`
  runs no pip at all when nothing changed.
- `pip install .` into a fresh venv, then `posture app` run from a folder outside the checkout
  serves the intake page from the installed package, on localhost only.

The fresh venvs see the test environment's installed dependencies through a .pth file (no
gigabyte of downloads); what they install themselves is `posture`. Setting a checkout up, and
`pip install .`, build the package: setuptools comes from the package index (or pip's cache),
as for any first install. Each server is stopped by its process handle.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_index() -> str:
    """A package index URL nothing answers at: a local port just freed."""
    return f"http://127.0.0.1:{free_port()}/simple"


def checkout_copy(dest: Path) -> Path:
    """The files a clinic's clone has that setup and the app use, copied (links kept)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "app.py"):
        shutil.copy(ROOT / name, dest / name)
    for name in ("posture", "scripts", ".streamlit"):
        shutil.copytree(ROOT / name, dest / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def venv_seeing_our_dependencies(path: Path) -> Path:
    """A new venv (no pip of its own) that sees this environment's installed packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # A plain path line: this environment's own .pth files (its editable posture) stay unread.
    Path(purelib, "test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


def clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH: what runs is the installed package, not this checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "POSTURE_DATABASE_URL")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited ({server.returncode}):\n"
                                 + log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no answer at {url} within {START_TIMEOUT_S} s:\n"
                         + log.read_text(errors="replace")[-3000:])


def wait_for_line(log: Path, line: str) -> None:
    """The server's line saying where it listens, printed once it answers (bounded wait)."""
    deadline = time.monotonic() + 30
    while line not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no '{line}' in:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def start(command: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def set_up_checkout(tmp_path_factory) -> Path:
    """A checkout copy after `scripts/setup` (the one step that may reach the index)."""
    checkout = checkout_copy(tmp_path_factory.mktemp("clinic") / "posture")
    venv_seeing_our_dependencies(checkout / ".venv")
    done = subprocess.run(["scripts/setup"], cwd=checkout, env=clean_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (checkout / ".venv" / "bin" / "posture").exists()
    return checkout


def test_setup_runs_no_pip_once_set_up(set_up_checkout, tmp_path):
    # A pip configuration file that cannot be read makes every pip command fail.
    broken = tmp_path / "pip.conf"
    broken.write_text("[global\nthis is not a config file", encoding="utf-8")
    done = subprocess.run(["scripts/setup"], cwd=set_up_checkout, capture_output=True,
                          text=True, timeout=120,
                          env=clean_env(PIP_CONFIG_FILE=str(broken),
                                        PIP_INDEX_URL=closed_index()))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def run_offline_and_check_health(checkout: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "run.log"
    server = start(["scripts/run", "--port", str(port)], checkout,
                   clean_env(PIP_INDEX_URL=closed_index(), PIP_FIND_LINKS="",
                             POSTURE_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}"), log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, log)
        wait_for_line(log, f"posture: the app is at http://localhost:{port} (this computer "
                           "only)")
    finally:
        stop(server)
    assert "Traceback" not in log.read_text(errors="replace")


def test_scripts_run_starts_with_the_package_index_unreachable(set_up_checkout, tmp_path):
    run_offline_and_check_health(set_up_checkout, tmp_path)


def test_scripts_run_starts_offline_after_pyproject_changed(set_up_checkout, tmp_path):
    # A pull that changed pyproject.toml without new dependencies: re-installed offline.
    pyproject = set_up_checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + "\n# pulled\n",
                         encoding="utf-8")
    stamp = (set_up_checkout / ".venv" / "posture-setup.stamp").read_text()
    run_offline_and_check_health(set_up_checkout, tmp_path)
    assert (set_up_checkout / ".venv" / "posture-setup.stamp").read_text() != stamp


def test_pip_install_then_posture_app_serves_the_intake_page(tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    source = checkout_copy(tmp_path / "source")
    python = venv_seeing_our_dependencies(tmp_path / "venv")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                           str(source)], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    shutil.rmtree(source)  # nothing of a checkout is left to serve from

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_env(POSTURE_DATABASE_URL=f"sqlite:///{tmp_path / 'r.db'}")
    where = subprocess.run([str(python), "-c", "import posture; print(posture.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    installed = Path(where.stdout.strip())
    assert installed.is_relative_to(tmp_path / "venv")
    assert (installed.parent / "app" / ".streamlit" / "config.toml").is_file()
    # The installed package analyses too: its data files (reference ranges, detectable
    # changes, fonts for the annotated photos) came with it.
    from tests.conftest import sample

    analysed = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "posture"), "analyze", "--front",
         str(sample("leo_test.jpeg")), "--passes", "1", "--out", str(elsewhere / "out")],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert analysed.returncode == 0, analysed.stderr
    assert (elsewhere / "out" / "annotated_front.png").stat().st_size > 0
    assert "Shoulder tilt" in analysed.stdout

    port = free_port()
    log = tmp_path / "app.log"
    server = start([str(tmp_path / "venv" / "bin" / "posture"), "app", "--port", str(port)],
                   elsewhere, env, log)
    try:
        url = f"http://localhost:{port}"
        wait_healthy(url, server, log)
        wait_for_line(log, f"posture: the app is at {url} (this computer only)")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(url)
                page.get_by_text("Patient ID", exact=True).wait_for(timeout=60_000)
                # The page draws in steps: wait for the second uploader, not only the first field.
                page.locator('[data-testid="stFileUploader"]').nth(1).wait_for(timeout=60_000)
                assert page.locator('[data-testid="stException"]').count() == 0
            finally:
                browser.close()
        # The packaged settings apply: localhost only (Streamlit's default is every address).
        other = outside_address()
        if other is not None:
            with socket.socket() as s, pytest.raises(OSError):
                s.settimeout(3)
                s.connect((other, port))
    finally:
        stop(server)
    assert "Traceback" not in log.read_text(errors="replace")


def outside_address() -> str | None:
    """This machine's address on its network, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only picks the interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def posture_app(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "posture.cli", "app", *args],
                          capture_output=True, text=True, timeout=120)


def test_posture_app_on_a_busy_port_says_so_in_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = posture_app("--port", str(port))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and f"port {port} is in use" in done.stderr
    assert "--port N" in done.stderr


def test_posture_app_refuses_a_port_out_of_range():
    done = posture_app("--port", "70000")
    assert done.returncode == 2
    assert done.stderr.strip() == "posture: --port must be between 1 and 65535, not 70000"
