"""API keys: issuing them, checking them, and what a key may do.

A key reads ``rk_<prefix>_<secret>``. The prefix (12 hex digits) names the key in the
store and in logs; the store keeps only an Argon2 hash of the whole key, so a stolen
database gives no key back. Argon2 is slow on purpose (tens of milliseconds and 64 MiB), so
a service checks a key once and then remembers the outcome for ``cache_seconds`` under
the key's SHA-256 (never the key itself): revoking a key takes effect in every service
process within that time. Keys that cannot be keys, and prefixes the store does not
hold, are refused without Argon2; at most two Argon2 checks run at once per process, and
callers rate-limit by prefix before a check (see ``reclaim.api.auth``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reclaim.errors import AuthenticationError, PermissionDenied, UsageError
from reclaim.store import Store
from reclaim.store.audit import AuditRepository
from reclaim.store.models import Organisation
from reclaim.store.organisations import OrganisationRepository

_KEY: Final = re.compile(r"rk_([0-9a-f]{12})_[A-Za-z0-9_-]{20,100}")
_CACHE_LIMIT: Final = 10_000
_CONCURRENT_CHECKS: Final = 2
_hasher = PasswordHasher()


class Scope(StrEnum):
    """What a key may do. ``admin`` may do everything, on every bank."""

    HASH = "hash"
    MATCH = "match"
    BANK_READ = "bank:read"
    BANK_WRITE = "bank:write"
    ADMIN = "admin"


def check_scopes(names: Iterable[str]) -> list[str]:
    scopes: list[str] = []
    for name in names:
        try:
            scopes.append(Scope(name).value)
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise UsageError(f"scope {name!r} is not one of: {known}") from None
    if not scopes:
        raise UsageError("a key needs at least one scope")
    return sorted(set(scopes))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's organisation and scopes."""

    organisation_id: int
    organisation: str
    organisation_kind: str
    scopes: frozenset[str]
    key_prefix: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key:{self.key_prefix}@{self.organisation}"

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN.value in self.scopes or self.organisation_kind == "admin"

    def allows(self, scope: Scope) -> bool:
        return scope.value in self.scopes or Scope.ADMIN.value in self.scopes

    def require(self, scope: Scope) -> None:
        if not self.allows(scope):
            raise PermissionDenied(f"this API key lacks the {scope.value!r} scope")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just made: ``key`` is shown once and is never stored."""

    key: str
    prefix: str
    organisation: str
    organisation_kind: str
    scopes: list[str]
    organisation_created: bool


def issue_key(
    store: Store, organisation: str, kind: str, scopes: Iterable[str], *, label: str, actor: str
) -> IssuedKey:
    """Make a key for an organisation (created with ``kind`` if new)."""
    chosen = check_scopes(scopes)
    prefix = secrets.token_hex(6)
    key = f"rk_{prefix}_{secrets.token_urlsafe(32)}"
    secret_hash = _hasher.hash(key)
    with store.write() as session:
        repository = OrganisationRepository(session)
        owner, created = repository.organisation_ensure(organisation, kind)
        audit = AuditRepository(session)
        if created:
            audit.audit_append(
                actor, "organisation.create", f"organisation:{owner.name}", {"kind": owner.kind}
            )
        repository.key_add(owner, prefix, secret_hash, chosen, label)
        audit.audit_append(
            actor,
            "key.create",
            f"key:{prefix}",
            {"organisation": owner.name, "scopes": chosen, "label": label},
        )
    return IssuedKey(key, prefix, owner.name, owner.kind, chosen, created)


def revoke_key(store: Store, prefix: str, actor: str) -> None:
    with store.write() as session:
        key = OrganisationRepository(session).key_revoke(prefix)
        AuditRepository(session).audit_append(actor, "key.revoke", f"key:{key.prefix}")


class KeyVerifier:
    """Turns a presented key into a ``Principal``, remembering outcomes for a while."""

    def __init__(self, store: Store, cache_seconds: float = 60.0) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: OrderedDict[bytes, tuple[Principal | None, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._checking = threading.BoundedSemaphore(_CONCURRENT_CHECKS)

    @staticmethod
    def prefix_of(presented: str) -> str | None:
        """The prefix of something shaped like a key, else ``None``."""
        match = _KEY.fullmatch(presented)
        return match.group(1) if match else None

    def authenticate(self, presented: str | None) -> Principal:
        if not presented:
            raise AuthenticationError("an API key is required: send 'Authorization: Bearer KEY'")
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            principal = cached[0]
        else:
            principal, checked = self._check(presented)
            if checked:  # only Argon2 outcomes are worth remembering
                self._remember(digest, principal, now + self.cache_seconds)
        if principal is None:
            raise AuthenticationError("the API key is not valid (unknown, mistyped or revoked)")
        return principal

    def remembers(self, presented: str) -> bool:
        """Whether a check of this key is remembered (so ``authenticate`` will not block)."""
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        cached = self._cache.get(digest)
        return cached is not None and cached[1] > time.monotonic()

    def forget(self) -> None:
        """Drop every remembered outcome, so each key is checked again."""
        with self._lock:
            self._cache.clear()

    def _remember(self, digest: bytes, principal: Principal | None, until: float) -> None:
        with self._lock:
            self._cache[digest] = (principal, until)
            self._cache.move_to_end(digest)
            while len(self._cache) > _CACHE_LIMIT:
                self._cache.popitem(last=False)  # the least recently checked

    def _check(self, presented: str) -> tuple[Principal | None, bool]:
        """The principal of a key (``None`` if refused), and whether Argon2 was run."""
        prefix = self.prefix_of(presented)
        if prefix is None:
            return None, False
        with self.store.read() as session:
            found = OrganisationRepository(session).key_by_prefix(prefix)
        if found is None:
            return None, False
        key, organisation = found
        if key.revoked_at is not None:
            return None, True
        with self._checking:
            verified = _verifies(key.secret_hash, presented)
        principal = _principal(organisation, key.scopes.split(), key.prefix) if verified else None
        return principal, True


def _verifies(secret_hash: str, presented: str) -> bool:
    try:
        return _hasher.verify(secret_hash, presented)
    except (VerificationError, InvalidHashError):
        return False


def _principal(organisation: Organisation, scopes: list[str], prefix: str) -> Principal:
    return Principal(
        organisation.id, organisation.name, organisation.kind, frozenset(scopes), prefix
    )
