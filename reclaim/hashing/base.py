"""The hashing contract: signal types, fingerprint value objects and the hasher base class.

A *signal* is one fingerprint of one piece of content. Signal types have stable names
(``pdq``, ``md5``, ``sha256``, ``keypoints``) that the store, the API and the CLI all use.
A ``keypoints`` signal (local features, ``reclaim.hashing.keypoints``) is too large for a
value: its value is the SHA-256 of its binary form, which travels beside it as a payload.

An image hasher works on the luminance of a decoded image: the base class owns decoding
(``reclaim.hashing.media``) and a subclass implements only the algorithm.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from reclaim.errors import HashFormatError
from reclaim.hashing.media import DecodedImage, MediaLimits, decode_image, read_media_file


class SignalType(StrEnum):
    """Stable names of the kinds of fingerprint Reclaim stores and matches."""

    PDQ = "pdq"
    MD5 = "md5"
    SHA256 = "sha256"
    KEYPOINTS = "keypoints"
    VPDQ = "vpdq"
    #: Reclaim's companion to vpdq: each sampled frame's region hashes (``regions``).
    VIDEO_REGIONS = "video_regions"


#: Signals whose value is the SHA-256 of a payload stored beside it: an image's local
#: features (``keypoints``), a video's frames (``vpdq``, its canonical JSON list), their
#: region hashes (``video_regions``).
PAYLOAD_TYPES: frozenset[SignalType] = frozenset(
    {SignalType.KEYPOINTS, SignalType.VPDQ, SignalType.VIDEO_REGIONS}
)


_HEX_LENGTHS: dict[str, int] = {"pdq": 64, "md5": 32, "sha256": 64, "keypoints": 64, "vpdq": 64,
                                 "video_regions": 64}  # fmt: skip


def normalise_signal(signal_type: str, value: str) -> tuple[SignalType, str]:
    """A signal's type and value checked and in canonical form (lowercase hex)."""
    try:
        kind = SignalType(signal_type.strip().lower())
    except ValueError:
        names = ", ".join(t.value for t in SignalType)
        raise HashFormatError(f"unknown signal type {signal_type!r} (known: {names})") from None
    text = value.strip().lower()
    length = _HEX_LENGTHS[kind.value]
    if len(text) != length or not _HEX.fullmatch(text):
        raise HashFormatError(f"not a {kind.value} hash ({length} hex characters): {value[:80]!r}")
    return kind, text


PDQ_BITS = 256
#: A 2-D array of luminance values in 0..255, (rows, columns).
Luma = NDArray[np.uint8] | NDArray[np.float32] | NDArray[np.float64]
_PDQ_HEX = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A 256-bit PDQ hash and its quality (0-100).

    ``hex`` is 64 lowercase hexadecimal characters in the reference implementation's
    order: the first character holds bits 255..252.
    """

    hex: str
    quality: int

    def __post_init__(self) -> None:
        if not _PDQ_HEX.fullmatch(self.hex):
            raise HashFormatError(f"not a PDQ hash (64 lowercase hex characters): {self.hex!r}")
        if not 0 <= self.quality <= 100:
            raise HashFormatError(f"PDQ quality must be 0-100, got {self.quality}")

    @classmethod
    def parse(cls, text: str, quality: int = 100) -> PdqHash:
        """A hash from its hex form; upper-case input is accepted and normalised."""
        return cls(text.strip().lower(), quality)

    def to_bytes(self) -> bytes:
        """The 32 bytes of the hash, most significant first."""
        return bytes.fromhex(self.hex)

    def to_code(self) -> NDArray[np.uint8]:
        """The hash as a (32,) uint8 array, the form Reclaim's Hamming indexes take."""
        return np.frombuffer(self.to_bytes(), dtype=np.uint8).copy()

    def distance(self, other: PdqHash) -> int:
        """Hamming distance in bits."""
        return (int(self.hex, 16) ^ int(other.hex, 16)).bit_count()


class ImageHasher(ABC):
    """Base of image hashers: owns decoding; subclasses implement the algorithm on luma."""

    signal_type: SignalType

    def __init__(self, limits: MediaLimits | None = None) -> None:
        self.limits = limits or MediaLimits()

    def hash_file(self, path: Path) -> PdqHash:
        """Hash the image in the file at ``path``."""
        data = read_media_file(path, self.limits)
        return self.hash_image(decode_image(data, str(path), self.limits))

    def hash_image(self, image: DecodedImage) -> PdqHash:
        """Hash an already decoded image."""
        return self.hash_luma(image.luma)

    @abstractmethod
    def hash_luma(self, luma: Luma) -> PdqHash:
        """Hash a 2-D array of luminance values in 0..255 (rows, columns)."""
