"""The bank repository: named lists of fingerprints and their state."""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reclaim.errors import BankExistsError, UnknownBankError, UsageError
from reclaim.store.models import Bank, BankKind, Signal

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_name(what: str, name: str) -> str:
    """A name of a bank or an organisation: 1-64 letters, digits, '_', '.', '-', starting
    with a letter or digit."""
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"{what} name {name!r} is not valid: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_bank_name(name: str) -> str:
    return check_name("bank", name)


def check_bank_kind(kind: str) -> BankKind:
    try:
        return BankKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in BankKind)
        raise UsageError(f"bank kind {kind!r} is not one of: {kinds}") from None


class BankRepository:
    """Banks, read and changed within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def bank_create(self, name: str, kind: str = "verified", description: str = "") -> Bank:
        bank = Bank(
            name=check_bank_name(name),
            kind=check_bank_kind(kind).value,
            description=description,
            enabled=True,
        )
        try:
            with self.session.begin_nested():
                self.session.add(bank)
                self.session.flush()
        except IntegrityError:
            raise BankExistsError(f"a bank named {name!r} already exists") from None
        return bank

    def bank_get(self, name: str) -> Bank:
        bank = self.session.scalar(select(Bank).where(Bank.name == name))
        if bank is None:
            raise UnknownBankError(f"no bank named {name!r}")
        return bank

    def bank_lock(self, bank_id: int) -> None:
        """Hold the bank's row until the transaction ends (PostgreSQL; SQLite's write
        transactions already run one at a time): changes that read which cases hold a
        signal before changing it take turns per bank."""
        self.session.execute(select(Bank.id).where(Bank.id == bank_id).with_for_update())

    def bank_list(self) -> list[Bank]:
        return list(self.session.scalars(select(Bank).order_by(Bank.name)))

    def bank_names(self, ids: set[int]) -> dict[int, str]:
        rows = self.session.execute(select(Bank.id, Bank.name).where(Bank.id.in_(sorted(ids))))
        return {ident: name for ident, name in rows}

    def bank_set_enabled(self, name: str, enabled: bool) -> Bank:
        bank = self.bank_get(name)
        bank.enabled = enabled
        self.session.flush()
        return bank

    def bank_counts(self, bank: Bank) -> dict[str, dict[str, int]]:
        """Signals of the bank by type, then by status."""
        rows = self.session.execute(
            select(Signal.type, Signal.status, func.count())
            .where(Signal.bank_id == bank.id)
            .group_by(Signal.type, Signal.status)
        )
        counts: dict[str, dict[str, int]] = {}
        for signal_type, status, count in rows:
            counts.setdefault(signal_type, {})[status] = count
        return counts
