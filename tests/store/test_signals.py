from __future__ import annotations

import multiprocessing
import secrets

import pytest
from sqlalchemy import delete, func, select

from reclaim.errors import HashFormatError, InputError, UnknownSignalError
from reclaim.store import (
    BankRepository,
    NewSignal,
    SignalRepository,
    SignalStatus,
    Store,
    payload_digest,
)
from reclaim.store.models import Signal, SignalPayload
from tests.conftest import photo_features, random_features


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


# --- payloads (keypoints signals) ------------------------------------------------------


def _keypoints(payload: bytes, source: str | None = None) -> NewSignal:
    return NewSignal("keypoints", payload_digest(payload), None, source, payload)


def _payload_rows(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(SignalPayload)) or 0)


def test_a_keypoints_payload_is_stored_and_read_back(store: Store) -> None:
    bank = _bank(store)
    real, synthetic = photo_features(), random_features(1, count=4096)
    signals = [_keypoints(real, "a.jpg"), NewSignal("md5", "a" * 32), _keypoints(synthetic)]
    with store.write() as session:
        repository = SignalRepository(session)
        assert repository.signal_add_many(bank, signals) == 3
        ids = repository.signal_ids(bank, signals)
    with store.read() as session:
        payloads = SignalRepository(session).signal_payloads([*ids.values(), 10**9])
    assert payloads == {
        ids[("keypoints", payload_digest(real))]: real,
        ids[("keypoints", payload_digest(synthetic))]: synthetic,
    }


def test_a_vpdq_payload_is_stored_and_read_back_beside_keypoints(store: Store) -> None:
    bank = _bank(store)
    frames = b'["' + b"0" * 64 + b',100,0.0"]'
    features = photo_features()
    signals = [NewSignal("vpdq", payload_digest(frames), payload=frames), _keypoints(features)]
    with store.write() as session:
        repository = SignalRepository(session)
        assert repository.signal_add_many(bank, signals) == 2
        ids = repository.signal_ids(bank, signals)
    with store.read() as session:
        payloads = SignalRepository(session).signal_payloads(list(ids.values()))
    assert payloads == {
        ids[("vpdq", payload_digest(frames))]: frames,
        ids[("keypoints", payload_digest(features))]: features,
    }


def test_re_adding_keeps_one_row_and_one_payload(store: Store) -> None:
    bank, other = _bank(store), _bank(store, "other")
    payloads = [random_features(seed) for seed in range(3)]
    with store.write() as session:
        SignalRepository(session).signal_add_many(bank, [_keypoints(payloads[0])])
    again = [_keypoints(p) for p in (payloads[0], payloads[1], payloads[1], payloads[2])]
    with store.write() as session:
        repository = SignalRepository(session)
        assert repository.signal_add_many(bank, again) == 2  # the repeat inside the batch too
        assert repository.signal_add_many(other, again[:1]) == 1  # another bank: its own row
        ids = repository.signal_ids(bank, again)
    with store.read() as session:
        stored = SignalRepository(session).signal_payloads(list(ids.values()))
    assert sorted(stored.values()) == sorted(payloads)
    assert _payload_rows(store) == 4


@pytest.mark.parametrize(
    ("signal", "message"),
    [
        (NewSignal("keypoints", "a" * 64), "no payload"),
        (NewSignal("keypoints", "a" * 64, payload=b"features"), "SHA-256 is"),
        (NewSignal("md5", "a" * 32, payload=b"x"), "only keypoints and vpdq signals carry"),
        (NewSignal("vpdq", "a" * 64), "no payload"),
        (NewSignal("vpdq", "a" * 64, payload=b"[]"), "SHA-256 is"),
    ],
)
def test_payloads_that_do_not_fit_the_signal_are_refused(
    store: Store, signal: NewSignal, message: str
) -> None:
    bank = _bank(store)
    with store.write() as session, pytest.raises(HashFormatError, match=message) as caught:
        SignalRepository(session).signal_add_many(bank, [NewSignal("md5", "b" * 32), signal])
    assert signal.value in caught.value.message
    with store.read() as session:
        assert SignalRepository(session).signals_since(0) == []


def test_a_rolled_back_batch_leaves_no_payload(store: Store) -> None:
    bank = _bank(store)

    def crash() -> None:
        with store.write() as session:
            SignalRepository(session).signal_add_many(bank, [_keypoints(random_features(7))])
            assert _payload_rows(store) == 0  # not visible to other readers before commit
            raise RuntimeError("crash mid-transaction")

    with pytest.raises(RuntimeError):
        crash()
    with store.read() as session:
        assert SignalRepository(session).signals_since(0) == []
    assert _payload_rows(store) == 0


def test_withdrawn_signals_lose_their_payload_until_it_is_restored(store: Store) -> None:
    bank = _bank(store)
    payload = random_features(3)
    with store.write() as session:
        repository = SignalRepository(session)
        repository.signal_add_many(bank, [_keypoints(payload), NewSignal("md5", "d" * 32)])
        ids = repository.signal_ids(bank, [_keypoints(payload), NewSignal("md5", "d" * 32)])
    ident = ids[("keypoints", payload_digest(payload))]
    with store.write() as session:
        erased = SignalRepository(session).signal_set_status(
            bank, list(ids.values()), SignalStatus.WITHDRAWN
        )
    assert erased == 1 and _payload_rows(store) == 0
    with store.write() as session, pytest.raises(InputError, match=r"lost their payload"):
        # Active without its features, the matcher could not load it.
        SignalRepository(session).signal_set_status(bank, [ident], SignalStatus.ACTIVE)
    with store.write() as session, pytest.raises(HashFormatError, match="not the one its value"):
        SignalRepository(session).signal_restore_payloads({ident: random_features(4)})
    with store.write() as session:
        repository = SignalRepository(session)
        repository.signal_restore_payloads({ident: payload})
        repository.signal_restore_payloads({ident: payload})  # held already: nothing to do
        repository.signal_set_status(bank, list(ids.values()), SignalStatus.ACTIVE)
    with store.read() as session:
        assert SignalRepository(session).signal_payloads([ident]) == {ident: payload}
    with store.write() as session:
        session.execute(delete(Signal).where(Signal.id == ident))
    assert _payload_rows(store) == 0


def test_the_export_carries_payloads(store: Store) -> None:
    bank = _bank(store)
    payload = random_features(4)
    with store.write() as session:
        SignalRepository(session).signal_add_many(
            bank, [NewSignal("md5", "c" * 32), _keypoints(payload)]
        )
    with store.read() as session:
        rows = list(SignalRepository(session).signal_export(bank))
    assert [(r.type, r.payload) for r in rows] == [("md5", None), ("keypoints", payload)]
