"""Who may use the app: sign-in accounts, sessions that expire, and slowing wrong passwords.

Accounts live in the records (`posture users add NAME --admin` makes the first). Passwords are
hashed with argon2id (argon2-cffi's default parameters, RFC 9106's second recommended
profile: 64 MiB, 3 passes, 4 lanes); only the hash is stored. A sign-in gives a random token
(256 bits) held by the browser session; the records keep only its SHA-256.

Sessions end after IDLE_SECONDS without use (30 min) or ABSOLUTE_SECONDS after signing in
(12 h), whichever comes first; disabling an account or changing its password ends its
sessions at once.

Wrong passwords are slowed per account and per client address, from the attempts stored in the
records (so every workstation and process sees the same count): after ACCOUNT_FREE wrong
passwords in a row for an account (CLIENT_FREE from one client within CLIENT_WINDOW, an hour,
whatever the account), each
next attempt must wait FIRST_WAIT (5 s), then 10, 20, ... up to MAX_WAIT (5 min) after the
previous wrong one;
an attempt during the wait is refused without checking the password. A correct password resets
the account's count. An attacker at full speed thus gets about 300 guesses a day per account.

When sign-in is needed: `sign_in_required`. Localhost-only use stays sign-in free; anything
else (another address, a proxy, an unknown client) must sign in: it fails closed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select

from posture.errors import InputError, PostureError
from posture.store import audit
from posture.store.audit import Actor
from posture.store.db import Store
from posture.store.models import SignInAttempt, User, UserSession
from posture.store.repository import _transaction

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
ACCOUNT_FREE = 3           # wrong passwords in a row before an account is slowed
CLIENT_FREE = 10           # from one client address, over all accounts
FIRST_WAIT = 5.0           # s: the wait after the free attempts; it doubles with each more
MAX_WAIT = 300.0           # s: the longest wait between attempts
WINDOW = 24 * 3600         # s: attempts older than this are forgotten
CLIENT_WINDOW = 3600       # s: a client's wrong passwords count for an hour, right ones or not
MIN_PASSWORD = 8           # characters (NIST SP 800-63B's minimum for a chosen password)
MAX_PASSWORD = 1000        # bounds the hashing work an attacker can ask for
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")

#: POSTURE_SIGN_IN: "auto" (default; sign-in beyond localhost) or "always".
SIGN_IN_ENV = "POSTURE_SIGN_IN"


class SignInRefused(PostureError, PermissionError):
    """Wrong name or password, a disabled account, or too many attempts: one line to show."""


@dataclass(frozen=True)
class UserSummary:
    name: str
    is_admin: bool
    disabled: bool
    created_at: str
    password_changed_at: str
    sessions: int            # open (unexpired) sessions


@dataclass(frozen=True)
class SignedIn:
    """A live session: the token to keep in the browser session, and who it is."""

    token: str
    name: str
    is_admin: bool
    client: str

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.client)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of a password. Raises InputError for one too short or
    too long."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"a password has at most {MAX_PASSWORD} characters")
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison inside argon2)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to check against when the name is unknown: an unknown name takes as long to refuse as
# a wrong password, so timing does not tell which names exist.
_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY[0]


def clean_name(name: str) -> str:
    """An account name: lower case, 1-100 of letters, digits, `.`, `_`, `@`, `-`."""
    cleaned = (name or "").strip().lower()
    if not NAME_RE.match(cleaned):
        raise InputError("an account name is 1-100 letters, digits, '.', '_', '@' or '-', "
                         "starting with a letter or digit")
    return cleaned


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _user(session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == clean_name(name)))
    if user is None:
        raise InputError(f"no account '{clean_name(name)}'")
    return user


# --- accounts (the `posture users` command) ----------------------------------------------------


def add_user(store: Store, name: str, password: str, *, admin: bool = False,
             actor: Actor | None = None) -> None:
    """Create an account. Raises InputError for a taken or malformed name or a bad password."""
    name = clean_name(name)
    password_hash = hash_password(password)
    with _transaction(store) as session:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise InputError(f"account '{name}' exists already (`posture users passwd {name}` "
                             "sets a new password)")
        now = _now_iso()
        session.add(User(name=name, password_hash=password_hash, is_admin=admin,
                         disabled=False, created_at=now, password_changed_at=now))
        audit.record(session, actor, audit.USER_ADDED,
                     detail=f"account {name}" + (" (admin)" if admin else ""))


def users_exist(store: Store) -> bool:
    """Whether any account can sign in (one at least, not disabled)."""
    with _transaction(store) as session:
        return bool(session.scalar(select(func.count(User.id)).where(User.disabled.is_(False))))


def list_users(store: Store, *, now: float | None = None) -> list[UserSummary]:
    """Every account, by name."""
    now = time.time() if now is None else now
    with _transaction(store) as session:
        out = []
        for user in session.scalars(select(User).order_by(User.name)):
            live = sum(1 for s in user.sessions if _alive(s, now))
            out.append(UserSummary(user.name, user.is_admin, user.disabled, user.created_at,
                                   user.password_changed_at, live))
        return out


def set_disabled(store: Store, name: str, disabled: bool = True, *,
                 actor: Actor | None = None) -> None:
    """Disable (or enable again) an account; disabling ends its sessions at once. Accounts are
    never deleted, so that a name in the audit log always means the same person."""
    with _transaction(store) as session:
        user = _user(session, name)
        user.disabled = disabled
        if disabled:
            session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        audit.record(session, actor, audit.USER_DISABLED if disabled else audit.USER_ENABLED,
                     detail=f"account {user.name}")


def set_password(store: Store, name: str, password: str, *, actor: Actor | None = None) -> None:
    """Set an account's password; its open sessions end."""
    password_hash = hash_password(password)
    with _transaction(store) as session:
        user = _user(session, name)
        user.password_hash = password_hash
        user.password_changed_at = _now_iso()
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        audit.record(session, actor, audit.PASSWORD_CHANGED, detail=f"account {user.name}")


# --- signing in --------------------------------------------------------------------------------


def _wait(failures: list[float], free: int, now: float) -> float:
    """Seconds still to wait, given the times of the wrong attempts in a row (oldest first)."""
    if len(failures) < free:
        return 0.0
    delay = min(MAX_WAIT, FIRST_WAIT * 2.0 ** (len(failures) - free))
    return max(0.0, failures[-1] + delay - now)


def _failures_in_a_row(session, column, value: str, since: float) -> list[float]:
    """Times of the wrong attempts after the last right one (for this account or client)."""
    attempts = session.execute(
        select(SignInAttempt.at, SignInAttempt.ok).where(column == value,
                                                         SignInAttempt.at > since)
        .order_by(SignInAttempt.at)).all()
    failures: list[float] = []
    for at, ok in attempts:
        failures = [] if ok else [*failures, at]
    return failures


def wait_seconds(store: Store, name: str, client: str, *, now: float | None = None) -> float:
    """How long before this account may try again from this client (0: now)."""
    now = time.time() if now is None else now
    with _transaction(store) as session:
        return _wait_in(session, name.strip().lower()[:100], client[:100], now)


def _wait_in(session, name: str, client: str, now: float) -> float:
    since = now - WINDOW
    by_account = _failures_in_a_row(session, SignInAttempt.name, name, since)
    # Not reset by a right password: one account's owner must not clear the way to guess others.
    by_client = list(session.scalars(
        select(SignInAttempt.at).where(SignInAttempt.client == client,
                                       SignInAttempt.at > now - CLIENT_WINDOW,
                                       SignInAttempt.ok.is_(False))
        .order_by(SignInAttempt.at)))
    return max(_wait(by_account, ACCOUNT_FREE, now), _wait(by_client, CLIENT_FREE, now))


def sign_in(store: Store, name: str, password: str, client: str, *,
            now: float | None = None) -> SignedIn:
    """Check a name and password and open a session.

    client: the browser's address (for slowing and the audit log).

    Raises:
        SignInRefused: wrong name or password (one message for both), a disabled account, or
            an attempt before the wait after repeated wrong passwords has passed (the password
            is then not even checked). Each refusal but the last kind is recorded.
    """
    now = time.time() if now is None else now
    typed = (name or "").strip().lower()[:100]
    client = (client or "unknown")[:100]
    actor = Actor(typed or "(no name)", client)
    with _transaction(store) as session:
        session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - WINDOW))
        wait = _wait_in(session, typed, client, now)
        if wait > 0:
            raise SignInRefused(f"too many wrong passwords: try again in {int(wait) + 1} s")
        user = session.scalar(select(User).where(User.name == typed)) if typed else None
        ok = verify_password(user.password_hash if user else _dummy_hash(), password or "")
        session.add(SignInAttempt(at=now, name=typed, client=client, ok=ok and user is not None))
        if not ok or user is None:
            audit.record(session, actor, audit.SIGN_IN_REFUSED, detail="wrong name or password")
        elif user.disabled:
            audit.record(session, actor, audit.SIGN_IN_REFUSED, detail="account disabled")
        else:
            token = secrets.token_urlsafe(32)
            session.add(UserSession(token_sha256=_digest(token), user=user, client=client,
                                    created=now, last_seen=now))
            audit.record(session, actor, audit.SIGN_IN)
            return SignedIn(token, user.name, user.is_admin, client)
    # Outside the transaction, so the refused attempt is committed and counts.
    if user is not None and ok:
        raise SignInRefused(f"account '{typed}' is disabled: ask the clinic's administrator")
    raise SignInRefused("wrong name or password")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _alive(s: UserSession, now: float) -> bool:
    return now - s.last_seen <= IDLE_SECONDS and now - s.created <= ABSOLUTE_SECONDS


def session_user(store: Store, token: str | None, *, now: float | None = None) -> SignedIn | None:
    """The signed-in user of a token, or None when it is unknown, expired (idle or absolute
    limit) or its account disabled. A live session's idle clock restarts."""
    if not token:
        return None
    now = time.time() if now is None else now
    with _transaction(store) as session:
        s = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
        if s is None:
            return None
        if not _alive(s, now) or s.user.disabled:
            session.delete(s)
            return None
        s.last_seen = now
        return SignedIn(token, s.user.name, s.user.is_admin, s.client)


def sign_out(store: Store, token: str | None) -> None:
    """End a session (nothing happens for an unknown token)."""
    if not token:
        return
    with _transaction(store) as session:
        s = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
        if s is not None:
            audit.record(session, Actor(s.user.name, s.client), audit.SIGN_OUT)
            session.delete(s)


# --- when sign-in is needed --------------------------------------------------------------------


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str | None) -> bool:
    """Whether a host name or address (maybe with a port, maybe in [brackets]) is this
    computer's loopback: localhost, 127.0.0.0/8, ::1. Empty or None: False."""
    host = (host or "").strip().lower()
    if not host:
        return False
    if host.startswith("["):                       # [::1]:8501
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:                     # 127.0.0.1:8501, localhost:8501
        host = host.split(":", 1)[0]
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sign_in_required(mode: str, server_address: str | None, client_ip: str | None,
                     host_header: str | None, forwarded: bool) -> bool:
    """Whether a browser must sign in before seeing any page.

    Sign-in free only when all say "this computer": the server listens on a loopback address
    (Streamlit's `server.address`; empty means every interface), the connection comes from a
    loopback address, the browser asked for a loopback host name (a reverse proxy on this
    computer passes the clinic's name in the Host header), and no proxy header
    (Forwarded, X-Forwarded-For) is present. Anything unknown counts as the network.

    mode: "auto" (the above) or "always" (any other value also means always).
    """
    if (mode or "auto").strip().lower() != "auto":
        return True
    return not (is_loopback(server_address) and is_loopback(client_ip)
                and is_loopback(host_header) and not forwarded)
