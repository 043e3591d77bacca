"""Property-based fuzzing of every file the product reads back (photos: tests/test_images.py).

- the clinic's reference-range CSV (`posture.metrics.reference.parse_ranges`): a valid table or
  InputError, nothing else;
- batch manifests (`posture.batch.plan_jobs`): jobs or InputError;
- a results CSV being resumed (`posture.batch.done_subjects`, and `run_batch(resume=True)`):
  a set or InputError; after any torn write, each subject ends up in the file exactly once.

JSON results are written (CLI, app downloads, the records store) but no face reads a JSON file
back from a user: the store reads only the JSON it wrote itself into its own database. Nothing
to fuzz there.

Bounded: at most 200 examples per property, no deadline (a loaded machine must not fail it).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from posture import AnalysisOptions
from posture import batch as batch_mod
from posture.assessment import TABLE_COLUMNS
from posture.batch import Job, _block, done_subjects, plan_jobs, run_batch
from posture.errors import InputError
from posture.export import safe_cell, write_csv
from posture.metrics.definitions import METRICS_BY_ID
from posture.metrics.reference import COLUMNS, ReferenceRange, parse_ranges

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Cells that poke at number parsing and CSV quoting.
NUMBERS = st.sampled_from(["", " ", "0", "-0", "1.5", " 2 ", "1e3", "1e309", "-1e309", "nan",
                           "inf", "-inf", "Infinity", "1_000", "１２", "0x10", "1,5", "--1",
                           "+3", ".5", "5.", "e", "=1+1", "\u00a03"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
CELL = st.one_of(TEXT, NUMBERS, st.sampled_from(list(METRICS_BY_ID)), st.just('"'),
                 st.just("\r\n"), st.just("\x00"))


def csv_text(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


# --- the clinic's reference ranges -----------------------------------------------------------

RANGE_HEADER = st.one_of(
    st.just(list(COLUMNS)),
    st.permutations(list(COLUMNS)),
    st.lists(st.one_of(st.sampled_from(list(COLUMNS)), TEXT), max_size=8),
)
RANGE_ROW = st.one_of(
    st.tuples(st.sampled_from(list(METRICS_BY_ID)), NUMBERS, NUMBERS, TEXT, TEXT, TEXT)
    .map(list),
    st.lists(CELL, max_size=8),
)
RANGE_FILE = st.one_of(
    st.builds(csv_text, RANGE_HEADER, st.lists(RANGE_ROW, max_size=6),
              st.sampled_from(["\n", "\r\n", "\r"])),
    TEXT,
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
)


def check_valid_ranges(table: dict) -> None:
    for metric, r in table.items():
        assert metric in METRICS_BY_ID and isinstance(r, ReferenceRange) and r.metric == metric
        for bound in (r.low, r.high):
            assert bound is None or (isinstance(bound, float) and math.isfinite(bound))
        if r.low is not None and r.high is not None:
            assert r.low <= r.high
        assert isinstance(r.describe(), str)


@FUZZ
@given(RANGE_FILE)
@example("metric,low,high\nshoulder_tilt,nan,1\n")
@example("metric,low,high\nshoulder_tilt,3,1\n")
@example("metric,low,high\nshoulder_tilt,1e309,\n")
@example('metric,low,high\n"shoulder_tilt\n')
@example("\ufeffmetric,low,high\n")
def test_reference_ranges_parse_or_refuse(text):
    try:
        table = parse_ranges(text, "clinic.csv")
    except InputError as exc:
        assert str(exc).startswith("clinic.csv")
        assert "\n" not in str(exc)
        return
    check_valid_ranges(table)


def test_reference_range_errors_are_one_line():
    with pytest.raises(InputError) as info:
        parse_ranges('metric,low,high\nshoulder_tilt,"1\n2",3\n', "clinic.csv")
    assert "\n" not in str(info.value)


def test_reference_ranges_with_a_huge_cell():
    with pytest.raises(InputError):
        parse_ranges("metric,low,high\nshoulder_tilt,1," + "9" * 200_000 + "\n", "clinic.csv")


def test_reference_ranges_with_old_mac_line_ends():
    table = parse_ranges("metric,low,high\rshoulder_tilt,-1,1\r", "clinic.csv")
    assert table["shoulder_tilt"].high == 1.0


# --- batch manifests -------------------------------------------------------------------------

MANIFEST_HEADER = st.one_of(
    st.just(["subject", "front", "side", "height_cm"]),
    st.lists(st.one_of(st.sampled_from(["subject", " Subject", "FRONT", "side", "height_cm",
                                        "back", "Left", "right"]),
                       TEXT), max_size=6),
)
MANIFEST_ROW = st.one_of(
    st.tuples(TEXT, st.one_of(st.just(""), TEXT, st.just("a.jpg")),
              st.one_of(st.just(""), st.just("b.jpg"), TEXT), NUMBERS).map(list),
    st.lists(CELL, max_size=6),
)
MANIFEST = st.one_of(
    st.builds(csv_text, MANIFEST_HEADER, st.lists(MANIFEST_ROW, max_size=6),
              st.sampled_from(["\n", "\r\n", "\r"])).map(lambda t: t.encode("utf-8")),
    TEXT.map(lambda t: t.encode("utf-8")),
    st.binary(max_size=300),
)


@FUZZ
@given(MANIFEST)
@example(b'subject,front\n"x,a.jpg\n')
@example(b"subject,front\nx,a\x00.jpg\n")
@example(b"\xef\xbb\xbfsubject,front\nx,a.jpg\n")
@example("subject,front\nx\u2028y,a.jpg\n".encode())
@example(b"subject,front,height_cm\nx,a.jpg,1e309\n")
def test_manifest_gives_jobs_or_refuses(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("manifest")
    (folder / "manifest.csv").write_bytes(data)
    try:
        jobs = plan_jobs(folder)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert jobs
    subjects = [j.subject for j in jobs]
    assert len(set(subjects)) == len(subjects)
    for job in jobs:
        assert isinstance(job, Job) and job.subject and job.subject == job.subject.strip()
        assert job.photos
        for p in job.photos.values():
            assert isinstance(p, Path) and "\x00" not in str(p)
        assert job.height_cm is None or 50 <= job.height_cm <= 250
        AnalysisOptions(height_cm=job.height_cm)  # accepted where it is used


# --- a results CSV being resumed -------------------------------------------------------------

SUBJECT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                  min_size=1, max_size=12)


def rows_for(subject: str, n: int) -> list[dict]:
    return [{"subject": subject, "metric": f"m{i}", "value": i, "status": "ok",
             "detail": "a, \"quoted\"\nvalue" if i == 1 else ""} for i in range(n)]


@FUZZ
@given(st.binary(max_size=400))
@example(b"")
@example(b"\n\n")
@example(",".join(TABLE_COLUMNS).encode() + b"\n\"unterminated")
@example(",".join(TABLE_COLUMNS).encode() + b"\nx\x00y,front\n")
def test_done_subjects_of_arbitrary_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("resume") / "results.csv"
    header = ",".join(TABLE_COLUMNS).encode() + b"\n"
    for content in (data, header + data):
        path.write_bytes(content)
        try:
            done = done_subjects(path)
        except InputError as exc:
            assert "\n" not in str(exc)
            continue
        assert isinstance(done, set) and all(isinstance(s, str) for s in done)
        assert path.read_bytes() == content  # reading never changes the file


@FUZZ
@given(st.lists(st.tuples(SUBJECT, st.integers(1, 4)), min_size=1, max_size=5,
                unique_by=lambda t: t[0]),
       st.floats(0, 1))
def test_resume_after_a_torn_write_keeps_each_subject_once(tmp_path_factory, subjects, where):
    """Blocks as run_batch writes them, cut at any byte inside a line (a torn write); resuming
    then writes each subject exactly once, with all its rows."""
    path = tmp_path_factory.mktemp("torn") / "results.csv"
    head = io.StringIO()
    write_csv([], head)
    blocks = [_block(rows_for(s, n)) for s, n in subjects]
    whole = head.getvalue().encode() + b"".join(blocks)
    cut = int(where * len(whole))
    assume(cut == len(whole) or whole[cut - 1:cut] != b"\n")  # a torn line, or no tear at all
    path.write_bytes(whole[:cut])

    complete, offset = [], len(head.getvalue().encode())
    for (subject, _), block in zip(subjects, blocks):
        offset += len(block)
        if offset <= cut:
            complete.append(safe_cell(subject))
    # When the cut falls inside the next subject's name, the last whole subject may be
    # dropped too (its name starts the same way): it is then redone, never duplicated.
    done = done_subjects(path)
    assert set(complete[:-1]) <= done <= set(complete)

    counts = dict(subjects)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(batch_mod, "analyze", lambda options, detector=None, **photos:
                   type("R", (), {"rows": lambda self: rows_for(options.subject,
                                                                counts[options.subject])})())
    try:
        jobs = [Job(s, Path("x_front.jpg"), None) for s, _ in subjects]
        list(run_batch(jobs, path, AnalysisOptions(passes=1), resume=True))
    finally:
        monkey.undo()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == TABLE_COLUMNS
        written = [r["subject"] for r in reader]
    assert sorted(written) == sorted(safe_cell(s) for s, n in subjects for _ in range(n))
