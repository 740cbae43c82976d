"""The case repository: survivors' cases, the signals they submitted, and what became of
those signals' matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reclaim.store.models import (
    Case,
    CaseSignal,
    CaseStatus,
    MatchOutcome,
    MatchRecord,
    Signal,
    utcnow,
)

_BATCH: Final = 5_000


class CaseNumberTaken(Exception):
    """The case number drawn is already in use (draw another)."""


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """What partner platforms reported about a case's signals."""

    matches: int
    platforms: int
    last_match_at: datetime | None
    removals: int
    last_removal_at: datetime | None


class CaseRepository:
    """Cases, read and changed within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def case_create(self, case: Case) -> Case:
        """Store a new case; ``CaseNumberTaken`` if its number is in use."""
        try:
            with self.session.begin_nested():
                self.session.add(case)
                self.session.flush()
        except IntegrityError:
            raise CaseNumberTaken(case.number) from None
        return case

    def case_by_number(self, number: str, *, lock: bool = False) -> Case | None:
        """The case of that number; ``lock`` holds its row until the transaction ends
        (PostgreSQL; SQLite's write transactions already run one at a time)."""
        statement = select(Case).where(Case.number == number)
        return self.session.scalar(statement.with_for_update() if lock else statement)

    def case_list(self, status: CaseStatus | None, after: int, limit: int) -> list[Case]:
        """Up to ``limit`` cases with ids above ``after`` (of one status, if given), oldest
        first."""
        statement = select(Case).where(Case.id > after).order_by(Case.id).limit(limit)
        if status is not None:
            statement = statement.where(Case.status == status.value)
        return list(self.session.scalars(statement))

    def case_get(self, ident: int, *, lock: bool = False) -> Case | None:
        statement = select(Case).where(Case.id == ident)
        return self.session.scalar(statement.with_for_update() if lock else statement)

    def case_link(self, case_id: int, signal_ids: Sequence[int]) -> int:
        """Tie signals to a case (ones already tied are skipped); how many were new."""
        held = set(self.case_signal_ids(case_id))
        new = sorted(set(signal_ids) - held)
        now = utcnow()
        self.session.add_all(
            CaseSignal(case_id=case_id, signal_id=ident, linked_at=now) for ident in new
        )
        self.session.flush()
        return len(new)

    def case_signal_ids(self, case_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(CaseSignal.signal_id)
                .where(CaseSignal.case_id == case_id)
                .order_by(CaseSignal.signal_id)
            )
        )

    def case_signals_held_elsewhere(self, case_id: int, signal_ids: Sequence[int]) -> set[int]:
        """Those of the signals that another active case also submitted."""
        held: set[int] = set()
        unique = sorted(set(signal_ids))
        for start in range(0, len(unique), _BATCH):
            held.update(
                self.session.scalars(
                    select(CaseSignal.signal_id)
                    .join(Case, Case.id == CaseSignal.case_id)
                    .where(
                        CaseSignal.signal_id.in_(unique[start : start + _BATCH]),
                        CaseSignal.case_id != case_id,
                        Case.status == CaseStatus.ACTIVE.value,
                    )
                )
            )
        return held

    def case_signal_counts(self, case_id: int) -> dict[str, dict[str, int]]:
        """The case's signals by type, then by status."""
        rows = self.session.execute(
            select(Signal.type, Signal.status, func.count())
            .join(CaseSignal, CaseSignal.signal_id == Signal.id)
            .where(CaseSignal.case_id == case_id)
            .group_by(Signal.type, Signal.status)
        )
        counts: dict[str, dict[str, int]] = {}
        for signal_type, status, count in rows:
            counts.setdefault(signal_type, {})[status] = count
        return counts

    def case_match_summary(self, case_id: int) -> MatchSummary:
        """Matches of the case's signals made since the case submitted them: a signal
        another case submitted earlier brings none of that case's history."""
        since = (CaseSignal.signal_id == MatchRecord.signal_id) & (CaseSignal.case_id == case_id)
        joined = (
            select(MatchRecord)
            .join(CaseSignal, since)
            .where(MatchRecord.created_at >= CaseSignal.linked_at)
            .subquery()
        )
        matches, platforms, last = self.session.execute(
            select(
                func.count(joined.c.id),
                func.count(func.distinct(joined.c.organisation_id)),
                func.max(joined.c.created_at),
            )
        ).one()
        removals, last_removal = self.session.execute(
            select(func.count(joined.c.id), func.max(joined.c.outcome_at)).where(
                joined.c.outcome == MatchOutcome.REMOVED.value
            )
        ).one()
        return MatchSummary(
            int(matches), int(platforms), _aware(last), int(removals), _aware(last_removal)
        )


def _aware(moment: datetime | None) -> datetime | None:
    """Aggregates skip the column type's processing: SQLite gives a naive UTC text time."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
