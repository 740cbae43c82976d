"""Every error leaves the service as JSON ``{"error": {"code", "message"}}`` with a 4xx
status; an unexpected fault is logged and answered with a 500 of the same shape that
says nothing of the internals. A browser asking for a page of the portal gets the portal's
own error page instead (``page_error``), in its language."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException

from reclaim.errors import ImportFileError, RateLimited, ReclaimError

logger = logging.getLogger("reclaim.api")


def error_response(error: ReclaimError) -> JSONResponse:
    body: dict[str, object] = dict(error.to_dict())
    headers: dict[str, str] = {}
    if isinstance(error, ImportFileError):
        body["problems"] = error.problems
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse({"error": body}, status_code=error.http_status, headers=headers)


def describe_problems(errors: Sequence[Any]) -> tuple[str, list[str]]:
    """A one-line message and the list of problems, from pydantic's validation errors."""
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    if not problems:
        return "the body is not valid", []
    return (
        problems[0] if len(problems) == 1 else f"{len(problems)} problems: {problems[0]}; ..."
    ), problems


#: What an error page tells a visitor: no such page, try again shortly, our fault, or
#: refused.
PageProblem = Literal["missing", "unavailable", "failed", "unfinished"]
#: Draws an error page for a request to a page, or gives None where the answer stays JSON.
PageError = Callable[[Request, int, PageProblem], Response | None]


def _retry_after(answer: Response) -> dict[str, str]:
    after = answer.headers.get("retry-after")
    return {"Retry-After": after} if after else {}


def install_error_handlers(app: FastAPI, page_error: PageError | None = None) -> None:
    def as_page(
        request: Request, status: int, problem: PageProblem, headers: Mapping[str, str] | None
    ) -> Response | None:
        page = page_error(request, status, problem) if page_error is not None else None
        if page is not None:
            page.headers.update(headers or {})
        return page

    @app.exception_handler(ReclaimError)
    async def reclaim_error(request: Request, exc: ReclaimError) -> Response:
        answer = error_response(exc)
        if exc.http_status >= 500 and exc.http_status != 503:
            logger.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc)
        problem: PageProblem = (
            "unfinished" if exc.http_status < 500
            else "unavailable" if exc.http_status == 503 else "failed"
        )  # fmt: skip
        page = as_page(request, exc.http_status, problem, _retry_after(answer))
        return page or answer

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        message, problems = describe_problems(exc.errors())
        body = {"code": "invalid_request", "message": message, "problems": problems[:20]}
        return JSONResponse({"error": body}, status_code=422)

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        # Values the database cannot store (e.g. NUL characters in PostgreSQL text).
        message = f"a value cannot be stored: {str(exc.orig).splitlines()[0]}"
        return JSONResponse({"error": {"code": "invalid_value", "message": message}}, 422)

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        logger.warning("store unavailable: %s", exc.orig)
        if (page := as_page(request, 503, "unavailable", {"Retry-After": "1"})) is not None:
            return page
        body = {"code": "store_busy", "message": "the store is busy or unreachable; retry shortly"}
        return JSONResponse({"error": body}, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if isinstance(exc.__cause__, ReclaimError):  # raised while FastAPI read the body
            return error_response(exc.__cause__)
        if exc.status_code in (404, 405) and (
            page := as_page(request, exc.status_code, "missing", exc.headers)
        ):
            return page
        if exc.status_code == 400 and exc.__cause__ is not None:
            reason = str(exc.__cause__).splitlines()[0][:200] or type(exc.__cause__).__name__
            body = {"code": "bad_request", "message": f"the request body cannot be read: {reason}"}
            return JSONResponse({"error": body}, status_code=400)
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        body = {"code": code, "message": str(exc.detail)}
        return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        if (page := as_page(request, 500, "failed", None)) is not None:
            return page
        body = {"code": "internal", "message": "the service failed to answer; it was logged"}
        return JSONResponse({"error": body}, status_code=500)
