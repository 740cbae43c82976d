"""``reclaim keys``: API keys for organisations (shown once, stored as Argon2 hashes)."""

from __future__ import annotations

from typing import Annotated

import typer

from reclaim.banks import local_actor
from reclaim.cli.app import app
from reclaim.cli.common import open_store
from reclaim.cli.output import OutputFormat, reports_errors, writer
from reclaim.keys import Scope, issue_key, revoke_key
from reclaim.sealing import new_key_text
from reclaim.store.models import OrganisationKind
from reclaim.store.organisations import OrganisationRepository

keys_app = typer.Typer(help="API keys: make, list and revoke them.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

_KEY_COLUMNS = ("prefix", "organisation", "kind", "scopes", "label", "created_at", "revoked_at")


@keys_app.command("create")
@reports_errors
def create(
    ctx: typer.Context,
    org: Annotated[
        str,
        typer.Option(
            "--org", help="The organisation the key acts for (created if new).", show_default=False
        ),
    ],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help=f"What the key may do (repeat): {', '.join(s.value for s in Scope)}.",
            show_default=False,
        ),
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help=f"Kind of a new organisation: {', '.join(k.value for k in OrganisationKind)}.",
        ),
    ] = (OrganisationKind.PLATFORM.value),
    label: Annotated[str, typer.Option("--label", help="A note saying what the key is for.")] = "",
) -> None:
    """Make an API key. The key is printed once: it cannot be shown again."""
    issued = issue_key(open_store(ctx), org, kind, scope, label=label, actor=local_actor())
    with writer(OutputFormat.JSON, ()) as out:
        out.send(
            {
                "key": issued.key,
                "prefix": issued.prefix,
                "organisation": issued.organisation,
                "kind": issued.organisation_kind,
                "scopes": issued.scopes,
            }
        )
    typer.echo(
        "Save this key now: Reclaim keeps only a hash of it and cannot show it again.", err=True
    )


@keys_app.command("list")
@reports_errors
def list_keys(
    ctx: typer.Context,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="json, csv or table.")] = (
        OutputFormat.JSON
    ),
) -> None:
    """List API keys by prefix (never the keys themselves)."""
    store = open_store(ctx)
    with store.read() as session, writer(output_format, _KEY_COLUMNS) as out:
        for key, organisation in OrganisationRepository(session).key_list():
            out.send(
                {
                    "prefix": key.prefix,
                    "organisation": organisation.name,
                    "kind": organisation.kind,
                    "scopes": key.scopes.split(),
                    "label": key.label,
                    "created_at": key.created_at.isoformat(),
                    "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
                }
            )


@keys_app.command("revoke")
@reports_errors
def revoke(
    ctx: typer.Context,
    prefix: Annotated[
        str, typer.Argument(help="The key's prefix (see 'reclaim keys list').", show_default=False)
    ],
) -> None:
    """Revoke an API key. Running services stop accepting it within RECLAIM_KEY_CACHE_SECONDS."""
    revoke_key(open_store(ctx), prefix, local_actor())
    with writer(OutputFormat.JSON, ()) as out:
        out.send({"prefix": prefix, "revoked": True})


@keys_app.command("secret")
def secret() -> None:
    """Print a new secret key for RECLAIM_SECRET_KEY (32 random bytes, base64): it seals
    survivors' contacts and signs the portal's sessions. Keep it with the database's
    backups: sealed contacts cannot be read without it."""
    typer.echo(new_key_text())
