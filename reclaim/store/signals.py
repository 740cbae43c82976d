"""The signal repository: fingerprints in banks, and the change sequence that follows them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Connection, Row, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from reclaim.errors import HashFormatError, InputError, UnknownSignalError
from reclaim.hashing.base import PAYLOAD_TYPES, normalise_signal
from reclaim.store.models import SequenceCounter, Signal, SignalPayload, SignalStatus, utcnow

_BATCH: Final = 5_000


def payload_digest(payload: bytes) -> str:
    """The value of a signal that carries ``payload``: its SHA-256, lowercase hex."""
    return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSignal:
    """A fingerprint to store: type and canonical value (see ``normalise_signal``), and for
    the payload types (``keypoints``, ``vpdq``) the payload whose SHA-256 the value is."""

    type: str
    value: str
    quality: int | None = None
    source: str | None = None
    # Part of equality, harmlessly: the value is the payload's digest, so two signals equal
    # by (type, value) that the store accepts carry the same payload.
    payload: bytes | None = None


@dataclass(frozen=True, slots=True)
class SignalChange:
    """One signal as it stands after its latest change (what followers apply)."""

    id: int
    bank_id: int
    type: str
    value: str
    status: str
    seq: int


def holds_live_payload(signal_type: str, status: str) -> bool:
    """Whether a signal's payload is still wanted: an active ``keypoints``, ``vpdq`` or
    ``video_regions`` signal's (what the matcher loads and a partner's export carries)."""
    return signal_type in PAYLOAD_TYPES and status == SignalStatus.ACTIVE.value


class SignalRepository:
    """Signals, read and changed within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _reserve(self, count: int) -> int:
        """The first of ``count`` new sequence numbers. Locks the counter until commit, so
        sequence order is commit order."""
        top = self.session.execute(
            update(SequenceCounter)
            .where(SequenceCounter.name == "signals")
            .values(value=SequenceCounter.value + count)
            .returning(SequenceCounter.value)
        ).scalar_one()
        return int(top) - count + 1

    def signal_add_many(self, bank_id: int, signals: Sequence[NewSignal]) -> int:
        """Store signals in a bank; ones the bank already holds are skipped (and keep the
        payload they have). Returns how many were new. Runs in the caller's transaction:
        all are stored or none. A keypoints or vpdq signal must carry the payload its value
        is the SHA-256 of, and no other signal may carry one (``HashFormatError``)."""
        if not signals:
            return 0
        for signal in signals:  # the store keeps only canonical values
            if normalise_signal(signal.type, signal.value) != (signal.type, signal.value):
                raise HashFormatError(
                    f"{signal.type} value not in canonical form: {signal.value!r}"
                )
            _check_payload(signal)
        first = self._reserve(len(signals))
        added = self._insert(bank_id, signals, first)
        if added and any(s.payload is not None for s in signals):
            self._store_payloads(signals, first)
        return added

    def _insert(self, bank_id: int, signals: Sequence[NewSignal], first: int) -> int:
        connection = self.session.connection()
        created = _bind_datetime(connection, utcnow())
        rows = (
            (bank_id, s.type, s.value, s.quality, s.source, SignalStatus.ACTIVE.value,
             first + offset, created, created)
            for offset, s in enumerate(signals)
        )  # fmt: skip
        driver: Any = connection.connection.driver_connection
        if connection.dialect.name == "postgresql":
            return _copy_insert(driver, rows)
        cursor = driver.cursor()
        cursor.executemany(
            f"INSERT INTO signals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (bank_id, type, value) DO NOTHING",
            rows,
        )
        return int(cursor.rowcount)

    def _store_payloads(self, signals: Sequence[NewSignal], first: int) -> None:
        """Store the payloads of the signals just inserted. A row inserted now carries
        sequence number ``first`` + the offset of its signal (numbers reserved for this
        batch alone), so a signal the bank already held, or a repeat within the batch, is
        told apart from a new one without comparing values."""
        inserted = self.session.execute(
            select(Signal.id, Signal.seq).where(
                Signal.seq >= first,
                Signal.seq < first + len(signals),
                Signal.type.in_([kind.value for kind in PAYLOAD_TYPES]),
            )
        )
        rows = [
            {"signal_id": ident, "data": signals[seq - first].payload} for ident, seq in inserted
        ]
        if rows:
            self.session.execute(insert(SignalPayload), rows)

    def signal_payloads(self, ids: Sequence[int]) -> dict[int, bytes]:
        """The payloads of those of the given signals that have one, by signal id."""
        found: dict[int, bytes] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), _BATCH):
            rows = self.session.execute(
                select(SignalPayload.signal_id, SignalPayload.data).where(
                    SignalPayload.signal_id.in_(unique[start : start + _BATCH])
                )
            )
            found.update((ident, bytes(data)) for ident, data in rows)
        return found

    def _check_payloads_held(self, ids: Sequence[int]) -> None:
        """Refuse to make active a payload signal whose payload went with its withdrawal:
        the matcher could not load it."""
        kinds = {kind.value for kind in PAYLOAD_TYPES}
        wanted = [i for i, row in self.signal_rows(ids).items() if row.type in kinds]
        held = self.signal_payloads(wanted)
        lacking = [i for i in wanted if i not in held]
        if lacking:
            raise InputError(
                f"signals {lacking[:5]} lost their payload when they were withdrawn: "
                "add them again with it"
            )

    def signal_erase_payloads(self, ids: Sequence[int]) -> int:
        """Delete the payloads of these signals; how many there were."""
        erased = 0
        unique = sorted(set(ids))
        for start in range(0, len(unique), _BATCH):
            chunk = unique[start : start + _BATCH]
            erased += len(
                self.session.scalars(
                    delete(SignalPayload)
                    .where(SignalPayload.signal_id.in_(chunk))
                    .returning(SignalPayload.signal_id)
                ).all()
            )
        return erased

    def signal_restore_payloads(self, payloads: Mapping[int, bytes]) -> None:
        """Store payloads, by signal id, for those of the signals that have none (their
        payload was erased when they were withdrawn). Each must be the payload the signal's
        value is the digest of."""
        held = self.signal_payloads(list(payloads))
        rows = self.signal_rows([i for i in payloads if i not in held])
        for ident, row in rows.items():
            if payload_digest(payloads[ident]) != row.value:
                raise HashFormatError(f"signal {ident}: the payload is not the one its value names")
        missing = [{"signal_id": i, "data": payloads[i]} for i in sorted(rows)]
        if missing:
            self.session.execute(insert(SignalPayload), missing)

    def signal_ids(self, bank_id: int, signals: Sequence[NewSignal]) -> dict[tuple[str, str], int]:
        """Ids of these (type, value) pairs in the bank."""
        wanted = {(s.type, s.value) for s in signals}
        values = sorted({value for _, value in wanted})
        found: dict[tuple[str, str], int] = {}
        for start in range(0, len(values), _BATCH):
            rows = self.session.execute(
                select(Signal.type, Signal.value, Signal.id).where(
                    Signal.bank_id == bank_id, Signal.value.in_(values[start : start + _BATCH])
                )
            )
            for signal_type, value, ident in rows:
                if (signal_type, value) in wanted:
                    found[(signal_type, value)] = ident
        return found

    def signal_set_status(self, bank_id: int, ids: Sequence[int], status: SignalStatus) -> int:
        """Change the status of signals of one bank (an id it does not hold is refused).
        Withdrawing deletes their payloads: local features can yield a rough likeness, and
        nothing reads a withdrawn signal's (a case sending the signal again brings it
        back). How many payloads were deleted."""
        unique = sorted(set(ids))
        held: set[int] = set()
        for start in range(0, len(unique), _BATCH):
            chunk = unique[start : start + _BATCH]
            held.update(
                self.session.scalars(
                    select(Signal.id).where(Signal.bank_id == bank_id, Signal.id.in_(chunk))
                )
            )
        missing = [i for i in unique if i not in held]
        if missing:
            raise UnknownSignalError(f"the bank holds no signal with id {missing[:5]}")
        if status is SignalStatus.ACTIVE:
            self._check_payloads_held(unique)
        first = self._reserve(len(unique))
        table = cast(Table, Signal.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("target"))
            .values(status=status.value, seq=bindparam("new_seq"), updated_at=utcnow())
        )
        self.session.execute(
            statement,
            [{"target": ident, "new_seq": first + offset} for offset, ident in enumerate(unique)],
        )
        return self.signal_erase_payloads(unique) if status is SignalStatus.WITHDRAWN else 0

    def signals_since(self, seq: int, limit: int = 50_000) -> list[SignalChange]:
        """Signals changed after sequence number ``seq``, oldest change first."""
        rows = self.session.execute(
            select(Signal.id, Signal.bank_id, Signal.type, Signal.value, Signal.status, Signal.seq)
            .where(Signal.seq > seq)
            .order_by(Signal.seq)
            .limit(limit)
        )
        return [SignalChange(*row) for row in rows]

    def signal_get(self, ident: int) -> SignalChange | None:
        row = self.session.execute(
            select(
                Signal.id, Signal.bank_id, Signal.type, Signal.value, Signal.status, Signal.seq
            ).where(Signal.id == ident)
        ).first()
        return SignalChange(*row) if row else None

    def signal_latest_seq(self) -> int:
        value = self.session.scalar(
            select(SequenceCounter.value).where(SequenceCounter.name == "signals")
        )
        return int(value or 0)

    def signal_rows(self, ids: Sequence[int]) -> dict[int, Row[Any]]:
        """Id, bank, type, value and status of the given signals."""
        found: dict[int, Row[Any]] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), _BATCH):
            rows = self.session.execute(
                select(Signal.id, Signal.bank_id, Signal.type, Signal.value, Signal.status).where(
                    Signal.id.in_(unique[start : start + _BATCH])
                )
            )
            found.update({row.id: row for row in rows})
        return found

    def signal_page(self, bank_id: int, after: int, limit: int) -> list[Signal]:
        """Up to ``limit`` signals of a bank with ids above ``after``, in id order."""
        return list(
            self.session.scalars(
                select(Signal)
                .where(Signal.bank_id == bank_id, Signal.id > after)
                .order_by(Signal.id)
                .limit(limit)
            )
        )

    def signal_changes(self, bank_id: int, since: int, limit: int) -> list[Signal]:
        """Up to ``limit`` signals of a bank changed after sequence number ``since``, oldest
        change first: what a partner mirroring the bank applies."""
        return list(
            self.session.scalars(
                select(Signal)
                .where(Signal.bank_id == bank_id, Signal.seq > since)
                .order_by(Signal.seq)
                .limit(limit)
            )
        )

    def signal_of_bank(self, bank_id: int, ident: int) -> Signal:
        found = self.session.scalar(
            select(Signal).where(Signal.bank_id == bank_id, Signal.id == ident)
        )
        if found is None:
            raise UnknownSignalError(f"the bank holds no signal with id {ident}")
        return found

    def signal_export(self, bank_id: int) -> Iterator[Any]:
        """Every signal of a bank, in id order, streamed; ``payload`` is None for signals
        without one."""
        statement = (
            select(
                Signal.id, Signal.type, Signal.value, Signal.quality, Signal.source,
                Signal.status, Signal.seq, Signal.updated_at,
                SignalPayload.data.label("payload"),
            )
            .outerjoin(SignalPayload, SignalPayload.signal_id == Signal.id)
            .where(Signal.bank_id == bank_id)
            .order_by(Signal.id)
            .execution_options(yield_per=10_000)
        )  # fmt: skip
        yield from self.session.execute(statement)


_COLUMNS: Final = "bank_id, type, value, quality, source, status, seq, created_at, updated_at"


def _check_payload(signal: NewSignal) -> None:
    """A keypoints or vpdq signal carries the payload its value is the digest of; no other
    does."""
    if signal.type not in PAYLOAD_TYPES:
        if signal.payload is not None:
            raise HashFormatError(
                f"{signal.type} signal {signal.value}: only keypoints and vpdq signals carry "
                "a payload"
            )
        return
    if signal.payload is None:
        raise HashFormatError(f"{signal.type} signal {signal.value}: no payload")
    digest = payload_digest(signal.payload)
    if digest != signal.value:
        raise HashFormatError(
            f"{signal.type} signal {signal.value}: its payload's SHA-256 is {digest}, not its value"
        )


def _bind_datetime(connection: Connection, moment: datetime) -> Any:
    """``moment`` as the driver expects it for a DateTime column of this dialect."""
    processor = Signal.__table__.c.created_at.type.bind_processor(connection.dialect)
    return processor(moment) if processor else moment


def _copy_insert(driver: Any, rows: Iterable[tuple[Any, ...]]) -> int:
    """PostgreSQL: COPY into a scratch table, then one INSERT that skips duplicates."""
    with driver.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS signal_import "
            "(LIKE signals INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY signal_import ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO signals ({_COLUMNS}) SELECT {_COLUMNS} FROM signal_import "
            "ORDER BY seq ON CONFLICT (bank_id, type, value) DO NOTHING"
        )
        added = int(cursor.rowcount)
        cursor.execute("TRUNCATE signal_import")
        return added
