"""The contract every Hamming index keeps, its input checks, and its file format.

An index holds 256-bit codes (PDQ hashes as 32 bytes, most significant byte first), each
under a caller's int64 id, and answers radius queries: every stored code within Hamming
distance ``radius`` of a query, as ``(id, distance)`` pairs sorted by distance, then id.

File format (version 1), little-endian, built to be memory-mapped:

======  ========  ============================================================
offset  size      content
======  ========  ============================================================
0       8         magic ``b"RCLMHIDX"``
8       4         format version, uint32 (1)
12      4         header length ``H`` in bytes, uint32
16      H         header: UTF-8 JSON ``{"kind", "params", "arrays"}``; each array is
                  ``{"name", "dtype", "shape", "offset"}`` with ``offset`` from the
                  start of the file, a multiple of 64
...               the arrays' raw bytes, C order, each at its offset
======  ========  ============================================================

Nothing in the file is executed or unpickled; a file that does not describe itself
consistently is refused with ``IndexFileError``.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Final, Self

import numpy as np
from numpy.typing import NDArray

from reclaim.errors import IndexFileError, IndexInputError

CODE_BYTES: Final = 32
CODE_BITS: Final = 256
MAGIC: Final = b"RCLMHIDX"
FORMAT_VERSION: Final = 1
_ALIGN: Final = 64
_PREFIX: Final = struct.Struct("<8sII")
_DTYPES: Final = frozenset({"<i8", "<u8", "<i4", "|u1", "<u4"})

Codes = NDArray[np.uint8]
Ids = NDArray[np.int64]
Results = list[list[tuple[int, int]]]


def as_words(codes: Codes) -> NDArray[np.uint64]:
    """Codes (n, 32) uint8 as (n, 4) uint64 words, for popcount arithmetic."""
    return np.ascontiguousarray(codes).view("<u8").reshape(-1, 4)


def check_codes(codes: object, what: str = "codes") -> Codes:
    """``codes`` as a (n, 32) uint8 array, or an ``IndexInputError`` saying what is wrong."""
    if not isinstance(codes, np.ndarray):
        raise IndexInputError(f"{what} must be a numpy array, got {type(codes).__name__}")
    if codes.dtype != np.uint8:
        raise IndexInputError(f"{what} must have dtype uint8, got {codes.dtype}")
    if codes.ndim != 2 or codes.shape[1] != CODE_BYTES:
        raise IndexInputError(f"{what} must have shape (n, {CODE_BYTES}), got {codes.shape}")
    return codes


def check_ids(ids: object, count: int | None = None) -> Ids:
    """``ids`` as a (n,) int64 array without duplicates."""
    if not isinstance(ids, np.ndarray):
        raise IndexInputError(f"ids must be a numpy array, got {type(ids).__name__}")
    if ids.dtype != np.int64:
        raise IndexInputError(f"ids must have dtype int64, got {ids.dtype}")
    if ids.ndim != 1:
        raise IndexInputError(f"ids must have shape (n,), got {ids.shape}")
    if count is not None and len(ids) != count:
        raise IndexInputError(f"got {len(ids)} ids for {count} codes")
    ordered = np.sort(ids)  # far faster than np.unique on millions of ids
    if len(ordered) > 1 and bool(np.any(ordered[1:] == ordered[:-1])):
        raise IndexInputError(f"ids must be unique; repeated: {_repeated(ordered)}")
    return ids


def check_radius(radius: object) -> int:
    """A radius in 0..256."""
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
        raise IndexInputError(f"radius must be an integer, got {type(radius).__name__}")
    if not 0 <= int(radius) <= CODE_BITS:
        raise IndexInputError(f"radius must be between 0 and {CODE_BITS}, got {radius}")
    return int(radius)


def _repeated(ordered: Ids, shown: int = 5) -> str:
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    listed = ", ".join(str(v) for v in repeated[:shown])
    return listed + (f" and {len(repeated) - shown} more" if len(repeated) > shown else "")


def sort_results(ids: Ids, distances: NDArray[np.int64]) -> list[tuple[int, int]]:
    """Pairs sorted by distance, then id."""
    order = np.lexsort((ids, distances))
    return list(zip(ids[order].tolist(), distances[order].tolist(), strict=True))


class HammingIndexBase(ABC):
    """What every index offers. Adds and removes are visible to the next search."""

    kind: ClassVar[str]

    @abstractmethod
    def add(self, ids: Ids, codes: Codes) -> None:
        """Store ``codes[i]`` under ``ids[i]``; an id already held is refused, nothing added."""

    @abstractmethod
    def remove(self, ids: Ids) -> None:
        """Forget these ids; an id not held is refused, nothing removed."""

    @abstractmethod
    def search(self, codes: Codes, radius: int) -> Results:
        """For each query code, the ``(id, distance)`` pairs within ``radius``."""

    @abstractmethod
    def __len__(self) -> int:
        """How many codes the index holds."""

    @abstractmethod
    def __contains__(self, item: object) -> bool:
        """Whether an id is held."""

    @abstractmethod
    def holds(self, ids: Ids) -> NDArray[np.bool_]:
        """For each id, whether the index holds it."""

    @abstractmethod
    def _arrays(self) -> dict[str, NDArray[Any]]:
        """The arrays that make up the index, for ``save``."""

    @abstractmethod
    def _params(self) -> dict[str, int]:
        """The scalar parameters that, with the arrays, make up the index."""

    @classmethod
    @abstractmethod
    def _from_arrays(cls, params: dict[str, int], arrays: dict[str, NDArray[Any]]) -> Self:
        """Rebuild an index from what ``save`` wrote; refuse inconsistent data."""

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to ``path`` atomically (a crash leaves the old file or none)."""
        write_index_file(Path(path), self.kind, self._params(), self._arrays())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, mmap: bool = True) -> Self:
        """Read an index written by ``save``. The arrays are mapped copy-on-write (changes
        stay in memory; the file is only ever replaced whole, never changed in place), so
        loading costs little more than the consistency checks; ``mmap=False`` reads them."""
        params, arrays = read_index_file(Path(path), cls.kind, mmap=mmap)
        try:
            return cls._from_arrays(params, arrays)
        except IndexFileError as exc:
            raise IndexFileError(f"{path}: {exc.message}") from exc


def write_index_file(
    path: Path, kind: str, params: dict[str, int], arrays: dict[str, NDArray[Any]]
) -> None:
    """Write the versioned index format described in this module's docstring."""
    described: list[dict[str, Any]] = []
    offset = 0  # relative to the data start, fixed up once the header size is known
    for name, array in arrays.items():
        described.append(
            {"name": name, "dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
        )
        offset = _aligned(offset + array.nbytes)
    header_size = _header_size(kind, params, described)
    data_start = _aligned(_PREFIX.size + header_size)
    for entry in described:
        entry["offset"] += data_start
    header = _encode_header(kind, params, described, header_size)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".partial")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)))
            handle.write(header)
            for entry, array in zip(described, arrays.values(), strict=True):
                handle.seek(entry["offset"])
                np.ascontiguousarray(array).tofile(handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _header_size(kind: str, params: dict[str, int], described: list[dict[str, Any]]) -> int:
    # Offsets grow when the data start is added; reserve room for the largest digits.
    probe = [{**entry, "offset": entry["offset"] + 2**40} for entry in described]
    return len(json.dumps({"kind": kind, "params": params, "arrays": probe}).encode()) + 16


def _encode_header(
    kind: str, params: dict[str, int], described: list[dict[str, Any]], size: int
) -> bytes:
    text = json.dumps({"kind": kind, "params": params, "arrays": described}).encode()
    return text.ljust(size, b" ")


def _aligned(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


def read_index_file(
    path: Path, kind: str, *, mmap: bool = False
) -> tuple[dict[str, int], dict[str, NDArray[Any]]]:
    """Read and check the header of an index file, then its arrays."""
    source = str(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(_PREFIX.size)
            if len(prefix) < _PREFIX.size:
                raise IndexFileError(f"{source}: too short to be a Reclaim index file")
            magic, version, header_length = _PREFIX.unpack(prefix)
            if magic != MAGIC:
                raise IndexFileError(f"{source}: not a Reclaim index file")
            if version != FORMAT_VERSION:
                raise IndexFileError(
                    f"{source}: index format version {version}; this Reclaim reads "
                    f"version {FORMAT_VERSION}"
                )
            if _PREFIX.size + header_length > size:
                raise IndexFileError(f"{source}: header runs past the end of the file")
            header = _parse_header(source, handle.read(header_length), kind)
            arrays = {
                entry["name"]: _read_array(source, path, handle, entry, size=size, mmap=mmap)
                for entry in header["arrays"]
            }
    except OSError as exc:
        raise IndexFileError(f"{source}: cannot read ({exc.strerror or exc})") from exc
    return header["params"], arrays


def _parse_header(source: str, raw: bytes, kind: str) -> dict[str, Any]:
    try:
        header = json.loads(raw.decode())
        found = header["kind"]
        params = header["params"]
        arrays = header["arrays"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise IndexFileError(f"{source}: corrupt header ({exc})") from exc
    if found != kind:
        raise IndexFileError(f"{source}: holds a {found!r} index, not a {kind!r} index")
    if not isinstance(params, dict) or not all(isinstance(v, int) for v in params.values()):
        raise IndexFileError(f"{source}: corrupt header (parameters)")
    if not isinstance(arrays, list):
        raise IndexFileError(f"{source}: corrupt header (arrays)")
    return dict(header)


def _read_array(
    source: str, path: Path, handle: Any, entry: Any, *, size: int, mmap: bool
) -> NDArray[Any]:
    try:
        name, dtype, shape, offset = entry["name"], entry["dtype"], entry["shape"], entry["offset"]
        if dtype not in _DTYPES or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"array {name!r} has dtype {dtype!r} and shape {shape!r}")
        if not isinstance(offset, int) or offset % _ALIGN:
            raise ValueError(f"array {name!r} has a misaligned offset")
        shape = tuple(shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexFileError(f"{source}: corrupt header ({exc})") from exc
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    if offset + nbytes > size:
        raise IndexFileError(f"{source}: array {name!r} runs past the end of the file (truncated?)")
    if mmap:
        return np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=shape)
    handle.seek(offset)
    return np.fromfile(handle, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize).reshape(shape)
