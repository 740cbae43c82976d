"""The compiled building blocks, checked against plain Python integers."""

from __future__ import annotations

import numpy as np
from numba import njit

from reclaim.index import kernels


@njit
def _popcounts(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for i in range(len(values)):
        out[i] = kernels.popcount64(values[i])
    return out


@njit
def _keys(words: np.ndarray, start: int, bits: int) -> np.ndarray:
    out = np.empty(words.shape[0], dtype=np.int64)
    for row in range(words.shape[0]):
        out[row] = kernels.block_key(words, row, start, bits)
    return out


def test_popcount_counts_set_bits() -> None:
    values = np.random.default_rng(1).integers(0, 2**63, 500, dtype=np.uint64) * np.uint64(2)
    values[:3] = [0, np.iinfo(np.uint64).max, 1 << 63]
    expected = [int(v).bit_count() for v in values]
    assert _popcounts(values).tolist() == expected


def test_block_keys_read_bits_across_word_boundaries() -> None:
    words = np.random.default_rng(2).integers(0, 2**63, (50, 4), dtype=np.uint64)
    for start, bits in [(0, 22), (50, 22), (60, 9), (64, 8), (230, 22), (242, 14), (100, 19)]:
        as_ints = [sum(int(w) << (64 * i) for i, w in enumerate(row)) for row in words]
        expected = [(value >> start) & ((1 << bits) - 1) for value in as_ints]
        assert _keys(words, start, bits).tolist() == expected, (start, bits)


def test_slot_table_finds_inserts_and_deletes_colliding_ids() -> None:
    slots = np.full(16, kernels.EMPTY, dtype=np.int32)
    ids = np.array([5, 21, 37, 53, -9, 2**62], dtype=np.int64)
    kernels.slots_insert(slots, ids, 0, len(ids))
    assert kernels.slots_find(slots, ids, ids).tolist() == list(range(len(ids)))
    kernels.slots_delete(slots, ids, np.array([21, -9], dtype=np.int64))
    found = kernels.slots_find(slots, ids, np.array([5, 21, 37, -9, 2**62, 7], dtype=np.int64))
    assert found.tolist() == [0, -1, 2, -1, 5, -1]
    assert (slots == kernels.DELETED).sum() == 2


def test_link_check_accepts_built_tables_and_refuses_forward_links() -> None:
    words = np.random.default_rng(3).integers(0, 2**63, (40, 4), dtype=np.uint64)
    heads = np.full((4, 1 << 8), kernels.EMPTY, dtype=np.int32)
    nexts = np.empty((4, 40), dtype=np.int32)
    kernels.insert_rows(words, heads, nexts, 0, 40, 8)
    slots = np.full(64, kernels.EMPTY, dtype=np.int32)
    assert kernels.links_are_sound(heads, nexts, slots, 40)
    assert not kernels.links_are_sound(heads, nexts, slots, 39)  # a head points past row 38
    nexts[2, 10] = 10
    assert not kernels.links_are_sound(heads, nexts, slots, 40)
