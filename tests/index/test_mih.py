"""The fast index must return exactly what the brute-force reference returns."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from numpy.typing import NDArray

from reclaim.errors import IndexFileError, IndexInputError, UnknownIdError
from reclaim.index import FlatIndex, HammingIndex, mih

Codes = NDArray[np.uint8]


def _flip(code: Codes, bits: list[int]) -> Codes:
    flipped = code.copy()
    for bit in bits:
        flipped[bit // 8] ^= 1 << (bit % 8)
    return flipped


@st.composite
def datasets(draw: st.DrawFn) -> Codes:
    """Random, clustered and adversarial sets of codes."""
    kind = draw(st.sampled_from(["random", "clustered", "identical", "one_block", "extremes"]))
    count = draw(st.integers(1, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        return rng.integers(0, 256, (count, 32), dtype=np.uint8)
    if kind == "clustered":
        centres = rng.integers(0, 256, (draw(st.integers(1, 5)), 32), dtype=np.uint8)
        codes = centres[rng.integers(0, len(centres), count)]
        flips = rng.integers(0, 2, (count, 32), dtype=np.uint8) * (rng.random((count, 32)) < 0.05)
        return codes ^ (flips.astype(np.uint8) << rng.integers(0, 8, (count, 32), dtype=np.uint8))
    if kind == "identical":
        return np.repeat(rng.integers(0, 256, (1, 32), dtype=np.uint8), count, axis=0)
    if kind == "one_block":  # codes that differ only inside the first few bits
        codes = np.repeat(rng.integers(0, 256, (1, 32), dtype=np.uint8), count, axis=0)
        codes[:, 0] = rng.integers(0, 256, count, dtype=np.uint8)
        codes[:, 1] ^= rng.integers(0, 2, count, dtype=np.uint8)
        return codes
    extremes = np.zeros((count, 32), dtype=np.uint8)
    extremes[count // 2 :] = 255
    return extremes


def _queries(codes: Codes, seed: int) -> Codes:
    rng = np.random.default_rng(seed)
    picked = codes[rng.integers(0, len(codes), 6)]
    near = np.array([_flip(c, list(rng.integers(0, 256, rng.integers(0, 40)))) for c in picked])
    fresh = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    extremes = np.array([np.zeros(32), np.full(32, 255)], dtype=np.uint8)
    return np.concatenate([near, fresh, extremes]).astype(np.uint8)


def _both(codes: Codes) -> tuple[HammingIndex, FlatIndex]:
    ids = np.arange(len(codes), dtype=np.int64) * 3 - 50
    fast, flat = HammingIndex(), FlatIndex()
    fast.add(ids, codes)
    flat.add(ids, codes)
    return fast, flat


@pytest.mark.parametrize("tables_only", [True, False])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(codes=datasets(), radius=st.integers(0, 64), seed=st.integers(0, 1000))
def test_search_equals_the_reference(
    tables_only: bool, codes: Codes, radius: int, seed: int
) -> None:
    # tables_only forces the multi-index probing even where a scan would be cheaper.
    with mock.patch.object(mih, "_SCAN_RATIO", 0 if tables_only else mih._SCAN_RATIO):
        fast, flat = _both(codes)
        queries = _queries(codes, seed)
        assert fast.search(queries, radius) == flat.search(queries, radius)


@pytest.mark.parametrize("radius", [0, 1, 7, 27, 28, 31, 55, 56, 64])
def test_every_block_split_is_exact_on_a_larger_set(radius: int) -> None:
    rng = np.random.default_rng(radius)
    base = rng.integers(0, 256, (200, 32), dtype=np.uint8)
    near = np.array(
        [_flip(c, list(rng.choice(256, rng.integers(0, 70), replace=False))) for c in base]
    )
    codes = np.concatenate([base, near, rng.integers(0, 256, (3000, 32), dtype=np.uint8)])
    with mock.patch.object(mih, "_SCAN_RATIO", 0):
        fast, flat = _both(codes)
        queries = np.concatenate([base[:40], near[:40]])
        assert fast.search(queries, radius) == flat.search(queries, radius)


class AddRemoveMachine(RuleBasedStateMachine):
    """Adds, removes and re-adds in any order keep the fast index equal to the reference."""

    def __init__(self) -> None:
        super().__init__()
        self.fast = HammingIndex()
        self.flat = FlatIndex()
        self.rng = np.random.default_rng(0)
        self.pool = self.rng.integers(0, 256, (64, 32), dtype=np.uint8)
        self.pool[32:] = self.pool[:32] ^ 1  # pairs one bit apart
        self.held: dict[int, int] = {}

    @rule(ident=st.integers(0, 120), which=st.integers(0, 63))
    def add(self, ident: int, which: int) -> None:
        if ident in self.held:
            with pytest.raises(IndexInputError):
                self.fast.add(np.array([ident], dtype=np.int64), self.pool[which : which + 1])
            return
        for index in (self.fast, self.flat):
            index.add(np.array([ident], dtype=np.int64), self.pool[which : which + 1])
        self.held[ident] = which

    @rule(first=st.integers(0, 5000), count=st.integers(1, 1500))
    def add_many(self, first: int, count: int) -> None:
        ids = np.arange(1000 + first * 2000, 1000 + first * 2000 + count, dtype=np.int64)
        if any(int(i) in self.held for i in ids):
            return
        codes = self.rng.integers(0, 256, (count, 32), dtype=np.uint8)
        for index in (self.fast, self.flat):
            index.add(ids, codes)
        self.held.update(dict.fromkeys(ids.tolist(), -1))

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        chosen = data.draw(st.sets(st.sampled_from(sorted(self.held)), min_size=1, max_size=600))
        ids = np.array(sorted(chosen), dtype=np.int64)
        for index in (self.fast, self.flat):
            index.remove(ids)
        for ident in chosen:
            del self.held[ident]

    @rule(ident=st.integers(121, 200))
    def remove_unknown(self, ident: int) -> None:
        with pytest.raises(UnknownIdError):
            self.fast.remove(np.array([ident], dtype=np.int64))

    @invariant()
    def same_results(self) -> None:
        assert len(self.fast) == len(self.flat) == len(self.held)
        queries = np.concatenate([self.pool[::8], self.pool[33:35]])
        for radius in (0, 1, 31):
            assert self.fast.search(queries, radius) == self.flat.search(queries, radius)


TestAddRemove = AddRemoveMachine.TestCase
TestAddRemove.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)


def test_growth_rebuilds_the_tables_and_keeps_every_code() -> None:
    rng = np.random.default_rng(9)
    index = HammingIndex()
    first_bits = index._layout.bits
    codes = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    for start in range(0, 20_000, 2_500):
        index.add(np.arange(start, start + 2_500, dtype=np.int64), codes[start : start + 2_500])
    assert len(index) == 20_000 and index._layout.bits > first_bits
    found = index.search(codes[::1000], 0)
    assert [hits[0][0] for hits in found] == list(range(0, 20_000, 1000))


def test_a_resized_copy_holds_the_same_codes_and_leaves_the_original() -> None:
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 256, (3_000, 32), dtype=np.uint8)
    index = HammingIndex.build(np.arange(3_000, dtype=np.int64), codes)
    index.remove(np.arange(0, 3_000, 3, dtype=np.int64))
    room, layout = index.headroom, index._layout
    grown = index.resized(50_000)
    assert grown.headroom >= 50_000 - len(index) and len(grown) == len(index)
    assert index.headroom == room and index._layout == layout  # the original as it was
    queries = codes[::7]
    assert grown.search(queries, 24) == index.search(queries, 24)
    grown.add(np.array([10**9], dtype=np.int64), codes[:1])
    assert len(index) == 2_000 and index.search(codes[:1], 0) == [[]]


def test_removing_most_codes_compacts_the_rows() -> None:
    rng = np.random.default_rng(10)
    codes = rng.integers(0, 256, (6_000, 32), dtype=np.uint8)
    index = HammingIndex.build(np.arange(6_000, dtype=np.int64), codes)
    index.remove(np.arange(5_000, dtype=np.int64))
    assert index._rows < 6_000 and len(index) == 1_000
    assert index.search(codes[5_500:5_501], 0) == [[(5_500, 0)]]
    assert index.search(codes[10:11], 0) == [[]]


def test_build_equals_adding(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (3_000, 32), dtype=np.uint8)
    ids = np.unique(rng.integers(-(2**62), 2**62, 3_000, dtype=np.int64))
    codes = codes[: len(ids)]
    built = HammingIndex.build(ids, codes)
    added = HammingIndex()
    added.add(ids, codes)
    queries = codes[:20] ^ np.uint8(3)
    assert built.search(queries, 31) == added.search(queries, 31)
    assert built.nbytes > 0 and int(ids[5]) in built and -1 not in built and "x" not in built


@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip_then_keep_changing(tmp_path: Path, mmap: bool) -> None:
    rng = np.random.default_rng(12)
    codes = rng.integers(0, 256, (5_000, 32), dtype=np.uint8)
    index = HammingIndex.build(np.arange(5_000, dtype=np.int64), codes)
    index.remove(np.arange(10, dtype=np.int64))
    index.save(tmp_path / "m.idx")
    loaded = HammingIndex.load(tmp_path / "m.idx", mmap=mmap)
    queries = codes[:30]
    assert loaded.search(queries, 31) == index.search(queries, 31)
    loaded.add(np.array([10**12], dtype=np.int64), codes[:1])
    loaded.remove(np.array([20], dtype=np.int64))
    assert loaded.search(codes[:1], 0) == [[(10**12, 0)]]
    assert loaded.search(codes[20:21], 0) == [[]]
    # The file itself is untouched by changes to a copy-on-write mapping.
    assert HammingIndex.load(tmp_path / "m.idx").search(codes[20:21], 0) == [[(20, 0)]]


def test_a_file_with_links_outside_the_rows_is_refused(tmp_path: Path) -> None:
    index = HammingIndex.build(np.arange(100, dtype=np.int64), np.zeros((100, 32), np.uint8))
    index._nexts[0, 5] = 50  # a link forward would allow a cycle
    index.save(tmp_path / "bad.idx")
    with pytest.raises(IndexFileError, match="links"):
        HammingIndex.load(tmp_path / "bad.idx")


def test_a_file_whose_live_count_disagrees_is_refused(tmp_path: Path) -> None:
    index = HammingIndex.build(np.arange(100, dtype=np.int64), np.zeros((100, 32), np.uint8))
    index._alive[3] = 0
    index.save(tmp_path / "bad.idx")
    with pytest.raises(IndexFileError, match="live rows"):
        HammingIndex.load(tmp_path / "bad.idx")


def test_refusals_leave_the_index_unchanged() -> None:
    index = HammingIndex()
    index.add(np.array([1], dtype=np.int64), np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(IndexInputError, match=r"already in the index: \[1\]"):
        index.add(np.array([5, 1], dtype=np.int64), np.zeros((2, 32), dtype=np.uint8))
    with pytest.raises(IndexInputError, match="repeated"):
        index.add(np.array([6, 6], dtype=np.int64), np.zeros((2, 32), dtype=np.uint8))
    with pytest.raises(UnknownIdError):
        index.remove(np.array([1, 7], dtype=np.int64))
    with pytest.raises(IndexInputError, match="dtype uint8"):
        index.search(np.zeros((1, 32), dtype=np.int8), 3)
    assert len(index) == 1 and 1 in index and 5 not in index and 6 not in index


def test_empty_index_finds_nothing() -> None:
    assert HammingIndex().search(np.zeros((2, 32), dtype=np.uint8), 64) == [[], []]


def _saved_then_edited(tmp_path: Path, edit: object) -> Path:
    index = HammingIndex.build(np.arange(50, dtype=np.int64), np.zeros((50, 32), np.uint8))
    index.remove(np.array([7], dtype=np.int64))
    edit(index)  # type: ignore[operator]
    index.save(tmp_path / "edited.idx")
    return tmp_path / "edited.idx"


def test_an_id_table_entry_for_a_removed_row_is_refused(tmp_path: Path) -> None:
    def revive_slot(index: HammingIndex) -> None:
        free = int(np.flatnonzero(index._slots == -1)[0])
        index._slots[free] = 7  # row 7 was removed

    with pytest.raises(IndexFileError, match=r"edited\.idx: .*id table"):
        HammingIndex.load(_saved_then_edited(tmp_path, revive_slot))


def test_an_id_table_without_a_free_slot_is_refused(tmp_path: Path) -> None:
    def fill(index: HammingIndex) -> None:
        index._slots[index._slots == -1] = -2

    with pytest.raises(IndexFileError, match="id table"):
        HammingIndex.load(_saved_then_edited(tmp_path, fill))
