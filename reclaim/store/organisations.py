"""The organisation repository: organisations, their API keys, and bank shares."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reclaim.errors import UnknownOrganisationError, UsageError
from reclaim.store.banks import check_name
from reclaim.store.models import ApiKey, Bank, BankShare, Organisation, OrganisationKind, utcnow


def check_organisation_name(name: str) -> str:
    return check_name("organisation", name)


def check_organisation_kind(kind: str) -> OrganisationKind:
    try:
        return OrganisationKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in OrganisationKind)
        raise UsageError(f"organisation kind {kind!r} is not one of: {kinds}") from None


class OrganisationRepository:
    """Organisations, keys and shares, read and changed within the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def organisation_get(self, name: str) -> Organisation:
        found = self.session.scalar(select(Organisation).where(Organisation.name == name))
        if found is None:
            raise UnknownOrganisationError(f"no organisation named {name!r}")
        return found

    def organisation_ensure(self, name: str, kind: str) -> tuple[Organisation, bool]:
        """The organisation of that name, created with ``kind`` if there is none yet; and
        whether it was created. An existing one of another kind is refused."""
        wanted = check_organisation_kind(kind).value
        found = self.session.scalar(
            select(Organisation).where(Organisation.name == check_organisation_name(name))
        )
        if found is not None:
            if found.kind != wanted:
                raise UsageError(f"organisation {name!r} exists with kind {found.kind!r}")
            return found, False
        organisation = Organisation(name=name, kind=wanted)
        try:
            with self.session.begin_nested():
                self.session.add(organisation)
                self.session.flush()
        except IntegrityError:  # made by another process in the meantime
            return self.organisation_ensure(name, kind)
        return organisation, True

    def organisation_list(self) -> list[Organisation]:
        return list(self.session.scalars(select(Organisation).order_by(Organisation.name)))

    def organisation_ids_of_kind(self, kind: OrganisationKind) -> set[int]:
        return set(
            self.session.scalars(select(Organisation.id).where(Organisation.kind == kind.value))
        )

    def organisation_names(self, ids: list[int]) -> dict[int, str]:
        rows = self.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
        )
        return {ident: name for ident, name in rows}

    # --- keys ------------------------------------------------------------------------

    def key_add(
        self,
        organisation: Organisation,
        prefix: str,
        secret_hash: str,
        scopes: list[str],
        label: str = "",
    ) -> ApiKey:
        key = ApiKey(
            organisation_id=organisation.id,
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=" ".join(scopes),
            label=label,
        )
        self.session.add(key)
        self.session.flush()
        return key

    def key_by_prefix(self, prefix: str) -> tuple[ApiKey, Organisation] | None:
        row = self.session.execute(
            select(ApiKey, Organisation)
            .join(Organisation, Organisation.id == ApiKey.organisation_id)
            .where(ApiKey.prefix == prefix)
        ).first()
        return (row[0], row[1]) if row else None

    def key_list(self) -> list[tuple[ApiKey, Organisation]]:
        rows = self.session.execute(
            select(ApiKey, Organisation)
            .join(Organisation, Organisation.id == ApiKey.organisation_id)
            .order_by(ApiKey.id)
        )
        return [(key, organisation) for key, organisation in rows]

    def key_revoke(self, prefix: str) -> ApiKey:
        found = self.key_by_prefix(prefix)
        if found is None:
            raise UsageError(f"no API key with prefix {prefix!r}")
        key = found[0]
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            self.session.flush()
        return key

    # --- shares ----------------------------------------------------------------------

    def share_set(self, bank: Bank, organisations: list[Organisation]) -> None:
        """Share the bank with exactly these organisations."""
        self.session.execute(delete(BankShare).where(BankShare.bank_id == bank.id))
        for organisation in {o.id: o for o in organisations}.values():
            self.session.add(BankShare(bank_id=bank.id, organisation_id=organisation.id))
        self.session.flush()

    def share_names(self, bank_ids: list[int]) -> dict[int, list[str]]:
        """For each bank, the names of the organisations it is shared with."""
        rows = self.session.execute(
            select(BankShare.bank_id, Organisation.name)
            .join(Organisation, Organisation.id == BankShare.organisation_id)
            .where(BankShare.bank_id.in_(bank_ids))
            .order_by(Organisation.name)
        )
        shares: dict[int, list[str]] = {ident: [] for ident in bank_ids}
        for bank_id, name in rows:
            shares[bank_id].append(name)
        return shares

    def share_all(self) -> list[tuple[int, int]]:
        """Every (bank id, organisation id) share."""
        return [
            (b, o)
            for b, o in self.session.execute(select(BankShare.bank_id, BankShare.organisation_id))
        ]
