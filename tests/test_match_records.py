"""Match records: kept, audited (one row per key per batch), read back only by their
organisation."""

from __future__ import annotations

import json

from reclaim.keys import Principal
from reclaim.match_records import MatchRecorder, list_matches, record_matches, record_reports
from reclaim.matching import Match
from reclaim.store import BankRepository, Store
from reclaim.store.audit import AuditRepository
from reclaim.store.organisations import OrganisationRepository


def _principal(store: Store, name: str) -> Principal:
    with store.write() as session:
        organisation, _ = OrganisationRepository(session).organisation_ensure(name, "platform")
    return Principal(organisation.id, name, "platform", frozenset({"match"}), "0123456789ab")


def test_records_are_kept_audited_and_private(store: Store) -> None:
    with store.write() as session:
        bank = BankRepository(session).bank_create("SURV")
    mine, theirs = _principal(store, "mine"), _principal(store, "theirs")
    record_matches(
        store, mine, [Match("SURV", 7, "pdq", 4, bank.id), Match("SURV", 8, "md5", 0, bank.id)]
    )
    record_matches(store, mine, [])  # nothing to keep, nothing audited
    views = list_matches(store, mine, 0, 10)
    assert [(v.bank, v.signal_id, v.type, v.distance) for v in views] == [
        ("SURV", 7, "pdq", 4),
        ("SURV", 8, "md5", 0),
    ]
    assert list_matches(store, theirs, 0, 10) == []
    with store.read() as session:
        events = list(AuditRepository(session).audit_iter())
    assert [(e.action, e.actor) for e in events] == [
        ("match.report", "key:0123456789ab@mine"),
        ("matches.read", "key:0123456789ab@mine"),
        ("matches.read", "key:0123456789ab@theirs"),
    ]


def test_the_recorder_writes_in_batches_and_everything_before_it_stops(store: Store) -> None:
    with store.write() as session:
        bank = BankRepository(session).bank_create("SURV")
    mine = _principal(store, "mine")
    recorder = MatchRecorder(store)
    for signal_id in range(1, 21):
        recorder.submit(mine, [Match("SURV", signal_id, "pdq", 1, bank.id)])
    recorder.submit(mine, [])
    recorder.flush()
    assert [v.signal_id for v in list_matches(store, mine, 0, 100)] == list(range(1, 21))
    recorder.submit(mine, [Match("SURV", 99, "md5", 0, bank.id)])
    recorder.close()  # writes what is queued
    assert list_matches(store, mine, 0, 100)[-1].signal_id == 99
    with store.read() as session:
        reports = [e for e in AuditRepository(session).audit_iter() if e.action == "match.report"]
    # However they were batched, the audit rows name every reported signal once.
    details = [json.loads(e.detail) for e in reports]
    assert sum(d["count"] for d in details) == 21
    assert sorted(s for d in details for s in d["signals"]) == [*range(1, 21), 99]


def test_a_batch_gets_one_audit_row_per_key(store: Store) -> None:
    with store.write() as session:
        bank = BankRepository(session).bank_create("SURV")
    mine, theirs = _principal(store, "mine"), _principal(store, "theirs")
    record_reports(
        store,
        [
            (mine, [Match("SURV", 1, "pdq", 1, bank.id)]),
            (theirs, [Match("SURV", 2, "pdq", 2, bank.id)]),
            (mine, [Match("SURV", 3, "pdq", 3, bank.id), Match("SURV", 1, "md5", 0, bank.id)]),
            (theirs, []),
        ],
    )
    assert [v.signal_id for v in list_matches(store, mine, 0, 10)] == [1, 3, 1]
    with store.read() as session:
        reports = [e for e in AuditRepository(session).audit_iter() if e.action == "match.report"]
    assert [(e.actor, json.loads(e.detail)) for e in reports] == [
        ("key:0123456789ab@mine", {"signals": [1, 3], "count": 3}),
        ("key:0123456789ab@theirs", {"signals": [2], "count": 1}),
    ]
