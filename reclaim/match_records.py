"""Match records: every match an organisation is told of is kept, for its own review and
reports, and the telling is audited (it reveals that a bank holds the content).

An organisation reads only its own records. The service hands records to a
``MatchRecorder``, which writes everything reported in the last 50 ms in one transaction
from its own thread, so a match answer never waits on a database write; records still
queued when the service stops are written before it exits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from reclaim.keys import Principal
from reclaim.matching import Match
from reclaim.store import Store
from reclaim.store.audit import AuditRepository
from reclaim.store.banks import BankRepository
from reclaim.store.matches import MatchRepository
from reclaim.store.models import MatchOutcome

logger = logging.getLogger(__name__)
_FLUSH_EVERY: Final = 0.05
_QUEUE_LIMIT: Final = 100_000
_RETRY_PAUSE: Final = 1.0


@dataclass(frozen=True, slots=True)
class MatchRecordView:
    id: int
    bank: str
    signal_id: int
    type: str
    distance: int
    created_at: datetime
    outcome: str | None = None
    outcome_at: datetime | None = None


def record_matches(store: Store, principal: Principal, matches: Sequence[Match]) -> None:
    """Keep the matches an organisation was just told of, with one audit row."""
    record_reports(store, [(principal, matches)])


def record_reports(store: Store, reports: Sequence[tuple[Principal, Sequence[Match]]]) -> None:
    """Keep several reports of matches in one transaction, with one audit row for each key
    that was told of matches (a service gathers 50 ms of reports at a time, so a busy key
    gets one row for all of them rather than one per request)."""
    by_caller: dict[Principal, list[Match]] = {}
    for principal, matches in reports:
        if matches:
            by_caller.setdefault(principal, []).extend(matches)
    if not by_caller:
        return
    with store.write() as session:
        repository, audit = MatchRepository(session), AuditRepository(session)
        for principal, matches in by_caller.items():
            repository.match_add_many(
                principal.organisation_id,
                [(m.signal_id, m.bank_id, m.type, m.distance) for m in matches],
            )
            audit.audit_append(
                principal.actor,
                "match.report",
                f"organisation:{principal.organisation}",
                {"signals": sorted({m.signal_id for m in matches})[:100], "count": len(matches)},
            )


class MatchRecorder:
    """Writes reported matches from a background thread, in batches. When the queue is full
    (the store far behind), ``submit`` writes the report itself: slower, never lost."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.Queue[tuple[Principal, Sequence[Match]] | None] = queue.Queue(
            _QUEUE_LIMIT
        )
        self._thread = threading.Thread(
            target=self._run, name="reclaim-match-recorder", daemon=True
        )
        self._thread.start()

    def submit(self, principal: Principal, matches: Sequence[Match]) -> None:
        if not matches:
            return
        try:
            self._queue.put_nowait((principal, list(matches)))
        except queue.Full:
            record_matches(self.store, principal, matches)

    def flush(self) -> None:
        """Wait until everything submitted so far is written."""
        self._queue.join()

    def close(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            taken = [self._queue.get()]
            if taken[0] is not None:
                time.sleep(_FLUSH_EVERY)  # gather what else arrives meanwhile
            while True:
                try:
                    taken.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = None in taken
            self._write([item for item in taken if item is not None], final=stopping)
            for _ in taken:
                self._queue.task_done()

    def _write(self, batch: list[tuple[Principal, Sequence[Match]]], final: bool) -> None:
        while batch:
            try:
                record_reports(self.store, batch)
                return
            except Exception:
                logger.exception("match records not written; retrying")
                if final:
                    return
                time.sleep(_RETRY_PAUSE)


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
                r.id, names.get(r.bank_id, "?"), r.signal_id, r.type, r.distance, r.created_at,
                r.outcome, r.outcome_at,
            )
            for r in records
        ]  # fmt: skip


def report_outcome(
    store: Store, principal: Principal, ident: int, outcome: MatchOutcome
) -> MatchRecordView:
    """Record what the organisation did about one of its matches (a survivor's case shows
    removals)."""
    with store.write() as session:
        record = MatchRepository(session).match_set_outcome(
            principal.organisation_id, ident, outcome
        )
        name = BankRepository(session).bank_names({record.bank_id}).get(record.bank_id, "?")
        AuditRepository(session).audit_append(
            principal.actor, "match.outcome", f"match:{record.id}", {"outcome": outcome.value}
        )
        return MatchRecordView(
            record.id, name, record.signal_id, record.type, record.distance, record.created_at,
            record.outcome, record.outcome_at,
        )  # fmt: skip
