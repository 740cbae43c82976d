"""``reclaim case``: survivors' cases for an operator at the store: list them, read one
(its contact too, if asked), and withdraw one at the survivor's request, for instance
when someone keeps it paused with wrong PINs. Every reading is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from reclaim.banks import local_actor
from reclaim.cases import CaseListing, CaseService, CaseView, normalise_case_number
from reclaim.cli.app import app
from reclaim.cli.common import open_store, settings_of
from reclaim.cli.output import OutputFormat, reports_errors, writer
from reclaim.errors import UsageError
from reclaim.store.models import CaseStatus

case_app = typer.Typer(help="Survivors' cases: list, show and withdraw them.", no_args_is_help=True)
app.add_typer(case_app, name="case")

_LIST_COLUMNS = (
    "id", "number", "status", "minor", "created_at", "withdrawn_at", "representative",
    "paused_until",
)  # fmt: skip
_SHOW_COLUMNS = (
    "number", "status", "minor", "created_at", "withdrawn_at", "signals", "matches",
    "platforms", "removals", "representative", "filed_by", "consent", "consent_at", "contact",
)  # fmt: skip
NumberArgument = Annotated[
    str, typer.Argument(help="The case number (RC-XXXX-XXXX-XXXX).", show_default=False)
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="json, csv or table.")]


def _cases(ctx: typer.Context) -> CaseService:
    return CaseService.for_settings(open_store(ctx), settings_of(ctx))


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _listed(case: CaseListing) -> dict[str, object]:
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "minor": case.minor,
        "created_at": _time(case.created_at),
        "withdrawn_at": _time(case.withdrawn_at),
        "representative": case.representative,
        "paused_until": _time(case.paused_until),
    }


def _shown(view: CaseView) -> dict[str, object]:
    return {
        "number": view.number,
        "status": view.status,
        "minor": view.minor,
        "created_at": _time(view.created_at),
        "withdrawn_at": _time(view.withdrawn_at),
        "signals": view.signals,
        "matches": view.matches.matches,
        "platforms": view.matches.platforms,
        "removals": view.matches.removals,
        "representative": view.representative,
        "filed_by": view.filed_by,
        "consent": view.consent,
        "consent_at": _time(view.consent_at),
        "contact": view.contact,
    }


@case_app.command("list")
@reports_errors
def list_cases(
    ctx: typer.Context,
    status: Annotated[
        CaseStatus | None, typer.Option("--status", help="Only cases of this status.")
    ] = None,
    after: Annotated[
        int, typer.Option("--after", min=0, help="Only cases with ids above this (to page).")
    ] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most cases to print.")] = 1000,
    output_format: FormatOption = OutputFormat.JSON,
) -> None:
    """List cases, oldest first: number, status, who filed it, whether it is paused (no
    fingerprints, no contact)."""
    found = _cases(ctx).listing(status, after, limit, local_actor())
    with writer(output_format, _LIST_COLUMNS) as out:
        for case in found:
            out.send(_listed(case))


@case_app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    number: NumberArgument,
    contact: Annotated[
        bool, typer.Option("--contact", help="Unseal and print the contact (audited).")
    ] = False,
    output_format: FormatOption = OutputFormat.JSON,
) -> None:
    """A case's status: its fingerprints by type and status, matches and removals
    reported by platforms, who filed it."""
    cases = _cases(ctx)
    view = cases.view(cases.case_id(number), with_contact=contact, actor=local_actor())
    with writer(output_format, _SHOW_COLUMNS) as out:
        out.send(_shown(view))


@case_app.command("withdraw")
@reports_errors
def withdraw(
    ctx: typer.Context,
    number: NumberArgument,
    yes: Annotated[
        bool, typer.Option("--yes", help="Withdraw without asking (for scripts).")
    ] = False,
) -> None:
    """Withdraw a case at the survivor's request: its fingerprints stop matching (unless
    another active case holds them), partners' exports carry the withdrawals, and its
    contact and the payloads of the fingerprints withdrawn are erased. It cannot be undone."""
    cases = _cases(ctx)
    case_id = cases.case_id(number)
    if not yes and not typer.confirm(f"Withdraw case {number}? This cannot be undone.", err=True):
        raise UsageError("nothing withdrawn")
    withdrawn = cases.withdraw(case_id, actor=local_actor())
    with writer(OutputFormat.JSON, ()) as out:
        out.send(
            {"number": normalise_case_number(number), "status": "withdrawn", "withdrawn": withdrawn}
        )
