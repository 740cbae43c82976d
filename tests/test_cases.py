"""Survivors' cases: numbers and PINs, uniform refusals and pauses, sealed contacts, the
survivor and minor banks, shared fingerprints and withdrawal (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from reclaim import cases
from reclaim.banks import export_changes
from reclaim.cases import CaseService, Representative, Submission, parse_submission
from reclaim.errors import (
    AuthenticationError,
    CaseWithdrawnError,
    ConfigurationError,
    InputError,
    UnknownCaseError,
)
from reclaim.keys import Principal
from reclaim.matching import Matcher
from reclaim.sealing import SecretKey
from reclaim.store import BankRepository, SignalRepository, Store
from reclaim.store.audit import AuditRepository
from reclaim.store.models import AuditEvent, Case, CaseSignal, MatchRecord, utcnow
from reclaim.store.organisations import OrganisationRepository
from tests.conftest import photo_features

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
OTHER_PDQ = "0" * 32 + "f" * 32


def _service(store: Store) -> CaseService:
    return CaseService(
        store, SecretKey(b"k" * 32), survivor_bank="survivors", minor_bank="minors",
        min_quality=50,
    )  # fmt: skip


def _submission(*items: dict[str, Any]) -> Submission:
    return parse_submission(list(items), 50)


def _pdq(value: str = PDQ) -> dict[str, Any]:
    return {"type": "pdq", "value": value, "quality": 90}


@pytest.fixture
def service(store: Store) -> CaseService:
    return _service(store)


def test_numbers_and_pins_read_back_as_typed_by_hand() -> None:
    number, pin = cases.new_case_number(), cases.new_pin()
    assert cases.normalise_case_number(number) == number
    assert cases.normalise_case_number(number.lower().replace("-", " ")) == number
    assert cases.normalise_case_number(number[3:].replace("0", "O")) == number
    assert cases.normalise_case_number("RC-1234") is None
    assert cases.normalise_case_number("RC-UUUU-UUUU-UUUU") is None  # U is not in the alphabet
    assert cases.normalise_pin(f" {pin[:4]} {pin[4:]} ") == pin
    assert cases.normalise_pin("1234567") is None
    assert cases.normalise_pin("١٢٣٤٥٦٧٨") is None  # digits of another script


def test_a_submission_names_each_refused_item_and_keeps_the_rest() -> None:
    submission = _submission(
        _pdq(), {"type": "md5", "value": "zz"}, "not an object",
        {"type": "md5", "value": "a" * 32, "source": "holiday.jpg"}, _pdq(),
        {"type": "pdq", "value": OTHER_PDQ, "quality": 10},
    )  # fmt: skip
    assert [s.value for s in submission.signals] == [PDQ]
    assert [e["index"] for e in submission.errors] == [1, 2, 3, 5]
    assert "no file names" in submission.errors[2]["message"]
    assert "below the minimum" in submission.errors[3]["message"]
    with pytest.raises(InputError, match="at most 500"):
        parse_submission([_pdq()] * 501, 50)


def test_a_case_opens_with_its_number_and_pin_and_shows_its_fingerprints(
    service: CaseService, store: Store
) -> None:
    features = photo_features(0)
    digest = hashlib.sha256(features).hexdigest()
    receipt = service.create(
        _submission(_pdq(), {"type": "md5", "value": "a" * 32},
                    {"type": "keypoints", "value": digest,
                     "payload": base64.b64encode(features).decode()}),
        minor=False,
    )  # fmt: skip
    assert receipt.added == 3 and receipt.errors == []
    case_id = service.open(receipt.number, receipt.pin)
    view = service.view(case_id)
    assert (view.number, view.status, view.minor) == (receipt.number, "active", False)
    assert view.active_signals == 3 and view.withdrawn_signals == 0
    assert view.signals == {"pdq": {"active": 1}, "md5": {"active": 1}, "keypoints": {"active": 1}}
    with store.read() as session:
        stored = session.scalars(select(Case)).one()
        assert receipt.pin not in stored.pin_hash and stored.pin_hash.startswith("$argon2")
        assert BankRepository(session).bank_get("survivors").kind == "survivor"
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert actions[-4:] == ["case.create", "case.attempt", "case.open", "case.read"]


def test_an_empty_or_wholly_refused_submission_makes_no_case(
    service: CaseService, store: Store
) -> None:
    with pytest.raises(InputError, match="at least one"):
        service.create(_submission(), minor=False)
    with pytest.raises(InputError, match="item 0"):
        service.create(_submission({"type": "md5", "value": "zz"}), minor=False)
    with store.read() as session:
        assert session.scalars(select(Case)).all() == []


def test_every_refusal_reads_the_same_and_costs_one_argon2_check(
    service: CaseService, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = service.create(_submission(_pdq()), minor=False)
    checks: list[str] = []
    real = cases._pin_matches

    def counting(pin_hash: str, pin: str) -> bool:
        checks.append(pin_hash)
        return real(pin_hash, pin)

    monkeypatch.setattr(cases, "_pin_matches", counting)
    wrong_pin = "00000000" if receipt.pin != "00000000" else "11111111"
    attempts = [
        (receipt.number, wrong_pin),  # a real case, a wrong PIN
        ("RC-0000-0000-0000", receipt.pin),  # no such case
        ("not a number", receipt.pin),  # cannot be a case number
        (receipt.number, "12"),  # cannot be a PIN
    ]
    messages = []
    for number, pin in attempts:
        with pytest.raises(AuthenticationError) as refused:
            service.open(number, pin)
        messages.append(refused.value.message)
    assert set(messages) == {cases.REFUSAL}
    assert len(checks) == len(attempts)


def test_five_wrong_pins_pause_a_case_even_for_its_right_pin(
    service: CaseService, store: Store
) -> None:
    receipt = service.create(_submission(_pdq()), minor=False)
    wrong = "00000000" if receipt.pin != "00000000" else "11111111"
    for _ in range(cases.FAILURES_BEFORE_PAUSE):
        with pytest.raises(AuthenticationError):
            service.open(receipt.number, wrong)
    with pytest.raises(AuthenticationError) as refused:
        service.open(receipt.number, receipt.pin)
    assert refused.value.message == cases.REFUSAL
    with store.read() as session:
        case = session.scalars(select(Case)).one()
        assert case.failed_attempts == 5
        assert case.locked_until is not None
        pause = case.locked_until - utcnow()
        assert timedelta(minutes=14) < pause <= cases.FIRST_PAUSE
    with store.write() as session:  # the pause ends
        session.execute(update(Case).values(locked_until=utcnow() - timedelta(seconds=1)))
    service.open(receipt.number, receipt.pin)
    with store.read() as session:
        assert session.scalars(select(Case)).one().failed_attempts == 0


def test_further_failures_double_the_pause_up_to_a_day() -> None:
    case = Case(failed_attempts=0)
    now = utcnow()
    pauses = []
    for _ in range(60):
        cases._count_failure(case, now)
        if case.failed_attempts % 5 == 0:
            assert case.locked_until is not None
            pauses.append(case.locked_until - now)
    assert pauses[:3] == [timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1)]
    assert pauses[-1] == cases.LONGEST_PAUSE


def test_the_contact_is_sealed_at_rest_and_erased_on_withdrawal(
    service: CaseService, store: Store
) -> None:
    receipt = service.create(_submission(_pdq()), minor=False, contact="survivor@example.org")
    with store.read() as session:
        sealed = session.scalars(select(Case.contact)).one()
    assert sealed is not None and b"survivor@example.org" not in sealed
    case_id = service.open(receipt.number, receipt.pin)
    assert service.view(case_id).contact is None  # not unsealed unless asked
    assert service.view(case_id, with_contact=True, actor="test").contact == "survivor@example.org"
    with store.read() as session:
        assert AuditRepository(session).audit_events()[-1].action == "case.contact.read"
    other = CaseService(store, SecretKey(b"x" * 32), survivor_bank="survivors",
                        minor_bank="minors", min_quality=50)  # fmt: skip
    with pytest.raises(InputError, match="does not open with this key"):
        other.view(case_id, with_contact=True)
    service.withdraw(case_id)
    with store.read() as session:
        assert session.scalars(select(Case.contact)).one() is None
    with pytest.raises(InputError, match="longer than"):
        service.create(_submission(_pdq()), minor=False, contact="x" * 501)


def test_images_taken_under_18_go_to_the_minor_bank(service: CaseService, store: Store) -> None:
    receipt = service.create(_submission(_pdq()), minor=True)
    assert receipt.minor
    with store.read() as session:
        bank = BankRepository(session).bank_get("minors")
        assert bank.kind == "minor"
        assert session.scalars(select(Case.bank_id)).one() == bank.id
    with store.write() as session:
        BankRepository(session).bank_create("clash", "verified")
    clashing = CaseService(store, SecretKey(b"k" * 32), survivor_bank="clash",
                           minor_bank="minors", min_quality=50)  # fmt: skip
    with pytest.raises(ConfigurationError, match="kind 'verified'"):
        clashing.create(_submission(_pdq()), minor=False)
    with pytest.raises(ConfigurationError, match="set RECLAIM_SURVIVOR_BANK to another name"):
        clashing.check_banks()  # what the service runs at start-up
    service.check_banks()  # the right kinds (or not made yet) pass


def test_withdrawal_stops_only_what_no_other_active_case_holds_and_partners_see_it(
    service: CaseService, store: Store
) -> None:
    first = service.create(_submission(_pdq(), _pdq(OTHER_PDQ)), minor=False)
    second = service.create(_submission(_pdq()), minor=False)
    first_id = service.open(first.number, first.pin)
    second_id = service.open(second.number, second.pin)
    before = export_changes(store, "survivors", 0, 100)
    since = max(change.seq for change in before)

    assert service.withdraw(first_id) == 1  # OTHER_PDQ; PDQ stays for the second case
    assert service.withdraw(first_id) == 0  # again: nothing more
    changes = export_changes(store, "survivors", since, 100)
    assert [(c.value, c.status) for c in changes] == [(OTHER_PDQ, "withdrawn")]
    assert service.view(second_id).active_signals == 1
    view = service.view(first_id)
    # As the withdrawn case sees it: all withdrawn (another case's hold is not its business).
    assert (view.status, view.active_signals, view.withdrawn_signals) == ("withdrawn", 0, 2)
    with pytest.raises(CaseWithdrawnError, match="withdrawn"):
        service.add(first_id, _submission(_pdq(OTHER_PDQ)))

    assert service.withdraw(second_id) == 1
    third = service.create(_submission(_pdq()), minor=False)  # submitted again: active again
    third_id = service.open(third.number, third.pin)
    assert service.view(third_id).active_signals == 1
    statuses = {c.value: c.status for c in export_changes(store, "survivors", 0, 100)}
    assert statuses == {PDQ: "active", OTHER_PDQ: "withdrawn"}


def test_adding_to_a_case_ties_new_fingerprints_once(service: CaseService) -> None:
    receipt = service.create(_submission(_pdq()), minor=False)
    case_id = service.open(receipt.number, receipt.pin)
    added = service.add(
        case_id, _submission(_pdq(), _pdq(OTHER_PDQ), {"type": "md5", "value": "q"})
    )
    assert added.added == 1 and [e["index"] for e in added.errors] == [2]
    assert service.view(case_id).active_signals == 2


def test_matches_and_removals_reported_by_platforms_show_on_the_case(
    service: CaseService, store: Store
) -> None:
    receipt = service.create(_submission(_pdq(), _pdq(OTHER_PDQ)), minor=False)
    case_id = service.open(receipt.number, receipt.pin)
    with store.write() as session:
        platforms = OrganisationRepository(session)
        one, _ = platforms.organisation_ensure("one", "platform")
        two, _ = platforms.organisation_ensure("two", "platform")
        signal_ids = sorted(session.scalars(select(CaseSignal.signal_id)))
        moment = utcnow()
        session.add_all([
            MatchRecord(organisation_id=one.id, signal_id=signal_ids[0], bank_id=1, type="pdq",
                        distance=0, outcome="removed", outcome_at=moment),
            MatchRecord(organisation_id=one.id, signal_id=signal_ids[1], bank_id=1, type="pdq",
                        distance=3, outcome="kept", outcome_at=moment),
            MatchRecord(organisation_id=two.id, signal_id=signal_ids[0], bank_id=1, type="pdq",
                        distance=5),
            MatchRecord(organisation_id=two.id, signal_id=999_999, bank_id=1, type="pdq",
                        distance=5, outcome="removed", outcome_at=moment),
        ])  # fmt: skip
    summary = service.view(case_id).matches
    assert (summary.matches, summary.platforms, summary.removals) == (3, 2, 1)
    assert summary.last_removal_at is not None and summary.last_match_at is not None
    assert abs((summary.last_removal_at - moment).total_seconds()) < 1


def test_a_support_centre_reaches_only_the_cases_it_filed(
    service: CaseService, store: Store
) -> None:
    with store.write() as session:
        centre, _ = OrganisationRepository(session).organisation_ensure("centre", "support_centre")
        other, _ = OrganisationRepository(session).organisation_ensure("other", "support_centre")
    filer = Principal(centre.id, "centre", "support_centre", frozenset({"cases"}), "aaaa")
    stranger = Principal(other.id, "other", "support_centre", frozenset({"cases"}), "bbbb")
    receipt = service.create(
        _submission(_pdq()), minor=False,
        representative=Representative(filer, "caseworker 12", "signed form, ref 7"),
    )  # fmt: skip
    case_id = service.case_for(receipt.number.lower(), filer)
    view = service.view(case_id)
    assert view.representative == "centre"
    with store.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert (case.representative, case.consent) == ("caseworker 12", "signed form, ref 7")
        assert case.consent_at is not None
    with pytest.raises(UnknownCaseError):
        service.case_for(receipt.number, stranger)
    with pytest.raises(UnknownCaseError):
        service.case_for("RC-0000-0000-0000", filer)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"type": "pdq", "value": PDQ, "quality": 55.5}, "whole number"),
        ({"type": "pdq", "value": PDQ, "quality": 1e300}, "whole number"),
        ({"type": "pdq", "value": PDQ, "quality": "90"}, "whole number"),
        ({"type": "pdq", "value": PDQ, "quality": True}, "whole number"),
        ({"type": "pdq", "value": PDQ, "quality": 10**30}, "whole number"),
        ({"type": "pdq", "value": PDQ, "quality": 1000}, "whole number"),
        ({"type": "pdq", "value": ["x"]}, "must be text"),
        ({"type": "pdq", "value": PDQ, "colour": "red"}, "unknown fields"),
        ({"type": "pdq", "value": "0" * 64, "quality": 90}, "0 of 256 bits"),
        ({"type": "pdq", "value": "f" * 64}, "256 of 256 bits"),
    ],
)
def test_anonymous_items_are_taken_on_no_trust(item: dict[str, Any], reason: str) -> None:
    submission = _submission(item)
    assert submission.signals == []
    assert reason in submission.errors[0]["message"]


def test_concurrent_guesses_cannot_pass_the_pause(service: CaseService, store: Store) -> None:
    receipt = service.create(_submission(_pdq()), minor=False)
    wrong = "00000000" if receipt.pin != "00000000" else "11111111"
    checked: list[bool] = []
    real = cases._pin_matches

    def counting(pin_hash: str, pin: str) -> bool:
        checked.append(True)
        return real(pin_hash, pin)

    def guess(_: int) -> None:
        with pytest.raises(AuthenticationError):
            service.open(receipt.number, wrong)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cases, "_pin_matches", counting)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(guess, range(16)))
    assert len(checked) == 16  # every attempt costs a check, counted or not
    with store.read() as session:
        case = session.scalars(select(Case)).one()
    assert case.failed_attempts == cases.FAILURES_BEFORE_PAUSE  # the rest found it paused
    assert case.locked_until is not None
    with pytest.raises(AuthenticationError):
        service.open(receipt.number, receipt.pin)


def test_cases_sharing_a_fingerprint_withdrawn_at_once_withdraw_it(
    service: CaseService, store: Store
) -> None:
    for round_ in range(4):
        value = f"{round_:02x}" * 16 + "0f" * 16
        opened = []
        for _ in range(2):
            receipt = service.create(_submission(_pdq(value)), minor=False)
            opened.append(service.open(receipt.number, receipt.pin))
        barrier = threading.Barrier(2)

        def withdraw(case_id: int, barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            return service.withdraw(case_id)

        with ThreadPoolExecutor(2) as pool:
            withdrawn = list(pool.map(withdraw, opened))
        assert sorted(withdrawn) == [0, 1]  # the later of the two withdraws it
        statuses = {c.value: c.status for c in export_changes(store, "survivors", 0, 1000)}
        assert statuses[value] == "withdrawn", round_


def test_a_case_sees_only_matches_made_since_it_sent_the_fingerprint(
    service: CaseService, store: Store
) -> None:
    first = service.create(_submission(_pdq()), minor=False)
    first_id = service.open(first.number, first.pin)
    with store.write() as session:
        platform, _ = OrganisationRepository(session).organisation_ensure("p", "platform")
        signal_id = session.scalars(select(CaseSignal.signal_id)).one()
        session.add(MatchRecord(organisation_id=platform.id, signal_id=signal_id, bank_id=1,
                                type="pdq", distance=0, outcome="removed",
                                outcome_at=utcnow()))  # fmt: skip
    second = service.create(_submission(_pdq()), minor=False)
    second_id = service.open(second.number, second.pin)
    assert service.view(first_id).matches.matches == 1
    later = service.view(second_id).matches
    assert (later.matches, later.removals) == (0, 0)


def test_withdrawal_erases_local_features_no_active_case_holds(
    service: CaseService, store: Store
) -> None:
    features = photo_features(1)
    digest = hashlib.sha256(features).hexdigest()
    item = {"type": "keypoints", "value": digest, "payload": base64.b64encode(features).decode()}
    first = service.create(_submission(item, _pdq()), minor=False)
    second = service.create(_submission(item), minor=False)

    def stored_features() -> dict[int, bytes]:
        with store.read() as session:
            bank = BankRepository(session).bank_get("survivors")
            ids = SignalRepository(session).signal_ids(bank.id, _submission(item).signals)
            return SignalRepository(session).signal_payloads(list(ids.values()))

    service.withdraw(service.open(first.number, first.pin))
    assert list(stored_features().values()) == [features]  # the second case still holds them
    service.withdraw(service.open(second.number, second.pin))
    assert stored_features() == {}
    with store.read() as session:
        details = session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "case.withdraw")
            .order_by(AuditEvent.id)
        ).all()
    assert [json.loads(d)["payloads_erased"] for d in details] == [0, 1]

    third = service.create(_submission(item), minor=False)  # sent again: whole again
    assert list(stored_features().values()) == [features]
    assert service.view(service.open(third.number, third.pin)).signals == {
        "keypoints": {"active": 1}
    }
    changes = export_changes(store, "survivors", 0, 100)
    assert {c.type: c.status for c in changes} == {"keypoints": "active", "pdq": "withdrawn"}
    [revived] = [c for c in changes if c.type == "keypoints"]
    assert revived.payload == base64.b64encode(features).decode()  # partners get it again
    matcher = Matcher(store)
    matcher.sync()
    assert matcher.size == 1  # the matcher loads it (it skips a keypoints signal without one)
