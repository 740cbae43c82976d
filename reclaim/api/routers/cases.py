"""Survivors' cases filed by support centres on their behalf, and followed by them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from starlette.concurrency import run_in_threadpool

from reclaim.api.auth import CaseWorker, Service
from reclaim.api.schemas import CaseCreate, CaseCreated, CasePublic, CaseWithdrawn, ErrorBody
from reclaim.cases import CaseView, Representative, parse_submission
from reclaim.errors import PermissionDenied
from reclaim.keys import Principal
from reclaim.store.models import OrganisationKind

router = APIRouter(
    prefix="/v1/cases",
    tags=["cases"],
    responses={404: {"model": ErrorBody, "description": "No such case filed by you."}},
)
CaseNumber = Annotated[
    str, Path(description="The case number (RC-XXXX-XXXX-XXXX).", min_length=12, max_length=40)
]


def _centre(principal: Principal) -> None:
    if not (principal.is_admin or principal.organisation_kind == OrganisationKind.SUPPORT_CENTRE):
        raise PermissionDenied("only support centres file cases on a survivor's behalf")


def _public(view: CaseView) -> CasePublic:
    summary = view.matches
    return CasePublic(
        number=view.number, status=view.status,
        minor=view.minor, created_at=view.created_at, withdrawn_at=view.withdrawn_at,
        signals=view.signals, matches=summary.matches, platforms=summary.platforms,
        last_match_at=summary.last_match_at, removals=summary.removals,
        last_removal_at=summary.last_removal_at, representative=view.representative,
        filed_by=view.filed_by, consent=view.consent, consent_at=view.consent_at,
        contact=view.contact,
    )  # fmt: skip


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="File a case for a survivor, with their consent; the PIN is shown once",
)
async def create_case(body: CaseCreate, state: Service, principal: CaseWorker) -> CaseCreated:
    _centre(principal)
    items = [item.model_dump(exclude_none=True) for item in body.signals]
    submission = parse_submission(items, state.settings.pdq_min_quality)
    representative = Representative(principal, body.representative, body.consent)
    receipt = await run_in_threadpool(
        state.cases.create,
        submission,
        minor=body.minor,
        contact=body.contact,
        representative=representative,
    )
    return CaseCreated(
        number=receipt.number, pin=receipt.pin, minor=receipt.minor, added=receipt.added,
        errors=receipt.errors,
    )  # fmt: skip


@router.get("/{number}", summary="A case your centre filed: status, matches, removals")
async def get_case(
    number: CaseNumber,
    state: Service,
    principal: CaseWorker,
    contact: Annotated[bool, Query(description="Include the sealed contact (audited).")] = False,
) -> CasePublic:
    _centre(principal)
    case_id = await run_in_threadpool(state.cases.case_for, number, principal)
    view = await run_in_threadpool(
        state.cases.view, case_id, with_contact=contact, actor=principal.actor
    )
    return _public(view)


@router.post("/{number}/withdraw", summary="Withdraw a case at the survivor's request")
async def withdraw_case(number: CaseNumber, state: Service, principal: CaseWorker) -> CaseWithdrawn:
    _centre(principal)
    case_id = await run_in_threadpool(state.cases.case_for, number, principal)
    withdrawn = await run_in_threadpool(state.cases.withdraw, case_id, principal.actor)
    view = await run_in_threadpool(state.cases.view, case_id)
    return CaseWithdrawn(number=view.number, status="withdrawn", withdrawn=withdrawn)
