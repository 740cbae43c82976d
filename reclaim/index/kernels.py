"""Compiled inner loops of ``HammingIndex`` (numba), kept apart from its bookkeeping.

Codes are (rows, 4) uint64 words; bit ``i`` of a code is bit ``i % 64`` of word
``i // 64``. Block ``t`` of a table layout is bits ``[t * bits, (t + 1) * bits)``.
Every function here trusts its arguments: ``HammingIndex`` checks them first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

EMPTY = -1
DELETED = -2
_INITIAL_OUTPUT = 1024


@intrinsic
def _ctpop(typingctx: Any, value: Any) -> Any:
    """The CPU's population count of a uint64 (LLVM's ctpop)."""
    signature = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        function = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(function, [args[0]])

    return signature, codegen


#: ``popcount64(x)``: set bits of a uint64, one instruction (typed for callers here).
popcount64 = cast(Callable[[Any], Any], _ctpop)


@njit(inline="always", cache=True)
def block_key(words: Any, row: int, start: int, bits: int) -> Any:
    word = start >> 6
    shift = start & 63
    value = words[row, word] >> np.uint64(shift)
    if shift + bits > 64:
        value |= words[row, word + 1] << np.uint64(64 - shift)
    return np.int64(value & np.uint64((1 << bits) - 1))


@njit(inline="always", cache=True)
def distance(words: Any, row: int, queries: Any, query: int) -> Any:
    return np.int64(
        popcount64(words[row, 0] ^ queries[query, 0])
        + popcount64(words[row, 1] ^ queries[query, 1])
        + popcount64(words[row, 2] ^ queries[query, 2])
        + popcount64(words[row, 3] ^ queries[query, 3])
    )


@njit(inline="always", cache=True)
def block_radius(block: int, base: int, extra: int) -> int:
    """Radius block ``block`` is searched with (pigeonhole split of the query radius)."""
    return base if block <= extra else base - 1


@njit(cache=True)
def insert_rows(words: Any, heads: Any, nexts: Any, first: int, stop: int, bits: int) -> None:
    """Push rows ``first..stop-1`` onto the front of their bucket in every table."""
    for row in range(first, stop):
        for block in range(heads.shape[0]):
            key = block_key(words, row, block * bits, bits)
            nexts[block, row] = heads[block, key]
            heads[block, key] = row


@njit(cache=True)
def _grow(rows: Any, dists: Any) -> tuple[Any, Any]:
    bigger_rows = np.empty(len(rows) * 2, dtype=np.int64)
    bigger_dists = np.empty(len(dists) * 2, dtype=np.int64)
    bigger_rows[: len(rows)] = rows
    bigger_dists[: len(dists)] = dists
    return bigger_rows, bigger_dists


@njit(cache=True)
def _found_earlier(
    words: Any, row: int, queries: Any, query: int, block: int, bits: int, base: int, extra: int
) -> bool:
    # A code within reach of an earlier block's probes was already reported there.
    for earlier in range(block):
        reach = block_radius(earlier, base, extra)
        if reach < 0:
            continue
        near = block_key(words, row, earlier * bits, bits) ^ block_key(
            queries, query, earlier * bits, bits
        )
        if popcount64(np.uint64(near)) <= reach:
            return True
    return False


@njit(cache=True)
def search_tables(
    words: Any,
    alive: Any,
    heads: Any,
    nexts: Any,
    bits: int,
    masks: Any,
    mask_counts: Any,
    queries: Any,
    radius: int,
    base: int,
    extra: int,
) -> tuple[Any, Any, Any]:
    """Multi-index search: probe each block's buckets near the query's, verify in full.

    Buckets are walked breadth-first (all first rows, then all second rows, ...), so the
    memory reads of one step do not wait on each other and the CPU overlaps them.
    """
    offsets = np.zeros(queries.shape[0] + 1, dtype=np.int64)
    rows = np.empty(_INITIAL_OUTPUT, dtype=np.int64)
    dists = np.empty(_INITIAL_OUTPUT, dtype=np.int64)
    frontier = np.empty(len(masks), dtype=np.int32)
    following = np.empty(len(masks), dtype=np.int32)
    found = 0
    for query in range(queries.shape[0]):
        for block in range(heads.shape[0]):
            reach = block_radius(block, base, extra)
            if reach < 0:
                break
            key = block_key(queries, query, block * bits, bits)
            width = 0
            for probe in range(mask_counts[reach]):
                head = heads[block, key ^ masks[probe]]
                frontier[width] = head
                width += head >= 0
            while width:
                next_width = 0
                for position in range(width):
                    row = frontier[position]
                    gap = distance(words, row, queries, query)
                    if (
                        gap <= radius
                        and alive[row]
                        and not _found_earlier(words, row, queries, query, block, bits, base, extra)
                    ):
                        if found == len(rows):
                            rows, dists = _grow(rows, dists)
                        rows[found] = row
                        dists[found] = gap
                        found += 1
                    link = nexts[block, row]
                    following[next_width] = link
                    next_width += link >= 0
                frontier, following = following, frontier
                width = next_width
        offsets[query + 1] = found
    return offsets, rows[:found], dists[:found]


@njit(cache=True)
def links_are_sound(heads: Any, nexts: Any, slots: Any, rows: int) -> bool:
    """Whether every link points to an earlier stored row (so every walk ends in bounds)."""
    for value in heads.ravel():
        if value < EMPTY or value >= rows:
            return False
    for block in range(nexts.shape[0]):
        for row in range(rows):
            link = nexts[block, row]
            if link < EMPTY or link >= row:
                return False
    for value in slots:  # noqa: SIM110 - a plain loop is what numba compiles best
        if value < DELETED or value >= rows:
            return False
    return True


@njit(cache=True)
def scan(words: Any, alive: Any, stop: int, queries: Any, radius: int) -> tuple[Any, Any, Any]:
    """Linear scan of rows ``0..stop-1``, for radii where probing would cost more."""
    offsets = np.zeros(queries.shape[0] + 1, dtype=np.int64)
    rows = np.empty(_INITIAL_OUTPUT, dtype=np.int64)
    dists = np.empty(_INITIAL_OUTPUT, dtype=np.int64)
    found = 0
    for query in range(queries.shape[0]):
        for row in range(stop):
            gap = distance(words, row, queries, query)
            if gap <= radius and alive[row]:
                if found == len(rows):
                    rows, dists = _grow(rows, dists)
                rows[found] = row
                dists[found] = gap
                found += 1
        offsets[query + 1] = found
    return offsets, rows[:found], dists[:found]


@njit(cache=True)
def slots_are_sound(slots: Any, ids: Any, alive: Any, rows: int) -> bool:
    """Whether the id table holds exactly the live rows, each once, findable by its id,
    with a free slot left (so every lookup ends)."""
    if len(slots) == 0 or (len(slots) & (len(slots) - 1)) != 0:
        return False
    seen = np.zeros(rows, dtype=np.uint8)
    empty = 0
    for value in slots:
        if value == EMPTY:
            empty += 1
        elif value >= 0:
            if value >= rows or not alive[value] or seen[value]:
                return False
            seen[value] = 1
    if empty == 0:
        return False
    mask = len(slots) - 1
    for row in range(rows):
        if alive[row] != seen[row]:
            return False
        if alive[row]:
            slot = _slot_of(ids[row], mask)
            while slots[slot] != row:
                if slots[slot] == EMPTY:
                    return False
                slot = (slot + 1) & mask
    return True


@njit(inline="always", cache=True)
def _slot_of(key: int, mask: int) -> Any:
    # splitmix64's finaliser: spreads clustered ids over the table.
    value = np.uint64(key)
    value = (value ^ (value >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    value = (value ^ (value >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    value = value ^ (value >> np.uint64(31))
    return np.int64(value & np.uint64(mask))


@njit(cache=True)
def slots_find(slots: Any, ids: Any, keys: Any) -> Any:
    """Row of each key in the id table, or -1."""
    mask = len(slots) - 1
    found = np.full(len(keys), -1, dtype=np.int64)
    for index in range(len(keys)):
        slot = _slot_of(keys[index], mask)
        while slots[slot] != EMPTY:
            row = slots[slot]
            if row >= 0 and ids[row] == keys[index]:
                found[index] = row
                break
            slot = (slot + 1) & mask
    return found


@njit(cache=True)
def slots_insert(slots: Any, ids: Any, first: int, stop: int) -> None:
    """Enter rows ``first..stop-1`` under their ids (known to be absent)."""
    mask = len(slots) - 1
    for row in range(first, stop):
        slot = _slot_of(ids[row], mask)
        while slots[slot] >= 0:
            slot = (slot + 1) & mask
        slots[slot] = row


@njit(cache=True)
def slots_delete(slots: Any, ids: Any, keys: Any) -> None:
    """Take keys (known to be present) out of the id table."""
    mask = len(slots) - 1
    for index in range(len(keys)):
        slot = _slot_of(keys[index], mask)
        while True:
            row = slots[slot]
            if row >= 0 and ids[row] == keys[index]:
                slots[slot] = DELETED
                break
            slot = (slot + 1) & mask


@njit(cache=True)
def feature_nominees(
    query_words: Any,
    query_pieces: Any,
    keys: Any,
    rows: Any,
    words: Any,
    owners: Any,
    alive: Any,
    crowded: int,
    limit: int,
    nearest: Any,
    out_query: Any,
    out_bits: Any,
    out_row: Any,
) -> int:  # pragma: no cover - compiled
    """For ``reclaim.index.features``: each query descriptor's registered descriptors that
    share one of its pieces (in pieces shared by at most ``crowded``), of live slots, within
    ``limit`` bits. ``nearest`` (queries, 4), updated: the nearest distance seen so far,
    its slot, the nearest distance in another slot (ties at the nearest excepted, so an
    image held twice keeps its vote) and whether another slot ties at the nearest. Writes
    (query, bits, row) of the nominees no further than the nearest so far; returns how
    many, or -1 when the output is full."""
    found = 0
    for query in range(query_pieces.shape[1]):
        for chunk in range(query_pieces.shape[0]):
            sorted_keys = keys[chunk]
            key = query_pieces[chunk, query]
            low = np.searchsorted(sorted_keys, key, side="left")
            high = np.searchsorted(sorted_keys, key, side="right")
            if high == low or high - low > crowded:
                continue
            for position in range(low, high):
                row = rows[chunk, position]
                slot = owners[row]
                if not alive[slot]:
                    continue
                bits = distance(words, row, query_words, query)
                if bits > limit:
                    continue
                best, best_slot = nearest[query, 0], nearest[query, 1]
                if bits < best:
                    # The old nearest becomes another image's distance if it was another
                    # image's, or if another image tied with it.
                    if best_slot != slot or nearest[query, 3]:
                        nearest[query, 2] = min(nearest[query, 2], best)
                    nearest[query, 0], nearest[query, 1], nearest[query, 3] = bits, slot, 0
                elif bits == best and best_slot != slot:
                    nearest[query, 3] = 1
                elif bits > best:
                    if best_slot != slot:
                        nearest[query, 2] = min(nearest[query, 2], bits)
                    continue
                if found == len(out_query):
                    return -1
                out_query[found], out_bits[found], out_row[found] = query, bits, row
                found += 1
    return found
