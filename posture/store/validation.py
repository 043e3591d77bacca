"""What the records accept: one set of rules, checked before any database sees the text.

SQLite stores almost anything (a NUL byte, a 10,000-character name in a 200-character column);
PostgreSQL refuses NUL bytes and over-long values. Checked here, both behave the same and the
clinician gets one line saying what to change, not a driver's message.

Limits (characters, not bytes):
- patient ID: 1-100, one line, printable (it names files and appears in every header);
- patient name: at most 200, one line;
- notes (patient or visit): at most 10,000, which is about four pages of text; tabs and line
  breaks allowed, other control characters not. The PDF report prints them in full, so the
  limit also bounds its size and the time it takes;
- photo file names: kept for the record only, so they are made storable rather than refused
  (control characters shown as "?", at most 255).
Text must be valid Unicode (no lone surrogates, which no database encoding can hold).
"""

from __future__ import annotations

from posture.errors import InputError

MAX_SUBJECT = 100
MAX_NAME = 200
MAX_NOTES = 10_000
MAX_FILENAME = 255

_LINE_BREAKS = "\t\n\r"


def _unicode(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"the {what} holds characters that are not valid text (from a "
                         "damaged file name or copy and paste): type it again") from None


def _control(text: str, allowed: str = "") -> str | None:
    """The first control character not allowed, as "U+0000", or None."""
    for ch in text:
        if (ord(ch) < 32 or 127 <= ord(ch) < 160) and ch not in allowed:
            return f"U+{ord(ch):04X}"
    return None


def clean_subject(subject: str | None) -> str:
    """The patient ID, stripped. Raises InputError naming what to change."""
    subject = (subject or "").strip()
    if not subject:
        raise InputError("give the patient ID")
    _unicode(subject, "patient ID")
    if len(subject) > MAX_SUBJECT or not subject.isprintable():
        raise InputError(f"a patient ID is one line of at most {MAX_SUBJECT} characters")
    return subject


def is_valid_subject(subject: str | None) -> bool:
    """Whether `subject` could be a stored patient ID (lookups of other text find no one)."""
    try:
        return clean_subject(subject) == subject
    except InputError:
        return False


def clean_name(name: str | None) -> str | None:
    """A patient's name (None stays None: "keep the stored name"), stripped."""
    if name is None:
        return None
    name = name.strip()
    _unicode(name, "patient name")
    if len(name) > MAX_NAME:
        raise InputError(f"a patient name has at most {MAX_NAME} characters (this one has "
                         f"{len(name)})")
    bad = _control(name)
    if bad:
        raise InputError(f"a patient name is one line of text; it holds a control character "
                         f"({bad}): type it again")
    return name


def clean_notes(notes: str | None, what: str = "visit notes") -> str | None:
    """Notes as typed (None stays None): tabs and line breaks allowed."""
    if notes is None:
        return None
    _unicode(notes, what)
    if len(notes) > MAX_NOTES:
        raise InputError(f"the {what} have at most {MAX_NOTES:,} characters (these have "
                         f"{len(notes):,}): shorten them")
    bad = _control(notes, _LINE_BREAKS)
    if bad:
        raise InputError(f"the {what} hold a control character ({bad}) that cannot be stored: "
                         "remove it")
    return notes


def clean_filename(name: str | None) -> str:
    """A photo's file name made storable: invalid text and control characters become "?",
    at most MAX_FILENAME characters (the end kept: it holds the extension)."""
    name = (name or "").encode("utf-8", "replace").decode("utf-8")
    name = "".join("?" if _control(ch) else ch for ch in name)
    return name[-MAX_FILENAME:]
