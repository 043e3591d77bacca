"""`posture app`: the Streamlit server for the app inside the installed package.

The server runs in this process (Streamlit's own bootstrap, as `streamlit run` does), with
`posture/app/main.py` as its main script; Streamlit reads the settings from the
`.streamlit/config.toml` beside that script (localhost only, no usage statistics, upload limit,
error details), so an installed package needs no checkout. The pose model loads in a
background thread as the server starts (`preload`), so the first analysis does not wait for it.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from posture.errors import InputError
from posture.tls import Certificate

DEFAULT_PORT = 8501
MAIN_SCRIPT = Path(__file__).with_name("main.py")
READY_TIMEOUT_S = 120

_log = logging.getLogger(__name__)
_preload_lock = threading.Lock()
_preload: threading.Thread | None = None
_preload_off = False        # `posture app --no-preload`: the first analysis loads the model


def _load_model(say) -> None:
    t0 = time.perf_counter()
    try:
        # The pages' imports (Streamlit's widgets, pandas, altair, OpenCV) first: the first
        # page view, which needs them, comes before the first analysis.
        import posture.app.compare
        import posture.app.intake
        import posture.app.records  # noqa: F401
        from posture.landmarks.mediapipe_pose import default_detector

        default_detector().warm_up()
    except Exception as exc:  # the first analysis reports it to the clinician, with context
        _log.warning("could not preload the pose model: %s", exc)
        return
    if say is not None:
        say(f"posture: pose model loaded in {time.perf_counter() - t0:.1f} s")


def preload(say=None) -> threading.Thread | None:
    """Load the pose model in a background thread, once per process; returns that thread
    (None under `posture app --no-preload`). `say`, if given, gets a line once it is loaded.

    The app's pages take the same process-wide detector (`default_detector`), warm by the time
    a clinician has chosen the photos (it takes a few seconds on a 2-core machine).
    """
    global _preload
    with _preload_lock:
        if _preload is None and not _preload_off:
            _preload = threading.Thread(target=_load_model, args=(say,),
                                        name="posture-preload", daemon=True)
            _preload.start()
        return _preload


def _check_port_free(address: str, port: int) -> None:
    """A port another program listens on gives a clear line, not a server log."""
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError(f"cannot listen on '{address}': not an address of this "
                         "computer") from None
    for family, _type, _proto, _name, sockaddr in infos:  # localhost: 127.0.0.1 and ::1
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise InputError(f"port {port} is in use (is the app already running? "
                                     f"it would be at http://{address}:{port}); choose "
                                     "another with --port N") from None
                # Another failure (no IPv6 here, say): the server reports what it hits.


def _say_network(network: Lan, port: int, say) -> None:
    from posture.tls import local_names

    cert = network.certificate
    say("posture: tablets on the clinic network open "
        + " or ".join(f"https://{n}:{port}" for n in local_names()
                      if n not in ("localhost", "127.0.0.1")))
    say(f"posture: certificate {'made here (self-signed)' if cert.generated else cert.cert_file}"
        f", SHA-256 fingerprint {cert.fingerprint}: check it on each tablet the first time")


def _announce_when_ready(url: str, where: str, say) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    # A self-signed certificate is this server's own: the readiness check trusts it.
    context = ssl._create_unverified_context() if url.startswith("https") else None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2,
                                        context=context) as response:
                if response.status == 200:
                    say(f"posture: the app is at {url} ({where}); stop it with Ctrl+C")
                    return
        except OSError:
            time.sleep(0.2)


def _say(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Lan:
    """Serving on the clinic network: every address of this computer, over TLS, sign-in for
    everyone (`posture.app.signin`: a server beyond loopback asks every browser)."""

    certificate: Certificate
    database_url: str | None = None


def lan(cert_file: str | None = None, key_file: str | None = None,
        database_url: str | None = None) -> Lan:
    """Check what serving on the network needs before anything listens: the clinic's
    certificate (or a self-signed one, made once and kept beside the records), and at least
    one account to sign in with. Raises InputError (one line) otherwise."""
    import platformdirs

    from posture.auth import users_exist
    from posture.store import open_store
    from posture.tls import clinic_certificate, self_signed_certificate

    if (cert_file is None) != (key_file is None):
        raise InputError("give both --cert FILE and --key FILE, or neither (a self-signed "
                         "certificate is then made)")
    store = open_store(database_url)
    try:
        if not users_exist(store):
            raise InputError("the app on the network asks everyone to sign in, and there is no "
                             "account yet: create one first with `posture users add NAME "
                             "--admin`")
    finally:
        store.close()
    if cert_file is not None:
        certificate = clinic_certificate(cert_file, key_file)
    else:
        folder = Path(platformdirs.user_data_dir("posture", appauthor=False)) / "tls"
        certificate = self_signed_certificate(folder)
    return Lan(certificate, database_url)


def serve(port: int = DEFAULT_PORT, *, preload_model: bool = True, say=_say,
          network: Lan | None = None) -> None:
    """Run the app's server until Ctrl+C (or SIGTERM). `say` gets the lines telling where it
    listens, once it answers. network: serve on the clinic network over TLS (`lan()`);
    else on this computer only.

    Raises InputError: the port is not in 1-65535 or is in use.
    """
    global _preload_off
    if not 1 <= port <= 65535:
        raise InputError(f"--port must be between 1 and 65535, not {port}")
    from streamlit import config
    from streamlit.web import bootstrap

    # As `streamlit run` does: the main script's path first, so that its config file is read.
    config._main_script_path = str(MAIN_SCRIPT)
    # Streamlit's own welcome lines are replaced by ours, printed once the server answers. No
    # file watching: installed code does not change under a running clinic server, and
    # without watchdog Streamlit would poll every module file.
    flags = {"server.port": port, "logger.hideWelcomeMessage": True,
             "server.fileWatcherType": "none"}
    if network is not None:
        flags.update({"server.address": "0.0.0.0",
                      "server.sslCertFile": str(network.certificate.cert_file),
                      "server.sslKeyFile": str(network.certificate.key_file)})
    bootstrap.load_config_options(flags)
    address = config.get_option("server.address") or "0.0.0.0"
    _check_port_free(address, port)
    local = address in ("localhost", "127.0.0.1", "::1")
    where = "this computer only" if local else f"listening on {address}"
    url = f"http://{'localhost' if local or address in ('0.0.0.0', '::') else address}:{port}"
    if network is not None:
        url = f"https://localhost:{port}"
        where = "the clinic network, over TLS; everyone signs in"
        _say_network(network, port, say)
    if preload_model:
        preload(say)
    else:
        _preload_off = True     # nor on the first page view (main.py asks on every run)
    threading.Thread(target=_announce_when_ready, args=(url, where, say), daemon=True,
                     name="posture-ready").start()
    bootstrap.run(str(MAIN_SCRIPT), False, [], flags)
