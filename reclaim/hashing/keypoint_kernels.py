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


@njit(cache=True, fastmath=True)
def _peaks(response: Any, edge: int, ys: Any, xs: Any) -> int:  # pragma: no cover - compiled
    height, width = response.shape
    found = 0
    # Per row: the largest of each column's five rows, then of five such columns; plain
    # loops the compiler vectorises (testing each pixel's neighbours took longer).
    across = np.empty(width, np.float32)
    for y in range(edge, height - edge):
        for x in range(edge - 2, width - edge + 2):
            largest = response[y - 2, x]
            for dy in range(-1, 3):
                largest = max(largest, response[y + dy, x])
            across[x] = largest
        for x in range(edge, width - edge):
            value = response[y, x]
            largest = across[x - 2]
            for dx in range(-1, 3):
                largest = max(largest, across[x + dx])
            if value > 0 and value >= largest:
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
    # A byte is gathered in a register and the pattern read as floats once: writing each
    # bit back to ``out`` and converting the pattern per bit cost more than the sampling.
    px1, py1 = pattern[:, 0].astype(np.float64), pattern[:, 1].astype(np.float64)
    px2, py2 = pattern[:, 2].astype(np.float64), pattern[:, 3].astype(np.float64)
    for k in range(len(ys)):
        c, s = cos[k], sin[k]
        yk, xk = np.float64(ys[k]), np.float64(xs[k])
        for byte in range(pattern.shape[0] // 8):
            gathered = 0
            for b in range(8):
                bit = byte * 8 + b
                x1, y1, x2, y2 = px1[bit], py1[bit], px2[bit], py2[bit]
                if mirror:
                    first = smooth[
                        np.int64(np.rint(yk + s * x1 - c * y1)),
                        np.int64(np.rint(xk + c * x1 + s * y1)),
                    ]
                    second = smooth[
                        np.int64(np.rint(yk + s * x2 - c * y2)),
                        np.int64(np.rint(xk + c * x2 + s * y2)),
                    ]
                else:
                    first = smooth[
                        np.int64(np.rint(yk + s * x1 + c * y1)),
                        np.int64(np.rint(xk + c * x1 - s * y1)),
                    ]
                    second = smooth[
                        np.int64(np.rint(yk + s * x2 + c * y2)),
                        np.int64(np.rint(xk + c * x2 - s * y2)),
                    ]
                if first < second:
                    gathered |= 1 << b
            out[k, byte] = gathered


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


#: The Harris window's length: the kernels below spell out its taps, so the compiler keeps
#: a pixel's whole sum in registers (a loop over taps re-read and re-wrote every partial
#: sum and took 40% longer).
HARRIS_TAPS = 9


@njit(cache=True, fastmath=True)
def _filter_nine(source: Any, w: Any, out: Any) -> None:  # pragma: no cover - compiled
    """``out[x]`` = the 9 taps of ``w`` over ``source[x : x + 9]``."""
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
    for x in range(len(out)):
        out[x] = (
            w0 * source[x] + w1 * source[x + 1] + w2 * source[x + 2] + w3 * source[x + 3]
            + w4 * source[x + 4] + w5 * source[x + 5] + w6 * source[x + 6]
            + w7 * source[x + 7] + w8 * source[x + 8]
        )  # fmt: skip


@njit(cache=True, fastmath=True)
def _harris_response(  # pragma: no cover - compiled
    grey: Any, w: Any, harris_k: Any, out: Any
) -> None:
    # Row by row through small buffers: whole-image intermediates cost more in first-touch
    # page faults than in arithmetic.
    height, width = grey.shape
    radius = HARRIS_TAPS // 2
    # One row of each gradient product, its ends replicated for the window.
    products = np.empty((3, width + 2 * radius), np.float32)
    ring = np.zeros((3, HARRIS_TAPS, width), np.float32)  # the last rows, filtered along x
    around = np.empty((3, width + 2), np.float32)
    slots = np.empty(HARRIS_TAPS, np.int64)
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
    for row in range(height + radius):
        if row < height:
            _gradient_products(grey, row, around, products, radius)
            for p in range(3):
                for x in range(radius):
                    products[p, x] = products[p, radius]
                    products[p, width + radius + x] = products[p, width + radius - 1]
                _filter_nine(products[p], w, ring[p, row % HARRIS_TAPS])
        y = row - radius  # the output row whose window is now complete
        if y < 0:
            continue
        for i in range(HARRIS_TAPS):
            slots[i] = min(max(y + i - radius, 0), height - 1) % HARRIS_TAPS
        s0, s1, s2, s3, s4 = slots[0], slots[1], slots[2], slots[3], slots[4]
        s5, s6, s7, s8 = slots[5], slots[6], slots[7], slots[8]
        xx_rows, yy_rows, xy_rows = ring[0], ring[1], ring[2]
        for x in range(width):
            xx = (
                w0 * xx_rows[s0, x] + w1 * xx_rows[s1, x] + w2 * xx_rows[s2, x]
                + w3 * xx_rows[s3, x] + w4 * xx_rows[s4, x] + w5 * xx_rows[s5, x]
                + w6 * xx_rows[s6, x] + w7 * xx_rows[s7, x] + w8 * xx_rows[s8, x]
            )  # fmt: skip
            yy = (
                w0 * yy_rows[s0, x] + w1 * yy_rows[s1, x] + w2 * yy_rows[s2, x]
                + w3 * yy_rows[s3, x] + w4 * yy_rows[s4, x] + w5 * yy_rows[s5, x]
                + w6 * yy_rows[s6, x] + w7 * yy_rows[s7, x] + w8 * yy_rows[s8, x]
            )  # fmt: skip
            xy = (
                w0 * xy_rows[s0, x] + w1 * xy_rows[s1, x] + w2 * xy_rows[s2, x]
                + w3 * xy_rows[s3, x] + w4 * xy_rows[s4, x] + w5 * xy_rows[s5, x]
                + w6 * xy_rows[s6, x] + w7 * xy_rows[s7, x] + w8 * xy_rows[s8, x]
            )  # fmt: skip
            trace = xx + yy
            out[y, x] = xx * yy - xy * xy - harris_k * trace * trace


def harris_response(grey: Float32Image, window: Float32Image, harris_k: float) -> Float32Image:
    """Harris corner response (see ``reclaim.hashing.keypoints.harris_reference``, the
    reference this must equal) for a window of ``HARRIS_TAPS`` taps."""
    if len(window) != HARRIS_TAPS:
        raise ValueError(f"the Harris window has {len(window)} taps, the kernel {HARRIS_TAPS}")
    out = np.empty(grey.shape, np.float32)
    _harris_response(
        np.ascontiguousarray(grey, np.float32),
        np.asarray(window, np.float32),
        np.float32(harris_k),
        out,
    )
    return out


@njit(cache=True, fastmath=True)
def _orientation(  # pragma: no cover - compiled
    grey: Any, ys: Any, xs: Any, rows: Any, out: Any
) -> None:
    # Row by row through the circle: each row's pixels are contiguous, so its two sums are
    # vectorised (a gather of the circle's pixels one by one took three times as long).
    for k in range(len(ys)):
        m10 = np.float32(0.0)
        m01 = np.float32(0.0)
        for r in range(rows.shape[0]):
            line = grey[ys[k] + rows[r, 0]]
            total = np.float32(0.0)
            moment = np.float32(0.0)
            for dx in range(rows[r, 1], rows[r, 2] + 1):
                value = line[xs[k] + dx]
                total += value
                moment += value * np.float32(dx)
            m10 += moment
            m01 += total * np.float32(rows[r, 0])
        out[k] = np.arctan2(np.float64(m01), np.float64(m10))


def orientation(
    grey: Float32Image, ys: NDArray[np.int64], xs: NDArray[np.int64], rows: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Intensity-centroid angles over a disc given as rows (offset down, first and last
    offset across; see ``reclaim.hashing.keypoints.orientation_reference``, the reference
    this must equal)."""
    out = np.empty(len(ys), np.float64)
    _orientation(
        np.ascontiguousarray(grey, np.float32),
        np.asarray(ys, np.int64),
        np.asarray(xs, np.int64),
        np.ascontiguousarray(rows, np.int64),
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


@njit(cache=True)
def _agreement(  # pragma: no cover - compiled
    proposers: Any, source: Any, target: Any, cos: Any, sin: Any, tolerance: float
) -> tuple[int, int]:
    best_count, best = -1, 0
    squared = tolerance * tolerance
    for k in range(len(proposers)):
        p = proposers[k]
        count = 0
        for j in range(len(source)):
            offset_x = source[j, 0] - source[p, 0]
            offset_y = source[j, 1] - source[p, 1]
            placed_x = cos[p] * offset_x - sin[p] * offset_y + target[p, 0]
            placed_y = sin[p] * offset_x + cos[p] * offset_y + target[p, 1]
            error_x, error_y = placed_x - target[j, 0], placed_y - target[j, 1]
            if error_x * error_x + error_y * error_y < squared:
                count += 1
        if count > best_count:
            best_count, best = count, k
    return best, best_count


def agreement(
    proposers: NDArray[np.int64],
    source: NDArray[np.float64],
    target: NDArray[np.float64],
    cos: NDArray[np.float64],
    sin: NDArray[np.float64],
    *,
    tolerance: float,
) -> tuple[int, int]:
    """Which of the ``proposers`` (correspondences, each turning and scaling by its own
    ``cos`` and ``sin``) most correspondences agree with, as an index into ``proposers``
    (the first of equals), and how many do; see
    ``reclaim.hashing.keypoints.agreement_reference``, the reference this must equal."""
    best, count = _agreement(
        np.ascontiguousarray(proposers, np.int64),
        np.ascontiguousarray(source, np.float64),
        np.ascontiguousarray(target, np.float64),
        np.ascontiguousarray(cos, np.float64),
        np.ascontiguousarray(sin, np.float64),
        tolerance,
    )
    return int(best), int(count)
