"""The audit log: who did what, when, to which patient and visit, kept in the records.

Every save, landmark edit, re-analysis, export and delete writes one line. Repository
functions write theirs inside the same transaction as the change itself, so a change and its
audit line are committed together or not at all. Exports write theirs as the file is made.

What a line holds: the time (ISO 8601, UTC), the user (a sign-in account, or for local use the
computer's user name with "(local)"), the client (the browser's network address, "this
computer", or "command line"), the action (one of ACTIONS), the clinic's patient ID, the visit
number, and a short detail (which file format, which landmark, how many visits). Never a
patient's name, notes, height or measurements: the lines outlive a deleted patient.

Deleting a patient deletes their earlier audit lines too and leaves exactly one line saying
that the patient (by the clinic's ID) was deleted, by whom, when, with how many visits.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from posture.export import csv_text
from posture.store.models import AuditEntry

# Actions on patients' records.
SAVE = "save"
LANDMARK_EDIT = "landmark_edit"
REANALYSE = "reanalyse"
ANALYSIS_ADDED = "analysis_added"
EXPORT = "export"
DELETE_VISIT = "delete_visit"
DELETE_PATIENT = "delete_patient"
PATIENT_UPDATED = "patient_updated"
# Actions on accounts and the log itself.
SIGN_IN = "sign_in"
SIGN_IN_REFUSED = "sign_in_refused"
SIGN_OUT = "sign_out"
USER_ADDED = "user_added"
USER_DISABLED = "user_disabled"
USER_ENABLED = "user_enabled"
PASSWORD_CHANGED = "password_changed"
AUDIT_EXPORT = "audit_export"

ACTIONS = (SAVE, LANDMARK_EDIT, REANALYSE, ANALYSIS_ADDED, EXPORT, DELETE_VISIT, DELETE_PATIENT,
           PATIENT_UPDATED, SIGN_IN, SIGN_IN_REFUSED, SIGN_OUT, USER_ADDED, USER_DISABLED,
           USER_ENABLED, PASSWORD_CHANGED, AUDIT_EXPORT)

#: The audit CSV's columns (`posture audit --csv`, the Records page's download).
AUDIT_COLUMNS = ("at", "user", "client", "action", "subject", "visit_id", "detail")

_MAX = {"user": 100, "client": 100, "subject": 100, "detail": 500}


@dataclass(frozen=True)
class Actor:
    """Who acts: `user` (an account name, or "NAME (local)"), from `client` (an address)."""

    user: str
    client: str


def local_actor(client: str = "this computer") -> Actor:
    """The person at this computer when no one signs in: the operating system's user name."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):     # no user name in a bare container
        name = "unknown"
    return Actor(f"{name} (local)", client)


@dataclass(frozen=True)
class AuditLine:
    at: str
    user: str
    client: str
    action: str
    subject: str | None
    visit_id: int | None
    detail: str

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in AUDIT_COLUMNS}


def _one_line(text, limit: int) -> str:
    return " ".join(str(text or "").replace("\x00", "").split())[:limit]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record(session: Session, actor: Actor | None, action: str, *, subject: str | None = None,
           visit_id: int | None = None, detail: str = "") -> None:
    """Add one audit line inside the caller's transaction. `actor` None: `local_actor()`.

    Raises ValueError for an action not in ACTIONS (a programming error, not user input).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    actor = actor or local_actor()
    session.add(AuditEntry(
        at=_now(), user=_one_line(actor.user, _MAX["user"]) or "unknown",
        client=_one_line(actor.client, _MAX["client"]), action=action,
        subject=_one_line(subject, _MAX["subject"]) if subject is not None else None,
        visit_id=visit_id, detail=_one_line(detail, _MAX["detail"])))


def forget_patient(session: Session, subject: str) -> int:
    """Delete a patient's audit lines (before the one line recording the deletion). Returns
    how many were deleted."""
    result = session.execute(delete(AuditEntry).where(AuditEntry.subject == subject))
    return result.rowcount or 0


def lines(session: Session, *, subject: str | None = None, visit_id: int | None = None,
          limit: int | None = None) -> list[AuditLine]:
    """Audit lines, oldest first: all, a patient's, or one visit's (with its patient's
    patient-wide lines such as a history export, when `subject` is given too)."""
    query = select(AuditEntry)
    if visit_id is not None and subject is not None:
        query = query.where(AuditEntry.subject == subject,
                            or_(AuditEntry.visit_id == visit_id, AuditEntry.visit_id.is_(None)))
    elif visit_id is not None:
        query = query.where(AuditEntry.visit_id == visit_id)
    elif subject is not None:
        query = query.where(AuditEntry.subject == subject)
    query = query.order_by(AuditEntry.id.desc() if limit else AuditEntry.id)
    if limit:
        query = query.limit(limit)
    found = [AuditLine(e.at, e.user, e.client, e.action, e.subject, e.visit_id, e.detail)
             for e in session.scalars(query)]
    return found[::-1] if limit else found


def format_line(a: AuditLine) -> str:
    """One line of text: time, user, client, action, patient and visit, detail."""
    where = " ".join(filter(None, [a.subject is not None and f"patient {a.subject}" or "",
                                   a.visit_id is not None and f"visit {a.visit_id}" or ""]))
    return f"{a.at}  {a.user:<20} {a.client:<15} {a.action:<16} {where:<24} {a.detail}"


def to_csv(found: Iterable[AuditLine]) -> str:
    """The audit CSV text (AUDIT_COLUMNS; cells a spreadsheet would run as formulas are
    neutralised like every other CSV of posture)."""
    return csv_text([line.as_row() for line in found], AUDIT_COLUMNS)


# --- on a Store: each call its own short transaction --------------------------------------------


def log(store, actor: Actor | None, action: str, *, subject: str | None = None,
        visit_id: int | None = None, detail: str = "") -> None:
    """Write one audit line now (an export, a sign-in). Raises StoreError if the records
    refuse it: the caller then withholds the export rather than give it unaudited."""
    from posture.store.repository import _transaction

    with _transaction(store) as session:
        record(session, actor, action, subject=subject, visit_id=visit_id, detail=detail)


def audit_lines(store, *, subject: str | None = None, visit_id: int | None = None,
                limit: int | None = None) -> list[AuditLine]:
    """Audit lines, oldest first (the newest `limit` if given): see `lines`."""
    from posture.store.repository import _transaction

    with _transaction(store) as session:
        return lines(session, subject=subject, visit_id=visit_id, limit=limit)


def audit_csv(store, *, subject: str | None = None, visit_id: int | None = None) -> str:
    """The audit log (all, a patient's or a visit's) as CSV text: AUDIT_COLUMNS."""
    return to_csv(audit_lines(store, subject=subject, visit_id=visit_id))
