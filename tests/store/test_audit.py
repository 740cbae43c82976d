"""The audit chain: appends from many writers stay one chain; any edit or deletion shows."""

from __future__ import annotations

import itertools
import threading

from sqlalchemy import delete, update

from reclaim.store import Store
from reclaim.store.audit import GENESIS, AuditRepository
from reclaim.store.models import AuditEvent


def _append(store: Store, count: int, actor: str = "tester") -> None:
    for number in range(count):
        with store.write() as session:
            AuditRepository(session).audit_append(
                actor, "thing.do", f"thing:{number}", {"n": number}
            )


def _verify(store: Store) -> tuple[bool, int, str | None, int | None]:
    with store.read() as session:
        report = AuditRepository(session).audit_verify()
    return report.ok, report.rows, report.problem, report.problem_row


def test_an_untouched_chain_verifies_and_names_its_head(store: Store) -> None:
    with store.read() as session:
        assert AuditRepository(session).audit_verify().head == GENESIS
    _append(store, 5)
    with store.read() as session:
        repository = AuditRepository(session)
        report = repository.audit_verify()
        events = list(repository.audit_iter())
    assert (report.ok, report.rows) == (True, 5)
    assert report.head == events[-1].hash
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert events[0].previous_hash == GENESIS
    assert all(b.previous_hash == a.hash for a, b in itertools.pairwise(events))


def test_an_edited_row_is_found(store: Store) -> None:
    _append(store, 5)
    with store.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == 3).values(actor="someone else"))
    ok, _, problem, row = _verify(store)
    assert not ok and row == 3
    assert problem is not None and "edited" in problem


def test_an_edit_that_also_rewrites_the_hash_breaks_the_next_link(store: Store) -> None:
    _append(store, 5)
    with store.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == 2).values(hash="f" * 64))
    ok, _, _, row = _verify(store)
    assert not ok and row in (2, 3)


def test_a_deleted_row_is_found(store: Store) -> None:
    _append(store, 5)
    with store.write() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == 2))
    ok, rows, problem, row = _verify(store)
    assert (ok, rows, row) == (False, 1, 3)
    assert problem is not None and "row 2 is missing" in problem


def test_a_deleted_first_row_is_found(store: Store) -> None:
    _append(store, 3)
    with store.write() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == 1))
    assert _verify(store)[0] is False


def test_writers_in_parallel_keep_one_chain(store_url: str) -> None:
    stores = [Store.open(store_url) for _ in range(4)]
    threads = [
        threading.Thread(target=_append, args=(s, 15, f"w{i}")) for i, s in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok, rows, problem, _ = _verify(stores[0])
    assert ok, problem
    assert rows == 60
    for opened in stores:
        opened.close()


def test_long_fields_are_cut_to_the_columns(store: Store) -> None:
    with store.write() as session:
        event = AuditRepository(session).audit_append("a" * 500, "x", "s" * 500, {"k": "é"})
    assert len(event.actor) == 128 and len(event.subject) == 256
    assert _verify(store)[0] is True
