"""The ``reclaim`` command.

Commands print one JSON object per line to stdout (``--format`` offers CSV and a table
for people); progress and messages go to stderr. Exit status: 0 success, 1 some items
failed (the rest were done), 2 usage error.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from reclaim import __version__
from reclaim.errors import MediaError
from reclaim.hashing.files import (
    FileFingerprint,
    FingerprintOptions,
    fingerprint_file,
    iter_media_paths,
)
from reclaim.hashing.media import MediaLimits
from reclaim.settings import Settings

app = typer.Typer(
    name="reclaim",
    help="Reclaim: find and remove non-consensual intimate images by fingerprint alone.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Below this many files, hashing in this process beats starting worker processes.
_PARALLEL_THRESHOLD = 16

EXIT_OK = 0
EXIT_SOME_FAILED = 1


class OutputFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    TABLE = "table"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"reclaim {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="RECLAIM_DATABASE_URL",
            help="Database URL of the store (default: the SQLite file reclaim.db).",
        ),
    ] = None,
) -> None:
    """Reclaim: find and remove non-consensual intimate images by fingerprint alone."""
    overrides = {"database_url": db} if db else {}
    ctx.obj = Settings(**overrides)  # type: ignore[arg-type]


_CSV_COLUMNS = (
    "path", "kind", "pdq", "quality", "low_quality", "md5", "sha256", "width", "height",
    "error_code", "error_message",
)  # fmt: skip


@app.command("hash")
def hash_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Image files and folders (walked recursively, taking files with an "
            "image extension).",
            show_default=False,
        ),
    ],
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
) -> None:
    """Fingerprint images: PDQ with its quality, MD5 and SHA-256.

    Prints one result per file with "error" null, or {"code", "message"} when the file
    could not be hashed. Exit status 1 if any file failed (the rest are still hashed).
    """
    settings: Settings = ctx.obj
    options = FingerprintOptions(
        limits=MediaLimits(
            max_file_bytes=settings.max_file_bytes,
            max_image_pixels=settings.max_image_pixels,
            max_image_side=settings.max_image_side,
        ),
        min_quality=settings.pdq_min_quality,
        dihedral=dihedral,
    )
    items = list(iter_media_paths(paths))
    workers = jobs or os.cpu_count() or 1
    failed = 0
    with _progress(len(items)) as advance:
        writer = _Writer(output_format, sys.stdout)
        for result in _fingerprints(items, options, workers):
            failed += not result.ok
            writer.send(result)
            advance()
        writer.close()
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


class _Writer:
    """Writes results as they come, in the chosen format."""

    def __init__(self, output_format: OutputFormat, stream: TextIO) -> None:
        self.format = output_format
        self.stream = stream
        self.rows: list[FileFingerprint] = []
        self.csv: csv.DictWriter[str] | None = None
        if output_format is OutputFormat.CSV:
            self.csv = csv.DictWriter(stream, fieldnames=_CSV_COLUMNS, lineterminator="\n")
            self.csv.writeheader()

    def send(self, result: FileFingerprint) -> None:
        if self.format is OutputFormat.JSON:
            self.stream.write(json.dumps(result.to_record(), ensure_ascii=False) + "\n")
        elif self.csv is not None:
            record = result.to_record()
            error = result.error or {}
            row = {key: record.get(key) for key in _CSV_COLUMNS[:-2]}
            self.csv.writerow(
                {**row, "error_code": error.get("code"), "error_message": error.get("message")}
            )
        else:
            self.rows.append(result)

    def close(self) -> None:
        if self.format is OutputFormat.TABLE:
            Console(file=self.stream, width=200).print(_table(self.rows))
        self.stream.flush()


def _table(rows: Sequence[FileFingerprint]) -> Table:
    table = Table("path", "pdq", "quality", "size", "error")
    for row in rows:
        size = f"{row.width}x{row.height}" if row.width else ""
        quality = "" if row.quality is None else str(row.quality)
        if row.low_quality:
            quality += " (low)"
        error = row.error["message"] if row.error else ""
        table.add_row(row.path, row.pdq or "", quality, size, error)
    return table


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


def main() -> None:
    """Entry point of the ``reclaim`` console script."""
    app()
