"""``reclaim api-docs``: the HTTP API reference in Markdown, from the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reclaim.cli.app import app
from reclaim.cli.output import reports_errors
from reclaim.errors import UsageError
from reclaim.settings import Settings


def api_reference() -> str:
    """The Markdown of docs/api.md, from the schema of an app with default settings (the
    schema does not depend on the environment, and nothing is opened: no lifespan runs)."""
    from reclaim.api import create_app  # noqa: PLC0415 - only this command needs the web stack
    from reclaim.api.docs import api_markdown, operation_scopes  # noqa: PLC0415

    service = create_app(Settings.model_construct())
    return api_markdown(service.openapi(), operation_scopes(service))


@app.command("api-docs")
@reports_errors
def api_docs(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write the Markdown to this file instead of standard output.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print the HTTP API reference (every operation and schema) as Markdown."""
    text = api_reference()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    typer.echo(f"wrote {output}", err=True)
