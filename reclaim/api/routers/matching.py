"""Matching fingerprints (or an upload) against the banks the caller sees."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from reclaim.api.auth import Matching, Service, state_of
from reclaim.api.errors import describe_problems
from reclaim.api.routers.hashing import (
    FILE_FIELD,
    fingerprint_public,
    flag_field,
    read_form,
    upload_bytes,
)
from reclaim.api.schemas import (
    BatchMatchItem,
    BatchMatchRequest,
    BatchMatchResponse,
    ErrorBody,
    ErrorDetail,
    MatchOutcomeIn,
    MatchPublic,
    MatchRecordPage,
    MatchRecordPublic,
    MatchRequest,
    MatchResponse,
)
from reclaim.api.state import ServiceState
from reclaim.errors import InputError, ReclaimError, UsageError
from reclaim.hashing.files import check_size, fingerprint_bytes
from reclaim.hashing.keypoints import Features
from reclaim.hashing.video import Sampling, VideoQuery
from reclaim.keys import Principal
from reclaim.match_records import list_matches, report_outcome
from reclaim.matching import MatchResult
from reclaim.store.models import MatchOutcome

router = APIRouter(
    prefix="/v1",
    tags=["matching"],
    responses={
        404: {"model": ErrorBody, "description": "A named bank does not exist (for you)."},
        415: {"model": ErrorBody, "description": "An uploaded file in a format not decoded."},
        503: {"model": ErrorBody, "description": "The indexes are still loading."},
    },
)

_MATCH_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": FILE_FIELD,
        "banks": {"type": "string", "description": "Comma-separated bank names."},
        "threshold": {"type": "integer", "minimum": 0, "maximum": 64},
        "plain": {
            "type": "boolean",
            "default": False,
            "description": "Match by whole-image PDQ and exact hashes only, not local features; "
            "sample a video as vPDQ does, one frame a second, not at its key frames, look "
            "once, and match it by whole frames (registered region hashes still find "
            "cropped copies, not marked or subtitled ones).",
        },
    },
}
_MATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": MatchRequest.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            },
            "multipart/form-data": {"schema": _MATCH_FORM},
        },
    }
}


def _public(result: MatchResult) -> tuple[list[MatchPublic], bool]:
    matches = [
        MatchPublic(
            bank=m.bank,
            bank_kind=m.bank_kind,
            signal_id=m.signal_id,
            type=m.type,
            distance=m.distance,
            inliers=m.inliers,
            query_percent=None if m.query_percent is None else round(m.query_percent, 2),
            target_percent=None if m.target_percent is None else round(m.target_percent, 2),
        )
        for m in result.matches
    ]
    return matches, bool(result.suppressed_by)


async def _match(
    state: ServiceState,
    principal: Principal,
    signals: list[tuple[str, str]],
    banks: list[str] | None,
    threshold: int | None,
    *,
    views: Sequence[Features] = (),
    video: VideoQuery | None = None,
    video_again: Callable[[bool], VideoQuery | None] | None = None,
) -> MatchResult:
    chosen = state.settings.match_threshold if threshold is None else threshold
    if views or video is not None:  # a feature or video search: off the event loop
        result = await run_in_threadpool(
            partial(
                state.matcher.match,
                viewer=principal,
                views=views,
                video=video,
                video_again=video_again,
            ),
            signals,
            banks,
            chosen,
        )
    else:
        result = state.matcher.match(signals, banks, chosen, viewer=principal)
    state.recorder.submit(principal, result.matches)
    return result


@router.post(
    "/match",
    summary="Match signals (JSON) or an uploaded file (multipart) against your banks",
    response_model=MatchResponse,
    openapi_extra=_MATCH_BODY,
)
async def match(request: Request, principal: Matching) -> Response:
    # The hot path of the service: the state is taken from the request rather than from a
    # dependency, and the answer is written as JSON here rather than validated again by
    # FastAPI (each saved a tenth of a request's time).
    state = state_of(request)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        return _json(await _match_upload(request, state, principal))
    if not content_type.startswith("application/json"):
        raise UsageError("send JSON (application/json) or a file (multipart/form-data)")
    try:
        body = MatchRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise UsageError(
                f"the body is not valid JSON: {describe_problems(exc.errors())[0]}"
            ) from None
        raise InputError(describe_problems(exc.errors())[0]) from None
    signals: list[tuple[str, str]] = [(s.type, s.value) for s in body.signals]
    matches, suppressed = _public(
        await _match(state, principal, signals, body.banks, body.threshold)
    )
    return _json(MatchResponse(matches=matches, suppressed=suppressed))


def _json(answer: MatchResponse) -> Response:
    return Response(answer.model_dump_json(), media_type="application/json")


async def _match_upload(
    request: Request, state: ServiceState, principal: Principal
) -> MatchResponse:
    form = await read_form(request, fields=5)
    try:
        banks = _banks_field(form.get("banks"))
        threshold = _threshold_field(form.get("threshold"))
        plain = flag_field(form.get("plain"), "plain")
        robust = not plain and state.matcher.holds_features
        options = replace(
            state.options,
            dihedral=not plain,
            query_features=robust,
            query_regions=not plain and state.matcher.holds_regions,
            video_sampling=Sampling.EVERY if plain else state.matcher.video_sampling,
        )
        data, source = await upload_bytes(form, options)
    finally:
        await form.close()
    check_size(data, source, options.limits)
    fingerprint = await run_in_threadpool(fingerprint_bytes, data, source, options)
    # A second look (none for plain, vPDQ's rules) samples as densely as registrations,
    # or as vPDQ does against a one-a-second list.
    every = replace(options, video_sampling=Sampling.EVERY)
    closer = replace(every, seconds_per_hash=state.settings.video_register_seconds_per_hash)

    def again(dense: bool) -> VideoQuery | None:
        return fingerprint_bytes(data, source, closer if dense else every).video

    result = await _match(
        state,
        principal,
        fingerprint.query_signals(state.settings.pdq_min_quality),
        banks,
        threshold,
        views=fingerprint.views or (),
        video=fingerprint.video,
        video_again=None if plain else again,
    )
    matches, suppressed = _public(result)
    return MatchResponse(
        matches=matches, suppressed=suppressed, fingerprint=fingerprint_public(fingerprint)
    )


def _banks_field(raw: object) -> list[str] | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise InputError("'banks' must be text: bank names separated by commas")
    return [name.strip() for name in raw.split(",") if name.strip()] or None


def _threshold_field(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise InputError(f"'threshold' must be a whole number 0-64, got {raw!r}") from None
    if not 0 <= value <= 64:
        raise InputError(f"'threshold' must be 0-64, got {value}")
    return value


@router.post("/match/batch", summary="Match up to 1,000 signals, each on its own")
async def match_batch(
    body: BatchMatchRequest, state: Service, principal: Matching
) -> BatchMatchResponse:
    results: list[BatchMatchItem] = []
    matcher = state.matcher
    chosen = state.settings.match_threshold if body.threshold is None else body.threshold
    if body.banks:
        matcher.match([], body.banks, chosen, viewer=principal)  # refuse unknown banks whole
    found = []
    for index, signal in enumerate(body.signals):
        try:
            result = matcher.match(
                [(signal.type, signal.value)], body.banks, chosen, viewer=principal
            )
        except ReclaimError as exc:
            results.append(
                BatchMatchItem(
                    index=index, matches=[], suppressed=False, error=ErrorDetail(**exc.to_dict())
                )
            )
            continue
        matches, suppressed = _public(result)
        found.extend(result.matches)
        results.append(BatchMatchItem(index=index, matches=matches, suppressed=suppressed))
    state.recorder.submit(principal, found)
    return BatchMatchResponse(results=results)


@router.get("/matches", summary="The matches your organisation was told of, oldest first")
async def matches(
    state: Service,
    principal: Matching,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> MatchRecordPage:
    rows = await run_in_threadpool(list_matches, state.store, principal, after, limit)
    items = [MatchRecordPublic.model_validate(r, from_attributes=True) for r in rows]
    return MatchRecordPage(items=items, next_after=items[-1].id if len(items) == limit else None)


@router.post(
    "/matches/{match_id}/outcome", summary="Report what you did about a match (e.g. removed it)"
)
async def match_outcome(
    match_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)],
    body: MatchOutcomeIn,
    state: Service,
    principal: Matching,
) -> MatchRecordPublic:
    view = await run_in_threadpool(
        report_outcome, state.store, principal, match_id, MatchOutcome(body.outcome)
    )
    return MatchRecordPublic.model_validate(view, from_attributes=True)
