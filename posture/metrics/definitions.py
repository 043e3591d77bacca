"""The metric table: every measure is one row of data; `posture.metrics.compute` interprets it.

Definitions, signs and caveats follow `METRICS.md` (shared clinical reference, summarized in
README.md). Side-view rows name the patient's RIGHT landmarks: a patient facing image-right shows
the right side to the camera; facing image-left, the rows are read with left and right swapped,
so the near (visible) side is always the one measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from posture.landmarks.vocabulary import Landmark as L
from posture.outline.points import ALL_POINTS

# A point is a landmark, the midpoint of two, or an anatomical point by name
# (`posture.outline.points.ALL_POINTS`: "c7", "thoracic_apex", ...; checked when a row is made,
# so a typo fails at import, never as a silent NaN).
Point = Union[L, tuple[L, L], str]

EARS = (L.LEFT_EAR, L.RIGHT_EAR)
SHOULDERS = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
HIPS = (L.LEFT_HIP, L.RIGHT_HIP)
ANKLES = (L.LEFT_ANKLE, L.RIGHT_ANKLE)
KNEES = (L.LEFT_KNEE, L.RIGHT_KNEE)
EYES = (L.LEFT_EYE, L.RIGHT_EYE)

LEG_LENGTH_PROXY = ("A leg-length proxy only: standing leg length needs a tape measure or a "
                    "radiograph.")

DEG, LENGTH, PERCENT = "deg", "length", "%"


@dataclass(frozen=True)
class MetricDef:
    """One measure.

    Attributes:
        id: stable identifier used in CSV, JSON, the database and reference-range files.
        label: human name.
        view: "front" (front or back photo) or "side".
        formula: name of the geometry rule in `posture.metrics.compute.FORMULAS`.
        points: the formula's arguments, in order.
        unit: DEG, LENGTH (reported in cm with a scale, else px) or PERCENT.
        positive / negative: what a positive / negative value means, in words.
        per: for PERCENT metrics, the body length (two points) the offset is divided by.
        note: caveat shown with the metric.
        neutral: the value at which neither `positive` nor `negative` words apply.
        face: needs the face (front photos only; a back photo's face landmarks are guessed).

    A metric using anatomical points is "not_visible" (with the point's reason) when one of
    them is not ok; its uncertainty comes from the points' `uncertainty_px`.
    """

    id: str
    label: str
    view: str
    formula: str
    points: tuple[Point, ...]
    unit: str
    positive: str
    negative: str
    per: tuple[Point, Point] | None = None
    note: str = ""
    neutral: float = 0.0
    face: bool = False

    def __post_init__(self) -> None:
        for p in self.points + (self.per or ()):
            if isinstance(p, str) and p not in ALL_POINTS:
                raise ValueError(f"metric {self.id}: unknown anatomical point {p!r}")

    def landmarks(self) -> frozenset[L]:
        """Every landmark the metric needs (before near-side swapping)."""
        out: set[L] = set()
        for p in self.points + (self.per or ()):
            if not isinstance(p, str):
                out.update(p if isinstance(p, tuple) else (p,))
        return frozenset(out)

    def anatomical(self) -> tuple[str, ...]:
        """The anatomical points the metric needs, by name, in order of first use."""
        return tuple(dict.fromkeys(p for p in self.points + (self.per or ())
                                   if isinstance(p, str)))


METRICS: tuple[MetricDef, ...] = (
    # ---- front (or back) view: patient's frame, positive = patient's left higher / toward left
    MetricDef("head_tilt", "Head tilt", "front", "tilt", EARS, DEG,
              "left ear higher", "right ear higher"),
    MetricDef("shoulder_tilt", "Shoulder tilt (joint centres)", "front", "tilt", SHOULDERS, DEG,
              "left shoulder higher", "right shoulder higher",
              note="Shoulder landmark is near the glenohumeral joint, not the acromion."),
    MetricDef("shoulder_height_diff", "Shoulder height difference", "front", "height_diff",
              SHOULDERS, LENGTH, "left shoulder higher", "right shoulder higher"),
    MetricDef("pelvic_obliquity", "Pelvic obliquity (hip joint centres)", "front", "tilt", HIPS,
              DEG, "left hip higher", "right hip higher",
              note="Hip-joint-centre line, not the ASIS or iliac crest line."),
    MetricDef("pelvic_height_diff", "Pelvic height difference", "front", "height_diff", HIPS,
              LENGTH, "left hip higher", "right hip higher"),
    MetricDef("shoulder_pelvis_angle", "Shoulder-pelvis angle", "front", "tilt_difference",
              SHOULDERS + HIPS, DEG, "shoulders tilt more to the left than the pelvis",
              "shoulders tilt more to the right than the pelvis"),
    MetricDef("trunk_lateral_lean", "Trunk lateral lean", "front", "lateral_lean",
              (HIPS, SHOULDERS), DEG, "trunk leans to the patient's left",
              "trunk leans to the patient's right"),
    MetricDef("head_lateral_shift", "Head lateral shift", "front", "lateral_offset",
              (EARS, ANKLES), LENGTH, "head shifted to the patient's left",
              "head shifted to the patient's right"),
    MetricDef("head_lateral_shift_pct", "Head lateral shift (% shoulder width)", "front",
              "lateral_offset", (EARS, ANKLES), PERCENT, "head shifted to the patient's left",
              "head shifted to the patient's right", per=SHOULDERS),
    MetricDef("knee_frontal_angle_left", "Left knee frontal angle", "front", "knee_frontal",
              (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, HIPS), DEG,
              "knee toward the midline (valgus)", "knee away from the midline (varus)",
              note="Hip-knee-ankle line; not a Q-angle (no patella landmark)."),
    MetricDef("knee_frontal_angle_right", "Right knee frontal angle", "front", "knee_frontal",
              (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, HIPS), DEG,
              "knee toward the midline (valgus)", "knee away from the midline (varus)",
              note="Hip-knee-ankle line; not a Q-angle (no patella landmark)."),
    # ---- front (or back) view, anatomical points (posture.outline.frontal; ASIS and PSIS
    # placed by hand): positive = the patient's left point higher, as SAPO's alignments
    MetricDef("shoulder_tilt_acromion", "Shoulder tilt (acromions)", "front", "tilt",
              ("acromion_left", "acromion_right"), DEG, "left shoulder higher",
              "right shoulder higher",
              note="SAPO's acromion line, from the shoulder outline's top-lateral corners (skin "
                   "over acromion and deltoid); a hand-placed acromion gives the palpated point."),
    MetricDef("waist_tilt", "Waist line tilt", "front", "tilt", ("waist_left", "waist_right"),
              DEG, "left waist higher", "right waist higher",
              note="Line through the narrowest points of the trunk outline on each side."),
    MetricDef("waist_triangle_asymmetry", "Waist-triangle asymmetry", "front",
              "gap_difference", ("waist_left", "waist_arm_left", "waist_right",
                                 "waist_arm_right"), LENGTH,
              "left arm-trunk gap wider", "right arm-trunk gap wider",
              note="Width of the gap between the trunk and the hanging arm, measured across "
                   "at each waist point, left minus right (a scoliosis screening sign; depends "
                   "on how far each arm hangs from the body)."),
    MetricDef("waist_triangle_asymmetry_pct", "Waist-triangle asymmetry (% shoulder width)",
              "front", "gap_difference", ("waist_left", "waist_arm_left", "waist_right",
                                          "waist_arm_right"), PERCENT,
              "left arm-trunk gap wider", "right arm-trunk gap wider", per=SHOULDERS),
    MetricDef("trochanter_tilt", "Trochanter line tilt", "front", "tilt",
              ("trochanter_left", "trochanter_right"), DEG, "left hip higher",
              "right hip higher",
              note="Line through the widest points of the hip outline (greater trochanter "
                   "region, with the soft tissue over it)."),
    MetricDef("asis_tilt", "Pelvic tilt (ASIS line)", "front", "tilt",
              ("asis_left", "asis_right"), DEG, "left ASIS higher", "right ASIS higher",
              note="SAPO's ASIS line: no outline shows the ASIS; place both by hand (front "
                   "photo) from palpated skin marks."),
    MetricDef("psis_tilt", "Pelvic tilt (PSIS line)", "front", "tilt",
              ("psis_left", "psis_right"), DEG, "left PSIS higher", "right PSIS higher",
              note="No outline shows the PSIS; place both by hand (back photo) from palpated "
                   "skin marks."),
    # ---- the levels chain from the floor up (issue: the pelvis-to-head chain); the pelvis,
    # shoulder and ear levels are the rows above. Ankle and knee levels are a leg-length proxy.
    MetricDef("ankle_tilt", "Ankle level", "front", "tilt", ANKLES, DEG,
              "left ankle higher", "right ankle higher", note=LEG_LENGTH_PROXY),
    MetricDef("ankle_height_diff", "Ankle height difference", "front", "height_diff", ANKLES,
              LENGTH, "left ankle higher", "right ankle higher", note=LEG_LENGTH_PROXY),
    MetricDef("knee_tilt", "Knee level", "front", "tilt", KNEES, DEG,
              "left knee higher", "right knee higher", note=LEG_LENGTH_PROXY),
    MetricDef("knee_height_diff", "Knee height difference", "front", "height_diff", KNEES,
              LENGTH, "left knee higher", "right knee higher", note=LEG_LENGTH_PROXY),
    MetricDef("eye_tilt", "Eye line tilt", "front", "tilt", EYES, DEG,
              "left eye higher", "right eye higher"),
    MetricDef("head_rotation", "Head rotation", "front", "head_yaw",
              (L.NOSE, L.LEFT_EAR, L.RIGHT_EAR), DEG, "head turned to the patient's left",
              "head turned to the patient's right", face=True,
              note="From the nose between the ears with a head model (nose depth 1.3 x half "
                   "the ear distance, from four people): about 20 % scale uncertainty beyond "
                   "the stated one."),
    # ---- lateral shifts over the base of support (the vertical through the mid-ankle point)
    MetricDef("pelvic_lateral_shift", "Pelvic lateral shift", "front", "lateral_offset",
              (HIPS, ANKLES), LENGTH, "pelvis shifted to the patient's left",
              "pelvis shifted to the patient's right"),
    MetricDef("pelvic_lateral_shift_pct", "Pelvic lateral shift (% hip width)", "front",
              "lateral_offset", (HIPS, ANKLES), PERCENT, "pelvis shifted to the patient's left",
              "pelvis shifted to the patient's right", per=HIPS,
              note="Hip width between the hip-joint landmarks (narrower than the pelvis)."),
    MetricDef("shoulder_lateral_shift", "Shoulder lateral shift", "front", "lateral_offset",
              (SHOULDERS, ANKLES), LENGTH, "shoulders shifted to the patient's left",
              "shoulders shifted to the patient's right"),
    MetricDef("shoulder_lateral_shift_pct", "Shoulder lateral shift (% hip width)", "front",
              "lateral_offset", (SHOULDERS, ANKLES), PERCENT,
              "shoulders shifted to the patient's left",
              "shoulders shifted to the patient's right", per=HIPS,
              note="Hip width between the hip-joint landmarks (narrower than the pelvis)."),
    # ---- side view: near side, positive = anterior
    MetricDef("forward_head_angle", "Forward-head angle (CVA proxy)", "side", "elevation",
              (L.RIGHT_SHOULDER, L.RIGHT_EAR), DEG, "ear behind the shoulder",
              "ear forward of the shoulder (smaller = head further forward)",
              note="Measured at the shoulder landmark, not C7: reads higher than a clinical "
                   "CVA; clinical cut-offs do not transfer unchanged.", neutral=90.0),
    MetricDef("head_forward_offset", "Head forward offset", "side", "forward_offset",
              (L.RIGHT_EAR, L.RIGHT_SHOULDER), LENGTH, "ear anterior to the shoulder",
              "ear posterior to the shoulder"),
    MetricDef("head_forward_offset_pct", "Head forward offset (% torso length)", "side",
              "forward_offset", (L.RIGHT_EAR, L.RIGHT_SHOULDER), PERCENT,
              "ear anterior to the shoulder", "ear posterior to the shoulder",
              per=(L.RIGHT_SHOULDER, L.RIGHT_HIP)),
    MetricDef("trunk_sagittal_lean", "Trunk sagittal lean", "side", "sagittal_lean",
              (L.RIGHT_HIP, L.RIGHT_SHOULDER), DEG, "shoulders anterior to the hips",
              "shoulders posterior to the hips"),
    MetricDef("knee_sagittal_angle", "Knee sagittal angle", "side", "knee_sagittal",
              (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE), DEG, "knee flexed",
              "knee hyperextended"),
    MetricDef("plumb_ear", "Plumb line: ear", "side", "forward_offset",
              (L.RIGHT_EAR, L.RIGHT_ANKLE), LENGTH, "ear anterior to the ankle",
              "ear posterior to the ankle"),
    MetricDef("plumb_shoulder", "Plumb line: shoulder", "side", "forward_offset",
              (L.RIGHT_SHOULDER, L.RIGHT_ANKLE), LENGTH, "shoulder anterior to the ankle",
              "shoulder posterior to the ankle"),
    MetricDef("plumb_hip", "Plumb line: hip", "side", "forward_offset",
              (L.RIGHT_HIP, L.RIGHT_ANKLE), LENGTH, "hip anterior to the ankle",
              "hip posterior to the ankle"),
    MetricDef("plumb_knee", "Plumb line: knee", "side", "forward_offset",
              (L.RIGHT_KNEE, L.RIGHT_ANKLE), LENGTH, "knee anterior to the ankle",
              "knee posterior to the ankle"),
    MetricDef("body_sagittal_lean", "Body sagittal lean", "side", "sagittal_lean",
              (L.RIGHT_ANKLE, L.RIGHT_SHOULDER), DEG, "body leans forward",
              "body leans backward"),
    # ---- side view, anatomical points on the back's outline (posture.outline.side)
    MetricDef("cva", "Craniovertebral angle (tragus-C7)", "side", "elevation",
              ("c7", "tragus"), DEG, "tragus behind C7",
              "head forward of C7 (smaller = head further forward)",
              note="Clinical CVA from the outline's C7 and the ear landmark as tragus.",
              neutral=90.0),
    MetricDef("fleche_cervicale", "Flèche cervicale", "side", "forward_offset",
              ("cervical_apex", "thoracic_apex"), LENGTH,
              "neck anterior to the thoracic-apex vertical", "neck behind the vertical",
              note="Depth of the neck's curve from the vertical touching the thoracic apex."),
    MetricDef("fleche_cervicale_pct", "Flèche cervicale (% trunk height)", "side",
              "forward_offset", ("cervical_apex", "thoracic_apex"), PERCENT,
              "neck anterior to the thoracic-apex vertical", "neck behind the vertical",
              per=("c7", "sacral_point")),
    MetricDef("fleche_lombaire", "Flèche lombaire", "side", "forward_offset",
              ("lumbar_apex", "thoracic_apex"), LENGTH,
              "lumbar curve anterior to the thoracic-apex vertical", "lumbar curve behind it",
              note="Depth of the lumbar curve from the vertical touching the thoracic apex."),
    MetricDef("fleche_lombaire_pct", "Flèche lombaire (% trunk height)", "side",
              "forward_offset", ("lumbar_apex", "thoracic_apex"), PERCENT,
              "lumbar curve anterior to the thoracic-apex vertical", "lumbar curve behind it",
              per=("c7", "sacral_point")),
    MetricDef("kyphosis_index", "Kyphosis index (FC + FL)", "side", "depth_sum",
              ("cervical_apex", "lumbar_apex", "thoracic_apex"), LENGTH,
              "curves deeper than the thoracic-apex vertical", "curves behind it",
              note="Sum of the flèche cervicale and the flèche lombaire."),
    MetricDef("kyphosis_index_pct", "Kyphosis index (% trunk height)", "side", "depth_sum",
              ("cervical_apex", "lumbar_apex", "thoracic_apex"), PERCENT,
              "curves deeper than the thoracic-apex vertical", "curves behind it",
              per=("c7", "sacral_point")),
    MetricDef("cervical_lumbar_depth", "Cervical vs lumbar curve (FC - FL)", "side",
              "forward_offset", ("cervical_apex", "lumbar_apex"), LENGTH,
              "cervical curve deeper than lumbar", "lumbar curve deeper than cervical",
              note="The flèche cervicale minus the flèche lombaire."),
    MetricDef("kyphosis_angle", "Kyphosis angle (outline tangents)", "side", "tangent_angle",
              ("ict", "ict_tangent", "itl", "itl_tangent"), DEG,
              "thoracic curve kyphotic", "thoracic curve lordotic",
              note="Angle between the outline's tangents at the cervico-thoracic and "
                   "thoraco-lumbar inflections (rasterstereography's definition, on the "
                   "skin outline: not a Cobb angle)."),
    MetricDef("lordosis_angle", "Lordosis angle (outline tangents)", "side", "tangent_angle",
              ("ils", "ils_tangent", "itl", "itl_tangent"), DEG,
              "lumbar curve lordotic", "lumbar curve kyphotic",
              note="Angle between the outline's tangents at the thoraco-lumbar and "
                   "lumbo-sacral inflections (rasterstereography's definition, on the skin "
                   "outline: not a Cobb angle)."),
)

METRICS_BY_ID = {m.id: m for m in METRICS}
