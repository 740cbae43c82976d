"""Match records: kept with one audit row per report, read back only by their organisation."""

from __future__ import annotations

from reclaim.keys import Principal
from reclaim.match_records import list_matches, record_matches
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
