"""``reclaim serve`` runs the HTTP service; ``reclaim demo`` sets up a demo and serves it."""

from __future__ import annotations

import os
import shlex
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from reclaim.banks import add_files, create_bank, local_actor, update_bank
from reclaim.cli.app import app
from reclaim.cli.common import open_store, settings_of
from reclaim.cli.output import reports_errors
from reclaim.errors import BankExistsError, UsageError
from reclaim.hashing.files import iter_media_paths, options_for
from reclaim.keys import issue_key, revoke_key
from reclaim.settings import Settings
from reclaim.store.organisations import OrganisationRepository

HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]
#: Uvicorn's settings, with one worker or several (no access log: it would name callers).
_UVICORN_OPTIONS: dict[str, Any] = {"log_level": "info", "access_log": False}
DEMO_ORGANISATION = "demo"
DEMO_BANK = "DEMO"


@app.command("serve")
@reports_errors
def serve(
    ctx: typer.Context,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Processes serving requests, each with its own copy of the indexes.",
        ),
    ] = 1,
) -> None:
    """Run the HTTP API (OpenAPI at /openapi.json, interactive docs at /docs)."""
    settings = settings_of(ctx)
    open_store(ctx)  # refuse a bad --db before starting any process
    _run(settings, host, port, workers)


def _run(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn  # noqa: PLC0415 - only the service needs the web stack

    from reclaim.api import create_app  # noqa: PLC0415
    from reclaim.api.workers import serve_workers  # noqa: PLC0415

    # Uvicorn shuts down gracefully on SIGTERM, then raises the signal again, which would
    # make a clean stop look like a crash to process managers; the exit is clean here.
    signal.signal(signal.SIGTERM, lambda *_: None)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, **_UVICORN_OPTIONS)
        return
    # Worker processes build their own app from the environment, so pass --db through it.
    os.environ["RECLAIM_DATABASE_URL"] = settings.database_url
    serve_workers(host, port, workers, _UVICORN_OPTIONS)


@app.command("demo")
@reports_errors
def demo(
    ctx: typer.Context,
    photos: Annotated[
        Path, typer.Option("--photos", help="Folder of images to fill the demo bank with.")
    ] = Path("samples/photos"),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Set up a demo organisation, a bank of the sample photos and an API key, print how to
    match a photo with curl, and serve."""
    if not photos.is_dir():
        raise UsageError(f"--photos {photos}: not a folder")
    settings = settings_of(ctx)
    store = open_store(ctx)
    actor = local_actor()
    with store.read() as session:
        old = [
            k.prefix
            for k, o in OrganisationRepository(session).key_list()
            if o.name == DEMO_ORGANISATION and k.label == "demo" and k.revoked_at is None
        ]
    for prefix in old:  # one live demo key at a time
        revoke_key(store, prefix, actor)
    issued = issue_key(
        store,
        DEMO_ORGANISATION,
        "support_centre",
        ["hash", "match", "bank:read"],
        label="demo",
        actor=actor,
    )
    try:
        create_bank(
            store,
            DEMO_BANK,
            "verified",
            "Sample photos for the demo",
            shared_with=[DEMO_ORGANISATION],
            actor=actor,
        )
    except BankExistsError:
        update_bank(store, DEMO_BANK, shared_with=[DEMO_ORGANISATION], actor=actor)
    files = [p for p in iter_media_paths([photos]) if isinstance(p, Path)]
    if not files:
        raise UsageError(f"--photos {photos}: no images in it")
    stored = sum(
        r["error"] is None
        for r in add_files(
            store,
            DEMO_BANK,
            files,
            options_for(
                settings,
                keypoints=True,
                seconds_per_hash=settings.video_register_seconds_per_hash,
            ),
        )
    )
    url = f"http://{host}:{port}"
    example = shlex.quote(str(files[0]))
    typer.echo(
        f"\nReclaim demo: bank {DEMO_BANK} holds the fingerprints of {stored} photos from "
        f"{photos}.\n"
        f"  service   {url}   (interactive API docs: {url}/docs)\n"
        f"  survivor portal   {url}/   (fingerprints photos in the browser; sends no image)\n"
        f"  API key   {issued.key}\n"
        f"Match a photo (its bytes are hashed in memory by the service, never kept):\n"
        f"  curl -s -H 'Authorization: Bearer {issued.key}' -F file=@{example} {url}/v1/match\n"
        f"Stop with Ctrl-C.\n",
        err=True,
    )
    _run(settings, host, port, 1)
