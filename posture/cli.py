"""`posture` command line: a thin face over the library.

    posture analyze [--front F.jpg] [--back B.jpg] [--left L.jpg] [--right R.jpg] [--side S.jpg]
                    [--height-cm 172] [--subject ID] [--out DIR]
    posture batch FOLDER --out results.csv [--manifest M.csv] [--workers N] [--resume]
        both: [--save [--visit-date YYYY-MM-DD] [--notes TEXT] [--db URL]] files visits
    posture history SUBJECT [--csv FILE] [--db URL]
    posture compare SUBJECT [--from DATE] [--to DATE] [--db URL]
    posture app [--port 8501] [--lan [--cert FILE --key FILE]]
    posture records backup FILE [--db URL]
    posture records restore FILE [--db URL]
    posture users add NAME [--admin] | list | disable NAME | enable NAME | passwd NAME
    posture audit [--subject ID] [--visit N] [--csv FILE] [--db URL]

Exit codes: 0 success; 2 bad usage or input (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from posture.errors import PostureError
from posture.numbers import uncertainty_text, value_text

EXIT_OK, EXIT_INPUT, EXIT_INTERRUPTED = 0, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as for any bad input
        # prog is the whole command: "posture", "posture history", "posture records backup".
        self.exit(EXIT_INPUT, f"posture: {message} (see `{self.prog} --help`)\n")


def _common(p: argparse.ArgumentParser) -> None:
    from posture.landmarks.passes import DEFAULT_PASSES, MAX_PASSES

    p.add_argument("--passes", type=int, default=DEFAULT_PASSES, metavar="N",
                   help=f"detection passes per photo, 1-{MAX_PASSES} (default {DEFAULT_PASSES}; "
                        "1 = fastest, least precise)")
    p.add_argument("--level-correct", action="store_true",
                   help="measure tilts against the photo's true vertical, estimated from "
                        "straight lines in it (raw values are kept)")
    p.add_argument("--reference", metavar="CSV",
                   help="a clinic's reference-range CSV overriding the defaults")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="posture", description="Posture screening from front, back and side "
                                                 "photos.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    a = sub.add_parser("analyze", help="analyse one patient's photos: any of front, back, "
                                       "left side, right side")
    a.add_argument("--front", metavar="PHOTO", help="front photo")
    a.add_argument("--back", metavar="PHOTO", help="back photo (taken from behind)")
    a.add_argument("--left", metavar="PHOTO",
                   help="left side photo (the patient's left side toward the camera)")
    a.add_argument("--right", metavar="PHOTO", help="right side photo")
    a.add_argument("--side", metavar="PHOTO", help="a side photo without saying which side: "
                   "filed as left or right by the way the patient faces")
    a.add_argument("--height-cm", type=float, metavar="CM", help="patient's height, for cm")
    a.add_argument("--subject", default="", metavar="ID", help="patient ID for the outputs")
    a.add_argument("--out", metavar="DIR", default=".",
                   help="folder for results.csv, results.json and annotated PNGs (default .)")
    _common(a)
    _saving(a, "file the visit in the records under --subject (see `posture history`)")

    b = sub.add_parser("batch", help="analyse many subjects in a folder",
                       description="Each subject's photos: a manifest CSV (subject, then any of "
                                   "front, back, left, right, side; optionally height_cm) or "
                                   "file names <subject>_front.jpg, _back, _left, _right, "
                                   "_side.")
    b.add_argument("folder", help="folder of photos")
    b.add_argument("--out", required=True, metavar="CSV", help="results CSV to write")
    b.add_argument("--manifest", metavar="CSV", help="manifest (default: FOLDER/manifest.csv)")
    b.add_argument("--height-cm", type=float, metavar="CM",
                   help="height for subjects the manifest gives none")
    b.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), metavar="N",
                   help="worker processes (default: all cores)")
    b.add_argument("--resume", action="store_true",
                   help="keep the rows already in --out and skip those subjects")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    _common(b)
    _saving(b, "file each subject analysed without error as a visit in the records (the "
               "subject is the patient ID; error rows are not filed)")

    h = sub.add_parser("history", help="a patient's stored visits and measures",
                       description="Every visit of a patient in the records, and each "
                                   "measure over the visits (latest analysis of each visit).")
    h.add_argument("subject", metavar="SUBJECT", help="patient ID")
    h.add_argument("--csv", metavar="FILE",
                   help="write the full history CSV (one row per metric and visit)")
    _records(h)

    c = sub.add_parser("compare", help="compare two stored visits of a patient",
                       description="Before/after table of every measure, with whether each "
                                   "change is real: larger than 2 x the combined uncertainty "
                                   "AND the minimal detectable change.")
    c.add_argument("subject", metavar="SUBJECT", help="patient ID")
    c.add_argument("--from", dest="date_from", metavar="DATE",
                   help="the first visit on or after DATE, YYYY-MM-DD (default: the first)")
    c.add_argument("--to", dest="date_to", metavar="DATE",
                   help="the last visit on or before DATE, YYYY-MM-DD (default: the latest)")
    _records(c)

    s = sub.add_parser("app", help="start the intake app (in a browser on this computer)",
                       description="Serve the intake app on http://localhost:PORT, for a "
                                   "browser on this computer only. The pose model loads as "
                                   "the server starts. Ctrl+C stops it.")
    s.add_argument("--port", type=int, default=8501, metavar="N",
                   help="port to listen on (default 8501)")
    s.add_argument("--no-preload", action="store_true",
                   help="load the pose model on the first analysis, not at start")
    s.add_argument("--lan", action="store_true",
                   help="serve on the clinic network (tablets taking photos) over HTTPS, "
                        "everyone signing in; needs an account (posture users add)")
    s.add_argument("--cert", metavar="FILE", help="with --lan: the clinic's TLS certificate "
                   "(PEM); without it a self-signed one is made once and kept")
    s.add_argument("--key", metavar="FILE", help="with --lan: the certificate's key (PEM)")
    r = sub.add_parser("records", help="back up or restore the patient records",
                       description="Back up the whole records (every patient, visit, photo "
                                   "and analysis) to one file, or restore such a file into an "
                                   "empty database. Every photo is checked against its "
                                   "checksum both ways.")
    rsub = r.add_subparsers(dest="records_command", metavar="backup|restore", required=True,
                            parser_class=_Parser)
    rb = rsub.add_parser("backup", help="write a checked backup of the records to FILE",
                         description="Write the records to FILE (one SQLite file, replaced "
                                     "only once the new backup is complete and checked). "
                                     "Safe while others keep saving.")
    rb.add_argument("file", metavar="FILE", help="the backup file to write")
    _records(rb)
    rr = rsub.add_parser("restore", help="restore a backup FILE into an empty database",
                         description="Restore a backup made by `posture records backup` into "
                                     "an empty records database (a damaged or full one: move "
                                     "it aside first), all or nothing, then check every "
                                     "photo against the backup's checksums.")
    rr.add_argument("file", metavar="FILE", help="the backup file to restore")
    _records(rr)
    u = sub.add_parser("users", help="sign-in accounts for the app served beyond localhost",
                       description="Accounts for signing in to the app on a clinic network. "
                                   "The password is asked without echo, or read as one line "
                                   "from standard input when it is not a terminal.")
    users = u.add_subparsers(dest="users_command", required=True, parser_class=_Parser,
                            metavar="add|list|disable|enable|passwd")
    ua = users.add_parser("add", help="create an account")
    ua.add_argument("name", metavar="NAME")
    ua.add_argument("--admin", action="store_true", help="an administrator account")
    _records(ua)
    _records(users.add_parser("list", help="every account"))
    for command, what in (("disable", "disable an account and end its sessions"),
                          ("enable", "enable a disabled account"),
                          ("passwd", "set an account's password (its sessions end)")):
        x = users.add_parser(command, help=what)
        x.add_argument("name", metavar="NAME")
        _records(x)

    au = sub.add_parser("audit", help="the audit log: who saved, edited, exported, deleted",
                        description="Print the newest audit lines, or write them all as CSV.")
    au.add_argument("--subject", metavar="ID", help="only this patient's lines")
    au.add_argument("--visit", type=int, metavar="N", help="only this visit's lines")
    au.add_argument("--csv", metavar="FILE", help="write the lines as CSV")
    au.add_argument("--last", type=int, default=30, metavar="N",
                    help="lines to print without --csv (default 30)")
    _records(au)
    return parser


def _saving(p: argparse.ArgumentParser, what: str) -> None:
    g = p.add_argument_group("records (--save)")
    g.add_argument("--save", action="store_true", help=what)
    g.add_argument("--visit-date", metavar="DATE",
                   help="the visit's date, YYYY-MM-DD (default: today)")
    g.add_argument("--notes", default="", metavar="TEXT", help="the visit's notes")
    _records(g)


def _records(p) -> None:
    p.add_argument("--db", metavar="URL",
                   help="records database URL (default: $POSTURE_DATABASE_URL, else the "
                        "SQLite file in the user data folder)")


def _options(args, **extra):
    from posture.assessment import AnalysisOptions

    return AnalysisOptions(passes=args.passes, height_cm=args.height_cm,
                           correct_camera_roll=args.level_correct,
                           reference_ranges=args.reference, **extra)


def _summary(result) -> str:
    """Findings first, then a table per photo and per measure of two photos, each under its
    slot's title ("Left side photo (leo_left.jpg)", "Left minus right side (...)")."""
    from posture.assessment import slot_title

    lines = [f"! {f.message}" for f in result.all_findings()]
    images = {}
    for row in result.rows():
        images.setdefault(row["slot"], row["image"])
    width = max([40] + [len(m.label) for m in result.metrics])  # labels of two photos are long
    lines.append(f"{'metric':<{width}} {'value':>9}  {'unit':<4} {'+/-':>5}  {'flag':<10} "
                 "direction")
    for slot, image in images.items():
        lines.append(f"-- {slot_title(slot)} ({image})")
        for m in (m for m in result.metrics if m.slot == slot):
            if m.value is None:
                lines.append(f"{m.label:<{width}} {'-':>9}  {m.unit:<4} {'':>5}  {'':<10} "
                             f"not measured: {m.detail}")
            else:
                unc = uncertainty_text(m.uncertainty)
                value = value_text(m.value, missing="-")
                lines.append(f"{m.label:<{width}} {value:>9}  {m.unit:<4} {unc:>5}  "
                             f"{m.flag:<10} {m.direction}")
    return "\n".join(lines + _screening_summary(result))


def _screening_summary(result) -> list[str]:
    """The summary by region and the levels chain in words, as the core reads the visit: each
    measure once (`region_summary`: a line names its photo only where the visit's photos leave
    it unclear), with the photos' disagreements; the levels of the front photo, else the back,
    and whether the back agrees (`frontal_levels`)."""
    from posture.assessment import slot_title
    from posture.metrics.summary import frontal_levels, region_summary

    lines = ["", "Summary by region (screening, not a diagnosis):"]
    for region in region_summary(result.metrics):
        if region.clear:
            lines.append(f"  {region.title}: nothing outside its range")
        lines += [f"  {region.title}: {line.clinician}" for line in region.lines]
    levels = frontal_levels(result.metrics)
    if levels is not None:
        lines += ["", "Levels from the floor up" + (
            f" ({slot_title(levels.slot).lower()}):" if len(result.photos) > 1 else ":")]
        lines += [f"  {o}" for o in levels.observations]
    return lines


def _given_photos(args) -> dict[str, str]:
    """The photo flags given, slot -> path; refused in one line before anything is analysed
    or filed: none at all, or what `check_given` refuses (one file in two slots, --side with
    no side slot left for it)."""
    from posture.assessment import ANY_SIDE, SLOTS, check_given

    photos = {slot: getattr(args, slot) for slot in (*SLOTS, ANY_SIDE) if getattr(args, slot)}
    if not photos:
        raise _usage("give at least one photo: --front, --back, --left, --right or --side PHOTO")
    check_given(photos)
    return photos


def _analyze(args) -> int:
    from posture.assessment import analyze
    from posture.export import csv_text, json_text
    from posture.render import render_png

    photos = _given_photos(args)
    filing = _filing(args, [args.subject]) if args.save else None
    result = analyze(options=_options(args, subject=args.subject), **photos)
    from posture.files import write_atomic

    out = Path(args.out)
    pngs = {p.slot: render_png(p) for p in result.photos}
    files = {"results.csv": csv_text(result.rows()), "results.json": json_text(result)}
    files.update({f"annotated_{slot}.png": png for slot, png in pngs.items()})
    try:  # each file whole or not at all: a full disk leaves the old file, never 0 bytes
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_atomic(out / name, data)
    except OSError as exc:
        raise _usage(f"cannot write to '{out}': {exc.strerror}") from None
    print(_summary(result))
    print(f"\nWrote {out / 'results.csv'}, results.json and "
          + ", ".join(name for name in files if name.endswith(".png")) + ".")
    if filing is not None:
        from posture.filing import file_visit, process_store

        store = process_store(filing.db_url)
        filed = file_visit(store, args.subject, result, photos, filing, annotated=pngs)
        day = filing.visit_date.isoformat()
        if filed.already:
            print(f"Already filed: visit {filed.visit_id} of {args.subject.strip()} on {day} "
                  f"has these photos; not filed again ({store.url}).")
        else:
            print(f"Filed visit {day} for {args.subject.strip()} (visit {filed.visit_id}: "
                  f"{' + '.join(result.filed(photos))}) in {store.url}.")
    return EXIT_OK


def _filing(args, subjects):
    """The checked `Filing` of `--save`, before anything is analysed."""
    from datetime import date

    from posture.filing import Filing, check_filing, process_store

    visit_date = _date(args.visit_date, "--visit-date") or date.today()
    if not any(s.strip() for s in subjects):
        raise _usage("--save files the visit under a patient ID: give --subject ID")
    check_filing(process_store(args.db), subjects, visit_date, args.notes)
    return Filing(args.db, visit_date, args.notes)


def _batch(args) -> int:
    from posture.batch import STATUS_ERROR, plan_jobs, remaining_jobs, run_batch

    if args.workers < 1:
        raise _usage("--workers must be at least 1")
    jobs = plan_jobs(args.folder, args.manifest)
    filing = _filing(args, [j.subject for j in jobs]) if args.save else None
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        total = len(remaining_jobs(jobs, args.out)) if args.resume else len(jobs)
        bar = tqdm(total=total, unit="subject", file=args.console)
    errors = 0
    try:
        for _job, _n in run_batch(jobs, args.out, _options(args), resume=args.resume,
                                  workers=args.workers, filing=filing):
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    import csv

    with open(args.out, encoding="utf-8") as f:
        errors = sum(1 for r in csv.DictReader(f) if r["status"] == STATUS_ERROR)
    print(f"{len(jobs)} subjects; rows in {args.out}; {errors} failed (status 'error').")
    if filing is not None:
        from posture.filing import process_store

        print(f"Filed {len(jobs) - errors} visit(s) dated {filing.visit_date.isoformat()} in "
              f"{process_store(filing.db_url).url} (the failed subjects are not filed; photos "
              "already on file for a patient and date are not filed twice).")
    return EXIT_OK


def _app(args) -> int:
    from posture.app.serve import lan, serve

    if not args.lan and (args.cert or args.key):
        raise _usage("--cert and --key go with --lan")
    network = lan(args.cert, args.key) if args.lan else None
    serve(args.port, preload_model=not args.no_preload, network=network)
    return EXIT_OK


def _cell(value, width: int) -> str:
    return f"{value_text(value, missing='-', digits=2):>{width}}"


def _history(args) -> int:
    from posture.files import write_atomic
    from posture.store import NotFoundError, history_csv, history_rows, list_visits, open_store

    store = open_store(args.db)
    try:
        try:
            visits = list_visits(store, args.subject)
        except NotFoundError as exc:
            raise _usage(f"{exc} ({store.url}); visits are filed by the app's \"Save visit\" "
                         "or `posture analyze --save`") from None
        rows = history_rows(store, args.subject)
        csv_data = history_csv(store, args.subject) if args.csv else None
    finally:
        store.close()
    print(f"{args.subject}: {len(visits)} visit(s) in {store.url}")
    for v in visits:
        height = f"{v.height_cm:g} cm" if v.height_cm else "no height"
        print(f"  visit {v.visit_id:<5} {v.visit_date}  {', '.join(v.slots):<12} {height:<10} "
              f"posture {v.posture_version} ({v.analyses} analysis/es)")
    shown = visits[-6:]   # the terminal fits about six columns; the CSV has every visit
    if shown:
        values = {(r["visit_id"], r["metric"]): r["value"] for r in rows}
        labels = {r["metric"]: (r["label"], r["unit"]) for r in rows}
        print(f"\n{'metric':<40} {'unit':<4}" + "".join(f" {str(v.visit_date):>10}"
                                                       for v in shown))
        for metric, (label, unit) in labels.items():
            print(f"{label:<40} {unit:<4}" + "".join(
                f" {_cell(values.get((v.visit_id, metric)), 10)}" for v in shown))
        if len(visits) > len(shown):
            print(f"(the last {len(shown)} visits; --csv FILE writes all {len(visits)})")
    if args.csv:
        try:
            write_atomic(args.csv, csv_data)
        except OSError as exc:
            raise _usage(f"cannot write '{args.csv}': {exc.strerror}") from None
        _log_export(args.db, "full history (CSV) from the command line", subject=args.subject)
        print(f"\nWrote {args.csv}.")
    return EXIT_OK


def _log_export(db, what: str, **where) -> None:
    from posture.store import log, open_store
    from posture.store.audit import EXPORT, local_actor

    store = open_store(db)
    try:
        log(store, local_actor("command line"), EXPORT, detail=what, **where)
    finally:
        store.close()


def _password(prompt: str) -> str:
    """A new password: asked twice without echo on a terminal, else one line of stdin."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass("Again: ") != first:
        raise _usage("the two passwords differ; nothing was changed")
    return first


def _users(args) -> int:
    from posture import auth
    from posture.store import open_store
    from posture.store.audit import local_actor

    who = local_actor("command line")
    if args.users_command in ("add", "passwd"):
        name = auth.clean_name(args.name)     # refused before a password is asked
        password = _password(f"Password for {name}")
    store = open_store(args.db)
    try:
        if args.users_command == "add":
            auth.add_user(store, name, password, admin=args.admin, actor=who)
            print(f"Account '{name}' created" + (" (admin)." if args.admin else "."))
        elif args.users_command == "passwd":
            auth.set_password(store, name, password, actor=who)
            print(f"Password of '{name}' changed; its sessions are ended.")
        elif args.users_command in ("disable", "enable"):
            auth.set_disabled(store, args.name, args.users_command == "disable", actor=who)
            print(f"Account '{auth.clean_name(args.name)}' {args.users_command}d.")
        else:
            found = auth.list_users(store)
            if not found:
                print("No accounts: `posture users add NAME --admin` creates the first.")
            for user in found:
                state = "disabled" if user.disabled else f"{user.sessions} open session(s)"
                print(f"{user.name:<30} {'admin' if user.is_admin else 'user':<6} {state:<22} "
                      f"created {user.created_at[:10]}, password set "
                      f"{user.password_changed_at[:10]}")
    finally:
        store.close()
    return EXIT_OK


def _audit(args) -> int:
    from posture.store import audit_lines, log, open_store
    from posture.store.audit import AUDIT_EXPORT, format_line, local_actor, to_csv

    store = open_store(args.db)
    try:
        if args.csv:
            found = audit_lines(store, subject=args.subject, visit_id=args.visit)
            _write_atomically(Path(args.csv), to_csv(found))
            log(store, local_actor("command line"), AUDIT_EXPORT, subject=args.subject,
                visit_id=args.visit, detail=f"{len(found)} audit line(s) (CSV)")
            print(f"Wrote {len(found)} audit line(s) to {args.csv}.")
            return EXIT_OK
        found = audit_lines(store, subject=args.subject, visit_id=args.visit,
                            limit=max(1, args.last))
    finally:
        store.close()
    for a in found:
        print(format_line(a))
    if not found:
        print("No audit lines.")
    return EXIT_OK


def _write_atomically(path: Path, text: str) -> None:
    """posture.files.write_atomic (temp file, fsync, rename): a failure leaves the old file."""
    from posture.files import write_atomic

    try:
        write_atomic(path, text)
    except OSError as exc:
        raise _usage(f"cannot write '{path}': {exc.strerror}") from None


def _date(text: str | None, flag: str):
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _usage(f"{flag} takes a date as YYYY-MM-DD, not '{text}'") from None


def _compare(args) -> int:
    from posture.compare import NOISE_FACTOR, compare_visits
    from posture.store import list_visits, load_visit, open_store

    date_from, date_to = _date(args.date_from, "--from"), _date(args.date_to, "--to")
    store = open_store(args.db)
    try:
        visits = list_visits(store, args.subject)
        after_from = [v for v in visits if date_from is None or v.visit_date >= date_from]
        before_to = [v for v in visits if date_to is None or v.visit_date <= date_to]
        if len(visits) < 2:
            raise _usage(f"'{args.subject}' has {len(visits)} visit(s); comparing needs two")
        if not after_from or not before_to:
            raise _usage(f"no visit of '{args.subject}' in that range; visits: "
                         + ", ".join(str(v.visit_date) for v in visits))
        first, last = after_from[0], before_to[-1]
        if (last.visit_date, last.visit_id) <= (first.visit_date, first.visit_id):
            raise _usage(f"--from and --to select one visit ({first.label}); widen the range")
        comparison = compare_visits(load_visit(store, first.visit_id),
                                    load_visit(store, last.visit_id))
    finally:
        store.close()
    print(f"{args.subject}: {first.label} -> {last.label}")
    print(f"{'metric':<40} {'unit':<4} {'before':>8} {'after':>8} {'change':>8} "
          f"{'needs':>6}  verdict")
    # One block per photo compared ("Front photo", "Right side photo vs left side photo").
    for photos in dict.fromkeys(c.photos for c in comparison.changes):
        print(f"-- {photos}")
        for c in (c for c in comparison.changes if c.photos == photos):
            print(f"{c.label:<40} {c.unit:<4} {_cell(c.before, 8)} {_cell(c.after, 8)} "
                  f"{_cell(c.change, 8)} {_cell(c.threshold, 6)}  {c.summary}")
    print(f"\nA change is real when it exceeds both {NOISE_FACTOR:g} x the combined "
          "uncertainty of the two values and the minimal detectable change (MDC): "
          "forward-head angle 5 deg (published, Gallego-Izquierdo et al. 2020); the other "
          "MDCs are screening defaults, not published MDCs.")
    return EXIT_OK


def _records_command(args) -> int:
    from posture.store import open_store
    from posture.store.backup import backup, restore

    store = open_store(args.db)
    try:
        if args.records_command == "backup":
            done = backup(store, args.file)
            print(f"Backed up {done.describe()} from {store.url} to {args.file} "
                  f"({done.size_bytes / 1e6:.1f} MB); every photo matches its checksum.")
        else:
            done = restore(store, args.file)
            print(f"Restored {done.describe()} from {args.file} into {store.url}; every photo "
                  "matches the backup's checksum.")
    finally:
        store.close()
    return EXIT_OK


class _UsageError(PostureError):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


# MediaPipe's native code logs to the process's stderr (file descriptor 2) as its graph starts
# ("INFO: Created TensorFlow Lite XNNPACK delegate", glog lines such as "W0000 00:00:...
# inference_feedback_manager.cc:114] ..."): nothing a clinician can act on.
_NATIVE_LOG = re.compile(r"^(INFO: Created TensorFlow Lite|WARNING: All log messages before "
                         r"absl::InitializeLog|[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] )")


@contextmanager
def _native_logs_filtered():
    """Hold fd 2 in a temporary file while the command runs, then pass on every line but
    MediaPipe's. Yields a stream on the real stderr, for live output (the progress bar)."""
    sys.stderr.flush()
    saved = os.dup(2)
    console = os.fdopen(os.dup(saved), "w", buffering=1)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield console
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            console.close()
            held.seek(0)
            for line in held.read().decode("utf-8", errors="replace").splitlines(True):
                if not _NATIVE_LOG.match(line):
                    sys.stderr.write(line)


@contextmanager
def _native_logs_filtered_live():
    """As `_native_logs_filtered`, line by line as they come: for a server, which runs until
    stopped and whose log must not wait for its end."""
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def relay():
        with os.fdopen(read_end, "rb") as lines, os.fdopen(os.dup(saved), "wb", 0) as out:
            for line in lines:
                if not _NATIVE_LOG.match(line.decode("utf-8", errors="replace")):
                    out.write(line)

    relay_thread = threading.Thread(target=relay, name="posture-stderr", daemon=True)
    relay_thread.start()
    try:
        yield sys.stdout
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)   # closes the pipe's last write end: the relay sees its end
        os.close(saved)
        relay_thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"analyze": _analyze, "batch": _batch, "history": _history, "compare": _compare,
                "app": _app, "records": _records_command, "users": _users, "audit": _audit}
    filtered = _native_logs_filtered_live if args.command == "app" else _native_logs_filtered
    try:
        with filtered() as console:
            args.console = console
            return commands[args.command](args)
    except PostureError as exc:
        print(f"posture: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        hint = "; finished rows are kept (use --resume to continue)" \
            if args.command == "batch" else ""
        print(f"posture: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
