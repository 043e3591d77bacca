"""Sign-in in a real browser: `streamlit run app.py` on this machine's own network address
(not loopback) and on localhost, driven by Playwright in Debian's Chromium.

No traffic leaves the machine: the browser connects to an address of this machine, which the
kernel delivers locally. If the machine has no non-loopback IPv4 address the tests fail,
saying so (CI machines have one).
"""

from __future__ import annotations

import csv
import fcntl
import io
import ipaddress
import os
import re
import socket
import struct
import subprocess
import sys
import time
from datetime import date

import pytest
from playwright.sync_api import expect

from posture import auth
from posture.store import audit_lines, open_store
from tests.test_browser import (  # the same server start and browser as the app's tests
    ROOT,
    SAMPLES,
    _wait_until_healthy,
    stop_server,
)

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
TIMEOUT_MS = 30_000


def network_address() -> str:
    """An IPv4 address of this machine that is not loopback (SIOCGIFADDR on each interface)."""
    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _index, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), siocgifaddr,
                                     struct.pack("256s", name[:15].encode()))
            except OSError:
                continue            # no IPv4 address on this interface
            address = socket.inet_ntoa(packed[20:24])
            if not ipaddress.ip_address(address).is_loopback:
                return address
    pytest.fail("this machine has no non-loopback IPv4 address to serve the app on")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def seed(url: str) -> None:
    """Accounts alice (admin) and bob, and one saved visit of leo (2 passes: quick)."""
    from posture import AnalysisOptions, analyze
    from posture.store import save_visit

    store = open_store(url)
    try:
        auth.add_user(store, "alice", PASSWORD, admin=True)
        auth.add_user(store, "bob", PASSWORD)
        data = (SAMPLES / "leo_test.jpeg").read_bytes()
        result = analyze(data, None, AnalysisOptions(passes=2, height_cm=178))
        save_visit(store, "leo", result, {"front": data}, visit_date=date(2025, 1, 10))
    finally:
        store.close()


def _serve(address: str, records: str, log_path):
    port = _free_port(address)
    log = log_path.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", address,
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "POSTURE_DATABASE_URL": records})
    return server, log, f"http://{address}:{port}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(records URL, app on the network address, app on localhost): one records database."""
    folder = tmp_path_factory.mktemp("signin")
    records = f"sqlite:///{folder / 'r.db'}"
    seed(records)
    running = [_serve(network_address(), records, folder / "lan.log"),
               _serve("127.0.0.1", records, folder / "local.log")]
    try:
        for server, _log, url in running:
            _wait_until_healthy(url, server)
        yield records, running[0][2], running[1][2]
    finally:
        for server, log, _url in running:
            stop_server(server, log)



def sign_in(page, name: str, password: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def wait_for_refusals(records: str, name: str, n: int) -> None:
    """Until the records hold n refused sign-ins of `name`."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    store = open_store(records)
    try:
        while time.monotonic() < deadline:
            if sum(a.user == name and a.action == "sign_in_refused"
                   for a in audit_lines(store)) >= n:
                return
            time.sleep(0.1)
    finally:
        store.close()
    raise AssertionError(f"{n} refused sign-ins of {name} never reached the records")


def test_the_network_address_shows_only_the_sign_in_form(servers, browser):
    _records, lan, _local = servers
    page = browser.new_page()
    try:
        for path in ("", "/records", "/compare"):
            page.goto(lan + path)
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible(
                timeout=TIMEOUT_MS)
            expect(page.get_by_text("Posture screening")).to_have_count(0)
            expect(page.get_by_text("leo")).to_have_count(0)
            expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    finally:
        page.close()


def test_wrong_passwords_are_refused_then_slowed(servers, browser):
    records, lan, _local = servers
    page = browser.new_page()
    try:
        page.goto(lan)
        for i in range(auth.ACCOUNT_FREE):
            sign_in(page, "bob", f"wrong guess {i}")
            expect(page.get_by_text("wrong name or password")).to_be_visible(timeout=TIMEOUT_MS)
            wait_for_refusals(records, "bob", i + 1)    # the message stays from the last one
        sign_in(page, "bob", PASSWORD)       # right, but too soon: not even checked
        expect(page.get_by_text("too many wrong passwords")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    finally:
        page.close()


def test_signed_in_the_pages_show_and_an_export_is_audited(servers, browser, tmp_path):
    records, lan, _local = servers
    page = browser.new_page()
    try:
        page.goto(lan)
        sign_in(page, "alice", PASSWORD)
        expect(page.get_by_text("Posture screening")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_text("Signed in as")).to_be_visible()
        page.get_by_role("link", name="Records").click()   # a reload would need a new sign-in
        button = page.get_by_role("button", name="Visit measures (CSV)")
        expect(button).to_be_visible(timeout=TIMEOUT_MS)
        with page.expect_download(timeout=TIMEOUT_MS) as download:
            button.click()
        rows = list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8"))))
        assert rows and {r["subject"] for r in rows} == {"leo"}
        store = open_store(records)
        try:
            line = audit_lines(store, subject="leo")[-1]
        finally:
            store.close()
        assert (line.user, line.action, line.detail) == ("alice", "export",
                                                         "visit measures (CSV)")
        assert line.client == lan.split("//")[1].rsplit(":", 1)[0]   # this machine's address
        # The audit log is on the visit's page.
        page.get_by_text(re.compile(r"^Audit log of this visit \(\d+\)$")).click()
        expect(page.get_by_role("button", name="Audit log of this visit (CSV)")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
    finally:
        page.close()


def test_localhost_needs_no_sign_in_but_a_proxy_does(servers, browser):
    _records, _lan, local = servers
    page = browser.new_page()
    try:
        page.goto(local)
        expect(page.get_by_text("Posture screening")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    finally:
        page.close()
    # What a reverse proxy on this computer adds: the request is then from the network.
    proxied = browser.new_page(extra_http_headers={"X-Forwarded-For": "192.0.2.99"})
    try:
        proxied.goto(local)
        expect(proxied.get_by_role("heading", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
        expect(proxied.get_by_text("Posture screening")).to_have_count(0)
    finally:
        proxied.close()


@pytest.mark.postgres
def test_with_postgresql_records_sign_in_slowing_and_audit_hold(browser, tmp_path):
    """The same gate on a clinic's PostgreSQL records (tests/postgres.py's real server)."""
    from tests.postgres import shared_server

    records = shared_server().new_database()
    seed(records)
    server, log, lan = _serve(network_address(), records, tmp_path / "pg.log")
    page = browser.new_page()
    try:
        _wait_until_healthy(lan, server)
        page.goto(lan + "/records")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=TIMEOUT_MS)
        for i in range(auth.ACCOUNT_FREE):
            sign_in(page, "alice", f"wrong guess {i}")
            wait_for_refusals(records, "alice", i + 1)
        sign_in(page, "alice", PASSWORD)
        expect(page.get_by_text("too many wrong passwords")).to_be_visible(timeout=TIMEOUT_MS)
        page.wait_for_timeout(auth.FIRST_WAIT * 1000 + 500)
        sign_in(page, "alice", PASSWORD)
        page.get_by_role("link", name="Records").click()
        button = page.get_by_role("button", name="Visit report (PDF)")
        expect(button).to_be_visible(timeout=TIMEOUT_MS)
        with page.expect_download(timeout=TIMEOUT_MS) as download:
            button.click()
        assert download.value.path().read_bytes().startswith(b"%PDF")
        store = open_store(records)
        try:
            line = audit_lines(store, subject="leo")[-1]
        finally:
            store.close()
        assert (line.user, line.action, line.detail) == ("alice", "export",
                                                         "visit report (PDF)")
    finally:
        page.close()
        stop_server(server, log)
