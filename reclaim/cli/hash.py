"""``reclaim hash``: fingerprint files and folders."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from reclaim.cli.app import app
from reclaim.cli.common import settings_of
from reclaim.cli.output import EXIT_OK, EXIT_SOME_FAILED, OutputFormat, reports_errors, writer
from reclaim.errors import MediaError, UsageError
from reclaim.hashing.files import (
    FileFingerprint,
    FingerprintOptions,
    fingerprint_file,
    iter_media_paths,
    options_for,
)
from reclaim.hashing.video import SECONDS_PER_HASH

#: Below this many files, hashing in this process beats starting worker processes.
_PARALLEL_THRESHOLD = 16

_CSV_COLUMNS = (
    "path", "kind", "pdq", "quality", "low_quality", "md5", "sha256", "width", "height",
    "error_code", "error_message",
)  # fmt: skip


@app.command("hash")
@reports_errors
def hash_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Image and video files and folders (walked recursively, taking files "
            "with an image or video extension).",
            show_default=False,
        ),
    ],
    *,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="json: one object per line; csv; table: for people."),
    ] = OutputFormat.JSON,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Files hashed in parallel (default: all cores)."),
    ] = None,
    dihedral: Annotated[
        bool,
        typer.Option(
            "--dihedral",
            help="Also print the PDQ hashes of the 8 rotations and mirror images (pdq_dihedral).",
        ),
    ] = False,
    keypoints: Annotated[
        bool,
        typer.Option(
            "--keypoints",
            help="Also print the signals that find edited copies: an image's local features "
            "(keypoints, base64, about 13 KB), a video's region hashes (video_regions, "
            "base64, about 540 characters a frame); JSON only. `reclaim bank import` stores them.",
        ),
    ] = False,
    seconds_per_hash: Annotated[
        float,
        typer.Option(
            "--seconds-per-hash",
            min=0.01,
            help="Videos: hash one frame this many seconds apart (vPDQ's sampling).",
        ),
    ] = SECONDS_PER_HASH,
) -> None:
    """Fingerprint images and videos: PDQ with its quality, MD5 and SHA-256.

    A video ("kind": "video") gives its vPDQ frames ("vpdq": "pdqhex,quality,timestamp"
    strings, one frame a second by default), its duration, frame count and codec instead
    of one PDQ hash. Prints one result per file with "error" null, or {"code", "message"}
    when the file could not be hashed. Exit status 1 if any file failed (the rest are
    still hashed).
    """
    if keypoints and output_format is not OutputFormat.JSON:
        raise UsageError("--keypoints needs --format json (the features are too long for a table)")
    options = options_for(
        settings_of(ctx),
        dihedral=dihedral,
        keypoints=keypoints,
        seconds_per_hash=seconds_per_hash,
    )
    items = list(iter_media_paths(paths))
    workers = jobs or os.cpu_count() or 1
    failed = 0
    columns = _CSV_COLUMNS if output_format is OutputFormat.CSV else _TABLE_COLUMNS
    with _progress(len(items)) as advance, writer(output_format, columns) as out:
        for result in _fingerprints(items, options, workers):
            failed += not result.ok
            out.send(_row(result, output_format))
            advance()
    if failed:
        typer.echo(f"{failed} of {len(items)} files could not be hashed", err=True)
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _fingerprints(
    items: Sequence[Path | MediaError], options: FingerprintOptions, workers: int
) -> Iterator[FileFingerprint]:
    paths = [str(item) for item in items if isinstance(item, Path)]
    work = partial(fingerprint_file, options=options)
    if workers == 1 or len(paths) < _PARALLEL_THRESHOLD:
        yield from _in_order(items, map(work, paths))
        return
    # forkserver: workers start clean, without the parent's threads or state.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from _in_order(items, pool.map(work, paths, chunksize=8))


def _in_order(
    items: Sequence[Path | MediaError], hashed: Iterator[FileFingerprint]
) -> Iterator[FileFingerprint]:
    """Results in the order of ``items``: walk errors in place, hashed files between."""
    for item in items:
        if isinstance(item, MediaError):
            yield FileFingerprint(path=item.source, error=item.to_dict())
        else:
            yield next(hashed)


_TABLE_COLUMNS = ("path", "pdq", "quality", "size", "error")


def _row(result: FileFingerprint, output_format: OutputFormat) -> dict[str, object]:
    """A result as the chosen format shows it."""
    record = result.to_record()
    error = result.error or {}
    if output_format is OutputFormat.CSV:
        return {**record, "error_code": error.get("code"), "error_message": error.get("message")}
    if output_format is OutputFormat.TABLE:
        quality = "" if result.quality is None else str(result.quality)
        return {
            "path": result.path,
            "pdq": result.pdq,
            "quality": quality + (" (low)" if result.low_quality else ""),
            "size": f"{result.width}x{result.height}" if result.width else "",
            "error": error.get("message"),
        }
    return record


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self) -> None:
        return None


class _BarProgress:
    def __init__(self, total: int) -> None:
        self.bar = Progress(
            TextColumn("hashing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = self.bar.add_task("hash", total=total)

    def __enter__(self) -> _BarProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self) -> None:
        self.bar.advance(self.task)


def _progress(total: int) -> _NoProgress | _BarProgress:
    return _BarProgress(total) if sys.stderr.isatty() else _NoProgress()
