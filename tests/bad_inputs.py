"""Generate a corpus of awkward and broken image files, at test time, into a directory.

Nothing here is committed as binary: every file is made from a sample photo in
``sample_images/`` or drawn with Pillow. Use it from any test (CLI, app, image loading)::

    from tests.bad_inputs import EXPECTED, make_bad_inputs

    files = make_bad_inputs(tmp_path)          # {key: Path}
    for key, path in files.items():
        expected = EXPECTED[key]
        if expected.refused:                   # must raise ImageError, message matches
            ...                                # re.search(expected.refused, message)
        else:                                  # must load; Photo.rgb has this (width, height)
            ...                                # expected.size, with the default max_side 1280

Must be REFUSED with ``ImageError`` (the regex is matched against the one-line message):

=============================  ==================================================================
key                            why
=============================  ==================================================================
empty                          zero bytes
text_named_jpg                 a text file named ``.jpg``
svg                            vector drawing ("SVG is a vector format")
jpeg_truncated_10/50/90        a real JPEG cut at 10 %, 50 %, 90 % of its bytes
png_truncated_10/50/90         a real photo as PNG, cut likewise
png_bad_crc                    IHDR checksum corrupted
png_header_100000x100000       a 100-byte PNG whose IHDR claims 10 gigapixels (refused from the
                               header in milliseconds, nothing allocated)
png_header_10000x10000         claims 100 MP: inside Pillow's warning band (89.5-179 MP)
png_header_10000x8500          claims 85 MP: above MAX_PIXELS, below Pillow's own threshold
gif_frame_claims_10000x9000    a 100x100 GIF whose first frame claims 10000x9000 (90 MP: Pillow
                               would warn while opening it)
png_1x1                        1 x 1 pixel ("too small")
=============================  ==================================================================

Must LOAD (``size`` is ``Photo.rgb``'s (width, height) with the default ``max_side``):

=============================  ==================================================================
gif_animated                   2 frames (red, then blue), 120x80: the first frame, red
tiff_16bit                     mode I;16 gradient 120x80 (0..65535 -> 0..255)
png_16bit                      mode I;16 PNG 120x80
jpeg_cmyk                      CMYK JPEG 120x80, cyan
jpeg_grey                      mode L JPEG 120x80
jpeg_exif_orientation_9        EXIF orientation 9 (invalid): treated as 1, stays 120x80
png_rgba_transparent           RGBA, fully transparent left half: composited on white
png_palette_transparent        mode P with a transparent palette entry: composited on white
tiff_float                     mode F 120x80 with values -1..1 (stretched to 0..255)
png_bilevel                    mode 1, 120x80
webp / bmp                     ordinary RGB 120x80 in those formats
heic                           RGB 120x80 HEIC, only if pillow_heif can encode on this machine
=============================  ==================================================================

Must LOAD, and then ``analyze`` must give what ``analysis`` names (real photos, cut or pasted):

=============================  ==================================================================
no_person                      250x1040: the garden left of the person in ``leo_test.jpeg``;
                               ``analysis="no_person"``: NoPersonError "No person found"
two_people                     1050x800: ``leo_test.jpeg`` and ``saif1.jpeg`` side by side, each
                               800 px tall; ``analysis="multiple_people"``: that finding
cut_at_knees                   780x740: ``leo_test.jpeg`` cut just below the knees;
                               ``analysis="body_cut_off"``: that finding, and every metric using
                               an ankle has status "out_of_frame"
side_blurred_sigma8            ``leo_test_right.jpg`` (3120x4160) blurred by a Gaussian of sigma
                               8 px, then 1040 px tall, in the side slot;
                               ``analysis="measured"``: analysed, side measures taken, every
                               export finite
side_legs_dark                 ``ana_test_right.jpg``, the lower half at 15 % brightness (legs in
                               deep shadow), then 1040 px tall; at the default passes some find
                               nobody (NaN rows, which crashed the JSON export);
                               ``analysis="measured"``
side_rotated_90                ``leo_test_right.jpg`` at 1040 px, turned a quarter; side slot;
                               ``analysis="on_its_side"``: OrientationError "on its side"
front_rotated_180              ``leo_test.jpeg`` turned upside down: ``analysis="upside_down"``:
                               OrientationError "upside down" (was read as a back view)
jpeg_exif_orientation_3        ``leo_test.jpeg``'s upright pixels with EXIF orientation 3
                               (rotate 180): the loader turns it upside down;
                               ``analysis="upside_down"``
=============================  ==================================================================

Must LOAD without a word on stderr (formerly refused or noisy):

=============================  ==================================================================
tiff_float_rgb                 uncompressed 32-bit float RGB TIFF 120x80 (Pillow cannot open it;
                               it was refused as "damaged")
jpeg_malformed_exif            JPEG 120x80 whose EXIF holds orientation 6 and a Make field
                               pointing past the block's end: loads turned (80x120), and Pillow's
                               "Truncated File Read" warning (naming a file path) is never printed
=============================  ==================================================================
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_images"
# A real 780x1040 phone-style JPEG (112 KB) and a real low-resolution photo (152x317).
SAMPLE_JPEG = SAMPLE_DIR / "usize-backend" / "leo_test.jpeg"
SAMPLE_SMALL = SAMPLE_DIR / "posture-measuremnent" / "front_image.jpg"
# Another person, standing, 900x1600: pasted beside leo for the two-people photo.
SAMPLE_SECOND_PERSON = SAMPLE_DIR / "farazBhatti-bodymeas" / "saif1.jpeg"
# Side photos for the blurred, dark-legged and turned variants.
SAMPLE_SIDE = SAMPLE_DIR / "usize-backend" / "leo_test_right.jpg"
SAMPLE_SIDE_DARK_LEGS = SAMPLE_DIR / "usize-backend" / "ana_test_right.jpg"

SYNTH_SIZE = (120, 80)  # (width, height) of the drawn images: landscape, so rotation shows

_DAMAGED = r"damaged or incomplete"
_PIXELS = r"MP limit"


@dataclass(frozen=True)
class Expected:
    """What load_photo must do with one corpus file.

    refused: regex (re.search) the ImageError message must match; None means it must load.
    size: (width, height) of Photo.rgb when it loads, with the default max_side.
    analysis: for photos that load, what analysing them must give, when it is more than "no
        person in a synthetic picture": "no_person", "multiple_people", "body_cut_off",
        "measured" (analysed, some measure taken), "upside_down" or "on_its_side"
        (OrientationError).
    slot: the slot it is analysed in ("front" or "side").
    """

    refused: str | None = None
    size: tuple[int, int] | None = None
    analysis: str | None = None
    slot: str = "front"


EXPECTED: dict[str, Expected] = {
    "empty": Expected(refused=r"empty"),
    "text_named_jpg": Expected(refused=r"not a photo"),
    "svg": Expected(refused=r"^SVG is a vector format; export the photo as JPEG or PNG$"),
    "jpeg_truncated_10": Expected(refused=_DAMAGED),
    "jpeg_truncated_50": Expected(refused=_DAMAGED),
    "jpeg_truncated_90": Expected(refused=_DAMAGED),
    "png_truncated_10": Expected(refused=_DAMAGED),
    "png_truncated_50": Expected(refused=_DAMAGED),
    "png_truncated_90": Expected(refused=_DAMAGED),
    "png_bad_crc": Expected(refused=_DAMAGED),
    "png_header_100000x100000": Expected(refused=_PIXELS),
    "png_header_10000x10000": Expected(refused=_PIXELS),
    "png_header_10000x8500": Expected(refused=_PIXELS),
    "gif_frame_claims_10000x9000": Expected(refused=_PIXELS),
    "png_1x1": Expected(refused=r"too small"),
    "gif_animated": Expected(size=SYNTH_SIZE),
    "tiff_16bit": Expected(size=SYNTH_SIZE),
    "png_16bit": Expected(size=SYNTH_SIZE),
    "jpeg_cmyk": Expected(size=SYNTH_SIZE),
    "jpeg_grey": Expected(size=SYNTH_SIZE),
    "jpeg_exif_orientation_9": Expected(size=SYNTH_SIZE),
    "png_rgba_transparent": Expected(size=SYNTH_SIZE),
    "png_palette_transparent": Expected(size=SYNTH_SIZE),
    "tiff_float": Expected(size=SYNTH_SIZE),
    "png_bilevel": Expected(size=SYNTH_SIZE),
    "webp": Expected(size=SYNTH_SIZE),
    "bmp": Expected(size=SYNTH_SIZE),
    "heic": Expected(size=SYNTH_SIZE),
    "no_person": Expected(size=(250, 1040), analysis="no_person"),
    "two_people": Expected(size=(1050, 800), analysis="multiple_people"),
    "cut_at_knees": Expected(size=(780, 740), analysis="body_cut_off"),
    "side_blurred_sigma8": Expected(size=(780, 1040), analysis="measured", slot="side"),
    "side_legs_dark": Expected(size=(780, 1040), analysis="measured", slot="side"),
    "side_rotated_90": Expected(size=(1040, 780), analysis="on_its_side", slot="side"),
    "front_rotated_180": Expected(size=(780, 1040), analysis="upside_down"),
    "jpeg_exif_orientation_3": Expected(size=(780, 1040), analysis="upside_down"),
    "tiff_float_rgb": Expected(size=SYNTH_SIZE),
    "jpeg_malformed_exif": Expected(size=(SYNTH_SIZE[1], SYNTH_SIZE[0])),
}


def make_bad_inputs(dirpath: Path | str) -> dict[str, Path]:
    """Write the corpus into ``dirpath`` (created if needed) and return ``{key: path}``.

    Keys are those of ``EXPECTED``; "heic" is left out when pillow_heif cannot encode HEIC on
    this machine. Takes well under a second.
    """
    out = Path(dirpath)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def put(key: str, filename: str, data: bytes) -> None:
        path = out / filename
        path.write_bytes(data)
        files[key] = path

    put("empty", "empty.jpg", b"")
    put("text_named_jpg", "notes.jpg", b"Patient notes: stands with the left shoulder high.\n")
    put("svg", "drawing.svg", SVG)

    jpeg = SAMPLE_JPEG.read_bytes()
    png = encode(Image.open(SAMPLE_SMALL).convert("RGB"), "PNG")
    for percent in (10, 50, 90):
        put(f"jpeg_truncated_{percent}", f"cut_{percent}.jpg", jpeg[: len(jpeg) * percent // 100])
        put(f"png_truncated_{percent}", f"cut_{percent}.png", png[: len(png) * percent // 100])
    put("png_bad_crc", "bad_crc.png", corrupt_ihdr_crc(png))
    for width, height in ((100_000, 100_000), (10_000, 10_000), (10_000, 8_500)):
        put(
            f"png_header_{width}x{height}",
            f"claims_{width}x{height}.png",
            png_header(width, height),
        )
    put("gif_frame_claims_10000x9000", "claims_10000x9000.gif", gif_header(100, 100, 10_000, 9_000))
    put("png_1x1", "one_pixel.png", encode(Image.new("RGB", (1, 1), (90, 90, 90)), "PNG"))

    w, h = SYNTH_SIZE
    frames = [Image.new("RGB", SYNTH_SIZE, colour) for colour in ((255, 0, 0), (0, 0, 255))]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    put("gif_animated", "animated.gif", gif.getvalue())

    ramp16 = (np.linspace(0, 65535, w * h).reshape(h, w)).astype(np.uint16)
    put("tiff_16bit", "grey16.tif", encode(Image.fromarray(ramp16), "TIFF"))
    put("png_16bit", "grey16.png", encode(Image.fromarray(ramp16), "PNG"))
    put("jpeg_cmyk", "cmyk.jpg", encode(Image.new("CMYK", SYNTH_SIZE, (255, 0, 0, 0)), "JPEG"))
    put("jpeg_grey", "grey.jpg", encode(Image.fromarray(ramp16 >> 8).convert("L"), "JPEG"))

    exif = Image.Exif()
    exif[0x0112] = 9
    put(
        "jpeg_exif_orientation_9",
        "orientation9.jpg",
        encode(Image.new("RGB", SYNTH_SIZE, (20, 120, 20)), "JPEG", exif=exif.tobytes()),
    )

    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[:, w // 2 :] = (0, 0, 0, 255)  # left half transparent, right half opaque black
    put("png_rgba_transparent", "rgba.png", encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    palette = Image.new("P", SYNTH_SIZE, 0)
    palette.putpalette([0, 0, 0, 200, 0, 0])
    palette.paste(1, (w // 2, 0, w, h))  # left half index 0 (transparent), right half red
    put("png_palette_transparent", "palette.png", encode(palette, "PNG", transparency=0))
    ramp_float = np.linspace(-1.0, 1.0, w * h, dtype=np.float32).reshape(h, w)
    put("tiff_float", "float.tif", encode(Image.fromarray(ramp_float, "F"), "TIFF"))
    put("png_bilevel", "bilevel.png", encode(Image.new("1", SYNTH_SIZE, 1), "PNG"))

    plain = Image.new("RGB", SYNTH_SIZE, (30, 60, 200))
    put("webp", "plain.webp", encode(plain, "WEBP", quality=90))
    put("bmp", "plain.bmp", encode(plain, "BMP"))
    heic = try_encode_heic(plain)
    if heic is not None:
        put("heic", "plain.heic", heic)

    with Image.open(SAMPLE_JPEG) as leo_file:  # 780x1040, no EXIF orientation
        leo = leo_file.convert("RGB")
    put("no_person", "garden.jpg", encode(leo.crop((0, 0, 250, 1040)), "JPEG", quality=92))
    put("cut_at_knees", "to_the_knees.jpg", encode(leo.crop((0, 0, 780, 740)), "JPEG",
                                                   quality=92))
    with Image.open(SAMPLE_SECOND_PERSON) as saif_file:  # 900x1600
        saif = saif_file.convert("RGB")
    pair = Image.new("RGB", (1050, 800))
    pair.paste(leo.resize((600, 800), Image.Resampling.LANCZOS), (0, 0))
    pair.paste(saif.resize((450, 800), Image.Resampling.LANCZOS), (600, 0))
    put("two_people", "two_people.jpg", encode(pair, "JPEG", quality=92))

    side = _upright(SAMPLE_SIDE, 1040)
    put("side_blurred_sigma8", "side_blurred.jpg",
        encode(_upright(SAMPLE_SIDE, 1040, blur=8), "JPEG", quality=92))
    put("side_legs_dark", "side_legs_dark.jpg",
        encode(_upright(SAMPLE_SIDE_DARK_LEGS, 1040, legs_gain=0.15), "JPEG", quality=92))
    put("side_rotated_90", "side_on_its_side.jpg",
        encode(side.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92))
    put("front_rotated_180", "upside_down.jpg",
        encode(leo.transpose(Image.Transpose.ROTATE_180), "JPEG", quality=92))
    exif3 = Image.Exif()
    exif3[0x0112] = 3
    put("jpeg_exif_orientation_3", "orientation3.jpg",
        encode(leo, "JPEG", quality=92, exif=exif3.tobytes()))

    ramp_rgb = np.dstack([ramp_float * 0.5 + 0.5] * 3).astype(np.float32)  # 0..1, nominal
    put("tiff_float_rgb", "float_rgb.tif", float_rgb_tiff(ramp_rgb))
    put("jpeg_malformed_exif", "malformed_exif.jpg",
        encode(Image.new("RGB", SYNTH_SIZE, (200, 150, 90)), "JPEG", exif=MALFORMED_EXIF))
    return files


def _upright(path: Path, height: int, blur: float | None = None,
             legs_gain: float | None = None) -> Image.Image:
    """A sample photo, upright (EXIF orientation applied); at its full resolution blurred by
    a Gaussian of `blur` pixels, or its lower half darkened to `legs_gain` of its brightness,
    if given; then scaled to `height` pixels tall."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    if legs_gain is not None:
        pixels = np.asarray(im).copy()
        low = pixels[pixels.shape[0] // 2:]
        pixels[pixels.shape[0] // 2:] = (low * legs_gain).astype(np.uint8)
        im = Image.fromarray(pixels)
    return im.resize((round(im.width * height / im.height), height), Image.Resampling.LANCZOS)


# EXIF, little-endian: IFD0 with orientation 6 and a 1000-byte Make string said to start at
# offset 5000, past the block's end.
MALFORMED_EXIF = (b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 2)
                  + struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<HHII", 0x010F, 2, 1000,
                                                                           5000)
                  + struct.pack("<I", 0))


def float_rgb_tiff(rgb: np.ndarray) -> bytes:
    """An uncompressed little-endian TIFF of 32-bit float RGB (SampleFormat 3), one strip,
    written by hand (Pillow cannot write one)."""
    h, w, _ = rgb.shape
    pixels = np.ascontiguousarray(rgb, dtype="<f4").tobytes()
    n = 11
    extra = 8 + 2 + 12 * n + 4                  # after the header and the IFD
    data_at = extra + 12                        # after BitsPerSample and SampleFormat (3 each)
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, extra), (259, 3, 1, 1),
               (262, 3, 1, 2), (273, 4, 1, data_at), (277, 3, 1, 3), (278, 4, 1, h),
               (279, 4, 1, len(pixels)), (284, 3, 1, 1), (339, 3, 3, extra + 6)]
    ifd = struct.pack("<H", n) + b"".join(
        struct.pack("<HHI", tag, kind, count)
        + (struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value))
        for tag, kind, count, value in entries) + struct.pack("<I", 0)
    return (b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<HHH", 32, 32, 32)
            + struct.pack("<HHH", 3, 3, 3) + pixels)


SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
    b'<rect width="120" height="80" fill="red"/></svg>\n'
)


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    """``im`` saved as ``fmt`` in memory."""
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def try_encode_heic(im: Image.Image, **options: object) -> bytes | None:
    """``im`` as HEIC bytes, or None when this pillow_heif build has no HEVC encoder."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    try:
        return encode(im, "HEIF", quality=90, **options)
    except (OSError, ValueError, KeyError, RuntimeError):
        return None


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type + data."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_header(width: int, height: int) -> bytes:
    """A valid-looking RGB PNG whose IHDR claims width x height, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def gif_header(width: int, height: int, frame_width: int, frame_height: int) -> bytes:
    """A GIF with a width x height canvas whose only frame claims frame_width x frame_height."""
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0, 0, 0)  # no global colour table
        + b","
        + struct.pack("<HHHHB", 0, 0, frame_width, frame_height, 0)
        + b"\x02\x02\x44\x01\x00"  # LZW minimum code size 2, one 2-byte sub-block, end
        + b";"
    )


def corrupt_ihdr_crc(png: bytes) -> bytes:
    """``png`` with the CRC of its IHDR chunk (bytes 29..32) inverted."""
    crc_at = 8 + 4 + 4 + 13  # signature, length, type, IHDR data
    flipped = bytes(b ^ 0xFF for b in png[crc_at : crc_at + 4])
    return png[:crc_at] + flipped + png[crc_at + 4 :]
