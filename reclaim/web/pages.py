"""The survivor portal's pages: the landing page, fingerprinting and submitting (``/submit``),
and a case's status, additions and withdrawal (``/case``).

Pages are rendered here; the only script is ``static/portal.js``, which fingerprints the
chosen files in the browser and puts the fingerprints (never the files: the file input has
no name, so a form cannot carry it) into the form. Handlers are thin: cases are the
``CaseService``'s work, tokens and headers ``reclaim.web.security``'s.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from reclaim import cases
from reclaim.api.errors import PageProblem
from reclaim.api.state import ServiceState
from reclaim.errors import (
    AuthenticationError,
    CaseWithdrawnError,
    InputError,
    RateLimited,
    ReclaimError,
)
from reclaim.web import security
from reclaim.web.i18n import COOKIE, LANGUAGES, choose_language, translations

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
STATIC: Final = Path(__file__).resolve().parent / "static"
PRODUCT: Final = "Reclaim"
MAX_FILES: Final = 50
#: The form's own fields beside the fingerprints.
_MAX_FIELDS: Final = 8

logger = logging.getLogger("reclaim.web")


def N_(message: str) -> str:  # noqa: N802 - gettext's marker for messages translated later
    return message


#: What the pages say when something is refused (translated as they are shown).
MESSAGES: Final = {
    "refused": N_(
        "The case number and PIN do not open a case. Check them and try again; after "
        "several wrong tries, wait 15 minutes."
    ),
    "form": N_(
        "This form has expired or did not come from this site. Reload the page and try again."
    ),
    "empty": N_("Choose at least one image or video, and wait until its fingerprints are ready."),
    "invalid": N_("The fingerprints could not be used: %(reason)s"),
    # Where the reason, which is technical and in English, would read oddly.
    "invalid_plain": N_(
        "The fingerprints could not be used. Reload the page and choose the files again."
    ),
    "confirm": N_("Tick the box to confirm that you want to withdraw this case."),
    "expired": N_("Your case was closed on this device. Enter the case number and PIN again."),
    "added": N_("The new fingerprints were added to your case."),
    "withdrawn": N_("Your case was withdrawn."),
    "unreadable": N_("The form could not be read. Reload the page and try again."),
    "contact": N_("The contact is too long: use at most 500 characters."),
    "busy": N_("Too many tries from here. Wait a while, then try again."),
    "missing": N_("There is no page at this address. Check it, or go back to the start."),
    "unavailable": N_("The service is busy for a moment. Wait a few seconds, then try again."),
    "failed": N_("Something went wrong on our side. It was recorded; please try again later."),
    "unfinished": N_("This could not be done. Go back to the start and try again."),
    "closed": N_(
        "This case is withdrawn, so nothing more can be added to it. You can start a new case."
    ),
}

#: Paths outside the portal: their errors stay JSON whoever asks.
_SERVICE_PATHS: Final = ("/v1/", "/assets/", "/static/", "/docs", "/openapi.json")

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=len(LANGUAGES))
def environment(language: str) -> Environment:
    """Templates speaking ``language``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


class Page:
    """What one request needs to render: its language, its form token, the service."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.state = _state(request)
        self.chosen = request.query_params.get("lang")
        self.language = choose_language(
            self.chosen or request.cookies.get(COOKIE), request.headers.get("accept-language")
        )
        self.seed, self.new_seed = security.csrf_seed(request)
        self.gettext: Callable[[str], str] = translations(self.language).gettext

    def say(self, key: str, **values: object) -> str:
        text = self.gettext(MESSAGES[key])
        return text % values if values else text

    def refusal(self, reason: str) -> str:
        """Why fingerprints were refused: with ``reason`` (technical, in English) on an
        English page, in plain words on the others."""
        if self.language == "en":
            return self.say("invalid", reason=reason)
        return self.say("invalid_plain")

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = (
            environment(self.language)
            .get_template(template)
            .render(
                lang=self.language,
                languages=LANGUAGES,
                product=PRODUCT,
                csrf=security.csrf_token(self.state.secret, self.seed),
                min_quality=self.state.settings.pdq_min_quality,
                max_files=MAX_FILES,
                **context,
            )
        )
        response = HTMLResponse(
            body, status_code=status, headers=security.page_headers(self.request)
        )
        self.finish(response)
        return response

    def redirect(self, location: str) -> RedirectResponse:
        response = RedirectResponse(
            location, status_code=303, headers=security.page_headers(self.request)
        )
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        if self.new_seed:
            security.keep_csrf_seed(response, self.request, self.seed)
        if self.chosen in LANGUAGES:
            response.set_cookie(COOKIE, self.chosen, max_age=365 * 86400, samesite="strict",
                                secure=self.request.url.scheme == "https")  # fmt: skip

    async def form(self) -> FormData:
        """The posted form, its token checked. A form too large or malformed is refused."""
        try:
            form = await self.request.form(max_files=0, max_fields=_MAX_FIELDS)
        except HTTPException:  # not a form Starlette can parse: too many parts, files...
            raise PageRefusal(self.say("unreadable"), status=400) from None
        security.check_form(self.request, self.state.secret, form.get("csrf"))
        return form

    def client(self) -> str:
        """Whom attempts are counted against: the address, or an IPv6 address's /64 (one
        household or phone holds a whole /64, and could rotate through it)."""
        host = self.request.client.host if self.request.client else "unknown"
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)


class PageRefusal(InputError):
    """A refusal whose message is already in the visitor's language."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.http_status = status  # type: ignore[misc]


def _fingerprints(form: FormData, page: Page) -> cases.Submission:
    raw = form.get("fingerprints")
    if not isinstance(raw, str) or not raw.strip():
        raise PageRefusal(page.say("empty"))
    try:
        items = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python goes
        raise PageRefusal(page.refusal("not JSON")) from None
    if not isinstance(items, list):
        raise PageRefusal(page.refusal("not a list"))
    return cases.parse_submission(items, page.state.settings.pdq_min_quality)


def _problem(page: Page, exc: ReclaimError) -> str:
    """What to tell the visitor about a refusal, in their language."""
    if isinstance(exc, security.FormRefused):
        return page.say("form")
    if isinstance(exc, AuthenticationError):
        return page.say("refused")
    if isinstance(exc, RateLimited):
        return page.say("busy")
    if isinstance(exc, PageRefusal):
        return exc.message
    if isinstance(exc, CaseWithdrawnError):
        return page.say("closed")
    return page.refusal(exc.message)


def error_page(request: Request, status: int, problem: PageProblem) -> Response | None:
    """The portal's page for a failure where a browser asked for a page outside the API
    (``status`` its status, ``problem`` what it says), or None where the answer stays
    JSON."""
    if request.url.path.startswith(_SERVICE_PATHS):
        return None
    if "text/html" not in request.headers.get("accept", ""):
        return None
    try:
        page = Page(request)
        return page.render("error.html", status=status, error=page.say(problem))
    except Exception:  # a page that cannot be drawn falls back to JSON
        logger.exception("the error page for %s could not be drawn", request.url.path)
        return None


# --- pages -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return Page(request).render("home.html")


@router.get("/submit", response_class=HTMLResponse)
async def submit_form(request: Request) -> Response:
    return Page(request).render("submit.html")


@router.post("/submit", response_class=HTMLResponse)
async def submit(request: Request) -> Response:
    page = Page(request)
    try:
        form = await page.form()
        page.state.submissions.take(page.client())
        submission = _fingerprints(form, page)
        contact = form.get("contact")
        if isinstance(contact, str) and len(contact.strip()) > cases.MAX_CONTACT_CHARS:
            raise PageRefusal(page.say("contact"))
        receipt = await run_in_threadpool(
            page.state.cases.create,
            submission,
            minor=form.get("under18") == "yes",
            contact=contact if isinstance(contact, str) else None,
        )
    except ReclaimError as exc:
        status = exc.http_status if exc.http_status < 500 else 503
        return page.render("submit.html", status=status, error=_problem(page, exc))
    moved = page.redirect("/submit/done")
    security.keep_receipt(
        moved, request, page.state.secret, receipt.number, receipt.pin,
        added=receipt.added, refused=len(receipt.errors), minor=receipt.minor,
    )  # fmt: skip
    return moved


@router.get("/submit/done", response_class=HTMLResponse)
async def receipt(request: Request) -> Response:
    page = Page(request)
    response = page.render(
        "receipt.html", receipt=security.read_receipt(request, page.state.secret)
    )
    security.clear_receipt(response)  # shown once
    return response


@router.get("/case", response_class=HTMLResponse)
async def case_page(request: Request) -> Response:
    page = Page(request)
    case_id = security.session_case(request, page.state.secret)
    if case_id is None:
        return page.render("case_open.html")
    return await _case_view(page, case_id)


async def _case_view(page: Page, case_id: int, **context: Any) -> Response:
    try:
        view = await run_in_threadpool(page.state.cases.view, case_id)
    except ReclaimError:  # the case is gone (a store reset): start again
        response = page.render("case_open.html", error=page.say("expired"))
        security.close_session(response)
        return response
    notice = {"added": page.say("added"), "withdrawn": page.say("withdrawn")}.get(
        page.request.query_params.get("done", "")
    )
    return page.render(
        "case.html", case=view, notice=notice,
        withdrawn_on=_date(view.withdrawn_at, page.language), **context,
    )  # fmt: skip


def _date(moment: datetime | None, language: str) -> str:
    """A time as the visitor's language writes it, in UTC, saying so."""
    if moment is None:
        return ""
    return format_datetime(moment, "medium", tzinfo=UTC, locale=language) + " UTC"


@router.post("/case", response_class=HTMLResponse)
async def open_case(request: Request) -> Response:
    page = Page(request)
    client = page.client()
    try:
        form = await page.form()
        page.state.openings.take(client)
        number, pin = form.get("number"), form.get("pin")
        case_id = await run_in_threadpool(
            page.state.cases.open,
            number if isinstance(number, str) else "",
            pin if isinstance(pin, str) else "",
        )
    except AuthenticationError as exc:
        return page.render("case_open.html", status=401, error=_problem(page, exc))
    except ReclaimError as exc:
        response = page.render("case_open.html", status=exc.http_status, error=_problem(page, exc))
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    page.state.openings.forgive(client)
    moved = page.redirect("/case")
    security.open_session(moved, request, page.state.secret, case_id)
    return moved


async def _session(page: Page) -> tuple[FormData, int] | Response:
    """The posted form and the open case, or the page to show instead."""
    try:
        form = await page.form()
    except ReclaimError as exc:
        return page.render("error.html", status=exc.http_status, error=_problem(page, exc))
    case_id = security.session_case(page.request, page.state.secret)
    if case_id is None:
        return page.render("case_open.html", status=401, error=page.say("expired"))
    return form, case_id


@router.post("/case/add", response_class=HTMLResponse)
async def add_to_case(request: Request) -> Response:
    page = Page(request)
    opened = await _session(page)
    if isinstance(opened, Response):
        return opened
    form, case_id = opened
    try:
        submission = _fingerprints(form, page)
        await run_in_threadpool(page.state.cases.add, case_id, submission)
    except ReclaimError as exc:
        return await _case_view(page, case_id, error=_problem(page, exc))
    return page.redirect("/case?done=added")


@router.post("/case/withdraw", response_class=HTMLResponse)
async def withdraw_case(request: Request) -> Response:
    page = Page(request)
    opened = await _session(page)
    if isinstance(opened, Response):
        return opened
    form, case_id = opened
    if form.get("confirm") != "yes":
        return await _case_view(page, case_id, error=page.say("confirm"))
    try:
        await run_in_threadpool(page.state.cases.withdraw, case_id)
    except ReclaimError as exc:  # the case is gone: _case_view says so
        return await _case_view(page, case_id, error=_problem(page, exc))
    return page.redirect("/case?done=withdrawn")


@router.get("/case/add", response_class=HTMLResponse)
@router.get("/case/withdraw", response_class=HTMLResponse)
@router.get("/case/close", response_class=HTMLResponse)
async def back_to_case(request: Request) -> Response:
    """Where a page shown after a form post leads when reloaded or switched to another
    language: the case (the form's own address takes posts only)."""
    page = Page(request)
    return page.redirect(f"/case?lang={page.language}")


@router.post("/case/close", response_class=HTMLResponse)
async def close_case(request: Request) -> Response:
    page = Page(request)
    try:
        await page.form()
    except ReclaimError as exc:
        return page.render("error.html", status=exc.http_status, error=_problem(page, exc))
    response = page.redirect("/")
    security.close_session(response)
    return response
