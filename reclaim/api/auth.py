"""Who is calling and what they may do: ``Authorization: Bearer KEY``, scopes, rate limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from reclaim.api.state import ServiceState
from reclaim.keys import Principal, Scope

_bearer = HTTPBearer(auto_error=False, description="An API key made by `reclaim keys create`.")


def state_of(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


async def service(request: Request) -> ServiceState:
    """The service's state. A coroutine on purpose: FastAPI runs plain-function
    dependencies in a thread pool, a hop that cost a tenth of the match throughput."""
    return state_of(request)


Service = Annotated[ServiceState, Depends(service)]


def require(scope: Scope | None) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller's ``Principal`` if its key holds ``scope`` (any valid
    key for ``None``)."""

    async def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        state = state_of(request)
        presented = credentials.credentials if credentials else None
        keys = state.keys
        prefix = keys.prefix_of(presented) if presented else None
        if prefix is not None:  # before the check, so guesses at a key are limited too
            state.limiter.take(prefix)
        if presented and keys.remembers(presented):
            principal = keys.authenticate(presented)
        else:  # Argon2 takes tens of milliseconds: keep it off the event loop
            principal = await run_in_threadpool(keys.authenticate, presented)
        if scope is not None:
            principal.require(scope)
        return principal

    return caller


Hashing = Annotated[Principal, Depends(require(Scope.HASH))]
Matching = Annotated[Principal, Depends(require(Scope.MATCH))]
BankReader = Annotated[Principal, Depends(require(Scope.BANK_READ))]
BankWriter = Annotated[Principal, Depends(require(Scope.BANK_WRITE))]
CaseWorker = Annotated[Principal, Depends(require(Scope.CASES))]
Caller = Annotated[Principal, Depends(require(None))]
