"""The ``reclaim`` Typer application and its global options."""

from __future__ import annotations

from typing import Annotated

import typer

from reclaim import __version__
from reclaim.cli.output import EXIT_OK
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
    ctx.obj = Settings(**overrides)  # type: ignore[arg-type]


def main() -> None:
    """Entry point of the ``reclaim`` console script."""
    app()
