"""The ``reclaim`` Typer application and its global options."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from reclaim import __version__
from reclaim.cli.output import EXIT_OK, EXIT_USAGE
from reclaim.settings import Settings

app = typer.Typer(
    name="reclaim",
    help="Reclaim: find and remove non-consensual intimate images by fingerprint alone.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    try:
        ctx.obj = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"RECLAIM_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        typer.echo(f"error: invalid setting: {problems}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def main() -> None:
    """Entry point of the ``reclaim`` console script."""
    app()
