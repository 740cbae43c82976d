from __future__ import annotations

import multiprocessing
import secrets

import pytest

from reclaim.errors import HashFormatError, UnknownSignalError
from reclaim.store import BankRepository, NewSignal, SignalRepository, SignalStatus, Store


def _bank(store: Store, name: str = "B") -> int:
    with store.write() as session:
        return BankRepository(session).bank_create(name).id


def _pdqs(count: int) -> list[NewSignal]:
    return [NewSignal("pdq", secrets.token_hex(32), 90, f"file{i}") for i in range(count)]


def test_adding_skips_what_the_bank_holds_and_numbers_every_change(store: Store) -> None:
    bank = _bank(store)
    signals = _pdqs(10)
    with store.write() as session:
        assert SignalRepository(session).signal_add_many(bank, signals[:6]) == 6
    with store.write() as session:
        assert SignalRepository(session).signal_add_many(bank, signals) == 4
    with store.read() as session:
        changes = SignalRepository(session).signals_since(0)
        assert sorted(c.value for c in changes) == sorted(s.value for s in signals)
        seqs = [c.seq for c in changes]
        assert seqs == sorted(seqs) and len(set(seqs)) == 10
        assert SignalRepository(session).signal_latest_seq() >= seqs[-1]


def test_the_same_hash_may_sit_in_two_banks(store: Store) -> None:
    first, second = _bank(store, "one"), _bank(store, "two")
    signal = _pdqs(1)
    with store.write() as session:
        repository = SignalRepository(session)
        assert repository.signal_add_many(first, signal) == 1
        assert repository.signal_add_many(second, signal) == 1


def test_status_changes_move_the_signal_to_the_end_of_the_sequence(store: Store) -> None:
    bank = _bank(store)
    signals = _pdqs(5)
    with store.write() as session:
        repository = SignalRepository(session)
        repository.signal_add_many(bank, signals)
        ids = repository.signal_ids(bank, signals)
    target = ids[("pdq", signals[0].value)]
    with store.read() as session:
        before = SignalRepository(session).signal_latest_seq()
    with store.write() as session:
        SignalRepository(session).signal_set_status(bank, [target], SignalStatus.WITHDRAWN)
    with store.read() as session:
        changes = SignalRepository(session).signals_since(before)
    assert [(c.id, c.status) for c in changes] == [(target, "withdrawn")]


def test_unknown_signal_ids_change_nothing(store: Store) -> None:
    bank, other = _bank(store), _bank(store, "other")
    with store.write() as session:
        repository = SignalRepository(session)
        repository.signal_add_many(other, _pdqs(1))
        foreign = next(iter(repository.signal_ids(other, []).values()), None)
        assert foreign is None
    with store.read() as session:
        foreign = SignalRepository(session).signals_since(0)[0].id
    with store.write() as session, pytest.raises(UnknownSignalError, match=str(foreign)):
        SignalRepository(session).signal_set_status(bank, [foreign], SignalStatus.WITHDRAWN)
    with store.read() as session:
        assert SignalRepository(session).signals_since(0)[0].status == "active"


def test_changes_are_read_in_pages(store: Store) -> None:
    bank = _bank(store)
    with store.write() as session:
        SignalRepository(session).signal_add_many(bank, _pdqs(25))
    seen = []
    seq = 0
    with store.read() as session:
        repository = SignalRepository(session)
        while page := repository.signals_since(seq, limit=10):
            seen.extend(page)
            seq = page[-1].seq
    assert len(seen) == 25 and len({c.id for c in seen}) == 25


def test_a_rolled_back_batch_leaves_nothing(store: Store) -> None:
    bank = _bank(store)

    def crash() -> None:
        with store.write() as session:
            SignalRepository(session).signal_add_many(bank, _pdqs(50))
            raise RuntimeError("crash mid-transaction")

    with pytest.raises(RuntimeError):
        crash()
    with store.read() as session:
        assert SignalRepository(session).signals_since(0) == []


def _add_batches(url: str, bank: int, worker: int) -> None:
    store = Store.open(url)
    for batch in range(10):
        with store.write() as session:
            SignalRepository(session).signal_add_many(
                bank, [NewSignal("md5", f"{worker:08x}{batch:08x}{i:016x}") for i in range(100)]
            )
    store.close()


def test_processes_adding_to_one_bank_at_once_lose_nothing(store: Store, store_url: str) -> None:
    bank = _bank(store)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_batches, args=(store_url, bank, w)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with store.read() as session:
        changes = SignalRepository(session).signals_since(0, limit=10_000)
    assert len(changes) == 3_000
    assert len({c.seq for c in changes}) == 3_000


def test_withdrawing_more_ids_than_one_query_takes(store: Store) -> None:
    bank = _bank(store)
    signals = [NewSignal("md5", f"{i:032x}") for i in range(70_000)]
    with store.write() as session:
        repository = SignalRepository(session)
        repository.signal_add_many(bank, signals)
        ids = list(repository.signal_ids(bank, signals).values())
    with store.write() as session:
        SignalRepository(session).signal_set_status(bank, ids, SignalStatus.WITHDRAWN)
    with store.read() as session:
        changes = SignalRepository(session).signals_since(0, limit=100_000)
    assert len(changes) == 70_000 and {c.status for c in changes} == {"withdrawn"}


def test_values_not_in_canonical_form_are_refused(store: Store) -> None:
    bank = _bank(store)
    with store.write() as session, pytest.raises(HashFormatError, match="canonical"):
        SignalRepository(session).signal_add_many(bank, [NewSignal("md5", "A" * 32)])
