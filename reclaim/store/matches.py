"""The match-record repository: which organisation was told of which match, and when."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from reclaim.store.models import MatchRecord


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
