"""The organisation repository: organisations, keys by prefix, shares."""

from __future__ import annotations

import pytest

from reclaim.errors import UnknownOrganisationError, UsageError
from reclaim.store import BankRepository, Store
from reclaim.store.models import OrganisationKind
from reclaim.store.organisations import OrganisationRepository


def test_organisations_are_made_once_and_keep_their_kind(store: Store) -> None:
    with store.write() as session:
        repository = OrganisationRepository(session)
        made, created = repository.organisation_ensure("acme", "platform")
        again, created_again = repository.organisation_ensure("acme", "platform")
        assert created and not created_again and again.id == made.id
        with pytest.raises(UsageError, match="exists with kind 'platform'"):
            repository.organisation_ensure("acme", "admin")
        with pytest.raises(UsageError, match="not valid"):
            repository.organisation_ensure("no spaces", "platform")
        with pytest.raises(UnknownOrganisationError):
            repository.organisation_get("nobody")
        repository.organisation_ensure("ops", "admin")
        assert repository.organisation_ids_of_kind(OrganisationKind.ADMIN) == {
            repository.organisation_get("ops").id
        }


def test_keys_are_found_by_prefix_and_revoked_once(store: Store) -> None:
    with store.write() as session:
        repository = OrganisationRepository(session)
        owner, _ = repository.organisation_ensure("acme", "platform")
        repository.key_add(owner, "0123456789ab", "$argon2id$x", ["match"], "label")
    with store.write() as session:
        repository = OrganisationRepository(session)
        found = repository.key_by_prefix("0123456789ab")
        assert found is not None and found[1].name == "acme" and found[0].scopes == "match"
        assert repository.key_by_prefix("ffffffffffff") is None
        first = repository.key_revoke("0123456789ab").revoked_at
        assert repository.key_revoke("0123456789ab").revoked_at == first
        with pytest.raises(UsageError, match="no API key"):
            repository.key_revoke("ffffffffffff")


def test_shares_are_set_exactly(store: Store) -> None:
    with store.write() as session:
        repository = OrganisationRepository(session)
        a, _ = repository.organisation_ensure("a", "platform")
        b, _ = repository.organisation_ensure("b", "platform")
        bank = BankRepository(session).bank_create("B")
        repository.share_set(bank, [a, b, a])
        assert repository.share_names([bank.id]) == {bank.id: ["a", "b"]}
        repository.share_set(bank, [b])
        assert repository.share_all() == [(bank.id, b.id)]
        repository.share_set(bank, [])
        assert repository.share_names([bank.id]) == {bank.id: []}
