"""Render the gridded crops the anatomical points in points.csv were read from.

Coordinates are pixels of the upright full-resolution photo (x right, y down): the frame of
``PoseLandmarks.xy``. The photo is made upright by ``posture.images.load_photo`` itself (with a
``max_side`` above the photo's long side, so nothing is downscaled and ``Photo.scale`` is 1.0),
so the EXIF orientation is applied exactly as the analysis applies it.

Each output PNG shows a region scaled to a chosen width, with grid lines every ``step`` photo
pixels (labelled with their photo coordinate along the top and left edges) and unlabelled minor
lines every ``step / 5`` (left out when closer than 12 display pixels); a point is read off as
(x, y) by interpolating between lines.

    python tests/data/anatomical/make_crops.py overview PHOTO OUT.png [--step 200]
    python tests/data/anatomical/make_crops.py crop PHOTO X0 Y0 X1 Y1 OUT.png [--step 50]
        [--width 900] [--contrast]
    python tests/data/anatomical/make_crops.py sheet PHOTO OUT.png X0,Y0,X1,Y1 ... [--step 50]
        [--width 450] [--contrast]      (several regions side by side, each --width px wide)
    python tests/data/anatomical/make_crops.py round {1,2} OUTDIR
        (every crop a round of points.csv was read from, as listed in crops.csv)

PHOTO is a file name from sample_images/ (e.g. ana_test.jpg) or a path. ``--contrast``
stretches each channel's 1st-99th percentile to full range (for dim photos); it changes the
display only, never the coordinates.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from posture.images import load_photo  # noqa: E402

_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def upright(photo: str) -> np.ndarray:
    """The upright full-resolution RGB array of a sample photo (by name) or a path."""
    path = Path(photo)
    if not path.exists():
        hits = list((ROOT / "sample_images").glob(f"*/{photo}"))
        if len(hits) != 1:
            raise SystemExit(f"no single sample photo named {photo}")
        path = hits[0]
    p = load_photo(path, max_side=100_000)
    if p.scale != 1.0:  # the frame must be the full-resolution photo's
        raise SystemExit(f"{photo} was downscaled (scale {p.scale})")
    return p.rgb


def render(rgb: np.ndarray, box: tuple[int, int, int, int], step: int, width: int,
           contrast: bool = False) -> Image.Image:
    """The region box = (x0, y0, x1, y1) in photo px, scaled to `width` px wide, gridded."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    region = rgb[y0:y1, x0:x1].astype(np.float32)
    if contrast:
        lo, hi = np.percentile(region, [1, 99], axis=(0, 1))
        region = (region - lo) / np.maximum(hi - lo, 1) * 255
    zoom = width / (x1 - x0)
    margin = 46
    im = Image.fromarray(np.clip(region, 0, 255).astype(np.uint8)).resize(
        (width, round((y1 - y0) * zoom)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (im.width + margin, im.height + margin), "white")
    canvas.paste(im, (margin, margin))
    draw = ImageDraw.Draw(canvas, "RGBA")
    font = ImageFont.truetype(_FONT, 12)
    minor = max(1, step // 5)
    if minor * zoom < 12:  # minor lines closer than 12 display px hide the edges: drop them
        minor = step

    def lines(lo: int, hi: int, every: int):
        return range((lo + every - 1) // every * every, hi + 1, every)

    for v in lines(x0, x1, minor):  # vertical lines at photo x = v
        px = margin + (v - x0) * zoom
        major = v % step == 0
        draw.line([(px, margin), (px, canvas.height)],
                  fill=(255, 0, 0, 120) if major else (0, 255, 255, 45), width=1)
        if major:
            draw.text((px - 14, 2 + (v // step % 2) * 16), str(v), fill="black", font=font)
    for v in lines(y0, y1, minor):
        py = margin + (v - y0) * zoom
        major = v % step == 0
        draw.line([(margin, py), (canvas.width, py)],
                  fill=(255, 0, 0, 120) if major else (0, 255, 255, 45), width=1)
        if major:
            draw.text((1, py - 6), str(v), fill="black", font=font)
    return canvas


def sheet(rgb: np.ndarray, boxes: list[tuple[int, int, int, int]], step: int, width: int,
          contrast: bool = False) -> Image.Image:
    """Several regions rendered side by side, each `width` px wide."""
    panels = [render(rgb, b, step, width, contrast) for b in boxes]
    out = Image.new("RGB", (sum(p.width + 12 for p in panels), max(p.height for p in panels)),
                    "white")
    x = 0
    for p in panels:
        out.paste(p, (x, 0))
        x += p.width + 12
    return out


def render_round(number: str, outdir: Path) -> int:
    """Every image of one reading round (crops.csv) into outdir; returns how many."""
    outdir.mkdir(parents=True, exist_ok=True)
    with open(Path(__file__).with_name("crops.csv"), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["round"] == number]
    cache: dict[str, np.ndarray] = {}
    for r in rows:
        rgb = cache.setdefault(r["photo"], upright(r["photo"]))
        boxes = [tuple(int(v) for v in b.split(",")) for b in r["regions"].split()]
        sheet(rgb, boxes, int(r["step"]), int(r["width"]), r["contrast"] == "1").save(
            outdir / r["image"])
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ov = sub.add_parser("overview")
    ov.add_argument("photo")
    ov.add_argument("out")
    ov.add_argument("--step", type=int, default=200)
    ov.add_argument("--width", type=int, default=700)
    cr = sub.add_parser("crop")
    cr.add_argument("photo")
    for c in ("x0", "y0", "x1", "y1"):
        cr.add_argument(c, type=int)
    cr.add_argument("out")
    cr.add_argument("--step", type=int, default=50)
    cr.add_argument("--width", type=int, default=900)
    sh = sub.add_parser("sheet")
    sh.add_argument("photo")
    sh.add_argument("out")
    sh.add_argument("boxes", nargs="+")
    sh.add_argument("--step", type=int, default=50)
    sh.add_argument("--width", type=int, default=450)
    for p in (ov, cr, sh):
        p.add_argument("--contrast", action="store_true")
    rd = sub.add_parser("round")
    rd.add_argument("number", choices=("1", "2"))
    rd.add_argument("outdir", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "round":
        print(f"{render_round(a.number, a.outdir)} images in {a.outdir}")
        return
    rgb = upright(a.photo)
    if a.cmd == "sheet":
        boxes = [tuple(int(v) for v in b.split(",")) for b in a.boxes]
        sheet(rgb, boxes, a.step, a.width, a.contrast).save(a.out)
        return
    box = (0, 0, rgb.shape[1], rgb.shape[0]) if a.cmd == "overview" else (a.x0, a.y0, a.x1, a.y1)
    render(rgb, box, a.step, a.width, a.contrast).save(a.out)


if __name__ == "__main__":
    main()
