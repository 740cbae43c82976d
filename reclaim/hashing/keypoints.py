"""Local features of an image: corners, their orientation and a 256-bit descriptor each.

What whole-image PDQ cannot do, local features can: a crop, a border, a frame, a rotation
or an overlay leaves most of an image's corners where they were relative to each other,
so a copy is found by matching descriptors and checking that the matched corners agree on
one geometric transform. The method is ORB's (oriented FAST and rotated BRIEF) with
Harris corners in place of FAST, written out in plain numpy so that a browser can compute
the same features (the survivor's device registers them):

1. The grey image is scaled so its longer side is ``base_side`` (area averaging), then
   a pyramid of ``levels`` images each ``1/SCALE_STEP`` the size of the one before.
2. On each level, Harris corner responses from Sobel gradients and a Gaussian window;
   local maxima in a 5x5 neighbourhood, away from the edges, are the corners, and each
   level keeps a number in proportion to its area (a query) or to its square root
   (registration), the strongest of each cell of an 8x8 grid first (``_spread``).
3. Each corner's orientation is the angle of its patch's intensity centroid.
4. Its descriptor is 256 brightness comparisons between point pairs of a fixed pattern
   (``PATTERN``), turned by that angle, on the level smoothed by a Gaussian.

A feature's position is kept in the base image's coordinates divided by ``base_side``
(so 0..1 along the longer side), with its level, so features of images of any size can
be compared.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from reclaim.errors import HashFormatError
from reclaim.hashing.base import Luma
from reclaim.hashing.keypoint_kernels import (
    agreement,
    describe,
    harris_response,
    nearest_two,
    orientation,
    peaks,
    separable_filter,
)
from reclaim.index.base import as_words

SCALE_STEP: Final = 1.3
PATCH_RADIUS: Final = 15
#: Corners closer than this to a level's edge have no whole turned patch.
EDGE: Final = 22
HARRIS_K: Final = 0.04
#: Corners are spread over a grid of this many cells a side (see ``_spread``).
GRID: Final = 8
DESCRIPTOR_BYTES: Final = 32


def _pattern() -> NDArray[np.int8]:
    """256 point pairs (x1, y1, x2, y2) in the patch, Gaussian around the centre (BRIEF's
    second sampling strategy), drawn once with a fixed seed; the table itself is what
    counts (a browser gets it as data)."""
    rng = np.random.default_rng(20261203)
    points = np.rint(rng.normal(0.0, 31 / 5, size=(4 * 1024,))).astype(np.int64)
    points = points[np.abs(points) <= PATCH_RADIUS - 2][: 256 * 4]
    return points.reshape(256, 4).astype(np.int8)


PATTERN: Final = _pattern()


@dataclass(frozen=True)
class Features:
    """Features of one image: ``xy`` (n, 2) in base coordinates / base side, ``level``
    (n,), ``angle`` (n,) in radians, ``descriptors`` (n, 32) bytes."""

    xy: NDArray[np.float32]
    level: NDArray[np.int8]
    angle: NDArray[np.float32]
    descriptors: NDArray[np.uint8]
    #: width and height of the base image, over the base side (one of them is 1).
    extent: tuple[float, float]
    #: the longer side of the base image in pixels (what positions were divided by).
    base_side: int

    def __len__(self) -> int:
        return len(self.level)


#: ``features_to_bytes``: magic, version, base side, extent, count; then per feature
#: x, y (u16, over the base side), level (u8), angle (u8, 256 steps a turn), descriptor.
_MAGIC: Final = b"RKF"
_VERSION: Final = 1
_HEADER: Final = struct.Struct("<3sBHHHH")
_RECORD: Final = np.dtype(
    [("x", "<u2"), ("y", "<u2"), ("level", "u1"), ("angle", "u1"), ("descriptor", "u1", 32)]
)
#: More features than any setting asks for: a larger blob is refused, not parsed.
MAX_FEATURES: Final = 4096
#: The largest binary form ``features_from_bytes`` accepts.
MAX_PAYLOAD_BYTES: Final = _HEADER.size + MAX_FEATURES * _RECORD.itemsize


def features_to_bytes(features: Features) -> bytes:
    """The compact form a signal stores (38 bytes a feature plus a 12-byte header)."""
    records = np.zeros(len(features), _RECORD)
    records["x"] = np.clip(np.rint(features.xy[:, 0] * 65535), 0, 65535)
    records["y"] = np.clip(np.rint(features.xy[:, 1] * 65535), 0, 65535)
    records["level"] = features.level
    records["angle"] = np.rint(features.angle % (2 * np.pi) / (2 * np.pi) * 256).astype(int) % 256
    records["descriptor"] = features.descriptors
    extent = [round(min(max(e, 0.0), 1.0) * 65535) for e in features.extent]
    header = _HEADER.pack(_MAGIC, _VERSION, features.base_side, *extent, len(features))
    return header + records.tobytes()


def features_from_bytes(data: bytes, source: str = "features") -> Features:
    """``features_to_bytes`` undone; anything malformed raises ``HashFormatError``."""
    if len(data) < _HEADER.size:
        raise HashFormatError(f"{source}: {len(data)} bytes is too short for local features")
    magic, version, base_side, width, height, count = _HEADER.unpack_from(data)
    if magic != _MAGIC or version != _VERSION:
        raise HashFormatError(f"{source}: not local features of a version this Reclaim reads")
    if count > MAX_FEATURES:
        raise HashFormatError(f"{source}: {count} features, more than {MAX_FEATURES}")
    expected = _HEADER.size + count * _RECORD.itemsize
    if len(data) != expected:
        raise HashFormatError(f"{source}: {len(data)} bytes where {count} features take {expected}")
    if base_side == 0 or max(width, height) != 65535:
        raise HashFormatError(f"{source}: the image extent in the header is impossible")
    records = np.frombuffer(data, _RECORD, count, offset=_HEADER.size)
    if (records["level"] > 31).any():
        raise HashFormatError(f"{source}: a feature's pyramid level is out of range")
    xy = (np.stack([records["x"], records["y"]], axis=1) / 65535).astype(np.float32)
    angle = records["angle"].astype(np.float32) * np.float32(2 * np.pi / 256)
    return Features(
        xy,
        records["level"].astype(np.int8),
        angle,
        np.ascontiguousarray(records["descriptor"]),
        (width / 65535, height / 65535),
        base_side,
    )


#: A query looks for more corners, at a larger base, than a registration keeps: a copy
#: may hold the photo small (a screenshot) or cut (a crop). A query smaller than
#: ``QUERY_BASE_SIDE`` keeps its own size (down to ``QUERY_MIN_BASE_SIDE``): enlarging it
#: adds no detail, costs up to 2.25 times the pixels, and found fewer copies in the
#: robustness benchmark (``--set QUERY_MIN_BASE_SIDE=768`` enlarges every query).
QUERY_FEATURES: Final = 1000
QUERY_BASE_SIDE: Final = 768
QUERY_MIN_BASE_SIDE: Final = 512
QUERY_LEVELS: Final = 7
#: Corners one transform must explain for a match (unrelated photos reached 9 in the
#: robustness benchmark, true copies 16 or more in every single edit class).
MIN_INLIERS: Final = 12


def query_views(luma: Luma) -> tuple[Features, Features]:
    """A query image's features and its mirror image's, as matching compares them."""
    base_side = min(QUERY_BASE_SIDE, max(QUERY_MIN_BASE_SIDE, *np.shape(luma)))
    return features_and_mirror(luma, count=QUERY_FEATURES, base_side=base_side, levels=QUERY_LEVELS)


#: What registration keeps: 256 corners at a 512-pixel base over 7 levels (down to 106
#: pixels: a screenshot or a copy scaled to 0.3 holds the photo that small; 5 levels found
#: 222 of 250 hard copies in the robustness benchmark, 7 found 233).
REGISTERED_FEATURES: Final = 256
REGISTERED_BASE_SIDE: Final = 512
REGISTERED_LEVELS: Final = 7
#: Registration shares its corners among levels by the square root of their area, not by
#: area: a copy held small (a screenshot, a crop then scaled) meets only the coarse
#: levels, which by area kept 4 to 13 corners, too few for 12 inliers. The robustness
#: benchmark found 3,798 of 3,825 copies at git 4c1a6c1, 3,779 by area at 7879b71
#: (``--set REGISTERED_SHARE_EXPONENT=1.0`` shares by area).
REGISTERED_SHARE_EXPONENT: Final = 0.5


def features_from_luma(
    luma: Luma,
    *,
    count: int = REGISTERED_FEATURES,
    base_side: int = REGISTERED_BASE_SIDE,
    levels: int = REGISTERED_LEVELS,
) -> Features:
    """The ``count`` strongest features of a grey image (fewer if it has fewer corners)."""
    return _features(
        _detect(luma, count, base_side, levels, share_exponent=REGISTERED_SHARE_EXPONENT),
        mirror=False,
    )


def features_and_mirror(
    luma: Luma,
    *,
    count: int = REGISTERED_FEATURES,
    base_side: int = REGISTERED_BASE_SIDE,
    levels: int = REGISTERED_LEVELS,
) -> tuple[Features, Features]:
    """The features of a grey image and of its mirror image. Corners, and so the work of
    finding them, are the same in both; only the descriptors are sampled again."""
    detected = _detect(luma, count, base_side, levels)
    return _features(detected, mirror=False), _features(detected, mirror=True)


@dataclass(frozen=True)
class _Level:
    number: int
    smooth: NDArray[np.float32]
    ys: NDArray[np.int64]
    xs: NDArray[np.int64]
    angle: NDArray[np.float64]


@dataclass(frozen=True)
class _Detection:
    levels: list[_Level]
    base_side: int
    extent: tuple[float, float]


def _detect(
    luma: Luma, count: int, base_side: int, levels: int, *, share_exponent: float = 1.0
) -> _Detection:
    image = Image.fromarray(np.asarray(luma, dtype=np.uint8))
    width, height = image.size
    factor = base_side / max(width, height)
    base_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    extent = (base_size[0] / base_side, base_size[1] / base_side)
    # A camera-sized upload is first reduced by a whole factor (to no less than the base),
    # so each level reads a small image; levels are scaled from it, not from each other,
    # which keeps the pyramid of a mirror image the mirror of the pyramid.
    whole = max(width, height) // base_side
    source = image.reduce(whole) if whole >= 2 else image
    pyramid = []
    for level in range(levels):
        scale = SCALE_STEP**level
        size = (round(base_size[0] / scale), round(base_size[1] / scale))
        if min(size) <= 2 * EDGE + 4:
            break
        pyramid.append(np.asarray(source.resize(size, Image.Resampling.BOX), dtype=np.float32))
    weights = np.array([level.size for level in pyramid], dtype=np.float64) ** share_exponent
    shares = np.floor(count * weights / weights.sum()).astype(np.int64) if pyramid else []
    found = []
    for number, (grey, share) in enumerate(zip(pyramid, shares, strict=True)):
        ys, xs = _corners(grey, int(share))
        if len(ys):
            angle = orientation(grey, ys, xs, _CIRCLE_ROWS)
            found.append(_Level(number, _gaussian(grey, 2.0), ys, xs, angle))
    return _Detection(found, base_side, extent)


def _features(detected: _Detection, *, mirror: bool) -> Features:
    xys, level_ids, angles, descriptors = [], [], [], []
    for level in detected.levels:
        xs, angle = level.xs, level.angle
        if mirror:  # where the corner is in the mirror image, and which way it points
            xs, angle = level.smooth.shape[1] - 1 - xs, np.pi - angle
        descriptors.append(
            describe(level.smooth, level.ys, level.xs, level.angle, PATTERN, mirror=mirror)
        )
        scale = SCALE_STEP**level.number / detected.base_side
        xys.append(np.stack([xs, level.ys], axis=1).astype(np.float32) * scale)
        level_ids.append(np.full(len(xs), level.number, dtype=np.int8))
        angles.append(np.asarray(angle, dtype=np.float32))
    if not xys:
        return Features(
            np.zeros((0, 2), np.float32),
            np.zeros(0, np.int8),
            np.zeros(0, np.float32),
            np.zeros((0, DESCRIPTOR_BYTES), np.uint8),
            detected.extent,
            detected.base_side,
        )
    return Features(
        np.concatenate(xys),
        np.concatenate(level_ids),
        np.concatenate(angles),
        np.concatenate(descriptors),
        detected.extent,
        detected.base_side,
    )


def _gaussian_kernel(sigma: float) -> NDArray[np.float32]:
    radius = max(1, round(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(x * x) / (2 * sigma * sigma))
    return np.asarray(kernel / kernel.sum(), dtype=np.float32)


_HARRIS_WINDOW: Final = _gaussian_kernel(1.5)


def _gaussian(image: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    return separable_filter(image, _gaussian_kernel(sigma))


def harris_reference(grey: NDArray[np.float32]) -> NDArray[np.float32]:
    """Harris corner responses: Sobel gradients (edges replicated), their products summed
    over a Gaussian window, det - k trace^2. ``keypoint_kernels.harris_response`` is the
    compiled form."""
    padded = np.pad(grey, 1, mode="edge")
    # Sobel: [1 2 1] smoothing across, [-1 0 1] difference along.
    dx = padded[:, 2:] - padded[:, :-2]
    dx = dx[:-2] + 2 * dx[1:-1] + dx[2:]
    dy = padded[2:, :] - padded[:-2, :]
    dy = dy[:, :-2] + 2 * dy[:, 1:-1] + dy[:, 2:]
    window = _HARRIS_WINDOW
    xx = separable_filter(dx * dx, window)
    yy = separable_filter(dy * dy, window)
    xy = separable_filter(dx * dy, window)
    trace = xx + yy
    return xx * yy - xy * xy - HARRIS_K * trace * trace


def _corners(grey: NDArray[np.float32], count: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    if count <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    response = harris_response(grey, _HARRIS_WINDOW, HARRIS_K)
    ys, xs = peaks(response, EDGE)
    if len(ys) > count:
        chosen = _spread(ys, xs, response[ys, xs], count, response.shape)
        ys, xs = ys[chosen], xs[chosen]
    return ys.astype(np.int64), xs.astype(np.int64)


def peaks_reference(
    response: NDArray[np.float32], edge: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positive responses that are the largest of their 5x5 neighbourhood, at least
    ``edge`` pixels inside, in row order (``keypoint_kernels.peaks`` is the compiled form)."""
    height, width = response.shape
    # A row pass, then a column pass.
    padded = np.pad(response, 2, mode="constant", constant_values=-np.inf)
    across = padded[:, 0:width].copy()
    for dx in range(1, 5):
        np.maximum(across, padded[:, dx : dx + width], out=across)
    largest = across[0:height].copy()
    for dy in range(1, 5):
        np.maximum(largest, across[dy : dy + height], out=largest)
    peak = (response >= largest) & (response > 0)
    peak[:edge] = peak[height - edge :] = False
    peak[:, :edge] = peak[:, width - edge :] = False
    ys, xs = np.nonzero(peak)
    return ys.astype(np.int64), xs.astype(np.int64)


def _spread(
    ys: NDArray[np.int64],
    xs: NDArray[np.int64],
    strength: NDArray[np.float32],
    count: int,
    shape: tuple[int, ...],
) -> NDArray[np.int64]:
    """``count`` of the corners, spread over the image: each cell of a ``GRID`` x ``GRID``
    grid gives its strongest corners first (up to twice its even share), then the
    strongest of the rest fill up. Without it, captions, interface text and other sharp
    edits take the whole budget from the photo they frame."""
    cells = (ys * GRID // shape[0]) * GRID + xs * GRID // shape[1]
    order = np.lexsort((-strength, cells))  # by cell, strongest first within each
    sorted_cells = cells[order]
    first = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - first
    cap = max(1, 2 * count // (GRID * GRID))
    # Sort key: corners within their cell's cap first, then by strength.
    key = np.lexsort((-strength, rank >= cap))
    return key[:count]


def _circle() -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    span = np.arange(-PATCH_RADIUS, PATCH_RADIUS + 1)
    dy, dx = np.meshgrid(span, span, indexing="ij")
    inside = dx * dx + dy * dy <= PATCH_RADIUS * PATCH_RADIUS
    return dy[inside], dx[inside]


_CIRCLE_DY, _CIRCLE_DX = _circle()


def _circle_rows() -> NDArray[np.int64]:
    """The same disc row by row: offset down, first and last offset across."""
    rows = []
    for dy in range(-PATCH_RADIUS, PATCH_RADIUS + 1):
        span = math.isqrt(PATCH_RADIUS * PATCH_RADIUS - dy * dy)
        rows.append((dy, -span, span))
    return np.array(rows, np.int64)


_CIRCLE_ROWS: Final = _circle_rows()


def orientation_reference(
    grey: NDArray[np.float32], ys: NDArray[np.int64], xs: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The angle of each corner's patch's intensity centroid (``keypoint_kernels.orientation``
    is the compiled form)."""
    patches = grey[ys[:, None] + _CIRCLE_DY[None, :], xs[:, None] + _CIRCLE_DX[None, :]]
    m10 = patches @ _CIRCLE_DX.astype(np.float32)
    m01 = patches @ _CIRCLE_DY.astype(np.float32)
    return np.asarray(np.arctan2(m01, m10), dtype=np.float64)


def describe_reference(
    smooth: NDArray[np.float32],
    ys: NDArray[np.int64],
    xs: NDArray[np.int64],
    angle: NDArray[np.float64],
    mirror: bool = False,
) -> NDArray[np.uint8]:
    """The descriptors of corners at (``xs``, ``ys``) turned by ``angle``; with ``mirror``,
    the descriptors the same corners have in the mirror image, sampled here: the mirror
    image's corner points at pi - angle, and its offset (dx, dy) is (-dx, dy) here."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    pattern = PATTERN.astype(np.float64)

    def sample(px: NDArray[np.float64], py: NDArray[np.float64]) -> NDArray[np.float32]:
        if mirror:  # turned by pi - angle in the mirror image, then mirrored back
            x = np.rint(xs[:, None] + cos * px + sin * py).astype(np.int64)
            y = np.rint(ys[:, None] + sin * px - cos * py).astype(np.int64)
        else:
            x = np.rint(xs[:, None] + cos * px - sin * py).astype(np.int64)
            y = np.rint(ys[:, None] + sin * px + cos * py).astype(np.int64)
        return smooth[y, x]

    first = sample(pattern[None, :, 0], pattern[None, :, 1])
    second = sample(pattern[None, :, 2], pattern[None, :, 3])
    return np.packbits(first < second, axis=1, bitorder="little")


#: Descriptor pairs further apart than this are never correspondences.
MAX_DESCRIPTOR_DISTANCE: Final = 64
RATIO: Final = 0.85
#: How far (in base-side units) a corner may land from where the transform puts it.
INLIER_TOLERANCE: Final = 0.015
#: The looser tolerance for a first guess of the transform from one correspondence.
GUESS_TOLERANCE: Final = 0.05
#: Looser still for ``agreeing_votes``: with a few votes, no proposal may have its angle
#: and scale quite right.
VOTE_TOLERANCE: Final = 0.08


def hamming_matrix(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Bits differing between every descriptor of ``a`` and every one of ``b``."""
    words_a, words_b = as_words(a), as_words(b)
    total = np.zeros((len(a), len(b)), np.int64)
    for word in range(words_a.shape[1]):
        total += np.bitwise_count(words_a[:, word, None] ^ words_b[None, :, word])
    return total


def correspondences(
    query: Features, reference: Features
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs (query index, reference index) of nearest descriptors that pass the ratio
    test and the distance limit."""
    if len(query) < 2 or len(reference) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nearest, best, second = nearest_two(
        as_words(query.descriptors), as_words(reference.descriptors)
    )
    keep = (best <= MAX_DESCRIPTOR_DISTANCE) & (best < RATIO * second)
    return np.flatnonzero(keep), nearest[keep]


def correspondences_reference(
    query: Features, reference: Features
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``correspondences`` from the whole distance matrix (what the compiled search must
    equal; ties between nearest descriptors fail the ratio test either way)."""
    if len(query) < 2 or len(reference) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    distances = hamming_matrix(query.descriptors, reference.descriptors)
    order = np.argsort(distances, axis=1, kind="stable")[:, :2]
    rows = np.arange(len(query))
    best, second = distances[rows, order[:, 0]], distances[rows, order[:, 1]]
    keep = (best <= MAX_DESCRIPTOR_DISTANCE) & (best < RATIO * second)
    return rows[keep], order[keep, 0]


#: At most this many correspondences (the closest) propose a transform: a true copy has
#: many good proposals, and the cost grows with proposals x correspondences.
MAX_PROPOSALS: Final = 128
#: The transforms a copy may have undergone: scaled by 1/8 to 8, one axis stretched at
#: most 2.5 times the other, not mirrored (mirror images are matched as mirrored queries).
MIN_SCALE: Final = 0.125
MAX_SCALE: Final = 8.0
MAX_STRETCH: Final = 2.5


def inliers(query: Features, reference: Features) -> int:
    """How many distinct corners one plausible affine transform explains.

    Each correspondence proposes a transform on its own, from the two corners' positions,
    orientations and pyramid levels (a rotation, a scale and a shift); the proposal that
    most other correspondences agree with (loosely) is refined by least squares to an
    affine transform, twice, and the correspondences it then places within
    ``INLIER_TOLERANCE`` are the inliers. Deterministic, and it finds a transform that
    one correspondence in twenty supports, where random three-point samples would not.
    """
    qi, ri = correspondences(query, reference)
    if len(qi) < 3:
        return 0
    # The closest pairs propose; all are tested against each proposal.
    proposers = np.arange(len(qi))
    if len(qi) > MAX_PROPOSALS:
        closeness = _pair_distances(query.descriptors[qi], reference.descriptors[ri])
        proposers = np.sort(np.argsort(closeness, kind="stable")[:MAX_PROPOSALS])
    source, target, cos, sin = _proposals(query, reference, qi, ri)
    best, _ = agreement(proposers, source, target, cos, sin, tolerance=GUESS_TOLERANCE)
    chosen = _agreeing(proposers[[best]], source, target, cos, sin, tolerance=GUESS_TOLERANCE)[0]
    for _ in range(2):
        if chosen.sum() < 3:
            return 0
        transform = _affine_fit(source[chosen], target[chosen])
        if transform is None or not _plausible(transform[None, :2, :])[0]:
            return 0
        placed = np.concatenate([source, np.ones((len(source), 1))], axis=1) @ transform
        chosen = np.hypot(*(placed - target).T) < INLIER_TOLERANCE
    return _distinct(query.xy[qi[chosen]], reference.xy[ri[chosen]])


def agreeing_votes(
    query: Features, reference: Features, qi: NDArray[np.int64], ri: NDArray[np.int64]
) -> int:
    """How many of a few correspondences (an index's votes: query feature ``qi[k]`` nearest
    to reference feature ``ri[k]``) one of them, as a proposal, places roughly right. A
    quick look before ``inliers``: chance votes for an unrelated image scatter, and a copy's
    votes agree."""
    if len(qi) < 2:
        return len(qi)
    source, target, cos, sin = _proposals(query, reference, qi, ri)
    # Votes tied between a corner's copies on several levels can number thousands; a
    # sample of them proposes, all are counted.
    proposers = np.unique(np.linspace(0, len(qi) - 1, min(len(qi), MAX_PROPOSALS)).astype(np.int64))
    return agreement(proposers, source, target, cos, sin, tolerance=VOTE_TOLERANCE)[1]


def _proposals(
    query: Features, reference: Features, qi: NDArray[np.int64], ri: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Each correspondence's positions (reference, query) and the turn and scale it
    proposes (as scale x cos and scale x sin), from its corners' angles and levels."""
    source = reference.xy[ri].astype(np.float64)
    target = query.xy[qi].astype(np.float64)
    size = (SCALE_STEP ** query.level[qi].astype(np.float64) / query.base_side) / (
        SCALE_STEP ** reference.level[ri].astype(np.float64) / reference.base_side
    )
    turn = query.angle[qi].astype(np.float64) - reference.angle[ri].astype(np.float64)
    return source, target, size * np.cos(turn), size * np.sin(turn)


def _agreeing(
    proposers: NDArray[np.int64],
    source: NDArray[np.float64],
    target: NDArray[np.float64],
    cos: NDArray[np.float64],
    sin: NDArray[np.float64],
    *,
    tolerance: float,
) -> NDArray[np.bool_]:
    """Per proposal (correspondence ``p`` of ``proposers``, turned and scaled by its
    ``cos[p]`` and ``sin[p]``), which correspondences it places within ``tolerance`` of
    their targets."""
    # Proposal p maps x to R_p (x - source_p) + target_p.
    cos, sin = cos[proposers], sin[proposers]
    offset = source[None, :, :] - source[proposers, None, :]  # (k, n, 2)
    placed_x = cos[:, None] * offset[..., 0] - sin[:, None] * offset[..., 1]
    placed_y = sin[:, None] * offset[..., 0] + cos[:, None] * offset[..., 1]
    placed_x += target[proposers, None, 0]
    placed_y += target[proposers, None, 1]
    error_x, error_y = placed_x - target[None, :, 0], placed_y - target[None, :, 1]
    return np.asarray(error_x * error_x + error_y * error_y < tolerance * tolerance)


def agreement_reference(
    proposers: NDArray[np.int64],
    source: NDArray[np.float64],
    target: NDArray[np.float64],
    cos: NDArray[np.float64],
    sin: NDArray[np.float64],
    *,
    tolerance: float,
) -> tuple[int, int]:
    """Which proposal (index into ``proposers``) most correspondences agree with, the first
    of equals, and how many do (``keypoint_kernels.agreement`` is the compiled form)."""
    counts = _agreeing(proposers, source, target, cos, sin, tolerance=tolerance).sum(axis=1)
    best = int(np.argmax(counts))
    return best, int(counts[best])


def _pair_distances(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Bits differing between each descriptor of ``a`` and the one in the same row of ``b``."""
    return np.asarray(np.bitwise_count(as_words(a) ^ as_words(b)).sum(axis=1), np.int64)


def _affine_fit(
    source: NDArray[np.float64], target: NDArray[np.float64]
) -> NDArray[np.float64] | None:
    """The (3, 2) affine transform T with [x y 1] @ T closest to ``target`` (least squares)."""
    design = np.concatenate([source, np.ones((len(source), 1))], axis=1)
    transform, _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    return transform if rank == 3 else None


def _plausible(linear: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which 2x2 linear parts are a plausible edit: singular values in range, not too
    unequal, and no reflection."""
    a, b, c, d = linear[:, 0, 0], linear[:, 0, 1], linear[:, 1, 0], linear[:, 1, 1]
    determinant = a * d - b * c
    frobenius = a * a + b * b + c * c + d * d
    root = np.sqrt(np.maximum(frobenius * frobenius - 4 * determinant * determinant, 0.0))
    largest = np.sqrt((frobenius + root) / 2)
    smallest = np.sqrt(np.maximum((frobenius - root) / 2, 0.0))
    return (
        (determinant > 0)
        & (smallest >= MIN_SCALE)
        & (largest <= MAX_SCALE)
        & (largest <= MAX_STRETCH * smallest)
    )


def _distinct(query_xy: NDArray[np.float32], reference_xy: NDArray[np.float32]) -> int:
    """Inliers counted once per place: a corner found on several pyramid levels, or many
    corners drawn to one, count once."""
    cell = INLIER_TOLERANCE
    query_cells = {tuple(v) for v in np.floor(query_xy / cell).astype(np.int64).tolist()}
    reference_cells = {tuple(v) for v in np.floor(reference_xy / cell).astype(np.int64).tolist()}
    return min(len(query_cells), len(reference_cells))
