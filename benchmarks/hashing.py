"""File-to-hash speed of Reclaim's PDQ against the reference and other hashing tools.

Every photo in ``samples/photos`` (or ``--images DIR``) is resized to exactly 1000x750
(Pillow LANCZOS) and saved as a JPEG of quality 90 in a temporary folder. Each tool then
hashes those same files, from the path on disk to the hash, decoding included. All timed
work runs on one core and one thread: the process is pinned to a single CPU (on Linux),
threadpoolctl limits the numeric libraries to one thread and OpenCV is set to one thread.

Each tool is warmed up over all images first; then, round after round, each tool hashes
all the images (the tools take turns within a round, so slow drifts in the machine hit
them alike). A tool's figure is the median of its round times divided by the number of
images. Fidelity compares Reclaim's PDQ with the reference's on the same files.

Run with ``make bench`` or ``.venv/bin/python benchmarks/hashing.py [--repeat N]``.
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import imagehash
import numpy as np
from common import (
    JPEG_QUALITY,
    build_test_set,
    parse_photo_args,
    pin_to_one_cpu,
    print_table,
    write_json,
)
from common import machine_info as common_machine_info
from numpy.typing import NDArray
from perception.hashers import PDQHash
from PIL import Image
from threadpoolctl import threadpool_info, threadpool_limits
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes
from threatexchange.signal_type.pdq.signal import PdqSignal

from reclaim.hashing.files import FingerprintOptions, fingerprint_file
from reclaim.hashing.media import MediaLimits, decode_image
from reclaim.hashing.pdq import pdq_from_luma

SIZE = (1000, 750)
DEFAULT_REPEAT = 20
REFERENCE = "threatexchange PdqSignal (reference)"
OPTIONS = FingerprintOptions()
LIMITS = MediaLimits()
PERCEPTION_PDQ = PDQHash()

Hasher = Callable[[Path], object]


@dataclass(frozen=True, slots=True)
class Timing:
    """Speed of one tool over the whole set: median, best and worst round, per image."""

    tool: str
    ms_per_image: float
    images_per_second: float
    speedup_vs_reference: float
    best_ms_per_image: float
    worst_ms_per_image: float


@dataclass(frozen=True, slots=True)
class Fidelity:
    """Reclaim's PDQ against the reference's on one image."""

    image: str
    distance_bits: int
    same_luma_bits: int
    reclaim_quality: int
    reference_quality: int
    reclaim_pdq: str
    reference_pdq: str


def reclaim_fingerprint(path: Path) -> str:
    result = fingerprint_file(path, OPTIONS)
    if result.pdq is None:
        raise RuntimeError(f"Reclaim could not hash {path}: {result.error}")
    return result.pdq


def reclaim_pdq_only(path: Path) -> str:
    image = decode_image(path.read_bytes(), str(path), LIMITS)
    return pdq_from_luma(image.luma).hex


def reference_pdq(path: Path) -> str:
    return PdqSignal.hash_from_file(path)


def perception_pdq(path: Path) -> str:
    return str(PERCEPTION_PDQ.compute(str(path), hash_format="hex"))


def imagehash_phash(path: Path) -> str:
    with Image.open(path) as image:
        return str(imagehash.phash(image))


def pillow_decode(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    return rgb.size


TOOLS: dict[str, Hasher] = {
    "Reclaim fingerprint_file (PDQ+MD5+SHA-256)": reclaim_fingerprint,
    "Reclaim PDQ only (read, decode_image, pdq_from_luma)": reclaim_pdq_only,
    REFERENCE: reference_pdq,
    "perception PDQHash": perception_pdq,
    "imagehash phash (64-bit pHash, not PDQ)": imagehash_phash,
    "Pillow open+load as RGB (decoding only)": pillow_decode,
}


def time_round(hasher: Hasher, paths: Sequence[Path]) -> float:
    """Seconds one tool takes over all images, with the garbage collector held off."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for path in paths:
            hasher(path)
        return time.perf_counter() - start
    finally:
        gc.enable()


def run_timings(paths: Sequence[Path], repeat: int) -> list[Timing]:
    for hasher in TOOLS.values():  # warm-up: imports, caches, page cache, operators
        for path in paths:
            hasher(path)
    rounds: dict[str, list[float]] = {name: [] for name in TOOLS}
    for _ in range(repeat):
        for name, hasher in TOOLS.items():
            rounds[name].append(time_round(hasher, paths))
    per_image = {
        name: [seconds * 1000 / len(paths) for seconds in times] for name, times in rounds.items()
    }
    reference_ms = statistics.median(per_image[REFERENCE])
    timings = []
    for name, values in per_image.items():
        ms = statistics.median(values)
        timings.append(
            Timing(
                tool=name,
                ms_per_image=ms,
                images_per_second=1000 / ms,
                speedup_vs_reference=reference_ms / ms,
                best_ms_per_image=min(values),
                worst_ms_per_image=max(values),
            )
        )
    return timings


def measure_fidelity(paths: Sequence[Path]) -> list[Fidelity]:
    """Hamming distance between Reclaim's and the reference's PDQ, with both qualities.

    The reference's hex and quality come from ``pdq_from_bytes``, the function that
    ``PdqSignal.hash_from_file`` calls (which returns "" below quality 50). The
    same-luma distance hashes, with Reclaim's ``pdq_from_luma``, the luminance the
    reference itself hashes (RGB decode, then 0.299 R + 0.587 G + 0.114 B), so it
    separates the hash arithmetic from the difference in decoding.
    """
    results = []
    for path in paths:
        ours = fingerprint_file(path, OPTIONS)
        theirs, their_quality = pdq_from_bytes(path.read_bytes())
        if ours.pdq is None or ours.quality is None:
            raise RuntimeError(f"Reclaim could not hash {path}: {ours.error}")
        same_luma = pdq_from_luma(reference_luma(path)).hex
        results.append(
            Fidelity(
                image=path.name,
                distance_bits=hamming(ours.pdq, theirs),
                same_luma_bits=hamming(same_luma, theirs),
                reclaim_quality=ours.quality,
                reference_quality=int(their_quality),
                reclaim_pdq=ours.pdq,
                reference_pdq=theirs,
            )
        )
    return results


def hamming(first: str, second: str) -> int:
    """Bits that differ between two hex hashes."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


def reference_luma(path: Path) -> NDArray[np.float64]:
    """The luminance the reference computes: full RGB decode, then the BT.601 mix."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def machine_info() -> dict[str, str]:
    info = common_machine_info(
        ("numpy", "pillow", "threatexchange", "pdqhash", "perception", "imagehash")
    )
    info["opencv"] = cv2.__version__
    return info


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_photo_args(__doc__.splitlines()[0], DEFAULT_REPEAT, argv)
    machine = machine_info()
    print("Machine")
    for key, value in machine.items():
        print(f"  {key + ':':<15} {value}")

    with tempfile.TemporaryDirectory(prefix="reclaim-bench-") as folder:
        paths = build_test_set(args.images, Path(folder), SIZE)
        if not paths:
            print(f"no images found in {args.images}", file=sys.stderr)
            return 1
        mean_kib = statistics.mean(p.stat().st_size for p in paths) / 1024
        print(
            f"\nTest set: {len(paths)} photos from {args.images}, each resized to "
            f"{SIZE[0]}x{SIZE[1]} (LANCZOS) and saved as JPEG quality {JPEG_QUALITY} "
            f"(mean {mean_kib:.0f} KiB)"
        )

        pinning = pin_to_one_cpu()
        cv2.setNumThreads(1)
        with threadpool_limits(limits=1):
            pools = sorted({f"{p['internal_api']} ({p['num_threads']})" for p in threadpool_info()})
            print(
                f"One core, one thread: process {pinning}; threadpoolctl "
                f"threadpool_limits(1) around all timed work "
                f"[{', '.join(pools) or 'no thread pools found'}]; "
                f"OpenCV threads {cv2.getNumThreads()}"
            )
            print(
                f"Timing: time.perf_counter, 1 warm-up pass per tool, then the median of "
                f"{args.repeat} rounds over all {len(paths)} images (file path to hash)\n"
            )
            timings = run_timings(paths, args.repeat)
        fidelity = measure_fidelity(paths)

    print_table(
        ("tool", "ms/image", "images/s", "threatexchange time / tool time"),
        [
            (
                t.tool,
                f"{t.ms_per_image:.2f}",
                f"{t.images_per_second:.0f}",
                f"{t.speedup_vs_reference:.1f}x",
            )
            for t in timings
        ],
    )

    distances = [f.distance_bits for f in fidelity]
    same_luma = [f.same_luma_bits for f in fidelity]
    print(
        f"\nFidelity, Reclaim PDQ vs threatexchange PDQ on the same {len(fidelity)} files "
        f"(Hamming distance of the 256-bit hashes):"
    )
    print(
        f"  file to hash:   mean {statistics.mean(distances):.2f} bits, max {max(distances)} "
        f"bits, {distances.count(0)} of {len(distances)} identical"
    )
    print(
        f"  same luma:      mean {statistics.mean(same_luma):.2f} bits, max {max(same_luma)} "
        f"bits, {same_luma.count(0)} of {len(same_luma)} identical "
        f"(Reclaim's pdq_from_luma on the reference's RGB-derived luma)"
    )
    print_table(
        ("image", "bits", "bits, same luma", "quality Reclaim", "quality reference"),
        [
            (
                f.image,
                str(f.distance_bits),
                str(f.same_luma_bits),
                str(f.reclaim_quality),
                str(f.reference_quality),
            )
            for f in fidelity
        ],
    )

    if args.json is not None:
        report = {
            "machine": machine,
            "settings": {
                "images": str(args.images),
                "count": len(paths),
                "size": list(SIZE),
                "jpeg_quality": JPEG_QUALITY,
                "repeat": args.repeat,
                "pinning": pinning,
                "threadpool_limits": 1,
            },
            "timings": [asdict(t) for t in timings],
            "fidelity": {
                "mean_bits": statistics.mean(distances),
                "max_bits": max(distances),
                "same_luma_mean_bits": statistics.mean(same_luma),
                "same_luma_max_bits": max(same_luma),
                "images": [asdict(f) for f in fidelity],
            },
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
