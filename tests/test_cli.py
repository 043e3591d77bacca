"""`posture analyze` end to end on a real pair; usage and input errors exit 2 with one line."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest
from PIL import Image

from posture.assessment import TABLE_COLUMNS
from posture.cli import main
from posture.metrics.definitions import METRICS, METRICS_BY_ID
from tests.conftest import PAIRS, ROOT, png_chunk_types, sample


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, detector):
    out = tmp_path_factory.mktemp("out")
    front, side = PAIRS["jara"]
    code = main(["analyze", "--front", str(sample(front)), "--side", str(sample(side)),
                 "--height-cm", "170", "--subject", "jara", "--out", str(out), "--passes", "4"])
    return code, out


def test_analyze_writes_csv_json_and_pngs(analysed, capsys):
    code, out = analysed
    assert code == 0
    # jara faces image right in her side photo: given as --side, it is her right side photo.
    assert {p.name for p in out.iterdir()} == {"results.csv", "results.json",
                                               "annotated_front.png", "annotated_right.png"}
    with open(out / "results.csv", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == TABLE_COLUMNS
    assert [r["metric"] for r in rows] == [m.id for m in METRICS]
    assert {r["subject"] for r in rows} == {"jara"}
    assert [r["slot"] for r in rows] == ["front" if m.view == "front" else "right"
                                         for m in METRICS]
    # Landmark measures all computed; outline-point ones may say why not (jara's sweater).
    assert all(r["status"] == "ok" for r in rows if not METRICS_BY_ID[r["metric"]].anatomical())
    assert all(r["status"] == "ok" or r["detail"] for r in rows)
    assert {r["unit"] for r in rows if r["metric"].startswith("plumb")} == {"cm"}
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(p["slot"], p["view"], p["given_as"]) for p in data["photos"]] == [
        ("front", "front", None), ("right", "side", "side")]
    assert len(data["photos"][0]["landmarks"]) == 33
    assert data["photos"][0]["image_size"] == [3000, 4000]


def test_annotated_pngs_are_upright_and_carry_no_metadata(analysed):
    _, out = analysed
    for name in ("annotated_front.png", "annotated_right.png"):
        im = Image.open(out / name)
        assert im.height > im.width  # the EXIF-rotated jara photos, upright
        assert not im.getexif()
        # No text, EXIF or other metadata chunk ("GPS" in the bytes could be compressed pixels).
        assert set(png_chunk_types((out / name).read_bytes())) == {b"IHDR", b"IDAT", b"IEND"}



def test_summary_table_is_printed(tmp_path, capsys):
    code = main(["analyze", "--front", str(sample("saif1.jpeg")), "--out", str(tmp_path),
                 "--passes", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Shoulder tilt" in printed and "Pelvic obliquity" in printed
    assert "Forward-head" not in printed  # no side photo: no side metrics
    # The screening summary by region and the levels chain follow the table.
    assert "Summary by region (screening, not a diagnosis):" in printed
    for region in ("Head and neck", "Shoulders", "Trunk and spine", "Pelvis", "Legs"):
        assert f"  {region}: " in printed
    assert "Levels from the floor up:" in printed


def run_cli(args: list[str]) -> int:
    """main()'s exit code, whether it returns it or argparse exits."""
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("args,match", [
    (["analyze"], "give at least one photo: --front, --back, --left, --right or --side PHOTO"),
    (["analyze", "--back", "missing.jpg"], "No file at"),
    (["analyze", "--front", "missing.jpg"], "No file at"),
    (["analyze", "--front", "{photo}", "--height-cm", "9000"], "height must be in cm"),
    (["analyze", "--front", "{photo}", "--passes", "0"], "passes must be a whole number"),
    (["analyze", "--front", "{text}"], "not a photo"),
    (["analyze", "--front", "{photo}", "--reference", "{text}"], "missing column"),
    (["analyze", "--front", "{photo}", "--height-cm", "tall"], "invalid float value"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_usage_and_input_exit_2_with_one_line(args, match, tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("metric,low\nnot a photo\n", encoding="utf-8")
    args = [a.format(photo=sample("saif1.jpeg"), text=text) for a in args]
    if args[0] == "analyze":
        args += ["--out", str(tmp_path), "--passes", "1"] if "--passes" not in args else \
            ["--out", str(tmp_path)]
    assert run_cli(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(match, err), err


def test_readme_lists_the_csv_columns_in_order():
    """README.md's "CSV" table documents TABLE_COLUMNS, every one, in the file's order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## The CSV", 1)[1].split("\n\n", 2)[1]
    documented = [name for line in table.splitlines()[2:]
                  for name in re.findall(r"`(\w+)`", line.split("|")[1])]
    assert documented == list(TABLE_COLUMNS)


def test_entry_point_runs_as_a_process(tmp_path):
    """The installed console script: exit code and a one-line error, no traceback."""
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "posture.cli", "analyze", "--front", str(bad),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("posture: ")
    assert "empty" in proc.stderr
