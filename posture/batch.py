"""Many subjects at once: pair photos, analyse each pair, append rows as they finish.

Pairing, in this order:
1. A manifest CSV (`--manifest FILE`, or `manifest.csv` inside the folder) with the column
   `subject`, any of the photo columns `front, back, left, right, side` and optionally
   `height_cm` (header names are trimmed and matched without regard to case; any other column
   is refused, a misspelt photo column being the likely cause); paths are relative to the
   manifest's folder; each row needs at least one photo. `side` is a side photo without
   saying which side (filed as left or right by the way the patient faces).
2. Otherwise file names: `<subject>_front.<ext>`, `_back`, `_left`, `_right` and `_side`
   (also `-front` and so on; case does not matter). A subject may have any of them.

Either way a subject's photos are refused before any is analysed, naming the row (or the
files), when one file fills two slots or a side photo comes beside both a left and a right one
(`posture.assessment.check_given`, as `analyze` itself refuses them).

Output: the tidy table (`TABLE_COLUMNS`), one block of rows per subject, in the order subjects
finish. Each block is written with a single `write` to a file opened for appending, then
flushed to disk (`fsync`), so an interrupted batch (Ctrl-C, `kill -9`, a closed terminal) keeps
every finished subject whole and never half a subject. `resume=True` skips subjects already in
the file: no subject is analysed or written twice. A torn last line (power loss mid-write) is
cut off, with the rest of that subject's block, before resuming. A photo that fails gets one
error row (status "error", the reason in "detail") and the batch goes on.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from posture.assessment import (
    ANY_SIDE,
    SLOTS,
    TABLE_COLUMNS,
    AnalysisOptions,
    analyze,
    check_given,
)
from posture.errors import InputError, PostureError, WriteError
from posture.export import safe_cell, write_csv

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
#: The photo columns of a manifest, and name suffixes in a folder: the slots of
#: `posture.assessment.analyze`, then "side" (a side photo, filed by the way the patient faces).
PHOTO_COLUMNS = (*SLOTS, ANY_SIDE)
MANIFEST_COLUMNS = ("subject", *PHOTO_COLUMNS, "height_cm")
_NAME = re.compile(rf"^(?P<subject>.+?)[_-](?P<slot>{'|'.join(PHOTO_COLUMNS)})$", re.IGNORECASE)
STATUS_ERROR = "error"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Job:
    """One subject's photos (each optional, at least one given) and height."""

    subject: str
    front: Path | None = None
    side: Path | None = None        # a side photo without its side: filed by facing
    height_cm: float | None = None
    back: Path | None = None
    left: Path | None = None
    right: Path | None = None

    @property
    def photos(self) -> dict[str, Path]:
        """slot -> path of the photos given, in PHOTO_COLUMNS order: as `analyze` takes them."""
        return {slot: getattr(self, slot) for slot in PHOTO_COLUMNS
                if getattr(self, slot) is not None}


def _manifest_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: cell}) for each non-blank row; the header is normalised."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        columns = [h.strip().lower() for h in header or ()]
        if "subject" not in columns:
            raise InputError(f"Manifest '{name}' needs a header with columns subject and any of "
                             "front, back, left, right, side (and optionally height_cm)")
        # A blank header cell (a spreadsheet's trailing comma) names nothing: its cells are
        # ignored; a named column that is not ours is most likely a misspelt photo column.
        unknown = [c for c in columns if c and c not in MANIFEST_COLUMNS]
        if unknown:
            raise InputError(f"Manifest '{name}', line 1: unknown column '{_shown(unknown[0])}': "
                             "the columns are " + ", ".join(MANIFEST_COLUMNS))
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            row = {}
            for column, cell in zip(columns, cells):
                row.setdefault(column, cell.strip())  # a repeated column: the first counts
            yield reader.line_num, row
    except csv.Error as exc:
        raise InputError(f"Manifest '{name}', line {reader.line_num}: not valid CSV "
                         f"({str(exc)[:80]})") from None


def _shown(text: str, limit: int = 40) -> str:
    """A cell quoted in a one-line message: control characters as spaces, cut to `limit`."""
    return _CONTROL.sub(" ", text)[:limit]


def _manifest_path(folder: Path, text: str, where: str) -> Path | None:
    if not text:
        return None
    if "\x00" in text:
        raise InputError(f"{where}: the photo path contains a NUL character")
    return folder / text


def _check_photos(photos: dict[str, Path], who: str) -> None:
    """`check_given` before any subject is analysed, its message saying whose photos."""
    try:
        check_given(photos)
    except InputError as exc:
        raise InputError(f"{who}: {exc}") from None


def _read_manifest(path: Path) -> list[Job]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError):
        raise InputError(f"Cannot read the manifest '{path.name}' as UTF-8 text") from None
    jobs, seen = [], set()
    for line, row in _manifest_rows(text, path.name):
        where = f"Manifest '{path.name}', line {line}"
        subject = row.get("subject", "")
        if not subject:
            raise InputError(f"{where}: empty subject")
        if _CONTROL.search(subject):
            raise InputError(f"{where}: the subject contains a control character (a line "
                             "break or tab)")
        if subject in seen:
            raise InputError(f"{where}: subject '{_shown(subject)}' appears twice")
        seen.add(subject)
        photos = {slot: _manifest_path(path.parent, row.get(slot, ""), where)
                  for slot in PHOTO_COLUMNS}
        photos = {slot: photo for slot, photo in photos.items() if photo is not None}
        if not photos:
            raise InputError(f"{where}: subject '{_shown(subject)}' has no photo in any of the "
                             "columns " + ", ".join(PHOTO_COLUMNS))
        _check_photos(photos, f"{where}: subject '{_shown(subject)}'")
        height = row.get("height_cm", "")
        try:
            height_cm = float(height) if height else None
        except ValueError:
            raise InputError(f"{where}: height_cm '{_shown(height)}' is not a number") from None
        if height_cm is not None and not (math.isfinite(height_cm) and 50 <= height_cm <= 250):
            raise InputError(f"{where}: height_cm '{_shown(height)}' must be in cm, between 50 "
                             "and 250")
        jobs.append(Job(subject, height_cm=height_cm, **photos))
    if not jobs:
        raise InputError(f"Manifest '{path.name}' lists no subjects")
    return jobs


def plan_jobs(folder: str | os.PathLike, manifest: str | os.PathLike | None = None) -> list[Job]:
    """The subjects to analyse, by manifest or by file names (see module docstring).

    Raises InputError: a malformed manifest (the message names the line), a missing folder,
    or a folder without matching photo names.
    """
    folder = Path(folder)
    if manifest is None and (folder / "manifest.csv").is_file():
        manifest = folder / "manifest.csv"
    if manifest is not None:
        return _read_manifest(Path(manifest))
    if not folder.is_dir():
        raise InputError(f"'{folder}' is not a folder")
    named: dict[str, dict[str, Path]] = {}
    for p in sorted(folder.iterdir()):
        m = _NAME.match(p.stem)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and m:
            slot = m["slot"].lower()
            other = named.setdefault(m["subject"], {}).setdefault(slot, p)
            if other != p:
                raise InputError(f"'{_shown(other.name)}' and '{_shown(p.name)}' are both the "
                                 f"{slot} photo of '{_shown(m['subject'])}': keep one")
    if not named:
        raise InputError(f"No photos named <subject>_front, _back, _left, _right or _side in "
                         f"'{folder}', and no manifest.csv: see `posture batch --help`")
    for subject, photos in named.items():
        _check_photos(photos, f"'{_shown(subject)}' in '{folder.name}'")
    return [Job(s, **d) for s, d in sorted(named.items())]


def error_row(job: Job, message: str) -> dict:
    image = " + ".join(p.name for p in job.photos.values())
    return {"subject": job.subject, "status": STATUS_ERROR, "detail": message, "image": image}


def analyse_job(job: Job, options: AnalysisOptions, detector=None, filing=None) -> list[dict]:
    """The job's tidy rows, or one error row: never raises for a bad photo.

    Errors the clinician can act on (PostureError) keep their message. Anything else (a bug,
    a library failing on a strange photo) also becomes an error row naming the exception, so
    one photo cannot stop a batch of hundreds; MemoryError and KeyboardInterrupt propagate.

    With `filing` (a `posture.filing.Filing`), a subject analysed without error is filed as a
    visit before its rows are returned (an error row files nothing). A failed save raises
    StoreError: the records, not a photo, are at fault, and the batch stops.
    """
    try:
        opts = replace(options, subject=job.subject,
                       height_cm=job.height_cm if job.height_cm is not None
                       else options.height_cm)
        result = analyze(options=opts, detector=detector, **job.photos)
    except PostureError as exc:
        return [error_row(job, str(exc))]
    except MemoryError:
        raise
    except Exception as exc:  # one subject's failure is recorded, not fatal to the batch
        detail = " ".join(str(exc).split())[:200]
        return [error_row(job, f"analysis failed unexpectedly ({type(exc).__name__}: {detail}); "
                               "please report this photo")]
    if filing is not None:
        from posture.filing import file_visit, process_store

        file_visit(process_store(filing.db_url), job.subject, result, job.photos, filing)
    return result.rows()


def _scan(data: bytes) -> tuple[list[tuple[int, str]], bool]:
    """The whole CSV records at the start of `data`: [(byte offset of the record's end, its
    first cell)], and whether a torn record (no final line break, or an open quote) follows.

    Records are parsed as CSV, so a quoted cell holding a line break is one record. Raises
    csv.Error for text that is not CSV before the end of the data.
    """
    text = data.decode("utf-8", errors="surrogateescape")  # offsets map back to bytes exactly
    consumed = [0, 0]  # characters, bytes

    def lines():
        for line in io.StringIO(text, newline=""):
            consumed[0] += len(line)
            consumed[1] += len(line.encode("utf-8", errors="surrogateescape"))
            yield line

    records: list[tuple[int, str]] = []
    reader = csv.reader(lines(), strict=True)
    try:
        for cells in reader:
            if text[consumed[0] - 1:consumed[0]] not in ("\n", "\r"):
                return records, True          # the last line has no line break: torn
            records.append((consumed[1], cells[0] if cells else ""))
    except csv.Error:
        if consumed[0] < len(text):
            raise                             # malformed before the end: not a torn write
        return records, True                  # the end came inside a quoted cell
    return records, False


def _complete_prefix(data: bytes) -> tuple[int, list[tuple[int, str]]]:
    """How many bytes of `data` hold whole subjects, and their records. A torn last record
    takes the rows of its subject just before it along: that subject is redone whole."""
    records, torn = _scan(data)
    if torn and len(records) > 1:
        rest = data[records[-1][0]:].decode("utf-8", errors="ignore")  # may end mid-character
        cells = next(csv.reader(io.StringIO(rest, newline="")), None)  # lenient: it is torn
        torn = cells[0] if cells else ""
        # The cut may fall inside the subject cell itself: then only a prefix of it is known.
        same = (lambda s: s == torn) if cells and len(cells) > 1 else (
            lambda s: s.startswith(torn))
        if same(records[-1][1]):
            subject = records[-1][1]
            while len(records) > 1 and records[-1][1] == subject:
                records.pop()
    return (records[-1][0] if records else 0), records


def done_subjects(out: str | os.PathLike) -> set[str]:
    """Subjects whose rows are in an existing results file (a torn last block not counted),
    as written there: a subject a spreadsheet would take for a formula carries a leading
    apostrophe (`posture.export.safe_cell`); compare `safe_cell(job.subject)` with them.

    Returns an empty set for a missing or empty file. Raises InputError when the file is not a
    results file of this version (another header, not CSV). Never changes the file.
    """
    out = Path(out)
    try:
        data = out.read_bytes()
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read '{out.name}' to resume it "
                         f"({getattr(exc, 'strerror', None) or exc})") from None
    if not data.strip():
        return set()
    not_ours = InputError(f"'{out.name}' is not a posture results file of this version: "
                          "choose another --out, or delete it")
    try:
        _, records = _complete_prefix(data)
        header = next(csv.reader([data[:records[0][0]].decode("utf-8", errors="replace")]),
                      None) if records else None
    except csv.Error:
        raise not_ours from None
    if not records:
        # Nothing whole yet: a torn header of ours is fine, anything else is not ours.
        if ",".join(TABLE_COLUMNS).startswith(data.decode("utf-8", errors="replace")):
            return set()
        raise not_ours
    if header != list(TABLE_COLUMNS):
        raise not_ours
    return {subject for _, subject in records[1:] if subject}


def remaining_jobs(jobs: list[Job], out: str | os.PathLike) -> list[Job]:
    """The jobs a `resume=True` run of `run_batch` would analyse (for a progress bar's total).

    Raises InputError like `done_subjects`.
    """
    done = done_subjects(out)
    return [j for j in jobs if safe_cell(j.subject) not in done]


def _check_replaceable(out: Path) -> None:
    """Refuse to overwrite a file that is not a results file (a photo given as --out, say)."""
    try:
        with open(out, "rb") as f:
            head = f.read(len(",".join(TABLE_COLUMNS)) + 1)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot write '{out}': {getattr(exc, 'strerror', None) or exc}"
                         ) from None
    header = (",".join(TABLE_COLUMNS) + "\n").encode()
    if head and not header.startswith(head):
        raise InputError(f"'{out.name}' exists and is not a posture results file; choose "
                         "another --out (an earlier results file is replaced)")


def _block(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    write_csv(rows, buf, header=False)
    return buf.getvalue().encode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _append(fd: int, data: bytes, size: int, out: Path) -> int:
    """Append one whole block and sync it; the file's new size. On a write error (a full disk)
    the file is cut back to `size`, its last whole block, and WriteError says so."""
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as exc:
        # Cutting frees space, so it works on a full disk; if not, resume cuts the torn rows.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise WriteError(f"Cannot write '{out.name}': {exc.strerror or exc}; every finished "
                         "subject's rows are kept whole: free some space, then run again with "
                         "--resume") from None
    return size + len(data)


def run_batch(jobs: list[Job], out: str | os.PathLike, options: AnalysisOptions, *,
              resume: bool = False, workers: int = 1,
              progress: Callable[[Job, int], None] | None = None, filing=None
              ) -> Iterator[tuple[Job, int]]:
    """Analyse jobs and append their rows to `out` as each finishes; yields (job, n_rows).

    Without `resume`, an existing results file `out` is replaced (any other existing file is
    refused with InputError). With it, subjects already in `out` are skipped (and not
    yielded). workers > 1 runs one model per worker process
    (posture.parallel); rows then come in the order subjects finish. `progress`, if given, is
    called with (job, n_rows) after each subject's rows are on disk. `filing` (a
    `posture.filing.Filing`) files each subject analysed without error as a visit, before its
    rows are written: rows in `out` mean filed, and a resumed batch files nothing twice.
    """
    out = Path(out)
    # Both raise before anything is changed.
    todo = remaining_jobs(jobs, out) if resume else list(jobs)
    if not resume:
        _check_replaceable(out)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise InputError(f"Cannot write '{out}': {exc.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        if not resume:
            os.ftruncate(fd, 0)
            size = 0
        elif size:
            keep, _ = _complete_prefix(out.read_bytes())
            if keep < size:
                os.ftruncate(fd, keep)
                size = keep
        if size == 0:
            buf = io.StringIO()
            write_csv([], buf)
            size = _append(fd, buf.getvalue().encode("utf-8"), size, out)
        for job, rows in _results(todo, options, workers, filing):
            size = _append(fd, _block(rows), size, out)
            if progress is not None:
                progress(job, len(rows))
            yield job, len(rows)
    finally:
        os.close(fd)


def _results(jobs: list[Job], options: AnalysisOptions, workers: int, filing=None):
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, analyse_job(job, options, filing=filing)
        return
    from posture.parallel import _work, map_jobs

    work = _work if filing is None else partial(_work, filing=filing)
    yield from map_jobs(jobs, options, workers, work=work)
