"""The video frame index: the same matches as comparing with every video, found fast."""

from __future__ import annotations

import numpy as np
import pytest

from reclaim.hashing.base import PdqHash
from reclaim.hashing.regions import (
    BAND,
    CENTRE_COLUMNS,
    HASHES_PER_FRAME,
    QUADRANT_COLUMNS,
    QUADRANT_QUALITY,
    WHOLE,
    VideoRegions,
    regions_from_payload,
)
from reclaim.hashing.video import FrameHash, match_frames
from reclaim.index.videos import VideoIndex, VideoMatch


def _frames(codes: np.ndarray, quality: int = 100) -> list[FrameHash]:
    return [
        FrameHash(PdqHash(bytes(code).hex(), quality), float(n)) for n, code in enumerate(codes)
    ]


def _flipped(codes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    out = codes.copy()
    for row in out:
        for bit in rng.choice(256, bits, replace=False):
            row[bit // 8] ^= 1 << (bit % 8)
    return out


@pytest.fixture
def library() -> tuple[VideoIndex, dict[int, np.ndarray]]:
    rng = np.random.default_rng(11)
    videos = {ident: rng.integers(0, 256, (int(rng.integers(5, 40)), 32), dtype=np.uint8)
              for ident in range(1, 31)}  # fmt: skip
    index = VideoIndex()
    index.add(((ident, _frames(codes)) for ident, codes in videos.items()), {1: 7, 2: 7})
    return index, videos


def test_search_equals_comparing_with_every_video(
    library: tuple[VideoIndex, dict[int, np.ndarray]],
) -> None:
    index, videos = library
    rng = np.random.default_rng(12)
    for ident, codes in list(videos.items())[:10]:
        # A clip: part of one video's frames, a few bits off, and some unrelated frames.
        kept = codes[: max(2, len(codes) // 2)]
        noise = rng.integers(0, 256, (int(rng.integers(0, 4)), 32), dtype=np.uint8)
        query = _frames(np.concatenate([_flipped(kept, 12, rng), noise]))
        for threshold in (0.0, 50.0, 80.0):
            fast = index.search(query, query_threshold=threshold)
            assert fast == index.search_reference(query, query_threshold=threshold)
        best = index.search(query, query_threshold=0.0)[0]
        assert best.ident == ident
        assert best.query_percent == pytest.approx(100 * len(kept) / (len(kept) + len(noise)))
        assert best.target_percent == pytest.approx(100 * len(kept) / len(codes))


def test_thresholds_distance_and_quality_follow_vpdq(
    library: tuple[VideoIndex, dict[int, np.ndarray]],
) -> None:
    index, videos = library
    rng = np.random.default_rng(13)
    codes = videos[5]
    assert index.search(_frames(_flipped(codes, 31, rng)))[0].ident == 5
    assert index.search(_frames(_flipped(codes, 40, rng))) == []
    assert index.search(_frames(codes, quality=49)) == []
    # Every query frame matches; the target is only a quarter covered.
    quarter = codes[: len(codes) // 4]
    match = index.search(_frames(quarter))[0]
    assert match.ident == 5 and match.query_percent == 100.0
    assert index.search(_frames(quarter), target_threshold=50.0) == []


def test_videos_are_replaced_removed_and_kept_to_their_groups(
    library: tuple[VideoIndex, dict[int, np.ndarray]],
) -> None:
    index, videos = library
    query = _frames(videos[1])
    assert [m.ident for m in index.search(query)] == [1]
    assert index.search(query, groups={0}) == [] and index.search(query, groups={7})
    index.remove([1, 999])
    assert 1 not in index and len(index) == 29 and index.search(query) == []
    index.add([(2, query)])  # id 2 now holds video 1's frames
    assert index.search(query) == [VideoMatch(2, 100.0, 100.0, target_frames=len(videos[1]))]
    index.add([(3, _frames(videos[3], quality=10))])  # nothing it holds can match
    assert 3 in index and index.search(_frames(videos[3])) == []


def test_alternatives_let_a_frame_match_by_either_hash(
    library: tuple[VideoIndex, dict[int, np.ndarray]],
) -> None:
    index, videos = library
    rng = np.random.default_rng(14)
    codes = videos[6]
    plain = _frames(rng.integers(0, 256, codes.shape, dtype=np.uint8))  # nothing like it
    inside = _frames(_flipped(codes, 8, rng))  # what the picture inside bars hashes to
    assert index.search(plain) == []
    found = index.search(plain, alternatives=inside)
    assert [m.ident for m in found] == [6] and found[0].query_percent == 100.0
    assert found == index.search_reference(plain, alternatives=inside)
    # Half the frames have no alternative: half the query matches.
    kept = len(inside) // 2
    half: list[FrameHash | None] = [*inside[:kept], *[None] * (len(inside) - kept)]
    partial = index.search(plain, alternatives=half, query_threshold=0.0)
    assert partial == index.search_reference(plain, alternatives=half, query_threshold=0.0)
    assert partial[0].query_percent == pytest.approx(100 * kept / len(inside))


def test_the_plain_form_is_vpdqs_match_frames(
    library: tuple[VideoIndex, dict[int, np.ndarray]],
) -> None:
    index, videos = library
    rng = np.random.default_rng(15)
    query = _frames(np.concatenate([_flipped(videos[9][:4], 10, rng), videos[10][:3]]))
    for match in index.search_reference(query, query_threshold=0.0):
        expected = match_frames(query, _frames(videos[match.ident]))
        assert (match.query_percent, match.target_percent) == pytest.approx(
            (expected.query_percent, expected.target_percent)
        )


def test_spans_weigh_each_query_frame_by_the_time_it_stands_for(
    library: tuple[VideoIndex, dict[int, np.ndarray]],
) -> None:
    index, videos = library
    rng = np.random.default_rng(16)
    unrelated = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    query = _frames(np.concatenate([_flipped(videos[6][:3], 8, rng), unrelated]))
    counted = index.search(query, query_threshold=0.0)
    assert counted[0].ident == 6 and counted[0].query_percent == 75.0
    # The unrelated frame stands for half the query's time: half the query matches.
    timed = index.search(query, spans=(1.0, 1.0, 1.0, 3.0), query_threshold=0.0)
    assert timed[0].ident == 6 and timed[0].query_percent == 50.0
    assert timed[0].target_percent == counted[0].target_percent
    assert timed == index.search_reference(query, spans=(1.0, 1.0, 1.0, 3.0), query_threshold=0.0)
    # Even spans count each frame once, as vPDQ does.
    assert index.search(query, spans=(2.0,) * 4, query_threshold=0.0) == counted
    with pytest.raises(ValueError, match="3 spans for 4 query frames"):
        index.search(query, spans=(1.0, 1.0, 1.0))


def test_the_index_is_dense_while_every_video_is_sampled_at_most_the_dense_gap_apart() -> None:
    def sampled(every: float, count: int = 10) -> list[FrameHash]:
        rng = np.random.default_rng(17)
        codes = rng.integers(0, 256, (count, 32), dtype=np.uint8)
        return [
            FrameHash(PdqHash(bytes(code).hex(), 100), n * every) for n, code in enumerate(codes)
        ]

    index = VideoIndex()
    assert index.dense  # nothing held: a key-frame query loses nothing
    index.add([(1, sampled(0.5)), (2, sampled(0.467)), (3, sampled(0.0, count=1))])
    assert index.dense
    index.add([(4, sampled(1.0))])  # vPDQ's one a second: key frames would fall between
    assert not index.dense
    index.remove([4])
    assert index.dense


# --- region hashes ----------------------------------------------------------------------


def _regions(
    codes: np.ndarray, quality: np.ndarray | int = 100, every: float = 0.25
) -> VideoRegions:
    """Regions of ``codes`` ((frames, HASHES_PER_FRAME, 32)) sampled ``every`` s apart."""
    return VideoRegions(
        np.arange(len(codes), dtype=np.float64) * every,
        codes,
        np.broadcast_to(np.asarray(quality, np.uint8), codes.shape[:2]).copy(),
    )


def _random_regions(rng: np.random.Generator, frames: int) -> np.ndarray:
    return rng.integers(0, 256, (frames, HASHES_PER_FRAME, 32), dtype=np.uint8)


#: How each query frame is made from a registered frame: its whole hash near the
#: registered whole hash or a centre's (a cropped copy); three or two quadrants near
#: (a marked copy), the rest unrelated; or nothing like it; or its top band near (a
#: subtitled copy).
_MODES = ("whole", "centre", "three quadrants", "two quadrants", "unrelated", "band")


def _copy_of(
    target: np.ndarray, modes: list[str], rng: np.random.Generator
) -> tuple[list[FrameHash], VideoRegions]:
    codes = _random_regions(rng, len(modes))
    for number, mode in enumerate(modes):
        frame = target[number % len(target)]
        if mode == "whole":
            codes[number, WHOLE] = _flipped(frame[WHOLE][None], 10, rng)[0]
        elif mode == "centre":
            column = CENTRE_COLUMNS[number % 2]
            codes[number, WHOLE] = _flipped(frame[column][None], 10, rng)[0]
        elif mode.endswith("quadrants"):
            near = 3 if mode.startswith("three") else 2
            for column in QUADRANT_COLUMNS[:near]:
                codes[number, column] = _flipped(frame[column][None], 10, rng)[0]
        elif mode == "band":
            codes[number, BAND] = _flipped(frame[BAND][None], 10, rng)[0]
    regions = _regions(codes, every=1.0)
    return regions.wholes(), regions


def test_regions_match_by_whole_centre_band_or_three_quadrants_as_the_plain_form_does() -> None:
    rng = np.random.default_rng(21)
    lists = {ident: _random_regions(rng, int(rng.integers(6, 30))) for ident in range(40, 60)}
    index = VideoIndex()
    index.add_regions((ident, _regions(codes)) for ident, codes in lists.items())
    index.add([(1, _frames(rng.integers(0, 256, (10, 32), dtype=np.uint8)))])  # a vPDQ list
    for ident in (40, 45, 59):
        modes = [_MODES[n % len(_MODES)] for n in range(10)]
        query, regions = _copy_of(lists[ident], modes, rng)
        for threshold in (0.0, 50.0, 80.0):
            fast = index.search(query, regions=regions, query_threshold=threshold)
            plain = index.search_reference(query, regions=regions, query_threshold=threshold)
            assert fast == plain
        [match] = index.search(query, regions=regions, query_threshold=0.0)
        # Whole, centre, band and three quadrants: 7 of the 10 frames (two quadrants are
        # not enough), each near a registered frame of its own.
        assert (match.ident, match.by_regions, match.query_percent) == (ident, True, 70.0)
        assert match.target_percent == pytest.approx(100 * 7 / len(lists[ident]))
        # Without the query's regions, quadrants cannot vote: whole and centres alone.
        [alone] = index.search(query, query_threshold=0.0)
        assert alone.query_percent == 40.0
        assert [alone] == index.search_reference(query, query_threshold=0.0)


def test_poor_region_hashes_never_match_or_vote() -> None:
    rng = np.random.default_rng(22)
    codes = _random_regions(rng, 4)
    index = VideoIndex()
    poor_centres = np.full(codes.shape[:2], 100, np.uint8)
    poor_centres[:, list(CENTRE_COLUMNS)] = 10
    index.add_regions([(1, _regions(codes, poor_centres))])
    query, regions = _copy_of(codes, ["centre"] * 4, rng)
    assert index.search(query, regions=regions, query_threshold=0.0) == []
    query, regions = _copy_of(codes, ["three quadrants"] * 4, rng)
    assert len(index.search(query, regions=regions)) == 1

    def poor(columns: list[int], to: int = 10) -> VideoRegions:
        quality = regions.quality.copy()
        quality[:, columns] = to
        return VideoRegions(regions.timestamps, regions.codes, quality)

    # Three quadrants near, only one of good quality (flat sky and wall): they count.
    flat = poor(list(QUADRANT_COLUMNS[:2]))
    assert len(index.search(query, regions=flat, query_threshold=0.0)) == 1
    assert index.search(query, regions=flat) == index.search_reference(query, regions=flat)
    # Three near, none of good quality: nothing counts. A dim quarter (quality 30 or more,
    # under vPDQ's 50) anchors them; a flat one does not.
    flattest = poor(list(QUADRANT_COLUMNS[:3]))
    assert index.search(query, regions=flattest, query_threshold=0.0) == []
    assert index.search_reference(query, regions=flattest, query_threshold=0.0) == []
    dim, flatter = (poor(list(QUADRANT_COLUMNS[:3]), to) for to in (QUADRANT_QUALITY, 25))
    assert (
        len(index.search(query, regions=dim))
        == len(index.search_reference(query, regions=dim))
        == 1
    )
    assert index.search(query, regions=flatter, query_threshold=0.0) == []
    # A band near but of poor quality counts no more than a poor centre.
    query, regions = _copy_of(codes, ["band"] * 4, rng)
    assert len(index.search(query, regions=regions)) == 1
    assert index.search(query, regions=poor([BAND]), query_threshold=0.0) == []
    with pytest.raises(ValueError, match="3 frames' regions for 4 query frames"):
        index.search(query, regions=_regions(regions.codes[:3]))


def test_regions_lists_are_removed_replaced_and_saved_apart_from_vpdq_lists() -> None:
    rng = np.random.default_rng(23)
    codes = _random_regions(rng, 8)
    index = VideoIndex()
    index.add_regions([(1, _regions(codes))])
    index.add([(2, _frames(codes[:, WHOLE]))])
    query, regions = _copy_of(codes, ["three quadrants"] * 8, rng)
    assert [m.ident for m in index.search(query, regions=regions)] == [1]
    assert [i for i, _ in index.region_payloads()] == [1] and [i for i, _ in index.payloads()] == [
        2
    ]
    held = dict(index.region_payloads())[1]
    assert np.array_equal(regions_from_payload(held).codes, codes)
    index.add_regions([(1, _regions(_random_regions(rng, 8)))])  # replaced: old frames gone
    assert index.search(query, regions=regions) == []
    index.remove([1])
    assert 1 not in index and list(index.region_payloads()) == []
    index.add_regions([(3, _regions(codes))])
    assert [m.ident for m in index.search(query, regions=regions)] == [3]
    # A regions list sampled a second apart makes the index sparse, as a vPDQ list does.
    index.remove([2])  # the vPDQ list: one frame a second
    assert index.dense
    index.add_regions([(4, _regions(codes, every=1.0))])
    assert not index.dense


def test_removing_every_video_leaves_nothing_behind() -> None:
    rng = np.random.default_rng(24)
    index = VideoIndex()
    index.add_regions(
        [(1, _regions(_random_regions(rng, 9))), (2, _regions(_random_regions(rng, 3)))]
    )
    index.add([(3, _frames(rng.integers(0, 256, (5, 32), dtype=np.uint8)))])
    index.add_regions([(1, _regions(_random_regions(rng, 4)))])  # replaced
    index.remove([1, 2, 3])
    assert len(index) == 0 and len(index._index) == 0
    assert not any(len(placed) for placed in index._placed.values())
    held = (index._owner, index._row_of, index._frame_of, index._placed_ids, index._rows,
            index._group, index._frame_ids, index._payloads, index._regions)  # fmt: skip
    assert not any(held) and index.dense and not index.holds_regions


def test_search_equals_its_plain_form_over_random_libraries_and_queries() -> None:
    """Regions and vPDQ lists mixed, replaced and removed; queries with repeated whole
    hashes (different quadrants), alternatives, spans, groups and poor hashes."""
    rng = np.random.default_rng(25)
    matched = 0
    for _ in range(40):
        index = VideoIndex()
        lists = {ident: _random_regions(rng, int(rng.integers(1, 12))) for ident in range(8)}
        qualities = {
            i: rng.choice([10, 35, 60, 100], codes.shape[:2]) for i, codes in lists.items()
        }
        groups = {ident: int(rng.integers(0, 3)) for ident in lists}
        for ident, codes in lists.items():
            if ident % 3:
                index.add_regions([(ident, _regions(codes, qualities[ident]))], groups)
            else:
                index.add([(ident, _frames(codes[:, WHOLE]))], groups)
        index.remove([int(rng.integers(0, 8))])
        target = lists[int(rng.integers(0, 8))]
        modes = [_MODES[int(m)] for m in rng.integers(0, len(_MODES), 8)]
        query, regions = _copy_of(target, modes, rng)
        query[3] = FrameHash(query[0].pdq, query[3].timestamp)  # a repeated whole hash
        regions.quality[:] = rng.choice([10, 35, 60, 100], regions.quality.shape)
        alternatives = [
            None if rng.random() < 0.5 else query[int(rng.integers(0, 8))] for _ in query
        ]
        spans = tuple(float(s) for s in rng.choice([0.5, 1.0, 3.0], len(query)))
        for threshold in (0.0, 50.0, 80.0):
            for chosen in (None, {0, 1}):
                found, plain = (
                    search(query, alternatives=alternatives, spans=spans, regions=regions,
                           query_threshold=threshold, groups=chosen)
                    for search in (index.search, index.search_reference)
                )  # fmt: skip
                matched += bool(found)
                assert found == plain
    assert matched >= 40  # of 240 searches: the comparison is not of empty lists
