"""The levels chain: every bilateral level of a front (or back) photo from the floor up, and
what a clinician reads off it (where an asymmetry starts, whether the shoulders compensate the
pelvis, a pelvis shifted under a centred head).

Pure interpretation of metric results: no geometry of its own. A level counts as tilted only
when its metric is flagged outside (or at the edge of) its reference range, so what "tilted"
means is the clinic's reference-range file, not a constant here. Observations are
observations, not a diagnosis: knee and ankle levels are a leg-length proxy (standing leg
length needs a tape measure or a radiograph), and the words say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from posture.metrics.compute import STATUS_OK, MetricResult

# Floor up: (level, the tilt metric that measures it). A level whose metric is absent from the
# results (an older analysis) is left out, and so is an outline level whose points were not
# found; a joint-centre level not measured is kept, said "not measured".
LEVELS = (
    ("ankles", "ankle_tilt"),
    ("knees", "knee_tilt"),
    ("hips", "pelvic_obliquity"),
    ("trochanters", "trochanter_tilt"),
    ("waist", "waist_tilt"),
    ("acromions", "shoulder_tilt_acromion"),
    ("shoulders", "shoulder_tilt"),
    ("ears", "head_tilt"),
    ("eyes", "eye_tilt"),
)
LEG_LEVELS = ("ankles", "knees")
OUTLINE_LEVELS = ("trochanters", "waist", "acromions")
PELVIS_LEVELS = ("trochanters", "hips")
SHOULDER_LEVELS = ("acromions", "shoulders")
HEAD_LEVELS = ("ears", "eyes")

# Flags that make a level worth a word: outside its range, or at its edge within the
# uncertainty ("borderline").
NOTABLE_FLAGS = ("outside", "borderline")


@dataclass(frozen=True)
class ChainLevel:
    """One level of the chain. value: its tilt in deg, positive = the patient's left higher."""

    level: str
    metric: str
    value: float | None
    uncertainty: float | None
    flag: str
    manual: bool = False

    @property
    def measured(self) -> bool:
        return self.value is not None

    @property
    def higher(self) -> str:
        """ "left" or "right" (the patient's side higher), "level", or "" if not measured."""
        if self.value is None:
            return ""
        if round(self.value, 1) == 0:
            return "level"
        return "left" if self.value > 0 else "right"

    @property
    def tilted(self) -> bool:
        return self.measured and self.flag in NOTABLE_FLAGS and self.higher in ("left", "right")


@dataclass(frozen=True)
class LevelsChain:
    levels: tuple[ChainLevel, ...]         # floor up
    observations: tuple[str, ...]          # plain sentences, most telling first

    def level(self, name: str) -> ChainLevel | None:
        return next((lv for lv in self.levels if lv.level == name), None)


def _first(levels: dict[str, ChainLevel], names: tuple[str, ...]) -> ChainLevel | None:
    """The first measured level among names (the anatomical point's line before the joint
    centre's, when both are there: SAPO measures at the acromion and trochanter)."""
    for name in names:
        lv = levels.get(name)
        if lv is not None and lv.measured:
            return lv
    return None


def levels_chain(metrics: Iterable[MetricResult]) -> LevelsChain:
    """The chain from a front (or back) photo's metric results (other views' are ignored)."""
    by_id = {m.metric: m for m in metrics if m.view == "front"}
    levels = []
    for level, metric_id in LEVELS:
        m = by_id.get(metric_id)
        if m is None:
            continue
        ok = m.status == STATUS_OK and m.value is not None
        if not ok and level in OUTLINE_LEVELS:
            continue  # shown where the outline provides them; the joint levels always
        levels.append(ChainLevel(level, metric_id, m.value if ok else None,
                                 m.uncertainty if ok else None, m.flag if ok else "",
                                 m.manual))
    return LevelsChain(tuple(levels), tuple(_observations(levels, by_id)))


def _observations(levels: list[ChainLevel], by_id: dict[str, MetricResult]) -> list[str]:
    by_name = {lv.level: lv for lv in levels}
    measured = [lv for lv in levels if lv.measured]
    if not measured:
        return ["No level could be measured on this photo."]
    out = []
    tilted = [lv for lv in measured if lv.tilted]
    if not tilted:
        out.append("Every measured level is within its reference range, from the "
                   f"{measured[0].level} to the {measured[-1].level}.")
    else:
        out.append(_where_it_starts(measured, tilted[0]))
    pelvis, shoulders = _first(by_name, PELVIS_LEVELS), _first(by_name, SHOULDER_LEVELS)
    if pelvis and shoulders and pelvis.tilted and shoulders.tilted:
        if pelvis.higher != shoulders.higher:
            out.append(f"Pelvis ({pelvis.higher} side higher) and shoulders "
                       f"({shoulders.higher} side higher) tilt opposite ways: the shoulders "
                       "compensate the pelvis.")
        else:
            out.append(f"Pelvis and shoulders both higher on the {pelvis.higher}: the trunk "
                       "follows the pelvis without compensating.")
    head = _first(by_name, HEAD_LEVELS)
    if shoulders and head and shoulders.tilted and not head.tilted:
        out.append(f"The head is held level above shoulders higher on the {shoulders.higher}.")
    elif shoulders and head and shoulders.tilted and head.tilted \
            and head.higher != shoulders.higher:
        out.append("The head tilts against the shoulders.")
    out.extend(_shifts(by_id))
    if any(lv.tilted for lv in measured if lv.level in LEG_LEVELS):
        out.append("Knee and ankle levels are a leg-length proxy only: standing leg length "
                   "needs a tape measure or a radiograph.")
    return out


def _where_it_starts(measured: list[ChainLevel], first: ChainLevel) -> str:
    below = [lv.level for lv in measured if measured.index(lv) < measured.index(first)]
    if first.level in LEG_LEVELS:
        return (f"The asymmetry starts at the {first.level}: {first.higher} side higher "
                "(a leg-length proxy).")
    if below:
        legs = "Legs level" if below[-1] in LEG_LEVELS else "Level"
        return (f"{legs} from the {below[0]} to the {below[-1]}; {first.level} "
                f"{first.higher} side higher: the asymmetry starts above the {below[-1]}.")
    return f"The lowest measured level, the {first.level}, is higher on the {first.higher}."


def _shifts(by_id: dict[str, MetricResult]) -> list[str]:
    """A pelvis shifted over the feet while the head stays centred (or the reverse)."""
    pelvis = by_id.get("pelvic_lateral_shift_pct")
    head = by_id.get("head_lateral_shift_pct")
    if pelvis is None or pelvis.value is None or pelvis.status != STATUS_OK:
        return []
    if pelvis.flag not in NOTABLE_FLAGS:
        return []
    side = "left" if pelvis.value > 0 else "right"
    text = f"The pelvis is shifted to the patient's {side} of the feet"
    if head is not None and head.status == STATUS_OK and head.flag == "within":
        return [text + " under a centred head."]
    return [text + "."]
