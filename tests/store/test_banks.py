from __future__ import annotations

import pytest

from reclaim.errors import BankExistsError, UnknownBankError, UsageError
from reclaim.store import BankRepository, NewSignal, SignalRepository, SignalStatus, Store


def test_create_get_list_and_enable(store: Store) -> None:
    with store.write() as session:
        banks = BankRepository(session)
        banks.bank_create("b-2", "partner", "from a partner")
        banks.bank_create("A_1", "survivor")
    with store.read() as session:
        banks = BankRepository(session)
        assert [b.name for b in banks.bank_list()] == ["A_1", "b-2"]
        bank = banks.bank_get("b-2")
        assert (bank.kind, bank.description, bank.enabled) == ("partner", "from a partner", True)
        assert bank.created_at.tzinfo is not None
    with store.write() as session:
        BankRepository(session).bank_set_enabled("b-2", False)
    with store.read() as session:
        assert BankRepository(session).bank_get("b-2").enabled is False


def test_a_taken_name_is_refused_and_the_transaction_goes_on(store: Store) -> None:
    with store.write() as session:
        banks = BankRepository(session)
        banks.bank_create("X")
        with pytest.raises(BankExistsError, match="'X' already exists"):
            banks.bank_create("X")
        banks.bank_create("Y")
    with store.read() as session:
        assert [b.name for b in BankRepository(session).bank_list()] == ["X", "Y"]


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 65, "ünï"])
def test_bad_names_are_refused(store: Store, name: str) -> None:
    with store.write() as session, pytest.raises(UsageError, match="bank name"):
        BankRepository(session).bank_create(name)


def test_bad_kinds_are_refused(store: Store) -> None:
    with store.write() as session, pytest.raises(UsageError, match="survivor, verified"):
        BankRepository(session).bank_create("K", "secret")


def test_unknown_bank(store: Store) -> None:
    with store.read() as session, pytest.raises(UnknownBankError, match="'nope'"):
        BankRepository(session).bank_get("nope")


def test_counts_by_type_and_status(store: Store) -> None:
    with store.write() as session:
        bank = BankRepository(session).bank_create("C")
        signals = SignalRepository(session)
        signals.signal_add_many(
            bank.id,
            [NewSignal("pdq", "a" * 64), NewSignal("pdq", "b" * 64), NewSignal("md5", "c" * 32)],
        )
        first = signals.signal_ids(bank.id, [NewSignal("pdq", "a" * 64)])[("pdq", "a" * 64)]
        signals.signal_set_status(bank.id, [first], SignalStatus.WITHDRAWN)
    with store.read() as session:
        banks = BankRepository(session)
        assert banks.bank_counts(banks.bank_get("C")) == {
            "pdq": {"active": 1, "withdrawn": 1},
            "md5": {"active": 1},
        }
