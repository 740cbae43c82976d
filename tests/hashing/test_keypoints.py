"""Local features: deterministic, found again after crops, borders, turns and mirroring,
and not found in unrelated photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reclaim.errors import HashFormatError
from reclaim.hashing import keypoints
from reclaim.hashing.keypoint_kernels import (
    agreement,
    describe,
    harris_response,
    orientation,
    peaks,
    separable_filter,
    separable_filter_reference,
)
from reclaim.hashing.keypoints import Features, features_from_luma, inliers

QUERY = {
    "count": keypoints.QUERY_FEATURES,
    "base_side": keypoints.QUERY_BASE_SIDE,
    "levels": keypoints.QUERY_LEVELS,
}


def _luma(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _best(query: Image.Image, reference: Features) -> int:
    luma = _luma(query)
    return max(inliers(view, reference) for view in keypoints.query_views(luma))


def test_features_are_deterministic_and_well_formed(photos: list[Path]) -> None:
    luma = _luma(Image.open(photos[0]))
    first, second = features_from_luma(luma), features_from_luma(luma)
    assert np.array_equal(first.descriptors, second.descriptors)
    assert np.array_equal(first.xy, second.xy)
    assert 200 <= len(first) <= 256
    assert first.descriptors.shape == (len(first), 32) and first.descriptors.dtype == np.uint8
    assert max(first.extent) == 1.0
    assert (first.xy >= 0).all() and (first.xy[:, 0] <= first.extent[0]).all()
    assert (first.xy[:, 1] <= first.extent[1]).all()


def test_a_flat_or_tiny_image_has_no_features() -> None:
    assert len(features_from_luma(np.full((300, 400), 128, np.uint8))) == 0
    assert len(features_from_luma(np.zeros((8, 8), np.uint8))) == 0


def test_the_pattern_stays_inside_the_patch() -> None:
    assert keypoints.PATTERN.shape == (256, 4)
    assert np.abs(keypoints.PATTERN).max() <= keypoints.PATCH_RADIUS
    # Turned by any angle, a point of the pattern stays within the edge kept free.
    assert np.hypot(keypoints.PATTERN[:, 0::2], keypoints.PATTERN[:, 1::2]).max() < keypoints.EDGE


@pytest.mark.parametrize(
    "edit",
    [
        lambda im: im.crop((im.width // 5, im.height // 10, im.width, im.height * 8 // 10)),
        lambda im: im.rotate(15, resample=Image.Resampling.BILINEAR, expand=True),
        lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        lambda im: im.transpose(Image.Transpose.ROTATE_90),
        lambda im: im.resize((im.width * 3 // 2, im.height)),
    ],
    ids=["crop", "rotate 15", "mirror", "rotate 90", "aspect"],
)
def test_edited_copies_keep_enough_inliers(photos: list[Path], edit: object) -> None:
    # Photos of scenes; repeating textures (brick, grass, gravel) give corners that look
    # alike, and the benchmark measures how they fare.
    scenes = [p for p in photos if p.name in {"astronaut.jpg", "chelsea.jpg", "coffee.jpg"}]
    assert len(scenes) == 3
    for path in scenes:
        image = Image.open(path).convert("RGB")
        reference = features_from_luma(_luma(image))
        assert _best(edit(image), reference) >= keypoints.MIN_INLIERS, path.name  # type: ignore[operator]


def test_unrelated_photos_stay_below_the_threshold(photos: list[Path]) -> None:
    references = [features_from_luma(_luma(Image.open(p))) for p in photos[:6]]
    for path in photos[6:12]:
        query = Image.open(path).convert("RGB")
        assert max(_best(query, r) for r in references) < keypoints.MIN_INLIERS, path.name


def test_the_compiled_filter_equals_its_reference() -> None:
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (7, 3), (60, 45)]:
        image = (rng.random(shape) * 255).astype(np.float32)
        for sigma in (1.0, 1.5, 2.0):
            kernel = keypoints._gaussian_kernel(sigma)
            assert np.allclose(
                separable_filter(image, kernel),
                separable_filter_reference(image, kernel),
                rtol=0,
                atol=1e-3,
            )


@pytest.mark.parametrize("shape", [(1, 1), (5, 4), (7, 30), (97, 131)])
def test_the_compiled_harris_response_equals_its_reference(shape: tuple[int, int]) -> None:
    grey = (np.random.default_rng(5).random(shape) * 255).astype(np.float32)
    fast = harris_response(grey, keypoints._HARRIS_WINDOW, keypoints.HARRIS_K)
    slow = keypoints.harris_reference(grey)
    assert np.allclose(fast, slow, rtol=1e-5, atol=1e-3 * max(1.0, float(np.abs(slow).max())))


def test_the_compiled_peaks_equal_their_reference() -> None:
    rng = np.random.default_rng(6)
    cases = [
        (rng.random((97, 131)) - 0.5).astype(np.float32),
        np.ones((60, 60), np.float32),  # a plateau: every inside pixel ties for a peak
        np.zeros((30, 30), np.float32),
        (rng.random((40, 40)) - 0.5).astype(np.float32),  # smaller than twice the edge
    ]
    for response in cases:
        fast_ys, fast_xs = peaks(response, keypoints.EDGE)
        slow_ys, slow_xs = keypoints.peaks_reference(response, keypoints.EDGE)
        assert np.array_equal(fast_ys, slow_ys) and np.array_equal(fast_xs, slow_xs)
    assert len(peaks(cases[1], keypoints.EDGE)[0]) == (60 - 2 * keypoints.EDGE) ** 2


def test_the_compiled_orientation_equals_its_reference() -> None:
    rng = np.random.default_rng(7)
    grey = (rng.random((80, 90)) * 255).astype(np.float32)
    ys = rng.integers(keypoints.EDGE, 80 - keypoints.EDGE, 40)
    xs = rng.integers(keypoints.EDGE, 90 - keypoints.EDGE, 40)
    fast = orientation(grey, ys, xs, keypoints._CIRCLE_ROWS)
    assert np.allclose(fast, keypoints.orientation_reference(grey, ys, xs), atol=1e-4)


def test_mirror_features_equal_those_of_the_mirror_image(photos: list[Path]) -> None:
    """Which corners are chosen may differ (sums in the other order round differently, so
    near-equal neighbours and the last places of the budget can swap); the corners found
    in both have the same descriptors."""
    for name in ("coffee.jpg", "astronaut.jpg"):
        luma = _luma(Image.open(next(p for p in photos if p.name == name)))
        _, mirror = keypoints.features_and_mirror(luma, **QUERY)
        real = features_from_luma(np.ascontiguousarray(luma[:, ::-1]), **QUERY)
        apart = np.abs(real.xy[:, None, :] - mirror.xy[None, :, :]).max(axis=2)
        same_level = real.level[:, None] == mirror.level[None, :]
        pairs = np.argwhere((apart < 1e-5) & same_level)
        assert len(pairs) >= 0.5 * len(real), name
        bits = keypoints.hamming_matrix(
            real.descriptors[pairs[:, 0]], mirror.descriptors[pairs[:, 1]]
        ).diagonal()
        # Orientations, from sums in the other order too, can differ in the last places
        # and move a few sample points by a pixel: a few bits, where an unrelated corner
        # differs in about 128.
        assert np.median(bits) == 0 and bits.mean() < 4, (name, bits.mean())


def test_features_round_trip_through_bytes_and_still_match(photos: list[Path]) -> None:
    image = Image.open(next(p for p in photos if p.name == "chelsea.jpg")).convert("RGB")
    features = features_from_luma(_luma(image))
    data = keypoints.features_to_bytes(features)
    assert len(data) == 12 + 38 * len(features)
    back = keypoints.features_from_bytes(data)
    assert np.array_equal(back.descriptors, features.descriptors)
    assert np.array_equal(back.level, features.level)
    assert np.abs(back.xy - features.xy).max() <= 1 / 65535
    turn = np.angle(np.exp(1j * (back.angle - features.angle)))
    assert np.abs(turn).max() <= np.pi / 256 + 1e-6
    assert back.base_side == features.base_side
    assert back.extent == pytest.approx(features.extent, abs=1 / 65535)
    cropped = image.crop((image.width // 6, 0, image.width, image.height * 5 // 6))
    assert _best(cropped, back) >= keypoints.MIN_INLIERS


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (b"XYZ" + bytes(20), "version"),
        (b"RKF\x02" + bytes(8), "version"),
        (b"RKF\x01\x00\x02\xff\xff\xff\xff\x01\x00", "take"),
        (b"RKF\x01\x00\x02\xff\xff\xff\xff\x00\x20", "more than"),
        (b"RKF\x01\x00\x00\xff\xff\xff\xff\x00\x00", "extent"),
        (b"RKF\x01\x00\x02\x10\x00\x10\x00\x00\x00", "extent"),
        (b"RKF\x01\x00\x02\xff\xff\xff\xff\x01\x00" + bytes(4) + b"\x40" + bytes(33), "level"),
    ],
)
def test_malformed_feature_bytes_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(HashFormatError, match=reason):
        keypoints.features_from_bytes(data, "upload.jpg")


@pytest.mark.parametrize("mirror", [False, True])
def test_the_compiled_descriptors_equal_the_reference(mirror: bool) -> None:
    rng = np.random.default_rng(4)
    smooth = (rng.random((80, 90)) * 255).astype(np.float32)
    ys = rng.integers(keypoints.EDGE, 80 - keypoints.EDGE, 40)
    xs = rng.integers(keypoints.EDGE, 90 - keypoints.EDGE, 40)
    angle = rng.uniform(-np.pi, np.pi, 40)
    fast = describe(smooth, ys, xs, angle, keypoints.PATTERN, mirror=mirror)
    assert np.array_equal(fast, keypoints.describe_reference(smooth, ys, xs, angle, mirror))


def test_the_compiled_correspondences_equal_the_reference(photos: list[Path]) -> None:
    scenes = [p for p in photos if p.name in {"astronaut.jpg", "coffee.jpg"}]
    first, second = (features_from_luma(_luma(Image.open(p))) for p in scenes)
    edited = Image.open(scenes[0]).rotate(10, resample=Image.Resampling.BILINEAR)
    query = keypoints.query_views(_luma(edited))[0]
    for reference in (first, second):
        fast = keypoints.correspondences(query, reference)
        slow = keypoints.correspondences_reference(query, reference)
        assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert len(keypoints.correspondences(query, first)[0]) > 50


def test_the_compiled_proposal_agreement_equals_the_reference() -> None:
    rng = np.random.default_rng(6)
    # 60 correspondences under one transform (the first 40) and scattered ones.
    source = rng.random((60, 2))
    turn, size = 0.3, 0.7
    rotation = size * np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])
    target = source @ rotation + 0.1
    target[40:] = rng.random((20, 2))
    proposers = np.arange(0, 60, 2)
    angles = np.where(np.arange(60) < 40, turn, rng.uniform(-np.pi, np.pi, 60))
    cos, sin = size * np.cos(angles), size * np.sin(angles)
    tolerance = keypoints.GUESS_TOLERANCE
    fast = agreement(proposers, source, target, cos, sin, tolerance=tolerance)
    assert fast == keypoints.agreement_reference(
        proposers, source, target, cos, sin, tolerance=tolerance
    )
    assert proposers[fast[0]] < 40 and fast[1] >= 40
    # A shuffled order still picks an agreeing proposal, the first of equals.
    shuffled = rng.permutation(len(proposers))
    args = (proposers[shuffled], source, target, cos, sin)
    assert agreement(*args, tolerance=tolerance) == keypoints.agreement_reference(
        *args, tolerance=tolerance
    )
