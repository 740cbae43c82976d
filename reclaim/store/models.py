"""The store's tables (SQLAlchemy 2.0). One schema serves SQLite and PostgreSQL.

Every change to a signal takes the next numbers of the ``signals`` sequence (the
``sequence_counters`` row is locked until the change commits, so sequence order is
commit order). Followers — the matcher, partner exports — read ``signals`` ordered by
``seq`` from the last number they saw and miss nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class BankKind(StrEnum):
    """What a bank's hashes mean."""

    SURVIVOR = "survivor"  # submitted by survivors or for them
    VERIFIED = "verified"  # reviewed and confirmed by a support centre
    PARTNER = "partner"  # imported from a partner's list
    NEGATIVE = "negative"  # known benign: a match here suppresses the others
    MINOR = "minor"  # taken when the person shown was under 18: child-protection handling


class CaseStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class MatchOutcome(StrEnum):
    """What a platform reports it did about a match."""

    REMOVED = "removed"  # the content was taken down or blocked
    KEPT = "kept"  # reviewed and left up (not the content, or not violating)
    FALSE_MATCH = "false_match"  # the fingerprints matched unrelated content


class OrganisationKind(StrEnum):
    """Who an organisation is; ``admin`` organisations see every bank."""

    PLATFORM = "platform"
    SUPPORT_CENTRE = "support_centre"
    ADMIN = "admin"


class SignalStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    QUARANTINED = "quarantined"
    DISPUTED = "disputed"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
        }
    )


class StoreInfo(Base):
    """One row naming this store, so saved indexes know which store they follow."""

    __tablename__ = "store_info"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SequenceCounter(Base):
    __tablename__ = "sequence_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Organisation(Base):
    """A platform, a support centre or the operators: owns banks, keys and matches."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """An API key. ``prefix`` names it in logs and lookups; the whole key is kept only as an
    Argon2 hash (``secret_hash``), so the store cannot give a key back."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(256))
    scopes: Mapped[str] = mapped_column(String(256))  # space-separated
    label: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Bank(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The organisation that curates the bank; none for banks made on the command line,
    # which only admin organisations see until they are shared.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BankShare(Base):
    """A bank shared with another organisation: it may match against it and mirror it."""

    __tablename__ = "bank_shares"

    bank_id: Mapped[int] = mapped_column(
        ForeignKey("banks.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )


class Signal(Base):
    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("bank_id", "type", "value"),
        Index(None, "type", "value"),
        Index(None, "bank_id", "seq"),  # partners' incremental exports of one bank
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=SignalStatus.ACTIVE.value)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SignalPayload(Base):
    """The binary form of a signal too large for a value (``keypoints``: local features);
    the signal's value is its SHA-256. Written with the signal and never changed; deleted
    when the signal is withdrawn, and written again if a case sends it again."""

    __tablename__ = "signal_payloads"

    signal_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("signals.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MatchRecord(Base):
    """A match an organisation was told about: which signal, how close, when."""

    __tablename__ = "match_records"
    __table_args__ = (Index(None, "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    signal_id: Mapped[int] = mapped_column(BigInteger)
    bank_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    distance: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What the organisation reported doing about it (``MatchOutcome``), and when.
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Case(Base):
    """A survivor's case: the fingerprints they submitted, reached with the case number and
    a PIN kept only as an Argon2 hash. Nothing in it names the survivor; the optional
    contact is sealed (``reclaim.sealing``) before it is stored."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.ACTIVE.value)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="RESTRICT"))
    minor: Mapped[bool] = mapped_column(Boolean, default=False)
    # Filed by a support centre on the survivor's behalf: which one, who (as the centre
    # records its staff), and how the survivor's consent was given.
    representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True
    )
    representative: Mapped[str | None] = mapped_column(String(128), nullable=True)
    consent: Mapped[str | None] = mapped_column(String(256), nullable=True)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    contact: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CaseSignal(Base):
    """A signal a case submitted. Two cases may submit the same fingerprint: the bank holds
    it once, and it stays active while any active case holds it."""

    __tablename__ = "case_signals"
    __table_args__ = (Index(None, "signal_id"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    signal_id: Mapped[int] = mapped_column(
        ForeignKey("signals.id", ondelete="CASCADE"), primary_key=True
    )
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEvent(Base):
    """One line of the append-only audit log. ``hash`` covers this row's fields and the
    previous row's hash, so editing or deleting a row breaks the chain after it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
