"""The match-record repository: which organisation was told of which match, and when."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from reclaim.errors import UnknownMatchError
from reclaim.store.models import MatchOutcome, MatchRecord, utcnow


class MatchRepository:
    """Match records, read and written within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def match_add_many(
        self, organisation_id: int, matches: Sequence[tuple[int, int, str, int]]
    ) -> list[MatchRecord]:
        """Record (signal id, bank id, type, distance) matches for an organisation."""
        records = [
            MatchRecord(
                organisation_id=organisation_id,
                signal_id=signal_id,
                bank_id=bank_id,
                type=signal_type,
                distance=distance,
            )
            for signal_id, bank_id, signal_type, distance in matches
        ]
        self.session.add_all(records)
        self.session.flush()
        return records

    def match_page(self, organisation_id: int, after: int, limit: int) -> list[MatchRecord]:
        """An organisation's own match records with ids above ``after``, oldest first."""
        return list(
            self.session.scalars(
                select(MatchRecord)
                .where(MatchRecord.organisation_id == organisation_id, MatchRecord.id > after)
                .order_by(MatchRecord.id)
                .limit(limit)
            )
        )

    def match_set_outcome(
        self, organisation_id: int, ident: int, outcome: MatchOutcome
    ) -> MatchRecord:
        """Record what the organisation did about one of its own matches (a later report
        replaces an earlier one)."""
        record = self.session.get(MatchRecord, ident)
        if record is None or record.organisation_id != organisation_id:
            raise UnknownMatchError(f"your organisation was told of no match with id {ident}")
        record.outcome, record.outcome_at = outcome.value, utcnow()
        self.session.flush()
        return record
