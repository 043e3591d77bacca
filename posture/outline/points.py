"""Anatomical points: the contract between the outline finders, the metrics and the faces.

A point is where the outline (or a clinician's click) puts an anatomical structure, in the
same frame as `PoseLandmarks.xy`: photo pixels, x right, y down. Every point of a view is
always reported, with a status: "ok", or "not_visible" / "out_of_frame" with a reason in
words a clinician can act on. Never a silent guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

STATUS_OK = "ok"
STATUS_NOT_VISIBLE = "not_visible"
STATUS_OUT_OF_FRAME = "out_of_frame"
STATUSES = (STATUS_OK, STATUS_NOT_VISIBLE, STATUS_OUT_OF_FRAME)

#: Side view, found on the back's outline (`posture.outline.side`). The inflection points
#: (cervico-thoracic, thoraco-lumbar, lumbo-sacral) carry a second point along their tangent
#: (`*_tangent`, 5 % of the body's height below), so a tangent is a line between two points.
SIDE_POINTS = (
    "vertex", "tragus", "cervical_apex", "c7", "thoracic_apex", "lumbar_apex",
    "sacral_point", "sole", "ict", "ict_tangent", "itl", "itl_tangent", "ils", "ils_tangent",
)
#: Front or back view, patient's sides (`posture.outline.frontal`). `waist_arm_*`: the arm's
#: inner edge level with the waist, the far side of the waist triangle (the gap between arm
#: and trunk).
FRONT_POINTS = (
    "acromion_left", "acromion_right", "waist_left", "waist_right",
    "trochanter_left", "trochanter_right", "waist_arm_left", "waist_arm_right",
)
#: No outline shows them: placed by hand only (palpated and marked on the skin).
MANUAL_POINTS = ("asis_left", "asis_right", "psis_left", "psis_right")

ALL_POINTS = SIDE_POINTS + FRONT_POINTS + MANUAL_POINTS


@dataclass(frozen=True)
class AnatomicalPoint:
    """One anatomical point of one photo.

    Attributes:
        name: one of ALL_POINTS, e.g. "c7".
        x, y: photo pixels (the frame of PoseLandmarks.xy); None unless status is "ok".
        uncertainty_px: one SD of the position, photo pixels (the larger of the two axes when
            `uncertainty_xy` is given).
        status: "ok" | "not_visible" | "out_of_frame".
        reason: why not visible, in words a clinician understands ("" when ok).
        manual: placed by hand.
        uncertainty_xy: one SD along x and along y separately, photo pixels, when they differ
            (an apex is sharp across the outline and vague along it); None: both are
            `uncertainty_px`.
        outline_sd: the part of the x SD (photo pixels) that every point of the same outline
            shares: where a soft mask edge sits against the skin, the whole back takes it
            together, so a depth between two of its points does not carry it (0: nothing
            shared).
    """

    name: str
    x: float | None
    y: float | None
    uncertainty_px: float | None
    status: str
    reason: str = ""
    manual: bool = False
    uncertainty_xy: tuple[float, float] | None = None
    outline_sd: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in ALL_POINTS:
            raise ValueError(f"unknown anatomical point {self.name!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown point status {self.status!r}")
        if self.status == STATUS_OK and not (
                self.x is not None and self.y is not None
                and math.isfinite(self.x) and math.isfinite(self.y)):
            raise ValueError(f"point {self.name} is ok but has no finite position")

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    @property
    def sd_xy(self) -> tuple[float, float]:
        """SD along x and y, photo pixels (0 when unknown)."""
        if self.uncertainty_xy is not None:
            return self.uncertainty_xy
        u = self.uncertainty_px or 0.0
        return (u, u)

    def label(self) -> str:
        return self.name.replace("_", " ")

    def moved(self, x: float, y: float) -> AnatomicalPoint:
        """Placed by hand at (x, y) photo pixels: ok, manual, no detection uncertainty."""
        return replace(self, x=float(x), y=float(y), uncertainty_px=0.0, status=STATUS_OK,
                       reason="", manual=True, uncertainty_xy=None, outline_sd=0.0)


def found(name: str, x: float, y: float, sd_x: float, sd_y: float | None = None,
          outline_sd: float = 0.0) -> AnatomicalPoint:
    """An ok point with its SD (photo pixels), per axis when sd_y is given; outline_sd: the
    part of sd_x shared with the rest of its outline."""
    sd_y = sd_x if sd_y is None else sd_y
    return AnatomicalPoint(name, float(x), float(y), float(max(sd_x, sd_y)), STATUS_OK,
                           uncertainty_xy=None if sd_y == sd_x else (float(sd_x), float(sd_y)),
                           outline_sd=float(min(outline_sd, sd_x)))


def missing(name: str, reason: str, status: str = STATUS_NOT_VISIBLE) -> AnatomicalPoint:
    """A point not located, with the reason."""
    return AnatomicalPoint(name, None, None, None, status, reason)


def complete(points: Mapping[str, AnatomicalPoint], names: tuple[str, ...],
             reason: str) -> dict[str, AnatomicalPoint]:
    """Every name of `names`: the given point, or `missing(name, reason)`."""
    return {n: points[n] if n in points else missing(n, reason) for n in names}


class PointMap(Mapping):
    """A read-only name -> AnatomicalPoint mapping: what `PhotoAnalysis.anatomical_points`
    holds. Unlike `types.MappingProxyType` it pickles (the store's crash test and batch workers
    pickle assessments)."""

    __slots__ = ("_points",)

    def __init__(self, points: Mapping[str, AnatomicalPoint] | None = None) -> None:
        object.__setattr__(self, "_points", dict(points or {}))

    def __getitem__(self, name: str) -> AnatomicalPoint:
        return self._points[name]

    def __iter__(self):
        return iter(self._points)

    def __len__(self) -> int:
        return len(self._points)

    def __setattr__(self, name, value):
        raise AttributeError("PointMap is read-only")

    def __reduce__(self):
        return (PointMap, (self._points,))

    def __repr__(self) -> str:
        return f"PointMap({self._points!r})"
