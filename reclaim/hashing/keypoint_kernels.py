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
