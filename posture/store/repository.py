"""Reading and writing records. Every function opens its own short transaction on a `Store`.

Saving is all or nothing: `save_visit` writes the patient (if new), the visit, its photos and
the analysis (rows, landmarks JSON, annotated images) in one transaction, so a failure at any
step, or a crash, leaves the database exactly as it was. Deleting is explicit: `delete_visit`
and `delete_patient` delete (with every photo and analysis) when called; asking the clinician
to confirm is the caller's job.

What is stored is what the core gives: `Assessment.rows()` verbatim, `assessment_json` for the
landmarks, `render_png` for the annotated photos. Nothing is recomputed.

Every change writes its audit line (`posture.store.audit`) in the same transaction: `actor`
says who (None: the computer's user, for local use and the command line).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from posture.assessment import ANY_SIDE, SLOTS, TABLE_COLUMNS, slot_title
from posture.compare import VisitRecord, slot_order
from posture.errors import InputError
from posture.export import csv_text, json_text
from posture.landmarks.quality import findings_text
from posture.store import audit
from posture.store.audit import Actor
from posture.store.db import Store, explain
from posture.store.errors import DamagedError, NotFoundError, StoreError
from posture.store.models import (
    ROW_FIELDS,
    Analysis,
    AnnotatedImage,
    Measurement,
    Patient,
    Photo,
    Visit,
)
from posture.store.validation import (
    MAX_SUBJECT,
    clean_filename,
    clean_name,
    clean_notes,
    clean_subject,
    is_valid_subject,
)

#: Visit and history CSV: the core's columns (same positions as `posture analyze`'s
#: results.csv), then the visit's date and id.
HISTORY_COLUMNS = TABLE_COLUMNS + ("visit_date", "visit_id")

#: Called with the name of each step of a save once it is written ("patient", "visit",
#: "photos", "analysis"), still inside the transaction: tests inject failures here.
StepHook = Callable[[str], None]


@dataclass(frozen=True)
class PatientSummary:
    subject: str
    name: str
    notes: str
    visits: int
    last_visit: date | None


@dataclass(frozen=True)
class VisitSummary:
    visit_id: int
    subject: str
    visit_date: date
    height_cm: float | None
    notes: str
    slots: tuple[str, ...]          # photos stored: SLOTS ("side" in visits filed before them)
    analyses: int
    posture_version: str            # of the latest analysis
    analysed_at: str

    @property
    def label(self) -> str:
        """E.g. "2025-03-01 (visit 12)": unique even for two visits on one day."""
        return f"{self.visit_date.isoformat()} (visit {self.visit_id})"


@dataclass(frozen=True)
class AnalysisSummary:
    analysis_id: int
    posture_version: str
    analysed_at: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextmanager
def _transaction(store: Store, *, writing: bool = True, what: str = "") -> Iterator[Session]:
    """store.transaction(), with database failures turned into one-line StoreErrors that say
    what went wrong: the server not answering, the file locked or damaged, or (writing) the
    change refused. `what` ("visit 12") names what was being read."""
    try:
        with store.transaction(read_only=not writing) as session:
            yield session
    except SQLAlchemyError as exc:
        prefix = f"{what} cannot be read: " if what and not writing else ""
        explained = explain(exc, store.engine.url)
        if explained:
            kind = DamagedError if "is damaged" in explained else StoreError
            raise kind(prefix + explained) from exc
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = reason[0] if reason else type(exc).__name__
        if writing:
            raise StoreError(f"the records database refused the change, nothing was saved: "
                             f"{reason}") from exc
        raise StoreError(f"{prefix or 'cannot read the records: '}{reason}") from exc


def _photo_data(photo: Photo) -> bytes:
    """A stored photo's bytes, checked against the SHA-256 taken when it was saved."""
    data = bytes(photo.data)
    if hashlib.sha256(data).hexdigest() != photo.sha256:
        name = f" ({_shown(photo.filename)})" if photo.filename else ""
        raise DamagedError(f"the {slot_title(photo.slot).lower()}{name} of visit "
                           f"{photo.visit_id} is damaged: "
                           "its bytes no longer match the checksum taken when it was saved; "
                           "restore it from a backup (posture records restore)")
    return data


def _result(analysis: Analysis) -> dict:
    """An analysis's stored JSON, read back."""
    try:
        return json.loads(analysis.result_json)
    except ValueError:
        raise DamagedError(f"analysis {analysis.id} of visit {analysis.visit_id} is damaged: "
                           "its stored result cannot be read; analyse the visit again or "
                           "restore it from a backup") from None


def _shown(text: str) -> str:
    """User text inside a one-line message."""
    return " ".join(str(text).split())[:MAX_SUBJECT]


def _patient(session: Session, subject: str) -> Patient:
    # Text no patient ID can be (a NUL byte, say) is not sent to the database: PostgreSQL
    # would refuse it where SQLite finds no one.
    patient = session.scalar(select(Patient).where(Patient.subject == subject)) \
        if is_valid_subject(subject) else None
    if patient is None:
        raise NotFoundError(f"no patient '{_shown(subject)}' in the records")
    return patient


def _visit(session: Session, visit_id: int) -> Visit:
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFoundError(f"no visit {visit_id} in the records")
    return visit


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """What an analysis stores, made before any transaction (rendering takes about a second)."""

    posture_version: str
    analysed_at: str
    result_json: str
    rows: list[dict]
    images: dict[str, bytes]


def _prepare(assessment, annotated: Mapping[str, bytes] | None) -> _Prepared:
    from posture.render import render_png  # OpenCV: loaded only when a save needs it

    images = {p.slot: (annotated or {}).get(p.slot) or render_png(p) for p in assessment.photos}
    return _Prepared(assessment.posture_version, assessment.analysed_at, json_text(assessment),
                     assessment.rows(), images)


def _analysis_row(prepared: _Prepared) -> Analysis:
    """The ORM rows of one analysis: measurements, landmarks JSON, annotated images."""
    analysis = Analysis(posture_version=prepared.posture_version,
                        analysed_at=prepared.analysed_at, result_json=prepared.result_json)
    for position, row in enumerate(prepared.rows):
        fields = {k: row[k] for k in ROW_FIELDS}
        # The photo's name, as uploaded: storable on every backend (see `clean_filename`).
        fields["image"] = clean_filename(fields["image"])
        analysis.measurements.append(Measurement(position=position, **fields))
    for slot, png in prepared.images.items():
        analysis.images.append(AnnotatedImage(slot=slot, png=png))
    return analysis


class _PatientRace(Exception):
    """Another session created the same new patient first; the save is retried."""


def save_visit(store: Store, subject: str, assessment, photos: Mapping[str, bytes], *,
               filenames: Mapping[str, str] | None = None, visit_date: date | None = None,
               notes: str = "", patient_name: str | None = None,
               annotated: Mapping[str, bytes] | None = None,
               on_step: StepHook | None = None, actor: Actor | None = None) -> int:
    """Save a new visit with its photos and analysis, in one transaction. Returns its id.

    Args:
        subject: the patient ID; the patient is created if new.
        assessment: the `Assessment` of these photos (its rows are stored verbatim, keyed to
            this patient whatever `assessment.subject` says).
        photos: slot -> the file's bytes exactly as uploaded, keyed as given to `analyze`
            ("front", "back", "left", "right", or "side"); each is stored in the slot it was
            analysed in (`Assessment.filed`).
        filenames: the uploaded files' names, for the record, keyed as `photos`.
        visit_date: defaults to today. The visit's height is the analysis's `height_cm`.
        patient_name: sets the patient's name (None keeps it; "" for a new patient).
        annotated: slot -> `render_png` of this assessment's photo, if the caller already made
            it (encoding a PNG takes about a second); rendered here otherwise.

    Raises:
        InputError: no patient ID, photos missing or in an unknown slot, or text the records
            do not accept (too long, a control character: `posture.store.validation`), the
            same on every backend.
        StoreError: the database refused the write; nothing of the visit was saved.
    """
    subject = clean_subject(subject)
    patient_name = clean_name(patient_name)
    notes = clean_notes(notes or "")
    if not photos or set(photos) - {*SLOTS, ANY_SIDE} or not all(photos.values()):
        raise InputError("save the visit with the photos that were analysed "
                         "(front, back, left, right)")
    filed = assessment.filed(photos)
    if len(photos) != len(assessment.photos) or len(filed) != len(photos):
        raise InputError(f"{len(photos)} photo(s) given ({', '.join(photos)}) but "
                         f"{len(assessment.photos)} analysed "
                         f"({', '.join(p.slot for p in assessment.photos)})")
    photos, filenames = filed, assessment.filed(filenames or {})
    prepared = _prepare(assessment, annotated)
    step = on_step or (lambda _name: None)
    # Twice: a concurrent save may create the same new patient between our read and write.
    for _attempt in range(2):
        try:
            with _transaction(store) as session:
                visit_id = _write_visit(session, subject, assessment, photos, filenames,
                                        visit_date, notes, patient_name, prepared, step)
                audit.record(session, actor, audit.SAVE, subject=subject, visit_id=visit_id,
                             detail=_analysis_detail(assessment, sorted(photos)))
                return visit_id
        except _PatientRace:
            continue
    raise StoreError(f"patient '{_shown(subject)}' is being added on another workstation: "
                     "save again")


def _write_visit(session: Session, subject, assessment, photos, filenames, visit_date, notes,
                 patient_name, prepared: _Prepared, step: StepHook) -> int:
    patient = session.scalar(select(Patient).where(Patient.subject == subject))
    if patient is None:
        patient = Patient(subject=subject, name=patient_name or "", notes="", created_at=_now())
        session.add(patient)
    elif patient_name is not None:
        patient.name = patient_name
    try:
        session.flush()
    except IntegrityError:
        # Created by a concurrent save since our SELECT: roll back and try once more.
        raise _PatientRace() from None
    step("patient")
    visit = Visit(patient=patient, visit_date=visit_date or date.today(),
                  height_cm=assessment.options.height_cm, notes=notes or "", created_at=_now())
    session.add(visit)
    session.flush()
    step("visit")
    for slot in SLOTS:
        if slot in photos:
            data = bytes(photos[slot])
            visit.photos.append(Photo(slot=slot, filename=clean_filename(filenames.get(slot)),
                                      sha256=hashlib.sha256(data).hexdigest(), data=data))
    session.flush()
    step("photos")
    visit.analyses.append(_analysis_row(prepared))
    session.flush()
    step("analysis")
    return visit.id


def _analysis_detail(assessment, slots=None) -> str:
    """What an audit line says of an analysis: photos, version, hand-placed landmarks (by
    name: no coordinates, no measures)."""
    parts = []
    if slots:
        parts.append("photos: " + ", ".join(slots))
    parts.append(f"posture {assessment.posture_version}")
    for p in assessment.photos:
        manual = sorted(lm.name.lower() for lm in p.landmarks.manual)
        if manual:
            parts.append(f"{p.slot} landmarks placed by hand: {', '.join(manual)}")
        if p.roll is not None and p.roll.method == "manual":
            parts.append(f"{p.slot} true vertical marked by hand")
    return "; ".join(parts)


def add_analysis(store: Store, visit_id: int, assessment, *,
                 annotated: Mapping[str, bytes] | None = None,
                 on_step: StepHook | None = None, actor: Actor | None = None,
                 _action: str = audit.ANALYSIS_ADDED) -> int:
    """Add another analysis to a stored visit (e.g. with a newer posture). Earlier analyses and
    their numbers are kept. Returns the new analysis's id. `annotated`: as in `save_visit`."""
    analysis = _analysis_row(_prepare(assessment, annotated))
    with _transaction(store) as session:
        visit = _visit(session, visit_id)
        visit.analyses.append(analysis)
        session.flush()
        if on_step:
            on_step("analysis")
        audit.record(session, actor, _action, subject=visit.patient.subject, visit_id=visit_id,
                     detail=_analysis_detail(assessment))
        return analysis.id


def reanalyse_visit(store: Store, visit_id: int, options=None, *,
                    actor: Actor | None = None) -> int:
    """Analyse a stored visit's photos again with this version of posture and store the result
    as a new analysis (the visit's earlier analyses stay). Returns the new analysis's id.

    options: `AnalysisOptions`; by default those of the visit's latest analysis (passes, height,
    camera-level correction), for the patient's ID. The latest analysis's hand-placed landmarks
    and anatomical points and marked true vertical are carried over. If the analysis fails, its
    error is raised and nothing is written.
    """
    from dataclasses import replace

    from posture.assessment import AnalysisOptions, analyze

    with _transaction(store, writing=False, what=f"visit {visit_id}") as session:
        visit = _visit(session, visit_id)
        subject = visit.patient.subject
        photos = {p.slot: (p.filename or None, _photo_data(p)) for p in visit.photos}
        if options is None:
            options = _stored_options(visit)
        latest = _result(visit.analyses[-1]) if visit.analyses else {}
    options = replace(options or AnalysisOptions(), subject=subject)
    # Photos filed before the four slots are in "side", which analyze() files as left or right.
    assessment = analyze(options=options, **{slot: data for slot, (_, data) in photos.items()},
                         names={slot: name for slot, (name, _) in photos.items() if name})
    return add_analysis(store, visit_id, _with_manual_edits(assessment, latest), actor=actor,
                        _action=audit.REANALYSE)


def _with_manual_edits(assessment, stored: dict):
    """The clinician's edits in a stored analysis (hand-placed landmarks and anatomical points,
    a marked true vertical, the device level of a photo taken in the app), applied to a new
    analysis of the same photos: same photo pixels, so the same coordinates. A photo the new
    analysis lacks, or a landmark or point name this version (or the photo's view) does not
    know, is skipped."""
    from posture.assessment import placeable_points
    from posture.landmarks.vocabulary import Landmark

    slots = {p.slot for p in assessment.photos}
    for photo in stored.get("photos", []):
        slot = photo.get("slot")
        if slot == ANY_SIDE and assessment.side is not None:  # stored before the four slots
            slot = assessment.side.slot
        if slot not in slots:
            continue
        for lm in photo.get("landmarks", []):
            name = str(lm.get("name", "")).upper()
            if lm.get("manual") and name in Landmark.__members__:
                assessment = assessment.with_landmark_moved(slot, Landmark[name],
                                                            lm["x"], lm["y"])
        placeable = set(placeable_points(assessment._photo(slot)))
        for pt in photo.get("anatomical_points", []):
            if pt.get("manual") and pt.get("name") in placeable and None not in (
                    pt.get("x"), pt.get("y")):
                assessment = assessment.with_point_placed(slot, pt["name"], pt["x"], pt["y"])
        roll = photo.get("camera_roll") or {}
        if roll.get("method") == "manual" and roll.get("degrees") is not None:
            assessment = assessment.with_camera_roll(slot, _manual_roll(roll))
        elif roll.get("method") == "device" and roll.get("degrees") is not None:
            from posture.camera import roll_from_device

            assessment = assessment.with_camera_roll(
                slot, roll_from_device(roll["degrees"], roll.get("pitch")))
    return assessment


def _manual_roll(stored: dict):
    """A marked true vertical from its stored form (analyses saved before its points were
    stored keep their angle, with nothing to draw)."""
    from posture.camera import RollEstimate, roll_from_points

    if stored.get("points"):
        return roll_from_points(*stored["points"])
    return RollEstimate(degrees=stored["degrees"], confidence=1.0, n_lines=1, method="manual",
                        reason=stored.get("reason") or "marked by the clinician on a true vertical")


def _stored_options(visit: Visit):
    """The options of the visit's latest analysis, or defaults with the visit's height."""
    from posture.assessment import AnalysisOptions

    fallback = AnalysisOptions(height_cm=visit.height_cm)
    if not visit.analyses:
        return fallback
    stored = _result(visit.analyses[-1]).get("options", {})
    try:
        return AnalysisOptions(passes=stored.get("passes", fallback.passes),
                               height_cm=stored.get("height_cm"),
                               correct_camera_roll=bool(stored.get("correct_camera_roll")))
    except InputError:          # limits changed since: this version's defaults
        return fallback


def update_patient(store: Store, subject: str, *, name: str | None = None,
                   notes: str | None = None, actor: Actor | None = None) -> None:
    """Change a patient's name or notes (None leaves a field as it is). Raises InputError for
    text the records do not accept (see `posture.store.validation`)."""
    name, notes = clean_name(name), clean_notes(notes, "patient notes")
    with _transaction(store) as session:
        patient = _patient(session, subject)
        if name is not None:
            patient.name = name
        if notes is not None:
            patient.notes = notes
        changed = [f for f, v in (("name", name), ("notes", notes)) if v is not None]
        audit.record(session, actor, audit.PATIENT_UPDATED, subject=patient.subject,
                     detail="changed: " + ", ".join(changed))


def delete_visit(store: Store, visit_id: int, *, actor: Actor | None = None) -> None:
    """Delete a visit with its photos and every analysis. Raises NotFoundError. The visit's
    audit lines stay (the patient's record goes on), with one more saying it was deleted."""
    with _transaction(store) as session:
        _secure_delete(session)
        visit = _visit(session, visit_id)
        subject, n = visit.patient.subject, len(visit.analyses)
        session.delete(visit)
        audit.record(session, actor, audit.DELETE_VISIT, subject=subject, visit_id=visit_id,
                     detail=f"visit with its photos and {n} analysis/es deleted")
    _checkpoint(store)


def delete_patient(store: Store, subject: str, *, actor: Actor | None = None) -> int:
    """Delete a patient with every visit, photo and analysis. Returns the number of visits.

    Erasure: the patient's earlier audit lines go too, and one line remains: the clinic's
    patient ID, who deleted it and when, and how many visits and audit lines went. On SQLite
    the freed pages are overwritten with zeros (secure_delete) and the write-ahead log is
    emptied, so the photos do not linger in the file."""
    with _transaction(store) as session:
        _secure_delete(session)
        patient = _patient(session, subject)
        n = len(patient.visits)
        session.delete(patient)
        session.flush()
        forgotten = audit.forget_patient(session, patient.subject)
        audit.record(session, actor, audit.DELETE_PATIENT, subject=patient.subject,
                     detail=f"patient deleted with {n} visit(s), their photos and analyses; "
                            f"{forgotten} earlier audit line(s) of the patient removed")
    _checkpoint(store)
    return n


def _secure_delete(session: Session) -> None:
    """SQLite: deleted rows are overwritten with zeros, not left in free pages of the file."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")


def _checkpoint(store: Store) -> None:
    """SQLite: copy the write-ahead log into the file and empty it, so no earlier page image
    of a deleted photo stays in posture.db-wal. PostgreSQL's dead rows are reclaimed by its
    autovacuum (see docs/security.md)."""
    if store.backend != "sqlite":
        return
    # Outside any transaction (the engine's BEGIN IMMEDIATE would hold the file): the raw
    # connection is in autocommit mode (db._sqlite_setup).
    connection = store.engine.raw_connection()
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass    # busy: the next checkpoint empties it; the delete itself is committed
    finally:
        connection.close()


# --- reading -----------------------------------------------------------------------------------


def list_patients(store: Store) -> list[PatientSummary]:
    """Every patient, by ID."""
    with _transaction(store, writing=False) as session:
        counts = (select(Visit.patient_id, func.count(Visit.id).label("n"),
                         func.max(Visit.visit_date).label("last"))
                  .group_by(Visit.patient_id).subquery())
        rows = session.execute(
            select(Patient, counts.c.n, counts.c.last)
            .outerjoin(counts, counts.c.patient_id == Patient.id)
            .order_by(Patient.subject)).all()
        return [PatientSummary(p.subject, p.name, p.notes, n or 0, last)
                for p, n, last in rows]


def get_patient(store: Store, subject: str) -> PatientSummary:
    """One patient. Raises NotFoundError."""
    for p in list_patients(store):
        if p.subject == subject:
            return p
    raise NotFoundError(f"no patient '{_shown(subject)}' in the records")


def _visits_query(subject: str):
    return (select(Visit).join(Visit.patient).where(Patient.subject == subject)
            .options(selectinload(Visit.analyses), selectinload(Visit.patient))
            .order_by(Visit.visit_date, Visit.id))


def list_visits(store: Store, subject: str) -> list[VisitSummary]:
    """A patient's visits, oldest first. Raises NotFoundError for an unknown patient."""
    what = f"the visits of '{_shown(subject)}'"
    with _transaction(store, writing=False, what=what) as session:
        _patient(session, subject)
        # Photo bytes are not loaded: only the slots are needed.
        visits = session.scalars(_visits_query(subject)).all()
        slots = {}
        for visit_id, slot in session.execute(
                select(Photo.visit_id, Photo.slot).where(
                    Photo.visit_id.in_([v.id for v in visits])).order_by(Photo.slot)):
            slots.setdefault(visit_id, []).append(slot)
        return [_summary(v, tuple(sorted(slots.get(v.id, ()), key=slot_order)))
                for v in visits]


def _summary(visit: Visit, slots: tuple[str, ...]) -> VisitSummary:
    latest = visit.analyses[-1] if visit.analyses else None
    return VisitSummary(
        visit_id=visit.id, subject=visit.patient.subject, visit_date=visit.visit_date,
        height_cm=visit.height_cm, notes=visit.notes, slots=slots,
        analyses=len(visit.analyses),
        posture_version=latest.posture_version if latest else "",
        analysed_at=latest.analysed_at if latest else "")


def list_analyses(store: Store, visit_id: int) -> list[AnalysisSummary]:
    """A visit's analyses, oldest first (the last is the one shown by default)."""
    with _transaction(store, writing=False, what=f"visit {visit_id}") as session:
        return [AnalysisSummary(a.id, a.posture_version, a.analysed_at)
                for a in _visit(session, visit_id).analyses]


def _stored_findings(analysis: Analysis) -> tuple[dict, str]:
    """The `findings` cell of each stored photo's rows by slot, and the visit's own (the rows
    of two photos carry those), read from the stored result as `Assessment.rows` wrote it."""
    try:
        result = json.loads(analysis.result_json)
    except (TypeError, ValueError):
        return {}, ""
    visit = [f.get("message", "") for f in result.get("findings", [])]
    out = {}
    for p in result.get("photos", []):
        out[p.get("slot")] = findings_text(
            visit + [f.get("message", "") for f in p.get("findings", [])])
    return out, findings_text(visit)


def _rows(analysis: Analysis, subject: str, visit: Visit) -> list[dict]:
    """The core's tidy rows back, plus the visit's date and id."""
    findings, visit_findings = _stored_findings(analysis)
    out = []
    for m in analysis.measurements:
        row = {k: getattr(m, k) for k in ROW_FIELDS}
        row.update(findings=findings.get(m.slot, visit_findings))
        row.update(subject=subject, analysed_at=analysis.analysed_at,
                   posture_version=analysis.posture_version,
                   visit_date=visit.visit_date.isoformat(), visit_id=visit.id)
        out.append({k: row[k] for k in HISTORY_COLUMNS})
    return out


def _pick(visit: Visit, analysis_id: int | None) -> Analysis:
    if analysis_id is None:
        if not visit.analyses:
            raise NotFoundError(f"visit {visit.id} has no analysis")
        return visit.analyses[-1]
    for a in visit.analyses:
        if a.id == analysis_id:
            return a
    raise NotFoundError(f"visit {visit.id} has no analysis {analysis_id}")


def load_visit(store: Store, visit_id: int, analysis_id: int | None = None) -> VisitRecord:
    """A stored visit as a `VisitRecord`: its latest analysis unless `analysis_id` is given.
    Rows carry visit_date and visit_id beside the core's columns."""
    with _transaction(store, writing=False, what=f"visit {visit_id}") as session:
        visit = _visit(session, visit_id)
        analysis = _pick(visit, analysis_id)
        result = _result(analysis)
        findings = [f["message"] for f in result.get("findings", [])]
        # Named by photo, as `Assessment.all_findings` names them ("Left side photo: ...").
        findings += [f"{slot_title(str(p.get('slot', 'the')))}: {f['message']}"
                     for p in result.get("photos", []) for f in p.get("findings", [])]
        return VisitRecord(
            label=visit.visit_date.isoformat(),
            rows=tuple(_rows(analysis, visit.patient.subject, visit)),
            images={img.slot: img.png
                    for img in sorted(analysis.images, key=lambda i: slot_order(i.slot))},
            findings=tuple(findings), subject=visit.patient.subject,
            patient_name=visit.patient.name, visit_date=visit.visit_date,
            height_cm=visit.height_cm, notes=visit.notes, visit_id=visit.id,
            analysis_id=analysis.id, posture_version=analysis.posture_version,
            analysed_at=analysis.analysed_at)


def load_analysis_json(store: Store, visit_id: int, analysis_id: int | None = None) -> dict:
    """The stored `assessment_json` (landmarks in photo pixels, options, findings, rows)."""
    with _transaction(store, writing=False, what=f"visit {visit_id}") as session:
        return _result(_pick(_visit(session, visit_id), analysis_id))


def visit_photos(store: Store, visit_id: int) -> dict[str, tuple[str, bytes]]:
    """slot -> (file name, bytes exactly as uploaded). For the clinic's record only: these
    carry the camera's metadata (EXIF, maybe GPS); never export them."""
    with _transaction(store, writing=False, what=f"visit {visit_id}") as session:
        return {p.slot: (p.filename, _photo_data(p))
                for p in sorted(_visit(session, visit_id).photos,
                                key=lambda p: slot_order(p.slot))}


def history_rows(store: Store, subject: str) -> list[dict]:
    """Every measurement of a patient's visits (latest analysis of each), oldest visit first.
    Columns: HISTORY_COLUMNS."""
    what = f"the history of '{_shown(subject)}'"
    with _transaction(store, writing=False, what=what) as session:
        _patient(session, subject)
        out = []
        for visit in session.scalars(_visits_query(subject)):
            if visit.analyses:
                out.extend(_rows(visit.analyses[-1], subject, visit))
        return out


def visit_rows(store: Store, visit_id: int, analysis_id: int | None = None) -> list[dict]:
    """One visit's measurements (HISTORY_COLUMNS)."""
    return list(load_visit(store, visit_id, analysis_id).rows)


def history_csv(store: Store, subject: str) -> str:
    """The full-history CSV text: formula-safe cells, numbers as numbers."""
    return csv_text(history_rows(store, subject), HISTORY_COLUMNS)


def visit_csv(store: Store, visit_id: int, analysis_id: int | None = None) -> str:
    """One visit's CSV text (same columns as the history CSV)."""
    return csv_text(visit_rows(store, visit_id, analysis_id), HISTORY_COLUMNS)
