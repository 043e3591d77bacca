"""The PDF visit report: patient and visit, annotated photos, every measure with its flag and
reference range, the change since the previous visit, and the limits of photo measurement.

Clinic-neutral (no logo, no clinic name), A4, made with fpdf2 from a `VisitRecord` (stored or
ad hoc); nothing is recomputed. Photos in the PDF are the annotated images re-encoded as JPEG
from pixels, so they carry no EXIF or GPS; no patient data goes into the PDF's metadata.

Page 1 says what is outside its reference range (or borderline) before any table; photo
warnings name their photo; the last section is never split, so no page holds a lone line.
Every photo of the visit is shown (front, back, left side, right side), and the measures are
tabled per photo, then per pair of photos (both sides' mean, left minus right, front minus back).
The cost is bounded whatever the text: every text field is clipped to the records' limits
(`posture.store.validation`: notes 10,000 characters) and the shaping engine, four times
slower, runs only on text that needs it (right-to-left scripts, combining marks, Indic).

Text: DejaVu Sans (Debian `fonts-dejavu-core`) when installed covers Latin, Greek, Cyrillic,
Arabic and more, shaped by HarfBuzz (joined Arabic, right-to-left runs); characters it lacks
(CJK, say) print as "?". Without it, the core Helvetica font is used
and text is reduced to Latin-1 (accents dropped where needed). Either way no name can crash it.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import groupby
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos
from PIL import Image

from posture.assessment import slot_title
from posture.compare import (
    NOISE_FACTOR,
    NOT_COMPARABLE,
    SLOT_ORDER,
    Comparison,
    MetricChange,
    VisitRecord,
    compare_visits,
    row_slot,
    slot_order,
)
from posture.metrics.bilateral import (
    FLAG_AGREES,
    FLAG_NOT_JUDGED,
    FRONT_MINUS_BACK,
    LEFT_MINUS_RIGHT,
    SIDES_MEAN,
)
from posture.metrics.compute import (
    FLAG_BORDERLINE,
    FLAG_NO_RANGE,
    FLAG_OUTSIDE,
    FLAG_WITHIN,
    STATUS_OK,
)
from posture.metrics.definitions import METRICS_BY_ID
from posture.metrics.summary import (
    frontal_levels,
    patient_lines,
    region_summary,
    results_from_rows,
    visit_values,
)
from posture.numbers import value_text
from posture.store.validation import MAX_NAME, MAX_NOTES, MAX_SUBJECT

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),        # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu-sans-fonts"),      # Fedora
    Path("/usr/share/fonts/TTF"),                    # Arch
)

# Colours (RGB): quiet greys, one accent for "outside range" and "real change".
INK, MUTED, RULE = (33, 37, 41), (108, 117, 125), (206, 212, 218)
PANEL, HEAD_FILL = (248, 249, 250), (233, 236, 239)
OUTSIDE_FILL, OUTSIDE_INK = (255, 232, 204), (122, 46, 0)
BORDERLINE_FILL = (255, 243, 191)  # a range bound within 2 uncertainties: pale yellow
REAL_FILL = (219, 234, 254)
NOT_MEASURED_INK = (134, 142, 150)

PHOTO_MAX_PX = 900        # long side of each photo in the PDF (about 150 dpi at 150 mm)
NOTES_PREVIEW = 280       # characters of the notes shown on page 1; all of them at the end
BORDERLINE_FILL = (255, 243, 205)
SCREENING = " (screening default, not a validated cut-off)"

LIMITS = (
    "These measures come from 2D photos. A camera that is not level, not square to the body "
    "or too close, and a body turned toward or away from the camera, change them: a camera "
    "rolled by 2 degrees reads as 2 degrees of shoulder tilt.",
    "The points are landmarks found by a pose model (MediaPipe Pose), not anatomical landmarks "
    "palpated by a clinician. The shoulder landmark sits near the shoulder joint, not on the "
    "acromion; the hip landmark is the hip joint centre, not the ASIS or the iliac crest; the "
    "ear landmark stands in for the tragus. Pelvic obliquity here is a hip-joint line.",
    "The forward-head angle is measured at the shoulder landmark, not at C7: it is a proxy of "
    "the craniovertebral angle (CVA) and reads higher than a clinical CVA (58-78 degrees on "
    "neutral photos, against about 50 degrees in normal adults). Clinical CVA cut-offs do not "
    "apply to it unchanged.",
    "Reference ranges marked * are screening defaults, not validated cut-offs: no validated "
    "cut-off exists for most photo measures, and small asymmetries are normal. The clinic can "
    "change them.",
    "+/- is the spread of the landmark detection over repeated passes on the same photo. It "
    "does not include differences in stance between photos, nor the landmark offsets above.",
    f"A change between visits is called real only when it is larger than both {NOISE_FACTOR:g} "
    "times the combined +/- of the two values and the minimal detectable change: 5 degrees for "
    "the forward-head angle (Gallego-Izquierdo et al. 2020); for the other measures no "
    "published value exists and a screening default is used.",
    "Each photo is assumed not mirrored: a mirror, or a front (selfie) camera that saves its "
    "photos mirrored, swaps the patient's left and right. Where a photo's camera data names a "
    "front camera, the warnings above say so.",
    "This report is a screening aid, not a diagnosis.",
)


def _font_files() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


# Latin letters that do not decompose into a base letter plus an accent.
_NO_DECOMPOSITION = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h",
                                   "ı": "i", "Œ": "OE", "œ": "oe", "Ŧ": "T", "ŧ": "t"})


def _latin1(text: str) -> str:
    """Text the core PDF fonts can show: accents dropped where Latin-1 lacks the letter."""
    text = text.translate(_NO_DECOMPOSITION)
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
        out.append(base if base.isprintable() and base else "?")
    return "".join(out)


def _needs_shaping(text: str) -> bool:
    """Right-to-left letters, combining marks, or a script whose letters join or reorder."""
    for ch in text:
        code = ord(ch)
        if code < 0x0300:
            continue
        if (unicodedata.bidirectional(ch) in ("R", "AL", "AN")
                or unicodedata.category(ch) in ("Mn", "Mc", "Me")
                or 0x0900 <= code <= 0x109F or 0x1780 <= code <= 0x18AF):
            return True
    return False


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters (the records' limits; older records may hold more)."""
    text = str(text or "")
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Report(FPDF):
    def __init__(self, footer_note: str, header_note: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_note = footer_note
        self.header_note = header_note    # patient ID and visit: a loose page stays identifiable
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=16)
        fonts = _font_files()
        self.unicode = fonts is not None
        if fonts:
            self.add_font("DejaVu", "", str(fonts[0]))
            self.add_font("DejaVu", "B", str(fonts[1]))
            self.base_font = "DejaVu"
            # HarfBuzz shaping: Arabic letters joined and right-to-left runs in order (without
            # it fpdf2 prints them unjoined, left to right), ligatures, combining marks.
            self.set_text_shaping(True)
        else:
            self.base_font = "Helvetica"
        self.set_text_color(*INK)

    @contextmanager
    def shaped_if_needed(self, text: str) -> Iterator[None]:
        """HarfBuzz shaping only for text that needs it: it costs about 170 us a character
        against 40 without, and Latin, Greek or Cyrillic prints the same either way."""
        if not self.unicode or _needs_shaping(text):
            yield
            return
        self.set_text_shaping(False)
        try:
            yield
        finally:
            self.set_text_shaping(True)

    def text_(self, text: str) -> str:
        """Text this font can print; a missing glyph becomes "?" rather than vanishing."""
        text = "".join(ch if ch.isprintable() else " " for ch in str(text))
        if not self.unicode:
            return _latin1(text)
        cmap = getattr(self.current_font, "cmap", None)
        return text if cmap is None else "".join(ch if ord(ch) in cmap else "?" for ch in text)

    def font(self, size: float, bold: bool = False, colour=INK) -> None:
        self.set_font(self.base_font, "B" if bold else "", size)
        self.set_text_color(*colour)

    def header(self) -> None:
        self.font(13, bold=True)
        self.cell(0, 7, "Posture screening report")
        self.set_x(self.l_margin)
        self.font(8.5, colour=MUTED)
        self.cell(0, 7, self.text_(self.header_note), align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-12)
        self.font(7.5, colour=MUTED)
        self.cell(0, 5, self.text_(self.footer_note))
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(3)
        self.font(11, bold=True)
        self.multi_cell(0, 6, self.text_(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # wraps
        self.ln(1)

    def paragraph(self, text: str, size: float = 8.5, colour=INK, bullet: bool = False) -> None:
        self.font(size, colour=colour)
        if bullet:
            self.set_x(self.l_margin + 2)
            self.cell(3, 4.2, "-")
        text = self.text_(text)
        with self.shaped_if_needed(text):
            self.multi_cell(0, 4.2, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph_height(self, text: str, size: float = 8.5, bullet: bool = False) -> float:
        """The height `paragraph` would take, in mm (nothing is printed)."""
        self.font(size)
        width = self.epw - (5 if bullet else 0)
        text = self.text_(text)
        with self.shaped_if_needed(text):
            return self.multi_cell(width, 4.2, text, dry_run=True, output="HEIGHT")


# --- sections ------------------------------------------------------------------------------------


def _visit_block(pdf: _Report, visit: VisitRecord) -> None:
    height = f"{visit.height_cm:g} cm" if visit.height_cm else "not given (lengths in pixels)"
    pairs = [
        ("Patient ID", _clip(visit.subject, MAX_SUBJECT) or "-"),
        ("Name", _clip(visit.patient_name, MAX_NAME) or "-"),
        ("Visit date", visit.visit_date.isoformat() if visit.visit_date else visit.label),
        ("Height", height),
        ("Analysed", f"{_when(visit.analysed_at)} with posture {visit.posture_version or '-'}"),
    ]
    if visit.notes:
        pairs.append(("Notes", _notes_preview(visit.notes)))
    top = pdf.get_y()
    pdf.set_y(top + 2)
    for label, value in pairs:
        pdf.set_x(pdf.l_margin + 3)
        pdf.font(8.5, colour=MUTED)
        pdf.cell(28, 5, label)
        pdf.font(9, bold=label == "Patient ID")
        value = pdf.text_(value)
        with pdf.shaped_if_needed(value):
            pdf.multi_cell(pdf.epw - 34, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y() + 2
    # The frame is drawn afterwards: its height is known only now.
    pdf.set_draw_color(*RULE)
    pdf.rect(pdf.l_margin, top, pdf.epw, bottom - top, style="D")
    pdf.set_y(bottom + 2)


def _notes_preview(notes: str) -> str:
    """The start of the notes for page 1 (the rest is printed at the end): the summary and
    the measures stay on page 1 however long the notes are."""
    lines = notes.strip().splitlines()
    preview = " / ".join(line.strip() for line in lines[:3] if line.strip())
    if len(lines) <= 3 and len(preview) <= NOTES_PREVIEW:
        return preview
    cut = preview[:NOTES_PREVIEW].rsplit(" ", 1)[0] if len(preview) > NOTES_PREVIEW else preview
    return f"{cut} … (continued under Visit notes)"


def _notes(pdf: _Report, notes: str) -> None:
    """The visit's notes in full (up to the records' limit), when page 1 showed only a part."""
    if not notes or _notes_preview(notes) == " / ".join(
            line.strip() for line in notes.strip().splitlines() if line.strip()):
        return
    pdf.heading("Visit notes")
    for block in _clip(notes, MAX_NOTES).strip().split("\n"):
        pdf.paragraph(block)


def _value_text(r: dict) -> str:
    unc = r.get("uncertainty")
    pm = f" +/- {_number(unc)}" if unc is not None else ""
    return f"{_number(r['value'])}{pm} {r.get('unit', '')}".rstrip()


def _visit_rows(rows: Sequence[dict]) -> list[dict]:
    """Each measure once, as the region summary reads it (`visit_values`): the mean of both
    sides over either side photo, the front over the back, no difference of two photos."""
    keep = {(m.slot, m.metric) for m in visit_values(results_from_rows(rows))}
    # A metric this version does not know (an older analysis's) is kept as it is.
    return [r for r in rows if (row_slot(r), r.get("metric")) in keep
            or r.get("metric") not in METRICS_BY_ID]


def _photo_label(r: dict) -> str:
    """A row's label, naming its photo where one visit has several of a kind."""
    return r["label"] + (" (back photo)" if row_slot(r) == "back" else "")


def _at_a_glance(pdf: _Report, rows: Sequence[dict]) -> None:
    """Before any table: every measure outside its range, then borderline (any flag but
    within or no range), or a plain statement that there are none. Each measure once
    (`_visit_rows`); differences between two photos are among the warnings."""
    rows = _visit_rows(rows)
    measured = [r for r in rows if r.get("status") == STATUS_OK and r.get("value") is not None]
    flagged: dict[str, list[dict]] = {}
    for r in measured:
        if r.get("flag") not in (FLAG_WITHIN, FLAG_NO_RANGE, "", None):
            flagged.setdefault(r["flag"], []).append(r)
    pdf.heading("At a glance")
    order = sorted(flagged, key=lambda f: (f != FLAG_OUTSIDE, f))
    for flag in order:
        title = ("Outside the reference range" if flag == FLAG_OUTSIDE
                 else f"{flag.capitalize()} (the range's edge lies within the value's +/-)"
                 if flag == "borderline" else flag.capitalize())
        pdf.font(9, bold=True, colour=OUTSIDE_INK)
        pdf.cell(0, 5, pdf.text_(f"{title}: {len(flagged[flag])}"),
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for r in flagged[flag]:
            reference = _reference(r.get("reference", "")) or "no range"
            pdf.paragraph(f"{_photo_label(r)}: {_value_text(r)} "
                          f"({r.get('side') or r.get('view')}); "
                          f"reference {reference}", colour=OUTSIDE_INK, bullet=True)
        pdf.ln(1)
    if not flagged:
        pdf.paragraph(f"All {len(measured)} measured values are within their reference ranges "
                      "or have none.")
    missing = len(rows) - len(measured)
    if missing:
        pdf.paragraph(f"{missing} measure(s) could not be measured on these photos: see the "
                      "tables.", colour=MUTED)


def _by_region(pdf: _Report, rows: Sequence[dict]) -> None:
    """The screening summary by region, and what the front (else back) photo's levels
    show."""
    metrics = results_from_rows(rows)
    summary = region_summary(metrics)
    pdf.heading("By region")
    for region in summary:
        what = "; ".join(line.clinician.split(":")[0] + f" ({line.flag})"
                         for line in region.lines) or "nothing outside its range"
        pdf.paragraph(f"{region.title}: {what}", bullet=True)
    levels = frontal_levels(metrics)
    if levels is not None and levels.chain.levels:
        pdf.ln(1)
        pdf.font(9, bold=True)
        photo = f" ({slot_title(levels.slot).lower()})" if levels.slot == "back" else ""
        pdf.cell(0, 5, pdf.text_(f"Levels from the floor up{photo}"), new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)
        for observation in levels.observations:
            pdf.paragraph(observation, bullet=True)


def _when(iso: str) -> str:
    """"2025-06-01T09:30:00+00:00" -> "2025-06-01 09:30 UTC"; other text unchanged."""
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or "-"
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _findings(pdf: _Report, findings: Sequence[str]) -> None:
    if not findings:
        return
    pdf.heading("Check before relying on the numbers")
    for message in findings:
        pdf.paragraph(message, colour=OUTSIDE_INK, bullet=True)


def _jpeg(png: bytes) -> tuple[io.BytesIO, float]:
    """The annotated image as a metadata-free JPEG, at most PHOTO_MAX_PX; and its aspect."""
    with Image.open(io.BytesIO(png)) as im:
        rgb = im.convert("RGB")
    rgb.thumbnail((PHOTO_MAX_PX, PHOTO_MAX_PX), Image.Resampling.LANCZOS)
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())   # pixels only, no info dict
    buf = io.BytesIO()
    clean.save(buf, format="JPEG", quality=85, optimize=True)
    buf.seek(0)
    return buf, clean.width / clean.height


# The smallest annotated photo still readable on paper (its labels about 1.5 mm high), in mm.
MIN_PHOTO_HEIGHT = 70


def photo_row(pdf: _Report, images: Sequence[tuple[str, bytes]], max_height: float = 105,
              gap: float = 6) -> None:
    """Images side by side at one common height (same scale on the page), captioned."""
    if not images:
        return
    prepared = [(caption, *_jpeg(png)) for caption, png in images]
    total_aspect = sum(aspect for _c, _b, aspect in prepared)
    height = min(max_height, (pdf.epw - gap * (len(prepared) - 1)) / total_aspect)
    room = pdf.h - pdf.b_margin - pdf.get_y() - 8
    if room < height:  # smaller photos on this page rather than a heading left alone
        if room >= MIN_PHOTO_HEIGHT:
            height = room
        else:
            pdf.add_page()
    width = sum(height * a for _c, _b, a in prepared) + gap * (len(prepared) - 1)
    x = pdf.l_margin + (pdf.epw - width) / 2
    y = pdf.get_y()
    for caption, buf, aspect in prepared:
        w = height * aspect
        pdf.image(buf, x=x, y=y, w=w, h=height)
        pdf.set_draw_color(*RULE)
        pdf.rect(x, y, w, height)
        pdf.set_xy(x, y + height + 1)
        pdf.font(8, colour=MUTED)
        pdf.cell(w, 4, pdf.text_(caption), align="C")
        x += w + gap
    pdf.set_y(y + height + 7)


def _number(value, digits: int = 1) -> str:
    return value_text(value, missing="-", digits=digits)  # one rule: no "-0.0"


def _reference(text: str) -> str:
    text = text or ""
    # A no-break space keeps the asterisk on its value's line.
    return text.replace(SCREENING, "\u00a0*")


def _metrics_table(pdf: _Report, rows: Sequence[dict]) -> None:
    pdf.font(8)
    widths = (44, 13, 10, 11, 41, 41, 20)
    headings = ("Measure", "Value", "+/-", "Unit", "Direction", "Reference range", "Flag")
    head = FontFace(emphasis="BOLD", fill_color=HEAD_FILL, color=INK)
    for slot in _slots(rows):
        group = [r for r in rows if row_slot(r) == slot]
        pdf.heading(f"Measures: {_table_title(slot)}")
        pdf.font(8)
        with pdf.table(col_widths=widths, width=sum(widths), headings_style=head,
                       line_height=4.2, text_align=("LEFT", "RIGHT", "RIGHT", "LEFT", "LEFT",
                                                    "LEFT", "LEFT"),
                       borders_layout="HORIZONTAL_LINES", padding=(1, 1.2)) as table:
            row = table.row()
            for h in headings:
                row.cell(h)
            for r in group:
                measured = r.get("status") == STATUS_OK and r.get("value") is not None
                if not measured:
                    style = FontFace(color=NOT_MEASURED_INK)
                    cells = (r["label"], "-", "", r["unit"],
                             f"not measured: {r.get('detail') or r.get('status')}",
                             _reference(r.get("reference", "")), "not measured")
                else:
                    outside = r.get("flag") == FLAG_OUTSIDE
                    other = r.get("flag") not in (FLAG_OUTSIDE, FLAG_WITHIN, FLAG_NO_RANGE,
                                                   "", None, FLAG_AGREES, FLAG_NOT_JUDGED)
                    style = FontFace(color=OUTSIDE_INK, fill_color=OUTSIDE_FILL,
                                     emphasis="BOLD") if outside else FontFace(
                        color=OUTSIDE_INK, fill_color=BORDERLINE_FILL) if other else None
                    flag = {"within": "within", "outside": "OUTSIDE",
                            FLAG_BORDERLINE: "borderline"}.get(r["flag"], r["flag"])
                    if r.get("manual"):
                        flag += ", hand-placed"
                    cells = (r["label"], _number(r["value"]), _number(r.get("uncertainty")),
                             r["unit"], r.get("side", ""), _reference(r.get("reference", "")),
                             flag)
                row = table.row()
                for c in cells:
                    row.cell(pdf.text_(c), style=style)
    pdf.ln(1)
    pdf.paragraph("* screening default, not a validated cut-off. Lengths in cm are scaled from "
                  "the patient's height; in px, they are photo pixels.", size=7.5, colour=MUTED)


def _slots(rows: Sequence[dict]) -> list[str]:
    """The slots of the rows: photos, then pairs of photos (SLOT_ORDER), then any other."""
    return sorted(dict.fromkeys(row_slot(r) for r in rows), key=slot_order)


def _table_title(slot: str) -> str:
    """"front photo", "left side photo", "left minus right side (two photos ...)"."""
    if slot in (LEFT_MINUS_RIGHT, FRONT_MINUS_BACK):
        return (f"{slot_title(slot).lower()} (two photos of this visit; the flag says whether "
                "they differ beyond measurement noise and the detectable change)")
    return slot_title(slot).lower()


def _comparison(pdf: _Report, comparison: Comparison) -> None:
    before, after = comparison.before, comparison.after
    pdf.heading(f"Change since the previous visit ({before.label})")
    pdf.paragraph(f"Before: {before.label}; after: {after.label} (this visit). Real: the change "
                  f"exceeds both {NOISE_FACTOR:g} x the combined +/- and the minimal detectable "
                  "change (MDC).", size=8, colour=MUTED)
    pdf.ln(1)
    widths = (46, 15, 15, 15, 11, 17, 61)
    columns = ("Measure", "Before", "After", "Change", "Unit", "Needs >", "Verdict")
    title = FontFace(emphasis="BOLD", fill_color=PANEL)
    pdf.font(8)
    # A table per photo (or pair of photos), its title and the column names its heading rows:
    # fpdf2 never leaves a table's headings alone at the foot of a page and repeats them over
    # a page break, so a title always stands above its rows.
    for (_b, _a), group in groupby(comparison.changes, key=lambda c: (c.before_slot, c.slot)):
        group = list(group)
        unpaired = _unpaired(group, before.label, after.label)
        if unpaired:   # one row, the photo and why (a row never splits across pages)
            with _change_table(pdf, widths, headings=0) as table:
                row = table.row()
                row.cell(pdf.text_(group[0].photos), style=title)
                row.cell(pdf.text_(unpaired), colspan=len(widths) - 1, align="LEFT",
                         style=FontFace(color=NOT_MEASURED_INK, fill_color=PANEL))
            continue
        with _change_table(pdf, widths, headings=1 + bool(group[0].photos)) as table:
            if group[0].photos:               # which photos the rows below compare
                table.row().cell(pdf.text_(group[0].photos), colspan=len(widths), style=title)
            row = table.row()
            for h in columns:
                row.cell(h)
            _change_rows(pdf, table, group)


def _change_table(pdf: _Report, widths: Sequence[float], headings: int):
    return pdf.table(col_widths=widths, width=sum(widths), line_height=4.2,
                     headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL, color=INK),
                     first_row_as_headings=headings > 0, num_heading_rows=headings,
                     text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT", "RIGHT", "LEFT"),
                     borders_layout="HORIZONTAL_LINES", padding=(1, 1.2))


def _unpaired(group: Sequence[MetricChange], before: str, after: str) -> str:
    """For a photo (or pair of photos) only one visit has: "not compared: no such photo at
    2025-01-10"; "" when the two visits have it."""
    for when, label in (("before", before), ("after", after)):
        if all(c.verdict == f"{NOT_COMPARABLE}: no such photo {when}" for c in group):
            return f"{NOT_COMPARABLE}: no such photo at {label}"
    return ""


def _change_rows(pdf: _Report, table, changes: Sequence[MetricChange]) -> None:
    for c in changes:
        style = _change_style(c)
        verdict = c.verdict
        if c.mdc is not None and c.real is not None:
            verdict += ("" if c.mdc.basis == "screening default"
                        else f" (MDC {c.mdc.mdc:g} {c.mdc.unit}, published)")
        row = table.row()
        change = c.change_text  # after minus before as shown: it adds up
        for text in (c.label, _number(c.before), _number(c.after), change, c.unit,
                     _number(c.threshold), verdict):
            row.cell(pdf.text_(text), style=style)


def _change_style(c: MetricChange) -> FontFace | None:
    if c.real:
        return FontFace(emphasis="BOLD", fill_color=REAL_FILL)
    if c.real is None:
        return FontFace(color=NOT_MEASURED_INK)
    return None


def _photo_slots(visit: VisitRecord) -> list[str]:
    """The photo slots of a visit's images, in SLOT_ORDER (a record made before the four slots
    holds "side")."""
    return [slot for slot in SLOT_ORDER if slot in visit.images]


def visit_report_pdf(visit: VisitRecord, previous: VisitRecord | None = None, *,
                     comparison: Comparison | None = None, generated: date | None = None
                     ) -> bytes:
    """The visit report as PDF bytes.

    Args:
        visit: the visit reported on (`posture.store.load_visit`, or
            `VisitRecord.from_assessment` for an unsaved analysis).
        previous: the patient's previous visit, if any: adds the change since it.
        comparison: a ready comparison (previous -> visit); made from `previous` if None.
        generated: the date printed as the report's date (default today).
    """
    if comparison is None and previous is not None:
        comparison = compare_visits(previous, visit)
    generated = generated or date.today()
    visit_day = visit.visit_date.isoformat() if visit.visit_date else visit.label
    pdf = _Report(f"Generated {generated.isoformat()} by posture {visit.posture_version}. "
                  "A screening aid, not a diagnosis.",
                  f"{_clip(visit.subject, MAX_SUBJECT) or 'Patient'} - visit {visit_day}")
    pdf.set_title("Posture screening report")
    pdf.set_creator("posture")
    pdf.add_page()
    _visit_block(pdf, visit)
    _at_a_glance(pdf, visit.rows)
    _findings(pdf, visit.findings)
    images = [(slot, f"{slot_title(slot)}, {visit.label}", visit.images[slot])
              for slot in _photo_slots(visit)]
    if images:
        if pdf.get_y() + MIN_PHOTO_HEIGHT + 20 > pdf.page_break_trigger:
            pdf.add_page()  # the heading goes with its photos
        pdf.heading("Annotated photos")
        # Four photos in one row would be too small to read: the front and back above the
        # sides.
        rows = ([[i for i in images if i[0] in ("front", "back")],
                 [i for i in images if i[0] not in ("front", "back")]]
                if len(images) > 3 else [images])
        for row in rows:
            photo_row(pdf, [(caption, png) for _slot, caption, png in row])
    _by_region(pdf, visit.rows)   # page 1 holds the photos; the region view opens the tables
    _metrics_table(pdf, visit.rows)
    if comparison is not None:
        _comparison(pdf, comparison)
    _notes(pdf, visit.notes)
    # The last section is kept whole (about a third of a page): the last page never holds a
    # lone line of it.
    needed = 14 + sum(pdf.paragraph_height(t, bullet=True) + 0.8 for t in LIMITS)
    if pdf.get_y() + needed > pdf.page_break_trigger:
        pdf.add_page()
    pdf.heading("Limits of photo measurement")
    for text in LIMITS:
        pdf.paragraph(text, bullet=True)
        pdf.ln(0.8)
    return bytes(pdf.output())


def _patient_changes(changes: Sequence[MetricChange]) -> list[tuple[MetricChange, str]]:
    """The real changes a patient reads, each measure once per photo compared, and how to
    name the photo when a measure changed in more than one: the visit's own values (the mean
    of both sides where both visits have it), never a difference of two photos."""
    with_mean = {c.metric for c in changes if c.slot == SIDES_MEAN and c.change is not None}
    real = [c for c in changes if c.real and c.slot not in (LEFT_MINUS_RIGHT, FRONT_MINUS_BACK)
            and not (c.slot in ("left", "right") and c.metric in with_mean)]
    counts: dict[str, int] = {}
    for c in real:
        counts[c.metric] = counts.get(c.metric, 0) + 1
    return [(c, f" ({_plain_photos(c)})" if counts[c.metric] > 1 else "") for c in real]


def _plain_photos(c: MetricChange) -> str:
    """Which photos a change is read from, for the patient: "front photo", "your left side"."""
    if c.before_slot not in ("", c.slot):
        return c.photos.lower()
    return {"front": "front photo", "back": "back photo", "left": "your left side",
            "right": "your right side", SIDES_MEAN: "both sides"}.get(c.slot, c.photos.lower())


def patient_sheet_pdf(visit: VisitRecord, previous: VisitRecord | None = None, *,
                      generated: date | None = None) -> bytes:
    """One page for the patient, in plain words: what the screening noticed by body region,
    the annotated photos, and (with an earlier visit) what changed for real since then.

    No numbers beyond the photos' labels, no diagnosis: the clinic's wording
    (`posture.metrics.summary`) says it.
    """
    generated = generated or date.today()
    day = visit.visit_date.isoformat() if visit.visit_date else visit.label
    pdf = _Report(f"posture {visit.posture_version}, {generated.isoformat()}. A screening, "
                  "not a diagnosis: ask your clinician what it means for you.",
                  f"{_clip(visit.patient_name or visit.subject, MAX_NAME) or 'Patient'} - {day}")
    pdf.set_auto_page_break(False)  # one page: the photos shrink to what is left
    pdf.add_page()
    pdf.font(15, bold=True)
    pdf.cell(0, 9, pdf.text_("Your posture screening"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.font(9, colour=MUTED)
    who = " - ".join(t for t in (_clip(visit.patient_name, MAX_NAME), day) if t)
    pdf.cell(0, 5, pdf.text_(who), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.heading("What we noticed")
    for title, lines in patient_lines(region_summary(results_from_rows(visit.rows))).items():
        pdf.paragraph(f"{title}: " + (" ".join(lines) if lines else "nothing to note."),
                      size=10, bullet=True)
    if previous is not None:
        comparison = compare_visits(previous, visit)
        real = _patient_changes(comparison.changes)
        pdf.heading(f"Since your visit of {previous.label}")
        if not real:
            pdf.paragraph("No change larger than the measurement's own margin.", size=10)
        for c, photos in real[:8]:
            pdf.paragraph(f"{c.label}{photos}: {c.meaning or 'changed'}.", size=10, bullet=True)
        if comparison.new_photos:
            pdf.paragraph("New at this visit, nothing to compare with yet: " + ", ".join(
                slot_title(s).lower() for s in comparison.new_photos) + ".", size=9,
                colour=MUTED)
    images = [(slot_title(slot), visit.images[slot]) for slot in _photo_slots(visit)]
    room = pdf.page_break_trigger - pdf.get_y() - 12
    if images and room > 40:
        pdf.heading("Your photos")
        photo_row(pdf, images, max_height=min(120.0, room - 10))
    return bytes(pdf.output())
