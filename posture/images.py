"""Photo decoding: bytes in, an upright RGB array out, or an ``ImageError``.

This module knows nothing of bodies. It reads a photo (a path or the bytes of an upload),
refuses what cannot be analysed *before* decoding pixels (empty files, non-images, SVG,
decompression bombs, tiny images), decodes the rest at a working resolution, applies the EXIF
orientation and returns a read-only ``HxWx3`` ``uint8`` array.

Working resolution: long side at most ``max_side`` (``WORKING_MAX_SIDE``, 1280). A large JPEG is
decoded by libjpeg at 1/2, 1/4 or 1/8 scale and kept as decoded when that lands between
``JPEG_DRAFT_MIN_FRACTION * max_side`` and ``max_side`` (a 12 MP phone photo, 3120x4160, comes
out 780x1040); other photos larger than ``max_side`` are resampled with Lanczos to exactly it.

Coordinates: the array is indexed ``rgb[row, col]`` with y down, in *working* pixels. Multiply
by ``Photo.scale`` to get pixels of the upright full-resolution photo.

Importing this module does nothing but define things: the HEIF opener of ``pillow_heif`` is
registered on the first call of :func:`load_photo`, and Pillow's global settings
(``MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``) are never changed.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from posture.errors import ImageError, InputError

MAX_PIXELS: int = 80_000_000
"""Largest photo accepted, in pixels (width x height), checked from the header before decoding.

Above every phone camera sold so far (a 200 MP sensor bins to 50 MP by default) and below
Pillow's own decompression-bomb threshold (about 89.5 MP, still checked by its GIF and TIFF
plugins), so Pillow's check never fires for a photo this limit accepts.
"""

MAX_FILE_BYTES: int = 60 * 1024 * 1024
"""Largest file accepted, in bytes (60 MiB)."""

WORKING_MAX_SIDE: int = 1280
"""Default upper bound, in pixels, on the long side of the decoded working image.

Photos larger than this come out with a long side of exactly 1280, except JPEGs that libjpeg
can decode directly at a reduced scale landing between 960 (``JPEG_DRAFT_MIN_FRACTION`` of it)
and 1280: those are kept at that size, unresampled (a 3120x4160 phone photo comes out 780x1040).
Landmark detectors work on far smaller inputs (MediaPipe's pose model on 256x256), so this keeps
ample detail for drawing reports while decoding a 12 MP JPEG in about 25 milliseconds.
"""

JPEG_DRAFT_MIN_FRACTION: float = 0.75
"""Smallest long side, as a fraction of ``max_side``, of a JPEG decoded at reduced DCT scale.

Why: a working image between 960 and 1280 px keeps ample detail (the pose model sees the person
at 256 px, its crop is at most 512 px), and a 12 MP JPEG then decodes in 25 ms instead of 60.
"""

MIN_SIDE: int = 32
"""Shortest side, in pixels, of a photo that can be analysed at all."""

# Formats Image.open may try. Restricting them keeps Pillow from identifying (and later running
# Ghostscript on) EPS, or parsing exotic formats no camera writes. MPO is what Pillow reports for
# a phone JPEG carrying a multi-picture (depth map) extension; it opens through the JPEG plugin.
_ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF", "AVIF")

# The EXIF Orientation tag (0x0112) and the transpose that makes each value upright: the table of
# ImageOps.exif_transpose, applied here ourselves because the tag is read once, validated, and
# the image has been converted and resized by the time it is applied.
_ORIENTATION_TAG = 0x0112
_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# What Pillow raises on damaged or hostile input, while opening, decoding or parsing EXIF.
# struct.error, IndexError, KeyError and TypeError come from its pure-Python parsers (TIFF/EXIF
# IFDs, PNG chunks, GIF extensions); zlib.error from compressed PNG text and ICC chunks;
# RuntimeError is how pillow_heif reports every libheif failure (corrupt or hostile HEIC).
# UserWarning: Pillow warns about corrupt EXIF ("Truncated File Read"); a process running with
# warnings as errors gets it raised, and then the file counts as damaged rather than escaping.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    RuntimeError,
    UserWarning,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)

_DAMAGED = "The photo file is damaged or incomplete ({why}); export or copy it again"
_NOT_AN_IMAGE = (
    "The file is not a photo this tool can read; export it as JPEG or PNG "
    "(also accepted: WebP, HEIC, TIFF, BMP, GIF)"
)

# Leading bytes of the accepted formats, to tell "damaged photo" from "not a photo at all" when
# Pillow cannot identify a file.
_MAGIC: tuple[bytes, ...] = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"BM",
)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1", b"avif", b"avis")


@dataclass(frozen=True)
class Photo:
    """A decoded photo, upright, at working resolution.

    Attributes:
        rgb: ``HxWx3`` ``uint8`` array, upright (EXIF orientation applied), C-contiguous and
            read-only (``rgb.flags.writeable`` is False). Long side at most the ``max_side``
            passed to :func:`load_photo` (see its "Decoding:" paragraph for the exact size).
        original_size: ``(width, height)`` in pixels of the upright full-resolution photo.
        scale: original pixels per working pixel, ``>= 1.0`` (exactly 1.0 when not downscaled),
            the original long side over the working long side (4.0 for a 4160 px JPEG decoded
            at 1/4). It is exact along the long side; along the short side the working size
            was rounded to whole pixels (by the decoder, up, for a JPEG kept at its reduced
            scale), so the ratio there differs by less than one working pixel.
        source_format: the format as Pillow reports it: "JPEG", "MPO" (a JPEG with a
            multi-picture extension), "PNG", "WEBP", "HEIF", "TIFF", "BMP", "GIF", "AVIF".
        exif_orientation: the EXIF orientation 1..8 as stored in the file; 1 when absent or out
            of range (such values are ignored, never an error).
        name: display name only (the file name, or "upload"); never used as a path.
        camera: the camera and lens the file's EXIF names (Make, Model, LensModel), "" when
            none: evidence for or against a mirrored (front-camera) photo.
    """

    rgb: np.ndarray
    original_size: tuple[int, int]
    scale: float
    source_format: str
    exif_orientation: int
    name: str
    camera: str = ""


def load_photo(
    source: str | os.PathLike[str] | bytes,
    *,
    max_side: int = WORKING_MAX_SIDE,
    name: str | None = None,
) -> Photo:
    """Decode a photo into an upright RGB working image.

    Args:
        source: a file path, or the file's bytes (an upload).
        max_side: upper bound, in pixels, on the long side of the returned working image;
            larger photos are downscaled to it (JPEGs by the decoder itself, possibly to less,
            see below), smaller ones are kept at their size, never enlarged. At least
            ``MIN_SIDE``.
        name: display name for the photo; defaults to the file name, or "upload" for bytes.

    Returns:
        A :class:`Photo`: ``rgb`` is ``HxWx3`` ``uint8`` with ``max(H, W) <= max_side``.

    Raises:
        ImageError: the input cannot be analysed: empty, larger than ``MAX_FILE_BYTES``, not an
            image (or an SVG), more than ``MAX_PIXELS`` pixels, less than ``MIN_SIDE`` pixels
            on a side, truncated or otherwise damaged, or in a colour mode that cannot be
            converted. The message is one line and says what to do.
        InputError: ``source`` is a path that does not exist or is not a readable file, or
            ``max_side`` is below ``MIN_SIDE``.

    Accepted: JPEG, PNG, WebP, BMP, TIFF (first page), GIF (first frame), HEIC/HEIF (through
    ``pillow_heif``) and AVIF where Pillow supports it. Pixel sizes are checked from the header
    before any pixel is decoded.

    Decoding: a JPEG larger than ``max_side`` is decoded with libjpeg's DCT scaling
    (``Image.draft``) at the smallest of the 1/2, 1/4 and 1/8 scales whose long side (rounded
    up) is still ``>= JPEG_DRAFT_MIN_FRACTION * max_side``; if that long side is ``<= max_side``
    the decoded image is used as it is, with no resampling (3120x4160 at 1/4: 780x1040, scale
    4.0), otherwise it is resampled with Lanczos to a long side of ``max_side`` (3264 px at 1/2:
    1632, then 1280). A JPEG with no such scale (1600 px: 800 at 1/2 is under 960) is decoded
    in full and resampled likewise. Other formats are decoded in full and resampled with
    Lanczos to a long side of ``max_side``. A Lanczos step shrinking 3x or more starts with an
    integer box reduction (``reducing_gap=1.5``) that leaves at least 1.5x to Lanczos.

    Colour modes become RGB as follows: transparency (RGBA, LA, PA, P or L with a transparent
    colour) is composited on white; CMYK and YCbCr are converted by Pillow (ICC profiles are
    not applied); 16-bit greyscale (``I;16*``) is mapped to 8 bits by its nominal range
    (``v * 255 / 65535``), so an image using only 12 of its 16 bits comes out dark; 32-bit
    integer (``I``) and float (``F``) greyscale have no nominal range and are stretched from
    their own minimum..maximum to 0..255; bilevel (``1``) becomes black and white.

    Orientation: JPEG, PNG and WebP are turned upright here; Pillow's TIFF plugin and libheif
    (HEIC) turn theirs upright while decoding. ``exif_orientation`` reports the stored value in
    every case.

    Caveats: a photo whose EXIF block Pillow finds corrupt loads (as orientation 1) while
    Pillow prints a ``UserWarning``; in a process running with warnings as errors
    (``python -W error``) that warning is raised inside Pillow and the photo is refused as
    damaged. Thread-safe: no global state (Pillow settings, warning filters) is changed, so
    Streamlit sessions may call it concurrently.
    """
    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < MIN_SIDE:
        raise InputError(f"max_side must be an integer of at least {MIN_SIDE} pixels")

    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        display = "upload" if name is None else name
    elif isinstance(source, (str, os.PathLike)):
        data = _read_file(source)
        display = Path(source).name if name is None else name
    else:
        raise TypeError(f"source must be a path or bytes, not {type(source).__name__}")

    _check_bytes(data)
    _register_heif()
    data, jpeg_exif = _jpeg_without_exif(data)
    im = _open(data)
    if jpeg_exif is not None:
        im.info["exif"] = jpeg_exif   # read by exif_tags, never by Pillow
    try:
        return _decode(im, max_side=max_side, name=display)
    finally:
        im.close()


def _jpeg_without_exif(data: bytes) -> tuple[bytes, bytes | None]:
    """A JPEG's bytes with its EXIF segments (APP1 "Exif") taken out, and the first of them.

    Pillow's JPEG reader parses EXIF while opening (for the DPI) and prints a UserWarning with
    its own file path on a malformed block; `exif_tags` reads what is needed instead. Anything
    that is not a JPEG with well-formed segments up to the image data is returned unchanged.
    """
    if not data.startswith(b"\xff\xd8"):
        return data, None
    at, kept, exif = 2, [data[:2]], None
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA or marker == 0xD9:      # start of scan / end: the rest as it is
            break
        if marker == 0xFF:                         # fill byte
            at += 1
            continue
        length = int.from_bytes(data[at + 2:at + 4], "big")
        if length < 2 or at + 2 + length > len(data):
            return data, None
        segment = data[at:at + 2 + length]
        if marker == 0xE1 and segment[4:10] == b"Exif\x00\x00":
            exif = exif if exif is not None else segment[4:]
        else:
            kept.append(segment)
        at += 2 + length
    if exif is None:
        return data, None
    return b"".join(kept) + data[at:], exif


def strip_metadata_png(rgb: np.ndarray) -> bytes:
    """Encode an RGB array as PNG bytes carrying no metadata at all.

    Args:
        rgb: ``HxWx3`` ``uint8`` array (any memory layout; read-only is fine).

    Returns:
        A PNG file with only the IHDR, IDAT and IEND chunks: no EXIF (so no GPS position, no
        camera serial number), no text chunks, no ICC profile, no physical pixel size. Decoding
        it gives back ``rgb`` exactly (PNG is lossless).

    Raises:
        ValueError: ``rgb`` is not an ``HxWx3`` ``uint8`` array.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise ValueError("strip_metadata_png needs a uint8 NumPy array")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"strip_metadata_png needs an HxWx3 array, got shape {rgb.shape}")
    # A fresh image from raw pixels has an empty info dict; Pillow's PNG writer adds chunks
    # (tEXt, eXIf, iCCP, pHYs) only from pnginfo/exif/icc_profile/dpi, none of which are passed.
    im = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    buf = io.BytesIO()
    # Level 1: several times faster than 6 for photos, files about 15 % larger.
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# --- reading ---------------------------------------------------------------------------------


def _read_file(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes; at most MAX_FILE_BYTES + 1 are read so a huge file is never loaded."""
    shown = _one_line(os.fsdecode(path))
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise InputError(f"No file at {shown}; check the path") from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        why = _one_line(getattr(exc, "strerror", None) or str(exc))
        raise InputError(f"{shown} cannot be opened ({why}); check the path") from exc
    if not stat.S_ISREG(st.st_mode):
        # Folders, and FIFOs or devices, which could block or never end.
        raise InputError(f"{shown} is not a regular file; choose a photo file")
    if st.st_size > MAX_FILE_BYTES:
        raise ImageError(_too_big_message(st.st_size))
    try:
        with open(path, "rb") as f:
            return f.read(MAX_FILE_BYTES + 1)
    except PermissionError as exc:
        raise InputError(
            f"{shown} cannot be read (permission denied); check its access rights"
        ) from exc
    except OSError as exc:
        why = _one_line(exc.strerror or str(exc))
        raise ImageError(
            f"The photo file could not be read ({why}); copy it to this computer and try again"
        ) from exc


def _check_bytes(data: bytes) -> None:
    """Refuse, from the bytes alone, what is empty, too large or a vector drawing."""
    if not data:
        raise ImageError("The photo file is empty (0 bytes); copy or export it again")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(_too_big_message(len(data)))
    if _looks_like_svg(data):
        raise ImageError("SVG is a vector format; export the photo as JPEG or PNG")
    if data.startswith(b"%PDF"):
        raise ImageError("This is a PDF document, not a photo; export the photo as JPEG or PNG")


def _has_image_signature(data: bytes) -> bool:
    if data.startswith(_MAGIC):
        return True
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in head


def _too_big_message(n_bytes: int) -> str:
    return (
        f"The photo file is {n_bytes / 2**20:.0f} MB, above the {MAX_FILE_BYTES / 2**20:.0f} MB "
        "limit; export it as a JPEG at a smaller size"
    )


@functools.cache
def _register_heif() -> None:
    """Register pillow_heif's HEIF opener with Pillow, once (registration is idempotent)."""
    import pillow_heif  # deferred: importing it loads libheif

    pillow_heif.register_heif_opener()


# --- decoding --------------------------------------------------------------------------------


def _open(data: bytes) -> Image.Image:
    """Identify the image and read its header only; no pixel is decoded yet."""
    gif_extent = _gif_extent(data)
    if gif_extent is not None:
        _check_pixels(*gif_extent)
    try:
        im = _identify(data)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The GIF plugin checks a frame larger than its canvas (the warning is raised only when
        # the process turns warnings into errors).
        raise ImageError(_too_many_pixels_message()) from exc
    except _DECODE_ERRORS as exc:
        raise ImageError(_DAMAGED.format(why=_why(exc))) from exc
    if im is None and data[:4] in (b"II*\x00", b"MM\x00*"):
        im = _float_rgb_tiff(data)   # a format Pillow cannot open; None if not that either
    if im is None:
        if _has_image_signature(data):
            raise ImageError(_DAMAGED.format(why="corrupt data"))
        raise ImageError(_NOT_AN_IMAGE)

    try:
        _check_pixels(*im.size)
        if min(im.size) < MIN_SIDE:
            raise ImageError(_too_small_message(*im.size))
    except ImageError:
        im.close()
        raise
    return im


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"The photo is {width} x {height} pixels ({width * height / 1e6:.0f} MP), above the "
            f"{MAX_PIXELS / 1e6:.0f} MP limit; export it at a smaller size"
        )


def _gif_extent(data: bytes) -> tuple[int, int] | None:
    """(width, height) Pillow will give a GIF: its canvas grown to cover the first frame.

    Pillow's GIF plugin checks that size itself while opening and warns between ~89.5 and
    179 MP; checking it here first keeps that warning from ever being printed. None for data
    that is not a GIF or ends before the first frame (Pillow then refuses it itself).
    """
    if not data.startswith((b"GIF87a", b"GIF89a")) or len(data) < 13:
        return None
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    at = 13
    if flags & 0x80:  # global colour table of 2^(n+1) RGB entries
        at += 3 << ((flags & 7) + 1)
    while at < len(data):
        if data[at] == 0x21:  # extension: label byte, then data sub-blocks up to a 0 length
            at += 2
            while at < len(data) and data[at]:
                at += data[at] + 1
            at += 1
        elif data[at] == 0x2C and at + 9 <= len(data):  # image descriptor
            left, top, frame_width, frame_height = struct.unpack_from("<HHHH", data, at + 1)
            return max(width, left + frame_width), max(height, top + frame_height)
        else:
            return None
    return None


# TIFF tags of a floating-point colour image (TIFF 6.0 and its SampleFormat tag 339, value 3
# = IEEE float): width, height, bits per sample, compression, photometric, strip offsets,
# samples per pixel, rows per strip, strip byte counts, planar configuration.
_T_WIDTH, _T_HEIGHT, _T_BITS, _T_COMPRESSION, _T_PHOTOMETRIC = 256, 257, 258, 259, 262
_T_OFFSETS, _T_SAMPLES, _T_COUNTS, _T_PLANAR, _T_FORMAT = 273, 277, 279, 284, 339
_TIFF_TYPES = {3: "H", 4: "I"}


def _tiff_ifd0(data: bytes) -> dict[int, list[int]] | None:
    """IFD0's SHORT and LONG tags of a TIFF, as lists of numbers; None if malformed."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        (at,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, at)
        tags = {}
        for i in range(min(count, 512)):
            tag, kind, n = struct.unpack_from(order + "HHI", data, at + 2 + 12 * i)
            code = _TIFF_TYPES.get(kind)
            if code is None or not 0 < n <= 1 << 16:
                continue
            field = at + 2 + 12 * i + 8
            size = struct.calcsize(code) * n
            start = field if size <= 4 else struct.unpack_from(order + "I", data, field)[0]
            tags[tag] = list(struct.unpack_from(order + code * n, data, start))
        return tags
    except struct.error:
        return None


def _float_rgb_tiff(data: bytes) -> Image.Image | None:
    """An uncompressed, interleaved RGB(A) TIFF of 16, 32 or 64-bit floats (as scientific and
    HDR tools write), which Pillow cannot open, as an RGB image; None for any other TIFF.

    Values with a nominal 0..1 range (all finite values inside it) map to 0..255; otherwise
    they are stretched min..max, as float greyscale is. NaN and infinity become 0.
    Raises ImageError for a float colour TIFF this reader does not handle (compressed, planar).
    """
    tags = _tiff_ifd0(data)
    if not tags or tags.get(_T_FORMAT, [1])[0] != 3:
        return None
    samples = tags.get(_T_SAMPLES, [1])[0]
    bits = tags.get(_T_BITS, [0])[0]
    if samples not in (3, 4) or tags.get(_T_PHOTOMETRIC, [2])[0] != 2:
        return None   # float greyscale: Pillow's mode F reads it
    if (tags.get(_T_COMPRESSION, [1])[0] != 1 or tags.get(_T_PLANAR, [1])[0] != 1
            or bits not in (16, 32, 64) or _T_OFFSETS not in tags or _T_COUNTS not in tags):
        raise ImageError("The photo is a floating-point colour TIFF stored in a way this tool "
                         "cannot read (compressed or planar); export it as an 8- or 16-bit "
                         "JPEG, PNG or TIFF")
    width, height = tags[_T_WIDTH][0], tags[_T_HEIGHT][0]
    _check_pixels(width, height)
    if min(width, height) < MIN_SIDE:
        raise ImageError(_too_small_message(width, height))
    strips = [data[o:o + n] for o, n in zip(tags[_T_OFFSETS], tags[_T_COUNTS])]
    dtype = np.dtype(f"{'<' if data[:2] == b'II' else '>'}f{bits // 8}")
    raw = b"".join(strips)
    need = width * height * samples * dtype.itemsize
    if len(raw) < need:
        raise ImageError(_DAMAGED.format(why="truncated"))
    values = np.frombuffer(raw[:need], dtype=dtype).reshape(height, width, samples)[..., :3]
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    low, high = (values[finite].min(), values[finite].max()) if finite.any() else (0.0, 1.0)
    if low < 0.0 or high > 1.0:
        values = (values - low) / (high - low if high > low else 1.0)
    rgb = np.clip(np.rint(np.where(finite, values, 0.0) * 255.0), 0, 255).astype(np.uint8)
    im = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    im.format = "TIFF"
    return im


def _identify(data: bytes) -> ImageFile.ImageFile | None:
    """The image, header read, or None when no accepted format recognises the data.

    Image.open without its decompression-bomb check: that check warns between ~89.5 and 179 MP
    through the process-wide warnings machinery, which cannot be silenced per call from
    several threads. The size is checked by the caller against MAX_PIXELS instead. The loop is
    Image.open's own: each registered plugin's accept() on the first bytes, then its factory;
    the same exceptions mean "not this format".
    """
    Image.init()  # imports every plugin once; later calls return at once
    fp = io.BytesIO(data)
    prefix = data[:16]
    for fmt in _ALLOWED_FORMATS:
        if fmt not in Image.OPEN:  # AVIF when Pillow was built without libavif
            continue
        factory, accept = Image.OPEN[fmt]
        try:
            accepted = accept is None or accept(prefix)
            if not accepted or isinstance(accepted, str):  # a str explains a refusal
                continue
            fp.seek(0)
            return factory(fp, "")
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue
    return None


def _decode(im: Image.Image, *, max_side: int, name: str) -> Photo:
    width, height = im.size
    drafted = False
    stored_orientation = None
    try:
        if im.format == "TIFF":
            # Pillow's TIFF plugin reports the upright size, turns the pixels upright itself on
            # load and then drops the tag: note the stored value before that.
            stored_orientation = _orientation(im)
        if im.format in ("JPEG", "MPO") and max(width, height) > max_side:
            factor = _draft_factor(max(width, height), max_side)
            if factor > 1:
                # DCT scaling: libjpeg decodes at 1/factor size (each side rounded up). Pillow
                # picks the largest of 8, 4, 2 not above min(width // w, height // h) for the
                # size (w, h) asked, which for these sizes is exactly `factor`.
                drafted = im.draft("RGB", (width // factor, height // factor)) is not None
        im.load()
        if not drafted and im.size != (width, height):
            # pillow_heif applies a HEIF crop (clap box) only while decoding.
            width, height = im.size
            if min(width, height) < MIN_SIDE:
                raise ImageError(_too_small_message(width, height))
        if drafted and max(im.size) <= max_side:
            work = im.size  # the decoder's reduced scale is the working size: no resampling
        else:
            work = _working_size(width, height, max_side)
        orientation = _orientation(im)
        rgb = _to_rgb(im)
        if rgb.size != work:
            # reducing_gap=1.5: an exact integer box reduction (Image.reduce) first, leaving at
            # least 1.5x to Lanczos. On a 12 MP PNG (3.25x) that is 2.5 times faster than plain
            # Lanczos (40 against 105 ms), within 2 levels of it (0.3 on average); 2.0 or 3.0
            # would not reduce at all below 4x or 6x.
            rgb = rgb.resize(work, Image.Resampling.LANCZOS, reducing_gap=1.5)
        if orientation in _TRANSPOSE:
            rgb = rgb.transpose(_TRANSPOSE[orientation])
        array = np.array(rgb, dtype=np.uint8, order="C")
    except ImageError:
        raise  # already worded for the clinician (ImageError is a ValueError too)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's TIFF plugin checks its tile size on load (the warning is raised only when
        # the process turns warnings into errors).
        raise ImageError(_too_many_pixels_message()) from exc
    except _UnsupportedMode as exc:
        raise ImageError(
            f"The photo uses the colour mode {exc.mode}, which this tool cannot convert; "
            "export it as an RGB JPEG or PNG"
        ) from exc
    except _DECODE_ERRORS as exc:
        raise ImageError(_DAMAGED.format(why=_why(exc))) from exc
    array.flags.writeable = False

    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if im.format == "HEIF":
        # libheif has already turned the pixels (and the header size) upright and pillow_heif
        # reset the EXIF tag to 1, keeping the value the file held here.
        stored_orientation = _valid_orientation(im.info.get("original_orientation"))
    return Photo(
        rgb=array,
        original_size=upright,
        scale=max(width, height) / max(array.shape[:2]),
        source_format=str(im.format),
        exif_orientation=stored_orientation or orientation,
        name=name,
        camera=_camera(im),
    )


def _draft_factor(long_side: int, max_side: int) -> int:
    """The JPEG DCT scale denominator to decode at: the largest of 8, 4, 2 whose long side
    (libjpeg rounds it up) is still >= JPEG_DRAFT_MIN_FRACTION * max_side, or 1 for none.

    4160 -> 4 (1040), 4032 -> 4 (1008), 8000 -> 8 (1000), 3264 -> 2 (1632, above max_side:
    resampled after), 1600 -> 1 (800 at 1/2 is too small) with the default max_side.
    """
    for factor in (8, 4, 2):
        if -(-long_side // factor) >= JPEG_DRAFT_MIN_FRACTION * max_side:
            return factor
    return 1


def _working_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) with the long side at most max_side, from the full-resolution size.

    Computed from the full size, not from a JPEG's reduced decode, so that Photo.scale is exact
    on the long side whatever reduction the decoder chose.
    """
    ratio = max(width, height) / max_side
    if ratio <= 1.0:
        return width, height
    return max(1, round(width / ratio)), max(1, round(height / ratio))


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation 1..8, or 1 when absent, out of range or unreadable."""
    if im.format == "TIFF":
        # A TIFF's own tags, read by Pillow when it opened the file.
        tags = getattr(im, "tag_v2", None)
        return _valid_orientation(tags.get(_ORIENTATION_TAG, 1) if tags is not None else 1)
    return _valid_orientation(exif_tags(im.info.get("exif")).get(_ORIENTATION_TAG, 1))


# EXIF tags read by `exif_tags`: IFD0's Make, Model, Orientation, Software; the Exif IFD's
# LensMake and LensModel (CIPA DC-008-2019, "Exif 2.32", tags 0x010F, 0x0110, 0x0112, 0x0131,
# 0xA433, 0xA434; the Exif IFD is found through IFD0's pointer tag 0x8769).
_EXIF_WANTED = {0x010F, 0x0110, 0x0112, 0x0131, 0xA433, 0xA434}
_EXIF_IFD_POINTER = 0x8769
_EXIF_ASCII, _EXIF_SHORT, _EXIF_LONG = 2, 3, 4


def exif_tags(raw: bytes | None) -> dict[int, object]:
    """A few EXIF tags (`_EXIF_WANTED`) from a raw EXIF block: text as str, numbers as int.

    Read here rather than by Pillow's `getexif`, which prints a UserWarning naming its own
    source file on a malformed block ("Truncated File Read") and is not silenced per call from
    several threads. Every offset is bounds-checked; a malformed block yields what was read
    before the fault, or {} (never an error: a broken EXIF block must not cost the photo).
    """
    if not raw:
        return {}
    data = bytes(raw)
    if data.startswith(b"Exif\x00\x00"):
        data = data[6:]
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return {}
    order = "<" if data[:2] == b"II" else ">"
    out: dict[int, object] = {}

    def unpack(fmt: str, at: int):
        size = struct.calcsize(order + fmt)
        if at < 0 or at + size > len(data):
            raise IndexError(at)
        return struct.unpack_from(order + fmt, data, at)

    def read_ifd(at: int, follow: bool) -> None:
        (count,) = unpack("H", at)
        for i in range(min(count, 512)):
            tag, kind, n = unpack("HHI", at + 2 + 12 * i)
            field = at + 2 + 12 * i + 8
            if tag == _EXIF_IFD_POINTER and follow and kind in (_EXIF_LONG, 13) and n == 1:
                (pointer,) = unpack("I", field)
                read_ifd(pointer, follow=False)
            elif tag not in _EXIF_WANTED or n == 0:
                continue
            elif kind == _EXIF_SHORT:
                out[tag] = unpack("H", field)[0]
            elif kind == _EXIF_LONG:
                out[tag] = unpack("I", field)[0]
            elif kind == _EXIF_ASCII and n <= 4096:
                start = field if n <= 4 else unpack("I", field)[0]
                unpack(f"{n}s", start)   # bounds
                text = data[start:start + n].split(b"\x00", 1)[0]
                out[tag] = _one_line(text.decode("utf-8", errors="replace")).strip()

    with contextlib.suppress(IndexError, struct.error, RecursionError):
        read_ifd(unpack("I", 4)[0], follow=True)
    return out


def _camera(im: Image.Image) -> str:
    """Make, Model and LensModel from the EXIF, each once, as one line (at most 120 chars)."""
    tags = exif_tags(im.info.get("exif"))
    parts: list[str] = []
    for tag in (0x010F, 0x0110, 0xA434):
        text = tags.get(tag)
        if isinstance(text, str) and text and not any(text in p for p in parts):
            parts.append(text)
    return " ".join(parts)[:120]


def _valid_orientation(value: object) -> int:
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    return 1


class _UnsupportedMode(Exception):
    def __init__(self, mode: str) -> None:
        super().__init__(mode)
        self.mode = mode


def _to_rgb(im: Image.Image) -> Image.Image:
    """An RGB image from any Pillow mode; see load_photo for the mapping."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _grey_to_rgb(im)
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info
    try:
        if has_alpha:
            rgba = im.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return im.convert("RGB")
    except ValueError as exc:
        # Pillow has no conversion for some TIFF modes (LAB, HSV with some layouts).
        if "conversion" in str(exc):
            raise _UnsupportedMode(mode) from exc
        raise


def _grey_to_rgb(im: Image.Image) -> Image.Image:
    values = np.asarray(im)
    if im.mode.startswith("I;16"):
        # Nominal range 0..65535 -> 0..255, rounded (255 / 65535 == 1 / 257).
        grey = ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    else:
        # 32-bit integer and float images have no nominal range: stretch min..max to 0..255.
        values = values.astype(np.float64)
        finite = np.isfinite(values)
        if not finite.any():
            grey = np.zeros(values.shape, dtype=np.uint8)
        else:
            low, high = values[finite].min(), values[finite].max()
            span = high - low if high > low else 1.0
            stretched = np.where(finite, (values - low) / span * 255.0, 0.0)
            grey = np.clip(np.rint(stretched), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(grey), mode="L").convert("RGB")


def _too_small_message(width: int, height: int) -> str:
    return (
        f"The photo is {width} x {height} pixels, too small to analyse (at least {MIN_SIDE} "
        "pixels a side); use the original photo, not a thumbnail"
    )


def _too_many_pixels_message() -> str:
    return (
        f"The photo has too many pixels (above the {MAX_PIXELS / 1e6:.0f} MP limit, or a "
        "damaged header claiming so); export it at a smaller size"
    )


def _why(exc: BaseException) -> str:
    """A short reason for the damaged-file message, from Pillow's exception."""
    text = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in text or "end of file" in text:
        return "truncated"
    if "crc" in text or "broken png" in text:
        return "checksum error"
    return "corrupt data"


def _one_line(text: str) -> str:
    """Text with control characters replaced, safe to put in a one-line message."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
