"""Filing analysed photos as visits in the records, from the command line (`--save`).

`check_filing` runs before any analysis, so that a batch of hundreds does not stop halfway on
a bad date or ID; `file_visit` saves one visit (`posture.store.save_visit`: all or nothing),
unless the same photos are already on file for that patient and date: an interrupted batch
run again with `--resume`, or the same command run twice, files nothing twice.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from posture.errors import InputError


@dataclass(frozen=True)
class Filing:
    """Where and how visits are filed. Picklable: batch workers file their own subjects."""

    db_url: str | None          # None: $POSTURE_DATABASE_URL, else the SQLite file
    visit_date: date
    notes: str = ""


@dataclass(frozen=True)
class Filed:
    visit_id: int
    already: bool               # the same photos were on file for this patient and date


def _key(subject: str) -> str:
    return "".join(subject.split()).casefold()


def check_filing(store, subjects: Iterable[str], visit_date: date, notes: str = "", *,
                 today: date | None = None) -> None:
    """Refuse, before analysing, what would file a visit wrongly.

    Raises InputError for: a visit date after today; an ID or notes the records would refuse
    (`posture.store.validation`); an ID that differs from a stored patient's (or another ID
    of this batch) only by case or spaces, which is almost always the same person typed twice.
    """
    from posture.store import list_patients
    from posture.store.validation import clean_notes, clean_subject

    today = today or date.today()
    if visit_date > today:
        raise InputError(f"the visit date {visit_date.isoformat()} is in the future (today is "
                         f"{today.isoformat()}): check --visit-date")
    clean_notes(notes)
    known = {_key(p.subject): p.subject for p in list_patients(store)}
    for subject in subjects:
        try:
            cleaned = clean_subject(subject)
        except InputError as exc:
            shown = " ".join(str(subject).split())[:40]
            raise InputError(f"patient ID '{shown}': {exc}" if shown else
                             "give the patient ID (--subject) to file the visit") from None
        other = known.setdefault(_key(cleaned), cleaned)
        if other != cleaned:
            raise InputError(f"patient ID '{cleaned}' differs from '{other}' only by case or "
                             f"spaces: use '{other}' if it is the same patient, or an ID that "
                             "differs in more than that")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _on_file(store, subject: str, visit_date: date, photos: Mapping[str, bytes]) -> int | None:
    """The id of a visit of `subject` on `visit_date` holding exactly these photos, if any."""
    from posture.store import NotFoundError, list_visits, visit_photos

    try:
        visits = [v for v in list_visits(store, subject.strip()) if v.visit_date == visit_date]
    except NotFoundError:
        return None
    wanted = {slot: _sha256(data) for slot, data in photos.items()}
    for v in visits:
        stored = {slot: _sha256(data) for slot, (_name, data) in visit_photos(
            store, v.visit_id).items()}
        if stored == wanted:
            return v.visit_id
    return None


def file_visit(store, subject: str, assessment, photos: Mapping[str, str | os.PathLike], filing:
               Filing, *, annotated: Mapping[str, bytes] | None = None) -> Filed:
    """File `assessment` of the photo files `photos` (slot -> path) as a visit of `subject`.

    The photos are stored as the files' bytes; their names (not paths) are recorded.

    Raises StoreError: the database refused the save (nothing of the visit is saved);
    InputError: a photo file cannot be read any more.
    """
    from posture.store import save_visit

    data, names = {}, {}
    for slot, path in photos.items():
        path = Path(path)
        try:
            data[slot] = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the {slot} photo '{path.name}' to file it: "
                             f"{exc.strerror}") from None
        names[slot] = path.name
    # Compared as stored: in the slots analysed (a --side photo is stored as left or right).
    existing = _on_file(store, subject, filing.visit_date, assessment.filed(data))
    if existing is not None:
        return Filed(existing, already=True)
    visit_id = save_visit(store, subject, assessment, data, filenames=names,
                          visit_date=filing.visit_date, notes=filing.notes, annotated=annotated)
    return Filed(visit_id, already=False)


_stores: dict = {}


def process_store(url: str | None):
    """One open store per process and URL (a batch worker files many subjects)."""
    from posture.store import database_url, open_store

    url = database_url(url)
    if url not in _stores:
        _stores[url] = open_store(url)
    return _stores[url]
