"""The sign-in gate, and who is acting, for the audit log.

`gate()` runs first on every rerun (posture/app/main.py). On this computer alone (server on a
loopback address, browser on loopback, loopback Host, no proxy headers) it lets every page
show, and the audit log names the computer's user. Anything else (a clinic network, a tablet,
a reverse proxy, an unknown client, or POSTURE_SIGN_IN=always) sees only the sign-in form until
a session is open; see `posture.auth` for the accounts, limits and slowing.

`actor()` is who the audit lines name; `audited(...)` wraps a download's data so that the file
is only made once its audit line is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import streamlit as st

from posture import auth
from posture.app.widgets import plain
from posture.errors import PostureError
from posture.store import Actor, log
from posture.store.audit import EXPORT, local_actor

TOKEN = "signin_token"        # st.session_state: the session token (never shown, never logged)
ACTOR = "signin_actor"        # st.session_state: the Actor of this rerun
ADMIN = "signin_admin"        # st.session_state: whether this rerun's user is an administrator


def _serving() -> bool:
    """Whether Streamlit's server runs this script. Not so in a bare run or under AppTest (which
    stands a mock in for the runtime): no browser, so no network client, can exist there."""
    from streamlit import runtime

    return runtime.exists() and type(runtime.get_instance()) is runtime.Runtime


def client_address() -> tuple[str | None, str | None, bool]:
    """(client IP, Host header, whether a proxy header is present) of this browser session.

    `st.context.ip_address` is None for a loopback peer; with no headers at all the client is
    unknown, and the Host check in `sign_in_required` then fails closed.
    """
    headers = st.context.headers
    host = headers.get("host")
    ip = st.context.ip_address
    # Only text is an address (AppTest's stand-in runtime answers with mock objects).
    host = host if isinstance(host, str) else None
    ip = ip if isinstance(ip, str) else None
    if ip is None and host is not None:
        ip = "127.0.0.1"     # Streamlit reports a loopback peer (127.0.0.1 or ::1) as None
    forwarded = any(headers.get(h) for h in ("forwarded", "x-forwarded-for", "x-real-ip"))
    return ip, host, forwarded


def required() -> bool:
    """Whether this browser session must sign in (see `posture.auth.sign_in_required`)."""
    if not _serving():
        return os.environ.get(auth.SIGN_IN_ENV, "auto").strip().lower() != "auto"
    ip, host, forwarded = client_address()
    return auth.sign_in_required(os.environ.get(auth.SIGN_IN_ENV, "auto"),
                                 st.get_option("server.address"), ip, host, forwarded)


def actor() -> Actor:
    """Who the audit lines of this rerun name."""
    return st.session_state.get(ACTOR) or local_actor()


def is_admin() -> bool:
    """Whether this rerun's user may do what only administrators may: delete a patient. True
    for the person at this computer (no sign-in) and for pages run on their own (tests)."""
    return st.session_state.get(ADMIN, ACTOR not in st.session_state)


def _form(store) -> None:
    st.title("Sign in")
    st.caption("This posture server is reached over the network: sign in with your account.")
    if not auth.users_exist(store):
        st.warning("No accounts yet. On the server, create the first with "
                   "`posture users add NAME --admin`.", icon=":material/person_off:")
    with st.form("signin", enter_to_submit=True):
        name = st.text_input("Name", max_chars=100, autocomplete="username")
        password = st.text_input("Password", type="password", max_chars=auth.MAX_PASSWORD,
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        ip, _host, _fwd = client_address()
        try:
            signed = auth.sign_in(store, name, password, ip or "unknown")
        except PostureError as exc:
            st.error(plain(str(exc)), icon=":material/lock:")
            return
        st.session_state[TOKEN] = signed.token
        st.rerun()
    st.caption(f"Sessions end after {auth.IDLE_SECONDS // 60} minutes without use, and "
               f"{auth.ABSOLUTE_SECONDS // 3600} hours after signing in.")


def gate() -> bool:
    """Show the sign-in form and return False unless this session may see the pages."""
    if not required():
        st.session_state[ACTOR] = local_actor()
        st.session_state[ADMIN] = True       # the person at this computer owns the records
        return True
    from posture.app.records import current_store

    st.session_state.pop(ACTOR, None)
    st.session_state.pop(ADMIN, None)
    store = current_store()         # shows why, if the records cannot be opened
    if store is None:
        return False
    try:
        user = auth.session_user(store, st.session_state.get(TOKEN))
    except PostureError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
        return False
    if user is None:
        if st.session_state.get(TOKEN):
            _forget_session()          # expired: the next to sign in sees none of it
        _form(store)
        return False
    st.session_state[ACTOR] = user.actor
    st.session_state[ADMIN] = user.is_admin
    with st.sidebar:
        st.caption(f"Signed in as **{plain(user.name)}**" + (" (admin)" if user.is_admin else ""))
        if st.button("Sign out", icon=":material/logout:", key="signin_sign_out"):
            auth.sign_out(store, st.session_state.get(TOKEN))
            _forget_session()
            st.rerun()
    return True


def _forget_session() -> None:
    """Drop everything this browser session held (photos, results, entries): whoever signs in
    next on this browser starts from an empty page."""
    for key in list(st.session_state):
        del st.session_state[key]


def audited(data: bytes | str | Callable[[], bytes | str], what: str, *,
            subject: str | None = None, visit_id: int | None = None,
            action: str = EXPORT) -> Callable[[], bytes | str]:
    """A download's data as a callable that first writes the export's audit line (who, what,
    which patient and visit), then makes the file. If the records refuse the line, the
    download fails rather than leave the records unaudited."""
    who = actor()       # captured now: the callable runs outside this script run

    def make() -> bytes | str:
        from posture.app.records import _open
        from posture.store import database_url

        log(_open(database_url()), who, action, subject=subject, visit_id=visit_id,
            detail=what)
        return data() if callable(data) else data

    return make


def log_action(action: str, what: str, *, subject: str | None = None,
               visit_id: int | None = None) -> None:
    """Write an audit line now (a landmark edit of an analysis not saved yet). If the records
    cannot be reached the edit still happens: the save's line lists the hand-placed points."""
    from posture.app.records import current_store

    store = current_store()
    if store is None:
        return
    try:
        log(store, actor(), action, subject=subject, visit_id=visit_id, detail=what)
    except PostureError as exc:
        st.warning(f"Not written to the audit log: {plain(str(exc))}", icon=":material/warning:")
