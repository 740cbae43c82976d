"""An index of registered images' local features: descriptor votes pick candidates, and
geometric verification (``reclaim.hashing.keypoints.inliers``) decides.

Candidates: each 256-bit descriptor is cut into ``CHUNKS`` 32-bit pieces; the registered
descriptors sharing a piece with a query descriptor are its nominees, and it votes for
the image of its nearest nominee (within ``MAX_DESCRIPTOR_DISTANCE`` bits; withdrawn
images are passed over). Images tied for nearest share the vote, so an image registered
under two ids, as two banks may do, is found under both. The vote counts only when that
descriptor is clearly nearer than any other image's (``VOTE_RATIO``). A true copy's
corners mostly lie within 10-50 bits of their originals, so many share a whole piece,
and their votes gather on one image; unrelated images collect scattered chance votes.
Pieces that very many descriptors share (flat or regular patches) nominate nobody
(``CROWDED``); 16-bit pieces nominated a hundred times more descriptors for the same
recall. Of the images with the most votes, at least ``MIN_VOTES``, those whose votes
agree on a transform (``AGREEING_VOTES``) are verified.
``search_reference`` is the plain form: every query descriptor votes for the image of
its nearest registered descriptor (shared likewise, under the same ratio test), found by
brute force.

Registered features live in sorted segments, one per batch added; when there are more
than ``MAX_SEGMENTS``, the smaller ones are merged into one, or all of them (withdrawn
images dropped) once the smaller outweigh the largest, so adding is cheap and lookups
stay a few binary searches per piece.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from reclaim.hashing.keypoints import (
    MAX_DESCRIPTOR_DISTANCE,
    MIN_INLIERS,
    Features,
    agreeing_votes,
    hamming_matrix,
    inliers,
)
from reclaim.index.base import as_words
from reclaim.index.kernels import feature_nominees

CHUNKS: Final = 8
#: A piece shared by more registered descriptors than this casts no votes.
CROWDED: Final = 256
#: Votes an image needs before it is verified, and how many images are verified at most.
MIN_VOTES: Final = 5
CANDIDATES: Final = 10
#: Votes one of them must roughly place (``keypoints.agreeing_votes``) for an image to be
#: verified: at least ``AGREEING_VOTES`` and ``AGREEING_SHARE`` of them (many chance votes
#: agree by chance, a few), or half of them (a copy with few votes may still have many
#: inliers). Chance votes rarely agree, so most wrong candidates cost a glance; the
#: robustness benchmark with ``--set AGREEING_VOTES=0 --set AGREEING_SHARE=0`` verifies
#: every candidate, for comparison.
AGREEING_VOTES: Final = 5
AGREEING_SHARE: Final = 0.1
#: A vote counts only when its nearest descriptor is this much nearer than the nearest in
#: any other image (Lowe's ratio test, applied to votes): textures' descriptors resemble
#: many others, and without it their chance votes crowded true images out of the
#: candidates (the robustness benchmark's pairs measure the difference).
VOTE_RATIO: Final = 0.8
#: The other-image distance when none was found within MAX_DESCRIPTOR_DISTANCE.
NO_SECOND: Final = MAX_DESCRIPTOR_DISTANCE + 1


@dataclass(frozen=True, slots=True)
class FeatureMatch:
    """A registered image a query matched, and how many corners one transform explains."""

    ident: int
    inliers: int


@dataclass(frozen=True, slots=True)
class _Segment:
    words: NDArray[np.uint64]  # (m, 4): the descriptors
    owners: NDArray[np.int32]  # (m,): the image slot of each descriptor
    positions: NDArray[np.int32]  # (m,): each descriptor's place in its image's features
    keys: NDArray[np.uint32]  # (CHUNKS, m): each piece's values, sorted
    rows: NDArray[np.int32]  # (CHUNKS, m): the descriptor each sorted value comes from


class FeatureIndex:
    """Local features of registered images under int ids; not thread-safe (the matcher
    guards it with its lock)."""

    def __init__(self) -> None:
        self._slot_of: dict[int, int] = {}
        self._ident: list[int] = []
        self._group: list[int] = []
        self._features: list[Features | None] = []
        self._segments: list[_Segment] = []
        self._dead: set[int] = set()  # slots of removed ids, until the next merge

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, ident: object) -> bool:
        return ident in self._slot_of

    @property
    def descriptor_count(self) -> int:
        return sum(len(f) for f in self._features if f is not None)

    def add(
        self, items: Iterable[tuple[int, Features]], groups: Mapping[int, int] | None = None
    ) -> None:
        """Register features under ids; an id already held is replaced (an id given twice
        holds the later features). ``groups`` puts ids in groups (the matcher's banks), so
        a search can be kept to some of them; ids not in it are in group 0."""
        latest: dict[int, Features] = {}
        for ident, features in items:
            if len(features):
                latest[ident] = features
        batch = list(latest.items())
        if not batch:
            return
        self.remove([ident for ident, _ in batch])
        slots = []
        for ident, features in batch:
            slot = len(self._ident)
            self._ident.append(ident)
            self._group.append(groups.get(ident, 0) if groups else 0)
            self._features.append(features)
            self._slot_of[ident] = slot
            slots.append(slot)
        self._segments.append(self._segment(slots))
        if len(self._segments) > MAX_SEGMENTS:
            self._compact()

    def remove(self, idents: Iterable[int]) -> None:
        """Forget these ids (unknown ones are ignored); their votes stop at once."""
        for ident in idents:
            slot = self._slot_of.pop(ident, None)
            if slot is not None:
                self._features[slot] = None
                self._dead.add(slot)

    def features(self, ident: int) -> Features:
        """The registered features of ``ident`` (KeyError if not held)."""
        found = self._features[self._slot_of[ident]]
        assert found is not None  # a held id's slot always has features
        return found

    def items(self) -> Iterable[tuple[int, Features]]:
        """Every (id, features) held."""
        for ident, slot in self._slot_of.items():
            features = self._features[slot]
            if features is not None:
                yield ident, features

    # --- search ---------------------------------------------------------------------

    def search(
        self,
        views: Sequence[Features],
        min_inliers: int = MIN_INLIERS,
        groups: Collection[int] | None = None,
    ) -> list[FeatureMatch]:
        """Registered images that one of the query's ``views`` (the image, its mirror)
        matches with at least ``min_inliers`` inliers, most inliers first; only images of
        ``groups`` if given (others neither vote nor take a candidate's place)."""
        eligible = self._eligible(groups)
        votes = [self._votes(view.descriptors, eligible) for view in views]
        return self._verify(views, votes, min_inliers)

    def search_reference(
        self,
        views: Sequence[Features],
        min_inliers: int = MIN_INLIERS,
        groups: Collection[int] | None = None,
    ) -> list[FeatureMatch]:
        """``search`` with brute-force nearest-descriptor votes (the plain form)."""
        eligible = self._eligible(groups)
        votes = [self._votes_reference(view.descriptors, eligible) for view in views]
        return self._verify(views, votes, min_inliers)

    def _eligible(self, groups: Collection[int] | None) -> NDArray[np.bool_]:
        """Slots that may vote: held, and in ``groups`` when given."""
        eligible = np.ones(len(self._ident), bool)
        eligible[list(self._dead)] = False
        if groups is not None:
            eligible &= np.isin(np.array(self._group, np.int64), list(groups))
        return eligible

    def _verify(
        self, views: Sequence[Features], votes: Sequence[_Votes], min_inliers: int
    ) -> list[FeatureMatch]:
        best: dict[int, int] = {}
        for view, cast in zip(views, votes, strict=True):
            tally = cast.tally
            order = np.argsort(-tally, kind="stable")[:CANDIDATES]
            for slot in order[tally[order] >= MIN_VOTES].tolist():
                features = self._features[slot]
                if features is None:
                    continue
                query, position = cast.pairs(slot)
                agreeing = agreeing_votes(view, features, query, position)
                enough = agreeing >= max(AGREEING_VOTES, AGREEING_SHARE * len(query))
                if not enough and 2 * agreeing < len(query):
                    continue
                found = inliers(view, features)
                ident = self._ident[slot]
                if found >= min_inliers and found > best.get(ident, 0):
                    best[ident] = found
        matches = [FeatureMatch(ident, count) for ident, count in best.items()]
        return sorted(matches, key=lambda m: (-m.inliers, m.ident))

    def _votes(self, descriptors: NDArray[np.uint8], eligible: NDArray[np.bool_]) -> _Votes:
        """Per slot, how many query descriptors have their nearest found descriptor there
        (withdrawn slots are passed over; a vote tied between slots is shared)."""
        slots_total = len(self._ident)
        if not len(descriptors) or not slots_total:
            return _Votes.none(slots_total)
        pieces = _pieces(descriptors)  # (CHUNKS, n)
        words = as_words(descriptors)
        # Per query descriptor: nearest distance, its slot, nearest in another slot, tie.
        nearest = np.zeros((len(descriptors), 4), np.int64)
        nearest[:, 0], nearest[:, 1], nearest[:, 2] = MAX_DESCRIPTOR_DISTANCE + 1, -1, NO_SECOND
        found = [_nominees(segment, words, pieces, eligible, nearest) for segment in self._segments]
        query, bits, slot, position = (np.concatenate([f[i] for f in found]) for i in range(4))
        # A query descriptor votes for the image of the nearest descriptor it found, when
        # that is clearly nearer than any other image's (a shared piece only nominates;
        # unrelated photos share many, and textures' descriptors resemble many others).
        closest = nearest[query, 0]
        distinct = closest < VOTE_RATIO * nearest[query, 2]
        keep = (bits == closest) & distinct
        return _Votes.of(query[keep], slot[keep], position[keep], slots_total)

    def _votes_reference(
        self, descriptors: NDArray[np.uint8], eligible: NDArray[np.bool_]
    ) -> _Votes:
        slots_total = len(self._ident)
        held = [(slot, f) for slot, f in enumerate(self._features) if f is not None]
        held = [(slot, f) for slot, f in held if eligible[slot]]
        if not len(descriptors) or not held:
            return _Votes.none(slots_total)
        everything = np.concatenate([f.descriptors for _, f in held])
        owner = np.concatenate([np.full(len(f), slot) for slot, f in held])
        position = np.concatenate([np.arange(len(f)) for _, f in held])
        distances = hamming_matrix(descriptors, everything)
        least = distances.min(axis=1, keepdims=True)
        first_owner = owner[distances.argmin(axis=1)]
        others = (owner[None, :] != first_owner[:, None]) & (distances > least)
        second = np.where(others, distances, NO_SECOND).min(axis=1, keepdims=True)
        voting = (least <= MAX_DESCRIPTOR_DISTANCE) & (least < VOTE_RATIO * second)
        query, column = np.nonzero((distances == least) & voting)
        return _Votes.of(query, owner[column], position[column], slots_total)

    # --- segments -------------------------------------------------------------------

    def _segment(self, slots: Sequence[int]) -> _Segment:
        held = [(slot, self._features[slot]) for slot in slots]
        descriptors = np.concatenate([f.descriptors for _, f in held if f is not None])
        owners = np.concatenate(
            [np.full(len(f), slot, np.int32) for slot, f in held if f is not None]
        )
        positions = np.concatenate(
            [np.arange(len(f), dtype=np.int32) for _, f in held if f is not None]
        )
        pieces = _pieces(descriptors)
        order = np.argsort(pieces, axis=1, kind="stable").astype(np.int32)
        sorted_keys = np.take_along_axis(pieces, order, axis=1)
        return _Segment(as_words(descriptors).copy(), owners, positions, sorted_keys, order)

    def _compact(self) -> None:
        """Merge the smaller segments into one, or everything once they outweigh the
        largest: each descriptor is re-sorted a few times as the index doubles, not at
        every ninth batch (a bank growing by single adds would re-sort all of it)."""
        sizes = [len(segment.owners) for segment in self._segments]
        largest = int(np.argmax(sizes))
        if sum(sizes) - sizes[largest] >= sizes[largest]:
            self._merge()
            return
        others = [s for number, s in enumerate(self._segments) if number != largest]
        owners = np.unique(np.concatenate([segment.owners for segment in others]))
        slots = [int(slot) for slot in owners if self._features[int(slot)] is not None]
        merged = [self._segment(slots)] if slots else []
        self._segments = [self._segments[largest], *merged]

    def _merge(self) -> None:
        """One segment of the images still held, renumbered densely."""
        held = list(self.items())
        groups = {ident: self._group[slot] for ident, slot in self._slot_of.items()}
        self._slot_of, self._ident, self._features, self._segments = {}, [], [], []
        self._group, self._dead = [], set()
        self.add(held, groups)


MAX_SEGMENTS: Final = 8


def _nominees(
    segment: _Segment,
    words: NDArray[np.uint64],
    pieces: NDArray[np.uint32],
    alive: NDArray[np.bool_],
    nearest: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int32], NDArray[np.int32]]:
    """(query, bits, slot, position) of the segment's nominees no further than the nearest
    so far (``nearest``, updated; see ``kernels.feature_nominees``)."""
    size = 8 * len(words)
    while True:
        out_query, out_bits = np.empty(size, np.int64), np.empty(size, np.int64)
        out_row = np.empty(size, np.int32)
        trial = nearest.copy()
        found = feature_nominees(
            words, pieces, segment.keys, segment.rows, segment.words, segment.owners, alive,
            CROWDED, MAX_DESCRIPTOR_DISTANCE, trial, out_query, out_bits, out_row,
        )  # fmt: skip
        if found >= 0:
            nearest[:] = trial
            rows = out_row[:found]
            return (
                out_query[:found],
                out_bits[:found],
                segment.owners[rows],
                segment.positions[rows],
            )
        size *= 4


@dataclass(frozen=True, slots=True)
class _Votes:
    """A view's votes: ``tally`` per slot, and each vote's query descriptor, slot and the
    position of the nearest descriptor in that slot's features (ties give several)."""

    tally: NDArray[np.float64]
    query: NDArray[np.int64]
    slot: NDArray[np.int64]
    position: NDArray[np.int64]

    @classmethod
    def none(cls, slots_total: int) -> _Votes:
        empty = np.zeros(0, np.int64)
        return cls(np.zeros(slots_total, np.float64), empty, empty, empty)

    @classmethod
    def of(
        cls,
        query: NDArray[np.integer],
        slot: NDArray[np.integer],
        position: NDArray[np.integer],
        slots_total: int,
    ) -> _Votes:
        """Each query descriptor has one vote, shared evenly by the slots it is nearest to
        (an image registered twice is not found under one id only), however many of a
        slot's descriptors tie."""
        voters, slots = query.astype(np.int64), slot.astype(np.int64)
        pairs = np.unique(voters * slots_total + slots)
        voter = pairs // slots_total
        shares = 1.0 / np.bincount(voter)[voter]
        tally = np.bincount(pairs % slots_total, weights=shares, minlength=slots_total)
        return cls(np.asarray(tally, np.float64), voters, slots, position.astype(np.int64))

    def pairs(self, slot: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(query descriptor, registered feature) of the votes for ``slot``."""
        mine = self.slot == slot
        return self.query[mine], self.position[mine]


def _pieces(descriptors: NDArray[np.uint8]) -> NDArray[np.uint32]:
    """Descriptors (n, 32) as (CHUNKS, n) 32-bit pieces."""
    words = np.ascontiguousarray(descriptors).view("<u4").reshape(-1, CHUNKS)
    return np.ascontiguousarray(words.T)
