"""CSV and JSON exports of an assessment. They read its tidy rows; nothing is recomputed.

CSV cells: text that a spreadsheet would run as a formula (starting with = + - @, tab or CR)
is prefixed with an apostrophe (OWASP's CSV-injection advice); numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections.abc import Iterable, Sequence
from typing import IO

import numpy as np

from posture.assessment import TABLE_COLUMNS, Assessment, PhotoAnalysis
from posture.landmarks.vocabulary import Landmark
from posture.numbers import finite

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell that no spreadsheet will evaluate. Non-text values pass through unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if value is None:
        return ""
    return value


def write_csv(rows: Iterable[dict], fp: IO[str], columns: Sequence[str] = TABLE_COLUMNS,
              header: bool = True) -> None:
    """Write rows (dicts) as CSV with the given columns, formula-safe."""
    writer = csv.DictWriter(fp, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(row.get(k)) for k in columns})


def csv_text(rows: Iterable[dict], columns: Sequence[str] = TABLE_COLUMNS) -> str:
    buf = io.StringIO()
    write_csv(rows, buf, columns)
    return buf.getvalue()


def _spread(pass_xy: np.ndarray) -> np.ndarray | None:
    """Per landmark, the larger of the x and y SDs over the passes that found it (px); NaN
    where fewer than two did. A failed pass is a NaN row: it is left out, never averaged."""
    found = np.isfinite(pass_xy).all(axis=2)              # (P, 33)
    if pass_xy.shape[0] < 2 or found.sum(axis=0).max(initial=0) < 2:
        return None
    with warnings.catch_warnings():                       # all-NaN columns: NaN, said below
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanstd(pass_xy, axis=0).max(axis=1)
    return np.where(found.sum(axis=0) >= 2, spread, np.nan)


def _point(pt) -> list | None:
    xy = [finite(c, 2) for c in pt]
    return None if None in xy else xy


def _photo_json(p: PhotoAnalysis) -> dict:
    """One photo. Every number is finite or null (JSON has no NaN): a detection pass that
    failed, or a landmark no pass found, is null, not an error."""
    lm = p.landmarks
    spread = _spread(lm.pass_xy)
    return {
        "slot": p.slot,
        # The slot it was given in, when analyze() filed it by the view it shows; else null.
        "given_as": p.given_as or None,
        "image": p.name,
        "view": p.view.view,
        "facing": p.view.facing,
        "image_size": list(lm.image_size),
        "passes": lm.passes,
        "passes_found": int(np.isfinite(lm.pass_xy).any(axis=(1, 2)).sum()),
        "body_extent_px": {"top": finite(p.extent.top, 1), "bottom": finite(p.extent.bottom, 1),
                           "method": p.extent.method},
        "cm_per_px": finite(p.cm_per_px),
        "camera_roll": None if p.roll is None else {
            "degrees": finite(p.roll.degrees), "confidence": finite(p.roll.confidence, 3),
            "method": p.roll.method, "reason": p.roll.reason,
            "applied": finite(p.roll_applied),
            "points": None if p.roll.points is None else [_point(pt) for pt in p.roll.points],
            "pitch": finite(p.roll.pitch),
        },
        "findings": [{"code": f.code, "message": f.message} for f in p.findings],
        # The outline's anatomical points (posture.outline), hand-placed ones marked manual.
        "anatomical_points": [
            {
                "name": q.name, "status": q.status, "reason": q.reason, "manual": q.manual,
                "x": None if q.x is None else round(q.x, 2),
                "y": None if q.y is None else round(q.y, 2),
                "uncertainty_px": None if q.uncertainty_px is None else round(q.uncertainty_px, 2),
                "uncertainty_xy_px": None if q.uncertainty_xy is None else [
                    round(v, 2) for v in q.uncertainty_xy],
            }
            for q in p.anatomical_points.values()
        ],
        "landmarks": [
            {
                "name": Landmark(i).name.lower(),
                "x": finite(lm.xy[i, 0], 2), "y": finite(lm.xy[i, 1], 2),
                "z": finite(lm.z[i], 2), "visibility": finite(lm.visibility[i], 3),
                "spread_px": None if spread is None else finite(spread[i], 2),
                "manual": Landmark(i) in lm.manual,
            }
            for i in range(len(Landmark))
        ],
    }


def assessment_json(a: Assessment) -> dict:
    """The full result: options, the visit's findings (combined ones included), every photo
    with its slot and landmarks (photo pixels), and the tidy rows: each photo's, then the
    measures of two photos (slots "sides", "left-right", "front-back")."""
    return {
        "subject": a.subject,
        "analysed_at": a.analysed_at,
        "posture_version": a.posture_version,
        "options": {"passes": a.options.passes, "height_cm": a.options.height_cm,
                    "correct_camera_roll": a.options.correct_camera_roll},
        "findings": [{"code": f.code, "message": f.message}
                     for f in a.findings + a.combined_findings],
        "photos": [_photo_json(p) for p in a.photos],
        "metrics": a.rows(),
    }


def json_text(a: Assessment) -> str:
    return json.dumps(assessment_json(a), indent=2, allow_nan=False)
