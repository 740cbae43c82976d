"""PDQ, the 256-bit perceptual image hash used across the industry, computed fast.

PDQ (Meta, 2019) blurs an image's luminance with two passes of box filters (a "Jarosz
filter"), samples it at 64 x 64 points, takes the 16 x 16 lowest non-constant DCT
coefficients and sets each bit where the coefficient is above their median.

The reference implementation runs every box filter over every pixel. Reclaim uses that
the whole blur-and-sample step is linear: each of the 64 x 64 samples is a fixed weighted
sum of the pixels around it, separable into a row operator and a column operator. Those
two 64 x N operators are built once per image size (from the reference's own box-filter
rules, edge handling included) and applied as a few small matrix products straight on the
decoded uint8 luminance. The result equals the reference up to float rounding; the plain
port in ``reclaim.hashing.pdq_reference`` and the parity tests hold it to that.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

from reclaim.hashing.base import ImageHasher, Luma, PdqHash, SignalType

#: Side of the downsampled image PDQ hashes.
SAMPLES: Final = 64
#: Side of the block of DCT coefficients that become the hash bits.
DCT_SIDE: Final = 16
#: Images with a side shorter than this hash to all zeros with quality 0 (as the reference).
MIN_HASHABLE_SIDE: Final = 5
#: Output rows handled by one matrix product; balances Python overhead and wasted work.
_GROUP: Final = 8

_ZERO_HASH: Final = "0" * 64


def jarosz_window(length: int) -> int:
    """Box-filter width the reference uses to blur ``length`` pixels towards 64 samples."""
    return (length + 2 * SAMPLES - 1) // (2 * SAMPLES)


def sample_positions(length: int) -> NDArray[np.int64]:
    """The 64 pixel positions the reference samples after blurring (centres, not corners)."""
    return (((np.arange(SAMPLES) + 0.5) * length) / SAMPLES).astype(np.int64)


def box_window(
    position: int | NDArray[np.int64], length: int, width: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """First and last input index the reference's box filter averages for ``position``.

    The reference keeps a running sum whose window is ``width`` wide, reaches
    ``half - 1`` pixels ahead (``half = (width + 2) // 2``) and shrinks at both edges.
    """
    half = (width + 2) // 2
    pos = np.asarray(position, dtype=np.int64)
    return np.maximum(pos + half - width, 0), np.minimum(pos + half - 1, length - 1)


@lru_cache(maxsize=1)
def dct_matrix() -> NDArray[np.float64]:
    """The 16 x 64 DCT-II basis PDQ uses, skipping the constant (k = 0) row."""
    k = np.arange(1, DCT_SIDE + 1, dtype=np.float64)[:, None]
    j = np.arange(SAMPLES, dtype=np.float64)[None, :]
    basis = np.sqrt(2.0 / SAMPLES) * np.cos((np.pi / 2 / SAMPLES) * k * (2 * j + 1))
    return np.asarray(basis, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _AxisOperator:
    """Blur-and-sample along one axis as groups of (first index, stop, weights)."""

    groups: tuple[tuple[int, int, NDArray[np.float32]], ...]


@lru_cache(maxsize=256)
def _axis_operator(length: int) -> _AxisOperator:
    width = jarosz_window(length)
    rows = [_tent_weights(int(c), length, width) for c in sample_positions(length)]
    groups = []
    for first in range(0, SAMPLES, _GROUP):
        chunk = rows[first : first + _GROUP]
        start = min(lo for lo, _ in chunk)
        stop = max(lo + len(w) for lo, w in chunk)
        block = np.zeros((len(chunk), stop - start), dtype=np.float64)
        for r, (lo, w) in enumerate(chunk):
            block[r, lo - start : lo - start + len(w)] = w
        groups.append((start, stop, block.astype(np.float32)))
    return _AxisOperator(tuple(groups))


def _tent_weights(centre: int, length: int, width: int) -> tuple[int, NDArray[np.float64]]:
    """Weights of two passes of the reference box filter, read at ``centre``."""
    lo, hi = box_window(centre, length, width)
    inner = np.arange(int(lo), int(hi) + 1)
    inner_lo, inner_hi = box_window(inner, length, width)
    share = 1.0 / (len(inner) * (inner_hi - inner_lo + 1))
    first = int(inner_lo.min())
    diff = np.zeros(int(inner_hi.max()) - first + 2)
    np.add.at(diff, inner_lo - first, share)
    np.add.at(diff, inner_hi + 1 - first, -share)
    return first, np.cumsum(diff)[:-1]


def downsample(luma: Luma) -> NDArray[np.float64]:
    """The reference's blurred 64 x 64 sample grid of ``luma``, by two small products."""
    rows_op = _axis_operator(luma.shape[0])
    cols_op = _axis_operator(luma.shape[1])
    tall = np.empty((SAMPLES, luma.shape[1]), dtype=np.float32)
    for index, (start, stop, weights) in enumerate(rows_op.groups):
        band = luma[start:stop].astype(np.float32, copy=False)
        tall[index * _GROUP : index * _GROUP + len(weights)] = weights @ band
    grid = np.empty((SAMPLES, SAMPLES), dtype=np.float32)
    for index, (start, stop, weights) in enumerate(cols_op.groups):
        grid[:, index * _GROUP : index * _GROUP + len(weights)] = tall[:, start:stop] @ weights.T
    return grid.astype(np.float64)


def quality_of(grid: NDArray[np.float64] | NDArray[np.float32]) -> int:
    """The reference's quality score (0-100): summed gradients of the 64 x 64 grid."""
    vertical = np.trunc((grid[:-1, :] - grid[1:, :]) * 100.0 / 255.0)
    horizontal = np.trunc((grid[:, :-1] - grid[:, 1:]) * 100.0 / 255.0)
    gradient_sum = int(np.abs(vertical).sum() + np.abs(horizontal).sum())
    return min(100, gradient_sum // 90)


def dct16(grid: NDArray[np.float64] | NDArray[np.float32]) -> NDArray[np.float64]:
    """The 16 x 16 DCT block PDQ takes its bits from."""
    basis = dct_matrix()
    return basis @ grid.astype(np.float64) @ basis.T


def hex_from_dct(coefficients: NDArray[np.float64]) -> str:
    """Hash bits from a 16 x 16 DCT block, as the reference's hex string.

    A bit is set where the coefficient exceeds the median (the 128th smallest value, as
    the reference's Torben median returns). Bit ``16 * i + j`` is bit ``j`` of 16-bit word
    ``i``, and the hex string lists words 15 down to 0.
    """
    flat = coefficients.ravel()
    median = np.partition(flat, 127)[127]
    bits = coefficients > median
    return np.packbits(bits[::-1, ::-1]).tobytes().hex()


def pdq_from_luma(luma: Luma) -> PdqHash:
    """The PDQ hash of a 2-D luminance array."""
    if min(luma.shape) < MIN_HASHABLE_SIDE:
        return PdqHash(_ZERO_HASH, 0)
    grid = downsample(luma)
    return PdqHash(hex_from_dct(dct16(grid)), quality_of(grid))


@dataclass(frozen=True, slots=True)
class DihedralHashes:
    """The PDQ hashes of an image's 8 rotations and mirror images.

    Names say what was done to the image: ``rotate90`` is a quarter turn anticlockwise,
    ``flip_horizontal`` mirrors left and right, ``transpose`` mirrors about the main
    diagonal. The order of ``as_tuple`` is the reference implementation's.
    """

    original: PdqHash
    rotate90: PdqHash
    rotate180: PdqHash
    rotate270: PdqHash
    flip_vertical: PdqHash
    flip_horizontal: PdqHash
    transpose: PdqHash
    transverse: PdqHash

    def as_tuple(self) -> tuple[PdqHash, ...]:
        return (
            self.original, self.rotate90, self.rotate180, self.rotate270,
            self.flip_vertical, self.flip_horizontal, self.transpose, self.transverse,
        )  # fmt: skip


def _parity_signs() -> NDArray[np.float64]:
    # Mirroring an axis multiplies DCT coefficient k (here k = index + 1) by (-1)^k.
    k = np.arange(1, DCT_SIDE + 1)
    return np.where(k % 2 == 0, 1.0, -1.0)


def dihedral_from_luma(luma: Luma) -> DihedralHashes:
    """All 8 dihedral PDQ hashes from one blur and one DCT (sign flips and transposes)."""
    if min(luma.shape) < MIN_HASHABLE_SIDE:
        zero = PdqHash(_ZERO_HASH, 0)
        return DihedralHashes(*([zero] * 8))
    grid = downsample(luma)
    quality = quality_of(grid)
    block = dct16(grid)
    sign = _parity_signs()
    rows, cols = sign[:, None], sign[None, :]
    variants = (
        block,
        block.T * rows,  # rotate 90 anticlockwise: transpose, then flip top-bottom
        block * rows * cols,
        block.T * cols,  # rotate 270: transpose, then flip left-right
        block * rows,
        block * cols,
        block.T,
        block.T * rows * cols,
    )
    return DihedralHashes(*(PdqHash(hex_from_dct(v), quality) for v in variants))


class PdqHasher(ImageHasher):
    """Reclaim's fast PDQ hasher."""

    signal_type = SignalType.PDQ

    def hash_luma(self, luma: Luma) -> PdqHash:
        return pdq_from_luma(luma)
