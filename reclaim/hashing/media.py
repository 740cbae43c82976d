"""Safe decoding of untrusted image files into luminance.

Everything that reaches a hasher passes through here, so this module is where hostile
input stops: files are size-checked before they are read, image dimensions are checked
from the header before any pixel is decoded (decompression bombs), only the formats
Reclaim needs are decoded at all, and every decoder failure becomes a typed
``MediaError`` naming the file and the reason.

Decoding rules, chosen so that what is hashed is what a person sees:

* EXIF orientation is applied, so a phone photo and its upright re-upload hash alike.
* Transparent images are composited over white, as viewers and converters show them.
* 16-bit images are scaled to 8 bits, not clipped.
* JPEG files are decoded straight to luminance (their Y channel), which skips colour
  conversion and chroma upsampling; GIFs give their first frame.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pillow_heif
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from reclaim.errors import (
    CorruptMedia,
    EmptyFile,
    FileTooLarge,
    FileUnreadable,
    ImageTooLarge,
    UnsupportedFormat,
)

pillow_heif.register_heif_opener()

#: Pillow format names Reclaim decodes. MPO is the multi-picture JPEG many cameras write.
IMAGE_FORMATS: Final = frozenset(
    {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF"}
)
#: The Pillow plugins allowed to parse a file (MPO files come through the JPEG plugin).
_OPENERS: Final = tuple(sorted(IMAGE_FORMATS - {"MPO"}))
#: File name extensions taken when a folder is walked (any file named explicitly is tried).
IMAGE_EXTENSIONS: Final = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib",
        ".tif", ".tiff", ".heic", ".heif", ".hif", ".avif",
    }
)  # fmt: skip

_WHITE: Final = (255, 255, 255, 255)

#: Leading bytes of the supported formats, to tell a corrupt image from a non-image.
_SIGNATURES: Final = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Bounds on what Reclaim agrees to decode (see ``Settings`` for the defaults)."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_image_pixels: int = 200_000_000
    max_image_side: int = 65_500


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An upright image reduced to luminance: ``luma`` is (height, width) uint8."""

    luma: NDArray[np.uint8]
    format: str

    @property
    def width(self) -> int:
        return int(self.luma.shape[1])

    @property
    def height(self) -> int:
        return int(self.luma.shape[0])


def read_media_file(path: Path, limits: MediaLimits) -> bytes:
    """The bytes of a file, refused with a typed error if it is unreadable, empty or too big."""
    source = str(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise FileUnreadable(source, _os_reason(exc)) from exc
    if stat.S_ISDIR(info.st_mode):
        raise FileUnreadable(source, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileUnreadable(source, "is not a regular file")
    if info.st_size == 0:
        raise EmptyFile(source, "file is empty (0 bytes)")
    if info.st_size > limits.max_file_bytes:
        raise FileTooLarge(
            source, f"file has {info.st_size} bytes, more than the limit of {limits.max_file_bytes}"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)
    except OSError as exc:
        raise FileUnreadable(source, _os_reason(exc)) from exc
    if not data:
        raise EmptyFile(source, "file is empty (0 bytes)")
    if len(data) > limits.max_file_bytes:
        raise FileTooLarge(source, f"file grew past the limit of {limits.max_file_bytes} bytes")
    return data


def decode_image(data: bytes, source: str, limits: MediaLimits) -> DecodedImage:
    """Decode image bytes to upright luminance, or raise a ``MediaError`` naming ``source``."""
    if not data:
        raise EmptyFile(source, "file is empty (0 bytes)")
    # Pillow's warnings about odd but decodable files (bad EXIF, odd MPO headers) would
    # otherwise make the result depend on the process's warning filters.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _decode(data, source, limits)


def _decode(data: bytes, source: str, limits: MediaLimits) -> DecodedImage:
    # Some plugins (GIF, ICO) allocate frame buffers inside Image.open, before Reclaim can
    # look at the size, so Pillow's own guard is set to refuse the same sizes there.
    Image.MAX_IMAGE_PIXELS = (limits.max_image_pixels + 1) // 2  # Pillow refuses above 2x
    try:
        image = Image.open(io.BytesIO(data), formats=_OPENERS)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(
            source, f"image header claims more than {limits.max_image_pixels} pixels ({exc})"
        ) from exc
    except UnidentifiedImageError as exc:
        claimed = sniff_format(data)
        if claimed is not None:
            raise CorruptMedia(source, f"starts like {claimed} but its header is corrupt") from exc
        raise UnsupportedFormat(source, "not a recognised image format") from exc
    except Exception as exc:  # hostile headers make Pillow raise all sorts of errors
        raise CorruptMedia(source, f"unreadable image header ({_describe(exc)})") from exc
    with image:
        fmt = str(image.format)
        if fmt not in IMAGE_FORMATS:
            raise UnsupportedFormat(
                source, f"{fmt} images are not supported (supported: {_format_list()})"
            )
        _check_dimensions(source, image.size, limits)
        try:
            luma = _to_luma(image)
        except MemoryError as exc:
            raise ImageTooLarge(source, "not enough memory to decode the image") from exc
        except Exception as exc:  # a decoder refusing malformed data: truncated, corrupt, ...
            raise CorruptMedia(source, f"cannot decode {fmt} data ({_describe(exc)})") from exc
    return DecodedImage(luma=luma, format=fmt)


def sniff_format(data: bytes) -> str | None:
    """The supported format whose signature ``data`` starts with, if any."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return "AVIF" if data[8:12] in (b"avif", b"avis") else "HEIF"
    return None


def _check_dimensions(source: str, size: tuple[int, int], limits: MediaLimits) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptMedia(source, f"image header gives impossible dimensions {width}x{height}")
    if max(width, height) > limits.max_image_side:
        raise ImageTooLarge(
            source,
            f"image is {width}x{height}; sides above {limits.max_image_side} pixels are refused",
        )
    if width * height > limits.max_image_pixels:
        raise ImageTooLarge(
            source,
            f"image is {width}x{height} = {width * height} pixels, more than the limit of "
            f"{limits.max_image_pixels} (possible decompression bomb)",
        )


def _to_luma(image: Image.Image) -> NDArray[np.uint8]:
    if image.format in ("JPEG", "MPO") and image.mode in ("RGB", "L"):
        # Decode the Y channel only: JPEG's luma is the same 0.299/0.587/0.114 mix.
        image.draft("L", image.size)
    image.load()
    # Read after loading: the TIFF loader turns the image itself and drops the tag.
    orientation = image.getexif().get(0x0112, 1)
    gray = _grayscale(image)
    if orientation not in (None, 1):
        gray = _apply_orientation(gray, int(orientation))
    return np.asarray(gray, dtype=np.uint8)


def _apply_orientation(gray: Image.Image, orientation: int) -> Image.Image:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return gray.transpose(method) if method is not None else gray


def _grayscale(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        scaled = _scale_wide_ints(image)
        key = image.info.get("transparency")
        if isinstance(key, int):  # a transparent grey value: white, like other transparency
            scaled[np.asarray(image) == key] = 255
        return Image.fromarray(scaled, mode="L")
    if mode == "L" and "transparency" not in image.info:
        return image
    if mode == "F":
        values = np.clip(np.asarray(image, dtype=np.float32), 0, 255)
        return Image.fromarray(np.rint(values).astype(np.uint8), mode="L")
    if _has_transparency(image):
        rgba = image.convert("RGBA")
        flattened = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
        return flattened.convert("L")
    if mode == "CMYK":
        return image.convert("RGB").convert("L")
    return image.convert("L")


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _scale_wide_ints(image: Image.Image) -> NDArray[np.uint8]:
    # Pillow opens 16-bit greyscale as "I;16*" or "I": both hold values in 0..65535.
    values = np.clip(np.asarray(image).astype(np.float64), 0, 65535.0)
    return np.rint(values * (255.0 / 65535.0)).astype(np.uint8)


def _format_list() -> str:
    return ", ".join(sorted(IMAGE_FORMATS))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _os_reason(exc: OSError) -> str:
    return exc.strerror if exc.strerror else _describe(exc)


def is_image_name(path: str | os.PathLike[str]) -> bool:
    """Whether a file name has an image extension (used when walking folders)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS
