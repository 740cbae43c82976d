"""What keeps the portal's pages safe to use: form tokens against cross-site requests, the
signed session a case is open under, the sealed receipt that shows a new case's PIN once,
and the headers every page carries.

- **Forms** carry ``csrf``: the signature of a random value kept in a ``SameSite=Strict``
  cookie. A post without both, or from another origin (``Origin``), is refused.
- **An open case** is a cookie naming the case and when the session ends (30 minutes after
  the PIN was given), signed; it holds no PIN.
- **A new case's number and PIN** travel to the receipt page sealed in a cookie that page
  clears (post, redirect, get: reloading the receipt never makes a second case, and the
  PIN is not shown twice); the sealed time runs out after ten minutes.

A session cannot be ended from the server: closing a case on the device drops its
cookie there, and a copied cookie works until its time runs out.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from reclaim.errors import InputError
from reclaim.sealing import SecretKey

CSRF_COOKIE: Final = "reclaim_csrf"
SESSION_COOKIE: Final = "reclaim_case"
RECEIPT_COOKIE: Final = "reclaim_receipt"
SESSION_SECONDS: Final = 30 * 60
RECEIPT_SECONDS: Final = 10 * 60
_CSRF: Final = "portal form"
_SESSION: Final = "portal case session"
_RECEIPT: Final = "portal receipt"

#: Only Reclaim's own scripts and styles; no inline script or style, no connection a
#: script could open (the page sends nothing but its forms), forms post only here, no
#: framing.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: The policy of the scripts themselves. A worker (which holds the chosen files) takes its
#: policy from its own script's response, not from the page's: it may load Reclaim's
#: scripts and open no connection at all.
SCRIPT_POLICY: Final = "default-src 'none'; script-src 'self'"
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Same-origin, not no-referrer: under no-referrer a browser posts forms with "Origin:
    # null", which the origin check must refuse. No other site is ever told the address.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


class FormRefused(InputError):
    """A form post without a valid token, or from another site."""

    code = "form_refused"
    http_status = 403


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def page_headers(request: Request) -> dict[str, str]:
    """``PAGE_HEADERS``, and over HTTPS a year of HTTPS only (HSTS)."""
    if _secure(request):
        return {**PAGE_HEADERS, "Strict-Transport-Security": "max-age=31536000"}
    return PAGE_HEADERS


def _set(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    seconds: int | None,
    path: str,
) -> None:
    """A cookie for this site's pages alone; ``seconds`` None: gone when the browser
    closes."""
    response.set_cookie(
        name, value, max_age=seconds, path=path, httponly=True, samesite="strict",
        secure=_secure(request),
    )  # fmt: skip


# --- forms -------------------------------------------------------------------------------


def csrf_seed(request: Request) -> tuple[str, bool]:
    """The visitor's form seed, and whether it is new (to be set as a cookie)."""
    seed = request.cookies.get(CSRF_COOKIE, "")
    if len(seed) == 43 and seed.replace("-", "").replace("_", "").isalnum():
        return seed, False
    return secrets.token_urlsafe(32), True


def csrf_token(key: SecretKey, seed: str) -> str:
    return key.sign(seed.encode(), _CSRF)


def keep_csrf_seed(response: Response, request: Request, seed: str) -> None:
    _set(response, request, CSRF_COOKIE, seed, seconds=12 * 3600, path="/")


def check_form(request: Request, key: SecretKey, token: object) -> None:
    """Refuse a post from another origin or without this visitor's form token."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise FormRefused("the form was sent from another site")
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not isinstance(token, str) or not key.verify(seed.encode(), token, _CSRF):
        raise FormRefused("the form has expired or was not sent from this site; reload the page")


# --- an open case ------------------------------------------------------------------------


def open_session(response: Response, request: Request, key: SecretKey, case_id: int) -> None:
    body = f"{case_id}.{int(time.time()) + SESSION_SECONDS}"
    value = f"{body}.{key.sign(body.encode(), _SESSION)}"
    _set(response, request, SESSION_COOKIE, value, seconds=SESSION_SECONDS, path="/case")


def session_case(request: Request, key: SecretKey) -> int | None:
    """The case this visitor has open, if the session is genuine and not over."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    body, _, signature = cookie.rpartition(".")
    ident, _, until = body.partition(".")
    if not (ident.isdigit() and until.isdigit()) or not key.verify(
        body.encode(), signature, _SESSION
    ):
        return None
    return int(ident) if int(until) > time.time() else None


def close_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/case")


# --- the receipt -------------------------------------------------------------------------


def keep_receipt(
    response: Response, request: Request, key: SecretKey, number: str, pin: str, **extra: object
) -> None:
    until = int(time.time()) + RECEIPT_SECONDS
    body = {"number": number, "pin": pin, "until": until, **extra}
    sealed = key.seal(json.dumps(body).encode(), _RECEIPT)
    value = base64.urlsafe_b64encode(sealed).decode()
    # A browser-session cookie whose sealed time runs out: not kept on disk, and of no use
    # after RECEIPT_SECONDS even if copied.
    _set(response, request, RECEIPT_COOKIE, value, seconds=None, path="/submit/done")


def read_receipt(request: Request, key: SecretKey) -> dict[str, object] | None:
    """The receipt sealed for this visitor, if there is one (``clear_receipt`` drops it)."""
    cookie = request.cookies.get(RECEIPT_COOKIE)
    if not cookie:
        return None
    try:
        opened = key.unseal(base64.urlsafe_b64decode(cookie.encode()), _RECEIPT)
    except (binascii.Error, ValueError, InputError):
        return None
    receipt: dict[str, object] = json.loads(opened)
    until = receipt.get("until")
    return receipt if isinstance(until, int) and until > time.time() else None


def clear_receipt(response: Response) -> None:
    response.delete_cookie(RECEIPT_COOKIE, path="/submit/done")


class Assets(StaticFiles):
    """The portal's scripts and styles, each with ``SCRIPT_POLICY`` (which governs a worker
    started from it) and no sniffing of its type."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Content-Security-Policy"] = SCRIPT_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
