"""Banks, their signals, and partners' incremental exports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from starlette.concurrency import run_in_threadpool

from reclaim import banks
from reclaim.api.auth import BankReader, BankWriter, Service
from reclaim.api.schemas import (
    NAME_PATTERN,
    BankCreate,
    BankList,
    BankPublic,
    BankUpdate,
    ErrorBody,
    ExportPage,
    ExportRecord,
    SignalPage,
    SignalPublic,
    SignalsAdded,
    SignalsCreate,
)

router = APIRouter(
    prefix="/v1/banks",
    tags=["banks"],
    responses={404: {"model": ErrorBody, "description": "No such bank (or not visible to you)."}},
)
BankPath = Annotated[str, Path(description="Bank name.", pattern=NAME_PATTERN, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Most items to return.")]


def _public(view: banks.BankView) -> BankPublic:
    return BankPublic.model_validate(view, from_attributes=True)


@router.get("", summary="The banks you own or that are shared with you")
async def list_banks(state: Service, principal: BankReader) -> BankList:
    views = await run_in_threadpool(banks.list_banks, state.store, principal)
    return BankList(items=[_public(v) for v in views])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a bank owned by your organisation",
    responses={409: {"model": ErrorBody, "description": "The name is taken."}},
)
async def create_bank(body: BankCreate, state: Service, principal: BankWriter) -> BankPublic:
    view = await run_in_threadpool(
        lambda: banks.create_bank(
            state.store,
            body.name,
            body.kind.value,
            body.description,
            shared_with=body.shared_with,
            principal=principal,
        )
    )
    return _public(view)


@router.get("/{name}", summary="One bank, with its signal counts")
async def get_bank(name: BankPath, state: Service, principal: BankReader) -> BankPublic:
    return _public(await run_in_threadpool(banks.get_bank, state.store, name, principal))


@router.patch("/{name}", summary="Change a bank's description, state or sharing")
async def update_bank(
    name: BankPath, body: BankUpdate, state: Service, principal: BankWriter
) -> BankPublic:
    view = await run_in_threadpool(
        lambda: banks.update_bank(
            state.store,
            name,
            description=body.description,
            enabled=body.enabled,
            shared_with=body.shared_with,
            principal=principal,
        )
    )
    return _public(view)


@router.get("/{name}/signals", summary="A page of the bank's signals, in id order")
async def list_signals(
    name: BankPath,
    state: Service,
    principal: BankReader,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Return ids above this.")] = 0,
    limit: Limit = 1000,
) -> SignalPage:
    rows = await run_in_threadpool(banks.list_signals, state.store, name, after, limit, principal)
    items = [SignalPublic.model_validate(r, from_attributes=True) for r in rows]
    return SignalPage(items=items, next_after=items[-1].id if len(items) == limit else None)


@router.post(
    "/{name}/signals",
    status_code=status.HTTP_201_CREATED,
    summary="Add signals; bad items are reported by index and the rest stored",
)
async def add_signals(
    name: BankPath, body: SignalsCreate, state: Service, principal: BankWriter
) -> SignalsAdded:
    items: list[dict[str, Any]] = [s.model_dump() for s in body.signals]
    report = await run_in_threadpool(
        banks.add_signals, state.store, name, items, state.settings.pdq_min_quality, principal
    )
    return SignalsAdded.model_validate(report, from_attributes=True)


@router.post("/{name}/signals/{signal_id}/withdraw", summary="Withdraw a signal: it stops matching")
async def withdraw_signal(
    name: BankPath,
    signal_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    state: Service,
    principal: BankWriter,
) -> SignalPublic:
    row = await run_in_threadpool(banks.withdraw_signal, state.store, name, signal_id, principal)
    return SignalPublic.model_validate(row, from_attributes=True)


@router.get(
    "/{name}/export",
    summary="Changes since a sequence number, withdrawals included, for partners to mirror",
)
async def export(
    name: BankPath,
    state: Service,
    principal: BankReader,
    since: Annotated[int, Query(ge=0, le=2**63 - 1, description="Last seq you applied.")] = 0,
    limit: Limit = 1000,
) -> ExportPage:
    rows = await run_in_threadpool(banks.export_changes, state.store, name, since, limit, principal)
    items = [ExportRecord.model_validate(r) for r in rows]
    return ExportPage(
        items=items, next_since=items[-1].seq if items else since, more=len(items) == limit
    )
