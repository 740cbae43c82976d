"""``reclaim audit``: read the audit log and check that no row was changed or removed."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from reclaim.cli.app import app
from reclaim.cli.common import open_store
from reclaim.cli.output import EXIT_OK, EXIT_SOME_FAILED, OutputFormat, reports_errors, writer
from reclaim.store.audit import AuditRepository

audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

_COLUMNS = ("id", "at", "actor", "action", "subject", "detail")


@audit_app.command("verify")
@reports_errors
def verify(ctx: typer.Context) -> None:
    """Check the whole chain. Exit status 1 and the first broken row if any row was edited,
    deleted or inserted; prints the row count and the newest row's hash (keep that value
    elsewhere to detect the loss of the newest rows too)."""
    store = open_store(ctx)
    with store.read() as session:
        report = AuditRepository(session).audit_verify()
    with writer(OutputFormat.JSON, ()) as out:
        out.send(report.to_dict())
    if not report.ok:
        typer.echo(f"error: the audit log is broken: {report.problem}", err=True)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_SOME_FAILED)


@audit_app.command("list")
@reports_errors
def list_events(
    ctx: typer.Context,
    after: Annotated[int, typer.Option("--after", help="Only rows with ids above this.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most rows to print.")] = 1000,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="json, csv or table.")] = (
        OutputFormat.JSON
    ),
) -> None:
    """Print audit rows, oldest first."""
    store = open_store(ctx)
    with store.read() as session, writer(output_format, _COLUMNS) as out:
        for event in AuditRepository(session).audit_events(after, limit):
            out.send(
                {
                    "id": event.id,
                    "at": event.at.isoformat(),
                    "actor": event.actor,
                    "action": event.action,
                    "subject": event.subject,
                    "detail": json.loads(event.detail),
                }
            )
