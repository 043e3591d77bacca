"""Many subjects at once: pair photos, analyse each pair, append rows as they finish.

Pairing, in this order:
1. A manifest CSV (`--manifest FILE`, or `manifest.csv` inside the folder) with columns
   `subject, front, side` and optionally `height_cm`; paths are relative to the manifest's
   folder; either photo may be empty.
2. Otherwise file names: `<subject>_front.<ext>` and `<subject>_side.<ext>` (also `-front`,
   `-side`; case does not matter). A subject may have just one of the two.

Each finished subject's rows are appended and flushed at once, so an interrupted batch keeps
every finished subject; `resume=True` skips subjects already in the output file. A photo that
fails gets one error row (status "error") and the batch goes on.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from posture.assessment import TABLE_COLUMNS, AnalysisOptions, analyze
from posture.errors import InputError, PostureError
from posture.export import write_csv

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
_NAME = re.compile(r"^(?P<subject>.+?)[_-](?P<slot>front|side)$", re.IGNORECASE)
STATUS_ERROR = "error"


@dataclass(frozen=True)
class Job:
    subject: str
    front: Path | None
    side: Path | None
    height_cm: float | None = None


def _read_manifest(path: Path) -> list[Job]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise InputError(f"Cannot read the manifest '{path.name}' as UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "subject" not in reader.fieldnames:
        raise InputError(f"Manifest '{path.name}' needs a header with columns subject, front, "
                         "side (and optionally height_cm)")
    jobs, seen = [], set()
    for line, row in enumerate(reader, start=2):
        subject = (row.get("subject") or "").strip()
        if not subject:
            raise InputError(f"Manifest '{path.name}', line {line}: empty subject")
        if subject in seen:
            raise InputError(f"Manifest '{path.name}', line {line}: subject '{subject[:40]}' "
                             "appears twice")
        seen.add(subject)
        front, side = ((row.get(k) or "").strip() for k in ("front", "side"))
        height = (row.get("height_cm") or "").strip()
        try:
            height_cm = float(height) if height else None
        except ValueError:
            raise InputError(f"Manifest '{path.name}', line {line}: height_cm '{height[:20]}' "
                             "is not a number") from None
        jobs.append(Job(subject, path.parent / front if front else None,
                        path.parent / side if side else None, height_cm))
    return jobs


def plan_jobs(folder: str | os.PathLike, manifest: str | os.PathLike | None = None) -> list[Job]:
    """The subjects to analyse, by manifest or by file names (see module docstring)."""
    folder = Path(folder)
    if manifest is None and (folder / "manifest.csv").is_file():
        manifest = folder / "manifest.csv"
    if manifest is not None:
        return _read_manifest(Path(manifest))
    if not folder.is_dir():
        raise InputError(f"'{folder}' is not a folder")
    pairs: dict[str, dict[str, Path]] = {}
    for p in sorted(folder.iterdir()):
        m = _NAME.match(p.stem)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and m:
            pairs.setdefault(m["subject"], {})[m["slot"].lower()] = p
    if not pairs:
        raise InputError(f"No photos named <subject>_front / <subject>_side in '{folder}', and "
                         "no manifest.csv: see `posture batch --help`")
    return [Job(s, d.get("front"), d.get("side")) for s, d in sorted(pairs.items())]


def error_row(job: Job, message: str) -> dict:
    image = " + ".join(p.name for p in (job.front, job.side) if p is not None)
    return {"subject": job.subject, "status": STATUS_ERROR, "detail": message, "image": image}


def analyse_job(job: Job, options: AnalysisOptions, detector=None) -> list[dict]:
    """The job's tidy rows, or one error row: never raises for bad photos."""
    try:
        opts = AnalysisOptions(**{**options.__dict__, "subject": job.subject,
                                  "height_cm": job.height_cm or options.height_cm})
        result = analyze(job.front, job.side, opts, detector=detector)
    except PostureError as exc:
        return [error_row(job, str(exc))]
    return result.rows()


def done_subjects(out: Path) -> set[str]:
    """Subjects with rows in an existing output; a torn last line is cut off first."""
    if not out.exists():
        return set()
    data = out.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(out, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    rows = csv.DictReader(data.decode("utf-8", errors="replace").splitlines())
    if rows.fieldnames is None:
        return set()
    if list(rows.fieldnames) != list(TABLE_COLUMNS):
        raise InputError(f"'{out.name}' is not a posture results file of this version: "
                         "choose another --out, or delete it")
    return {r["subject"] for r in rows if r.get("subject") is not None}


def run_batch(jobs: list[Job], out: str | os.PathLike, options: AnalysisOptions, *,
              resume: bool = False, workers: int = 1, progress=None) -> Iterator[tuple[Job, int]]:
    """Analyse jobs and append their rows to `out` as each finishes; yields (job, n_rows).

    workers > 1 runs one model per worker process (see posture.parallel).
    """
    out = Path(out)
    done = done_subjects(out) if resume else set()
    if not resume and out.exists():
        out.unlink()
    todo = [j for j in jobs if j.subject not in done]
    new_file = not out.exists() or out.stat().st_size == 0
    with open(out, "a", encoding="utf-8", newline="") as fp:
        if new_file:
            write_csv([], fp)
        for job, rows in _results(todo, options, workers):
            write_csv(rows, fp, header=False)
            fp.flush()
            os.fsync(fp.fileno())
            yield job, len(rows)


def _results(jobs: list[Job], options: AnalysisOptions, workers: int):
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, analyse_job(job, options)
        return
    from posture.parallel import map_jobs

    yield from map_jobs(jobs, options, workers)
