"""Compiled inner loops of ``reclaim.hashing.keypoints`` (numba), each with the plain numpy
function it must equal (the reference the tests hold it to)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from reclaim.index.kernels import distance

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


@njit(cache=True, fastmath=True)
def _separable_filter(image: Any, kernel: Any, out: Any) -> None:  # pragma: no cover
    # Row by row through small buffers (see ``_harris_response``).
    height, width = image.shape
    taps = len(kernel)
    radius = taps // 2
    padded = np.empty(width + 2 * radius, np.float32)
    ring = np.zeros((taps, width), np.float32)
    for row in range(height + radius):
        if row < height:
            for x in range(width):
                padded[x + radius] = image[row, x]
            for x in range(radius):
                padded[x] = image[row, 0]
                padded[width + radius + x] = image[row, width - 1]
            slot = row % taps
            for x in range(width):
                ring[slot, x] = 0.0
            for i in range(taps):
                weight = kernel[i]
                for x in range(width):
                    ring[slot, x] += weight * padded[x + i]
        y = row - radius
        if y < 0:
            continue
        for x in range(width):
            out[y, x] = 0.0
        for i in range(taps):
            weight = kernel[i]
            slot = min(max(y + i - radius, 0), height - 1) % taps
            for x in range(width):
                out[y, x] += weight * ring[slot, x]


def separable_filter(image: Float32Image, kernel: Float32Image) -> Float32Image:
    """``separable_filter_reference``, compiled."""
    out = np.empty(image.shape, np.float32)
    _separable_filter(np.ascontiguousarray(image, np.float32), np.asarray(kernel, np.float32), out)
    return out


@njit(cache=True)
def _peaks(response: Any, edge: int, ys: Any, xs: Any) -> int:  # pragma: no cover - compiled
    height, width = response.shape
    found = 0
    for y in range(edge, height - edge):
        for x in range(edge, width - edge):
            value = response[y, x]
            if value <= 0 or response[y, x + 1] > value or response[y + 1, x] > value:
                continue  # most pixels fail on a near neighbour: look there first
            peak = True
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    if response[y + dy, x + dx] > value:
                        peak = False
                        break
                if not peak:
                    break
            if peak:
                if found == len(ys):
                    return -1
                ys[found] = y
                xs[found] = x
                found += 1
    return found


def peaks(response: Float32Image, edge: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positive responses that are the largest of their 5x5 neighbourhood, at least
    ``edge`` pixels inside (see ``reclaim.hashing.keypoints.peaks_reference``)."""
    response = np.ascontiguousarray(response, np.float32)
    inside = max(response.shape[0] - 2 * edge, 0) * max(response.shape[1] - 2 * edge, 0)
    # Peaks 5x5 apart are at most one in nine pixels; plateaus (ties) can be denser.
    for size in (inside // 9 + 1, inside):
        ys, xs = np.empty(size, np.int64), np.empty(size, np.int64)
        found = _peaks(response, max(edge, 2), ys, xs)
        if found >= 0:
            break
    return ys[:found], xs[:found]


@njit(cache=True)
def _describe(  # pragma: no cover - compiled
    smooth: Any, ys: Any, xs: Any, cos: Any, sin: Any, pattern: Any, mirror: bool, out: Any
) -> None:
    for k in range(len(ys)):
        c, s = cos[k], sin[k]
        for bit in range(pattern.shape[0]):
            x1, y1 = np.float64(pattern[bit, 0]), np.float64(pattern[bit, 1])
            x2, y2 = np.float64(pattern[bit, 2]), np.float64(pattern[bit, 3])
            if mirror:
                first = smooth[
                    np.int64(np.rint(ys[k] + s * x1 - c * y1)),
                    np.int64(np.rint(xs[k] + c * x1 + s * y1)),
                ]
                second = smooth[
                    np.int64(np.rint(ys[k] + s * x2 - c * y2)),
                    np.int64(np.rint(xs[k] + c * x2 + s * y2)),
                ]
            else:
                first = smooth[
                    np.int64(np.rint(ys[k] + s * x1 + c * y1)),
                    np.int64(np.rint(xs[k] + c * x1 - s * y1)),
                ]
                second = smooth[
                    np.int64(np.rint(ys[k] + s * x2 + c * y2)),
                    np.int64(np.rint(xs[k] + c * x2 - s * y2)),
                ]
            if first < second:
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


@njit(cache=True, fastmath=True)
def _gradient_products(  # pragma: no cover - compiled
    grey: Any, row: int, around: Any, padded: Any, radius: int
) -> None:
    """dx^2, dy^2 and dx dy of the Sobel gradients along one row (edges replicated) into
    ``padded``, which keeps ``radius`` places free at each end."""
    height, width = grey.shape
    above, below = max(row - 1, 0), min(row + 1, height - 1)
    for x in range(width):  # three rows, one pixel replicated at each end
        around[0, x + 1] = grey[above, x]
        around[1, x + 1] = grey[row, x]
        around[2, x + 1] = grey[below, x]
    for r in range(3):
        around[r, 0] = around[r, 1]
        around[r, width + 1] = around[r, width]
    for x in range(width):
        dx = (
            (around[0, x + 2] - around[0, x])
            + 2 * (around[1, x + 2] - around[1, x])
            + (around[2, x + 2] - around[2, x])
        )
        dy = (
            (around[2, x] - around[0, x])
            + 2 * (around[2, x + 1] - around[0, x + 1])
            + (around[2, x + 2] - around[0, x + 2])
        )
        padded[0, x + radius] = dx * dx
        padded[1, x + radius] = dy * dy
        padded[2, x + radius] = dx * dy


@njit(cache=True, fastmath=True)
def _filter_along_row(padded: Any, window: Any, out: Any) -> None:  # pragma: no cover
    """Each of the rows of ``padded`` (its ends replicated here) filtered by ``window``."""
    width = out.shape[1]
    radius = len(window) // 2
    for p in range(out.shape[0]):
        for x in range(radius):
            padded[p, x] = padded[p, radius]
            padded[p, width + radius + x] = padded[p, width + radius - 1]
        for x in range(width):
            out[p, x] = 0.0
        for i in range(len(window)):
            weight = window[i]
            for x in range(width):
                out[p, x] += weight * padded[p, x + i]


@njit(cache=True, fastmath=True)
def _harris_response(  # pragma: no cover - compiled
    grey: Any, window: Any, harris_k: Any, out: Any
) -> None:
    # Row by row through small buffers: whole-image intermediates cost more in first-touch
    # page faults than in arithmetic.
    height, width = grey.shape
    taps = len(window)
    radius = taps // 2
    padded = np.empty((3, width + 2 * radius), np.float32)  # one row of products
    ring = np.zeros((taps, 3, width), np.float32)  # the last rows, filtered along x
    summed = np.empty((3, width), np.float32)
    around = np.empty((3, width + 2), np.float32)
    for row in range(height + radius):
        if row < height:
            _gradient_products(grey, row, around, padded, radius)
            _filter_along_row(padded, window, ring[row % taps])
        y = row - radius  # the output row whose window is now complete
        if y < 0:
            continue
        for p in range(3):
            for x in range(width):
                summed[p, x] = 0.0
            for i in range(taps):
                weight = window[i]
                slot = min(max(y + i - radius, 0), height - 1) % taps
                for x in range(width):
                    summed[p, x] += weight * ring[slot, p, x]
        for x in range(width):
            xx, yy, xy = summed[0, x], summed[1, x], summed[2, x]
            trace = xx + yy
            out[y, x] = xx * yy - xy * xy - harris_k * trace * trace


def harris_response(grey: Float32Image, window: Float32Image, harris_k: float) -> Float32Image:
    """Harris corner response (see ``reclaim.hashing.keypoints.harris_reference``, the
    reference this must equal)."""
    out = np.empty(grey.shape, np.float32)
    _harris_response(
        np.ascontiguousarray(grey, np.float32),
        np.asarray(window, np.float32),
        harris_k,
        out,
    )
    return out


@njit(cache=True)
def _orientation(  # pragma: no cover - compiled
    grey: Any, ys: Any, xs: Any, dy: Any, dx: Any, out: Any
) -> None:
    for k in range(len(ys)):
        m10 = np.float32(0.0)
        m01 = np.float32(0.0)
        for j in range(len(dy)):
            value = grey[ys[k] + dy[j], xs[k] + dx[j]]
            m10 += value * np.float32(dx[j])
            m01 += value * np.float32(dy[j])
        out[k] = np.arctan2(np.float64(m01), np.float64(m10))


def orientation(
    grey: Float32Image,
    ys: NDArray[np.int64],
    xs: NDArray[np.int64],
    circle_dy: NDArray[np.int64],
    circle_dx: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Intensity-centroid angles (see ``reclaim.hashing.keypoints.orientation_reference``,
    the reference this must equal)."""
    out = np.empty(len(ys), np.float64)
    _orientation(
        np.ascontiguousarray(grey, np.float32),
        np.asarray(ys, np.int64),
        np.asarray(xs, np.int64),
        np.asarray(circle_dy, np.int64),
        np.asarray(circle_dx, np.int64),
        out,
    )
    return out


@njit(cache=True)
def _nearest_two(  # pragma: no cover - compiled
    query: Any, reference: Any, best_index: Any, best: Any, second: Any
) -> None:
    for i in range(query.shape[0]):
        first_bits, second_bits, index = 1 << 20, 1 << 20, -1
        for j in range(reference.shape[0]):
            bits = distance(reference, j, query, i)
            if bits < first_bits:
                second_bits = first_bits
                first_bits, index = bits, j
            elif bits < second_bits:
                second_bits = bits
        best_index[i], best[i], second[i] = index, first_bits, second_bits


def nearest_two(
    query: NDArray[np.uint64], reference: NDArray[np.uint64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """For each query descriptor (rows of 64-bit words): the index of its nearest reference
    descriptor, that distance and the second-nearest distance (2**20 where there is none).
    The reference is ``reclaim.hashing.keypoints.hamming_matrix`` and a sort."""
    count = len(query)
    best_index = np.empty(count, np.int64)
    best, second = np.empty(count, np.int64), np.empty(count, np.int64)
    _nearest_two(
        np.ascontiguousarray(query), np.ascontiguousarray(reference), best_index, best, second
    )
    return best_index, best, second
