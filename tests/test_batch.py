"""posture batch: pairing, incremental rows, resume, interruption for real, worker crashes."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from posture import AnalysisOptions
from posture import batch as batch_mod
from posture.assessment import TABLE_COLUMNS
from posture.batch import (
    STATUS_ERROR,
    Job,
    analyse_job,
    done_subjects,
    plan_jobs,
    run_batch,
)
from posture.errors import InputError, NoPersonError, PostureError
from posture.parallel import CRASH_MESSAGE, map_jobs
from tests.conftest import ROOT, sample

# --- pairing ---------------------------------------------------------------------------------


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"x")


def names(job: Job) -> dict[str, str]:
    return {slot: path.name for slot, path in job.photos.items()}


def test_pairs_by_file_name(tmp_path):
    touch(tmp_path, "a_front.jpg", "a_side.JPG", "b-FRONT.png", "c_side.heic", "notes.txt",
          "d_back.jpg", "e_front.jpg", "e-Back.png", "e_left.jpg", "e_right.jpeg",
          "f_frontal.jpg", "g_right.jpg", "g_left.txt")
    jobs = plan_jobs(tmp_path)
    assert [(j.subject, names(j)) for j in jobs] == [
        ("a", {"front": "a_front.jpg", "side": "a_side.JPG"}), ("b", {"front": "b-FRONT.png"}),
        ("c", {"side": "c_side.heic"}), ("d", {"back": "d_back.jpg"}),
        ("e", {"front": "e_front.jpg", "back": "e-Back.png", "left": "e_left.jpg",
               "right": "e_right.jpeg"}),
        ("g", {"right": "g_right.jpg"})]
    assert jobs[4].photos == {"front": tmp_path / "e_front.jpg", "back": tmp_path / "e-Back.png",
                              "left": tmp_path / "e_left.jpg", "right": tmp_path / "e_right.jpeg"}


@pytest.mark.parametrize(("files", "match"), [
    (("a_side.jpg", "a_left.jpg", "a_right.jpg"),
     r"^'a' in '\w+': a side photo is given beside both a left and a right side photo, and "
     r"would be filed as one of them: give at most one photo per slot$"),
    (("a_front.jpg", "a-front.png"), r"^'a-front.png' and 'a_front.jpg' are both the front "
                                     r"photo of 'a': keep one$"),
])
def test_names_that_fill_a_slot_twice_are_refused(tmp_path, files, match):
    touch(tmp_path, *files)
    with pytest.raises(InputError, match=match):
        plan_jobs(tmp_path)


def test_manifest_paths_are_relative_to_it_and_headers_forgiving(tmp_path):
    (tmp_path / "m.csv").write_text(
        "\ufeff Subject ,FRONT,side,Height_cm\n"
        'p1,photos/p1 f.jpg,photos/p1 s.jpg,172\n'
        '"p2, jr",,p2s.jpg,\n'
        ",,,\n", encoding="utf-8")
    jobs = plan_jobs(tmp_path / "elsewhere", tmp_path / "m.csv")
    assert jobs == [Job("p1", tmp_path / "photos/p1 f.jpg", tmp_path / "photos/p1 s.jpg", 172.0),
                    Job("p2, jr", None, tmp_path / "p2s.jpg", None)]


def test_manifest_takes_any_of_the_four_slots_and_side(tmp_path):
    (tmp_path / "m.csv").write_text(
        "subject, Back ,LEFT,right,front,side,height_cm,\n"
        "four,b.png,l.jpg,r.jpg,f.jpg,,170,\n"
        "three,,l.jpg,r.jpg,f.jpg,,,\n"
        "one,b.png,,,,,,\n"
        "side and left,,l.jpg,,,s.jpg,,ignored: its header cell is blank\n", encoding="utf-8")
    jobs = plan_jobs(tmp_path, tmp_path / "m.csv")
    assert [(j.subject, names(j), j.height_cm) for j in jobs] == [
        ("four", {"front": "f.jpg", "back": "b.png", "left": "l.jpg", "right": "r.jpg"}, 170.0),
        ("three", {"front": "f.jpg", "left": "l.jpg", "right": "r.jpg"}, None),
        ("one", {"back": "b.png"}, None),
        ("side and left", {"left": "l.jpg", "side": "s.jpg"}, None)]
    assert jobs[2] == Job("one", back=tmp_path / "b.png")


def test_manifest_in_the_folder_wins_over_names(tmp_path):
    touch(tmp_path, "a_front.jpg")
    (tmp_path / "manifest.csv").write_text("subject,front\nz,a_front.jpg\n", encoding="utf-8")
    assert [j.subject for j in plan_jobs(tmp_path)] == ["z"]


@pytest.mark.parametrize(("text", "match"), [
    ("front,side\na.jpg,b.jpg\n", r"needs a header with columns subject"),
    ("", r"needs a header with columns subject"),
    ("subject,front\n", r"lists no subjects"),
    ("subject,front\n,a.jpg\n", r"line 2: empty subject"),
    ("subject,front\nx,a.jpg\nx,b.jpg\n", r"line 3: subject 'x' appears twice"),
    ("subject,front,side\nx,,\n", r"line 2: subject 'x' has no photo in any of the columns "
                                   r"front, back, left, right, side$"),
    ("subject,front,lft\nx,a.jpg,b.jpg\n", r"^Manifest 'manifest.csv', line 1: unknown column "
                                          r"'lft': the columns are subject, front, back, left, "
                                          r"right, side, height_cm$"),
    ("subject,front,back\nx,a.jpg,./a.jpg\n", r"line 2: subject 'x': 'a.jpg' is given as both "
                                             r"the front and the back photo: give each photo "
                                             r"once, in the slot of the view it shows$"),
    ("subject,left,right,side\nx,l.jpg,r.jpg,s.jpg\n",
     r"line 2: subject 'x': a side photo is given beside both a left and a right side photo"),
    ("subject,front,height_cm\nx,a.jpg,tall\n", r"line 2: height_cm 'tall' is not a number"),
    ("subject,front,height_cm\nx,a.jpg,nan\n", r"line 2: height_cm 'nan' must be in cm"),
    ("subject,front,height_cm\nx,a.jpg,1.72\n", r"line 2: height_cm '1.72' must be in cm"),
    ('subject,front\n"x\ny",a.jpg\n', r"control character"),
    ("subject,front\nx,a\x00.jpg\n", r"line 2: the photo path contains a NUL"),
    ('subject,front\n"x,a.jpg\n', r"line \d+: not valid CSV"),
    ("subject,front\nx," + "a" * 200_000 + "\n", r"line 2: not valid CSV \(field larger"),
    ("subject,front,height_cm\nx,a.jpg,\"1\n2\"\n", r"height_cm '1 2' is not a number$"),
])
def test_bad_manifests_are_refused_with_the_line(tmp_path, text, match):
    (tmp_path / "manifest.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        plan_jobs(tmp_path)


def test_unreadable_manifest_and_empty_folder(tmp_path):
    (tmp_path / "m.csv").write_bytes(b"subject\n\xff\xfe\x00x\n")
    with pytest.raises(InputError, match=r"Cannot read the manifest 'm.csv' as UTF-8"):
        plan_jobs(tmp_path, tmp_path / "m.csv")
    with pytest.raises(InputError, match=r"Cannot read the manifest 'nope.csv'"):
        plan_jobs(tmp_path, tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"No photos named <subject>_front"):
        plan_jobs(tmp_path)
    with pytest.raises(InputError, match=r"is not a folder"):
        plan_jobs(tmp_path / "missing")


# --- rows, resume and torn files, with a stand-in for the analysis ---------------------------


class FakeResult:
    def __init__(self, subject: str, n: int = 3):
        self.subject, self.n = subject, n

    def rows(self):
        return [{"subject": self.subject, "view": "front", "metric": f"m{i}", "value": i,
                 "status": "ok", "analysed_at": "now"} for i in range(self.n)]


@pytest.fixture
def fake_analyze(monkeypatch):
    """posture.batch.analyze replaced: records calls, fails for subjects named 'bad*'."""
    calls = []

    def fake(front=None, side=None, options=None, *, back=None, left=None, right=None,
             detector=None):
        calls.append(options.subject)
        if options.subject.startswith("bad"):
            raise NoPersonError("No person found in the photo")
        if options.subject.startswith("bug"):
            raise ZeroDivisionError("float division by zero")
        return FakeResult(options.subject)

    monkeypatch.setattr(batch_mod, "analyze", fake)
    return calls


def jobs_for(*subjects: str) -> list[Job]:
    return [Job(s, Path(f"{s}_front.jpg"), None) for s in subjects]


def read_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_rows_are_written_per_subject_with_errors_as_rows(tmp_path, fake_analyze):
    out = tmp_path / "out.csv"
    seen = []
    list(run_batch(jobs_for("a", "bad1", "bug1"), out, AnalysisOptions(),
                   progress=lambda job, n: seen.append((job.subject, n))))
    rows = read_rows(out)
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(TABLE_COLUMNS)
    assert seen == [("a", 3), ("bad1", 1), ("bug1", 1)]
    assert [r["subject"] for r in rows] == ["a"] * 3 + ["bad1", "bug1"]
    assert rows[3]["status"] == STATUS_ERROR and rows[3]["detail"] == (
        "No person found in the photo")
    assert rows[4]["detail"].startswith("analysis failed unexpectedly (ZeroDivisionError: "
                                        "float division by zero)")


def test_without_resume_an_old_results_file_is_replaced(tmp_path, fake_analyze):
    out = tmp_path / "out.csv"
    list(run_batch(jobs_for("old1", "old2"), out, AnalysisOptions()))
    list(run_batch(jobs_for("a"), out, AnalysisOptions()))
    assert [r["subject"] for r in read_rows(out)] == ["a"] * 3


def test_without_resume_another_file_is_never_overwritten(tmp_path, fake_analyze):
    photo = tmp_path / "ana_front.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a photo given as --out by mistake")
    with pytest.raises(InputError, match=r"'ana_front.jpg' exists and is not a posture results"):
        list(run_batch(jobs_for("a"), photo, AnalysisOptions()))
    assert photo.read_bytes().startswith(b"\xff\xd8")
    assert fake_analyze == []


def test_resume_skips_finished_subjects_even_formula_like_ones(tmp_path, fake_analyze):
    out = tmp_path / "out.csv"
    subjects = ("=1+1", "-2", "@x", "plain", "'quoted")
    list(run_batch(jobs_for(*subjects[:3]), out, AnalysisOptions()))
    assert [j.subject for j in batch_mod.remaining_jobs(jobs_for(*subjects), out)] == [
        "plain", "'quoted"]
    fake_analyze.clear()
    list(run_batch(jobs_for(*subjects), out, AnalysisOptions(), resume=True))
    assert fake_analyze == ["plain", "'quoted"]
    counts = Counter(r["subject"] for r in read_rows(out))
    assert counts == {"'=1+1": 3, "'-2": 3, "'@x": 3, "plain": 3, "'quoted": 3}
    assert [j.subject for j in batch_mod.remaining_jobs(jobs_for(*subjects), out)] == []
    fake_analyze.clear()
    list(run_batch(jobs_for(*subjects), out, AnalysisOptions(), resume=True))
    assert fake_analyze == []


def test_a_torn_last_line_drops_that_subject_and_it_is_redone_once(tmp_path, fake_analyze):
    out = tmp_path / "out.csv"
    list(run_batch(jobs_for("a", "b"), out, AnalysisOptions()))
    whole = out.read_bytes()
    out.write_bytes(whole[:-25])             # power cut inside b's last row
    assert done_subjects(out) == {"a"}
    fake_analyze.clear()
    list(run_batch(jobs_for("a", "b", "c"), out, AnalysisOptions(), resume=True))
    assert fake_analyze == ["b", "c"]
    assert Counter(r["subject"] for r in read_rows(out)) == {"a": 3, "b": 3, "c": 3}


def test_a_torn_header_is_rewritten(tmp_path, fake_analyze):
    out = tmp_path / "out.csv"
    out.write_text("subject,slot,vi", encoding="utf-8")
    assert done_subjects(out) == set()
    list(run_batch(jobs_for("a"), out, AnalysisOptions(), resume=True))
    assert [r["subject"] for r in read_rows(out)] == ["a"] * 3


def test_resume_refuses_a_file_that_is_not_ours_and_leaves_it(tmp_path, fake_analyze):
    out = tmp_path / "out.csv"
    out.write_text("name,score\nx,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'out.csv' is not a posture results file"):
        list(run_batch(jobs_for("a"), out, AnalysisOptions(), resume=True))
    assert out.read_text(encoding="utf-8") == "name,score\nx,1\n"
    assert fake_analyze == []


def test_a_results_file_from_before_the_slot_column_is_not_resumed(tmp_path, fake_analyze):
    out = tmp_path / "out.csv"
    before = ",".join(c for c in TABLE_COLUMNS if c != "slot") + "\nold,front,m1\n"
    out.write_text(before, encoding="utf-8")
    with pytest.raises(InputError, match=r"^'out.csv' is not a posture results file of this "
                                         r"version: choose another --out"):
        list(run_batch(jobs_for("a"), out, AnalysisOptions(), resume=True))
    assert out.read_text(encoding="utf-8") == before and fake_analyze == []


def test_done_subjects_of_missing_and_empty_files(tmp_path):
    assert done_subjects(tmp_path / "none.csv") == set()
    (tmp_path / "empty.csv").write_bytes(b"")
    assert done_subjects(tmp_path / "empty.csv") == set()
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(InputError, match=r"Cannot read 'folder.csv' to resume it"):
        done_subjects(tmp_path / "folder.csv")


def test_analyse_job_turns_a_bad_height_into_an_error_row(tmp_path):
    rows = analyse_job(Job("x", tmp_path / "x_front.jpg", None, height_cm=400.0),
                       AnalysisOptions())
    assert len(rows) == 1 and rows[0]["status"] == STATUS_ERROR
    assert "height must be in cm" in rows[0]["detail"]


# --- worker processes ------------------------------------------------------------------------


def crash_on_bomb(job, options):
    """Runs in a worker: the subject 'bomb' kills its process, as a native crash would."""
    if job.subject == "bomb":
        os._exit(3)
    return job, [{"subject": job.subject, "status": "ok", "metric": "m"}]


def test_a_crashing_worker_costs_one_error_row_and_the_batch_goes_on():
    jobs = jobs_for("a", "b", "bomb", "c", "d", "e")
    results = list(map_jobs(jobs, AnalysisOptions(), workers=2, work=crash_on_bomb))
    by_subject = {job.subject: rows for job, rows in results}
    assert sorted(j.subject for j, _ in results) == sorted(j.subject for j in jobs)
    assert by_subject["bomb"] == [batch_mod.error_row(jobs[2], CRASH_MESSAGE)]
    assert all(rows[0]["status"] == "ok" for s, rows in by_subject.items() if s != "bomb")


def always_crash(job, options):
    """Runs in a worker: every subject kills it, as a broken installation would."""
    os._exit(3)


def test_workers_that_cannot_run_stop_the_batch_without_marking_subjects():
    got = []
    with pytest.raises(PostureError, match=r"^the worker processes crashed 3 times in a row"):
        for item in map_jobs(jobs_for("a", "b", "c", "d", "e"), AnalysisOptions(), workers=2,
                             work=always_crash):
            got.append(item)
    assert got == []  # nothing written: a --resume later redoes every subject


def report_blas_threads(job, options):
    """Runs in a worker: what its BLAS library was told at start-up."""
    return job, [{"subject": job.subject, "detail": os.environ.get("OPENBLAS_NUM_THREADS")}]


def test_workers_run_blas_single_threaded_and_the_parent_is_untouched(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    results = list(map_jobs(jobs_for("a", "b"), AnalysisOptions(), workers=2,
                            work=report_blas_threads))
    assert [rows[0]["detail"] for _, rows in results] == ["1", "1"]
    assert "OPENBLAS_NUM_THREADS" not in os.environ


# --- the real thing: `posture batch` killed and resumed --------------------------------------

# Small photos first, so the first rows appear quickly and the 12 MP pairs are still running.
SUBJECTS = {
    "s1": ("front_image.jpg", "side_image.jpg"),
    "s2": ("leo_test.jpeg", None),
    "s3": ("saif1.jpeg", None),
    "s4": ("ana_test.jpg", "ana_test_right.jpg"),
    "s5": ("jara_test_front_3.jpg", "jara_test_side_3.jpg"),
    "s6": ("leo2_test.jpg", "leo_test_left.jpg"),
    "s7": ("anibal1_test.jpg", None),
    "s8": ("leo3_test.jpg", "leo_test_right.jpg"),
}


@pytest.fixture(scope="module")
def subjects_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subjects")
    for subject, (front, side) in SUBJECTS.items():
        (folder / f"{subject}_front.jpg").symlink_to(sample(front))
        if side:
            (folder / f"{subject}_side.jpg").symlink_to(sample(side))
    return folder


def comparable(path: Path) -> dict[str, list[tuple]]:
    """subject -> its rows (analysed_at left out), in the order written."""
    out: dict[str, list[tuple]] = {}
    for row in read_rows(path):
        out.setdefault(row["subject"], []).append(
            tuple(v for k, v in row.items() if k != "analysed_at"))
    return out


@pytest.fixture(scope="module")
def uninterrupted(subjects_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "all.csv"
    list(run_batch(plan_jobs(subjects_dir), out, AnalysisOptions(passes=1), workers=2))
    return comparable(out)


def start_batch(folder: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "posture.cli", "batch", str(folder), "--out", str(out),
         "--passes", "1", "--workers", "2", "--no-progress", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)  # its own process group, as a terminal job would be


def wait_for_first_subject(proc: subprocess.Popen, out: Path) -> None:
    """Until one whole subject is in `out` (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and len(done_subjects(out)) >= 1:
            return
        time.sleep(0.02)
    raise AssertionError(f"no rows appeared; exit code {proc.poll()}")


def children_of(pid: int) -> set[int]:
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids.update(int(k) for k in (task / "children").read_text().split())
    return kids


def wait_gone(pids: set[int]) -> set[int]:
    """The pids still running after a bounded wait (they should end on their own)."""
    deadline = time.monotonic() + 30
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                state = "gone"
            if state in ("gone", "Z", "X"):
                alive.discard(pid)
        time.sleep(0.05)
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["kill -9", "Ctrl-C"])
def test_interrupted_batch_keeps_finished_rows_and_resumes_without_duplicates(
        how, subjects_dir, uninterrupted, tmp_path):
    out = tmp_path / "results.csv"
    proc = start_batch(subjects_dir, out)
    try:
        wait_for_first_subject(proc, out)
        workers = children_of(proc.pid)
        if how == "kill -9":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    kept = comparable(out)
    assert 1 <= len(kept) < len(SUBJECTS), "the batch was not interrupted mid-run"
    assert workers and not wait_gone(workers), "worker processes outlived the batch"
    if how == "kill -9":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130
        lines = stderr.splitlines()  # MediaPipe's native log lines are filtered by the CLI
        assert lines == ["posture: interrupted; finished rows are kept (use --resume to "
                         "continue)"], stderr
    # Every subject written is whole and exactly as an uninterrupted run writes it.
    for subject, rows in kept.items():
        assert rows == uninterrupted[subject], subject

    resumed = subprocess.run(
        [sys.executable, "-m", "posture.cli", "batch", str(subjects_dir), "--out", str(out),
         "--passes", "1", "--workers", "2", "--no-progress", "--resume"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    subjects_in_order = [r["subject"] for r in read_rows(out)]
    blocks = [s for i, s in enumerate(subjects_in_order)
              if i == 0 or s != subjects_in_order[i - 1]]
    assert sorted(blocks) == sorted(SUBJECTS), "each subject must appear exactly once"
    assert comparable(out) == uninterrupted


def test_cli_batch_shows_progress_and_a_summary(tmp_path, capfd, fake_analyze):
    from posture.cli import main

    touch(tmp_path, "a_front.jpg", "b_front.jpg", "bad_front.jpg")
    out = tmp_path / "out.csv"
    assert main(["batch", str(tmp_path), "--out", str(out), "--workers", "1"]) == 0
    captured = capfd.readouterr()  # the bar is written to the real stderr, live
    assert "3/3" in captured.err and "100%" in captured.err  # tqdm's bar
    assert "3 subjects" in captured.out and "1 failed" in captured.out
    assert Counter(r["subject"] for r in read_rows(out)) == {"a": 3, "b": 3, "bad": 1}


def test_cli_batch_reports_bad_folder_in_one_line(tmp_path, capsys):
    from posture.cli import main

    assert main(["batch", str(tmp_path / "none"), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("posture: ") and "is not a folder" in err


def test_uninterrupted_rows_are_complete(uninterrupted):
    assert sorted(uninterrupted) == sorted(SUBJECTS)
    status = TABLE_COLUMNS.index("status")  # before analysed_at, which comparable() drops
    for subject, rows in uninterrupted.items():
        assert all(r[status] != STATUS_ERROR for r in rows), subject


def test_csv_blocks_parse_alone():
    # Each block written by run_batch is whole CSV records: a resume never splits one.
    block = batch_mod._block([{"subject": "a\u2028b", "detail": "x\ny"}])
    assert list(csv.reader(io.StringIO(block.decode(), newline="")))[0][0] == "a\u2028b"
