"""Helpers that run the reference PDQ implementation (the binding threatexchange uses)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash
from numpy.typing import NDArray
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

from reclaim.hashing.base import PdqHash


def vector_hex(vector: NDArray[np.integer]) -> str:
    """A pdqhash bit vector as hex, the way threatexchange converts it."""
    return f"{int(''.join(str(int(bit)) for bit in vector), 2):064x}"


def reference_hash_file(path: Path) -> PdqHash:
    """threatexchange's PDQ of a file: the fully decoded image, hashed by pdqhash."""
    hex_value, quality = pdq_from_file(path)
    return PdqHash(hex_value, quality)


def reference_luma(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The float luminance pdqhash computes from an RGB array."""
    return (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(np.float32)


def reference_hash_rgb(rgb: NDArray[np.uint8]) -> PdqHash:
    vector, quality = pdqhash.compute(rgb)
    return PdqHash(vector_hex(vector), quality)


def reference_dihedral_rgb(rgb: NDArray[np.uint8]) -> list[PdqHash]:
    vectors, quality = pdqhash.compute_dihedral(rgb)
    return [PdqHash(vector_hex(v), quality) for v in vectors]
