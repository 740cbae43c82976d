"""The service: ``create_app(settings)`` wires the store, the matcher, keys, limits and
routers together. Nothing else does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.formparsers import MultiPartParser

from reclaim import __version__
from reclaim.api.errors import install_error_handlers
from reclaim.api.limits import FORM_OVERHEAD, BodyLimit
from reclaim.api.routers import banks, cases, hashing, health, matching
from reclaim.api.schemas import ErrorBody
from reclaim.api.state import ServiceState
from reclaim.settings import Settings, get_settings
from reclaim.web import pages, security

DESCRIPTION = """\
Reclaim matches fingerprints of images against banks of fingerprints of non-consensual
intimate images. Send fingerprints (PDQ, MD5, SHA-256) or a file; files are hashed in
memory, never written to disk and never kept.

Authenticate with `Authorization: Bearer KEY` (keys are made by `reclaim keys create`).
Errors are JSON: `{"error": {"code", "message"}}`.
"""


_ERROR = {"model": ErrorBody}
# What any operation may answer besides its own results (the body names the problem).
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERROR, "description": "A request the service cannot take as sent."},
    401: {**_ERROR, "description": "No valid API key."},
    403: {**_ERROR, "description": "The key lacks the scope."},
    413: {**_ERROR, "description": "The body is larger than the limit."},
    422: {**_ERROR, "description": "Invalid input; the message names it."},
    429: {**_ERROR, "description": "Too many requests; see Retry-After."},
}


#: The API's sections, in the order the docs list them (routes are tried in another order).
TAGS: Final = [
    {"name": "service", "description": "Whether the service is alive and ready."},
    {"name": "banks", "description": "Hash banks, their signals, sharing and partner export."},
    {"name": "hashing", "description": "Fingerprints of an uploaded file (never stored)."},
    {"name": "matching", "description": "Fingerprints or uploads against your banks."},
    {"name": "cases", "description": "Survivors' cases filed and followed by support centres."},
]


def create_app(settings: Settings) -> FastAPI:
    """The Reclaim service for these settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServiceState.open(settings)
        app.state.service = state
        state.start_loading()
        try:
            yield
        finally:
            state.close()

    # The interactive docs page loads Swagger UI from files served here, not from a CDN:
    # no page of Reclaim's fetches third-party assets.
    app = FastAPIOffline(
        static_url="/static/docs",
        title="Reclaim",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        openapi_tags=TAGS,
    )
    install_error_handlers(app, page_error=pages.error_page)
    app.add_middleware(
        BodyLimit,
        max_request_bytes=settings.max_request_bytes,
        max_file_bytes=settings.max_file_bytes,
        upload_paths=frozenset({"/v1/hash", "/v1/match"}),
    )
    # Starlette writes form files over 1 MiB to a temporary file; an upload here may be an
    # intimate image, so it stays in memory up to the largest file accepted.
    MultiPartParser.spool_max_size = max(
        MultiPartParser.spool_max_size, settings.max_file_bytes + FORM_OVERHEAD
    )
    # Routes are tried in order: matching, the busiest, first.
    for module in (matching, hashing, banks, cases):
        app.include_router(module.router, responses=COMMON_ERRORS)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/assets", security.Assets(directory=pages.STATIC), name="assets")
    return app


def app_from_environment() -> FastAPI:
    """The app for ``RECLAIM_*`` settings (what ``reclaim serve`` hands to each worker)."""
    return create_app(get_settings())
