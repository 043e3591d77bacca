"""Records: what the integrity check costs on opening, backup and restore rates, and the PDF's
time against the length of the notes.

A SQLite store of --visits visits of leo's sample pair (two 12 MP phone photos and two
annotated PNGs each, about 5 MB a visit) is built in a temporary folder; then, medians of
--repeat runs:
- opening it (`open_store`: `PRAGMA quick_check` over the whole file, then the migrations
  check), against the same open with the check skipped;
- `posture.store.backup.backup` to a file beside it, and `restore` into an empty SQLite file;
- `visit_report_pdf` with notes of 0, 1,000, 10,000 (the records' limit) and 1,000,000
  characters (a record from before the limit: clipped), Latin and Arabic text.

    .venv/bin/python benchmarks/records.py [--visits 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.postgres import leo_visit  # noqa: E402


def median_seconds(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from posture.compare import VisitRecord
    from posture.report import visit_report_pdf
    from posture.store import db as store_db
    from posture.store import open_store, save_visit
    from posture.store.backup import backup, restore

    sample = leo_visit("first")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        url = f"sqlite:///{folder / 'records.db'}"
        store = open_store(url)
        for i in range(args.visits):
            save_visit(store, f"P-{i % 7}", sample.assessment, sample.photos,
                       annotated=sample.annotated, visit_date=date(2025, 1, 1 + i % 28))
        store.close()
        size = (folder / "records.db").stat().st_size / 1e6
        print(f"store: {args.visits} visits, {size:.0f} MB (SQLite)")

        checked = median_seconds(lambda: open_store(url).close(), args.repeat)
        skip = store_db.check_sqlite_file
        store_db.check_sqlite_file = lambda engine: None
        try:
            unchecked = median_seconds(lambda: open_store(url).close(), args.repeat)
        finally:
            store_db.check_sqlite_file = skip
        print(f"open with quick_check: {checked:.3f} s; without: {unchecked:.3f} s; the check "
              f"costs {(checked - unchecked) / size * 1000:.1f} s per GB (file in page cache)")

        store = open_store(url)
        made = median_seconds(lambda: backup(store, folder / "backup.db"), args.repeat)
        store.close()
        print(f"backup (online API + every photo's SHA-256): {made:.2f} s, "
              f"{size / made:.0f} MB/s")

        def restore_once():
            target_path = folder / "restored.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target_path}{suffix}").unlink(missing_ok=True)
            target = open_store(f"sqlite:///{target_path}")
            restore(target, folder / "backup.db")
            target.close()

        back = median_seconds(restore_once, args.repeat)
        print(f"restore into an empty SQLite file (checked before and after): {back:.2f} s, "
              f"{size / back:.0f} MB/s")

    record = VisitRecord.from_assessment(sample.assessment, "2025-01-10",
                                         visit_date=date(2025, 1, 10), images=sample.annotated)
    for script, words in (("Latin", "Neck pain on the left after a fall; "),
                          ("Arabic", "ألم في الرقبة على اليسار بعد سقوط؛ ")):
        for chars in (0, 1_000, 10_000, 1_000_000):
            notes = (words * (chars // len(words) + 1))[:chars]
            with_notes = VisitRecord(**{**record.__dict__, "notes": notes})
            seconds = median_seconds(lambda r=with_notes: visit_report_pdf(r), args.repeat)
            print(f"PDF, {script} notes of {chars:>9,} characters: {seconds:.2f} s")


if __name__ == "__main__":
    main()
