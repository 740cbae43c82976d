"""Liveness, readiness, and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from reclaim.api.auth import Caller, Service
from reclaim.api.schemas import ErrorBody, Health, Me, Readiness

router = APIRouter(prefix="/v1", tags=["service"])


@router.get("/health", summary="The process is alive")
async def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    summary="The indexes are loaded and the service can match",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Still loading, or failed to load."}},
)
async def ready(state: Service) -> Response:
    if not state.ready:
        status = "failed" if state.load_error else "loading"
        body = Readiness(status=status, signals=0, seq=0, detail=state.load_error)
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "1"})
    matcher = state.matcher
    body = Readiness(
        status="ready", signals=matcher.size, seq=matcher.seq, synced_ago=matcher.synced_ago
    )
    return JSONResponse(body.model_dump())


@router.get(
    "/me",
    summary="The organisation and scopes of the calling key",
    responses={401: {"model": ErrorBody}},
)
async def me(principal: Caller) -> Me:
    return Me(
        organisation=principal.organisation,
        organisation_kind=principal.organisation_kind,
        scopes=sorted(principal.scopes),
        key_prefix=principal.key_prefix,
    )
