"""Taking the photos in the app: the camera component and what it returns.

The component (components/capture/index.html) shows the live camera with a framing guide for
the view, a live level from the device's orientation sensor, and a shutter enabled only when
the device is level within a tolerance (the clinician can override it), with a countdown for
one person working alone. It returns the photo as a JPEG with the roll and pitch measured at
the shutter. Browsers give the camera and the motion sensors only to secure pages (HTTPS or
localhost): see README, "Taking the photos on a tablet".
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from pathlib import Path

import streamlit.components.v1 as components

from posture.camera import RollEstimate, roll_from_device
from posture.errors import InputError

_component = components.declare_component(
    "posture_capture", path=str(Path(__file__).parent / "components" / "capture"))

# The level the shutter waits for, in degrees: 1 deg of roll reads as 1 deg of shoulder or
# pelvic tilt (METRICS.md), the size of the asymmetries screened; pitch (the camera pointing
# up or down) changes lengths and angles less, by perspective.
ROLL_TOLERANCE_DEG = 1.0
PITCH_TOLERANCE_DEG = 3.0
JPEG_PREFIX = "data:image/jpeg;base64,"
CAPTURED = "capture-"    # the file name of every photo taken in the app starts so
# A 4K frame as a JPEG is about 2-4 MB; anything far larger is not a camera frame.
MAX_PHOTO_BYTES = 30 * 1024 * 1024

# The photo protocol, short form (README "Taking the photos" has the long one).
PROTOCOL = (
    "Camera at the height of the patient's navel, 2-4 m away, level (the bar turns green).",
    "Fitted clothes or underwear, hair tied up, barefoot; arms relaxed a hand away from the "
    "body.",
    "Patient stands naturally, feet hip-width apart, looking ahead; whole body in the frame, "
    "head below the top line, feet on the bottom line.",
    "Front: facing the camera. Back: the back to the camera. Left side: the patient's left "
    "side toward the camera (facing the image's left); right side the same way round. Any of "
    "the four, in any order.",
)


@dataclass(frozen=True)
class CapturedPhoto:
    """A photo taken in the app: JPEG bytes and the device's level at the shutter.

    roll_deg: how far the scene appears turned counter-clockwise in the photo (the device
        turned clockwise as the user sees the screen), from the orientation sensor; None when
        the device has no sensor. pitch_deg: the camera's axis above the horizontal.
    """

    name: str
    data: bytes
    roll_deg: float | None
    pitch_deg: float | None
    overridden: bool        # taken although not level
    facing: str             # "environment" (rear camera) or "user" (front camera: mirrored?)
    taken_at: str

    @property
    def level(self) -> RollEstimate | None:
        """The camera level to measure against, or None (no sensor: estimate from the photo)."""
        if self.roll_deg is None:
            return None
        return roll_from_device(self.roll_deg, self.pitch_deg)


def parse_capture(value: dict | None, view: str) -> CapturedPhoto | None:
    """The component's value as a CapturedPhoto; None before a photo is taken.

    Raises InputError (one line) on a value that is not a JPEG photo from the component.
    """
    if not value or value.get("retake"):
        return None
    image = value.get("image")
    if not isinstance(image, str) or not image.startswith(JPEG_PREFIX):
        raise InputError("The camera returned no JPEG photo: take the photo again.")
    try:
        data = base64.b64decode(image[len(JPEG_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise InputError("The camera's photo was damaged in transfer: take it again.") from None
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise InputError("The camera's photo is empty or too large: take it again.")
    roll, pitch = (_angle(value.get(k)) for k in ("roll", "pitch"))
    if value.get("level") != "device":
        roll = pitch = None
    taken_at = str(value.get("taken_at") or "")[:32]
    stamp = "".join(c for c in taken_at if c.isdigit())[:14] or "photo"
    return CapturedPhoto(name=f"{CAPTURED}{view}-{stamp}.jpg", data=data, roll_deg=roll,
                         pitch_deg=pitch, overridden=bool(value.get("overridden")),
                         facing="user" if value.get("facing") == "user" else "environment",
                         taken_at=taken_at)


def _angle(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


@dataclass(frozen=True)
class CameraState:
    """What the camera holds: the photo taken (None before one is, or after "Retake"), and
    whether "Retake" was pressed (an earlier photo of this view is then dropped)."""

    photo: CapturedPhoto | None
    retaken: bool


def camera(view: str, key: str, roll_tolerance: float = ROLL_TOLERANCE_DEG,
           pitch_tolerance: float = PITCH_TOLERANCE_DEG) -> CameraState:
    """Show the camera for one view ("front", "side", "back", "left", "right").

    Raises InputError (one line) when what the camera returned is not a photo."""
    value = _component(view=view, roll_tolerance=roll_tolerance,
                       pitch_tolerance=pitch_tolerance, key=key, default=None)
    return CameraState(parse_capture(value, view), bool(value and value.get("retake")))
