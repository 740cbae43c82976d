"""Tests of ``reclaim.hashing.media``: what each format decodes to, and what is refused.

Test images are made in code from a real photo (``samples/photos/chelsea.jpg``) so that
lossy formats can be judged by PDQ distance on real content, not on flat colour. Lossless
formats must give exactly the luma Pillow computes from the source pixels. The malformed
files under ``tests/data/malformed`` come from Pillow's own test suite (see SOURCES.md).
"""

from __future__ import annotations

import io
import os
import resource
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image, ImageFile, ImageOps

from reclaim.errors import (
    CorruptMedia,
    EmptyFile,
    FileTooLarge,
    FileUnreadable,
    ImageTooLarge,
    MediaError,
    UnsupportedFormat,
)
from reclaim.hashing.media import (
    IMAGE_EXTENSIONS,
    IMAGE_FORMATS,
    DecodedImage,
    MediaLimits,
    decode_image,
    is_image_name,
    read_media_file,
)
from reclaim.hashing.pdq import pdq_from_luma

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "samples" / "photos" / "chelsea.jpg"
MALFORMED = ROOT / "tests" / "data" / "malformed"
LIMITS = MediaLimits()
ORIENTATION = 0x0112

#: PDQ bits a lossy re-encoding of the same picture may flip (of 256).
LOSSY_BITS = 16
#: PDQ bits an orientation round trip through a lossy format may flip.
ORIENTATION_BITS = 8

Array = NDArray[Any]

# How a camera stores an upright scene for each EXIF orientation (EXIF 2.3, tag 0x0112,
# "0th row / 0th column" of the stored pixels), written with numpy, independent of Pillow.
STORED: dict[int, Callable[[Array], Array]] = {
    2: lambda a: a[:, ::-1],  # 0th row = top, 0th column = right: mirrored
    3: lambda a: a[::-1, ::-1],  # bottom / right: turned half round
    4: lambda a: a[::-1, :],  # bottom / left: mirrored upside down
    5: lambda a: a.swapaxes(0, 1),  # left / top: transposed
    6: lambda a: np.rot90(a, 1),  # right / top: a phone held upright
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # right / bottom: transverse
    8: lambda a: np.rot90(a, -1),  # left / bottom
}
# What a viewer does to the stored pixels to show the scene upright.
DISPLAY: dict[int, Callable[[Array], Array]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


# --- helpers -------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def decode(data: bytes, source: str = "upload.img", limits: MediaLimits = LIMITS) -> DecodedImage:
    return decode_image(data, source, limits)


def luma_of(image: Image.Image) -> NDArray[np.uint8]:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def bits_apart(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> int:
    return pdq_from_luma(a).distance(pdq_from_luma(b))


def image_from(array: Array, mode: str | None = None) -> Image.Image:
    contiguous = np.ascontiguousarray(array)
    return Image.fromarray(contiguous, mode=mode) if mode else Image.fromarray(contiguous)


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif


def assert_valid(decoded: DecodedImage) -> None:
    assert isinstance(decoded, DecodedImage)
    assert decoded.luma.dtype == np.uint8
    assert decoded.luma.ndim == 2
    assert decoded.luma.shape == (decoded.height, decoded.width)
    assert decoded.format in IMAGE_FORMATS


def assert_names_source(error: MediaError, source: str) -> None:
    assert error.source == source
    assert str(error).startswith(f"{source}: ")
    assert source in error.to_dict()["message"]
    assert error.reason and error.reason in str(error)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bytes(
    width: int,
    height: int,
    *,
    bit_depth: int = 8,
    colour_type: int = 0,
    scanlines: bytes | None = None,
) -> bytes:
    """A PNG with valid chunk CRCs, built by hand (Pillow cannot write what these need).

    Without ``scanlines`` the IDAT holds one filtered row only: enough for a header that
    claims a huge image, which must never be decoded anyway.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    if scanlines is None:
        scanlines = b"\x00" * (1 + min(width, 1 << 16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(scanlines))
        + png_chunk(b"IEND", b"")
    )


def gif_disposal_bomb(width: int, height: int) -> bytes:
    """A 60-byte GIF whose first frame covers ``width`` x ``height`` with disposal 2.

    Opening it makes Pillow allocate the frame's disposal area (one byte per pixel)
    unless its own decompression-bomb check stops it first.
    """
    data = bytearray(b"GIF89a")
    data += struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # 2-colour global table
    data += b"\x00\x00\x00\xff\xff\xff"
    data += b"\x21\xf9\x04" + bytes([2 << 2, 0, 0, 0]) + b"\x00"  # disposal: background
    data += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    data += b"\x02\x02\x4c\x01\x00"  # a few LZW codes
    data += b"\x3b"
    return bytes(data)


def bmp_header_bomb(width: int, height: int) -> bytes:
    """A 24-bit BMP header that claims ``width`` x ``height`` followed by a few pixels."""
    pixels = b"\x00" * 64
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    header = struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def jpeg_with_size(width: int, height: int) -> bytes:
    """A real baseline JPEG whose SOF0 header is patched to claim another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (90, 120, 150)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _address_space_in_use() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize in /proc/self/status")


@contextmanager
def memory_cap(extra_bytes: int) -> Iterator[None]:
    """Let this process map at most ``extra_bytes`` more while the block runs.

    A decompression bomb that gets past the dimension checks then fails fast with
    MemoryError instead of taking gigabytes (and seconds) from the test machine.
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("the memory cap reads /proc/self/status")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space_in_use() + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# --- fixtures ------------------------------------------------------------------------


@cache
def _photo() -> Image.Image:
    with Image.open(PHOTO) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """The real photo every format test encodes (451 x 300 RGB)."""
    return _photo().copy()


@pytest.fixture(scope="module")
def photo_luma(photo: Image.Image) -> NDArray[np.uint8]:
    return luma_of(photo)


@pytest.fixture(scope="module")
def small_photo(photo: Image.Image) -> Image.Image:
    """Half size, for tests that encode many files (226 x 150, not square)."""
    return photo.reduce(2)


@pytest.fixture
def load_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Formats whose pixel data Pillow was asked to decode during the test."""
    calls: list[str] = []
    original = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        calls.append(str(self.format))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


# --- 1. formats ----------------------------------------------------------------------


def test_heif_and_avif_are_registered_with_pillow() -> None:
    extensions = Image.registered_extensions()
    assert extensions[".heic"] == "HEIF"
    assert extensions[".heif"] == "HEIF"
    assert extensions[".avif"] == "AVIF"
    assert {"HEIF", "AVIF", "WEBP"} <= set(Image.SAVE)


LOSSLESS = [
    pytest.param("PNG", {}, id="png"),
    pytest.param("BMP", {}, id="bmp"),
    pytest.param("TIFF", {}, id="tiff-raw"),
    pytest.param("TIFF", {"compression": "tiff_lzw"}, id="tiff-lzw"),
    pytest.param("TIFF", {"compression": "tiff_adobe_deflate"}, id="tiff-deflate"),
    pytest.param("WEBP", {"lossless": True}, id="webp-lossless"),
]


@pytest.mark.parametrize(("fmt", "params"), LOSSLESS)
def test_lossless_formats_give_exact_luma(
    photo: Image.Image, photo_luma: NDArray[np.uint8], fmt: str, params: dict[str, Any]
) -> None:
    decoded = decode(encode(photo, fmt, **params))
    assert_valid(decoded)
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == photo.size
    np.testing.assert_array_equal(decoded.luma, photo_luma)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "GIF", "WEBP"])
def test_greyscale_images_keep_their_values(photo_luma: NDArray[np.uint8], fmt: str) -> None:
    params = {"lossless": True} if fmt == "WEBP" else {}
    decoded = decode(encode(image_from(photo_luma, "L"), fmt, **params))
    assert decoded.format == fmt
    np.testing.assert_array_equal(decoded.luma, photo_luma)


LOSSY = [
    pytest.param("JPEG", {"quality": 85}, id="jpeg"),
    pytest.param("JPEG", {"quality": 85, "progressive": True}, id="jpeg-progressive"),
    pytest.param("WEBP", {"quality": 80}, id="webp"),
    pytest.param("HEIF", {"quality": 80}, id="heif"),
    pytest.param("AVIF", {"quality": 80}, id="avif"),
    pytest.param("TIFF", {"compression": "jpeg"}, id="tiff-jpeg"),
]


@pytest.mark.parametrize(("fmt", "params"), LOSSY)
def test_lossy_formats_hash_close_to_the_original(
    photo: Image.Image, photo_luma: NDArray[np.uint8], fmt: str, params: dict[str, Any]
) -> None:
    decoded = decode(encode(photo, fmt, **params))
    assert_valid(decoded)
    assert decoded.format == fmt
    assert decoded.luma.shape == photo_luma.shape
    assert bits_apart(decoded.luma, photo_luma) <= LOSSY_BITS
    # Close in value too, not merely in structure (an inverted image would fail here).
    assert np.abs(decoded.luma.astype(np.int16) - photo_luma).mean() < 6


def test_jpeg_luma_is_its_y_channel(photo: Image.Image) -> None:
    data = encode(photo, "JPEG", quality=85)
    with Image.open(io.BytesIO(data)) as image:
        image.draft("YCbCr", image.size)  # decode without colour conversion
        y_channel = np.asarray(image)[..., 0]
    np.testing.assert_array_equal(decode(data).luma, y_channel)


def test_animated_gif_gives_its_first_frame(photo_luma: NDArray[np.uint8]) -> None:
    first = image_from(photo_luma, "L")
    second = image_from(255 - photo_luma, "L")
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 2
    decoded = decode(data)
    assert decoded.format == "GIF"
    np.testing.assert_array_equal(decoded.luma, photo_luma)
    assert bits_apart(decoded.luma, 255 - photo_luma) > 128


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        pytest.param("WEBP", {"lossless": True}, id="webp"),
        pytest.param("PNG", {}, id="apng"),
        pytest.param("TIFF", {}, id="tiff-pages"),
    ],
)
def test_other_multi_frame_files_give_their_first_frame(
    photo: Image.Image, photo_luma: NDArray[np.uint8], fmt: str, params: dict[str, Any]
) -> None:
    inverted = image_from(255 - np.asarray(photo), "RGB")
    data = encode(photo, fmt, save_all=True, append_images=[inverted], **params)
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 2
    np.testing.assert_array_equal(decode(data).luma, photo_luma)


def test_mpo_gives_its_first_picture(photo: Image.Image, photo_luma: NDArray[np.uint8]) -> None:
    inverted = image_from(255 - np.asarray(photo), "RGB")
    decoded = decode(encode(photo, "MPO", save_all=True, append_images=[inverted]))
    assert decoded.format == "MPO"
    assert bits_apart(decoded.luma, photo_luma) <= LOSSY_BITS


# --- 2. modes ------------------------------------------------------------------------


def test_cmyk_tiff_gives_exact_luma(photo: Image.Image, photo_luma: NDArray[np.uint8]) -> None:
    data = encode(photo.convert("CMYK"), "TIFF")
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "CMYK"
    np.testing.assert_array_equal(decode(data).luma, photo_luma)


def test_cmyk_jpeg_is_not_inverted(photo: Image.Image, photo_luma: NDArray[np.uint8]) -> None:
    data = encode(photo.convert("CMYK"), "JPEG", quality=90)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "CMYK"
    decoded = decode(data)
    assert bits_apart(decoded.luma, photo_luma) <= LOSSY_BITS
    assert np.abs(decoded.luma.astype(np.int16) - photo_luma).mean() < 6


# 16-bit values and their 8-bit scaling (value * 255 / 65535, rounded): clipping would give
# 255 for everything above 255, and taking the low byte would give 0 for 65280.
WIDE = np.array([0, 128, 257, 1000, 32768, 65280, 65535], dtype=np.uint16)
WIDE_SCALED = np.array([0, 0, 1, 4, 128, 254, 255], dtype=np.uint8)


def _wide_image(byte_order: str) -> Image.Image:
    rows = np.tile(WIDE, (3, 1))
    mode = "I;16B" if byte_order == ">" else "I;16"
    return Image.frombytes(mode, (WIDE.size, 3), rows.astype(f"{byte_order}u2").tobytes())


@pytest.mark.parametrize(
    ("fmt", "byte_order"),
    [
        pytest.param("PNG", "<", id="png"),
        pytest.param("TIFF", "<", id="tiff-little-endian"),
        pytest.param("TIFF", ">", id="tiff-big-endian"),
    ],
)
def test_16_bit_greyscale_is_scaled_not_clipped(fmt: str, byte_order: str) -> None:
    data = encode(_wide_image(byte_order), fmt)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode.startswith("I;16")
    decoded = decode(data)
    np.testing.assert_array_equal(decoded.luma, np.tile(WIDE_SCALED, (3, 1)))


def test_16_bit_rgb_png_is_scaled_not_clipped() -> None:
    # Pillow cannot write 16-bit RGB, so the PNG is built by hand: grey pixels, R = G = B.
    row = b"\x00" + np.repeat(WIDE, 3).astype(">u2").tobytes()
    data = png_bytes(WIDE.size, 2, bit_depth=16, colour_type=2, scanlines=row * 2)
    decoded = decode(data)
    assert decoded.luma.shape == (2, WIDE.size)
    difference = decoded.luma.astype(np.int16) - WIDE_SCALED
    assert np.abs(difference).max() <= 1, decoded.luma


@pytest.fixture(scope="module")
def palette_image(photo: Image.Image) -> Image.Image:
    return photo.quantize(colors=64)


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "TIFF"])
def test_palette_images_give_their_colours_luma(palette_image: Image.Image, fmt: str) -> None:
    data = encode(palette_image, fmt)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P"
        assert "transparency" not in image.info
    np.testing.assert_array_equal(decode(data).luma, luma_of(palette_image.convert("RGB")))


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_transparent_palette_entry_becomes_white(palette_image: Image.Image, fmt: str) -> None:
    indices = np.asarray(palette_image)
    transparent = int(np.bincount(indices.ravel()).argmax())  # the most used colour
    opaque_luma = luma_of(palette_image.convert("RGB"))
    assert opaque_luma[indices == transparent].max() < 250  # it is not white already
    data = encode(palette_image, fmt, transparency=transparent)
    expected = np.where(indices == transparent, 255, opaque_luma)
    np.testing.assert_array_equal(decode(data).luma, expected)


def _alpha_layer(height: int, width: int) -> NDArray[np.uint8]:
    """Left third transparent, a band half transparent, the rest opaque."""
    alpha = np.full((height, width), 255, dtype=np.uint8)
    alpha[:, : width // 3] = 0
    alpha[:, width // 3 : width // 2] = 100
    return alpha


def _over_white(luma: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> NDArray[np.float64]:
    share = alpha.astype(np.float64) / 255.0
    return share * luma + (1.0 - share) * 255.0


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        pytest.param("PNG", {}, id="png"),
        pytest.param("TIFF", {}, id="tiff"),
        pytest.param("WEBP", {"lossless": True, "exact": True}, id="webp-lossless"),
    ],
)
def test_rgba_is_composited_over_white(
    photo: Image.Image, photo_luma: NDArray[np.uint8], fmt: str, params: dict[str, Any]
) -> None:
    pixels = np.asarray(photo).copy()
    height, width = photo_luma.shape
    alpha = _alpha_layer(height, width)
    garbage = np.random.default_rng(7).integers(0, 256, size=(height, width // 3, 3))
    pixels[:, : width // 3] = garbage  # random colours hidden under alpha = 0
    data = encode(image_from(np.dstack([pixels, alpha]), "RGBA"), fmt, **params)
    with Image.open(io.BytesIO(data)) as image:
        stored = np.asarray(image.convert("RGBA"))
    np.testing.assert_array_equal(stored[:, : width // 3, :3], garbage)  # still in the file

    luma = decode(data).luma
    flattened = Image.alpha_composite(
        Image.new("RGBA", photo.size, (255, 255, 255, 255)), image_from(stored, "RGBA")
    )
    np.testing.assert_array_equal(luma, luma_of(flattened))
    assert (luma[:, : width // 3] == 255).all()
    np.testing.assert_array_equal(luma[:, width // 2 :], photo_luma[:, width // 2 :])
    band = np.s_[:, width // 3 : width // 2]
    assert np.abs(luma[band] - _over_white(photo_luma[band], alpha[band])).max() <= 2


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_la_is_composited_over_white(photo_luma: NDArray[np.uint8], fmt: str) -> None:
    height, width = photo_luma.shape
    grey = photo_luma.copy()
    grey[:, : width // 3] = np.random.default_rng(8).integers(0, 256, size=(height, width // 3))
    alpha = _alpha_layer(height, width)
    data = encode(image_from(np.dstack([grey, alpha]), "LA"), fmt)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "LA"
    luma = decode(data).luma
    assert (luma[:, : width // 3] == 255).all()
    np.testing.assert_array_equal(luma[:, width // 2 :], photo_luma[:, width // 2 :])
    band = np.s_[:, width // 3 : width // 2]
    assert np.abs(luma[band] - _over_white(photo_luma[band], alpha[band])).max() <= 2


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        pytest.param("WEBP", {"quality": 85}, id="webp"),
        pytest.param("HEIF", {"quality": 85}, id="heif"),
        pytest.param("AVIF", {"quality": 85}, id="avif"),
    ],
)
def test_lossy_formats_with_alpha_are_composited_over_white(
    photo: Image.Image, photo_luma: NDArray[np.uint8], fmt: str, params: dict[str, Any]
) -> None:
    height, width = photo_luma.shape
    pixels = np.asarray(photo).copy()
    pixels[:, : width // 2] = 0  # black under the transparent half
    alpha = np.full((height, width), 255, dtype=np.uint8)
    alpha[:, : width // 2] = 0
    luma = decode(encode(image_from(np.dstack([pixels, alpha]), "RGBA"), fmt, **params)).luma
    assert luma[:, : width // 2 - 4].min() >= 250
    right = np.s_[:, width // 2 + 4 :]
    assert np.abs(luma[right].astype(np.int16) - photo_luma[right]).mean() < 6


def test_rgb_png_with_a_transparent_colour_key_is_composited_over_white() -> None:
    pixels = np.zeros((6, 8, 3), dtype=np.uint8)
    pixels[:3] = (10, 20, 30)  # the colour key
    pixels[3:] = (200, 100, 50)
    data = encode(image_from(pixels, "RGB"), "PNG", transparency=(10, 20, 30))
    luma = decode(data).luma
    assert (luma[:3] == 255).all()
    np.testing.assert_array_equal(luma[3:], luma_of(image_from(pixels[3:], "RGB")))


def test_greyscale_png_with_a_transparent_grey_key_is_composited_over_white() -> None:
    grey = np.full((6, 8), 200, dtype=np.uint8)
    grey[:3] = 10  # the grey key: transparent
    data = encode(image_from(grey, "L"), "PNG", transparency=10)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.mode, image.info.get("transparency")) == ("L", 10)
    luma = decode(data).luma
    np.testing.assert_array_equal(luma[3:], grey[3:])
    assert (luma[:3] == 255).all(), "transparent grey-key pixels must become white"


def test_16_bit_greyscale_png_with_a_transparent_key_is_composited_over_white() -> None:
    wide = np.full((6, 8), 40000, dtype=np.uint16)
    wide[:3] = 1000  # the 16-bit grey key: transparent
    image16 = Image.frombytes("I;16", (8, 6), wide.astype("<u2").tobytes())
    data = encode(image16, "PNG", transparency=1000)
    with Image.open(io.BytesIO(data)) as image:
        assert (image.mode, image.info.get("transparency")) == ("I;16", 1000)
    luma = decode(data).luma
    assert (luma[3:] == 156).all()  # 40000 * 255 / 65535 = 155.6
    assert (luma[:3] == 255).all(), "transparent 16-bit grey-key pixels must become white"


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "GIF"])
def test_bilevel_images_give_black_and_white(photo: Image.Image, fmt: str) -> None:
    bilevel = photo.convert("1")
    data = encode(bilevel, fmt)
    luma = decode(data).luma
    assert set(np.unique(luma).tolist()) == {0, 255}
    np.testing.assert_array_equal(luma, luma_of(bilevel))


# --- 3. EXIF orientation -------------------------------------------------------------


def test_orientation_tables_undo_each_other_and_agree_with_pillow() -> None:
    scene = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)  # not square, RGB
    for orientation in range(2, 9):
        stored = STORED[orientation](scene)
        assert not np.array_equal(stored, scene)
        np.testing.assert_array_equal(DISPLAY[orientation](stored), scene)
        tagged = image_from(stored, "RGB")
        tagged.info["exif"] = exif_with_orientation(orientation).tobytes()
        upright = ImageOps.exif_transpose(tagged)
        np.testing.assert_array_equal(np.asarray(upright), scene)


def _oriented(upright: Image.Image, orientation: int) -> Image.Image:
    return image_from(STORED[orientation](np.asarray(upright)), upright.mode)


@pytest.mark.parametrize("orientation", range(2, 9))
@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        pytest.param("PNG", {}, id="png"),
        pytest.param("WEBP", {"lossless": True}, id="webp-lossless"),
        pytest.param("TIFF", {}, id="tiff"),
    ],
)
def test_orientation_is_applied_exactly_in_lossless_formats(
    small_photo: Image.Image, fmt: str, params: dict[str, Any], orientation: int
) -> None:
    exif = exif_with_orientation(orientation)
    data = encode(_oriented(small_photo, orientation), fmt, exif=exif, **params)
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get(ORIENTATION) == orientation
    decoded = decode(data)
    assert (decoded.width, decoded.height) == small_photo.size
    np.testing.assert_array_equal(decoded.luma, luma_of(small_photo))


@pytest.mark.parametrize("orientation", range(2, 9))
def test_jpeg_orientation_turns_the_decoded_pixels(
    small_photo: Image.Image, orientation: int
) -> None:
    stored = _oriented(small_photo, orientation)
    with_tag = decode(encode(stored, "JPEG", quality=90, exif=exif_with_orientation(orientation)))
    without_tag = decode(encode(stored, "JPEG", quality=90))
    # Same pixels, same quantisation: the tag must only turn the result, exactly.
    np.testing.assert_array_equal(with_tag.luma, DISPLAY[orientation](without_tag.luma))
    assert (with_tag.width, with_tag.height) == small_photo.size
    assert bits_apart(with_tag.luma, luma_of(small_photo)) <= ORIENTATION_BITS


@pytest.mark.parametrize("orientation", range(2, 9))
def test_avif_orientation_is_applied(small_photo: Image.Image, orientation: int) -> None:
    stored = _oriented(small_photo, orientation)
    data = encode(stored, "AVIF", quality=90, exif=exif_with_orientation(orientation))
    decoded = decode(data)
    assert (decoded.width, decoded.height) == small_photo.size
    assert bits_apart(decoded.luma, luma_of(small_photo)) <= ORIENTATION_BITS


@pytest.mark.parametrize("orientation", range(2, 9))
def test_heif_orientation_is_applied_once(small_photo: Image.Image, orientation: int) -> None:
    # Passed as bytes, the EXIF orientation makes pillow_heif write HEIF's own irot/imir
    # transforms, as phones do; libheif applies them and resets the EXIF tag to 1.
    stored = _oriented(small_photo, orientation)
    exif = exif_with_orientation(orientation).tobytes()
    data = encode(stored, "HEIF", quality=90, exif=exif)
    assert b"irot" in data or b"imir" in data
    decoded = decode(data)
    assert (decoded.width, decoded.height) == small_photo.size
    assert bits_apart(decoded.luma, luma_of(small_photo)) <= ORIENTATION_BITS


def test_phone_jpeg_hashes_like_its_upright_reupload(photo: Image.Image) -> None:
    upright = image_from(np.rot90(np.asarray(photo)), "RGB")  # a portrait picture
    exif = exif_with_orientation(6)
    exif[0x010F] = "Phone maker"  # Make
    exif[0x0110] = "Phone 1"  # Model
    phone = encode(_oriented(upright, 6), "JPEG", quality=92, exif=exif)
    reupload = encode(upright, "JPEG", quality=80)  # saved again, EXIF stripped

    from_phone = decode(phone, "IMG_0001.JPG")
    assert (from_phone.width, from_phone.height) == upright.size  # portrait, as shown
    assert bits_apart(from_phone.luma, decode(reupload).luma) <= ORIENTATION_BITS
    # Without applying the tag the two would be unrelated pictures.
    assert bits_apart(np.rot90(from_phone.luma), decode(reupload).luma) > 64


@pytest.mark.parametrize("orientation", [0, 1, 9, 255])
def test_missing_or_invalid_orientation_leaves_pixels_as_stored(
    small_photo: Image.Image, orientation: int
) -> None:
    data = encode(small_photo, "PNG", exif=exif_with_orientation(orientation))
    np.testing.assert_array_equal(decode(data).luma, luma_of(small_photo))


# --- 4. bad input --------------------------------------------------------------------


def test_empty_file_is_refused_when_read(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EmptyFile) as caught:
        read_media_file(path, LIMITS)
    assert_names_source(caught.value, str(path))


def test_empty_bytes_are_refused_when_decoded() -> None:
    with pytest.raises(EmptyFile) as caught:
        decode_image(b"", "empty.jpg", LIMITS)
    assert_names_source(caught.value, "empty.jpg")


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "cut.jpg"), ("PNG", "cut.png")])
def test_truncated_files_are_corrupt(
    tmp_path: Path, photo: Image.Image, fmt: str, name: str
) -> None:
    whole = encode(photo, fmt)
    path = tmp_path / name
    path.write_bytes(whole[: len(whole) // 2])
    data = read_media_file(path, LIMITS)
    with pytest.raises(CorruptMedia) as caught:
        decode_image(data, str(path), LIMITS)
    assert_names_source(caught.value, str(path))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"Dear diary, today I renamed a text file.\n", id="text"),
        pytest.param(b"<!doctype html><html><body>404</body></html>", id="html"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(64), id="zip"),
        pytest.param(bytes(range(7, 256)) * 4, id="binary"),
    ],
)
def test_non_images_with_an_image_name_are_unsupported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFormat) as caught:
        decode_image(read_media_file(path, LIMITS), str(path), LIMITS)
    assert_names_source(caught.value, str(path))


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        pytest.param("PPM", {}, id="ppm"),
        pytest.param("ICO", {}, id="ico"),
        pytest.param("TGA", {}, id="tga"),
        pytest.param("PCX", {}, id="pcx"),
        pytest.param("SGI", {}, id="sgi"),
        pytest.param("QOI", {}, id="qoi"),
        pytest.param("EPS", {}, id="eps"),  # never handed to Ghostscript
    ],
)
def test_formats_pillow_knows_but_reclaim_does_not_decode(
    photo: Image.Image, load_calls: list[str], fmt: str, params: dict[str, Any]
) -> None:
    data = encode(photo.reduce(4), fmt, **params)
    with pytest.raises(UnsupportedFormat) as caught:
        decode_image(data, "picture.png", LIMITS)
    assert_names_source(caught.value, "picture.png")
    assert load_calls == []  # refused without decoding a pixel


def test_the_load_spy_sees_decoding(photo: Image.Image, load_calls: list[str]) -> None:
    # Guards the tests below: an empty load_calls must mean "not decoded".
    decode(encode(photo, "PNG"))
    assert load_calls and set(load_calls) == {"PNG"}


BOMBS = [
    pytest.param(png_bytes, 100_000, 100_000, id="png-100000-square"),
    pytest.param(png_bytes, 60_000, 60_000, id="png-3.6-gigapixels"),
    pytest.param(jpeg_with_size, 60_000, 60_000, id="jpeg-sof"),
    pytest.param(bmp_header_bomb, 60_000, 60_000, id="bmp-header"),
    pytest.param(gif_disposal_bomb, 65_500, 65_500, id="gif-disposal"),
]


@pytest.mark.parametrize(("make", "width", "height"), BOMBS)
def test_decompression_bombs_are_refused_before_decoding(
    load_calls: list[str], make: Callable[[int, int], bytes], width: int, height: int
) -> None:
    data = make(width, height)
    assert len(data) < 10_000
    started = time.perf_counter()
    # Refused from the header alone: no pixel buffer, so no need for much memory.
    with memory_cap(512 * 1024 * 1024), pytest.raises(ImageTooLarge) as caught:
        decode_image(data, "bomb.img", LIMITS)
    assert time.perf_counter() - started < 1.0
    assert_names_source(caught.value, "bomb.img")
    reason = caught.value.reason
    assert f"{width}x{height}" in reason or str(width * height) in reason
    assert load_calls == []


def test_a_low_pixel_limit_refuses_a_normal_photo(photo: Image.Image) -> None:
    data = encode(photo, "PNG")
    width, height = photo.size
    assert decode(data, limits=MediaLimits(max_image_pixels=width * height)).width == width
    with pytest.raises(ImageTooLarge) as caught:
        decode_image(data, "photo.png", MediaLimits(max_image_pixels=width * height - 1))
    assert_names_source(caught.value, "photo.png")
    assert f"{width}x{height}" in caught.value.reason


def test_the_side_limit_refuses_a_long_side(photo: Image.Image) -> None:
    data = encode(photo, "PNG")
    longest = max(photo.size)
    assert decode(data, limits=MediaLimits(max_image_side=longest)).luma.size > 0
    with pytest.raises(ImageTooLarge) as caught:
        decode_image(data, "photo.png", MediaLimits(max_image_side=longest - 1))
    assert_names_source(caught.value, "photo.png")


@pytest.mark.parametrize(
    ("width", "height"), [(70_000, 1), (1, 70_000), (100_000, 1_000), (65_501, 2)]
)
def test_absurd_sides_are_refused_whatever_the_pixel_count(
    load_calls: list[str], width: int, height: int
) -> None:
    data = png_bytes(width, height)
    assert width * height < LIMITS.max_image_pixels  # only the side is absurd
    with pytest.raises(ImageTooLarge) as caught:
        decode_image(data, "strip.png", LIMITS)
    assert_names_source(caught.value, "strip.png")
    assert f"{width}x{height}" in caught.value.reason
    assert load_calls == []


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0)])
def test_zero_dimensions_are_corrupt(width: int, height: int) -> None:
    with pytest.raises(CorruptMedia) as caught:
        decode_image(png_bytes(width, height), "flat.png", LIMITS)
    assert_names_source(caught.value, "flat.png")


def test_files_above_the_byte_limit_are_refused(tmp_path: Path) -> None:
    limits = MediaLimits(max_file_bytes=100)
    at_limit = tmp_path / "at.jpg"
    at_limit.write_bytes(b"x" * 100)
    assert read_media_file(at_limit, limits) == b"x" * 100
    above = tmp_path / "above.jpg"
    above.write_bytes(b"x" * 101)
    with pytest.raises(FileTooLarge) as caught:
        read_media_file(above, limits)
    assert_names_source(caught.value, str(above))
    assert "101" in caught.value.reason


def test_a_file_is_read_whole(tmp_path: Path, photo: Image.Image) -> None:
    data = encode(photo, "JPEG")
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    assert read_media_file(path, LIMITS) == data
    link = tmp_path / "link.jpg"
    link.symlink_to(path)
    assert read_media_file(link, LIMITS) == data


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "gone.jpg"


def _folder(tmp_path: Path) -> Path:
    path = tmp_path / "album.jpg"
    path.mkdir()
    return path


def _dangling_link(tmp_path: Path) -> Path:
    path = tmp_path / "dangling.jpg"
    path.symlink_to(tmp_path / "nowhere.jpg")
    return path


def _self_link(tmp_path: Path) -> Path:
    path = tmp_path / "loop.jpg"
    path.symlink_to(path)
    return path


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    "make", [_missing, _folder, _dangling_link, _self_link, _fifo], ids=lambda f: f.__name__[1:]
)
def test_unreadable_paths_are_refused(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    path = make(tmp_path)
    with pytest.raises(FileUnreadable) as caught:
        read_media_file(path, LIMITS)
    assert_names_source(caught.value, str(path))
    assert caught.value.code == "unreadable"


def test_error_codes_are_stable() -> None:
    codes = {
        FileUnreadable: "unreadable",
        EmptyFile: "empty_file",
        FileTooLarge: "file_too_large",
        UnsupportedFormat: "unsupported_format",
        CorruptMedia: "corrupt",
        ImageTooLarge: "image_too_large",
    }
    for error_type, code in codes.items():
        error = error_type("a.jpg", "why")
        assert isinstance(error, MediaError)
        assert error.to_dict() == {"code": code, "message": "a.jpg: why"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", True),
        ("A.JPEG", True),
        ("dir.d/b.HeIc", True),
        ("c.avif", True),
        ("d.tif", True),
        ("e.webp", True),
        ("f.txt", False),
        ("g.jpg.txt", False),
        ("jpg", False),
        ("h.ppm", False),
    ],
)
def test_is_image_name(name: str, expected: bool) -> None:
    assert is_image_name(name) is expected
    assert is_image_name(Path(name)) is expected


def test_every_supported_format_has_a_file_extension() -> None:
    registered = Image.registered_extensions()
    for fmt in IMAGE_FORMATS - {"MPO"}:  # MPO files are named .jpg
        assert any(registered.get(ext) == fmt for ext in IMAGE_EXTENSIONS), fmt


# --- 5. Pillow's malformed test images ----------------------------------------------

# What each file gives with Pillow 13.0.0: None means it decodes (Pillow tolerates it).
MALFORMED_OUTCOMES: dict[str, type[MediaError] | tuple[type[MediaError], ...] | None] = {
    "bmp-b-badbitcount.bmp": CorruptMedia,
    "bmp-b-badpalettesize.bmp": CorruptMedia,
    "bmp-b-badwidth.bmp": ImageTooLarge,
    "bmp-b-reallybig.bmp": ImageTooLarge,
    "bmp-b-shortfile.bmp": CorruptMedia,
    "broken.png": CorruptMedia,
    "broken_data_stream.png": CorruptMedia,
    "crash-4fb027452e6988530aa5dabee76eecacb3b79f8a.j2k": UnsupportedFormat,
    "crash-754d9c7ec485ffb76a90eeaab191ef69a2a3a3cd.sgi": UnsupportedFormat,
    "decompression_bomb.gif": ImageTooLarge,
    # Refused as unsupported, or as corrupt if Pillow's ICO plugin is allowed to parse it.
    "decompression_bomb.ico": (UnsupportedFormat, CorruptMedia),
    "decompression_bomb_extents.gif": None,
    "exif-dpi-zerodivision.jpg": None,
    "hopper_rle8_row_overflow.bmp": None,
    "invalid-exif.jpg": None,
    "oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif": CorruptMedia,
    "psd-oob-write-overflow.psd": UnsupportedFormat,
    "tiff_tiled_jpeg_oob_read.tif": CorruptMedia,
    "timeout-60d8b7c8469d59fc9ffff6b3a3dc0faeae6ea8ee.blp": UnsupportedFormat,
    "truncated_app14.jpg": None,
    "truncated_end_chunk.png": CorruptMedia,
    "truncated_image.png": CorruptMedia,
    "truncated_jpeg.jpg": CorruptMedia,
    "unknown_compression_method.png": CorruptMedia,
    "zero_width.gif": CorruptMedia,
}


def test_the_malformed_corpus_is_complete_and_small() -> None:
    files = {p.name for p in MALFORMED.iterdir() if p.name != "SOURCES.md"}
    assert files == set(MALFORMED_OUTCOMES)
    assert sum((MALFORMED / name).stat().st_size for name in files) < 1_000_000
    sources = (MALFORMED / "SOURCES.md").read_text()
    assert "13.0.0" in sources and "MIT-CMU" in sources
    assert all(f"`{name}`" in sources for name in files)
    refused = [name for name, outcome in MALFORMED_OUTCOMES.items() if outcome is not None]
    assert len(refused) >= 2 * len(MALFORMED_OUTCOMES) // 3


@pytest.mark.parametrize("name", sorted(MALFORMED_OUTCOMES))
def test_malformed_files_decode_or_raise_a_media_error_quickly(name: str) -> None:
    path = MALFORMED / name
    data = read_media_file(path, LIMITS)
    started = time.perf_counter()
    try:
        with memory_cap(1024 * 1024 * 1024):
            decoded = decode_image(data, str(path), LIMITS)
    except MediaError as error:
        assert_names_source(error, str(path))
        outcome: type[MediaError] | None = type(error)
    else:
        assert_valid(decoded)
        outcome = None
    assert time.perf_counter() - started < 2.0
    expected = MALFORMED_OUTCOMES[name]
    assert outcome in (expected if isinstance(expected, tuple) else (expected,))


# --- 6. arbitrary bytes --------------------------------------------------------------

FUZZ_LIMITS = MediaLimits(max_image_pixels=1_000_000, max_image_side=4096)
HEADERS = [
    png_bytes(16, 16)[:33],  # signature and a valid IHDR
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    b"\xff\xd8\xff\xdb\x00\x43\x00",
    b"BM",
    b"II*\x00\x08\x00\x00\x00",
    b"MM\x00*\x00\x00\x00\x08",
    b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
    b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00",
]


@cache
def _small_real_files() -> tuple[bytes, ...]:
    crop = _photo().crop((100, 60, 164, 124))
    return (
        encode(crop, "PNG"),
        encode(crop, "JPEG", quality=80),
        encode(crop, "GIF"),
        encode(crop, "BMP"),
        encode(crop, "TIFF"),
        encode(crop, "WEBP", quality=80),
    )


def _decode_or_media_error(data: bytes) -> None:
    try:
        decoded = decode_image(data, "fuzz.bin", FUZZ_LIMITS)
    except MediaError as error:
        assert_names_source(error, "fuzz.bin")
    else:
        assert_valid(decoded)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_media_errors(data: bytes) -> None:
    _decode_or_media_error(data)


@FUZZ
@given(st.sampled_from(HEADERS), st.binary(max_size=2048))
def test_arbitrary_bytes_after_a_real_header_raise_only_media_errors(
    header: bytes, tail: bytes
) -> None:
    _decode_or_media_error(header + tail)


@FUZZ
@given(
    st.integers(min_value=0, max_value=5),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
    st.integers(min_value=1),
)
def test_damaged_real_files_raise_only_media_errors(
    which: int, edits: list[tuple[int, int]], keep: int
) -> None:
    data = bytearray(_small_real_files()[which])
    for position, value in edits:
        data[position % len(data)] = value
    _decode_or_media_error(bytes(data[: 1 + keep % len(data)]))
