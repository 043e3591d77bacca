"""Multi-pass landmark detection: the same body shown slightly differently, answers combined.

A single MediaPipe pass places a landmark a few pixels differently each time the body is shown
slightly differently; on a 60 px hip line that is degrees of tilt (`PRECISION.md`: median 0.84,
worst 4.8 deg for a 4 deg rotation). So each photo is detected several times:

1. A base pass on the whole photo finds the person (and, if asked, the segmentation mask). With
   one pass, that is the answer.
2. Otherwise the base pass is repeated on the mirrored photo and the person's box taken from
   both (so the box, too, mirrors exactly), cropped with a margin and scaled to
   `CROP_LONG_SIDE`: every pass works on that small crop, never on the 12 MP photo.
3. Each pass shows the crop mirrored or not, rotated by a small angle. Its landmarks are mapped
   back with the exact inverse of its affine transform; a mirrored pass also swaps left and
   right names, which makes the mirror test exact by construction.
4. Per landmark, passes are combined by a trimmed mean: those further than `OUTLIER_SIGMAS`
   robust deviations from the median are dropped (a pass that put a hip on the wrong leg), the
   rest averaged (the mean beat the median in the first trial, `PRECISION.md`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from posture.errors import NoPersonError
from posture.landmarks.detector import PoseDetector
from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import MIRROR_ORDER, N_LANDMARKS
from posture.sharpness import resolution_floor

# The pose landmark model sees the person through a 256x256 window; a crop twice that size
# keeps every detail it can use while keeping rotations cheap.
CROP_LONG_SIDE = 512
LANDMARK_MODEL_INPUT = 256
# Margin around the landmarks' box, as a fraction of the box height. The landmarks stop at the
# eyes and the toes: the top needs room for the skull and hair; rotations need room at the sides.
CROP_MARGIN = 0.15
CROP_MARGIN_TOP = 0.25

# The pass grid: (rotation in degrees counter-clockwise, mirrored), taken in this order. Every
# rotation comes plain and mirrored: a mirrored photo then shows the detector exactly the same
# pass images as the original (pass (a, plain) of one is pass (a, mirrored) of the other), so
# with an even count its landmarks are the exact mirror image. Signs alternate for balance.
PASS_GRID: tuple[tuple[float, bool], ...] = tuple(
    (angle, mirror) for angle in (0.0, 4.0, -4.0, 8.0, -8.0, 2.0, -2.0, 6.0, -6.0)
    for mirror in (False, True)
)
MAX_PASSES = len(PASS_GRID)
DEFAULT_PASSES = 18  # every grid pass: see benchmarks/consistency.py for the trade-off

# 1.4826 * MAD estimates a standard deviation for normal noise; 3 of them flags an outlier.
OUTLIER_SIGMAS = 3.0
# Below this spread all passes agree: never drop a pass over a difference this small. A
# fraction of the body's height (1 px on a 1000 px body), so the rule is the same at any scale.
MIN_SPREAD_FRACTION = 0.001


@dataclass(frozen=True, eq=False)
class Detection:
    """What the landmark stage learns about one photo."""

    landmarks: PoseLandmarks
    # person-segmentation probability at the working size; with more than one pass, the
    # average of the photo's and the mirrored photo's (exactly mirror-symmetric)
    mask: np.ndarray | None
    crop_box: tuple[int, int, int, int]  # (x0, y0, x1, y1) of the person crop, working pixels
    people_seen: int | None = None   # people the base pass's person detector saw


def _pass_matrices(w: int, h: int, angle: float, mirror: bool):
    """Affines (pixel-centre coordinates) for one pass: the rotation applied to the (flipped)
    crop, the whole crop-to-pass map, and the pass image size."""
    flip = np.eye(3)
    if mirror:
        flip[0] = (-1.0, 0.0, w - 1.0)
    rad = np.deg2rad(angle)
    cos, sin = abs(np.cos(rad)), abs(np.sin(rad))
    out_w, out_h = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    # cv2's positive angle turns the picture counter-clockwise as displayed.
    rot = np.vstack([cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0), [0, 0, 1]])
    rot[0, 2] += (out_w - w) / 2
    rot[1, 2] += (out_h - h) / 2
    return rot[:2], (rot @ flip)[:2], out_w, out_h


def _apply(matrix: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return xy @ matrix[:, :2].T + matrix[:, 2]


def _crop_box(xy: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    """The person's box with margins, in whole pixels. Symmetric in x: the box of a mirrored
    extent is the mirrored box, since floor(w - b) == w - ceil(b)."""
    x0, y0 = np.nanmin(xy, axis=0)
    x1, y1 = np.nanmax(xy, axis=0)
    height = max(y1 - y0, 1.0)
    box = (x0 - CROP_MARGIN * height, y0 - CROP_MARGIN_TOP * height,
           x1 + CROP_MARGIN * height, y1 + CROP_MARGIN * height)
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0, 0, w, h
    return x0, y0, x1, y1


def _run_pass(detector: PoseDetector, crop: np.ndarray, angle: float, mirror: bool,
              with_mask: bool = False):
    ch, cw = crop.shape[:2]
    rotation, matrix, out_w, out_h = _pass_matrices(cw, ch, angle, mirror)
    # Flip exactly first, then rotate: a mirrored photo's plain pass then warps the very same
    # pixels the same way (interpolating through a combined flip-rotate matrix would not).
    shown = np.ascontiguousarray(crop[:, ::-1]) if mirror else crop
    if angle != 0.0:
        shown = cv2.warpAffine(shown, rotation, (out_w, out_h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    raw = detector.detect(shown, with_mask=with_mask)
    if raw is None:
        return None
    mask = None
    if raw.mask is not None:
        # Back to the crop's frame: the inverse of this pass's rotation, then the flip.
        mask = raw.mask if angle == 0.0 else cv2.warpAffine(
            raw.mask, rotation, (cw, ch), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        if mirror:
            mask = np.ascontiguousarray(mask[:, ::-1])
    # MediaPipe's pixel coordinates put pixel centres at +0.5; the matrix uses integer centres.
    xy = _apply(cv2.invertAffineTransform(matrix), raw.xy - 0.5) + 0.5
    z, vis = raw.z, raw.visibility
    if mirror:
        order = list(MIRROR_ORDER)
        xy, z, vis = xy[order], -z[order], vis[order]
    return xy, z, vis, mask


def _detector_pixel(pass_xy: np.ndarray) -> float:
    """Size, in working pixels, of one pixel of the landmark model's 256 px input: its region of
    interest spans the body's height and a quarter more (MediaPipe Pose's ROI scale 1.25)."""
    ys = pass_xy[..., 1]
    return float((np.nanmax(ys) - np.nanmin(ys)) * 1.25 / LANDMARK_MODEL_INPUT)


def combine_passes(pass_xy: np.ndarray) -> np.ndarray:
    """Per landmark and axis: mean of the passes within OUTLIER_SIGMAS robust SDs of the median.

    pass_xy: (P, 33, 2) with NaN for failed passes. Returns (33, 2).
    """
    med = np.nanmedian(pass_xy, axis=0)
    mad = np.nanmedian(np.abs(pass_xy - med), axis=0)
    body = np.nanmax(med[:, 1]) - np.nanmin(med[:, 1])
    limit = OUTLIER_SIGMAS * np.maximum(1.4826 * mad, MIN_SPREAD_FRACTION * body)
    kept = np.where(np.abs(pass_xy - med) <= limit, pass_xy, np.nan)
    return np.nanmean(kept, axis=0)


def detect_landmarks(rgb: np.ndarray, detector: PoseDetector, *, passes: int = DEFAULT_PASSES,
                     scale: float = 1.0, with_mask: bool = True) -> Detection:
    """Detect one person's landmarks in a working image by `passes` passes, combined.

    Args:
        rgb: HxWx3 uint8 working image (upright, possibly downscaled from the original).
        detector: any `PoseDetector`.
        passes: 1..MAX_PASSES. 1 = the base pass alone.
        scale: original pixels per working pixel; landmarks are returned in original pixels.
        with_mask: also return the person-segmentation mask of the base pass.

    Raises:
        NoPersonError: the base pass found nobody.
    """
    if not 1 <= passes <= MAX_PASSES:
        raise ValueError(f"passes must be 1..{MAX_PASSES}, got {passes}")
    h, w = rgb.shape[:2]
    base = detector.detect(rgb, with_mask=with_mask)
    mask = None if base is None else base.mask
    if base is None:
        raise NoPersonError(
            "No person found in the photo; photograph the whole body, standing, well lit."
        )
    if passes == 1:
        results = [(base.xy, base.z, base.visibility)]
        box = _crop_box(base.xy, w, h)
    else:
        # Same graph as the base pass (the segmentation graph places landmarks a little
        # differently), so that a mirrored photo yields exactly the mirrored box.
        mirrored = detector.detect(np.ascontiguousarray(rgb[:, ::-1]), with_mask=with_mask)
        extent = base.xy
        if mirrored is not None:
            back = mirrored.xy[list(MIRROR_ORDER)] * (-1.0, 1.0) + (w, 0.0)
            extent = np.vstack([base.xy, back])
        box = _crop_box(extent, w, h)
        results, crop_mask = _crop_passes(rgb, detector, box, PASS_GRID[:passes], with_mask)
        if mirrored is not None and base.mask is not None and mirrored.mask is not None:
            # The photo's and the mirrored photo's masks, averaged: the outline (and every
            # anatomical point on it) of a mirrored photo is then the exact mirror image.
            mask = 0.5 * (base.mask + mirrored.mask[:, ::-1])
        if mask is not None and crop_mask is not None:
            # Inside the person's box, the passes' masks, averaged like their landmarks.
            mask = np.array(mask, dtype=np.float32)
            x0, y0, x1, y1 = box
            mask[y0:y1, x0:x1] = crop_mask

    pass_xy = np.full((passes, N_LANDMARKS, 2), np.nan)
    zs, vis = [], []
    for i, res in enumerate(results):
        if res is not None:
            pass_xy[i] = res[0]
            zs.append(res[1])
            vis.append(res[2])
    if not zs:
        raise NoPersonError(
            "The person could not be located reliably; photograph the whole body, standing, "
            "well lit, against a plain background."
        )
    pass_xy *= scale
    x0, y0, x1, y1 = box
    landmarks = PoseLandmarks(
        xy=combine_passes(pass_xy) if passes > 1 else pass_xy[0],
        z=np.mean(zs, axis=0) * scale,
        visibility=np.mean(vis, axis=0),
        pass_xy=pass_xy,
        image_size=(int(round(w * scale)), int(round(h * scale))),
        floor_px=resolution_floor(rgb[y0:y1, x0:x1], _detector_pixel(pass_xy / scale)) * scale,
    )
    return Detection(landmarks=landmarks, mask=mask, crop_box=box, people_seen=base.people)


def _crop_passes(rgb: np.ndarray, detector: PoseDetector, box, grid, with_mask: bool = False
                 ) -> tuple[list, np.ndarray | None]:
    """Every pass's (xy, z, visibility) in working pixels (None where it found nobody), and
    the passes' segmentation masks averaged over the box (working size), when asked."""
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    shrink = min(1.0, CROP_LONG_SIDE / max(crop.shape[:2]))
    if shrink < 1.0:
        size = (max(1, round(crop.shape[1] * shrink)), max(1, round(crop.shape[0] * shrink)))
        # Pillow's Lanczos resampling is exactly mirror-symmetric; cv2's INTER_AREA is not
        # quite, and a one-level pixel difference moves landmarks by tenths of a pixel.
        crop = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    # The resized crop's pixel (u, v) covers working pixels starting at (x0, y0).
    sx, sy = (x1 - x0) / crop.shape[1], (y1 - y0) / crop.shape[0]

    def one(item):
        res = _run_pass(detector, crop, *item, with_mask=with_mask)
        if res is None:
            return None
        xy, z, vis, mask = res
        return xy * (sx, sy) + (x0, y0), z * sx, vis, mask

    workers = max(1, min(detector.parallelism, len(grid)))
    if workers == 1:
        out = [one(item) for item in grid]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            out = list(pool.map(one, grid))
    masks = [r[3] if r is not None else None for r in out]
    return [None if r is None else r[:3] for r in out], _mean_mask(masks, (x1 - x0, y1 - y0))


def _mean_mask(masks: list, size: tuple[int, int]) -> np.ndarray | None:
    """The passes' masks averaged, resized to the box (width, height). Plain and mirrored
    passes come in pairs and are summed pair by pair first (a + b == b + a exactly), so a
    mirrored photo's average is the exact mirror image."""
    if not masks or any(m is None for m in masks):
        return None
    pairs = [masks[i] + masks[i + 1] for i in range(0, len(masks) - 1, 2)]
    if len(masks) % 2:
        pairs.append(masks[-1])
    total = pairs[0].astype(np.float64)
    for m in pairs[1:]:
        total = total + m
    mean = (total / len(masks)).astype(np.float32)
    # Pillow's resampling is mirror-symmetric (as for the crop itself).
    return np.asarray(Image.fromarray(mean, mode="F").resize(size, Image.Resampling.BILINEAR))
