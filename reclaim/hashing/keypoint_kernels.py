"""Compiled inner loops of ``reclaim.hashing.keypoints`` (numba), each with the plain numpy
function it must equal (the reference the tests hold it to)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

Float32Image = NDArray[np.float32]


def separable_filter_reference(image: Float32Image, kernel: Float32Image) -> Float32Image:
    """Filter rows, then columns, with ``kernel``, replicating the edge pixels."""
    radius = len(kernel) // 2
    padded = np.pad(image, radius, mode="edge")
    rows = np.zeros((padded.shape[0], image.shape[1]), np.float32)
    for i, weight in enumerate(kernel):
        rows += weight * padded[:, i : i + image.shape[1]]
    out = np.zeros(image.shape, np.float32)
    for i, weight in enumerate(kernel):
        out += weight * rows[i : i + image.shape[0], :]
    return out


@njit(cache=True)
def _separable_filter(padded: Any, kernel: Any, out: Any) -> None:  # pragma: no cover
    height, width = out.shape
    taps = len(kernel)
    radius = taps // 2
    rows = np.zeros((height + 2 * radius, width), np.float32)
    for y in range(height + 2 * radius):
        for i in range(taps):
            weight = kernel[i]
            for x in range(width):
                rows[y, x] += weight * padded[y, x + i]
    for y in range(height):
        for x in range(width):
            out[y, x] = 0.0
        for i in range(taps):
            weight = kernel[i]
            for x in range(width):
                out[y, x] += weight * rows[y + i, x]


def separable_filter(image: Float32Image, kernel: Float32Image) -> Float32Image:
    """``separable_filter_reference``, compiled."""
    radius = len(kernel) // 2
    padded = np.pad(np.asarray(image, np.float32), radius, mode="edge")
    out = np.empty(image.shape, np.float32)
    _separable_filter(padded, np.asarray(kernel, np.float32), out)
    return out


@njit(cache=True)
def _describe(  # pragma: no cover - compiled
    smooth: Any, ys: Any, xs: Any, cos: Any, sin: Any, pattern: Any, mirror: bool, out: Any
) -> None:
    for k in range(len(ys)):
        c, s = cos[k], sin[k]
        for bit in range(pattern.shape[0]):
            values = np.empty(2, np.float32)
            for end in range(2):
                px, py = np.float64(pattern[bit, 2 * end]), np.float64(pattern[bit, 2 * end + 1])
                if mirror:
                    x = np.rint(xs[k] + c * px + s * py)
                    y = np.rint(ys[k] + s * px - c * py)
                else:
                    x = np.rint(xs[k] + c * px - s * py)
                    y = np.rint(ys[k] + s * px + c * py)
                values[end] = smooth[np.int64(y), np.int64(x)]
            if values[0] < values[1]:
                out[k, bit >> 3] |= np.uint8(1 << (bit & 7))


def describe(
    smooth: Float32Image,
    ys: NDArray[np.int64],
    xs: NDArray[np.int64],
    angle: NDArray[np.float64],
    pattern: NDArray[np.int8],
    *,
    mirror: bool,
) -> NDArray[np.uint8]:
    """Steered-BRIEF descriptors (see ``reclaim.hashing.keypoints._describe``, the
    reference this must equal)."""
    out = np.zeros((len(ys), len(pattern) // 8), np.uint8)
    _describe(
        np.ascontiguousarray(smooth, np.float32),
        np.asarray(ys, np.int64),
        np.asarray(xs, np.int64),
        np.cos(angle).astype(np.float64),
        np.sin(angle).astype(np.float64),
        np.ascontiguousarray(pattern),
        mirror,
        out,
    )
    return out
