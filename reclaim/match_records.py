"""Match records: every match an organisation is told of is kept, for its own review and
reports, and the telling is audited (it reveals that a bank holds the content).

An organisation reads only its own records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reclaim.keys import Principal
from reclaim.matching import Match
from reclaim.store import Store
from reclaim.store.audit import AuditRepository
from reclaim.store.banks import BankRepository
from reclaim.store.matches import MatchRepository


@dataclass(frozen=True, slots=True)
class MatchRecordView:
    id: int
    bank: str
    signal_id: int
    type: str
    distance: int
    created_at: datetime


def record_matches(store: Store, principal: Principal, matches: Sequence[Match]) -> None:
    """Keep the matches an organisation was just told of, with one audit row."""
    if not matches:
        return
    with store.write() as session:
        MatchRepository(session).match_add_many(
            principal.organisation_id,
            [(m.signal_id, m.bank_id, m.type, m.distance) for m in matches],
        )
        AuditRepository(session).audit_append(
            principal.actor,
            "match.report",
            f"organisation:{principal.organisation}",
            {"signals": sorted({m.signal_id for m in matches})[:100], "count": len(matches)},
        )


def list_matches(
    store: Store, principal: Principal, after: int, limit: int
) -> list[MatchRecordView]:
    """A page of the organisation's own match records (a read of case data: audited)."""
    with store.write() as session:
        records = MatchRepository(session).match_page(principal.organisation_id, after, limit)
        names = BankRepository(session).bank_names({r.bank_id for r in records})
        AuditRepository(session).audit_append(
            principal.actor,
            "matches.read",
            f"organisation:{principal.organisation}",
            {"after": after, "rows": len(records)},
        )
        return [
            MatchRecordView(
                r.id, names.get(r.bank_id, "?"), r.signal_id, r.type, r.distance, r.created_at
            )
            for r in records
        ]
