"""The audit log: append-only, each row chained to the one before by a SHA-256 hash.

A row's ``hash`` is SHA-256 over the previous row's hash and this row's id, time, actor,
action, subject and detail (canonical JSON). Rows are numbered 1, 2, 3... with no gaps,
so ``audit_verify`` finds any row edited, deleted or inserted out of turn: the chain
breaks at it. Appends are serialised (SQLite's write lock; a PostgreSQL transaction-level
advisory lock), so two writers never chain to the same row. What a chain cannot show by
itself is the loss of its newest rows; ``AuditReport.head`` is the value to keep
elsewhere (printed by ``reclaim audit verify``) to detect that too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from reclaim.store.models import AuditEvent, utcnow

GENESIS: Final = "0" * 64
_APPEND_LOCK: Final = 7_271_002  # PostgreSQL advisory lock key for appends
_PAGE: Final = 10_000


def event_hash(previous: str, event: AuditEvent) -> str:
    """The chain hash of one row, given the hash of the row before it."""
    moment = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    fields = [previous, event.id, moment, event.actor, event.action, event.subject, event.detail]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def canonical_detail(detail: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(detail or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of checking the chain: ``ok``, how many rows, the newest row's hash, and
    the first fault found (``None`` when the chain is whole)."""

    ok: bool
    rows: int
    head: str
    problem: str | None = None
    problem_row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": self.head,
            "problem": self.problem,
            "problem_row": self.problem_row,
        }


class AuditRepository:
    """The audit log, appended to within the caller's transaction (so an audited change
    and its audit row are committed together or not at all)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def audit_append(
        self, actor: str, action: str, subject: str, detail: Mapping[str, Any] | None = None
    ) -> AuditEvent:
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK})
        last = self.session.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        ident, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = utcnow()
        body = canonical_detail(detail)
        event = AuditEvent(
            id=ident,
            at=at,
            actor=actor[:128],
            action=action,
            subject=subject[:256],
            detail=body,
            previous_hash=previous,
        )
        event.hash = event_hash(previous, event)
        self.session.add(event)
        self.session.flush()
        return event

    def audit_events(self, after: int = 0, limit: int = _PAGE) -> list[AuditEvent]:
        return list(
            self.session.scalars(
                select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(limit)
            )
        )

    def audit_iter(self) -> Iterator[AuditEvent]:
        after = 0
        while page := self.audit_events(after):
            yield from page
            after = page[-1].id

    def audit_verify(self) -> AuditReport:
        """Walk the whole chain and report the first row that does not fit."""
        previous, expected, rows = GENESIS, 1, 0
        for event in self.audit_iter():
            problem = _fault(event, previous, expected)
            if problem:
                return AuditReport(False, rows, previous, problem, event.id)
            previous, expected, rows = event.hash, expected + 1, rows + 1
        return AuditReport(True, rows, previous)


def _fault(event: AuditEvent, previous: str, expected: int) -> str | None:
    if event.id != expected:
        return f"row {expected} is missing (the next row is {event.id}): rows were deleted"
    if event.previous_hash != previous:
        return f"row {event.id} does not chain to the row before it: a row was changed or removed"
    if event_hash(previous, event) != event.hash:
        return f"row {event.id} was edited after it was written (its hash does not match)"
    return None
