"""posture.images: decoding real photos, refusing bad input, stripping metadata."""

from __future__ import annotations

import csv
import io
import math
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from posture.errors import ImageError, InputError
from posture.images import (
    MAX_FILE_BYTES,
    MIN_SIDE,
    WORKING_MAX_SIDE,
    Photo,
    load_photo,
    strip_metadata_png,
)
from tests.bad_inputs import EXPECTED, SAMPLE_DIR, encode, make_bad_inputs, try_encode_heic
from tests.conftest import png_chunk_types

MANIFEST = list(csv.DictReader((SAMPLE_DIR / "MANIFEST.csv").read_text().splitlines()))
SAMPLES = [row["file"] for row in MANIFEST]
ROTATED = [row["file"] for row in MANIFEST if row["exif_orientation"] == "6"]
TINY = ["posture-measuremnent/front_image.jpg", "posture-measuremnent/side_image.jpg"]
PHONE_12MP = "usize-backend/ana_test.jpg"
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def working_long_side(long_side: int, max_side: int = WORKING_MAX_SIDE) -> int:
    """Long side load_photo must give a JPEG, from the rule restated independently.

    libjpeg decodes at the smallest of 1/8, 1/4, 1/2 whose long side (rounded up) is still at
    least 3/4 of max_side; kept as decoded when that is <= max_side, else Lanczos to max_side.
    No such scale: full decode, Lanczos to max_side. Never enlarged.
    """
    if long_side <= max_side:
        return long_side
    for denominator in (8, 4, 2):
        decoded = math.ceil(long_side / denominator)
        if 4 * decoded >= 3 * max_side:
            return min(decoded, max_side)
    return max_side


def drafted_rgb(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Pillow's own reduced-scale JPEG decode of a stored (width, height), no resampling."""
    with Image.open(path) as im:
        im.draft("RGB", size)
        assert im.size == size  # the reference really is the reduced decode
        return np.asarray(im.convert("RGB"))


def refused_message(source: object, **kwargs: object) -> str:
    with pytest.raises(ImageError) as info:
        load_photo(source, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_bad_inputs(tmp_path_factory.mktemp("bad_inputs"))


# --- real photos -----------------------------------------------------------------------------


@pytest.mark.parametrize("file", SAMPLES)
def test_every_sample_loads_within_max_side(file: str) -> None:
    path = SAMPLE_DIR / file
    photo = load_photo(path)
    with Image.open(path) as header:
        stored = header.size
        orientation = header.getexif().get(ORIENTATION, 1)
    upright = stored[::-1] if orientation in (5, 6, 7, 8) else stored

    rgb = photo.rgb
    assert isinstance(photo, Photo)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert rgb.flags.c_contiguous and not rgb.flags.writeable
    assert max(rgb.shape[:2]) == working_long_side(max(upright))
    assert photo.original_size == upright
    assert photo.source_format == "JPEG"
    assert photo.exif_orientation == orientation
    assert photo.name == path.name
    # Upright working image has the original's aspect: same orientation, ratio within rounding.
    height, width = rgb.shape[:2]
    assert (width > height) == (upright[0] > upright[1])
    assert photo.scale >= 1.0
    assert photo.scale == pytest.approx(upright[0] / width, abs=photo.scale / min(width, height))
    assert photo.scale == pytest.approx(upright[1] / height, abs=photo.scale / min(width, height))


@pytest.mark.parametrize("file", ROTATED)
def test_exif_orientation_6_photos_come_out_portrait_and_upright(file: str) -> None:
    assert len(ROTATED) == 2
    photo = load_photo(SAMPLE_DIR / file)
    assert photo.exif_orientation == 6
    assert photo.original_size == (3000, 4000)
    # Stored 4000x3000, decoded at 1/4 (1000 >= 960) and kept so: 750x1000 upright.
    assert photo.rgb.shape == (1000, 750, 3)
    assert photo.scale == 4.0

    # Exactly the reduced decode, turned upright, with no resampling.
    stored = drafted_rgb(SAMPLE_DIR / file, (1000, 750))
    np.testing.assert_array_equal(photo.rgb, np.rot90(stored, k=-1))  # orientation 6: 90 deg CW
    # Outside reference: Pillow's own exif_transpose on a full decode, resized the same way.
    with Image.open(SAMPLE_DIR / file) as im:
        reference = ImageOps.exif_transpose(im.convert("RGB")).resize((750, 1000), Image.LANCZOS)
    reference_px = np.asarray(reference, dtype=np.float64)
    assert np.abs(photo.rgb - reference_px).mean() < 3.0
    # The stored (sideways) pixels squeezed into the same frame do not match.
    with Image.open(SAMPLE_DIR / file) as im:
        sideways = im.convert("RGB").resize((750, 1000), Image.LANCZOS)
    assert np.abs(photo.rgb - np.asarray(sideways, dtype=np.float64)).mean() > 20.0


@pytest.mark.parametrize("file", TINY)
def test_tiny_photos_keep_their_size(file: str) -> None:
    photo = load_photo(SAMPLE_DIR / file)
    with Image.open(SAMPLE_DIR / file) as im:
        assert photo.rgb.shape == (im.height, im.width, 3)
    assert photo.original_size == (photo.rgb.shape[1], photo.rgb.shape[0])
    assert photo.scale == 1.0


def test_side_image_is_93_by_314() -> None:
    photo = load_photo(SAMPLE_DIR / "posture-measuremnent" / "side_image.jpg")
    assert photo.rgb.shape == (314, 93, 3)


@pytest.mark.parametrize(
    ("max_side", "long_side"),
    [
        (MIN_SIDE, MIN_SIDE),  # 1/8 gives 520, above max_side: Lanczos down to it
        (100, 100),
        (257, 257),
        (390, 390),  # 520 >= 292.5 but above 390: Lanczos
        (640, 520),  # 1/8: 520 >= 480 and <= 640, kept as decoded
        (1280, 1040),  # 1/4 (1/8 gives 520 < 960)
        (1386, 1040),  # 1040 >= 1039.5: still 1/4
        (1387, 1387),  # 1040 < 1040.25: 1/2 (2080), then Lanczos
        (2000, 2000),
        (4160, 4160),
        (6000, 4160),  # never enlarged
    ],
)
def test_long_side_follows_the_reduced_decode_rule(max_side: int, long_side: int) -> None:
    assert working_long_side(4160, max_side) == long_side  # the helper agrees with the table
    photo = load_photo(SAMPLE_DIR / PHONE_12MP, max_side=max_side)
    assert max(photo.rgb.shape[:2]) == long_side
    assert photo.scale == 4160 / long_side
    assert photo.original_size == (3120, 4160)


def test_12mp_jpeg_is_decoded_at_quarter_scale_without_resampling() -> None:
    photo = load_photo(SAMPLE_DIR / PHONE_12MP)
    assert photo.rgb.shape == (1040, 780, 3)
    assert photo.scale == 4.0
    np.testing.assert_array_equal(photo.rgb, drafted_rgb(SAMPLE_DIR / PHONE_12MP, (780, 1040)))


def test_eighth_scale_is_used_when_it_stays_within_three_quarters() -> None:
    photo = load_photo(SAMPLE_DIR / PHONE_12MP, max_side=640)
    assert photo.rgb.shape == (520, 390, 3)
    assert photo.scale == 8.0
    np.testing.assert_array_equal(photo.rgb, drafted_rgb(SAMPLE_DIR / PHONE_12MP, (390, 520)))


def test_reduced_jpeg_decode_matches_a_full_decode() -> None:
    # Draft (DCT-scaled) decoding must not cost visible quality against a full decode + Lanczos.
    photo = load_photo(SAMPLE_DIR / PHONE_12MP)
    with Image.open(SAMPLE_DIR / PHONE_12MP) as im:
        reference = np.asarray(im.convert("RGB").resize((780, 1040), Image.LANCZOS), dtype=float)
    difference = np.abs(photo.rgb - reference)
    assert difference.mean() < 2.0
    assert np.percentile(difference, 99) < 20


def _smooth_photo(width: int, height: int) -> Image.Image:
    """A smooth, asymmetric RGB picture (cheap to encode, JPEG keeps it well)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack(
        [
            127 + 100 * np.sin(x / 37.0) * np.cos(y / 53.0),
            255 * x / width,
            255 * (y / height) ** 2,
        ],
        axis=-1,
    )
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def test_jpeg_whose_quarter_scale_is_under_three_quarters_gets_half_scale_and_lanczos(
    tmp_path: Path,
) -> None:
    # 3264 px: 1/4 would give 816 < 960, so 1/2 (1632), then Lanczos down to 1280.
    path = tmp_path / "8mp.jpg"
    path.write_bytes(encode(_smooth_photo(2448, 3264), "JPEG", quality=90))
    photo = load_photo(path)
    assert photo.rgb.shape == (1280, 960, 3)
    assert photo.scale == 3264 / 1280
    half = Image.fromarray(drafted_rgb(path, (1224, 1632)))
    reference = np.asarray(half.resize((960, 1280), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(photo.rgb, reference)


def test_jpeg_with_no_reduced_scale_is_decoded_in_full_and_resampled() -> None:
    # 900x1600: 1/2 would give 800 < 960, so a full decode and Lanczos to 1280.
    path = SAMPLE_DIR / "farazBhatti-bodymeas" / "saif1.jpeg"
    photo = load_photo(path)
    assert photo.rgb.shape == (1280, 720, 3)
    assert photo.scale == 1600 / 1280
    with Image.open(path) as im:
        assert im.size == (900, 1600)
        reference = np.asarray(im.convert("RGB").resize((720, 1280), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(photo.rgb, reference)


def test_reduced_decode_rounds_odd_sizes_up() -> None:
    # 4161x1001 at 1/4: libjpeg gives ceil(4161 / 4) x ceil(1001 / 4) = 1041 x 251, and it is
    # that rounded-up 1041 which must reach 3/4 of max_side (1040.25 here; 4161 // 4 does not).
    photo = load_photo(encode(_smooth_photo(4161, 1001), "JPEG", quality=90), max_side=1387)
    assert photo.rgb.shape == (251, 1041, 3)
    assert photo.scale == 4161 / 1041
    assert photo.original_size == (4161, 1001)


@pytest.mark.parametrize(
    "file", ["usize-backend/leo_test.jpeg", "farazBhatti-bodymeas/arsalan2.jpeg", *TINY]
)
def test_jpegs_within_max_side_are_untouched(file: str) -> None:
    # 780x1040, exactly 720x1280, and the tiny ones: full decode, not a pixel changed.
    photo = load_photo(SAMPLE_DIR / file)
    with Image.open(SAMPLE_DIR / file) as im:
        assert max(im.size) <= WORKING_MAX_SIDE
        np.testing.assert_array_equal(photo.rgb, np.asarray(im.convert("RGB")))
    assert photo.scale == 1.0


def test_other_formats_are_resampled_to_max_side_close_to_plain_lanczos() -> None:
    # A PNG is not drafted: it comes out at max_side (a JPEG would stop at 1/4 = 400), through
    # an integer box reduction and Lanczos within a few levels of plain Lanczos.
    original = _smooth_photo(1200, 1600)
    photo = load_photo(encode(original, "PNG"), max_side=500)
    assert photo.rgb.shape == (500, 375, 3)
    assert photo.scale == 1600 / 500
    plain = np.asarray(original.resize((375, 500), Image.Resampling.LANCZOS), dtype=int)
    difference = np.abs(photo.rgb.astype(int) - plain)
    assert difference.max() <= 3
    assert difference.mean() < 0.5


def test_bytes_and_path_give_identical_arrays() -> None:
    path = SAMPLE_DIR / ROTATED[0]
    from_path = load_photo(path)
    from_bytes = load_photo(path.read_bytes())
    np.testing.assert_array_equal(from_path.rgb, from_bytes.rgb)
    assert from_path.original_size == from_bytes.original_size
    assert from_path.scale == from_bytes.scale
    assert (from_path.name, from_bytes.name) == (path.name, "upload")
    assert load_photo(bytearray(path.read_bytes()), name="front.jpg").name == "front.jpg"
    assert load_photo(str(path)).name == path.name


def test_array_is_read_only() -> None:
    photo = load_photo(SAMPLE_DIR / TINY[0])
    with pytest.raises(ValueError, match="read-only"):
        photo.rgb[0, 0, 0] = 1


# --- orientation -----------------------------------------------------------------------------

# Pixels stored for each orientation: the inverse of the transpose that makes them upright.
_STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _upright_pattern() -> np.ndarray:
    """A 60x40 (width x height) image with no symmetry: every transpose is distinguishable.

    Smooth ramps (red along x, green along y) plus a white block in the top-left corner, so
    that JPEG keeps it within a few levels.
    """
    y, x = np.mgrid[0:40, 0:60]
    pattern = np.stack([x * 4, y * 6, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    pattern[:10, :15] = 255
    return pattern


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 95}),
        # Pillow's TIFF plugin turns these upright itself: they must not be turned twice.
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ],
    ids=["png", "jpeg", "tiff", "tiff-lzw"],
)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_made_upright(
    orientation: int, fmt: str, options: dict[str, object]
) -> None:
    upright = _upright_pattern()
    stored = Image.fromarray(upright)
    if _STORE[orientation] is not None:
        stored = stored.transpose(_STORE[orientation])
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    photo = load_photo(encode(stored, fmt, exif=exif.tobytes(), **options))
    assert photo.exif_orientation == orientation
    assert photo.original_size == (60, 40)
    assert photo.rgb.shape == upright.shape
    difference = np.abs(photo.rgb.astype(int) - upright)
    assert difference.max() == 0 if fmt != "JPEG" else difference.mean() < 3


@pytest.mark.parametrize("value", [0, 9, 255])
def test_out_of_range_orientation_is_treated_as_1(value: int) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = value
    upright = _upright_pattern()
    photo = load_photo(encode(Image.fromarray(upright), "JPEG", exif=exif.tobytes(), quality=95))
    assert photo.exif_orientation == 1
    assert photo.rgb.shape == (40, 60, 3)
    assert np.abs(photo.rgb.astype(int) - upright).mean() < 3


def test_broken_exif_block_is_ignored() -> None:
    # An APP1 "Exif" segment of garbage: the photo still loads, upright as stored.
    photo = load_photo(encode(Image.fromarray(_upright_pattern()), "JPEG", exif=b"Exif\0\0garbage"))
    assert photo.exif_orientation == 1
    assert photo.rgb.shape == (40, 60, 3)


def _jpeg_with_truncated_exif() -> bytes:
    # One IFD entry (Orientation, 1000 SHORTs) whose data lies beyond the end of the block.
    ifd = struct.pack("<HHHII", 1, ORIENTATION, 3, 1000, 0x1000) + struct.pack("<I", 0)
    exif = b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd
    return encode(Image.fromarray(_upright_pattern()), "JPEG", exif=exif)


def test_corrupt_exif_is_ignored() -> None:
    photo = load_photo(_jpeg_with_truncated_exif())
    assert photo.exif_orientation == 1
    assert photo.rgb.shape == (40, 60, 3)


@pytest.mark.filterwarnings("error")
def test_corrupt_exif_with_warnings_as_errors_still_loads() -> None:
    # EXIF is read by posture itself (images.exif_tags), never by Pillow's parser, which
    # warned (with its file path) and, under -W error, cost the photo.
    photo = load_photo(_jpeg_with_truncated_exif())
    assert photo.exif_orientation == 1 and photo.rgb.shape == (40, 60, 3)


def test_heic_is_turned_upright_by_libheif_and_reports_its_orientation() -> None:
    upright = _upright_pattern()
    stored = Image.fromarray(upright).transpose(_STORE[6])
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    heic = try_encode_heic(stored, exif=exif.tobytes())
    if heic is None:
        pytest.skip("pillow_heif cannot encode HEIC on this machine")
    photo = load_photo(heic)
    assert photo.source_format == "HEIF"
    assert photo.exif_orientation == 6
    assert photo.original_size == (60, 40)
    assert np.abs(photo.rgb.astype(int) - upright).mean() < 8  # turned once, not twice


def test_orientation_applies_after_reduced_decode() -> None:
    # A large landscape JPEG tagged 8 is decoded at reduced scale, then turned to portrait.
    rng = np.random.default_rng(3)
    big = Image.fromarray(rng.integers(0, 256, size=(1500, 2600, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[ORIENTATION] = 8
    photo = load_photo(encode(big, "JPEG", exif=exif.tobytes()), max_side=640)
    assert photo.original_size == (1500, 2600)
    assert photo.rgb.shape == (640, round(1500 * 640 / 2600), 3)


# --- the bad-input corpus --------------------------------------------------------------------


def test_corpus_covers_the_expected_table(corpus: dict[str, Path]) -> None:
    assert set(corpus) <= set(EXPECTED)
    assert set(EXPECTED) - set(corpus) <= {"heic"}  # HEIC only where it can be encoded


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_bad_input(corpus: dict[str, Path], key: str) -> None:
    if key not in corpus:
        pytest.skip(f"{key} cannot be generated on this machine")
    expected = EXPECTED[key]
    path = corpus[key]
    if expected.refused is not None:
        message = refused_message(path)
        assert re.search(expected.refused, message), message
        # The same bytes uploaded give the same message.
        assert refused_message(path.read_bytes()) == message
    else:
        photo = load_photo(path)
        assert (photo.rgb.shape[1], photo.rgb.shape[0]) == expected.size
        assert photo.rgb.dtype == np.uint8 and photo.rgb.shape[2] == 3
        assert not photo.rgb.flags.writeable


def test_truncated_files_say_truncated(corpus: dict[str, Path]) -> None:
    for key in ("jpeg_truncated_50", "jpeg_truncated_90", "png_truncated_50"):
        assert refused_message(corpus[key]) == (
            "The photo file is damaged or incomplete (truncated); export or copy it again"
        )


@pytest.mark.parametrize(
    "key",
    [
        "png_header_100000x100000",
        "png_header_10000x10000",
        "png_header_10000x8500",
        "gif_frame_claims_10000x9000",
    ],
)
def test_huge_header_is_refused_without_allocating(
    corpus: dict[str, Path], key: str, recwarn: pytest.WarningsRecorder
) -> None:
    # ImageError, not MemoryError, and Pillow's DecompressionBombWarning/Error never escapes.
    with pytest.raises(ImageError, match="80 MP limit"):
        load_photo(corpus[key])
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_animated_gif_gives_its_first_frame(corpus: dict[str, Path]) -> None:
    photo = load_photo(corpus["gif_animated"])
    assert photo.source_format == "GIF"
    assert (photo.rgb == (255, 0, 0)).all()


def test_sixteen_bit_grey_maps_nominal_range_to_8_bits(corpus: dict[str, Path]) -> None:
    for key in ("tiff_16bit", "png_16bit"):
        rgb = load_photo(corpus[key]).rgb
        assert rgb[0, 0].tolist() == [0, 0, 0]
        assert rgb[-1, -1].tolist() == [255, 255, 255]
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
        flat = rgb[..., 0].ravel().astype(int)
        assert (np.diff(flat) >= 0).all()  # the ramp stays monotonic


def test_sixteen_bit_rounding() -> None:
    values = np.array([[0, 128, 129, 32767, 65406, 65535] * 8] * 40, dtype=np.uint16)
    for fmt in ("PNG", "TIFF"):
        row = load_photo(encode(Image.fromarray(values), fmt)).rgb[0, :6, 0]
        assert row.tolist() == [0, 0, 1, 127, 254, 255]


def test_big_endian_16_bit_tiff() -> None:
    values = np.full((40, 48), 0x8080, dtype=">u2")
    im = Image.frombuffer("I;16B", (48, 40), values.tobytes(), "raw", "I;16B", 0, 1)
    assert load_photo(encode(im, "TIFF")).rgb[0, 0].tolist() == [128, 128, 128]


def test_float_and_32_bit_grey_are_stretched_to_full_range(corpus: dict[str, Path]) -> None:
    rgb = load_photo(corpus["tiff_float"]).rgb
    assert rgb.min() == 0 and rgb.max() == 255
    values = np.linspace(1000, 3000, 40 * 48).reshape(40, 48).astype(np.int32)
    rgb = load_photo(encode(Image.fromarray(values, "I"), "TIFF")).rgb
    assert rgb.min() == 0 and rgb.max() == 255


def test_transparency_is_composited_on_white(corpus: dict[str, Path]) -> None:
    rgba = load_photo(corpus["png_rgba_transparent"]).rgb
    assert (rgba[:, :60] == 255).all() and (rgba[:, 60:] == 0).all()
    palette = load_photo(corpus["png_palette_transparent"]).rgb
    assert (palette[:, :60] == 255).all() and (palette[:, 60:] == (200, 0, 0)).all()
    half = np.zeros((40, 40, 2), dtype=np.uint8)
    half[..., 1] = 128  # black at half opacity over white: mid grey
    grey = load_photo(encode(Image.fromarray(half, "LA"), "PNG")).rgb
    assert abs(int(grey[0, 0, 0]) - 127) <= 1


def test_cmyk_and_grey_and_bilevel_become_rgb(corpus: dict[str, Path]) -> None:
    cyan = load_photo(corpus["jpeg_cmyk"]).rgb.astype(int)
    assert np.abs(cyan - (0, 255, 255)).max() <= 3
    grey = load_photo(corpus["jpeg_grey"]).rgb
    assert (grey[..., 0] == grey[..., 2]).all()
    assert (load_photo(corpus["png_bilevel"]).rgb == 255).all()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "BMP", "TIFF", "GIF", "JPEG"])
def test_formats_report_their_name(fmt: str) -> None:
    im = Image.new("RGB", (64, 48), (10, 20, 30))
    assert load_photo(encode(im, fmt)).source_format == fmt


@pytest.mark.parametrize(("width", "height", "ok"), [(32, 200, True), (31, 200, False)])
def test_minimum_side(width: int, height: int, ok: bool) -> None:
    data = encode(Image.new("RGB", (width, height)), "PNG")
    if ok:
        assert load_photo(data).rgb.shape == (height, width, 3)
    else:
        assert "too small" in refused_message(data)


def test_file_larger_than_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.jpg"
    with big.open("wb") as f:  # sparse: no disk space used
        f.truncate(MAX_FILE_BYTES + 1)
    assert "MB limit" in refused_message(big)
    assert "MB limit" in refused_message(b"\xff\xd8\xff" + bytes(MAX_FILE_BYTES))


def test_pdf_is_refused_with_a_hint() -> None:
    assert "PDF" in refused_message(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")


def test_other_image_formats_are_not_opened() -> None:
    # Pillow can read PPM, ICO, PSD, EPS... no camera writes them; EPS would run Ghostscript.
    assert "not a photo" in refused_message(encode(Image.new("RGB", (64, 64)), "PPM"))
    assert "not a photo" in refused_message(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n")


def test_truncated_webp_is_damaged(corpus: dict[str, Path]) -> None:
    data = corpus["webp"].read_bytes()
    assert "damaged or incomplete" in refused_message(data[: len(data) // 2])


def test_misuse_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No file at"):
        load_photo(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="not a regular file"):
        load_photo(tmp_path)
    with pytest.raises(InputError, match="check the path"):
        load_photo(str(tmp_path / "nul\0byte.jpg"))
    with pytest.raises(InputError, match="check the path"):
        load_photo(SAMPLE_DIR / TINY[0] / "not_a_folder.jpg")
    with pytest.raises(InputError, match="max_side"):
        load_photo(SAMPLE_DIR / TINY[0], max_side=MIN_SIDE - 1)
    with pytest.raises(TypeError):
        load_photo(12345)  # type: ignore[arg-type]


def test_import_has_no_side_effects_and_calls_leave_pillow_settings_alone() -> None:
    code = (
        # numpy adds its own warning filters when imported: take the snapshot after it.
        "import warnings, numpy; from PIL import Image, ImageFile; "
        "before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, "
        "list(warnings.filters)); "
        "import posture.images as m; "
        "assert 'HEIF' not in Image.OPEN, 'HEIF registered at import'; "
        "assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, "
        "list(warnings.filters)); "
        f"m.load_photo({str(SAMPLE_DIR / TINY[0])!r}); "
        "assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, "
        "list(warnings.filters))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- metadata --------------------------------------------------------------------------------


def test_strip_metadata_png_round_trips_and_carries_no_metadata() -> None:
    rgb = load_photo(SAMPLE_DIR / TINY[1]).rgb  # read-only input is fine
    png = strip_metadata_png(rgb)
    kinds = png_chunk_types(png)
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert set(kinds) == {b"IHDR", b"IDAT", b"IEND"}
    for marker in (b"eXIf", b"Exif", b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"pHYs", b"tIME"):
        assert marker not in png
    with Image.open(io.BytesIO(png)) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), rgb)


def test_exporting_the_jara_photo_leaves_no_gps() -> None:
    path = SAMPLE_DIR / ROTATED[0]
    with Image.open(path) as im:
        assert im.getexif().get_ifd(GPS_IFD), "the sample should carry GPS data"
    png = strip_metadata_png(load_photo(path).rgb)
    assert set(png_chunk_types(png)) == {b"IHDR", b"IDAT", b"IEND"}
    with Image.open(io.BytesIO(png)) as im:
        assert not im.getexif()
        assert not im.getexif().get_ifd(GPS_IFD)
        assert set(im.info) <= {"dpi"}  # nothing else decoded from the file


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), dtype=np.uint8),
        np.zeros((10, 10, 4), dtype=np.uint8),
        np.zeros((10, 10, 3), dtype=np.float32),
        np.zeros((0, 10, 3), dtype=np.uint8),
    ],
)
def test_strip_metadata_png_refuses_non_rgb_arrays(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        strip_metadata_png(bad)


# --- fuzzing ---------------------------------------------------------------------------------

_SEED_JPEG = (SAMPLE_DIR / TINY[1]).read_bytes()  # 93x314, 12 KB
_SEED_PNG = encode(Image.open(SAMPLE_DIR / TINY[1]).convert("RGB").resize((40, 120)), "PNG")


@st.composite
def mutated_photo(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([_SEED_JPEG, _SEED_PNG])))
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data) - 1))
        # Bias half the flips into the headers, where parsers are most fragile.
        if draw(st.booleans()):
            at = at % 200
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


# Run twice: with Pillow's warnings about corrupt EXIF shown (the default, as in production)
# and with every warning an error (as under `python -W error`): either way, only ImageError.
@pytest.mark.parametrize(
    "warnings_as",
    [
        pytest.param("default", marks=pytest.mark.filterwarnings("ignore::UserWarning")),
        pytest.param("error", marks=pytest.mark.filterwarnings("error")),
    ],
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=2048), mutated_photo()))
def test_random_and_mutated_bytes_load_or_raise_image_error(warnings_as: str, data: bytes) -> None:
    try:
        photo = load_photo(data, max_side=256)
    except ImageError as exc:
        assert "\n" not in str(exc)
        return
    assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
    assert max(photo.rgb.shape[:2]) <= 256
    assert min(photo.rgb.shape[:2]) >= 1
    assert not photo.rgb.flags.writeable
