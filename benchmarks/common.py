"""What every benchmark shares: the machine it ran on, one-CPU pinning, plain tables."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def pin_to_one_cpu() -> str:
    """Pin this process to one CPU where the OS allows it; say what was done."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (this OS has no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def machine_info(packages: Sequence[str] = ("numpy",)) -> dict[str, str]:
    """CPU, cores, OS, Python and the versions of ``packages``."""
    info = {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    info.update({name: package_version(name) for name in packages})
    return info


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: int = 1) -> None:
    """A plain text table; columns from index ``right`` on are right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if index >= right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write a benchmark's results as indented JSON and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nResults written to {path}")


SAMPLE_PHOTOS = Path(__file__).resolve().parent.parent / "samples" / "photos"
JPEG_QUALITY = 90


def parse_photo_args(
    description: str, default_repeat: int, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """``--repeat`` (timed rounds, at least 1), ``--images`` (a folder of photos, by default
    the samples) and ``--json``, as the photo benchmarks take them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--repeat", type=int, default=default_repeat,
        help=f"timed rounds over all images; the median is reported (default {default_repeat})",
    )  # fmt: skip
    parser.add_argument(
        "--images", type=Path, default=SAMPLE_PHOTOS,
        help="folder of photos to build the test set from (default: samples/photos)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not args.images.is_dir():
        parser.error(f"--images: {args.images} is not a folder")
    return args


def build_test_set(source: Path, target: Path, size: tuple[int, int]) -> list[Path]:
    """Each image in ``source``, upright, resized to ``size`` (Pillow LANCZOS) and saved in
    ``target`` as an RGB JPEG of quality ``JPEG_QUALITY``."""
    from PIL import Image, ImageOps  # noqa: PLC0415 - only the photo benchmarks need it

    from reclaim.hashing.media import is_image_name  # noqa: PLC0415

    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for photo in sorted(p for p in source.iterdir() if p.is_file() and is_image_name(p)):
        with Image.open(photo) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
        path = target / f"{photo.stem}.jpg"
        upright.resize(size, Image.Resampling.LANCZOS).save(path, "JPEG", quality=JPEG_QUALITY)
        paths.append(path)
    return paths
