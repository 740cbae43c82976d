"""The match-record repository: records are kept per organisation and paged."""

from __future__ import annotations

from reclaim.store import Store
from reclaim.store.matches import MatchRepository
from reclaim.store.organisations import OrganisationRepository


def test_each_organisation_pages_through_its_own_records(store: Store) -> None:
    with store.write() as session:
        organisations = OrganisationRepository(session)
        mine, _ = organisations.organisation_ensure("mine", "platform")
        theirs, _ = organisations.organisation_ensure("theirs", "platform")
        repository = MatchRepository(session)
        repository.match_add_many(
            mine.id, [(1, 10, "pdq", 3), (2, 10, "md5", 0), (3, 11, "pdq", 9)]
        )
        repository.match_add_many(theirs.id, [(4, 10, "pdq", 1)])
    with store.read() as session:
        repository = MatchRepository(session)
        first = repository.match_page(mine.id, 0, 2)
        rest = repository.match_page(mine.id, first[-1].id, 2)
        assert [(r.signal_id, r.distance) for r in first + rest] == [(1, 3), (2, 0), (3, 9)]
        assert [r.signal_id for r in repository.match_page(theirs.id, 0, 10)] == [4]
