"""``FlatIndex``: the plain reference index, vectorised brute force.

Every query is compared with every stored code. It is obviously right, which is its job:
the fast index is tested against it, and it is the baseline in ``benchmarks/index.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Self

import numpy as np
from numpy.typing import NDArray

from reclaim.errors import IndexFileError, IndexInputError, UnknownIdError
from reclaim.index.base import (
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

#: Rows compared at once; keeps the temporary arrays in cache.
_CHUNK: Final = 1 << 16


class FlatIndex(HammingIndexBase):
    """Brute-force exact radius search over 256-bit codes."""

    kind: ClassVar[str] = "flat"

    def __init__(self) -> None:
        self._ids: Ids = np.zeros(0, dtype=np.int64)
        self._words: NDArray[np.uint64] = np.zeros((0, 4), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, int | np.integer) and bool(np.any(self._ids == item))

    def holds(self, ids: Ids) -> NDArray[np.bool_]:
        return np.isin(ids, self._ids)

    def add(self, ids: Ids, codes: Codes) -> None:
        codes = check_codes(codes)
        ids = check_ids(ids, len(codes))
        held = ids[np.isin(ids, self._ids)]
        if len(held):
            raise IndexInputError(f"ids already in the index: {held[:5].tolist()}")
        self._ids = np.concatenate([self._ids, ids])
        self._words = np.concatenate([self._words, as_words(codes)])

    def remove(self, ids: Ids) -> None:
        ids = check_ids(ids)
        missing = ids[~np.isin(ids, self._ids)]
        if len(missing):
            raise UnknownIdError(f"ids not in the index: {missing[:5].tolist()}")
        keep = ~np.isin(self._ids, ids)
        self._ids = self._ids[keep]
        self._words = self._words[keep]

    def search(self, codes: Codes, radius: int) -> Results:
        queries = as_words(check_codes(codes, "query codes"))
        radius = check_radius(radius)
        return [self._search_one(query, radius) for query in queries]

    def _search_one(self, query: NDArray[np.uint64], radius: int) -> list[tuple[int, int]]:
        found_ids: list[Ids] = []
        found_distances: list[NDArray[np.int64]] = []
        for start in range(0, len(self._ids), _CHUNK):
            words = self._words[start : start + _CHUNK]
            distances = np.bitwise_count(words ^ query).sum(axis=1, dtype=np.int64)
            hits = np.flatnonzero(distances <= radius)
            found_ids.append(self._ids[start + hits])
            found_distances.append(distances[hits])
        if not found_ids:
            return []
        return sort_results(np.concatenate(found_ids), np.concatenate(found_distances))

    def _arrays(self) -> dict[str, NDArray[Any]]:
        return {"ids": self._ids, "words": self._words}

    def _params(self) -> dict[str, int]:
        return {"count": len(self._ids)}

    @classmethod
    def _from_arrays(cls, params: dict[str, int], arrays: dict[str, NDArray[Any]]) -> Self:
        ids, words = arrays.get("ids"), arrays.get("words")
        count = params.get("count")
        if ids is None or words is None or ids.shape != (count,) or words.shape != (count, 4):
            raise IndexFileError("flat index file: arrays do not match the stored count")
        if ids.dtype != np.int64 or words.dtype != np.uint64:
            raise IndexFileError("flat index file: arrays have the wrong types")
        try:
            check_ids(np.asarray(ids))
        except IndexInputError as exc:
            raise IndexFileError(f"flat index file: {exc.message}") from exc
        index = cls()
        index._ids = np.asarray(ids)
        index._words = np.asarray(words)
        return index
