"""``reclaim bank``: create banks, fill them from files or hash lists, export, withdraw."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from reclaim import banks
from reclaim.banks import (
    BankView,
    add_files,
    create_bank,
    export_bank,
    get_bank,
    import_hash_list,
    set_signal_status,
    update_bank,
)
from reclaim.cli.app import app
from reclaim.cli.common import open_store, settings_of
from reclaim.cli.output import EXIT_OK, EXIT_SOME_FAILED, OutputFormat, reports_errors, writer
from reclaim.errors import UsageError
from reclaim.hashing.files import iter_media_paths, options_for
from reclaim.store import BankRepository, SignalStatus
from reclaim.store.models import BankKind

bank_app = typer.Typer(
    help="Banks: named lists of fingerprints (survivor, verified, partner, negative, minor).",
    no_args_is_help=True,
)
app.add_typer(bank_app, name="bank")

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="json: one object per line; csv; table.")
]
NameArgument = Annotated[str, typer.Argument(help="Bank name.", show_default=False)]
_BANK_COLUMNS = ("name", "kind", "enabled", "owner", "shared_with", "description", "created_at")
ShareOption = Annotated[
    list[str] | None,
    typer.Option(
        "--share",
        help="An organisation that may match against the bank and mirror it (repeat for several).",
        show_default=False,
    ),
]


def _bank_record(bank: BankView) -> dict[str, object]:
    return {
        "name": bank.name,
        "kind": bank.kind,
        "enabled": bank.enabled,
        "owner": bank.owner,
        "shared_with": bank.shared_with,
        "description": bank.description,
        "created_at": bank.created_at.isoformat(),
    }


@bank_app.command("create")
@reports_errors
def create(
    ctx: typer.Context,
    name: NameArgument,
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help=f"What the bank's hashes mean: {', '.join(k.value for k in BankKind)}."
        ),
    ] = BankKind.VERIFIED.value,
    description: Annotated[str, typer.Option("--description", help="What the bank holds.")] = "",
    share: ShareOption = None,
) -> None:
    """Create a bank."""
    bank = create_bank(open_store(ctx), name, kind, description, shared_with=share or [])
    with writer(OutputFormat.JSON, _BANK_COLUMNS) as out:
        out.send(_bank_record(bank))


@bank_app.command("share")
@reports_errors
def share(
    ctx: typer.Context,
    name: NameArgument,
    organisations: Annotated[
        list[str] | None,
        typer.Argument(
            help="Organisations to share it with; none to share it with nobody.", show_default=False
        ),
    ] = None,
) -> None:
    """Set which organisations a bank is shared with (they may match against it and mirror
    it; only its owner changes it)."""
    bank = update_bank(open_store(ctx), name, shared_with=organisations or [])
    with writer(OutputFormat.JSON, _BANK_COLUMNS) as out:
        out.send(_bank_record(bank))


@bank_app.command("list")
@reports_errors
def list_banks(ctx: typer.Context, output_format: FormatOption = OutputFormat.JSON) -> None:
    """List the banks."""
    with writer(output_format, _BANK_COLUMNS) as out:
        for bank in banks.list_banks(open_store(ctx)):
            out.send(_bank_record(bank))


@bank_app.command("show")
@reports_errors
def show(
    ctx: typer.Context, name: NameArgument, output_format: FormatOption = OutputFormat.JSON
) -> None:
    """Show a bank with its signal counts by type and status."""
    bank = get_bank(open_store(ctx), name)
    record = {**_bank_record(bank), "signals": bank.signals}
    with writer(output_format, (*_BANK_COLUMNS, "signals")) as out:
        out.send(record)


@bank_app.command("add")
@reports_errors
def add(
    ctx: typer.Context,
    name: NameArgument,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Image and video files and folders to fingerprint.", show_default=False
        ),
    ],
    plain: Annotated[
        bool,
        typer.Option(
            "--plain",
            help="Store whole-image PDQ and exact hashes only (and a video's frames), not "
            "the local features that find cropped, framed, turned or captioned copies "
            "of an image, nor the region hashes that find cropped, marked and subtitled "
            "copies of a video.",
        ),
    ] = False,
) -> None:
    """Fingerprint files and store only their fingerprints in the bank: PDQ, MD5, SHA-256
    and local features (keypoints) of an image; MD5, SHA-256, frames (vpdq, one every
    0.25 s) and their region hashes (video_regions) of a video.

    Prints one line per file with the ids of its signals. Exit status 1 if any file
    could not be hashed (the others are stored).
    """
    store = open_store(ctx)
    settings = settings_of(ctx)
    options = options_for(
        settings,
        keypoints=not plain,
        seconds_per_hash=settings.video_register_seconds_per_hash,
    )
    items = list(iter_media_paths(paths))
    bad = [item for item in items if not isinstance(item, Path)]
    files = [item for item in items if isinstance(item, Path)]
    failed = len(bad)
    with writer(OutputFormat.JSON, ()) as out:
        for error in bad:
            out.send({"path": error.source, "signals": [], "error": error.to_dict()})
        for record in add_files(store, name, files, options):
            failed += record["error"] is not None
            out.send(record)
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)


@bank_app.command("import")
@reports_errors
def import_list(
    ctx: typer.Context,
    name: NameArgument,
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON lines as written by 'reclaim hash', or CSV with pdq/md5/sha256 "
            "columns; '-' reads standard input.",
            show_default=False,
        ),
    ],
) -> None:
    """Import a hash list: all of it, or nothing if any line is bad."""
    store = open_store(ctx)
    settings = settings_of(ctx)
    if str(file) == "-":
        report = import_hash_list(store, name, sys.stdin, "<stdin>", settings.pdq_min_quality)
    else:
        try:
            stream = file.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from exc
        with stream:
            report = import_hash_list(store, name, stream, str(file), settings.pdq_min_quality)
    with writer(OutputFormat.JSON, ()) as out:
        out.send(
            {
                "bank": report.bank,
                "lines": report.lines,
                "signals": report.signals,
                "added": report.added,
                "duplicates": report.duplicates,
                "skipped_low_quality": report.skipped_low_quality,
            }
        )


_EXPORT_COLUMNS = (
    "id", "type", "value", "quality", "source", "status", "seq", "updated_at", "payload",
)  # fmt: skip


@bank_app.command("export")
@reports_errors
def export(
    ctx: typer.Context,
    name: NameArgument,
    output_format: Annotated[
        str, typer.Option("--format", help="jsonl (one object per line) or csv.")
    ] = "jsonl",
) -> None:
    """Write every signal of a bank, withdrawn ones included (with their status)."""
    if output_format not in ("jsonl", "csv"):
        raise UsageError(f"--format must be jsonl or csv, not {output_format!r}")
    chosen = OutputFormat.JSON if output_format == "jsonl" else OutputFormat.CSV
    store = open_store(ctx)
    with store.read() as session:
        BankRepository(session).bank_get(name)  # an unknown bank: no header, just the error
    with writer(chosen, _EXPORT_COLUMNS) as out:
        for record in export_bank(store, name):
            out.send(record)


@bank_app.command("withdraw")
@reports_errors
def withdraw(
    ctx: typer.Context,
    name: NameArgument,
    signal_ids: Annotated[
        list[int], typer.Argument(help="Ids of the signals to withdraw.", show_default=False)
    ],
) -> None:
    """Withdraw signals: they stop matching at once (all or none of the ids)."""
    store = open_store(ctx)
    set_signal_status(store, name, signal_ids, SignalStatus.WITHDRAWN)
    with writer(OutputFormat.JSON, ()) as out:
        out.send({"bank": name, "withdrawn": sorted(set(signal_ids))})


def _set_enabled(ctx: typer.Context, name: str, enabled: bool) -> None:
    bank = update_bank(open_store(ctx), name, enabled=enabled)
    with writer(OutputFormat.JSON, ()) as out:
        out.send(_bank_record(bank))


@bank_app.command("enable")
@reports_errors
def enable(ctx: typer.Context, name: NameArgument) -> None:
    """Enable a bank: its active signals match again."""
    _set_enabled(ctx, name, True)


@bank_app.command("disable")
@reports_errors
def disable(ctx: typer.Context, name: NameArgument) -> None:
    """Disable a bank: none of its signals match until it is enabled."""
    _set_enabled(ctx, name, False)
