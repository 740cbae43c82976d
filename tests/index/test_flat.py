"""The brute-force reference index, checked against distances computed in plain Python."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reclaim.errors import IndexInputError, UnknownIdError
from reclaim.index import FlatIndex


def _bits(code: np.ndarray) -> int:
    return int.from_bytes(code.tobytes(), "big")


def _expected(
    ids: np.ndarray, codes: np.ndarray, query: np.ndarray, radius: int
) -> list[tuple[int, int]]:
    pairs = [
        (int(i), (_bits(c) ^ _bits(query)).bit_count()) for i, c in zip(ids, codes, strict=True)
    ]
    return sorted((p for p in pairs if p[1] <= radius), key=lambda p: (p[1], p[0]))


def test_search_matches_python_popcounts() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    codes[100:110] = codes[0]  # identical codes under different ids
    ids = rng.permutation(10_000)[:300].astype(np.int64)
    index = FlatIndex()
    index.add(ids, codes)
    queries = codes[:5] ^ rng.integers(0, 2, (5, 32), dtype=np.uint8)
    for radius in (0, 3, 31, 110, 128, 256):
        found = index.search(queries, radius)
        assert found == [_expected(ids, codes, q, radius) for q in queries]


def test_add_remove_and_re_add() -> None:
    index = FlatIndex()
    codes = np.zeros((3, 32), dtype=np.uint8)
    codes[1, 0] = 1
    index.add(np.array([1, 2, 3], dtype=np.int64), codes)
    index.remove(np.array([2], dtype=np.int64))
    assert len(index) == 2 and 2 not in index and 1 in index
    assert index.search(codes[1:2], 0) == [[]]
    index.add(np.array([2], dtype=np.int64), codes[1:2])
    assert index.search(codes[1:2], 0) == [[(2, 0)]]


def test_refusals_leave_the_index_unchanged() -> None:
    index = FlatIndex()
    index.add(np.array([1], dtype=np.int64), np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(IndexInputError, match="already in the index: \\[1\\]"):
        index.add(np.array([5, 1], dtype=np.int64), np.zeros((2, 32), dtype=np.uint8))
    with pytest.raises(UnknownIdError, match="not in the index: \\[7\\]"):
        index.remove(np.array([1, 7], dtype=np.int64))
    assert len(index) == 1 and 1 in index and 5 not in index


def test_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    index = FlatIndex()
    index.add(np.arange(50, dtype=np.int64), codes)
    index.save(tmp_path / "flat.idx")
    loaded = FlatIndex.load(tmp_path / "flat.idx")
    assert len(loaded) == 50
    assert loaded.search(codes[:3], 40) == index.search(codes[:3], 40)


def test_empty_index_finds_nothing() -> None:
    assert FlatIndex().search(np.zeros((2, 32), dtype=np.uint8), 256) == [[], []]
