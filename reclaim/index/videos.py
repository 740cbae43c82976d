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
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reclaim.hashing.keypoints import hamming_matrix
from reclaim.hashing.video import (
    DENSE_GAP,
    DISTANCE_THRESHOLD,
    QUALITY_THRESHOLD,
    QUERY_MATCH_PERCENT,
    TARGET_MATCH_PERCENT,
    FrameHash,
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


class VideoIndex:
    """Registered videos' frames under int ids; not thread-safe (the matcher guards it)."""

    def __init__(self) -> None:
        self._index = HammingIndex()
        # Each video's frames as its signal's payload (about 80 bytes a frame, where
        # frame objects took several hundred), and the ids of its unique good frames.
        self._payloads: dict[int, bytes] = {}
        self._frame_ids: dict[int, NDArray[np.int64]] = {}
        self._owner: dict[int, int] = {}  # frame id -> video id
        self._group: dict[int, int] = {}
        self._next_frame = 0
        # Videos sampled further apart than key-frame queries need.
        self._sparse: set[int] = set()

    def __len__(self) -> int:
        return len(self._payloads)

    def __contains__(self, ident: object) -> bool:
        return ident in self._payloads

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
            ids = np.arange(self._next_frame, self._next_frame + len(codes), dtype=np.int64)
            self._next_frame += len(codes)
            if len(codes):
                self._index.add(ids, codes)
            self._payloads[ident] = frames_payload(frames)
            self._frame_ids[ident] = ids
            self._owner.update(dict.fromkeys(ids.tolist(), ident))
            self._group[ident] = groups.get(ident, 0) if groups else 0
            if _sampling_gap(frames) > DENSE_GAP:
                self._sparse.add(ident)

    def remove(self, idents: Iterable[int]) -> None:
        """Forget these ids (unknown ones are ignored); their frames stop matching at once."""
        for ident in idents:
            if ident not in self._payloads:
                continue
            ids = self._frame_ids.pop(ident)
            if len(ids):
                self._index.remove(ids)
            for frame_id in ids.tolist():
                del self._owner[frame_id]
            del self._payloads[ident], self._group[ident]
            self._sparse.discard(ident)

    @property
    def dense(self) -> bool:
        """Whether every video held was sampled at most ``DENSE_GAP`` seconds apart, so a
        query sampled at its key frames finds a registered frame near each of them."""
        return not self._sparse

    def payloads(self) -> Iterable[tuple[int, bytes]]:
        """Every (id, payload) held: the frames as ``video.frames_payload`` writes them."""
        yield from self._payloads.items()

    def search(
        self,
        query: Sequence[FrameHash],
        *,
        alternatives: Sequence[FrameHash | None] = (),
        spans: Sequence[float] = (),
        distance: int = DISTANCE_THRESHOLD,
        query_threshold: float = QUERY_MATCH_PERCENT,
        target_threshold: float = TARGET_MATCH_PERCENT,
        groups: Collection[int] | None = None,
    ) -> list[VideoMatch]:
        """The videos whose frames and the query's match by vPDQ's rules (each percentage
        at or above its threshold), best first; only videos of ``groups`` if given.
        ``alternatives[k]``, where given, is another hash of query frame ``k`` (its
        picture inside black bars): the frame matches by either."""
        rows = _QueryRows(query, alternatives, spans)
        if not rows.count or not len(self._index):
            return []
        query_hits: dict[int, set[int]] = {}
        target_hits: dict[int, set[int]] = {}
        found = self._index.search(rows.codes, distance)
        for code_rows, hits in zip(rows.rows_of, found, strict=True):
            for frame_id, _ in hits:
                ident = self._owner[frame_id]
                query_hits.setdefault(ident, set()).update(code_rows)
                target_hits.setdefault(ident, set()).add(frame_id)
        matches = []
        for ident, hit_rows in query_hits.items():
            if groups is not None and self._group[ident] not in groups:
                continue
            query_percent = rows.percent(hit_rows)
            target_percent = 100.0 * len(target_hits[ident]) / len(self._frame_ids[ident])
            if query_percent >= query_threshold and target_percent >= target_threshold:
                matches.append(VideoMatch(ident, query_percent, target_percent))
        return _ranked(matches)

    def search_reference(
        self,
        query: Sequence[FrameHash],
        *,
        alternatives: Sequence[FrameHash | None] = (),
        spans: Sequence[float] = (),
        distance: int = DISTANCE_THRESHOLD,
        query_threshold: float = QUERY_MATCH_PERCENT,
        target_threshold: float = TARGET_MATCH_PERCENT,
        groups: Collection[int] | None = None,
    ) -> list[VideoMatch]:
        """``search`` by comparing the query with every video held (the plain form):
        without alternatives, ``video.match_frames``."""
        rows = _QueryRows(query, alternatives, spans)
        matches = []
        for ident, payload in self._payloads.items():
            if groups is not None and self._group[ident] not in groups:
                continue
            target = unique_codes(frames_from_payload(payload))
            if not rows.count or not len(target):
                continue
            near = hamming_matrix(rows.codes, target) <= distance  # (codes, target frames)
            hit_rows = {row for code, code_rows in enumerate(rows.rows_of)
                        if near[code].any() for row in code_rows}  # fmt: skip
            query_percent = rows.percent(hit_rows)
            target_percent = 100.0 * int(near.any(axis=0).sum()) / len(target)
            if (
                query_percent > 0
                and query_percent >= query_threshold
                and (target_percent >= target_threshold)
            ):
                matches.append(VideoMatch(ident, query_percent, target_percent))
        return _ranked(matches)


class _QueryRows:
    """A query's frames as vPDQ counts them (one row per distinct hash of good quality)
    and the codes to search for them: each row's own hash and its frames' alternatives
    (one code may stand for several rows)."""

    def __init__(
        self,
        query: Sequence[FrameHash],
        alternatives: Sequence[FrameHash | None],
        spans: Sequence[float],
    ):
        if spans and len(spans) != len(query):
            raise ValueError(f"{len(spans)} spans for {len(query)} query frames")
        row_of: dict[str, int] = {}
        rows_of_code: dict[str, set[int]] = {}
        row_spans: dict[int, list[float]] = {}
        for number, frame in enumerate(query):
            if frame.pdq.quality < QUALITY_THRESHOLD:
                continue
            row = row_of.setdefault(frame.pdq.hex, len(row_of))
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


def _sampling_gap(frames: Sequence[FrameHash]) -> float:
    """The mean seconds between a video's sampled frames (from the first and last
    timestamps: the text form keeps three significant digits, so neighbours' differences
    are coarse in long videos); 0 for a single frame."""
    if len(frames) < 2:
        return 0.0
    times = [frame.timestamp for frame in frames]
    return (max(times) - min(times)) / (len(frames) - 1)


def _ranked(matches: list[VideoMatch]) -> list[VideoMatch]:
    return sorted(matches, key=lambda m: (-m.query_percent, -m.target_percent, m.ident))
