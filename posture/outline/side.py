"""Side view: anatomical points on the back's outline (the sagittal profile).

The person's outline is MediaPipe's segmentation mask (probability, working size) thresholded
at 0.5, its component holding the trunk's landmarks, read row by row with sub-pixel edges
(linear interpolation of the probability across 0.5). The posterior edge of each row, smoothed
along the body, is the back's profile x(y). On it, between levels the landmarks give:

- thoracic apex: most posterior point of the upper back;
- sacral point: most posterior point of the buttocks;
- lumbar apex: deepest (most anterior) point between them;
- cervical apex: deepest point of the neck, between the back of the head and the thoracic apex
  (on a back with no apex, cloth hanging straight: the upper back's most posterior point);
- C7: where the neck meets the upper back: the point between the cervical and thoracic apexes
  farthest (anterior side) from their chord, i.e. the corner where the neck's steep line turns
  into the upper back's slope; with no apex, or no sharp corner on that chord, the steepest
  point of the neck's turn into the back. The neck's points also need the photo to show skin
  there (`_neck_covered`): hair lying down the neck or a hood curve just like a neck;
- ict / itl / ils: the inflection points (steepest slope) between the apexes, with a second
  point on each tangent 5 % of the body's height below (rasterstereography's kyphotic and
  lordotic angles are spanned by these tangents, Lippold et al. 2012, figure 3);
- vertex: top of the outline (hair included); sole: bottom of the outline under the near heel;
- tragus: the near ear landmark, with an SD that covers the ear's size (EAR_POINT_SD): the
  pose model's ear point is not the tragus (on the hand-read sample photos it sat about 1 % of
  the height above and in front of it). Not refined on the photo: the ear canal's dark spot is
  a few working pixels, and the concha's shadow or hair beside it wins as often.

Profile extremes are taken against the vertical: the photo's, or the true vertical when the
camera's roll is given (`roll_degrees`). A subject facing image-left is flipped to face
image-right, measured, and flipped back, so a mirrored photo gives mirrored points exactly.

Each point's SD (photo px) combines the photo's resolution floor, the mask edge's softness, the
mask's wobble about a smooth curve (what differs between two analyses of one back), and, along
the outline, how flat the profile is at an apex (a flat back's apex is vague in height but sharp
in depth). The softness is where a soft edge sits against the skin, the same for the whole back:
it is marked as shared (`outline_sd`), so a depth between two back points (a flèche) does not
carry it. A tangent point adds to its inflection's SD only its line's slope doubt, from the
local fit's wobble (`_slope_sd`); `posture.metrics.compute` draws the two together, so an angle
between tangents doubts their slopes, not their points. Points the outline cannot support are
"not_visible" with the reason: no mask, loose clothing (the back far behind the skeleton), hair
or a collar filling the neck or lying down it (told by the photo's colours), a broken mask, a
body cut off by the photo's edge.
"""

from __future__ import annotations

import cv2
import numpy as np

from posture.landmarks.result import PoseLandmarks
from posture.landmarks.vocabulary import MIRROR_ORDER
from posture.landmarks.vocabulary import Landmark as L
from posture.outline.points import (
    SIDE_POINTS,
    STATUS_OUT_OF_FRAME,
    AnatomicalPoint,
    complete,
    found,
    missing,
)

THRESHOLD = 0.5
# Profile smoothing along the body, as a fraction of the body's height (about 1 cm on an adult):
# irons out the mask's pixel steps while keeping the neck's and the lumbar curve's shape.
SMOOTH_FRACTION = 0.006
# The tangent's second point lies this far (fraction of body height) below its inflection.
TANGENT_FRACTION = 0.05
# Window (fraction of body height, each side) for the local cubic giving a tangent's slope: it
# spans about 16 of the segmentation model's 256 output pixels (the mask's own resolution, so
# its steps average out) and stays within half of the shortest curve between two apexes (about
# 10 % of the height), where a cubic still follows the slope's peak. Drawn profiles keep their
# angle within 0.6 deg; on a real back a +/-1.2 % line fit moved by up to 1.6 deg when the photo
# was rotated or halved, this by up to 0.9 (benchmarks/outline_consistency.py).
SLOPE_FRACTION = 0.04
# An adult's upper back lies about 0.2-0.3 of the shoulder-hip landmark distance behind the
# shoulder joint centre (chest depth 20-28 cm, the joint near its middle, trunk 45-52 cm;
# anthropometric tables, e.g. NASA-STD-3000 vol. I ch. 3). Well beyond that, the outline is
# clothing, not back.
MAX_BACK_DEPTH = 0.45
# The neck's concavity is 2-4 cm deep in adults (about 1-2 % of stature); below 0.4 % the
# outline runs straight past the neck: hair or a collar fills it.
MIN_NECK_DEPTH = 0.004
# The lumbar curve of a standing adult is never flat on the skin; below 0.3 % of stature it is
# cloth hanging from the shoulder blades to the buttocks.
MIN_LUMBAR_DEPTH = 0.003
# The lumbar apex lies below this fraction of the shoulder-to-hip landmark distance.
LUMBAR_LEVEL = 0.45
# The mask's bottom under the feet should be within this fraction of body height of the lowest
# foot landmark: they sit inside the foot, above shoe soles (2-4.5 % of the height on the sample
# photos); much further, the floor or a shadow joined the mask.
MAX_SOLE_GAP = 0.08
# The pose model learnt "ear" as the ear as a whole, not its tragus: an adult ear is about 6 cm
# long (3.5 % of the stature) and the tragus lies at its front, about a quarter of that from
# its middle. SD of the ear point as a tragus, as a fraction of the body's height.
EAR_POINT_SD = 0.009
# The outline under the near heel is read this fraction of the body's height (about 3 cm)
# either side of its landmark: about the heel's half-length.
HEEL_BAND = 0.02
# The vertex and the sole: the outline within this fraction of the body's height (about 17 mm)
# of its highest (lowest) point, averaged: a single pixel slides along a flat or hairy head top
# and along a heel flat on the floor.
LEVEL_BAND = 0.01
# The head's top lies within this fraction of the body's height below the outline's top.
HEAD_FRACTION = 0.1
# Colour patches for telling the back of the neck from hair or a collar over it: half-size
# as a fraction of the body's height (about 1 cm), and how far below the head's top the hair
# is read, inside the back of the head (about 5 cm: hair, or the scalp's skin when bald).
NECK_PATCH = 0.006
HAIR_DEPTH = 0.03


def _near(lm: L, forward: int) -> L:
    """The near-side landmark: the patient's right faces the camera when facing image-right."""
    return lm if forward > 0 else L(MIRROR_ORDER[lm])


def _rotate(x: np.ndarray, y: np.ndarray, center, degrees: float):
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    dx, dy = x - center[0], y - center[1]
    return center[0] + dx * c + dy * s, center[1] - dx * s + dy * c


def _smooth(v: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.3:
        return v
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    return np.convolve(np.pad(v, r, mode="edge"), k, mode="valid")


def _crossing(p_out: np.ndarray, p_in: np.ndarray) -> np.ndarray:
    """Sub-pixel offset (0..1) from the outer pixel's centre to where probability crosses 0.5."""
    d = p_in - p_out
    return np.clip((THRESHOLD - p_out) / np.where(d > 1e-6, d, 1.0), 0.0, 1.0)


class _Profile:
    """The back's posterior edge in the analysis frame (canonical: facing +x, true vertical),
    sampled every working pixel of height."""

    def __init__(self, y: np.ndarray, x: np.ndarray, soft: np.ndarray,
                 raw: np.ndarray | None = None, one_mask: bool = False) -> None:
        self.y, self.x, self.soft = y, x, soft
        self.raw = x if raw is None else raw  # before smoothing: the mask's own wobble
        self.one_mask = one_mask  # a single detection pass's mask, not the passes' average

    def window(self, y0: float, y1: float) -> np.ndarray:
        return np.flatnonzero((self.y >= y0) & (self.y <= y1))


def side_points(mask: np.ndarray | None, scale: float, landmarks: PoseLandmarks, forward: int,
                rgb: np.ndarray | None = None, *,
                roll_degrees: float | None = None) -> dict[str, AnatomicalPoint]:
    """Every side-view anatomical point (`SIDE_POINTS`), in photo pixels, with SD and status.

    Args:
        mask: person-segmentation probability at the working size (`Detection.mask`), or None.
        scale: photo pixels per working pixel (`Photo.scale`).
        landmarks: the photo's landmarks (photo pixels).
        forward: +1 when the patient faces image +x, -1 when image -x.
        rgb: the working image, or None: its colours tell a bare neck from hair or a collar
            over it (without it the neck's outline is taken as the neck). The outline itself is
            the mask's: snapped to the photo's own edges (the strongest gradient, or the colour
            halfway between body and background, near the mask's edge) it followed a white shirt
            better but dark jeans against shadows worse, and the lordosis angle then moved by
            up to 1.2-3.4 deg under rotation, against 0.9 on the mask.
        roll_degrees: the camera's roll (counter-clockwise, degrees) when known: apexes are then
            taken against the true vertical.
    """
    if mask is None:
        return complete({}, SIDE_POINTS, "no body outline (segmentation mask) for this photo")
    try:
        return _find(np.asarray(mask, dtype=np.float32), float(scale), landmarks,
                     1 if forward >= 0 else -1, float(roll_degrees or 0.0), rgb)
    except _Unusable as exc:
        return complete({}, SIDE_POINTS, str(exc))


class _Unusable(Exception):
    """The outline as a whole cannot be used (the reason is shown per point)."""


def _find(mask: np.ndarray, scale: float, lm: PoseLandmarks, forward: int,
          roll: float, rgb: np.ndarray | None) -> dict[str, AnatomicalPoint]:
    h, w = mask.shape
    if forward < 0:  # canonical frame: facing +x; flipped back at the end
        mask = mask[:, ::-1]
        rgb = None if rgb is None else rgb[:, ::-1]
        roll = -roll
    xy = np.array(lm.xy, dtype=np.float64) / scale
    if forward < 0:
        xy[:, 0] = w - xy[:, 0]
        xy = xy[list(MIRROR_ORDER)]  # the near side is now named RIGHT
    center = (w / 2.0, h / 2.0)

    person = (mask > THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(person, connectivity=8)
    trunk = [L.RIGHT_SHOULDER, L.RIGHT_HIP]
    ids = set()
    for t in trunk:
        cx, cy = int(np.clip(xy[t, 0], 0, w - 1)), int(np.clip(xy[t, 1], 0, h - 1))
        ids.add(int(labels[cy, cx]))
    if 0 in ids or len(ids) != 1:
        raise _Unusable("the body's outline is broken (busy background or poor light): "
                        "photograph against a plain wall")
    comp = labels == ids.pop()
    prob = np.where(comp, mask, np.minimum(mask, THRESHOLD - 1e-3))

    rows = np.flatnonzero(comp.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])
    ear = xy[L.RIGHT_EAR]
    shoulder, hip, knee = xy[L.RIGHT_SHOULDER], xy[L.RIGHT_HIP], xy[L.RIGHT_KNEE]
    feet = xy[[L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX, L.LEFT_HEEL, L.LEFT_FOOT_INDEX]]
    body_h = max(float(feet[:, 1].max()) - top, 1.0)
    floor_w = lm.floor_px / scale

    out: dict[str, AnatomicalPoint] = {}
    upright: dict[str, tuple] = {}  # canonical working px, turned back to the image's frame
    # ---- vertex and sole: the top and the heel's floor contact against the true vertical
    vertex = _vertex(prob, comp, top, floor_w, body_h, center, roll)
    if isinstance(vertex, AnatomicalPoint):
        out["vertex"] = vertex
    sole = _sole(prob, comp, feet, body_h, floor_w, center, roll)
    if isinstance(sole, AnatomicalPoint):
        out["sole"] = sole

    # ---- the back's posterior edge, row by row
    r = np.arange(top, bottom + 1)
    first = np.argmax(comp[top:bottom + 1], axis=1)
    if np.any(first[(r >= ear[1]) & (r <= knee[1])] == 0):
        raise _Unusable("the back touches the photo's edge: leave space behind the patient")
    p_out = prob[r, np.maximum(first - 1, 0)]
    p_in = prob[r, first]
    edge_x = first - 0.5 + _crossing(p_out, p_in)
    soft = _softness(prob, r, first)
    ax, ay = _rotate(edge_x, r + 0.5, center, -roll)
    order = np.argsort(ay)
    ys = np.arange(np.ceil(ay.min()), np.floor(ay.max()) + 1)
    raw_x = np.interp(ys, ay[order], ax[order])
    prof_x = _smooth(raw_x, SMOOTH_FRACTION * body_h)
    prof_soft = np.interp(ys, ay[order], soft[order])
    prof = _Profile(ys, prof_x, prof_soft, raw_x, one_mask=lm.passes < 2)
    slope = np.gradient(prof.x, prof.y)  # dx/dy: + = the outline runs anterior going down

    def lv(p):  # a landmark in the analysis frame
        return np.array(_rotate(p[0], p[1], center, -roll))

    ear_a, sh_a, hip_a, knee_a = lv(ear), lv(shoulder), lv(hip), lv(knee)
    torso = max(hip_a[1] - sh_a[1], 1.0)
    sd_edge = np.hypot(floor_w, 0.3)  # + the row's softness, added per point

    def point_at(i, name, along_sd=None):
        sx = float(np.sqrt(sd_edge ** 2 + prof.soft[i] ** 2 + _wobble_var(prof, i, body_h)))
        sy = sx if along_sd is None else float(np.hypot(sx, along_sd))
        return prof.x[i], prof.y[i], sx, sy, float(prof.soft[i])

    def extreme(y0, y1, posterior: bool):
        idx = prof.window(y0, y1)
        if idx.size < 3:
            return None
        vals = prof.x[idx] if posterior else -prof.x[idx]
        k = int(np.argmin(vals))
        if k in (0, idx.size - 1):
            return None  # at the window's end: no apex inside it
        i = idx[k]
        sx = np.hypot(sd_edge, prof.soft[i])
        near = idx[vals - vals[k] <= sx]  # as deep as the apex within its SD: vague in height
        return i, float(np.ptp(prof.y[near]) / np.sqrt(12.0))

    found_pts: dict[str, tuple] = {}
    for name, res in (("vertex", vertex), ("sole", sole)):
        if not isinstance(res, AnatomicalPoint):
            found_pts[name] = res + (0.0,)  # a top or bottom edge: shares nothing with the back
    upper_back = (sh_a[1] - 0.1 * torso, sh_a[1] + 0.6 * torso)
    thor = extreme(*upper_back, posterior=True)
    # The buttock's most posterior point lies near the greater trochanter, at about the hip
    # joint's level: a wider window lets a sweater's hem or a leak into the background win.
    sac = extreme(hip_a[1] - 0.2 * torso, hip_a[1] + 0.3 * (knee_a[1] - hip_a[1]), True)
    reasons: dict[str, str] = {}
    if thor is None:
        reasons["thoracic_apex"] = ("no rounded upper back on the outline (loose clothing or "
                                    "an arm over it)")
        for name in ("lumbar_apex", "ict", "itl", "ils"):
            reasons[name] = "found from the thoracic apex: " + reasons["thoracic_apex"]
    else:
        found_pts["thoracic_apex"] = point_at(thor[0], "thoracic_apex", thor[1])
        depth = sh_a[0] - prof.x[thor[0]]
        if depth > MAX_BACK_DEPTH * torso:
            raise _Unusable("the outline lies far behind the skeleton (loose clothing, a jacket "
                            "or a bag): photograph in fitted clothing")
    if sac is None:
        reasons["sacral_point"] = "no buttock curve on the outline (hands or clothing behind?)"
        for name in ("lumbar_apex", "itl", "ils"):
            reasons.setdefault(name, "found from the sacral point: " + reasons["sacral_point"])
    else:
        found_pts["sacral_point"] = point_at(sac[0], "sacral_point", sac[1])
    if thor is not None and sac is not None:
        lum = extreme(prof.y[thor[0]] + 1, prof.y[sac[0]] - 1, posterior=False)
        if lum is None or prof.y[lum[0]] < sh_a[1] + LUMBAR_LEVEL * torso:
            # The lumbar lordosis peaks near L3, in the lower half of the trunk; a "curve"
            # higher up is a jacket's fold or an arm, not the lumbar spine.
            reasons["lumbar_apex"] = reasons["itl"] = reasons["ils"] = (
                "no lumbar curve on the outline (loose clothing?): photograph in fitted clothing")
        else:
            chord = _chord_depth(prof, thor[0], sac[0], lum[0])
            if chord < MIN_LUMBAR_DEPTH * body_h:
                reasons["lumbar_apex"] = reasons["itl"] = reasons["ils"] = (
                    "the outline hangs straight over the lower back (loose clothing): "
                    "photograph in fitted clothing")
            else:
                found_pts["lumbar_apex"] = point_at(lum[0], "lumbar_apex", lum[1])
                _tangent(prof, slope, "itl", thor[0], lum[0], 1.0, body_h, sd_edge, found_pts)
                _tangent(prof, slope, "ils", lum[0], sac[0], -1.0, body_h, sd_edge, found_pts)
    # The neck runs from the back of the head (its most posterior point anywhere above
    # mid-neck: an occiput or a hair bun can sit well above the ear) down to the upper back:
    # to the thoracic apex, else (a back hanging straight, as a loose sweater does) to the
    # upper back's most posterior point, where the neck's line has long turned into the
    # back's. C7 and the CVA need only that turn.
    below_neck = thor[0] if thor is not None else _most_posterior(prof, *upper_back)
    occ = extreme(prof.y[0], ear_a[1] + 0.5 * (sh_a[1] - ear_a[1]), True)
    cerv = None
    if occ is not None and below_neck is not None:
        cerv = extreme(prof.y[occ[0]] + 1, prof.y[below_neck] - 1, posterior=False)
    if cerv is None or _chord_depth(prof, occ[0], below_neck, cerv[0]) < MIN_NECK_DEPTH * body_h:
        neck_hidden = ("the back of the neck is hidden (hair or a collar): tie hair up, open "
                       "the collar")
    else:
        neck_hidden = _neck_covered(rgb, prof, cerv[0], xy, body_h, center, roll)
    if neck_hidden:
        for name in ("cervical_apex", "c7", "ict"):
            reasons.setdefault(name, neck_hidden)
    else:
        found_pts["cervical_apex"] = point_at(cerv[0], "cervical_apex", cerv[1])
        if thor is not None:
            _tangent(prof, slope, "ict", cerv[0], thor[0], -1.0, body_h, sd_edge, found_pts)
        # C7, where the neck turns into the back: the corner toward the thoracic apex (the
        # point farthest in front of the chord to it), unless the turn's steepest point is
        # placed more sharply: with no apex (cloth hanging straight), or a faint one the
        # neck's early turn leaves the chord no corner to find.
        corner = _corner(prof, cerv[0], thor[0], sd_edge) if thor is not None else None
        turn = _turn(prof, slope, cerv[0], below_neck)
        if corner is not None and (turn is None or corner[1] <= turn[3]):
            found_pts["c7"] = point_at(corner[0], "c7", corner[1])
        elif turn is not None:
            k, x, y, along, steep = turn
            _, _, sx, sy, shared = point_at(k, "c7")
            # vague along the turn: in height by `along`, in depth by as much times its slope
            found_pts["c7"] = (x, y, float(np.hypot(sx, steep * along)),
                               float(np.hypot(sy, along)), shared)
        else:
            reasons["c7"] = "no corner where the neck meets the upper back"

    # ---- back to the photo frame
    for name, (x, y, sx, sy, shared) in found_pts.items():
        px, py = _rotate(np.array(x), np.array(y), center, roll)
        upright[name] = (float(px), float(py), sx, sy, shared)
    for name, (x, y, sx, sy, shared) in upright.items():
        x = x if forward > 0 else w - x
        out[name] = found(name, x * scale, y * scale, sx * scale, sy * scale, shared * scale)
    ear_lm = _near(L.RIGHT_EAR, forward)
    if lm.visibility[ear_lm] < 0.5:
        out["tragus"] = missing("tragus", "the ear is not visible enough")
    else:
        # The passes agree on the ear point to a pixel or two, but that point is the model's
        # "ear", not the tragus: its SD says how far apart the two may be.
        sd = np.sqrt(lm.floor_px ** 2 + _pass_sd(lm, ear_lm) ** 2
                     + (EAR_POINT_SD * body_h * scale) ** 2)
        out["tragus"] = found("tragus", lm.xy[ear_lm][0], lm.xy[ear_lm][1], float(sd))
    for name, why in reasons.items():
        out.setdefault(name, missing(name, why))
    for name in ("ict", "itl", "ils"):
        if name in reasons and name + "_tangent" not in out:
            out[name + "_tangent"] = missing(name + "_tangent", reasons[name])
    return complete(out, SIDE_POINTS, "not found on the outline")


def _pass_sd(lm: PoseLandmarks, i: int) -> float:
    if lm.passes < 2:
        return 0.0
    p = lm.pass_xy[:, i]
    p = p[np.isfinite(p).all(axis=1)]
    return float(np.max(np.std(p, axis=0, ddof=1)) / np.sqrt(len(p))) if len(p) > 1 else 0.0


def _softness(prob: np.ndarray, r: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per row, an SD (working px) for the edge from the width of the mask's 0.1-0.9 ramp
    (per column, for a top or bottom edge: pass `prob.T`)."""
    w = prob.shape[1]
    cols = np.clip(first[:, None] + np.arange(-6, 7)[None, :], 0, w - 1)
    vals = prob[r[:, None], cols]
    return ((vals > 0.1) & (vals < 0.9)).sum(axis=1) / 4.0


def _most_posterior(prof: _Profile, y0: float, y1: float) -> int | None:
    """The profile's most posterior sample between heights y0 and y1, ends included."""
    idx = prof.window(y0, y1)
    return int(idx[np.argmin(prof.x[idx])]) if idx.size >= 3 else None


def _neck_covered(rgb, prof: _Profile, i: int, xy: np.ndarray, body_h: float, center,
                  roll: float) -> str:
    """Why the outline behind the neck's deepest point (profile index i) is not the neck
    ("" when it is): the colour just inside it is compared with the same photo's skin (the
    cheek, between the near ear and mouth corner), hair (inside the back of the head) and
    clothing (inside the upper back); unless the skin's is nearest (CIELAB distance), the
    neck is covered. Without the photo: "".

    A neck's outline alone cannot tell skin from hair falling over it or a hood: all curve
    the same way. A beard reads as hair: the neck is then called covered, never guessed."""
    if rgb is None:
        return ""
    r = max(2.0, NECK_PATCH * body_h)

    def colour(x, y):  # analysis frame -> median Lab of a box around it in the photo
        px, py = _rotate(np.array(x), np.array(y), center, roll)
        h, w = rgb.shape[:2]
        x0, x1 = int(np.clip(px - r, 0, w - 1)), int(np.clip(px + r + 1, 1, w))
        y0, y1 = int(np.clip(py - r, 0, h - 1)), int(np.clip(py + r + 1, 1, h))
        box = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        lab = cv2.cvtColor(box, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
        return np.median(lab, axis=0)

    def inside(y):  # just inside the back's outline at height y
        k = int(np.clip(np.searchsorted(prof.y, y), 0, prof.y.size - 1))
        return colour(prof.x[k] + 2 * r, prof.y[k])

    cheek = np.mean([_rotate(*xy[L.RIGHT_EAR], center, -roll),
                     _rotate(*xy[L.MOUTH_RIGHT], center, -roll)], axis=0)
    shoulder_y = _rotate(*xy[L.RIGHT_SHOULDER], center, -roll)[1]
    nape = inside(prof.y[i])
    distance = {kind: float(np.linalg.norm(nape - ref)) for kind, ref in (
        ("skin", colour(*cheek)),
        ("hair", inside(prof.y[0] + HAIR_DEPTH * body_h)),
        ("clothing", inside(shoulder_y + 0.1 * body_h)))}  # a hand's breadth below the shoulder
    if min(distance, key=distance.get) == "skin":
        return ""
    return ("the back of the neck is not bare (hair, a collar or a hood over it): tie hair up, "
            "open the collar")


def _chord_depth(prof: _Profile, i0: int, i1: int, k: int) -> float:
    """How far point k lies anterior (+x) of the chord from i0 to i1."""
    y0, y1 = prof.y[i0], prof.y[i1]
    t = (prof.y[k] - y0) / max(y1 - y0, 1e-9)
    return float(prof.x[k] - (prof.x[i0] + t * (prof.x[i1] - prof.x[i0])))


def _corner(prof: _Profile, i0: int, i1: int, sd_edge: float):
    """The point between i0 and i1 farthest anterior of their chord, and its SD along y."""
    idx = np.arange(i0, i1 + 1)
    dx, dy = prof.x[i1] - prof.x[i0], prof.y[i1] - prof.y[i0]
    norm = np.hypot(dx, dy)
    if norm <= 0:
        return None
    # perpendicular distance, positive on the anterior (+x) side of the downward chord
    d = ((prof.x[idx] - prof.x[i0]) * dy - (prof.y[idx] - prof.y[i0]) * dx) / norm
    k = int(np.argmax(d))
    if k in (0, idx.size - 1) or d[k] <= sd_edge:
        return None
    near = idx[d[k] - d <= np.hypot(sd_edge, prof.soft[idx[k]])]
    return int(idx[k]), float(np.ptp(prof.y[near]) / np.sqrt(12.0))


def _turn(prof: _Profile, slope: np.ndarray, i0: int, i1: int):
    """C7: where the neck turns into the back, the profile's steepest posterior-going point
    below the neck's deepest point i0 and above the upper back's i1 (a drawn corner or the
    middle of a rounded turn), refined between samples: (profile index, x, y, SD in height,
    steepness), analysis-frame px, or None. In height it is as vague as the run from the
    neck's deepest point: the outline shows the turn, not the spinous process."""
    if i1 - i0 < 3:
        return None
    idx = np.arange(i0 + 1, i1)
    k = int(idx[np.argmin(slope[idx])])
    if k in (idx[0], idx[-1]) or slope[k] >= 0:
        return None
    a, b, c = slope[k - 1], slope[k], slope[k + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c > 0 else 0.0
    y = float(np.interp(k + shift, np.arange(prof.y.size), prof.y))
    x = float(np.interp(k + shift, np.arange(prof.y.size), prof.x))
    return k, x, y, float(np.ptp(prof.y[[i0, k]]) / np.sqrt(12.0)), float(-b)


def _tangent(prof, slope, name, i0, i1, sign, body_h, sd_edge, out) -> None:
    """The inflection between profile indices i0 and i1 (steepest slope, anterior-going for
    sign +1, posterior-going for -1) and its tangent point TANGENT_FRACTION of the body's
    height below.

    A cubic x(y) is fitted over SLOPE_FRACTION of the body's height each side of the
    steepest sample (within the two apexes) and recentred on its own steepest point: the
    slope there is stationary, so the profile's pixel steps and which sample was steepest
    barely move it, where a line through a few samples turned with both. The tangent point's
    SD grows with the slope's."""
    if i1 - i0 < 3:
        return
    idx = np.arange(i0 + 1, i1)
    i = int(idx[np.argmax(sign * slope[idx])])
    half = max(3, int(round(SLOPE_FRACTION * body_h)))
    for _ in range(3):
        win = np.arange(max(i - half, i0), min(i + half, i1) + 1)
        y_mid = prof.y[i]
        yy = prof.y[win] - y_mid
        poly = np.polyfit(yy, prof.x[win], min(3, win.size - 2))
        # the fitted curve's steepest point in the window's middle half
        reach = 0.5 * min(-yy[0], yy[-1])
        grid = np.linspace(-reach, reach, 2 * int(np.ceil(reach * 10)) + 1)
        y_inf = float(grid[np.argmax(sign * np.polyval(np.polyder(poly), grid))])
        i_next = int(np.clip(np.searchsorted(prof.y, y_mid + y_inf), i0 + 1, i1 - 1))
        if i_next == i:
            break
        i = i_next
    x = float(np.polyval(poly, y_inf))
    b = float(np.polyval(np.polyder(poly), y_inf))
    sx = float(np.hypot(sd_edge, prof.soft[i]))
    slope_sd = _slope_sd(yy, prof.raw[win], poly, y_inf, sd_edge, prof.one_mask)
    d = TANGENT_FRACTION * body_h
    out[name] = (x, y_mid + y_inf, sx, sx, float(prof.soft[i]))
    # The tangent point shares its inflection's error (one fit places both) and adds its own
    # only across the line, the slope's: `posture.metrics.compute` draws it so.
    out[name + "_tangent"] = (x + b * d, y_mid + y_inf + d, float(np.hypot(sx, d * slope_sd)),
                              sx, float(prof.soft[i]))


def _slope_sd(yy: np.ndarray, xx: np.ndarray, poly: np.ndarray, at: float,
              sd_edge: float, one_mask: bool = False) -> float:
    """SD of the slope dx/dy of the cubic `poly` fitted to (yy, xx), at yy = `at`.

    Two sources, as least squares propagates them to the slope: the profile's wobble around
    the cubic (its residuals; where the mask differs between two analyses of one back), whose
    neighbouring samples are not independent: each counts as many samples as the residuals'
    correlation length, at least the smoothing's own (2 sqrt(pi) sigma samples for a Gaussian);
    and the edge's resolution floor, independent from row to row."""
    half = max(float(np.max(np.abs(yy))), 1e-9)  # scaled to +/-1: a well-conditioned design
    u = yy / half
    deg = len(poly) - 1
    design = np.vander(u, deg + 1)
    # The wobble: what a smooth curve with two more terms than the cubic does not follow (the
    # cubic's own misfit is the same in every analysis of the back: not doubt).
    extra = min(deg + 2, yy.size - 2)
    resid = xx - np.vander(u, extra + 1) @ np.linalg.lstsq(np.vander(u, extra + 1), xx,
                                                           rcond=None)[0]
    dof = max(yy.size - extra - 1, 1)
    # d(slope)/d(coefficient) of the scaled polynomial at `at`
    powers = np.arange(deg, -1, -1)
    grad = powers * (at / half) ** np.maximum(powers - 1, 0) / half
    gain = float(grad @ np.linalg.pinv(design.T @ design) @ grad)
    corr = yy.size if one_mask else _correlation_length(resid)
    wobble = float(resid @ resid) / dof * min(corr, yy.size)
    return float(np.sqrt(max(gain, 0.0) * (wobble + sd_edge ** 2)))


def _wobble_var(prof: _Profile, i: int, body_h: float) -> float:
    """Variance (working px^2) of the smoothed profile's depth at index i from the mask's
    wobble around it: the raw edge's scatter about a smooth curve over the tangents' window,
    averaged by the smoothing over as many independent pieces as its correlation allows (a
    single pass's mask: none, as for a tangent's slope)."""
    half = max(3, int(round(SLOPE_FRACTION * body_h)))
    win = np.arange(max(i - half, 0), min(i + half, prof.y.size - 1) + 1)
    if win.size < 8:
        return 0.0
    u = (prof.y[win] - prof.y[i]) / half
    design = np.vander(u, 6)  # a quintic, as for the slope's wobble
    resid = prof.raw[win] - design @ np.linalg.lstsq(design, prof.raw[win], rcond=None)[0]
    var = float(resid @ resid) / max(win.size - 6, 1)
    corr = win.size if prof.one_mask else _correlation_length(resid)
    kernel = 2.0 * np.sqrt(np.pi) * SMOOTH_FRACTION * body_h  # samples the smoothing averages
    return var * min(1.0, corr / max(kernel, 1.0))


def _correlation_length(r: np.ndarray) -> float:
    """How many neighbouring samples of r move together: 1 + 2 x the sum of its
    autocorrelations up to the first that is not positive (white noise: 1)."""
    var = float(r @ r)
    if var <= 0 or r.size < 3:
        return 1.0
    total = 1.0
    for lag in range(1, r.size // 2):
        rho = float(r[:-lag] @ r[lag:]) / var
        if rho <= 0:
            break
        total += 2.0 * rho
    return total


def _vertex(prob: np.ndarray, comp: np.ndarray, top: int, floor_w: float, body_h: float,
            center, roll: float):
    """The top of the head against the vertical (the true one when the roll is given): every
    column's sub-pixel top, turned into the analysis frame; the vertex is the mean position of
    the outline within LEVEL_BAND of the body's height below the highest point (a flat or
    hair-covered head top gives a vague x, said by its SD). Canonical working px (x, y, sd_x,
    sd_y), or a point that is not found."""
    if top == 0:
        return missing("vertex", "the head touches the top of the photo", STATUS_OUT_OF_FRAME)
    head = comp[top:top + max(2, int(HEAD_FRACTION * body_h))]
    cols = np.flatnonzero(head.any(axis=0))
    rows = top + np.argmax(head[:, cols], axis=0)
    sub = rows - 0.5 + _crossing(prob[rows - 1, cols], prob[rows, cols])
    ax, ay = _rotate(cols + 0.5, sub, center, -roll)
    y = float(ay.min())
    near = ay <= y + max(LEVEL_BAND * body_h, 0.5)
    x = float(np.mean(ax[near]))
    top_col = int(np.argmin(ay))  # the edge's softness there (hair, a dark background)
    sd = float(np.hypot(np.hypot(floor_w, 0.3),
                        _softness(prob.T, cols[top_col:top_col + 1], rows[top_col:top_col + 1])[0]))
    return x, y, float(max(sd, np.ptp(ax[near]) / np.sqrt(12.0))), sd


def _sole(prob, comp, feet, body_h, floor_w, center, roll) -> AnatomicalPoint:
    """Where the near foot's heel meets the floor: the outline's bottom on the vertical (the
    true one when the roll is given) through the near heel landmark (`feet[0]`). Not the
    outline's lowest point under the feet: a foot turned toward the camera slopes down to its
    toe in the photo, 2-4 % of the height below the floor under the body on the sample side
    photos, while the heels stand in the body's own plane."""
    h, w = comp.shape
    heel_x = feet[0, 0]
    x0 = int(np.clip(np.floor(heel_x - HEEL_BAND * body_h), 0, w - 1))
    x1 = int(np.clip(np.ceil(heel_x + HEEL_BAND * body_h), 0, w - 1)) + 1
    cols = x0 + np.flatnonzero(comp[:, x0:x1].any(axis=0))
    if cols.size < 2:
        return missing("sole", "the feet are not on the outline")
    bottoms = h - 1 - np.argmax(comp[::-1, cols], axis=0)
    if bottoms.max() >= h - 1:
        return missing("sole", "the feet touch the bottom of the photo", STATUS_OUT_OF_FRAME)
    sub = bottoms + 0.5 + _crossing(prob[bottoms + 1, cols], prob[bottoms, cols])
    if sub.max() - feet[:, 1].max() > MAX_SOLE_GAP * body_h:
        return missing("sole", "the floor or a shadow joins the feet on the outline")
    ax, ay = _rotate(cols + 0.5, sub, center, -roll)
    hx, _ = _rotate(heel_x, feet[0, 1], center, -roll)
    order = np.argsort(ax)
    if not ax[order[0]] <= hx <= ax[order[-1]]:
        return missing("sole", "no outline under the heel")
    y = float(np.interp(hx, ax[order], ay[order]))
    j = int(np.argmin(np.abs(cols + 0.5 - heel_x)))  # the edge's softness under the heel
    sd = float(np.hypot(np.hypot(floor_w, 0.3),
                        _softness(prob.T, cols[j:j + 1], bottoms[j:j + 1])[0]))
    # The heel landmark lies somewhere over the heel's length, not at its floor contact: the
    # point is vague along the floor by that much, and so in height where the sole slopes.
    along = HEEL_BAND * body_h / np.sqrt(3.0)
    k = int(np.clip(np.searchsorted(ax[order], hx), 0, ax.size - 1))
    slope = float(np.gradient(ay[order], ax[order])[k])
    slope = slope if np.isfinite(slope) else 0.0  # two columns turned onto one x
    return float(hx), y, float(np.hypot(sd, along)), float(np.hypot(sd, slope * along))
