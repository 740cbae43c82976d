"""Region hashes of video frames: Reclaim's companion to vPDQ for cropped and marked copies.

A vPDQ frame hash is the PDQ hash of the whole frame, and PDQ is sensitive to what the
frame holds at its edges: a copy zoomed in by 10% (a centred crop), cut to hide a corner,
carrying a logo in a corner or burnt-in subtitles moves many frames more than 31 bits
from the original's. So beside each registered frame's whole hash Reclaim keeps eleven
more PDQ hashes of parts of it:

- the centre 90% and 80% of the frame (``CENTRE_MARGINS``: 5% and 10% off each side),
  and the 90% of it at each corner (``CORNER_SHARE``: 10% off two sides): the whole hash
  of a copy cropped so lies near them;
- its four quadrants: a logo or a sticker over one of them leaves three as they were;
- its top 80% (``BAND``): subtitles sit below it.

A query frame then matches a registered frame when

- its whole hash (or its picture inside black bars) lies within the distance threshold
  of the registered frame's whole hash or of one of its crops (centres and corners), or
- its top band lies within it of the registered frame's top band, or
- at least ``MIN_QUADRANTS`` of its quadrants each lie within it of the registered
  frame's quadrant in the same place, one of them at least of ``QUADRANT_QUALITY`` on
  both sides (a quadrant of flat sky or wall hashes poorly, but its near twin still
  agrees).

Otherwise every hash counts only at vPDQ's quality threshold or above, and percentages
follow vPDQ's rules (``index.videos.VideoIndex`` matches by them). A query needs its
frames' quadrants and bands only (``region_hashes(crops=False)``).

These hashes are Reclaim's own signal (``video_regions``): partners' vPDQ lists do not
carry them and never need to. Its payload holds, per sampled frame, the timestamp and the
twelve hashes with their qualities (``regions_payload``; 404 bytes a frame).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from reclaim.errors import HashFormatError
from reclaim.hashing.base import PdqHash
from reclaim.hashing.pdq import pdq_from_luma
from reclaim.hashing.video import (
    MAX_LIST_FRAMES,
    QUALITY_THRESHOLD,
    FrameHash,
)

#: Percent of the frame's width and height cut off each side for each centred region.
CENTRE_MARGINS: Final = (5, 10)
#: Percent of the frame's width and height each corner's region keeps.
CORNER_SHARE: Final = 90
#: Percent of the frame's height below the top band.
BAND_BOTTOM_MARGIN: Final = 20
#: Columns of ``VideoRegions.codes``: the whole frame, the centres, the quadrants (top
#: left, top right, bottom left, bottom right), the top band, then the corners (in the
#: quadrants' order). Centres and corners are a registration's crops: a query's whole
#: hash meets them.
WHOLE: Final = 0
CENTRE_COLUMNS: Final = (1, 2)
QUADRANT_COLUMNS: Final = (3, 4, 5, 6)
BAND: Final = 7
CORNER_COLUMNS: Final = (8, 9, 10, 11)
CROP_COLUMNS: Final = (*CENTRE_COLUMNS, *CORNER_COLUMNS)
HASHES_PER_FRAME: Final = 12
#: Quadrants that must match for a frame to match by them.
MIN_QUADRANTS: Final = 3
#: The quality one of them must reach on both sides. Lower than vPDQ's 50 for whole
#: frames: a quarter of a dim frame (a night sky beside the moon) scores 25-45 where the
#: whole frame scores 100, while flat black or grey scores under 15. Frames whose whole
#: hash falls below 50 never count at all.
QUADRANT_QUALITY: Final = 30


def quality_floor(column: int) -> int:
    """The quality a hash of region ``column`` needs to count (to anchor, for quadrants)."""
    return QUADRANT_QUALITY if column in QUADRANT_COLUMNS else QUALITY_THRESHOLD


_MAGIC: Final = b"RVR"
_VERSION: Final = 1
_HEADER: Final = struct.Struct("<3sBI")
_FRAME: Final = np.dtype(
    [
        ("timestamp", "<f8"),
        ("codes", "u1", (HASHES_PER_FRAME, 32)),
        ("quality", "u1", (HASHES_PER_FRAME,)),
    ]
)
#: The most bytes a regions payload may take (as many frames as a vPDQ list may hold).
MAX_PAYLOAD_BYTES: Final = _HEADER.size + MAX_LIST_FRAMES * _FRAME.itemsize


@dataclass(frozen=True, slots=True, eq=False)
class VideoRegions:
    """A video's sampled frames' region hashes: ``codes[k, c]`` is frame ``k``'s hash of
    region ``c`` (``WHOLE``, ``CENTRE_COLUMNS``, ``QUADRANT_COLUMNS``, ``BAND``,
    ``CORNER_COLUMNS``) as 32 bytes, and
    ``quality[k, c]`` its PDQ quality; ``timestamps[k]`` the frame's time in seconds."""

    timestamps: NDArray[np.float64]
    codes: NDArray[np.uint8]
    quality: NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.timestamps)

    @classmethod
    def empty(cls) -> VideoRegions:
        return cls(
            np.zeros(0, np.float64),
            np.zeros((0, HASHES_PER_FRAME, 32), np.uint8),
            np.zeros((0, HASHES_PER_FRAME), np.uint8),
        )

    @classmethod
    def stack(cls, frames: Sequence[tuple[float, Sequence[PdqHash]]]) -> VideoRegions:
        """Regions from each frame's (timestamp, its ``HASHES_PER_FRAME`` hashes)."""
        if not frames:
            return cls.empty()
        codes = np.frombuffer(
            bytes.fromhex("".join(h.hex for _, hashes in frames for h in hashes)), np.uint8
        ).reshape(len(frames), HASHES_PER_FRAME, 32)
        return cls(
            np.array([timestamp for timestamp, _ in frames], np.float64),
            codes.copy(),
            np.array([[h.quality for h in hashes] for _, hashes in frames], np.uint8),
        )

    def wholes(self) -> list[FrameHash]:
        """Each frame's whole hash, as vPDQ's frames (what vPDQ would have sampled)."""
        return [
            FrameHash(PdqHash(bytes(code).hex(), int(quality)), float(timestamp))
            for timestamp, code, quality in zip(
                self.timestamps, self.codes[:, WHOLE], self.quality[:, WHOLE], strict=True
            )
        ]


def region_hashes(
    luma: NDArray[np.uint8], whole: PdqHash, *, crops: bool = True
) -> tuple[PdqHash, ...]:
    """A frame's ``HASHES_PER_FRAME`` hashes: ``whole`` (its PDQ hash, already computed),
    its centres', its quadrants', its top band's and its corners'. Without ``crops`` (a
    query's frame: its whole hash is what meets registered crops) the centres and
    corners are left empty, of quality 0."""
    height, width = luma.shape

    def hashed(rows: slice, columns: slice) -> PdqHash:
        return pdq_from_luma(np.ascontiguousarray(luma[rows, columns])) if crops else _NOTHING

    hashes = [whole]
    for margin in CENTRE_MARGINS:
        top, left = height * margin // 100, width * margin // 100
        hashes.append(hashed(slice(top, height - top), slice(left, width - left)))
    middle_row, middle_column = height // 2, width // 2
    halves = (slice(0, middle_row), slice(middle_row, height))
    sides = (slice(0, middle_column), slice(middle_column, width))
    hashes += [pdq_from_luma(np.ascontiguousarray(luma[r, c])) for r in halves for c in sides]
    band = height - height * BAND_BOTTOM_MARGIN // 100
    hashes.append(pdq_from_luma(np.ascontiguousarray(luma[:band])))
    kept_rows, kept_columns = height * CORNER_SHARE // 100, width * CORNER_SHARE // 100
    ends = (slice(0, kept_rows), slice(height - kept_rows, height))
    edges = (slice(0, kept_columns), slice(width - kept_columns, width))
    hashes += [hashed(r, c) for r in ends for c in edges]
    return tuple(hashes)


_NOTHING: Final = PdqHash("0" * 64, 0)


def regions_payload(regions: VideoRegions) -> bytes:
    """The payload a ``video_regions`` signal stores (its value is the SHA-256 of it)."""
    records = np.zeros(len(regions), _FRAME)
    records["timestamp"] = regions.timestamps
    records["codes"] = regions.codes
    records["quality"] = regions.quality
    return _HEADER.pack(_MAGIC, _VERSION, len(regions)) + records.tobytes()


def regions_from_payload(payload: bytes, source: str = "video_regions") -> VideoRegions:
    """The regions of a ``video_regions`` payload; ``HashFormatError`` naming ``source``
    and the fault if it is not one."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise HashFormatError(
            f"{source}: {len(payload)} bytes, more than a regions payload may take "
            f"({MAX_PAYLOAD_BYTES})"
        )
    if len(payload) < _HEADER.size:
        raise HashFormatError(f"{source}: {len(payload)} bytes, too short for a regions payload")
    magic, version, count = _HEADER.unpack_from(payload)
    if magic != _MAGIC or version != _VERSION:
        raise HashFormatError(f"{source}: not a regions payload of version {_VERSION}")
    if count == 0:
        raise HashFormatError(f"{source}: a regions payload needs at least one frame")
    expected = _HEADER.size + count * _FRAME.itemsize
    if len(payload) != expected:
        raise HashFormatError(
            f"{source}: {len(payload)} bytes where {count} frames take {expected}"
        )
    records = np.frombuffer(payload, _FRAME, count=count, offset=_HEADER.size)
    timestamps = records["timestamp"].astype(np.float64)
    if not np.all(np.isfinite(timestamps)) or np.any(timestamps < 0):
        raise HashFormatError(f"{source}: a frame's timestamp must be a number, 0 or more")
    quality = records["quality"].copy()
    if np.any(quality > 100):
        raise HashFormatError(f"{source}: a hash's quality must be 0 to 100")
    return VideoRegions(timestamps, records["codes"].copy(), quality)


def distinct_rows(regions: VideoRegions, quality: int = QUALITY_THRESHOLD) -> NDArray[np.int64]:
    """The frames that count: the first to bear each whole hash of at least ``quality``."""
    seen: dict[bytes, int] = {}
    for number in range(len(regions)):
        if regions.quality[number, WHOLE] >= quality:
            seen.setdefault(regions.codes[number, WHOLE].tobytes(), number)
    return np.array(sorted(seen.values()), np.int64)
