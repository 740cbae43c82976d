"""The portal's pages as a browser receives them: headers, no inline script or foreign
asset, labelled controls, languages, form tokens, the one-time receipt, refusals."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reclaim.api import create_app
from reclaim.errors import (
    ConfigurationError,
    NotReady,
    RateLimited,
    ReclaimError,
    UnknownCaseError,
)
from reclaim.settings import Settings
from reclaim.web import security
from reclaim.web.security import CONTENT_SECURITY_POLICY, SCRIPT_POLICY

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PAGES = ("/", "/submit", "/case", "/submit/done")


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of each label."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, str] = {}
        self._open: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open.append(dict(attrs).get("for") or dict(attrs).get("id") or tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            key = self._open[-1]
            self.texts[key] = (self.texts.get(key, "") + " " + data.strip()).strip()

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def testids(self) -> set[str]:
        return {a["data-testid"] for _, a in self.tags if a.get("data-testid")}


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        values: dict[str, object] = {
            "database_url": f"sqlite:///{tmp_path / f'portal-{len(clients)}.db'}",
            "index_dir": str(tmp_path / f"index-{len(clients)}"),
            "environment": "test",
            **overrides,
        }
        client = TestClient(create_app(Settings(**values)), raise_server_exceptions=False)  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(portal: Callable[..., TestClient]) -> TestClient:
    return portal()


def _token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def _submit(client: TestClient, *items: object, **fields: str) -> tuple[str, str]:
    token = _token(client.get("/submit").text)
    sent = client.post(
        "/submit", data={"csrf": token, "fingerprints": json.dumps(list(items)), **fields},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    receipt = client.get(sent.headers["location"]).text
    number = re.search(r'data-testid="receipt-number">([^<]+)<', receipt)
    pin = re.search(r'data-testid="receipt-pin">([^<]+)<', receipt)
    assert number and pin
    return number.group(1), pin.group(1)


def _open(client: TestClient, number: str, pin: str) -> str:
    token = _token(client.get("/case").text)
    opened = client.post("/case", data={"csrf": token, "number": number, "pin": pin})
    assert opened.status_code == 200, opened.text
    return opened.text


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_page_is_self_contained_under_a_strict_policy(
    client: TestClient, language: str
) -> None:
    for path in PAGES:
        page = client.get(f"{path}?lang={language}")
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        elements = Elements(page.text)
        assert elements.all("html")[0]["lang"] == language
        assert not elements.all("style"), f"{path}: an inline style element"
        for script in elements.all("script"):
            assert script.get("src", "").startswith("/assets/"), f"{path}: an inline script"  # type: ignore[union-attr]
        for _, attrs in elements.tags:
            assert "style" not in attrs, f"{path}: an inline style attribute"
            assert not [a for a in attrs if a.startswith("on")], f"{path}: an inline handler"
            for link in (attrs.get("href"), attrs.get("src"), attrs.get("action")):
                assert link is None or re.match(r"^(/|\?|#)", link), f"{path}: links {link}"


def test_the_assets_pages_use_are_served_here(client: TestClient) -> None:
    for asset in ("portal.js", "portal.css", "pdq.js", "digests.js", "keypoints.js",
                  "fingerprints.js", "hasher.js"):  # fmt: skip
        served = client.get(f"/assets/{asset}")
        assert served.status_code == 200, asset
        assert "http://" not in served.text and "https://" not in served.text, asset
        # A worker (which holds the chosen files) takes this policy, not the page's: it
        # may load Reclaim's scripts and connect nowhere.
        assert served.headers["content-security-policy"] == SCRIPT_POLICY, asset
        assert served.headers["x-content-type-options"] == "nosniff", asset


def test_every_control_is_labelled_and_carries_its_test_id(client: TestClient) -> None:
    submit = Elements(client.get("/submit").text)
    case = Elements(client.get("/case").text)
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    opened = Elements(_open(client, number, pin))
    assert {"file-input", "submit"} <= submit.testids()
    assert {"case-number", "case-pin"} <= case.testids()
    assert {"case-status", "withdraw", "file-input"} <= opened.testids()
    for elements in (submit, case, opened):
        labels = {a["for"] for a in elements.all("label")}
        for control in elements.all("input"):
            if control.get("type") != "hidden":
                assert control.get("id") in labels, f"unlabelled control {control}"
        for button in [a.get("id") or a.get("data-testid") for a in elements.all("button")]:
            assert button and elements.texts.get(button, "x"), "a button without text"
    (files,) = [a for a in submit.all("input") if a.get("type") == "file"]
    assert "name" not in files, "a named file input would let the form send the file"


@pytest.mark.parametrize(
    ("accept", "chosen", "expected"),
    [
        ("ko-KR,ko;q=0.9,en;q=0.8", None, "ko"),
        ("en-GB,en;q=0.9,ko;q=0.5", None, "en"),
        ("fr-FR, de;q=0.5", None, "en"),
        ("de, ko;q=0.3", None, "ko"),
        ("ko", "en", "en"),
        ("en", "ko", "ko"),
        ("ko;q=x, en", None, "en"),
    ],
)
def test_the_language_follows_the_switch_then_the_browser(
    client: TestClient, accept: str, chosen: str | None, expected: str
) -> None:
    if chosen:
        switched = client.get(f"/?lang={chosen}")
        assert switched.cookies.get("reclaim_lang") == chosen
    page = client.get("/case", headers={"Accept-Language": accept})
    assert Elements(page.text).all("html")[0]["lang"] == expected


def test_the_korean_pages_speak_korean(client: TestClient) -> None:
    page = client.get("/submit?lang=ko").text
    assert "지문" in page and "Choose images" not in page


def test_a_post_without_this_visitors_form_token_is_refused(
    client: TestClient, portal: Callable[..., TestClient]
) -> None:
    token = _token(client.get("/case").text)
    for data, headers in [
        ({"number": "RC-0000-0000-0000", "pin": "12345678"}, {}),
        ({"csrf": "forged", "number": "x", "pin": "y"}, {}),
        ({"csrf": token, "number": "x", "pin": "y"}, {"Origin": "https://elsewhere.example"}),
    ]:
        refused = client.post("/case", data=data, headers=headers)
        assert refused.status_code == 403
        assert "did not come from this site" in refused.text
    stranger = portal()
    stranger.get("/case")  # its own seed: another visitor's token is not valid for it
    refused = stranger.post("/case", data={"csrf": token, "number": "x", "pin": "y"})
    assert refused.status_code == 403


def test_the_receipt_shows_the_pin_once(client: TestClient) -> None:
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    again = client.get("/submit/done")
    assert pin not in again.text and number not in again.text
    assert 'data-testid="receipt-pin"' not in again.text


def test_a_case_is_opened_followed_and_withdrawn_in_the_pages(client: TestClient) -> None:
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90},
                          {"type": "md5", "value": "a" * 32}, contact="me@example.org")  # fmt: skip
    page = _open(client, number, pin.replace("", " ").strip())  # spaces are forgiven
    assert 'data-status="active"' in page
    assert re.search(r'data-testid="active-count">2<', page)
    token = _token(page)
    unconfirmed = client.post("/case/withdraw", data={"csrf": token})
    assert "Tick the box" in unconfirmed.text and 'data-status="active"' in unconfirmed.text
    withdrawn = client.post("/case/withdraw", data={"csrf": token, "confirm": "yes"})
    assert 'data-status="withdrawn"' in withdrawn.text
    assert re.search(r"Withdrawn on [^<]+ UTC", withdrawn.text)
    assert re.search(r'data-testid="withdrawn-count">2<', withdrawn.text)
    assert 'data-testid="withdraw"' not in withdrawn.text
    closed = client.post("/case/close", data={"csrf": token}, follow_redirects=False)
    assert closed.status_code == 303
    assert 'data-testid="case-pin"' in client.get("/case").text


def test_fingerprints_are_added_to_an_open_case(client: TestClient) -> None:
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    token = _token(_open(client, number, pin))
    added = client.post("/case/add", data={"csrf": token, "fingerprints": json.dumps(
        [{"type": "md5", "value": "b" * 32}])})  # fmt: skip
    assert "were added" in added.text and re.search(r'data-testid="active-count">2<', added.text)


def test_a_wrong_pin_gets_the_same_answer_as_an_unknown_case(client: TestClient) -> None:
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    token = _token(client.get("/case").text)
    wrong = "00000000" if pin != "00000000" else "11111111"
    answers = [
        client.post("/case", data={"csrf": token, "number": n, "pin": p})
        for n, p in [(number, wrong), ("RC-0000-0000-0000", pin), ("nonsense", "")]
    ]
    assert {a.status_code for a in answers} == {401}
    errors = [re.search(r'data-testid="error"><p>([^<]+)<', a.text) for a in answers]
    assert len({e.group(1) for e in errors if e}) == 1 and all(errors)


def test_too_many_failures_from_one_client_are_refused_even_with_the_right_pin(
    portal: Callable[..., TestClient],
) -> None:
    client = portal(case_attempts_per_client=3)
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    token = _token(client.get("/case").text)
    for _ in range(3):
        client.post("/case", data={"csrf": token, "number": "RC-0000-0000-0000", "pin": pin})
    refused = client.post("/case", data={"csrf": token, "number": number, "pin": pin})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_a_forged_or_expired_session_opens_nothing(client: TestClient) -> None:
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    _open(client, number, pin)
    genuine = client.cookies.get("reclaim_case")
    assert genuine
    ident, until, signature = genuine.split(".")
    key = client.app.state.service.secret  # type: ignore[attr-defined]
    expired = f"{ident}.{int(time.time()) - 1}"  # genuinely signed, but over
    resigned = f"{expired}.{key.sign(expired.encode(), security._SESSION)}"
    for forged in (f"{int(ident) + 1}.{until}.{signature}", f"{ident}.{int(until) + 9}.{signature}",
                   resigned, "garbage"):  # fmt: skip
        client.cookies.clear()
        client.cookies.set("reclaim_case", forged)
        page = client.get("/case")
        assert (
            'data-testid="case-pin"' in page.text and 'data-testid="case-status"' not in page.text
        )


@pytest.mark.parametrize(
    ("fingerprints", "message"),
    [
        ("", "Choose at least one"),
        ("{not json", "not JSON"),
        ('{"type": "pdq"}', "not a list"),
        ('[{"type": "md5", "value": "zz"}]', "item 0"),
        ("[]", "at least one fingerprint"),
        ("[" * 100_000, "not JSON"),
        (json.dumps([{"type": "pdq", "value": PDQ, "quality": 55.5}]), "whole number"),
    ],
)
def test_bad_fingerprints_are_refused_with_the_reason(
    client: TestClient, fingerprints: str, message: str
) -> None:
    token = _token(client.get("/submit").text)
    refused = client.post("/submit", data={"csrf": token, "fingerprints": fingerprints})
    assert refused.status_code == 422
    assert message in refused.text
    assert 'data-testid="file-input"' in refused.text  # the form again, to try once more


def test_an_oversized_submission_is_refused_before_it_is_read(
    portal: Callable[..., TestClient],
) -> None:
    client = portal(max_request_bytes=4096)
    token = _token(client.get("/submit").text)
    refused = client.post("/submit", data={"csrf": token, "fingerprints": "x" * 10_000})
    assert refused.status_code == 413


def test_a_receipt_runs_out(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token(client.get("/submit").text)
    items = json.dumps([{"type": "pdq", "value": PDQ, "quality": 90}])
    client.post("/submit", data={"csrf": token, "fingerprints": items}, follow_redirects=False)
    later = time.time() + security.RECEIPT_SECONDS + 1
    monkeypatch.setattr(security.time, "time", lambda: later)
    assert 'data-testid="receipt-pin"' not in client.get("/submit/done").text


def test_forms_the_service_cannot_parse_get_a_page_not_a_fault(client: TestClient) -> None:
    client.get("/case")
    broken = client.post(
        "/case", content=b"--x\r\nnot a part", headers={"Content-Type": "multipart/form-data"}
    )
    assert broken.status_code == 400
    assert "could not be read" in broken.text and broken.headers["content-security-policy"]
    token = _token(client.get("/submit").text)
    items = json.dumps([{"type": "md5", "value": "a" * 32}])
    long = client.post("/submit", data={"csrf": token, "contact": "x" * 501, "fingerprints": items})
    assert long.status_code == 422 and "at most 500 characters" in long.text


def test_a_page_reached_after_a_post_leads_back_to_the_case(client: TestClient) -> None:
    for action in ("add", "withdraw", "close"):
        moved = client.get(f"/case/{action}?lang=ko", follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"] == "/case?lang=ko"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_receipt_and_an_open_case_are_self_contained_too(
    client: TestClient, language: str
) -> None:
    token = _token(client.get(f"/submit?lang={language}").text)
    items = json.dumps([{"type": "pdq", "value": PDQ, "quality": 90}])
    client.post("/submit", data={"csrf": token, "fingerprints": items}, follow_redirects=False)
    receipt = client.get("/submit/done")
    number = re.search(r'receipt-number">([^<]+)<', receipt.text)
    pin = re.search(r'receipt-pin">([^<]+)<', receipt.text)
    assert number and pin
    opened = client.post("/case", data={"csrf": token, "number": number.group(1),
                                        "pin": pin.group(1)})  # fmt: skip
    for page in (receipt, opened):
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        elements = Elements(page.text)
        assert elements.all("html")[0]["lang"] == language
        for script in elements.all("script"):
            assert (script.get("src") or "").startswith("/assets/")
        for _, attrs in elements.tags:
            assert "style" not in attrs and not [a for a in attrs if a.startswith("on")]


BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "no page at this address"), ("ko", "이 주소에는 페이지가 없습니다")],
)
def test_a_browser_lost_on_the_portal_gets_a_page_in_its_language(
    client: TestClient, language: str, said: str
) -> None:
    missing = client.get("/cases", headers={**BROWSER, "accept-language": language})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert said in missing.text
    assert missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    wrong_method = client.put("/case", headers={**BROWSER, "accept-language": language})
    assert wrong_method.status_code == 405 and said in wrong_method.text
    assert "GET" in wrong_method.headers["allow"]


def test_the_api_answers_json_even_to_a_browser(client: TestClient) -> None:
    for path in ("/v1/nothing", "/assets/nothing.js", "/openapi.jsonx"):
        answer = client.get(path, headers=BROWSER)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found", path
    assert client.get("/cases").json()["error"]["code"] == "not_found"  # not a browser


def test_a_busy_store_gets_a_page_that_says_to_try_again(
    portal: Callable[..., TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reclaim.store.database._BUSY_TIMEOUT_MS", 100)
    client = portal()
    token = _token(client.get("/submit").text)
    items = json.dumps([{"type": "pdq", "value": PDQ, "quality": 90}])
    holder = sqlite3.connect(tmp_path / "portal-0.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing for a long while
    try:
        busy = client.post(
            "/submit", data={"csrf": token, "fingerprints": items}, headers=BROWSER,
            follow_redirects=False,
        )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert "busy for a moment" in busy.text and 'data-testid="error"' in busy.text
    again = client.post(
        "/submit", data={"csrf": token, "fingerprints": items}, follow_redirects=False
    )
    assert again.status_code == 303  # nothing half-written stood in the way


def test_a_fault_on_a_page_gets_a_page_not_a_trace(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(security, "session_case", fail)
    failed = client.get("/case", headers=BROWSER)
    assert failed.status_code == 500 and "went wrong on our side" in failed.text
    assert "secret internals" not in failed.text
    assert client.get("/case").json()["error"]["code"] == "internal"


def test_a_case_gone_while_open_is_said_so_in_a_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    token = _token(_open(client, number, pin))

    def gone(*_args: object, **_kwargs: object) -> None:
        raise UnknownCaseError("no case")  # the store was reset meanwhile

    state = client.app.state.service  # type: ignore[attr-defined]
    monkeypatch.setattr(state.cases, "withdraw", gone)
    monkeypatch.setattr(state.cases, "view", gone)
    answer = client.post("/case/withdraw", data={"csrf": token, "confirm": "yes"}, headers=BROWSER)
    assert answer.headers["content-type"].startswith("text/html")
    assert "Enter the case number and PIN again" in answer.text


def test_a_refusal_no_page_handles_still_reaches_a_browser_as_a_page(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        raise RateLimited("too many", retry_after=7)

    monkeypatch.setattr(security, "session_case", refuse)
    refused = client.get("/case", headers={**BROWSER, "accept-language": "ko"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "7"
    assert "처리하지 못했습니다" in refused.text
    assert client.get("/case").json()["error"]["code"] == RateLimited.code


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotReady("the indexes are loading"), (503, "busy for a moment")),
        (ConfigurationError("a setting cannot work"), (500, "went wrong on our side")),
    ],
)
def test_a_fault_of_the_service_reads_as_one_on_a_page(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: ReclaimError,
    expected: tuple[int, str],
) -> None:
    def fail(*_args: object) -> None:
        raise error

    monkeypatch.setattr(security, "session_case", fail)
    status, said = expected
    answer = client.get("/case", headers=BROWSER)
    assert answer.status_code == status and said in answer.text
    assert error.message not in answer.text
    logged = [r for r in caplog.records if r.name == "reclaim.api"]
    assert bool(logged) == (status == 500)  # a fault is logged; a busy moment is not


def test_tokens_and_cookies_outside_ascii_are_refused_not_a_fault(client: TestClient) -> None:
    client.get("/case")
    forged = client.post("/case", data={"csrf": "é", "number": "RC-1", "pin": "1"})
    assert forged.status_code == 403 and "This form has expired" in forged.text
    cookie = f"{security.SESSION_COOKIE}=1.2.é".encode()  # as a browser sends it: UTF-8
    opened = client.get("/case", headers={"cookie": cookie})  # type: ignore[dict-item]
    assert opened.status_code == 200 and 'data-testid="case-number"' in opened.text


def test_the_receipt_offers_no_switch_that_would_lose_the_pin(client: TestClient) -> None:
    token = _token(client.get("/submit?lang=ko").text)
    items = json.dumps([{"type": "pdq", "value": PDQ, "quality": 90}])
    client.post("/submit", data={"csrf": token, "fingerprints": items}, follow_redirects=False)
    shown = client.get("/submit/done").text
    assert 'data-testid="receipt-pin"' in shown and "?lang=" not in shown
    assert "?lang=en" in client.get("/submit/done").text  # shown once: the switch is back


def test_a_korean_page_says_why_in_korean(client: TestClient) -> None:
    token = _token(client.get("/submit?lang=ko").text)
    refused = client.post("/submit", data={"csrf": token, "fingerprints": "not json"})
    assert refused.status_code == 422
    assert "지문을 사용할 수 없습니다. 페이지를 새로 고친 뒤" in refused.text
    assert "not JSON" not in refused.text


def test_adding_to_a_case_withdrawn_elsewhere_says_so_in_the_pages_language(
    client: TestClient,
) -> None:
    number, pin = _submit(client, {"type": "pdq", "value": PDQ, "quality": 90})
    token = _token(_open(client, number, pin))
    cases = client.app.state.service.cases  # type: ignore[attr-defined]
    cases.withdraw(cases.case_id(number))  # on another device, meanwhile
    items = json.dumps([{"type": "md5", "value": "b" * 32}])
    added = client.post("/case/add?lang=ko", data={"csrf": token, "fingerprints": items})
    assert "이 사건은 철회되어 더 이상 추가할 수 없습니다" in added.text
    assert 'data-status="withdrawn"' in added.text
