"""`posture` command line: a thin face over the library.

    posture analyze --front F.jpg --side S.jpg [--height-cm 172] [--subject ID] [--out DIR]
    posture batch FOLDER --out results.csv [--manifest M.csv] [--workers N] [--resume]

Exit codes: 0 success; 2 bad usage or input (one line on stderr, no traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from posture.errors import PostureError

EXIT_OK, EXIT_INPUT, EXIT_INTERRUPTED = 0, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as for any bad input
        self.exit(EXIT_INPUT, f"posture: {message} (see `posture {self.prog.split()[-1]} --help`)\n")


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
    parser = _Parser(prog="posture", description="Posture screening from front and side photos.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    a = sub.add_parser("analyze", help="analyse one patient's front and/or side photo")
    a.add_argument("--front", metavar="PHOTO", help="front (or back) photo")
    a.add_argument("--side", metavar="PHOTO", help="side photo")
    a.add_argument("--height-cm", type=float, metavar="CM", help="patient's height, for cm")
    a.add_argument("--subject", default="", metavar="ID", help="patient ID for the outputs")
    a.add_argument("--out", metavar="DIR", default=".",
                   help="folder for results.csv, results.json and annotated PNGs (default .)")
    _common(a)

    b = sub.add_parser("batch", help="analyse many subjects in a folder",
                       description="Pairing: a manifest CSV (subject,front,side[,height_cm]) or "
                                   "file names <subject>_front.jpg / <subject>_side.jpg.")
    b.add_argument("folder", help="folder of photos")
    b.add_argument("--out", required=True, metavar="CSV", help="results CSV to write")
    b.add_argument("--manifest", metavar="CSV", help="manifest (default: FOLDER/manifest.csv)")
    b.add_argument("--height-cm", type=float, metavar="CM",
                   help="height for subjects the manifest gives none")
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes (default: all cores)")
    b.add_argument("--resume", action="store_true",
                   help="keep the rows already in --out and skip those subjects")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    _common(b)
    return parser


def _options(args, **extra):
    from posture.assessment import AnalysisOptions

    return AnalysisOptions(passes=args.passes, height_cm=args.height_cm,
                           correct_camera_roll=args.level_correct,
                           reference_ranges=args.reference, **extra)


def _summary(result) -> str:
    lines = []
    for f in result.all_findings():
        lines.append(f"! {f.message}")
    lines.append(f"{'metric':<40} {'value':>9}  {'unit':<4} {'+/-':>5}  {'flag':<8} direction")
    for m in result.metrics:
        if m.value is None:
            lines.append(f"{m.label:<40} {'-':>9}  {m.unit:<4} {'':>5}  {'':<8} "
                         f"not measured: {m.detail}")
        else:
            unc = f"{m.uncertainty:.1f}" if m.uncertainty is not None else ""
            lines.append(f"{m.label:<40} {m.value:>9.1f}  {m.unit:<4} {unc:>5}  {m.flag:<8} "
                         f"{m.direction}")
    return "\n".join(lines)


def _analyze(args) -> int:
    from posture.assessment import analyze
    from posture.export import csv_text, json_text
    from posture.render import render_png

    if not args.front and not args.side:
        raise _usage("give --front PHOTO, --side PHOTO, or both")
    result = analyze(args.front, args.side, _options(args, subject=args.subject))
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.csv").write_text(csv_text(result.rows()), encoding="utf-8")
        (out / "results.json").write_text(json_text(result), encoding="utf-8")
        for p in result.photos:
            (out / f"annotated_{p.slot}.png").write_bytes(render_png(p))
    except OSError as exc:
        raise _usage(f"cannot write to '{out}': {exc.strerror}") from None
    print(_summary(result))
    print(f"\nWrote {out / 'results.csv'}, results.json and annotated PNGs.")
    return EXIT_OK


def _batch(args) -> int:
    from posture.batch import STATUS_ERROR, plan_jobs, run_batch

    if args.workers < 1:
        raise _usage("--workers must be at least 1")
    jobs = plan_jobs(args.folder, args.manifest)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="subject", file=sys.stderr)
    errors = 0
    try:
        for _job, _n in run_batch(jobs, args.out, _options(args), resume=args.resume,
                                  workers=args.workers):
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    import csv

    with open(args.out, encoding="utf-8") as f:
        errors = sum(1 for r in csv.DictReader(f) if r["status"] == STATUS_ERROR)
    print(f"{len(jobs)} subjects; rows in {args.out}; {errors} failed (status 'error').")
    return EXIT_OK


class _UsageError(PostureError):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"analyze": _analyze, "batch": _batch}[args.command](args)
    except PostureError as exc:
        print(f"posture: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("posture: interrupted; finished rows are kept (use --resume to continue)",
              file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
