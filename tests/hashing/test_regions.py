"""Region hashes of video frames: what each hash covers, what edits leave them near, and
their payload read back or refused."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from reclaim.errors import HashFormatError
from reclaim.hashing.keypoints import hamming_matrix
from reclaim.hashing.pdq import pdq_from_luma
from reclaim.hashing.regions import (
    BAND,
    CENTRE_COLUMNS,
    CORNER_COLUMNS,
    HASHES_PER_FRAME,
    MAX_PAYLOAD_BYTES,
    QUADRANT_COLUMNS,
    WHOLE,
    VideoRegions,
    distinct_rows,
    region_hashes,
    regions_from_payload,
    regions_payload,
)
from reclaim.hashing.video import fingerprint_video
from tests.hashing.videos import encode_video, pan_frames


def _luma(photo: Path, size: tuple[int, int] = (480, 270)) -> NDArray[np.uint8]:
    return np.asarray(Image.open(photo).convert("L").resize(size), np.uint8)


def _distance(a: str, b: str) -> int:
    codes = [np.frombuffer(bytes.fromhex(h), np.uint8)[None, :] for h in (a, b)]
    return int(hamming_matrix(codes[0], codes[1])[0, 0])


def _cropped(luma: NDArray[np.uint8], margin: int) -> NDArray[np.uint8]:
    """The frame less ``margin`` percent a side, blown up to its size (a zoomed copy)."""
    height, width = luma.shape
    top, left = height * margin // 100, width * margin // 100
    inside = Image.fromarray(luma[top : height - top, left : width - left])
    return np.asarray(inside.resize((width, height), Image.Resampling.BILINEAR), np.uint8)


def _cornered(luma: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The frame less 10% off its right and bottom, blown up to its size."""
    height, width = luma.shape
    kept = Image.fromarray(luma[: height * 9 // 10, : width * 9 // 10])
    return np.asarray(kept.resize((width, height), Image.Resampling.BILINEAR), np.uint8)


def _marked(luma: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A bright box over the top-right corner, as a channel's logo."""
    height, width = luma.shape
    marked = luma.copy()
    marked[height // 20 : height // 4, width * 7 // 10 : width * 19 // 20] = 235
    return marked


def test_the_hashes_cover_the_whole_frame_its_centres_and_its_quadrants_in_order(
    photos: list[Path],
) -> None:
    luma = _luma(photos[0])
    whole = pdq_from_luma(luma)
    hashes = region_hashes(luma, whole)
    assert len(hashes) == HASHES_PER_FRAME and hashes[WHOLE] == whole
    centre_90, centre_80 = (hashes[c] for c in CENTRE_COLUMNS)
    assert centre_90 == pdq_from_luma(np.ascontiguousarray(luma[13:257, 24:456]))
    assert centre_80 == pdq_from_luma(np.ascontiguousarray(luma[27:243, 48:432]))
    quadrants = [luma[:135, :240], luma[:135, 240:], luma[135:, :240], luma[135:, 240:]]
    assert [hashes[c] for c in QUADRANT_COLUMNS] == [
        pdq_from_luma(np.ascontiguousarray(q)) for q in quadrants
    ]
    assert hashes[BAND] == pdq_from_luma(np.ascontiguousarray(luma[:216]))  # the top 80%
    corners = [luma[:243, :432], luma[:243, 48:], luma[27:, :432], luma[27:, 48:]]  # 90% each
    assert [hashes[c] for c in CORNER_COLUMNS] == [
        pdq_from_luma(np.ascontiguousarray(c)) for c in corners
    ]


def _captioned(luma: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A line of white text with a dark outline near the bottom, as burnt-in subtitles."""
    height, width = luma.shape
    captioned = luma.copy()
    line = captioned[height * 82 // 100 : height * 95 // 100, width // 8 : width * 7 // 8]
    line[:] = 20
    line[2:-2, ::3] = 235
    return captioned


def test_edited_copies_lie_near_a_centre_three_quadrants_or_the_top_band(
    photos: list[Path],
) -> None:
    # Resampling a fine texture (the brick wall) can move a hash a few bits past 31:
    # nearly every photo, not every one.
    cropped, whole, marked, captioned, captioned_whole, cornered = {5: 0, 10: 0}, 0, 0, 0, 0, 0
    for photo in photos[:8]:
        luma = _luma(photo)
        hashes = region_hashes(luma, pdq_from_luma(luma))
        for margin, column in zip((5, 10), CENTRE_COLUMNS, strict=True):
            copy = pdq_from_luma(_cropped(luma, margin)).hex
            cropped[margin] += _distance(copy, hashes[column].hex) <= 31
        cornered += (
            _distance(pdq_from_luma(_cornered(luma)).hex, hashes[CORNER_COLUMNS[0]].hex) <= 31
        )
        whole += _distance(pdq_from_luma(_cropped(luma, 10)).hex, hashes[WHOLE].hex) <= 31
        mark = region_hashes(_marked(luma), pdq_from_luma(_marked(luma)))
        near = [_distance(mark[c].hex, hashes[c].hex) <= 31 for c in QUADRANT_COLUMNS]
        marked += near[0] and near[2] and near[3]  # all but the top right
        caption = region_hashes(_captioned(luma), pdq_from_luma(_captioned(luma)))
        captioned += _distance(caption[BAND].hex, hashes[BAND].hex) <= 31
        captioned_whole += _distance(caption[WHOLE].hex, hashes[WHOLE].hex) <= 31
    assert cropped[5] >= 7 and cropped[10] >= 7 and marked >= 7 and captioned >= 7
    assert cornered >= 7
    assert whole <= 1  # what the centres are for
    assert captioned_whole < captioned  # and the band


@pytest.fixture(scope="module")
def regions(photos: list[Path]) -> VideoRegions:
    data = encode_video(pan_frames(photos[0], 30))
    return fingerprint_video(data, "pan.mp4", register=True).regions


def test_a_videos_regions_follow_its_frames_and_read_back_from_their_payload(
    photos: list[Path], regions: VideoRegions
) -> None:
    video = fingerprint_video(encode_video(pan_frames(photos[0], 30)), "pan.mp4", regions=True)
    assert video.regions is not None and len(video.regions) == len(video.frames) == 3
    # A query's frames leave their crops out: its whole hash is what meets them.
    assert not video.regions.quality[:, list(CENTRE_COLUMNS + CORNER_COLUMNS)].any()
    assert np.array_equal(
        video.regions.codes[:, QUADRANT_COLUMNS], regions.codes[:, QUADRANT_COLUMNS]
    )
    assert regions.quality[:, list(CENTRE_COLUMNS)].all()
    assert video.regions.wholes() == list(video.frames)
    back = regions_from_payload(regions_payload(regions))
    assert np.array_equal(back.timestamps, regions.timestamps)
    assert np.array_equal(back.codes, regions.codes)
    assert np.array_equal(back.quality, regions.quality)
    assert distinct_rows(back).tolist() == [0, 1, 2]


def test_distinct_rows_keep_the_first_frame_of_each_good_whole_hash(
    regions: VideoRegions,
) -> None:
    codes, quality = regions.codes.copy(), regions.quality.copy()
    codes[2] = codes[0]  # the third frame repeats the first
    quality[1, WHOLE] = 10  # the second is too poor to count
    repeated = VideoRegions(regions.timestamps, codes, quality)
    assert distinct_rows(repeated).tolist() == [0]


def _payload(regions: VideoRegions) -> bytes:
    return regions_payload(regions)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p[:5], "too short"),
        (lambda p: b"XYZ" + p[3:], "not a regions payload"),
        (lambda p: p[:3] + b"\x09" + p[4:], "not a regions payload"),
        (lambda p: p[:-1], "where 3 frames take"),
        (lambda p: p + b"\x00", "where 3 frames take"),
        (lambda p: struct.pack("<3sBI", b"RVR", 1, 0), "at least one frame"),
        (lambda p: p[:8] + struct.pack("<d", float("nan")) + p[16:], "timestamp"),
        (lambda p: p[:8] + struct.pack("<d", -1.0) + p[16:], "timestamp"),
        (lambda p: p[:8] + struct.pack("<d", float("inf")) + p[16:], "timestamp"),
        (lambda p: p[: 8 + 8 + 384] + b"\x65" + p[8 + 8 + 385 :], "quality"),
        (lambda p: b"\x00" * (MAX_PAYLOAD_BYTES + 1), "more than a regions payload may take"),
    ],
)
def test_a_malformed_payload_is_refused_with_the_reason(
    regions: VideoRegions, damage: object, reason: str
) -> None:
    assert callable(damage)
    with pytest.raises(HashFormatError, match=reason) as caught:
        regions_from_payload(damage(_payload(regions)), "signal 7")
    assert caught.value.message.startswith("signal 7: ")
