"""Helpers for the records tests: a real PostgreSQL server, and sample visits analysed once.

PostgreSQL: Debian's `postgresql` package (binaries in /usr/lib/postgresql/<version>/bin; or
set POSTGRES_BIN to a folder holding initdb and pg_ctl). One server per test process, started
on first use in a fresh temp dir and stopped at exit: `initdb` + `pg_ctl start`, listening
only on a unix socket in that dir (no TCP port to collide with), fsync off. As root the server
runs as the `postgres` user (PostgreSQL refuses to run as root), via `runuser`. Each test gets
its own database (`new_database`). If the binaries are missing the tests FAIL, saying what to
install: CI must run them.
"""

from __future__ import annotations

import atexit
import functools
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "sample_images" / "usize-backend"
PORT = 5432           # only names the socket file inside our private dir
SERVER_USER = "postgres"
INSTALL_HINT = ("PostgreSQL server binaries not found (initdb, pg_ctl in "
                "/usr/lib/postgresql/*/bin or $POSTGRES_BIN): install Debian's `postgresql` "
                "package (apt-get install -y postgresql); the records tests need a real server")


def find_bindir() -> Path | None:
    """The folder of initdb and pg_ctl: $POSTGRES_BIN, the newest Debian install, or PATH."""
    candidates = [os.environ.get("POSTGRES_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                         else 0, reverse=True)
    which = shutil.which("initdb")
    candidates.append(str(Path(which).parent) if which else "")
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temp dir."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="posture-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0
        self.started = False

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}{tail}")

    def start(self) -> PostgresServer:
        if self.as_root:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                pytest.fail(f"running as root needs the '{SERVER_USER}' user (Debian's "
                            "postgresql package creates it) to run the test server")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        options = (f"-p {PORT} -k {self.root} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                  "-t", "30", "-o", options, "start")
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}&port={PORT}"

    def new_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=str(self.root), port=PORT, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


_server: PostgresServer | None = None


def shared_server() -> PostgresServer:
    """The process's one server, started on first call (fails the test if it cannot be)."""
    global _server
    if _server is None:
        bindir = find_bindir()
        if bindir is None:
            pytest.fail(INSTALL_HINT)
        server = PostgresServer(bindir)
        try:
            server.start()
        except RuntimeError as exc:
            server.stop()
            pytest.fail(f"could not start the test PostgreSQL server: {exc}")
        atexit.register(server.stop)
        _server = server
    return _server


def database_url(backend: str, tmp_path: Path) -> str:
    """An empty database of the backend ("sqlite" or "postgresql") for one test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    return shared_server().new_database()


# --- sample visits, analysed once per test process -----------------------------------------------


@dataclass(frozen=True, eq=False)
class SampleVisit:
    """An analysed photo pair with the photo bytes and annotated PNGs, ready to save."""

    assessment: object
    photos: dict[str, bytes]
    filenames: dict[str, str]
    annotated: dict[str, bytes]


# Two visits of one person: leo's front photos leo_test.jpeg and leo2_test.jpg are two
# different photos; the side photos show his right, then his left side.
LEO_VISITS = {
    "first": ("leo_test.jpeg", "leo_test_right.jpg"),
    "second": ("leo2_test.jpg", "leo_test_left.jpg"),
}
HEIGHT_CM = 178.0


@functools.cache
def leo_visit(which: str) -> SampleVisit:
    """leo's "first" or "second" visit, analysed with his height (lengths in cm)."""
    from posture import AnalysisOptions, analyze
    from posture.render import render_png

    front, side = LEO_VISITS[which]
    given = {"front": (SAMPLES / front).read_bytes(), "side": (SAMPLES / side).read_bytes()}
    assessment = analyze(given["front"], given["side"],
                         AnalysisOptions(height_cm=HEIGHT_CM, subject="leo"),
                         front_name=front, side_name=side)
    annotated = {p.slot: render_png(p) for p in assessment.photos}
    # Keyed by the slots the photos were analysed in ("right" for the first visit's side).
    return SampleVisit(assessment, assessment.filed(given),
                       assessment.filed({"front": front, "side": side}), annotated)
