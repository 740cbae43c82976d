"""``reclaim case``: an operator lists, reads and withdraws survivors' cases at the store
(SQLite and PostgreSQL), each reading audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from reclaim.banks import export_changes
from reclaim.cases import CaseReceipt, CaseService, parse_submission
from reclaim.cli import app
from reclaim.errors import AuthenticationError
from reclaim.sealing import new_key_text
from reclaim.settings import Settings
from reclaim.store import Store
from reclaim.store.models import AuditEvent

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
OTHER_PDQ = "0" * 32 + "f" * 32
runner = CliRunner()


@pytest.fixture
def key_text(monkeypatch: pytest.MonkeyPatch) -> str:
    text = new_key_text()
    monkeypatch.setenv("RECLAIM_SECRET_KEY", text)
    return text


def _service(store: Store, store_url: str, key_text: str) -> CaseService:
    """Cases as the service (and so the command) sees them."""
    settings = Settings(database_url=store_url, secret_key=key_text)  # type: ignore[arg-type]
    return CaseService.for_settings(store, settings)


def _file(store_url: str, key_text: str, value: str, contact: str | None = None) -> CaseReceipt:
    store = Store.open(store_url)
    try:
        cases = _service(store, store_url, key_text)
        submission = parse_submission([{"type": "pdq", "value": value, "quality": 90}], 50)
        return cases.create(submission, minor=False, contact=contact)
    finally:
        store.close()


def _pause(store_url: str, key_text: str, number: str) -> None:
    store = Store.open(store_url)
    try:
        cases = _service(store, store_url, key_text)
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                cases.open(number, "00000000")
    finally:
        store.close()


def _run(store_url: str, *arguments: str, given: str | None = None) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["--db", store_url, *arguments], input=given)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


def _actions(store_url: str) -> list[str]:
    store = Store.open(store_url)
    try:
        with store.read() as session:
            return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    finally:
        store.close()


def test_cases_are_listed_without_their_contacts_and_shown_with_one_on_request(
    store_url: str, key_text: str
) -> None:
    first = _file(store_url, key_text, PDQ, contact="signal: +82 10 0000 0000")
    second = _file(store_url, key_text, OTHER_PDQ)

    code, listed, err = _run(store_url, "case", "list")
    assert code == 0, err
    assert [c["number"] for c in listed] == [first.number, second.number]
    assert all(c["status"] == "active" and c["paused_until"] is None for c in listed)
    assert "+82" not in json.dumps(listed)
    code, paged, _ = _run(store_url, "case", "list", "--after", str(listed[0]["id"]))
    assert [c["number"] for c in paged] == [second.number]

    code, [shown], err = _run(store_url, "case", "show", first.number.lower())
    assert code == 0, err
    assert (shown["number"], shown["signals"], shown["contact"]) == (
        first.number, {"pdq": {"active": 1}}, None,
    )  # fmt: skip
    code, [unsealed], _ = _run(store_url, "case", "show", first.number, "--contact")
    assert unsealed["contact"] == "signal: +82 10 0000 0000"
    assert _actions(store_url)[-4:] == ["case.list", "case.read", "case.read", "case.contact.read"]


def test_a_case_is_withdrawn_after_confirmation_and_partners_see_it(
    store_url: str, key_text: str
) -> None:
    receipt = _file(store_url, key_text, PDQ, contact="e-mail")
    _pause(store_url, key_text, receipt.number)  # someone guessing keeps the survivor out
    code, [paused], _ = _run(store_url, "case", "list")
    assert paused["paused_until"] is not None
    code, _, err = _run(store_url, "case", "withdraw", receipt.number, given="n\n")
    assert code == 2 and "nothing withdrawn" in err
    code, [done], err = _run(store_url, "case", "withdraw", receipt.number, given="y\n")
    assert code == 0, err
    assert done == {"number": receipt.number, "status": "withdrawn", "withdrawn": 1}
    code, [again], _ = _run(store_url, "case", "withdraw", receipt.number, "--yes")
    assert again["withdrawn"] == 0
    code, [shown], _ = _run(store_url, "case", "show", receipt.number, "--contact")
    assert (shown["status"], shown["contact"]) == ("withdrawn", None)
    code, listed, _ = _run(store_url, "case", "list", "--status", "active")
    assert listed == []
    store = Store.open(store_url)
    try:
        changes = export_changes(store, "survivor-submissions", 0, 10)
    finally:
        store.close()
    assert [(c.value, c.status) for c in changes] == [(PDQ, "withdrawn")]


def test_an_unknown_case_or_status_is_refused_with_the_reason(
    store_url: str, key_text: str
) -> None:
    code, _, err = _run(store_url, "case", "show", "RC-0000-0000-0000")
    assert code == 1 and "no case 'RC-0000-0000-0000'" in err
    code, _, err = _run(store_url, "case", "withdraw", "not a number", "--yes")
    assert code == 1 and "no case 'not a number'" in err
    code, _, err = _run(store_url, "case", "list", "--status", "closed")
    assert code == 2 and "closed" in err


def test_only_reading_a_contact_needs_the_secret_key(
    store_url: str, key_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = _file(store_url, key_text, PDQ, contact="e-mail")
    monkeypatch.delenv("RECLAIM_SECRET_KEY")
    monkeypatch.setenv("RECLAIM_ENVIRONMENT", "production")
    code, [listed], err = _run(store_url, "case", "list")
    assert code == 0 and listed["number"] == receipt.number, err
    code, [shown], err = _run(store_url, "case", "show", receipt.number)
    assert code == 0 and shown["contact"] is None, err
    code, _, err = _run(store_url, "case", "show", receipt.number, "--contact")
    assert code == 1 and "RECLAIM_SECRET_KEY is not set" in err
    code, [done], err = _run(store_url, "case", "withdraw", receipt.number, "--yes")
    assert code == 0 and done["withdrawn"] == 1, err
