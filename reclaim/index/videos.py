"""An index of registered videos' frames, matched by vPDQ's rules.

Each registered video keeps its unique frame hashes of good enough quality (vPDQ drops
frames below ``QUALITY_THRESHOLD`` and counts each hash once); all of them together sit in
one Hamming index (``HammingIndex``), each frame under an id of its own that names its
video. A query video's frames are searched within the distance threshold once, and the
hits give, per video they touch, both of vPDQ's percentages: the share of the query's
frames with a hit in that video, and the share of that video's frames hit. No video
without a hit is looked at, so a search costs about one PDQ search per query frame.
``search_reference`` is the plain form: every video compared with the query, frame
against frame (without alternatives, what ``video.match_frames`` gives).

A video's region hashes (``hashing.regions``, a ``video_regions`` signal) are held as a
video of their own: each of its distinct frames is one target row, found through its
whole and crop hashes (in the same index as vPDQ's frames), its top band (an index of
its own), or its quadrants (one index per quadrant finds the frames with a good quadrant
near the query's; ``MIN_QUADRANTS`` of the four are then counted frame against frame).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reclaim.hashing.keypoints import hamming_matrix
from reclaim.hashing.regions import (
    BAND,
    CROP_COLUMNS,
    MIN_QUADRANTS,
    QUADRANT_COLUMNS,
    QUADRANT_QUALITY,
    WHOLE,
    VideoRegions,
    distinct_rows,
    quality_floor,
    regions_from_payload,
    regions_payload,
)
from reclaim.hashing.video import (
    DENSE_GAP,
    DISTANCE_THRESHOLD,
    QUALITY_THRESHOLD,
    QUERY_MATCH_PERCENT,
    TARGET_MATCH_PERCENT,
    FrameHash,
    VideoQuery,
    frames_from_payload,
    frames_payload,
    unique_codes,
)
from reclaim.index.mih import HammingIndex


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A registered video a query matched, with vPDQ's two percentages."""

    ident: int
    query_percent: float
    target_percent: float
    #: Whether the match is with a video's region hashes (a ``video_regions`` signal).
    by_regions: bool = False
    #: How many of the registered video's distinct frames the query matched.
    target_frames: int = 0


class VideoIndex:
    """Registered videos' frames under int ids; not thread-safe (the matcher guards it)."""

    def __init__(self) -> None:
        self._index = HammingIndex()
        # Regions lists' good quadrants and top bands, an index per place, each under its
        # frame's row id.
        self._placed = {column: HammingIndex() for column in (*QUADRANT_COLUMNS, BAND)}
        # Each vPDQ list's frames as its signal's payload (about 80 bytes a frame, where
        # frame objects took several hundred); each regions list's arrays. And the ids of
        # their codes: a vPDQ list's unique good frames; a regions list's whole and
        # crop (centre and corner) hashes.
        self._payloads: dict[int, bytes] = {}
        self._regions: dict[int, VideoRegions] = {}
        self._frame_ids: dict[int, NDArray[np.int64]] = {}
        self._owner: dict[int, int] = {}  # code id -> video id
        # A regions list's code id -> the id of its frame's row (its whole hash's id);
        # any other code is a row of its own.
        self._row_of: dict[int, int] = {}
        self._frame_of: dict[int, int] = {}  # a regions list's row id -> its frame
        self._rows: dict[int, int] = {}  # video id -> rows a target share counts
        self._placed_ids: dict[int, dict[int, NDArray[np.int64]]] = {}
        self._group: dict[int, int] = {}
        self._next_frame = 0
        # Videos sampled further apart than key-frame queries need.
        self._sparse: set[int] = set()

    def __len__(self) -> int:
        return len(self._payloads) + len(self._regions)

    def __contains__(self, ident: object) -> bool:
        return ident in self._payloads or ident in self._regions

    def add(
        self,
        items: Iterable[tuple[int, Sequence[FrameHash]]],
        groups: Mapping[int, int] | None = None,
    ) -> None:
        """Register videos' frames under ids (an id already held is replaced); ``groups``
        puts ids in groups (the matcher's banks), so a search can be kept to some."""
        for ident, frames in items:
            self.remove([ident])
            codes = unique_codes(frames)
            ids = self._new_ids(len(codes))
            if len(codes):
                self._index.add(ids, codes)
            self._payloads[ident] = frames_payload(frames)
            self._hold(ident, ids, len(codes), [frame.timestamp for frame in frames], groups)

    def add_regions(
        self,
        items: Iterable[tuple[int, VideoRegions]],
        groups: Mapping[int, int] | None = None,
    ) -> None:
        """Register videos' region hashes under ids (as ``add`` registers vPDQ frames):
        each distinct frame matches through its whole and crop hashes, its top band or
        its quadrants."""
        for ident, regions in items:
            self.remove([ident])
            rows = distinct_rows(regions)
            row_ids = self._new_ids(len(rows))
            ids = [row_ids]
            if len(rows):
                self._index.add(row_ids, regions.codes[rows, WHOLE])
            self._frame_of.update(zip(row_ids.tolist(), rows.tolist(), strict=True))
            for column in CROP_COLUMNS:
                good = regions.quality[rows, column] >= QUALITY_THRESHOLD
                crop_ids = self._new_ids(int(good.sum()))
                if len(crop_ids):
                    self._index.add(crop_ids, regions.codes[rows[good], column])
                self._row_of.update(zip(crop_ids.tolist(), row_ids[good].tolist(), strict=True))
                ids.append(crop_ids)
            placed = {}
            for column, index in self._placed.items():
                good = regions.quality[rows, column] >= quality_floor(column)
                if good.any():
                    index.add(row_ids[good], regions.codes[rows[good], column])
                placed[column] = row_ids[good]
            self._placed_ids[ident] = placed
            self._regions[ident] = regions
            self._hold(ident, np.concatenate(ids), len(rows), regions.timestamps.tolist(), groups)

    def _new_ids(self, count: int) -> NDArray[np.int64]:
        ids = np.arange(self._next_frame, self._next_frame + count, dtype=np.int64)
        self._next_frame += count
        return ids

    def _hold(
        self,
        ident: int,
        ids: NDArray[np.int64],
        rows: int,
        times: Sequence[float],
        groups: Mapping[int, int] | None,
    ) -> None:
        self._frame_ids[ident] = ids
        self._rows[ident] = rows
        self._owner.update(dict.fromkeys(ids.tolist(), ident))
        self._group[ident] = groups.get(ident, 0) if groups else 0
        if _sampling_gap(times) > DENSE_GAP:
            self._sparse.add(ident)

    def remove(self, idents: Iterable[int]) -> None:
        """Forget these ids (unknown ones are ignored); their frames stop matching at once."""
        for ident in idents:
            if ident not in self:
                continue
            ids = self._frame_ids.pop(ident)
            if len(ids):
                self._index.remove(ids)
            for frame_id in ids.tolist():
                del self._owner[frame_id]
                self._row_of.pop(frame_id, None)
                self._frame_of.pop(frame_id, None)
            for column, placed_ids in self._placed_ids.pop(ident, {}).items():
                if len(placed_ids):
                    self._placed[column].remove(placed_ids)
            self._payloads.pop(ident, None)
            self._regions.pop(ident, None)
            del self._group[ident], self._rows[ident]
            self._sparse.discard(ident)

    @property
    def holds_regions(self) -> bool:
        """Whether any regions list is held (a query's own regions can match only then)."""
        return bool(self._regions)

    @property
    def dense(self) -> bool:
        """Whether every video held was sampled at most ``DENSE_GAP`` seconds apart, so a
        query sampled at its key frames finds a registered frame near each of them."""
        return not self._sparse

    def payloads(self) -> Iterable[tuple[int, bytes]]:
        """Every vPDQ list's (id, payload): the frames as ``video.frames_payload`` writes
        them."""
        yield from self._payloads.items()

    def region_payloads(self) -> Iterable[tuple[int, bytes]]:
        """Every regions list's (id, payload), as ``regions.regions_payload`` writes it."""
        yield from ((i, regions_payload(r)) for i, r in self._regions.items())

    def search(
        self,
        query: Sequence[FrameHash],
        *,
        alternatives: Sequence[FrameHash | None] = (),
        spans: Sequence[float] = (),
        regions: VideoRegions | None = None,
        distance: int = DISTANCE_THRESHOLD,
        query_threshold: float = QUERY_MATCH_PERCENT,
        target_threshold: float = TARGET_MATCH_PERCENT,
        groups: Collection[int] | None = None,
    ) -> list[VideoMatch]:
        """The videos whose frames and the query's match by vPDQ's rules (each percentage
        at or above its threshold), best first; only videos of ``groups`` if given.
        ``alternatives[k]``, where given, is another hash of query frame ``k`` (its
        picture inside black bars): the frame matches by either. ``regions``, where
        given, are the query frames' region hashes: held regions lists match by their
        top bands and quadrants too (without them, by whole and crop hashes alone)."""
        rows = _QueryRows(query, alternatives, spans, regions)
        if not rows.count or not len(self._index):
            return []
        query_hits: dict[int, set[int]] = {}
        target_hits: dict[int, set[int]] = {}
        found = self._index.search(rows.codes, distance)
        for code_rows, hits in zip(rows.rows_of, found, strict=True):
            for frame_id, _ in hits:
                ident = self._owner[frame_id]
                query_hits.setdefault(ident, set()).update(code_rows)
                target_hits.setdefault(ident, set()).add(self._row_of.get(frame_id, frame_id))
        for row, target_row in self._placed_pairs(rows, distance):
            ident = self._owner[target_row]
            query_hits.setdefault(ident, set()).add(row)
            target_hits.setdefault(ident, set()).add(target_row)
        matches = []
        for ident, hit_rows in query_hits.items():
            if groups is not None and self._group[ident] not in groups:
                continue
            query_percent = rows.percent(hit_rows)
            hit = len(target_hits[ident])
            target_percent = 100.0 * hit / self._rows[ident]
            if (
                query_percent > 0
                and query_percent >= query_threshold
                and target_percent >= target_threshold
            ):
                by_regions = ident in self._regions
                matches.append(VideoMatch(ident, query_percent, target_percent, by_regions, hit))
        return _ranked(matches)

    def search_query(
        self, query: VideoQuery, query_threshold: float, groups: Collection[int] | None
    ) -> list[VideoMatch]:
        """``search`` for a video's frames as ``video.fingerprint_video`` gives them
        (``VideoFingerprint.query``): with their alternatives, spans and regions."""
        return self.search(
            query.frames,
            alternatives=query.trimmed,
            spans=query.spans,
            regions=query.regions,
            query_threshold=query_threshold,
            groups=groups,
        )

    def _placed_pairs(self, rows: _QueryRows, distance: int) -> set[tuple[int, int]]:
        """The (query row, regions list's row) pairs that match by top band or quadrants."""
        pairs: set[tuple[int, int]] = set()
        candidates: set[tuple[int, int]] = set()  # with a good quadrant near on both sides
        for column, index in self._placed.items():
            query_rows, codes = rows.placed(column)
            if not len(index) or not len(codes):
                continue
            found = pairs if column == BAND else candidates
            for row, hits in zip(query_rows, index.search(codes, distance), strict=True):
                found.update((row, target_row) for target_row, _ in hits)
        for row, target_row in candidates - pairs:
            regions = self._regions[self._owner[target_row]]
            target = regions.codes[self._frame_of[target_row], list(QUADRANT_COLUMNS)]
            if rows.quadrants_near(row, target, distance) >= MIN_QUADRANTS:
                pairs.add((row, target_row))
        return pairs

    def search_reference(
        self,
        query: Sequence[FrameHash],
        *,
        alternatives: Sequence[FrameHash | None] = (),
        spans: Sequence[float] = (),
        regions: VideoRegions | None = None,
        distance: int = DISTANCE_THRESHOLD,
        query_threshold: float = QUERY_MATCH_PERCENT,
        target_threshold: float = TARGET_MATCH_PERCENT,
        groups: Collection[int] | None = None,
    ) -> list[VideoMatch]:
        """``search`` by comparing the query with every video held (the plain form):
        without alternatives, ``video.match_frames``."""
        rows = _QueryRows(query, alternatives, spans, regions)
        matches = []
        held = [*self._payloads.items(), *self.region_payloads()]
        for ident, payload in held:
            if groups is not None and self._group[ident] not in groups:
                continue
            by_regions = ident in self._regions
            if by_regions:
                near = _region_pairs(rows, regions_from_payload(payload), distance)
            else:
                target = unique_codes(frames_from_payload(payload))
                near = hamming_matrix(rows.codes, target) <= distance
                near = _by_row(rows, near)
            if not rows.count or not near.shape[1]:
                continue
            query_percent = rows.percent(np.flatnonzero(near.any(axis=1)).tolist())
            hit = int(near.any(axis=0).sum())
            target_percent = 100.0 * hit / near.shape[1]
            if (
                query_percent > 0
                and query_percent >= query_threshold
                and (target_percent >= target_threshold)
            ):
                matches.append(VideoMatch(ident, query_percent, target_percent, by_regions, hit))
        return _ranked(matches)


def _region_pairs(rows: _QueryRows, target: VideoRegions, distance: int) -> NDArray[np.bool_]:
    """Which (query row, target row) pairs match by a regions list's rules, frame against
    frame: a query code near the target frame's whole or crop hash, the query row's top
    band near the target frame's, or enough of the query row's quadrants near the target
    frame's in the same places, one of them of good quality on both sides."""
    target_rows = distinct_rows(target)
    near = np.zeros((rows.count, len(target_rows)), bool)
    for column in (WHOLE, *CROP_COLUMNS):
        good = target.quality[target_rows, column] >= QUALITY_THRESHOLD
        near |= _by_row(
            rows, (hamming_matrix(rows.codes, target.codes[target_rows, column]) <= distance) & good
        )
    query_rows, codes = rows.placed(BAND)
    if len(codes):
        good = target.quality[target_rows, BAND] >= QUALITY_THRESHOLD
        near[query_rows] |= (
            hamming_matrix(codes, target.codes[target_rows, BAND]) <= distance
        ) & good
    close = np.zeros(near.shape, np.int64)
    good_close = np.zeros(near.shape, np.int64)
    for column in QUADRANT_COLUMNS:
        codes, good = rows.every(column)
        if not len(codes):
            break
        near_here = hamming_matrix(codes, target.codes[target_rows, column]) <= distance
        close += near_here
        target_good = target.quality[target_rows, column] >= QUADRANT_QUALITY
        good_close += near_here & good[:, None] & target_good[None, :]
    return near | ((close >= MIN_QUADRANTS) & (good_close >= 1))


def _by_row(rows: _QueryRows, near: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Pairs of (query code, target) as pairs of (query row, target)."""
    by_row = np.zeros((rows.count, near.shape[1]), bool)
    for code, code_rows in enumerate(rows.rows_of):
        by_row[sorted(code_rows)] |= near[code]
    return by_row


class _QueryRows:
    """A query's frames as vPDQ counts them (one row per distinct hash of good quality)
    and the codes to search for them: each row's own hash and its frames' alternatives
    (one code may stand for several rows); with the frames' region hashes, each row's
    quadrants (those of the first frame bearing its hash)."""

    def __init__(
        self,
        query: Sequence[FrameHash],
        alternatives: Sequence[FrameHash | None],
        spans: Sequence[float],
        regions: VideoRegions | None = None,
    ):
        if spans and len(spans) != len(query):
            raise ValueError(f"{len(spans)} spans for {len(query)} query frames")
        if regions is not None and len(regions) != len(query):
            raise ValueError(f"{len(regions)} frames' regions for {len(query)} query frames")
        self._regions = regions
        row_of: dict[str, int] = {}
        self._first: dict[int, int] = {}  # row -> the first frame bearing its hash
        rows_of_code: dict[str, set[int]] = {}
        row_spans: dict[int, list[float]] = {}
        for number, frame in enumerate(query):
            if frame.pdq.quality < QUALITY_THRESHOLD:
                continue
            row = row_of.setdefault(frame.pdq.hex, len(row_of))
            self._first.setdefault(row, number)
            rows_of_code.setdefault(frame.pdq.hex, set()).add(row)
            if spans:
                row_spans.setdefault(row, []).append(spans[number])
            other = alternatives[number] if number < len(alternatives) else None
            if other is not None and other.pdq.quality >= QUALITY_THRESHOLD:
                rows_of_code.setdefault(other.pdq.hex, set()).add(row)
        self.count = len(row_of)
        # Each row weighs the mean time its frames stand for (a hash seen twice is still
        # one row, as vPDQ counts it); without spans, one each: vPDQ's count of frames.
        self.weights = np.array(
            [float(np.mean(row_spans[row])) if spans else 1.0 for row in range(self.count)]
        )
        if spans and not self.weights.sum() > 0:
            self.weights = np.ones(self.count)
        hexes = sorted(rows_of_code)
        self.rows_of = [rows_of_code[code] for code in hexes]
        self.codes = (
            np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(-1, 32).copy()
            if hexes
            else np.zeros((0, 32), np.uint8)
        )

    def every(self, column: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
        """Each row's hash of region ``column`` (none without the query's regions), and
        whether it is of the quality that region needs (``regions.quality_floor``)."""
        if self._regions is None:
            return np.zeros((0, 32), np.uint8), np.zeros(0, bool)
        frames = np.array([self._first[row] for row in range(self.count)], np.int64)
        good = self._regions.quality[frames, column] >= quality_floor(column)
        return self._regions.codes[frames, column], good

    def placed(self, column: int) -> tuple[list[int], NDArray[np.uint8]]:
        """The rows whose hash of region ``column`` is of the quality it needs, and those
        hashes."""
        codes, good = self.every(column)
        return np.flatnonzero(good).tolist(), codes[good]

    def quadrants_near(self, row: int, target: NDArray[np.uint8], distance: int) -> int:
        """How many of the row's quadrants lie within ``distance`` of ``target``'s (its
        four quadrants' codes, in place order), whatever their quality."""
        assert self._regions is not None  # a row has a quadrant near only with regions
        mine = self._regions.codes[self._first[row], list(QUADRANT_COLUMNS)]
        bits = np.unpackbits(np.bitwise_xor(mine, target), axis=1).sum(axis=1)
        return int((bits <= distance).sum())

    def percent(self, rows: Collection[int]) -> float:
        """The share of the query, in percent, that these rows make up."""
        return 100.0 * float(self.weights[list(rows)].sum()) / float(self.weights.sum())


def merge_video_matches(*looks: Iterable[VideoMatch]) -> list[VideoMatch]:
    """The matches of several looks at one query, each video once (its best look)."""
    best: dict[int, VideoMatch] = {}
    for match in (m for look in looks for m in look):
        held = best.get(match.ident)
        if held is None or (match.query_percent, match.target_percent) > (
            held.query_percent,
            held.target_percent,
        ):
            best[match.ident] = match
    return _ranked(list(best.values()))


def _sampling_gap(times: Sequence[float]) -> float:
    """The mean seconds between a video's sampled frames (from the first and last
    timestamps: the text form keeps three significant digits, so neighbours' differences
    are coarse in long videos); 0 for a single frame."""
    if len(times) < 2:
        return 0.0
    return (max(times) - min(times)) / (len(times) - 1)


def _ranked(matches: list[VideoMatch]) -> list[VideoMatch]:
    return sorted(matches, key=lambda m: (-m.query_percent, -m.target_percent, m.ident))
