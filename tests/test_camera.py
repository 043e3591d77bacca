"""Camera roll: synthetic scenes with known roll and pitch, real photos rotated by known angles,
photos with no straight structure, and clinician-marked verticals.

Sign (METRICS.md): rotating a photo counter-clockwise (as displayed) by t adds t to the roll.
Real photos have no ground truth, so they are checked for consistency: the estimate of a photo
rotated by t must equal the unrotated estimate plus t.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import cv2
import numpy as np
import pytest

from posture.camera import (
    RollEstimate,
    StraightEdges,
    estimate_roll,
    find_straight_edges,
    roll_from_edges,
    roll_from_points,
)
from posture.images import load_photo
from tests.conftest import sample

SYNTHETIC_TOLERANCE = 0.2  # deg: drawn lines are exact; LSD's sub-pixel error is well below
REAL_TOLERANCE = 0.5  # deg: real edges bend a little and the crop changes what is in view
MAX_ROTATION = 6.0  # deg: the largest rotation tested; sets the crop that leaves no corners

# Photos with clear plumb structure on both sides of the patient: doorways, and a room with a
# door, a TV and ceiling lines (looked at). Not here: anibal2 (a doorway the patient fills; its
# errors reach 0.6 deg at +2..+3), leo3 (curtains and a sofa), gardens and plain walls; every
# sample photo is measured in benchmarks/camera_roll.py.
CLEAR = [
    "ana_test.jpg",
    "anibal1_test.jpg",
    "jara_test_front_3.jpg",
    "leo2_test.jpg",
]


@cache
def load_upright(name: str) -> np.ndarray:
    """An upright sample photo, at most 1280 px on its long side (read-only)."""
    return load_photo(sample(name)).rgb


def rotate_crop(rgb: np.ndarray, degrees_ccw: float) -> np.ndarray:
    """Rotate counter-clockwise (as displayed) about the centre, then keep the central part
    that has no empty corners at MAX_ROTATION: the same region for every angle, so the empty
    corners' edges never look like lines."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees_ccw, 1.0)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR)
    c, s = math.cos(math.radians(MAX_ROTATION)), math.sin(math.radians(MAX_ROTATION))
    keep = 0.98 * min(w / (w * c + h * s), h / (w * s + h * c))
    cw, ch = int(w * keep), int(h * keep)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return np.ascontiguousarray(out[y0 : y0 + ch, x0 : x0 + cw])


def _line(img: np.ndarray, a, b, colour, thickness: int) -> None:
    """Anti-aliased line with sub-pixel endpoints (1/16 px)."""
    p, q = (tuple(int(round(v * 16)) for v in pt) for pt in (a, b))
    cv2.line(img, p, q, colour, thickness, cv2.LINE_AA, shift=4)


def _noisy(img: np.ndarray, seed: int, sd: float = 8.0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sd, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _doorway(seed: int = 0) -> np.ndarray:
    """A level room: door frame (two jambs, lintel), a window, a wall corner, skirting."""
    w, h = 900, 1200
    yy, xx = np.mgrid[0:h, 0:w]
    wall = 150 + 40 * xx / w + 20 * yy / h
    img = np.dstack([wall, wall * 0.95, wall * 0.9])
    dark = (60, 50, 40)
    cv2.rectangle(img, (300, 250), (330, 1000), dark, -1)
    cv2.rectangle(img, (570, 250), (600, 1000), dark, -1)
    cv2.rectangle(img, (300, 220), (600, 250), dark, -1)
    cv2.rectangle(img, (60, 300), (220, 560), dark, 6)
    cv2.line(img, (760, 0), (760, 1000), (110, 110, 120), 4)
    cv2.rectangle(img, (0, 1000), (w, 1020), (90, 80, 70), -1)
    return _noisy(img, seed)


def _project(points, *, f: float, pitch: float, roll: float, size: tuple[int, int]) -> np.ndarray:
    """World points (x right, y down, z forward; metres) to pixels of a pinhole camera pitched
    down by ``pitch`` deg and then rolled counter-clockwise (as displayed) by ``roll`` deg."""
    p, r = math.radians(pitch), math.radians(roll)
    axes = np.array(
        [[1.0, 0.0, 0.0], [0.0, math.cos(p), -math.sin(p)], [0.0, math.sin(p), math.cos(p)]]
    )
    cam = np.asarray(points, dtype=float) @ axes.T
    u, v = f * cam[:, 0] / cam[:, 2], f * cam[:, 1] / cam[:, 2]
    x = u * math.cos(r) + v * math.sin(r)
    y = -u * math.sin(r) + v * math.cos(r)
    return np.column_stack([x + size[0] / 2, y + size[1] / 2])


# -- synthetic scenes --------------------------------------------------------------------------


@pytest.mark.parametrize("t", [-6.0, -3.0, -1.0, 0.0, 0.5, 2.0, 5.0])
def test_synthetic_doorway_rotated_by_known_angles(t):
    est = estimate_roll(rotate_crop(_doorway(), t))
    assert est.method == "lines"
    assert est.degrees == pytest.approx(t, abs=SYNTHETIC_TOLERANCE)
    assert est.n_lines >= 5
    assert 0.5 <= est.confidence <= 1.0


@pytest.mark.parametrize("pitch", [-15.0, 8.0, 20.0])
@pytest.mark.parametrize("roll", [-4.0, 3.0])
def test_pitched_camera_gives_its_roll_not_the_lines_mean_lean(pitch, roll):
    """Verticals seen by a pitched camera converge; most of them here are left of centre, so
    their mean lean is off by degrees. The vanishing-point fit recovers the roll itself."""
    size, f = (900, 1200), 1000.0  # f differs from the module's nominal focal length on purpose
    img = np.full((size[1], size[0], 3), 170.0)
    leans = []
    for x in (-1.3, -1.1, -0.9, -0.75, 0.9):
        a, b = _project([[x, -1.0, 3.0], [x, 1.4, 3.0]], f=f, pitch=pitch, roll=roll, size=size)
        _line(img, a, b, (50, 50, 50), 5)
        leans.append(math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])))
    assert abs(np.mean(leans) - roll) > 1.5  # the test is not trivial
    est = estimate_roll(_noisy(img, seed=1, sd=6.0))
    assert est.degrees == pytest.approx(roll, abs=SYNTHETIC_TOLERANCE)


@pytest.mark.parametrize("t", [-4.0, 0.0, 2.5])
def test_posture_grid_behind_a_patient(t):
    """A dense grid: LSD breaks every line where another crosses it; the pieces are joined."""
    w, h = 900, 1200
    img = np.full((h, w, 3), 200.0)
    for x in range(30, w, 25):
        cv2.line(img, (x, 0), (x, h), (90, 90, 90), 2)
    for y in range(30, h, 25):
        cv2.line(img, (0, y), (w, y), (90, 90, 90), 2)
    cv2.ellipse(img, (450, 650), (160, 480), 0, 0, 360, (40, 40, 40), -1)
    est = estimate_roll(rotate_crop(_noisy(img, seed=4), t))
    assert est.degrees == pytest.approx(t, abs=SYNTHETIC_TOLERANCE)
    assert est.confidence > 0.9


def test_exclude_box_ignores_the_person():
    """A 'person' of long bars leaning 4 deg would compete with a level door frame; excluded,
    only the frame counts."""
    w, h = 900, 1200
    img = np.full((h, w, 3), 160.0)
    dark = (60, 50, 40)
    cv2.rectangle(img, (100, 250), (130, 1100), dark, -1)
    cv2.rectangle(img, (770, 250), (800, 1100), dark, -1)
    cv2.rectangle(img, (100, 220), (800, 250), dark, -1)
    half_shift = (1050 - 300) * math.tan(math.radians(4.0)) / 2
    for i in range(9):
        x = 250 + 50 * i
        _line(img, (x + half_shift, 300), (x - half_shift, 1050), (20, 20, 20), 6)
    img = _noisy(img, seed=2, sd=6.0)
    without = estimate_roll(img)
    assert without.degrees is None or abs(without.degrees) > 1.0
    est = estimate_roll(img, exclude_box=(200, 280, 700, 1080))
    assert est.degrees == pytest.approx(0.0, abs=SYNTHETIC_TOLERANCE)


# Clutter: two short plumb strokes that happen to agree with the room, and four far off plumb
# (x, y, deg from vertical; 130 px long).
CLUTTER = [
    (450, 300, 0.0),
    (700, 800, 0.0),
    (300, 900, -6.0),
    (560, 600, 9.0),
    (800, 300, -8.0),
    (420, 1000, 12.0),
]


def _bars_and_clutter(bars: list[int]) -> np.ndarray:
    """A level wall: long plumb bars (door jambs) at the given x, and CLUTTER."""
    w, h = 900, 1200
    img = np.full((h, w, 3), 165.0)
    for x in bars:
        cv2.rectangle(img, (x, 100), (x + 24, 1100), (60, 50, 40), -1)
    for cx, cy, deg in CLUTTER:
        dx, dy = 65 * math.sin(math.radians(deg)), 65 * math.cos(math.radians(deg))
        _line(img, (cx - dx, cy - dy), (cx + dx, cy + dy), (40, 40, 40), 3)
    return _noisy(img, seed=5)


@pytest.mark.parametrize("t", [-4.0, -1.0, 0.0, 2.0])
def test_one_long_structure_plus_clutter_is_unknown(t):
    """One jamb and two short strokes agree: three structures, enough for the support count,
    but without the jamb two strokes cannot fix roll and pitch. The level rests on the one
    jamb being plumb, which nothing checks."""
    est = estimate_roll(rotate_crop(_bars_and_clutter([150]), t))
    assert est.method == "unknown" and est.degrees is None
    assert "rests on one straight structure" in est.reason


@pytest.mark.parametrize("t", [-4.0, -1.0, 0.0, 2.0])
def test_several_structures_with_the_same_clutter_give_the_roll(t):
    est = estimate_roll(rotate_crop(_bars_and_clutter([150, 330, 560, 760]), t))
    assert est.method == "lines", est.reason
    assert est.degrees == pytest.approx(t, abs=SYNTHETIC_TOLERANCE)
    assert est.confidence >= 0.5


@pytest.mark.parametrize("roll", [-3.0, 2.0])
@pytest.mark.parametrize(
    "xs, known",
    [((0.8, 0.95, 1.1, 1.25), False), ((0.6, 0.8, 1.0, 1.2), True)],
    ids=["close-together", "spread"],
)
def test_lone_vertical_that_separates_roll_from_pitch(roll, xs, known):
    """A camera pitched 20 deg: four door jambs on the right, one on the left. Close together,
    the right-hand ones cannot tell roll from pitch without the left one: the level rests on
    it (were it 1.5 deg off plumb, the roll would be off by about 0.8 deg, unseen). Spread
    wider, they pin the pitch themselves."""
    size, f = (900, 1200), 1000.0
    img = np.full((size[1], size[0], 3), 170.0)
    for x in (*xs, -1.0):
        a, b = _project([[x, -1.0, 3.0], [x, 1.4, 3.0]], f=f, pitch=20.0, roll=roll, size=size)
        _line(img, a, b, (50, 50, 50), 5)
    est = estimate_roll(_noisy(img, seed=1, sd=6.0))
    if known:
        assert est.degrees == pytest.approx(roll, abs=SYNTHETIC_TOLERANCE)
    else:
        assert est.method == "unknown" and "rests on one straight structure" in est.reason


def test_gray_input_equals_rgb_input():
    rgb = rotate_crop(_doorway(), 2.0)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert estimate_roll(gray) == estimate_roll(rgb)


def test_rotation_helper_turns_counter_clockwise_as_displayed():
    """Outside check of the sign used above: OpenCV's positive angle moves the top to the left."""
    img = np.zeros((101, 101), np.uint8)
    img[10, 50] = 255
    turned = cv2.warpAffine(img, cv2.getRotationMatrix2D((50, 50), 90, 1.0), (101, 101))
    y, x = np.unravel_index(np.argmax(turned), turned.shape)
    assert (x, y) == (10, 50)


# -- no straight structure ---------------------------------------------------------------------


def test_smooth_gradient_with_noise_is_unknown():
    h, w = 1200, 900
    yy, xx = np.mgrid[0:h, 0:w]
    shade = 80 + 100 * (xx / w) ** 1.5 + 50 * np.sin(yy / 200.0)
    est = estimate_roll(_noisy(np.dstack([shade] * 3), seed=3, sd=10.0))
    assert est.degrees is None
    assert est.method == "unknown"
    assert est.confidence == 0.0
    assert "unknown" in est.reason


@pytest.mark.parametrize(
    "name, box",
    [("leo2_test.jpg", (0.31, 0.14, 0.65, 0.90)), ("ana_test.jpg", (0.25, 0.16, 0.65, 0.97))],
)
def test_blurred_crop_of_the_person_is_unknown(name, box):
    """Bodies and clothes are not straight lines (box: MediaPipe landmarks' extent)."""
    rgb = load_upright(name)
    h, w = rgb.shape[:2]
    crop = rgb[int(box[1] * h) : int(box[3] * h), int(box[0] * w) : int(box[2] * w)]
    est = estimate_roll(cv2.GaussianBlur(crop, (0, 0), 2.0))
    assert est.degrees is None
    assert est.method == "unknown"


@pytest.mark.parametrize("shape", [(3, 4, 3), (100, 100, 3), (1, 500)])
def test_blank_or_tiny_images_are_unknown(shape):
    est = estimate_roll(np.full(shape, 128, np.uint8))
    assert (est.degrees, est.method, est.n_lines) == (None, "unknown", 0)


# -- real photos -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unrotated():
    """Each clear photo's estimate on the same central crop the rotated copies keep."""
    return {name: estimate_roll(rotate_crop(load_upright(name), 0.0)) for name in CLEAR}


@pytest.mark.parametrize("name", CLEAR)
@pytest.mark.parametrize("t", [-6.0, -3.0, -1.0, 2.0, 5.0])
def test_real_photo_rotated_by_t_adds_t(name, t, unrotated):
    base = unrotated[name]
    assert base.method == "lines", base.reason
    est = estimate_roll(rotate_crop(load_upright(name), t))
    assert est.method == "lines", est.reason
    assert est.degrees == pytest.approx(base.degrees + t, abs=REAL_TOLERANCE)


@pytest.mark.parametrize("name", CLEAR)
def test_real_photo_mirrored_negates_the_roll(name, unrotated):
    est = estimate_roll(np.ascontiguousarray(rotate_crop(load_upright(name), 0.0)[:, ::-1]))
    assert est.degrees == pytest.approx(-unrotated[name].degrees, abs=0.1)


@pytest.mark.parametrize("name", ["ana_test.jpg", "anibal1_test.jpg", "leo2_test.jpg"])
def test_real_photo_at_half_resolution_agrees(name, unrotated):
    crop = rotate_crop(load_upright(name), 0.0)
    half = cv2.resize(crop, (crop.shape[1] // 2, crop.shape[0] // 2), interpolation=cv2.INTER_AREA)
    assert estimate_roll(half).degrees == pytest.approx(unrotated[name].degrees, abs=REAL_TOLERANCE)


def test_exclude_box_is_in_input_pixels():
    """The same box, given for a photo and for its half-size copy, excludes the same region."""
    crop = rotate_crop(load_upright("anibal1_test.jpg"), 0.0)
    h, w = crop.shape[:2]
    box = (0.3 * w, 0.1 * h, 0.7 * w, 0.95 * h)
    half = cv2.resize(crop, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    full = estimate_roll(crop, exclude_box=tuple(round(v) for v in box))
    halved = estimate_roll(half, exclude_box=tuple(round(v / 2) for v in box))
    assert full.degrees == pytest.approx(halved.degrees, abs=REAL_TOLERANCE)


# -- the two parts: edges first (box-independent), then the roll ------------------------------

# Photos and person boxes (fractions of width and height, about the padded boxes of
# benchmarks/camera_roll.py). leo_test_right has among the densest edges of the samples (over
# 500 merged segments); front_image is small (317 px, not downscaled).
SPLIT = [
    ("ana_test.jpg", (0.22, 0.12, 0.68, 1.0)),
    ("leo_test_right.jpg", (0.40, 0.15, 0.62, 0.89)),
    ("jara_test_side_3.jpg", (0.33, 0.05, 0.58, 0.95)),
    ("front_image.jpg", (0.15, 0.03, 0.78, 1.0)),
]


def _box(rgb: np.ndarray, fractions) -> tuple[float, float, float, float]:
    h, w = rgb.shape[:2]
    return (fractions[0] * w, fractions[1] * h, fractions[2] * w, fractions[3] * h)


@pytest.mark.parametrize("name, fractions", SPLIT)
def test_edges_then_roll_equals_estimate_roll(name, fractions):
    """One edges object serves with and without the person's box, as estimate_roll does."""
    rgb = load_upright(name)
    box = _box(rgb, fractions)
    edges = find_straight_edges(rgb)
    assert roll_from_edges(edges) == estimate_roll(rgb)
    assert roll_from_edges(edges, box) == estimate_roll(rgb, exclude_box=box)
    rotated = rotate_crop(rgb, 3.0)
    assert roll_from_edges(find_straight_edges(rotated), box) == estimate_roll(
        rotated, exclude_box=box
    )


def test_edges_found_on_threads_give_the_same_roll():
    """As the pipeline runs it: edges on worker threads (two at once) while the caller waits
    for the person's box."""
    rgbs = [load_upright(name) for name, _ in SPLIT]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(find_straight_edges, rgb) for rgb in rgbs + rgbs]
        edges = [f.result() for f in futures]
    for (_, fractions), rgb, first, second in zip(SPLIT, rgbs, edges, edges[len(rgbs) :]):
        np.testing.assert_array_equal(first.segments, second.segments)
        box = _box(rgb, fractions)
        assert roll_from_edges(first, box) == estimate_roll(rgb, exclude_box=box)


def test_straight_edges_are_in_work_pixels_and_read_only():
    rgb = load_upright("ana_test.jpg")
    edges = find_straight_edges(rgb)
    assert isinstance(edges, StraightEdges)
    assert max(edges.shape) == 800
    assert edges.scale == pytest.approx(800 / max(rgb.shape[:2]))
    assert edges.segments.shape[1] == 4 and len(edges.segments) > 10
    assert edges.segments[:, [0, 2]].max() <= edges.shape[1]
    assert edges.segments[:, [1, 3]].max() <= edges.shape[0]
    with pytest.raises(ValueError):
        edges.segments[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        edges.scale = 1.0  # type: ignore[misc]
    small = find_straight_edges(load_upright("front_image.jpg"))
    assert small.scale == 1.0


def test_roll_from_edges_misuse_raises():
    edges = find_straight_edges(_doorway())
    with pytest.raises(ValueError, match="exclude_box"):
        roll_from_edges(edges, (10, 10, 5, 20))
    with pytest.raises(TypeError):
        roll_from_edges(_doorway())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="uint8"):
        find_straight_edges(np.zeros((50, 50, 3), np.float32))


# -- clinician-marked verticals ----------------------------------------------------------------


@pytest.mark.parametrize("t", [-10.0, -2.0, 0.0, 0.7, 4.0, 30.0])
def test_roll_from_points_reads_the_lean(t):
    """A vertical rotated counter-clockwise by t: its top moves left."""
    bottom = (400.0, 900.0)
    top = (bottom[0] - 600 * math.sin(math.radians(t)), bottom[1] - 600 * math.cos(math.radians(t)))
    for p1, p2 in ((top, bottom), (bottom, top)):
        est = roll_from_points(p1, p2)
        assert est.degrees == pytest.approx(t, abs=1e-9)
        assert (est.method, est.confidence, est.n_lines) == ("manual", 1.0, 1)


def test_marked_points_agree_with_the_lines_estimate():
    """The door jamb's marked ends, rotated with the photo, give the same roll as the lines."""
    t = 3.0
    m = cv2.getRotationMatrix2D((450, 600), t, 1.0)
    top, bottom = (m @ np.array([[315, 250, 1], [315, 1000, 1]]).T).T
    marked = roll_from_points(tuple(top), tuple(bottom))
    assert marked.degrees == pytest.approx(t, abs=1e-9)
    assert estimate_roll(rotate_crop(_doorway(), t)).degrees == pytest.approx(
        marked.degrees, abs=SYNTHETIC_TOLERANCE
    )


@pytest.mark.parametrize(
    "p1, p2, match",
    [
        ((10, 20), (10, 20), "same"),
        ((10.0, 20.0), (10.0, 20.0), "same"),
        ((0, 0), (float("nan"), 5), "finite"),
        ((0, 0), (100, 10), "from vertical"),
    ],
)
def test_roll_from_points_misuse_raises(p1, p2, match):
    with pytest.raises(ValueError, match=match):
        roll_from_points(p1, p2)


# -- misuse and the result type ----------------------------------------------------------------


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((50, 50, 3), np.float32), "uint8"),
        (np.zeros((50, 50, 4), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((0, 50, 3), np.uint8), "empty"),
        ([[0, 1], [1, 0]], "uint8"),
    ],
)
def test_estimate_roll_rejects_non_images(array, match):
    with pytest.raises(ValueError, match=match):
        estimate_roll(array)


@pytest.mark.parametrize(
    "box", [(10, 10, 5, 20), (10, 10, 20, 10), (0, 0, 1), (0, 0, float("inf"), 5)]
)
def test_estimate_roll_rejects_malformed_boxes(box):
    with pytest.raises(ValueError, match="exclude_box"):
        estimate_roll(_doorway(), exclude_box=box)


def test_roll_estimate_is_frozen():
    est = RollEstimate(degrees=1.0, confidence=0.9, n_lines=5, method="lines", reason="r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.degrees = 2.0  # type: ignore[misc]
