"""`posture app --lan`: the app on the clinic network over TLS, everyone signing in.

The server listens on every address of this machine; the tests reach it on this machine's own
network address (as a tablet would; the kernel delivers it locally, nothing leaves the
machine) and on loopback.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from posture import auth
from posture.store import open_store
from posture.tls import self_signed_certificate
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port
from tests.test_signin_browser import network_address

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
pytestmark = pytest.mark.browser


def _env(tmp_path: Path) -> dict:
    # HOME and XDG_DATA_HOME in tmp: the self-signed certificate is kept under the user's data
    # folder, which must not be the developer's own.
    return {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "POSTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'records.db'}"}


def _posture(*args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "posture.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _served_fingerprint(port: int) -> str:
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _wait_https(port: int, server, timeout: float = 90) -> None:
    context = ssl._create_unverified_context()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"posture app --lan exited: {server.stdout.read()}")
        try:
            import urllib.request

            with urllib.request.urlopen(f"https://127.0.0.1:{port}/_stcore/health",
                                        timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("posture app --lan did not answer over HTTPS")


def _plain_http_answer(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET /_stcore/health HTTP/1.1\r\nHost: clinic\r\n\r\n")
        try:
            return s.recv(200)
        except (ConnectionResetError, socket.timeout):
            return b""


def test_lan_mode_needs_an_account_first(tmp_path):
    proc = _posture("app", "--lan", "--port", str(_free_port()), env=_env(tmp_path))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert out.strip().splitlines()[-1] == (
        "posture: the app on the network asks everyone to sign in, and there is no account "
        "yet: create one first with `posture users add NAME --admin`")


@pytest.mark.parametrize("certificate", ["generated", "clinic"])
def test_lan_mode_serves_https_only_and_asks_for_the_login(tmp_path, certificate):
    env = _env(tmp_path)
    store = open_store(env["POSTURE_DATABASE_URL"])
    auth.add_user(store, "therapist", PASSWORD)
    store.close()
    args = ["app", "--lan", "--port", str(port := _free_port()), "--no-preload"]
    if certificate == "clinic":
        own = self_signed_certificate(tmp_path / "clinic-ca", ("clinic-pc", "localhost"))
        args += ["--cert", str(own.cert_file), "--key", str(own.key_file)]
    server = _posture(*args, env=env)
    try:
        _wait_https(port, server)
        fingerprint = _served_fingerprint(port)
        if certificate == "clinic":
            assert fingerprint == own.fingerprint
        lan = network_address()
        for host in (lan, "127.0.0.1"):  # plain HTTP gets no answer, from anywhere
            assert not _plain_http_answer(host, port).startswith(b"HTTP")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(ignore_https_errors=True).new_page()
                page.goto(f"https://{lan}:{port}")
                expect(page.get_by_role("heading", name="Sign in")).to_be_visible(
                    timeout=30_000)
                expect(page.get_by_text("Intake", exact=True)).to_have_count(0)
                page.get_by_role("textbox", name="Name").fill("therapist")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_role("heading", name="Sign in")).to_have_count(
                    0, timeout=30_000)
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            out, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: the start-up lines are in already
            server.kill()
            out, _ = server.communicate()
    # The start-up lines tell the clinic where to point a tablet and what to check.
    assert f"SHA-256 fingerprint {fingerprint}" in out
    assert f"https://localhost:{port}" in out
