"""Input checks and the index file format shared by every index."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from reclaim.errors import IndexFileError, IndexInputError
from reclaim.index import FlatIndex, HammingIndex
from reclaim.index.base import (
    FORMAT_VERSION,
    MAGIC,
    check_codes,
    check_ids,
    check_radius,
    read_index_file,
    sort_results,
    write_index_file,
)


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ([[0] * 32], "numpy array"),
        (np.zeros((2, 32), dtype=np.int64), "dtype uint8"),
        (np.zeros((2, 31), dtype=np.uint8), r"shape \(n, 32\)"),
        (np.zeros(32, dtype=np.uint8), r"shape \(n, 32\)"),
        (np.zeros((2, 32, 1), dtype=np.uint8), r"shape \(n, 32\)"),
    ],
)
def test_bad_codes_are_refused_with_the_reason(codes: object, message: str) -> None:
    with pytest.raises(IndexInputError, match=message):
        check_codes(codes)


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([1, 2], "numpy array"),
        (np.array([1, 2], dtype=np.int32), "dtype int64"),
        (np.array([[1, 2]], dtype=np.int64), r"shape \(n,\)"),
        (np.array([1, 2, 1, 3, 3], dtype=np.int64), "repeated: 1, 3"),
    ],
)
def test_bad_ids_are_refused_with_the_reason(ids: object, message: str) -> None:
    with pytest.raises(IndexInputError, match=message):
        check_ids(ids)


def test_ids_must_match_the_codes_in_number() -> None:
    with pytest.raises(IndexInputError, match="3 ids for 2 codes"):
        check_ids(np.arange(3, dtype=np.int64), 2)


@pytest.mark.parametrize("radius", [-1, 257, 3.0, "31", True])
def test_bad_radii_are_refused(radius: object) -> None:
    with pytest.raises(IndexInputError, match="radius"):
        check_radius(radius)


@pytest.mark.parametrize("radius", [0, 31, 256, np.int64(12)])
def test_good_radii_pass(radius: object) -> None:
    assert check_radius(radius) == int(radius)  # type: ignore[call-overload]


def test_results_sort_by_distance_then_id() -> None:
    ids = np.array([9, 3, 7, 1], dtype=np.int64)
    distances = np.array([2, 2, 0, 5], dtype=np.int64)
    assert sort_results(ids, distances) == [(7, 0), (3, 2), (9, 2), (1, 5)]


def test_file_round_trip_keeps_arrays_and_alignment(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    arrays = {
        "a": np.arange(5, dtype=np.int64),
        "b": np.arange(12, dtype=np.uint64).reshape(3, 4),
        "empty": np.zeros((0, 4), dtype=np.uint64),
    }
    write_index_file(path, "demo", {"n": 5}, arrays)
    raw = path.read_bytes()
    magic, version, header_length = struct.unpack("<8sII", raw[:16])
    assert (magic, version) == (MAGIC, FORMAT_VERSION)
    header = json.loads(raw[16 : 16 + header_length])
    assert all(entry["offset"] % 64 == 0 for entry in header["arrays"])
    for mmap in (False, True):
        params, loaded = read_index_file(path, "demo", mmap=mmap)
        assert params == {"n": 5}
        for name, array in arrays.items():
            np.testing.assert_array_equal(loaded[name], array)
            assert loaded[name].dtype == array.dtype
    assert not (tmp_path / "x.idx.partial").exists()


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "f.idx"
    index = FlatIndex()
    index.add(np.arange(3, dtype=np.int64), np.zeros((3, 32), dtype=np.uint8))
    index.save(path)
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: b"", "too short"),
        (lambda raw: b"NOTANIDX" + raw[8:], "not a Reclaim index file"),
        (lambda raw: raw[:8] + struct.pack("<I", 99) + raw[12:], "format version 99"),
        (lambda raw: raw[:12] + struct.pack("<I", 10**9) + raw[16:], "past the end"),
        (lambda raw: raw[:16] + b"[" + raw[17:], "corrupt header"),
        (lambda raw: raw[: len(raw) - 40], "truncated"),
    ],
)
def test_damaged_files_are_refused_with_the_reason(
    tmp_path: Path, damage: object, message: str
) -> None:
    path = _saved(tmp_path)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(IndexFileError, match=message):
        FlatIndex.load(path)


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    with pytest.raises(IndexFileError, match="'flat' index, not a 'mih' index"):
        HammingIndex.load(path)


def test_a_missing_file_is_an_index_file_error(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="cannot read"):
        FlatIndex.load(tmp_path / "absent.idx")


def test_a_header_with_a_hostile_dtype_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.idx"
    write_index_file(path, "flat", {"count": 1}, {"ids": np.zeros(1, dtype=np.int64)})
    raw = path.read_bytes().replace(b'"<i8"', b'"|O8"')
    path.write_bytes(raw)
    with pytest.raises(IndexFileError, match="dtype"):
        FlatIndex.load(path)
