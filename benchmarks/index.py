"""Radius search over PDQ codes: Reclaim's HammingIndex against brute force and faiss.

For each size (default 1M and 10M codes) and each code distribution, four tools index the
same codes under the same int64 ids and answer the same radius-31 queries:

- Reclaim ``HammingIndex`` (multi-index hashing, exact);
- Reclaim ``FlatIndex`` (numpy brute force, the reference the others are checked with);
- faiss ``IndexBinaryIDMap2(IndexBinaryFlat(256))``: threatexchange's ``PDQFlatHashIndex``;
- faiss ``IndexBinaryIDMap2(IndexBinaryMultiHash(256, 16, 16))`` with ``nflip = 1``:
  threatexchange's ``PDQMultiHashIndex``, what Meta's Hasher-Matcher-Actioner uses.

faiss's binary ``range_search(x, r)`` returns the codes at distance *below* ``r`` (checked
at start-up), so it is called with ``radius + 1``, as threatexchange does, to mean "within
radius". Only the ``range_search`` call is timed for faiss (turning its arrays into
``(id, distance)`` lists is left out); Reclaim's ``search`` returns sorted Python lists.

Queries alternate: a planted near-duplicate (a stored code with ``k`` distinct random bits
flipped, ``k`` uniform in 0..31) then a fresh code from the same distribution, so every
prefix of the query list is half of each. Each query is one ``search`` call; the median
and 99th percentile of those calls are reported. The batch figure is one call with 1,000
queries; tools that are too slow for 1,000 queries (the brute-force ones at 10M) run
fewer and their batch time is scaled to 1,000 (marked ``*``). Exactness: the share of
FlatIndex's ``(id, distance)`` pairs that each tool returns on the queries FlatIndex ran,
and how many pairs it returns that FlatIndex does not.

Distributions:

- ``uniform``: independent random bits.
- ``realistic``: PDQ-like codes from a Gaussian fitted to real photos. Each photo in
  ``samples/photos`` is decoded to luma with ``reclaim.hashing.media.decode_image`` and
  altered many times (random crop keeping 60-100% of each side, rescale by 0.4-1.6,
  mirror half the time, gain 0.6-1.4, offset -40..40, gamma 0.7-1.4); each variant's
  16x16 PDQ DCT block (``pdq.dct16(pdq.downsample(luma))``) is flattened and scaled to
  unit length (PDQ's bits do not change under scaling). The mean and 256x256 covariance
  of those vectors define a Gaussian; codes are drawn from it in chunks (through its
  eigen-factor) and turned into bits exactly as PDQ does: a bit is set where the
  coefficient is above the vector's median (its 128th smallest value), packed in
  ``hex_from_dct``'s order (checked against ``hex_from_dct`` at start-up). Then 10% of
  the stored codes are replaced by near-duplicates of other stored codes (0..12 bits
  flipped), as banks of real re-uploads contain. Fresh queries come from the Gaussian.

Also measured: bytes of memory per stored code (Reclaim: the index's arrays; all tools:
the growth of the process's resident memory while building, ids included, the only
figure for faiss), build time, save (with fsync) and load time, twice: straight after
the save, then again (HammingIndex also memory-mapped, from a second copy), and
the time of single adds (new ids) and removes (half just-added, half stored ids): 100
each for HammingIndex and faiss multi-hash, 100 adds and 5 removes for faiss flat, 5 of
each for FlatIndex; faiss multi-hash cannot remove. Then HammingIndex is filled to its
last spare row and one more add, which rebuilds it at twice the rows, is timed. The
notes also time the id check that ``HammingIndex.build`` starts with, and ``np.unique`` and
``np.sort`` on the same ids.

Everything runs on one core and one thread: the process is pinned to one CPU,
threadpoolctl limits the numeric libraries to one thread and faiss's OpenMP is set to
one thread; the garbage collector is paused around timed calls.

Run ``.venv/bin/python benchmarks/index.py [--sizes 1000000,10000000] [--queries N]
[--distribution uniform,realistic] [--json PATH]`` (``make bench`` runs it with the
defaults). One index is held at a time and big arrays are freed between cases; the
default run peaks at about 6.5 GB resident and takes about 14 minutes on the machine
described in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import faiss
import numpy as np
from common import machine_info as common_machine_info
from common import pin_to_one_cpu, print_table, write_json
from numpy.typing import NDArray
from PIL import Image
from threadpoolctl import threadpool_info, threadpool_limits

from reclaim.hashing.media import MediaLimits, decode_image, is_image_name
from reclaim.hashing.pdq import dct16, downsample, hex_from_dct
from reclaim.index import FlatIndex, HammingIndex
from reclaim.index.base import check_ids

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "samples" / "photos"
RADIUS: Final = 31
DEFAULT_SIZES: Final = (1_000_000, 10_000_000)
DISTRIBUTIONS: Final = ("uniform", "realistic")
DEFAULT_QUERIES: Final = 1000
BATCH: Final = 1000
SEED: Final = 20240531
#: Brute-force tools run ``max(MIN_SLOW_QUERIES, WORK // size)`` queries at most.
FLAT_INDEX_WORK: Final = 200_000_000
FAISS_FLAT_WORK: Final = 2_000_000_000
MIN_SLOW_QUERIES: Final = 20
#: Batch calls are repeated until this many runs or this many seconds; median reported.
BATCH_RUNS: Final = 3
BATCH_SECONDS: Final = 10.0
FAST_UPDATES: Final = 100
SLOW_UPDATES: Final = 5
VARIANTS_PER_PHOTO: Final = 160
DUPLICATE_SHARE: Final = 0.10
DUPLICATE_MAX_FLIPS: Final = 12
PLANTED_MAX_FLIPS: Final = 31
CHUNK: Final = 1 << 18
PAIRS: Final = 100_000
FIRST_ID: Final = 10**12

Codes = NDArray[np.uint8]
Ids = NDArray[np.int64]
Pairs = list[tuple[int, int]]
Results = list[Pairs]
Drawer = Callable[[np.random.Generator, int], Codes]

HAMMING = "Reclaim HammingIndex"
FLAT = "Reclaim FlatIndex"
FAISS_FLAT = "faiss IndexBinaryFlat"
FAISS_MULTI = "faiss IndexBinaryMultiHash"


# --------------------------------------------------------------------------------------
# Code distributions


def uniform_codes(rng: np.random.Generator, count: int) -> Codes:
    return rng.integers(0, 256, size=(count, 32), dtype=np.uint8)


def codes_from_dct(rows: NDArray[np.floating[Any]]) -> Codes:
    """PDQ's bits of each row of 256 DCT coefficients, vectorised ``hex_from_dct``:
    set where above the row's median (128th smallest), packed last coefficient first."""
    median = np.partition(rows, 127, axis=1)[:, 127:128]
    return np.packbits((rows > median)[:, ::-1], axis=1)


def flip_bits(codes: Codes, counts: NDArray[np.int64], rng: np.random.Generator) -> Codes:
    """A copy of ``codes`` with ``counts[i]`` distinct random bits of row ``i`` flipped."""
    out = codes.copy()
    most = int(counts.max(initial=0))
    if most == 0:
        return out
    for start in range(0, len(out), CHUNK):
        stop = min(start + CHUNK, len(out))
        keys = rng.random((stop - start, 256), dtype=np.float32)
        positions = np.argpartition(keys, most - 1, axis=1)[:, :most]
        chosen = np.arange(most) < counts[start:stop, None]
        mask = np.zeros((stop - start, 256), dtype=bool)
        np.put_along_axis(mask, positions, chosen, axis=1)
        out[start:stop] ^= np.packbits(mask, axis=1)
    return out


def photo_variant(luma: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    """A random crop, rescale, mirror and brightness/contrast/gamma change of a luma array."""
    height, width = luma.shape
    crop_h = max(16, int(height * rng.uniform(0.6, 1.0)))
    crop_w = max(16, int(width * rng.uniform(0.6, 1.0)))
    top = int(rng.integers(0, height - crop_h + 1))
    left = int(rng.integers(0, width - crop_w + 1))
    scale = rng.uniform(0.4, 1.6)
    size = (max(16, round(crop_w * scale)), max(16, round(crop_h * scale)))
    cropped = Image.fromarray(np.ascontiguousarray(luma[top : top + crop_h, left : left + crop_w]))
    out = np.asarray(cropped.resize(size, Image.Resampling.BILINEAR), dtype=np.float64)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    out = 255.0 * (out / 255.0) ** rng.uniform(0.7, 1.4)
    out = out * rng.uniform(0.6, 1.4) + rng.uniform(-40.0, 40.0)
    return np.ascontiguousarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


@dataclass
class RealisticModel:
    """A Gaussian over unit-length PDQ DCT blocks, fitted to variants of real photos."""

    mean: NDArray[np.float32]
    factor: NDArray[np.float32]
    photos: int
    variants: int
    real_pair_mean: float
    model_pair_mean: float
    packing_checked: int
    explained_by_10: float

    def draw_dct(self, rng: np.random.Generator, count: int) -> NDArray[np.float32]:
        normal = rng.standard_normal((count, 256), dtype=np.float32)
        rows: NDArray[np.float32] = normal @ self.factor.T
        rows += self.mean
        return rows

    def fresh(self, rng: np.random.Generator, count: int) -> Codes:
        """Codes straight from the Gaussian, in chunks to bound memory."""
        out = np.empty((count, 32), dtype=np.uint8)
        for start in range(0, count, CHUNK):
            stop = min(start + CHUNK, count)
            out[start:stop] = codes_from_dct(self.draw_dct(rng, stop - start))
        return out

    def stored(self, rng: np.random.Generator, count: int) -> Codes:
        """Fresh codes of which ``DUPLICATE_SHARE`` are near-duplicates of the others."""
        duplicates = round(count * DUPLICATE_SHARE)
        base = self.fresh(rng, count - duplicates)
        sources = rng.integers(0, len(base), duplicates)
        flips = rng.integers(0, DUPLICATE_MAX_FLIPS + 1, duplicates)
        codes = np.concatenate([base, flip_bits(base[sources], flips, rng)])
        del base
        return codes[rng.permutation(count)]


def fit_realistic_model(folder: Path, rng: np.random.Generator) -> RealisticModel:
    limits = MediaLimits()
    photos = [
        decode_image(path.read_bytes(), str(path), limits).luma
        for path in sorted(folder.iterdir())
        if path.is_file() and is_image_name(path)
    ]
    blocks, owners = [], []
    for owner, luma in enumerate(photos):
        for _ in range(VARIANTS_PER_PHOTO):
            block = dct16(downsample(photo_variant(luma, rng))).ravel()
            blocks.append(block / np.linalg.norm(block))
            owners.append(owner)
    real = np.array(blocks)
    mean = real.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(real, rowvar=False))
    values = np.clip(values, 0.0, None)
    factor = vectors * np.sqrt(values)
    model = RealisticModel(
        mean=mean.astype(np.float32),
        factor=factor.astype(np.float32),
        photos=len(photos),
        variants=len(real),
        real_pair_mean=0.0,
        model_pair_mean=0.0,
        packing_checked=0,
        explained_by_10=float(values[::-1][:10].sum() / values.sum()),
    )
    # The vectorised packing must be PDQ's: compare with hex_from_dct, row by row.
    drawn = model.draw_dct(rng, 64).astype(np.float64)
    for rows in (real[:64], drawn):
        ours = codes_from_dct(rows)
        for row, code in zip(rows, ours, strict=True):
            if bytes.fromhex(hex_from_dct(row.reshape(16, 16))) != code.tobytes():
                raise RuntimeError("vectorised PDQ bits differ from hex_from_dct")
    model.packing_checked = 128
    real_codes = codes_from_dct(real)
    first, second = rng.integers(0, len(real), (2, PAIRS))
    between = np.array(owners)[first] != np.array(owners)[second]
    model.real_pair_mean = float(
        pair_distances(real_codes[first[between]], real_codes[second[between]]).mean()
    )
    model_codes = model.fresh(rng, 20_000)
    model.model_pair_mean = float(pair_distances(model_codes[:10_000], model_codes[10_000:]).mean())
    return model


def pair_distances(first: Codes, second: Codes) -> NDArray[np.int64]:
    distances: NDArray[np.int64] = np.bitwise_count(first ^ second).sum(axis=1, dtype=np.int64)
    return distances


@dataclass
class DistributionSummary:
    """How far the stored codes are from uniform random bits."""

    pair_mean: float
    pair_sd: float
    pair_p1: float
    pair_p50: float
    pairs_within_radius: float
    bit_rate_min: float
    bit_rate_max: float
    bucket_load_16: float
    bucket_load_index: float
    index_bits: int
    largest_bucket_16: int
    planted_matches: float = 0.0
    fresh_matches: float = 0.0
    fresh_with_match: float = 0.0


def block_keys(words: NDArray[np.uint64], start: int, bits: int) -> NDArray[np.int64]:
    """Block keys as ``kernels.block_key`` reads them: bit ``i`` is bit ``i % 64`` of
    little-endian word ``i // 64``."""
    word, shift = divmod(start, 64)
    value = words[:, word] >> np.uint64(shift)
    if shift + bits > 64:
        value = value | (words[:, word + 1] << np.uint64(64 - shift))
    return (value & np.uint64((1 << bits) - 1)).astype(np.int64)


def bucket_load(words: NDArray[np.uint64], bits: int, blocks: int) -> tuple[float, int]:
    """Mean size of the bucket a stored code falls in, over ``blocks`` tables of ``bits``
    bits, divided by that mean for uniform codes; and the largest bucket seen."""
    count = len(words)
    uniform = 1 + (count - 1) / 2**bits
    loads, largest = [], 0
    for block in range(blocks):
        sizes = np.bincount(block_keys(words, block * bits, bits), minlength=1 << bits)
        loads.append(float((sizes.astype(np.float64) ** 2).sum() / count))
        largest = max(largest, int(sizes.max()))
    return statistics.mean(loads) / uniform, largest


def summarise(codes: Codes, index_bits: int, rng: np.random.Generator) -> DistributionSummary:
    first, second = rng.integers(0, len(codes), (2, PAIRS))
    distances = pair_distances(codes[first], codes[second])
    rates = np.zeros(256)
    for start in range(0, len(codes), CHUNK):
        rates += np.unpackbits(codes[start : start + CHUNK], axis=1).sum(axis=0)
    rates /= len(codes)
    words = np.ascontiguousarray(codes).view("<u8").reshape(-1, 4)
    load_16, largest_16 = bucket_load(words, 16, 16)
    load_index, _ = bucket_load(words, index_bits, 256 // index_bits)
    return DistributionSummary(
        pair_mean=float(distances.mean()),
        pair_sd=float(distances.std()),
        pair_p1=float(np.percentile(distances, 1)),
        pair_p50=float(np.percentile(distances, 50)),
        pairs_within_radius=float(np.mean(distances <= RADIUS)),
        bit_rate_min=float(rates.min()),
        bit_rate_max=float(rates.max()),
        bucket_load_16=load_16,
        bucket_load_index=load_index,
        index_bits=index_bits,
        largest_bucket_16=largest_16,
    )


def make_queries(
    codes: Codes, fresh: Drawer, rng: np.random.Generator, count: int
) -> tuple[Codes, NDArray[np.int64]]:
    """Planted near-duplicates at even positions, fresh codes at odd ones; the rows
    planted from (-1 for fresh)."""
    planted = (count + 1) // 2
    sources = rng.choice(len(codes), planted, replace=False)
    flips = rng.integers(0, PLANTED_MAX_FLIPS + 1, planted)
    near = flip_bits(codes[sources], flips, rng)
    if not np.array_equal(pair_distances(near, codes[sources]), flips):
        raise RuntimeError("planted queries are not at the intended distances")
    queries = np.empty((count, 32), dtype=np.uint8)
    queries[0::2] = near
    queries[1::2] = fresh(rng, count - planted)
    origin = np.full(count, -1, dtype=np.int64)
    origin[0::2] = sources
    return queries, origin


# --------------------------------------------------------------------------------------
# Measuring


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


_LIBC = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back, so RSS growth measures the next build."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def time_single(search: Callable[[Codes], Any], queries: Codes) -> tuple[list[float], list[Any]]:
    """Seconds of each one-query call, and what each returned."""
    times, answers = [], []
    gc.collect()
    gc.disable()
    try:
        for index in range(len(queries)):
            one = queries[index : index + 1]
            start = time.perf_counter()
            answer = search(one)
            times.append(time.perf_counter() - start)
            answers.append(answer)
    finally:
        gc.enable()
    return times, answers


def time_batch(search: Callable[[Codes], Any], queries: Codes) -> float:
    """Median seconds of one call over all ``queries`` (up to BATCH_RUNS runs)."""
    runs: list[float] = []
    spent = 0.0
    while len(runs) < BATCH_RUNS and (not runs or spent < BATCH_SECONDS):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            search(queries)
            runs.append(time.perf_counter() - start)
        finally:
            gc.enable()
        spent += runs[-1]
    return statistics.median(runs)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def faiss_results(answer: tuple[Any, Any, Any]) -> Results:
    limits, distances, labels = answer
    out = []
    for start, stop in itertools.pairwise(limits):
        pairs = list(zip(labels[start:stop].tolist(), distances[start:stop].tolist(), strict=True))
        out.append(sorted(pairs, key=lambda pair: (pair[1], pair[0])))
    return out


# --------------------------------------------------------------------------------------
# Results


@dataclass
class ToolResult:
    tool: str
    queries: int = 0
    median_ms: float = 0.0
    p99_ms: float = 0.0
    batch_s: float = 0.0
    batch_queries: int = 0
    bytes_per_code: float | None = None
    rss_per_code: float = 0.0
    build_s: float = 0.0
    file_mb: float = 0.0
    save_s: float = 0.0
    load_s: float = 0.0
    load_again_s: float = 0.0
    load_mmap_s: float | None = None
    load_mmap_again_s: float | None = None
    load_identical: bool = True
    adds: int = 0
    add_median_ms: float = 0.0
    add_max_ms: float = 0.0
    removes: int = 0
    remove_median_ms: float | None = None
    remove_max_ms: float | None = None
    remove_note: str = ""
    recall: float = 0.0
    extra_pairs: int = 0
    compared_queries: int = 0
    notes: list[str] = field(default_factory=list)
    first_results: Results = field(default_factory=list, repr=False)
    match_counts: list[int] = field(default_factory=list, repr=False)
    add_over_1ms: int = 0
    remove_over_1ms: int = 0
    slowest_add: int = 0
    slowest_remove: int = 0

    @property
    def batch_extrapolated(self) -> bool:
        return self.batch_queries != BATCH


@dataclass
class Case:
    size: int
    distribution: str
    generate_s: float
    summary: DistributionSummary
    tools: list[ToolResult]
    growth_add_s: float = 0.0
    growth_bytes_per_code: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class Workload:
    ids: Ids
    codes: Codes
    queries: Codes
    origin: NDArray[np.int64]
    new_codes: Codes
    reference_count: int
    folder: Path

    @property
    def size(self) -> int:
        return len(self.ids)


def slow_query_count(size: int, work: int, available: int) -> int:
    count = max(MIN_SLOW_QUERIES, work // size)
    return min(available, count - count % 2)


def measure_search(
    result: ToolResult,
    search: Callable[[Codes], Any],
    convert: Callable[[Any], Results],
    work: Workload,
    count: int,
) -> None:
    """Single-query times, batch time and the results on the reference queries."""
    queries = work.queries[:count]
    search(queries[:2])  # warm-up: compiled code, caches
    times, answers = time_single(search, queries)
    result.queries = count
    result.median_ms = statistics.median(times) * 1000
    result.p99_ms = float(np.percentile(times, 99)) * 1000
    converted = [convert(answer)[0] for answer in answers]
    result.match_counts = [len(pairs) for pairs in converted]
    result.first_results = converted[: work.reference_count]
    result.batch_queries = min(count, BATCH)
    batch = time_batch(search, queries[: result.batch_queries])
    result.batch_s = batch * BATCH / result.batch_queries


def time_adds(add: Callable[[Ids, Codes], Any], ids: Ids, codes: Codes) -> list[float]:
    """Seconds of adding each code in its own call, garbage collector paused."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for row in range(len(ids)):
            start = time.perf_counter()
            add(ids[row : row + 1], codes[row : row + 1])
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return times


def time_removes(remove: Callable[[Ids], Any], victims: Ids) -> list[float]:
    """Seconds of removing each id in its own call, garbage collector paused."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for row in range(len(victims)):
            start = time.perf_counter()
            remove(victims[row : row + 1])
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return times


def measure_loads(
    load: Callable[[], Any], same: Callable[[Any], bool]
) -> tuple[float, float, bool]:
    """Seconds to load twice: first straight after the save, then again (the file now in
    the page cache); and whether each loaded index answered as the original did."""
    times, identical = [], True
    for _ in range(2):
        release_memory()
        seconds, loaded = timed(load)
        times.append(seconds)
        identical &= same(loaded)
        del loaded
    release_memory()
    return times[0], times[1], identical


def record_updates(result: ToolResult, adds: list[float], removes: list[float] | None) -> None:
    result.adds = len(adds)
    result.add_median_ms = statistics.median(adds) * 1000
    result.add_max_ms = max(adds) * 1000
    result.add_over_1ms = sum(t > 0.001 for t in adds)
    result.slowest_add = int(np.argmax(adds)) + 1
    if removes is not None:
        result.removes = len(removes)
        result.remove_median_ms = statistics.median(removes) * 1000
        result.remove_max_ms = max(removes) * 1000
        result.remove_over_1ms = sum(t > 0.001 for t in removes)
        result.slowest_remove = int(np.argmax(removes)) + 1


def new_ids(work: Workload, count: int) -> Ids:
    return FIRST_ID + 3 * work.size + np.arange(count, dtype=np.int64)


def victims(work: Workload, added: Ids, count: int, rng: np.random.Generator) -> Ids:
    """Half just-added ids, half stored ones, in random order."""
    old = work.ids[rng.choice(work.size, count - count // 2, replace=False)]
    return rng.permutation(np.concatenate([added[: count // 2], old]))


# --------------------------------------------------------------------------------------
# The four tools


def bench_hamming(
    work: Workload, rng: np.random.Generator, case_notes: list[str]
) -> tuple[ToolResult, int]:
    """HammingIndex's figures, and the width in bits of its hash tables' keys."""
    result = ToolResult(HAMMING)
    release_memory()
    before = rss_bytes()
    result.build_s, built = timed(lambda: HammingIndex.build(work.ids, work.codes))
    index: HammingIndex = built
    del built
    release_memory()  # freed temporaries are not the index's
    result.rss_per_code = (rss_bytes() - before) / work.size
    result.bytes_per_code = index.nbytes / work.size
    table_bits = index._layout.bits  # private: only to describe the distribution
    # build() first checks that the ids are unique (check_ids); time that step alone,
    # and the two ways numpy offers to do it.
    check_s, _ = timed(lambda: check_ids(work.ids, work.size))
    unique_s, _ = timed(lambda: np.unique(work.ids))
    sort_s, _ = timed(lambda: np.sort(work.ids))
    case_notes.append(
        f"HammingIndex.build: its id check (reclaim.index.base.check_ids) alone takes "
        f"{check_s:.2f} s of the {result.build_s:.2f} s; on these {work.size:,} ids np.unique "
        f"takes {unique_s:.2f} s, np.sort {sort_s:.3f} s"
    )

    def search(codes: Codes) -> Results:
        return index.search(codes, RADIUS)

    measure_search(result, search, lambda answer: answer, work, len(work.queries))
    batch = index.search(work.queries, RADIUS)
    some = min(50, len(work.queries))
    single_again = [index.search(work.queries[i : i + 1], RADIUS)[0] for i in range(some)]
    if batch[:some] != single_again:
        result.notes.append("batch results differ from single-query results")

    # Two copies, so that each way of loading has a first load straight after a save.
    path, copy = work.folder / "hamming.idx", work.folder / "hamming-copy.idx"
    result.save_s, _ = timed(lambda: index.save(path))
    index.save(copy)
    result.file_mb = path.stat().st_size / 1e6
    check = work.queries[:50]
    expected = index.search(check, RADIUS)

    def same(loaded: HammingIndex) -> bool:
        return bool(loaded.search(check, RADIUS) == expected)

    result.load_s, result.load_again_s, read_same = measure_loads(
        lambda: HammingIndex.load(path, mmap=False), same
    )
    result.load_mmap_s, result.load_mmap_again_s, mapped_same = measure_loads(
        lambda: HammingIndex.load(copy, mmap=True), same
    )
    result.load_identical = read_same and mapped_same
    path.unlink()
    copy.unlink()

    added = new_ids(work, FAST_UPDATES)
    adds = time_adds(index.add, added, work.new_codes[:FAST_UPDATES])
    gone = victims(work, added, FAST_UPDATES, rng)
    removes = time_removes(index.remove, gone)
    record_updates(result, adds, removes)
    gone_set = set(gone.tolist())
    still = index.search(work.codes[np.flatnonzero(np.isin(work.ids, gone))], 0)
    if any(i in gone_set for pairs in still for i, _ in pairs) or any(i in index for i in gone):
        result.notes.append("removed codes are still found")

    # Growth: the add that finds every row used rebuilds the index at twice the size.
    free_rows = index._layout.capacity - index._rows  # private: how many rows are left
    filler = flip_bits(
        work.codes[rng.integers(0, work.size, free_rows)],
        np.full(free_rows, 8, dtype=np.int64),
        rng,
    )
    index.add(new_ids(work, FAST_UPDATES + free_rows)[FAST_UPDATES:], filler)
    del filler
    last = new_ids(work, FAST_UPDATES + free_rows + 1)[-1:]
    seconds, _ = timed(lambda: index.add(last, work.new_codes[-1:]))
    case_notes.append(
        f"HammingIndex growth: after {free_rows:,} more adds fill its spare rows, the next "
        f"single add rebuilds it in {seconds:.2f} s; it then holds {len(index):,} codes in "
        f"{index.nbytes / len(index):.0f} bytes/code (was {result.bytes_per_code:.0f})"
    )
    return result, table_bits  # the index is freed on return; the caller collects


def bench_flat(work: Workload, rng: np.random.Generator) -> ToolResult:
    result = ToolResult(FLAT)
    index = FlatIndex()
    release_memory()
    before = rss_bytes()
    result.build_s, _ = timed(lambda: index.add(work.ids, work.codes))
    release_memory()  # freed temporaries are not the index's
    result.rss_per_code = (rss_bytes() - before) / work.size
    # private: the arrays FlatIndex holds, as HammingIndex.nbytes counts its own
    result.bytes_per_code = sum(a.nbytes for a in index._arrays().values()) / work.size

    def search(codes: Codes) -> Results:
        return index.search(codes, RADIUS)

    measure_search(result, search, lambda answer: answer, work, work.reference_count)

    path = work.folder / "flat.idx"
    result.save_s, _ = timed(lambda: index.save(path))
    result.file_mb = path.stat().st_size / 1e6
    check = work.queries[:4]
    expected = index.search(check, RADIUS)
    result.load_s, result.load_again_s, result.load_identical = measure_loads(
        lambda: FlatIndex.load(path, mmap=False),
        lambda loaded: bool(loaded.search(check, RADIUS) == expected),
    )
    path.unlink()

    added = new_ids(work, SLOW_UPDATES)
    adds = time_adds(index.add, added, work.new_codes[:SLOW_UPDATES])
    removes = time_removes(index.remove, victims(work, added, SLOW_UPDATES, rng))
    record_updates(result, adds, removes)
    return result


def check_faiss_radius() -> None:
    """faiss binary range_search(x, r) must return distances < r (so we pass radius + 1)."""
    rng = np.random.default_rng(0)
    codes = uniform_codes(rng, 64)
    query = flip_bits(codes[:1], np.array([RADIUS]), rng)
    for index in (faiss.IndexBinaryFlat(256), faiss.IndexBinaryMultiHash(256, 16, 16)):
        if isinstance(index, faiss.IndexBinaryMultiHash):
            index.nflip = 1
        index.add(codes)
        limits, _, _ = index.range_search(query, RADIUS)
        below = limits[1] - limits[0]
        limits, distances, labels = index.range_search(query, RADIUS + 1)
        if below != 0 or 0 not in labels.tolist() or distances.max(initial=0) > RADIUS:
            raise RuntimeError(f"unexpected range_search semantics in {type(index).__name__}")


def bench_faiss(work: Workload, rng: np.random.Generator, multi: bool) -> ToolResult:
    result = ToolResult(FAISS_MULTI if multi else FAISS_FLAT)
    release_memory()
    before = rss_bytes()

    def build() -> Any:
        inner: Any
        if multi:
            inner = faiss.IndexBinaryMultiHash(256, 16, 16)
            inner.nflip = 1
        else:
            inner = faiss.IndexBinaryFlat(256)
        index = faiss.IndexBinaryIDMap2(inner)  # caller's ids, as threatexchange does
        index.add_with_ids(work.codes, work.ids)
        return index

    result.build_s, index = timed(build)
    release_memory()  # freed temporaries are not the index's
    result.rss_per_code = (rss_bytes() - before) / work.size

    def search(codes: Codes) -> Any:
        return index.range_search(codes, RADIUS + 1)  # distances < RADIUS + 1

    count = (
        len(work.queries)
        if multi
        else slow_query_count(work.size, FAISS_FLAT_WORK, len(work.queries))
    )
    measure_search(result, search, faiss_results, work, count)

    path = work.folder / "faiss.index"

    def save() -> None:
        faiss.write_index_binary(index, str(path))
        fsync_file(path)

    result.save_s, _ = timed(save)
    result.file_mb = path.stat().st_size / 1e6
    check = work.queries[:10]
    expected = faiss_results(index.range_search(check, RADIUS + 1))
    result.load_s, result.load_again_s, result.load_identical = measure_loads(
        lambda: faiss.read_index_binary(str(path)),
        lambda loaded: faiss_results(loaded.range_search(check, RADIUS + 1)) == expected,
    )
    path.unlink()

    adds_count = FAST_UPDATES
    added = new_ids(work, adds_count)
    adds = time_adds(lambda i, c: index.add_with_ids(c, i), added, work.new_codes[:adds_count])
    gone = victims(work, added, SLOW_UPDATES, rng)
    try:
        removes: list[float] | None = time_removes(index.remove_ids, gone)
    except RuntimeError as exc:
        removes = None
        result.remove_note = "not supported"
        result.notes.append(f"remove_ids: {str(exc).split(':')[-1].strip()}")
    record_updates(result, adds, removes)
    return result


# --------------------------------------------------------------------------------------
# A case: one size, one distribution


def run_case(
    size: int, distribution: str, query_count: int, model: RealisticModel | None, folder: Path
) -> Case:
    rng = np.random.default_rng([SEED, size, DISTRIBUTIONS.index(distribution)])
    fresh: Drawer = uniform_codes if model is None else model.fresh
    start = time.perf_counter()
    codes = uniform_codes(rng, size) if model is None else model.stored(rng, size)
    generate_s = time.perf_counter() - start
    ids = FIRST_ID + 3 * np.arange(size, dtype=np.int64)
    queries, origin = make_queries(codes, fresh, rng, query_count)
    work = Workload(
        ids=ids,
        codes=codes,
        queries=queries,
        origin=origin,
        new_codes=fresh(rng, FAST_UPDATES + 1),
        reference_count=slow_query_count(size, FLAT_INDEX_WORK, query_count),
        folder=folder,
    )
    notes: list[str] = []
    hamming_result, table_bits = bench_hamming(work, rng, notes)
    release_memory()
    summary = summarise(codes, table_bits, rng)
    tools = [hamming_result]
    benches: list[Callable[[], ToolResult]] = [
        lambda: bench_flat(work, rng),
        lambda: bench_faiss(work, rng, multi=False),
        lambda: bench_faiss(work, rng, multi=True),
    ]
    for bench in benches:
        tools.append(bench())
        release_memory()  # one index at a time
    reference = tools[1].first_results
    for tool in tools:
        compare(tool, reference)
    planted = tools[0].match_counts[0::2]
    fresh_counts = tools[0].match_counts[1::2]
    summary.planted_matches = statistics.mean(planted)
    summary.fresh_matches = statistics.mean(fresh_counts)
    summary.fresh_with_match = float(np.mean([count > 0 for count in fresh_counts]))
    return Case(size, distribution, generate_s, summary, tools, notes=notes)


def compare(tool: ToolResult, reference: Results) -> None:
    """Share of the reference's (id, distance) pairs the tool returned, and its extras."""
    expected = found = extra = 0
    for ours, theirs in zip(tool.first_results, reference, strict=False):
        mine, truth = set(ours), set(theirs)
        expected += len(truth)
        found += len(mine & truth)
        extra += len(mine - truth)
    tool.compared_queries = min(len(tool.first_results), len(reference))
    tool.recall = found / expected if expected else 1.0
    tool.extra_pairs = extra


# --------------------------------------------------------------------------------------
# Output


def memory_total() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "?"


def code_version() -> str:
    """The git commit of the Reclaim code measured, and any uncommitted files in it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "reclaim"],
            check=False,
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
    except OSError:
        return "?"
    dirty = [line[3:] for line in changed if line.strip()]
    return f"git {commit or '?'}" + (f" + uncommitted {', '.join(dirty)}" if dirty else "")


def machine_info() -> dict[str, str]:
    info = common_machine_info(("numpy", "numba", "faiss-cpu", "threadpoolctl"))
    info["memory"] = memory_total()
    info["reclaim"] = code_version()
    return info


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def print_case(case: Case) -> None:
    s = case.summary
    print(
        f"\nCodes: {case.size:,} {case.distribution} codes generated in "
        f"{case.generate_s:.1f} s; ids {FIRST_ID} + 3 * row"
    )
    print(
        f"  random pairs ({PAIRS:,}): mean distance {s.pair_mean:.1f} bits (sd {s.pair_sd:.1f}), "
        f"median {s.pair_p50:.0f}, 1st percentile {s.pair_p1:.0f}, "
        f"{s.pairs_within_radius:.3%} within {RADIUS}"
    )
    print(f"  share of codes with each bit set: {s.bit_rate_min:.3f} to {s.bit_rate_max:.3f}")
    print(
        f"  bucket skew (mean size of the bucket a stored code is in, / that for uniform "
        f"codes): {s.bucket_load_16:.2f}x over faiss's 16 tables of 16 bits "
        f"(largest bucket {s.largest_bucket_16:,}), {s.bucket_load_index:.2f}x over "
        f"HammingIndex's {256 // s.index_bits} tables of {s.index_bits} bits"
    )
    shown = len(case.tools[0].match_counts)
    print(
        f"  matches within {RADIUS} per query (HammingIndex, first {shown} queries): "
        f"{s.planted_matches:.2f} per planted query, {s.fresh_matches:.2f} per fresh "
        f"query ({s.fresh_with_match:.1%} of fresh queries match something)"
    )
    hamming = case.tools[0]
    print(f"\nSearch, radius {RADIUS}, one thread ({case.size:,} codes, {case.distribution})")
    print_table(
        (
            "tool",
            "queries",
            "median ms",
            "p99 ms",
            "1,000 queries, one call, s",
            f"FlatIndex pairs found ({hamming.compared_queries} queries)",
            "extra pairs",
        ),
        [
            (
                t.tool,
                str(t.queries),
                ms(t.median_ms),
                ms(t.p99_ms),
                seconds(t.batch_s) + ("*" if t.batch_extrapolated else ""),
                "reference" if t.tool == FLAT else f"{t.recall:.2%}",
                "-" if t.tool == FLAT else str(t.extra_pairs),
            )
            for t in case.tools
        ],
    )
    extrapolated = [t for t in case.tools if t.batch_extrapolated]
    if extrapolated:
        print(
            "  * scaled to 1,000 from one call with "
            + ", ".join(f"{t.batch_queries} ({t.tool})" for t in extrapolated)
        )
    few = [t for t in case.tools if t.queries < 100]
    if few:
        print(
            "  p99 of fewer than 100 calls is about their maximum: "
            + ", ".join(f"{t.tool} ({t.queries})" for t in few)
        )
    by_name = {t.tool: t for t in case.tools}
    print(
        f"  median ratios: faiss multi-hash / HammingIndex "
        f"{by_name[FAISS_MULTI].median_ms / hamming.median_ms:.1f}x, faiss flat / "
        f"HammingIndex {by_name[FAISS_FLAT].median_ms / hamming.median_ms:.1f}x, "
        f"FlatIndex / HammingIndex {by_name[FLAT].median_ms / hamming.median_ms:.0f}x"
    )

    print(f"\nMemory, build, files ({case.size:,} codes, {case.distribution})")
    print_table(
        (
            "tool",
            "bytes/code",
            "RSS growth/code",
            "build s",
            "file MB",
            "save s",
            "load s",
            "load again s",
            "load mmap s",
            "mmap again s",
            "loaded = original",
        ),
        [
            (
                t.tool,
                "-" if t.bytes_per_code is None else f"{t.bytes_per_code:.1f}",
                f"{t.rss_per_code:.1f}",
                seconds(t.build_s),
                f"{t.file_mb:.0f}",
                seconds(t.save_s),
                seconds(t.load_s),
                seconds(t.load_again_s),
                seconds(t.load_mmap_s),
                seconds(t.load_mmap_again_s),
                "yes" if t.load_identical else "NO",
            )
            for t in case.tools
        ],
    )

    print(
        "  bytes/code: the index's own arrays (HammingIndex.nbytes; FlatIndex's ids and codes)."
        " RSS growth: resident memory the build added (faiss: ids map included). Save includes"
        " fsync. load s: the first load after the save (mmap=False: arrays read into memory),"
        " load again: the second; HammingIndex is also loaded with mmap=True from a second copy"
        " of the file, first and second time"
    )
    print(f"\nUpdates, one code per call ({case.size:,} codes, {case.distribution})")
    print_table(
        (
            "tool",
            "adds",
            "add median ms",
            "max ms (call #)",
            "> 1 ms",
            "removes",
            "remove median ms",
            "max ms (call #)",
            "> 1 ms",
        ),
        [
            (
                t.tool,
                str(t.adds),
                ms(t.add_median_ms),
                f"{ms(t.add_max_ms)} (#{t.slowest_add})",
                str(t.add_over_1ms),
                str(t.removes) if t.remove_median_ms is not None else t.remove_note,
                ms(t.remove_median_ms),
                "-" if t.remove_max_ms is None else f"{ms(t.remove_max_ms)} (#{t.slowest_remove})",
                "-" if t.remove_max_ms is None else str(t.remove_over_1ms),
            )
            for t in case.tools
        ],
    )
    print(
        "  each add is a new id; removes are half just-added ids, half stored ones; the "
        "garbage collector is paused"
    )
    for note in case.notes + [f"{t.tool}: {note}" for t in case.tools for note in t.notes]:
        print(f"  {note}")


def goal_rows(cases: Sequence[Case]) -> Iterator[tuple[str, str, str, str]]:
    """The issue's goals, checked on the largest size (the batch goal on 1M codes)."""
    largest = max(case.size for case in cases)
    for case in cases:
        tools = {t.tool: t for t in case.tools}
        h = tools[HAMMING]
        where = f"{case.size / 1e6:g}M {case.distribution}"
        if case.size == 1_000_000:
            yield (
                f"batch, 1,000 queries ({where})",
                "<= 0.2 s",
                f"{h.batch_s:.3f} s",
                yesno(h.batch_s <= 0.2),
            )
        if case.size != largest:
            continue
        ratio = tools[FAISS_MULTI].median_ms / h.median_ms
        worst_update = max(h.add_max_ms, h.remove_max_ms or 0.0)
        bytes_per_code = h.bytes_per_code or 0.0
        yield f"median query ({where})", "<= 1 ms", f"{h.median_ms:.3f} ms", yesno(h.median_ms <= 1)
        yield f"vs faiss multi-hash ({where})", ">= 25x", f"{ratio:.1f}x", yesno(ratio >= 25)
        yield (
            f"exact ({where})",
            "100% of FlatIndex",
            f"{h.recall:.2%}, {h.extra_pairs} extra",
            yesno(h.recall == 1.0 and h.extra_pairs == 0),
        )
        yield (
            f"memory ({where})",
            "<= 128 B/code",
            f"{bytes_per_code:.1f} B",
            yesno(bytes_per_code <= 128),
        )
        yield f"build ({where})", "<= 30 s", f"{h.build_s:.1f} s", yesno(h.build_s <= 30)
        mapped, mapped_again = h.load_mmap_s or 0.0, h.load_mmap_again_s or 0.0
        yield (
            f"load, read ({where})",
            "<= 2 s",
            f"{h.load_s:.2f} s; again {h.load_again_s:.2f} s",
            yesno(h.load_s <= 2),
        )
        yield (
            f"load, mmap ({where})",
            "<= 2 s",
            f"{mapped:.2f} s; again {mapped_again:.2f} s",
            yesno(mapped <= 2),
        )
        yield (
            f"add/remove one ({where})",
            "< 1 ms",
            f"median {h.add_median_ms:.3f} / {h.remove_median_ms or 0:.3f} ms, max "
            f"{h.add_max_ms:.3f} / {h.remove_max_ms or 0:.3f} ms, "
            f"{h.add_over_1ms + h.remove_over_1ms} of {h.adds + h.removes} over 1 ms",
            yesno(worst_update < 1),
        )


def yesno(value: bool) -> str:
    return "yes" if value else "NO"


# --------------------------------------------------------------------------------------


def parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="comma-separated numbers of stored codes (default 1000000,10000000)",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=DEFAULT_QUERIES,
        help=f"queries per case, half planted, half fresh (default {DEFAULT_QUERIES})",
    )
    parser.add_argument(
        "--distribution",
        default=",".join(DISTRIBUTIONS),
        help="comma-separated code distributions: uniform, realistic (default both)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(size) for size in parse_list(args.sizes)]
    except ValueError:
        parser.error("--sizes must be comma-separated integers")
    if not args.sizes or min(args.sizes) < 2 * BATCH:
        parser.error(f"--sizes: each size must be at least {2 * BATCH}")
    args.distribution = parse_list(args.distribution)
    unknown = set(args.distribution) - set(DISTRIBUTIONS)
    if unknown or not args.distribution:
        parser.error(f"--distribution: choose from {', '.join(DISTRIBUTIONS)}")
    if args.queries < 2 * MIN_SLOW_QUERIES:
        parser.error(f"--queries must be at least {2 * MIN_SLOW_QUERIES}")
    return args


def warm_up() -> None:
    """Load the compiled kernels once, so the first build's memory and time exclude them."""
    rng = np.random.default_rng(0)
    codes = uniform_codes(rng, 4096)
    ids = np.arange(4096, dtype=np.int64)
    index = HammingIndex.build(ids, codes)
    index.search(codes[:4], RADIUS)
    index.search(codes[:4], 200)
    index.add(np.array([5000], dtype=np.int64), codes[:1])
    index.remove(np.array([5000], dtype=np.int64))
    check_faiss_radius()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    machine = machine_info()
    print("Machine")
    for key, value in machine.items():
        print(f"  {key + ':':<15} {value}")

    pinning = pin_to_one_cpu()
    faiss.omp_set_num_threads(1)
    total_start = time.perf_counter()
    cases: list[Case] = []
    with threadpool_limits(limits=1):
        pools = sorted({f"{p['internal_api']} ({p['num_threads']})" for p in threadpool_info()})
        print(
            f"\nOne core, one thread: process {pinning}; threadpoolctl threadpool_limits(1) "
            f"[{', '.join(pools) or 'no thread pools found'}]; faiss.omp_set_num_threads(1)"
        )
        print(
            f"Radius {RADIUS}; {args.queries} queries per case, alternating planted "
            f"(a stored code with 0..{PLANTED_MAX_FLIPS} bits flipped) and fresh. FlatIndex runs "
            f"max({MIN_SLOW_QUERIES}, {FLAT_INDEX_WORK:,} / size) queries, faiss flat "
            f"max({MIN_SLOW_QUERIES}, {FAISS_FLAT_WORK:,} / size); exactness is checked on "
            f"FlatIndex's queries. Times: time.perf_counter, garbage collector paused."
        )
        warm_up()
        print("faiss range_search(x, r) returns distances < r: checked; called with r = 32")
        model = None
        if "realistic" in args.distribution:
            start = time.perf_counter()
            model = fit_realistic_model(PHOTOS, np.random.default_rng(SEED))
            print(
                f"Realistic model: {model.variants} DCT blocks from {model.photos} photos "
                f"({VARIANTS_PER_PHOTO} variants each) in {time.perf_counter() - start:.1f} s; "
                f"top 10 of 256 components carry {model.explained_by_10:.0%} of the variance; "
                f"vectorised bits = hex_from_dct on {model.packing_checked} rows; mean distance "
                f"between codes of different photos: real variants {model.real_pair_mean:.1f} "
                f"bits, model {model.model_pair_mean:.1f} bits; {DUPLICATE_SHARE:.0%} of stored "
                f"codes are near-duplicates (0..{DUPLICATE_MAX_FLIPS} bits) of others"
            )
        with tempfile.TemporaryDirectory(prefix="reclaim-index-bench-") as folder:
            for size in args.sizes:
                for distribution in args.distribution:
                    print(f"\n=== {size:,} codes, {distribution} ===")
                    case = run_case(
                        size,
                        distribution,
                        args.queries,
                        model if distribution == "realistic" else None,
                        Path(folder),
                    )
                    print_case(case)
                    cases.append(case)
                    release_memory()

    print("\nGoals (HammingIndex)")
    print_table(("goal", "target", "measured", "met"), list(goal_rows(cases)))
    print(f"\nTotal time {time.perf_counter() - total_start:.0f} s")

    if args.json is not None:
        report = {
            "machine": machine,
            "settings": {
                "radius": RADIUS,
                "sizes": args.sizes,
                "distributions": args.distribution,
                "queries": args.queries,
                "pinning": pinning,
                "threadpool_limits": 1,
            },
            "cases": [
                {
                    "size": case.size,
                    "distribution": case.distribution,
                    "generate_s": case.generate_s,
                    "summary": asdict(case.summary),
                    "notes": case.notes,
                    "tools": [
                        {
                            k: v
                            for k, v in asdict(t).items()
                            if k not in {"first_results", "match_counts"}
                        }
                        for t in case.tools
                    ],
                }
                for case in cases
            ],
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
