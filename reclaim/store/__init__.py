"""Reclaim's store: SQLAlchemy models and repositories over SQLite or PostgreSQL."""

from reclaim.store.banks import BankRepository
from reclaim.store.database import Store
from reclaim.store.models import Bank, BankKind, Signal, SignalStatus
from reclaim.store.signals import (
    NewSignal,
    SignalChange,
    SignalRepository,
    holds_live_payload,
    payload_digest,
)

__all__ = [
    "Bank",
    "BankKind",
    "BankRepository",
    "NewSignal",
    "Signal",
    "SignalChange",
    "SignalRepository",
    "SignalStatus",
    "Store",
    "holds_live_payload",
    "payload_digest",
]
