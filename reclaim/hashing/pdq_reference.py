"""A plain port of the reference PDQ implementation, the yardstick for ``pdq.py``.

It follows the reference step by step, in float32 like the original: four box-filter
passes over every pixel with running sums (rows, columns, rows, columns), sampling at
64 x 64 points, the quality score, the DCT, and the median threshold. It is slow and is
used only to check the fast path (see ``tests/hashing/test_pdq.py``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from reclaim.hashing.base import ImageHasher, Luma, PdqHash, SignalType
from reclaim.hashing.pdq import (
    MIN_HASHABLE_SIDE,
    dct_matrix,
    hex_from_dct,
    jarosz_window,
    quality_of,
    sample_positions,
)

_PASSES = 2


def box_filter(values: NDArray[np.float32], width: int) -> NDArray[np.float32]:
    """The reference's 1-D box filter along axis 0, all columns at once, in four phases."""
    length = values.shape[0]
    half = (width + 2) // 2
    out = np.empty_like(values)
    total = np.zeros(values.shape[1:], dtype=np.float32)
    count = 0
    right = left = written = 0
    for _ in range(half - 1):  # phase 1: accumulate, no writes
        total += values[right]
        count += 1
        right += 1
    for _ in range(width - half + 1):  # phase 2: grow the window while writing
        total += values[right]
        count += 1
        out[written] = total / np.float32(count)
        right += 1
        written += 1
    for _ in range(length - width):  # phase 3: slide a full window
        total += values[right]
        total -= values[left]
        out[written] = total / np.float32(count)
        left += 1
        right += 1
        written += 1
    for _ in range(half - 1):  # phase 4: shrink the window at the far edge
        total -= values[left]
        count -= 1
        out[written] = total / np.float32(count)
        left += 1
        written += 1
    return out


def reference_grid(luma: Luma) -> NDArray[np.float32]:
    """Blur with the Jarosz filter and sample 64 x 64 points, exactly as the reference."""
    buffer = np.asarray(luma, dtype=np.float32)
    along_rows = jarosz_window(buffer.shape[1])
    along_cols = jarosz_window(buffer.shape[0])
    for _ in range(_PASSES):
        buffer = box_filter(buffer.T, along_rows).T
        buffer = box_filter(buffer, along_cols)
    rows = sample_positions(buffer.shape[0])
    cols = sample_positions(buffer.shape[1])
    return np.ascontiguousarray(buffer[np.ix_(rows, cols)])


def reference_pdq(luma: Luma) -> PdqHash:
    """PDQ by the reference's own steps (float32 throughout)."""
    if min(luma.shape) < MIN_HASHABLE_SIDE:
        return PdqHash("0" * 64, 0)
    grid = reference_grid(luma)
    basis = dct_matrix().astype(np.float32)
    block = (basis @ grid) @ basis.T
    return PdqHash(hex_from_dct(block.astype(np.float64)), quality_of(grid))


class ReferencePdqHasher(ImageHasher):
    """The plain reference PDQ hasher (slow; for tests and audits)."""

    signal_type = SignalType.PDQ

    def hash_luma(self, luma: Luma) -> PdqHash:
        return reference_pdq(luma)
