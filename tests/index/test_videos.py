"""The video frame index: the same matches as comparing with every video, found fast."""

from __future__ import annotations

import numpy as np
import pytest

from reclaim.hashing.base import PdqHash
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
    assert index.search(query) == [VideoMatch(2, 100.0, 100.0)]
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
