"""``HammingIndex``: exact radius search by multi-index hashing, kept up to date in place.

The 256 bits of a code are cut into ``m`` blocks of ``b`` bits. If two codes are within
distance ``r``, then by the pigeonhole principle some block differs in at most
``r // m`` bits; more precisely, with ``r = m * q + a``, one of the first ``a + 1``
blocks differs in at most ``q`` bits or one of the others in at most ``q - 1``. So a
query probes, in each block's table, the buckets of every key within that block radius
of its own key, and checks each code found there in full. Every code within ``r`` is
found (exact), each is reported by the first block that reaches it (no duplicates).

Each table is an array of bucket heads (``2**b`` int32) and a next-pointer per row
(int32): adding a code is ``m`` pointer writes, removing one clears a flag. ``b`` grows
with capacity (two to four codes per bucket, at most 22 bits), so next-pointers cost
``4 * m`` bytes per code and bucket heads one to two times ``m``. When the row arrays
are full, or more than half the rows are removed codes, the tables are rebuilt at the
new size (amortised, like a growing list). Radii for which probing would touch more
buckets than a quarter of the rows fall back to a compiled linear scan: results are
exact either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, pairwise
from math import comb
from typing import Any, ClassVar, Final, Self

import numpy as np
from numpy.typing import NDArray

from reclaim.errors import IndexFileError, IndexInputError, UnknownIdError
from reclaim.index import kernels
from reclaim.index.base import (
    CODE_BITS,
    Codes,
    HammingIndexBase,
    Ids,
    Results,
    as_words,
    check_codes,
    check_ids,
    check_radius,
    sort_results,
)

_MIN_CAPACITY: Final = 1024
_MIN_BITS: Final = 8
_MAX_BITS: Final = 22
#: Probing more buckets than rows / _SCAN_RATIO costs more than scanning every row.
_SCAN_RATIO: Final = 4


@dataclass(frozen=True, slots=True)
class _Layout:
    """Sizes that follow from a capacity: rows, block width, blocks, id-table slots."""

    capacity: int
    bits: int
    blocks: int
    slots: int

    @classmethod
    def for_capacity(cls, capacity: int) -> _Layout:
        capacity = max(capacity, _MIN_CAPACITY)
        bits = min(_MAX_BITS, max(_MIN_BITS, capacity.bit_length() - 2))
        slots = 1 << (capacity + capacity // 2).bit_length()
        return cls(capacity, bits, CODE_BITS // bits, slots)


@lru_cache(maxsize=64)
def _flip_masks(bits: int, reach: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """All ``bits``-bit masks of at most ``reach`` set bits, fewest first, and how many
    masks have at most 0, 1, ... ``reach`` bits."""
    masks = [0]
    counts = [1]
    for flips in range(1, reach + 1):
        masks.extend(sum(1 << bit for bit in chosen) for chosen in combinations(range(bits), flips))
        counts.append(len(masks))
    return np.array(masks, dtype=np.int64), np.array(counts, dtype=np.int64)


class HammingIndex(HammingIndexBase):
    """Fast exact radius search over 256-bit codes (multi-index hashing)."""

    kind: ClassVar[str] = "mih"

    def __init__(self, capacity: int = 0) -> None:
        self._allocate(_Layout.for_capacity(capacity))
        self._rows = 0  # rows used, removed codes included
        self._count = 0

    def _allocate(self, layout: _Layout) -> None:
        self._layout = layout
        self._words: NDArray[np.uint64] = np.zeros((layout.capacity, 4), dtype=np.uint64)
        self._ids: Ids = np.zeros(layout.capacity, dtype=np.int64)
        self._alive: NDArray[np.uint8] = np.zeros(layout.capacity, dtype=np.uint8)
        self._heads: NDArray[np.int32] = np.full(
            (layout.blocks, 1 << layout.bits), kernels.EMPTY, dtype=np.int32
        )
        self._nexts: NDArray[np.int32] = np.empty((layout.blocks, layout.capacity), np.int32)
        self._slots: NDArray[np.int32] = np.full(layout.slots, kernels.EMPTY, dtype=np.int32)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int | np.integer):
            return False
        return bool(self._find(np.array([item], dtype=np.int64))[0] >= 0)

    def holds(self, ids: Ids) -> NDArray[np.bool_]:
        return self._find(np.asarray(ids, dtype=np.int64)) >= 0

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays, in bytes."""
        return sum(array.nbytes for array in self._arrays().values())

    def add(self, ids: Ids, codes: Codes) -> None:
        codes = check_codes(codes)
        ids = check_ids(ids, len(codes))
        held = ids[self._find(ids) >= 0]
        if len(held):
            raise IndexInputError(f"ids already in the index: {held[:5].tolist()}")
        if self._rows + len(ids) > self._layout.capacity:
            self._rebuild(self._count + len(ids))
        first, stop = self._rows, self._rows + len(ids)
        self._words[first:stop] = as_words(codes)
        self._ids[first:stop] = ids
        self._alive[first:stop] = 1
        kernels.insert_rows(self._words, self._heads, self._nexts, first, stop, self._layout.bits)
        kernels.slots_insert(self._slots, self._ids, first, stop)
        self._rows = stop
        self._count += len(ids)

    def remove(self, ids: Ids) -> None:
        ids = check_ids(ids)
        rows = self._find(ids)
        if np.any(rows < 0):
            raise UnknownIdError(f"ids not in the index: {ids[rows < 0][:5].tolist()}")
        kernels.slots_delete(self._slots, self._ids, ids)
        self._alive[rows] = 0
        self._count -= len(ids)
        if self._rows - self._count > max(self._rows // 2, _MIN_CAPACITY):
            self._rebuild(self._count)

    def search(self, codes: Codes, radius: int) -> Results:
        queries = as_words(check_codes(codes, "query codes"))
        radius = check_radius(radius)
        if self._count == 0:
            return [[] for _ in range(len(queries))]
        offsets, rows, distances = self._search_words(queries, radius)
        found_ids = self._ids[rows]
        return [
            sort_results(found_ids[start:stop], distances[start:stop])
            for start, stop in pairwise(offsets)
        ]

    def _search_words(self, queries: NDArray[np.uint64], radius: int) -> tuple[Any, Any, Any]:
        layout = self._layout
        base, extra = divmod(radius, layout.blocks)
        probes = (extra + 1) * _ball(layout.bits, base) + (layout.blocks - extra - 1) * _ball(
            layout.bits, base - 1
        )
        if probes * _SCAN_RATIO > self._rows:
            return kernels.scan(self._words, self._alive, self._rows, queries, radius)
        masks, counts = _flip_masks(layout.bits, base)
        return kernels.search_tables(
            self._words, self._alive, self._heads, self._nexts, layout.bits,
            masks, counts, queries, radius, base, extra,
        )  # fmt: skip

    def _find(self, ids: Ids) -> NDArray[np.int64]:
        return kernels.slots_find(self._slots, self._ids, ids)  # type: ignore[no-any-return]

    @property
    def headroom(self) -> int:
        """How many codes can be added before an ``add`` has to re-lay the whole index."""
        return self._layout.capacity - self._rows

    def resized(self, needed: int) -> HammingIndex:
        """A new index holding this one's codes, laid out for at least ``needed`` of them;
        this one is not changed. A caller that alone writes to the index can make the
        copy while others search the original, then swap, instead of letting ``add``
        re-lay the index while searches wait."""
        copy = HammingIndex()
        copy._relay(self, needed)
        return copy

    def _rebuild(self, needed: int) -> None:
        """Re-lay the index for at least ``needed`` codes, dropping removed rows."""
        self._relay(self, needed)

    def _relay(self, source: HammingIndex, needed: int) -> None:
        keep = np.flatnonzero(source._alive[: source._rows])
        words, ids = source._words[keep].copy(), source._ids[keep].copy()
        # Grow by a quarter: amortised like doubling, without doubling the memory.
        capacity = max(needed + needed // 8, len(keep) + len(keep) // 4, _MIN_CAPACITY)
        self._allocate(_Layout.for_capacity(capacity))
        self._rows = self._count = 0
        if len(keep):
            self._bulk_insert(ids, words)

    def _bulk_insert(self, ids: Ids, words: NDArray[np.uint64]) -> None:
        stop = len(ids)
        self._words[:stop] = words
        self._ids[:stop] = ids
        self._alive[:stop] = 1
        kernels.insert_rows(self._words, self._heads, self._nexts, 0, stop, self._layout.bits)
        kernels.slots_insert(self._slots, self._ids, 0, stop)
        self._rows = self._count = stop

    @classmethod
    def build(cls, ids: Ids, codes: Codes) -> Self:
        """An index holding exactly these codes, sized for them."""
        codes = check_codes(codes)
        ids = check_ids(ids, len(codes))
        index = cls(len(ids) + len(ids) // 16)
        index._bulk_insert(ids, as_words(codes))
        warm_up()
        return index

    def _arrays(self) -> dict[str, NDArray[Any]]:
        return {
            "words": self._words,
            "ids": self._ids,
            "alive": self._alive,
            "heads": self._heads,
            "nexts": self._nexts,
            "slots": self._slots,
        }

    def _params(self) -> dict[str, int]:
        return {"capacity": self._layout.capacity, "rows": self._rows, "count": self._count}

    @classmethod
    def _from_arrays(cls, params: dict[str, int], arrays: dict[str, NDArray[Any]]) -> Self:
        try:
            capacity, rows, count = params["capacity"], params["rows"], params["count"]
        except KeyError as exc:
            raise IndexFileError(f"index file: missing parameter {exc}") from exc
        if not 0 <= count <= rows <= capacity:
            raise IndexFileError("index file: inconsistent row counts")
        layout = _Layout.for_capacity(capacity)
        if layout.capacity != capacity:
            raise IndexFileError("index file: capacity below the minimum")
        index = cls.__new__(cls)
        index._layout = layout
        index._rows, index._count = rows, count
        expected = {
            "words": ((capacity, 4), np.uint64),
            "ids": ((capacity,), np.int64),
            "alive": ((capacity,), np.uint8),
            "heads": ((layout.blocks, 1 << layout.bits), np.int32),
            "nexts": ((layout.blocks, capacity), np.int32),
            "slots": ((layout.slots,), np.int32),
        }
        for name, (shape, dtype) in expected.items():
            array = arrays.get(name)
            if array is None or array.shape != shape or array.dtype != dtype:
                raise IndexFileError(f"index file: array {name!r} is missing or mis-shaped")
        index._words, index._ids = arrays["words"], arrays["ids"]
        index._alive, index._heads = arrays["alive"], arrays["heads"]
        index._nexts, index._slots = arrays["nexts"], arrays["slots"]
        index._check_links()
        warm_up()
        return index

    def _check_links(self) -> None:
        # Chains only point to earlier rows, so a walk always ends and stays in bounds;
        # a file that breaks this could make the compiled search loop or read astray.
        rows = self._rows
        if not kernels.links_are_sound(self._heads, self._nexts, self._slots, rows):
            raise IndexFileError("index file: links point outside the stored rows")
        if int(self._alive[:rows].sum()) != self._count:
            raise IndexFileError("index file: live rows do not match the stored count")
        if not kernels.slots_are_sound(self._slots, self._ids, self._alive, rows):
            raise IndexFileError("index file: the id table does not match the live rows")


@lru_cache(maxsize=1)
def warm_up() -> None:
    """Run every kernel once on a tiny index, so that loading their compiled code (about
    10 ms each, once per process) happens here and not in the first add or search."""
    index = HammingIndex()
    codes = np.zeros((2, 32), dtype=np.uint8)
    codes[1, 0] = 1
    ids = np.array([1, 2], dtype=np.int64)
    index.add(ids, codes)
    index.holds(ids)
    index.search(codes, 31)
    layout = index._layout
    masks, counts = _flip_masks(layout.bits, 1)
    kernels.search_tables(
        index._words, index._alive, index._heads, index._nexts, layout.bits,
        masks, counts, as_words(codes), 31, 1, 31 % layout.blocks,
    )  # fmt: skip
    index.remove(ids)


def _ball(bits: int, reach: int) -> int:
    """Keys within ``reach`` bits of one ``bits``-bit key."""
    return sum(comb(bits, flips) for flips in range(reach + 1)) if reach >= 0 else 0
