"""API keys: issuing them, checking them, and what a key may do.

A key reads ``rk_<prefix>_<secret>``. The prefix (12 hex digits) names the key in the
store and in logs; the store keeps only an Argon2 hash of the whole key, so a stolen
database gives no key back. Argon2 is slow on purpose (tens of milliseconds and 64 MiB), so
a service checks a key once and then remembers the outcome for ``cache_seconds`` under
the key's SHA-256 (never the key itself): revoking a key takes effect in every service
process within that time. After that a re-check reads the key's row again but runs Argon2
only if the stored hash changed. Keys that cannot be keys, and prefixes the store does not
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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    CASES = "cases"  # file and follow survivors' cases on their behalf (support centres)
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


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A remembered check: who the key is (``None``: refused), until when, and the stored
    hash it was verified against (so a later re-check that finds the same hash need not run
    Argon2 again)."""

    principal: Principal | None
    until: float
    verified_hash: str | None


class KeyVerifier:
    """Turns a presented key into a ``Principal``, remembering outcomes for a while.

    When a remembered outcome expires the key's row is read again (revocation, scopes),
    but Argon2 runs again only if the stored hash changed: the key was already proven to
    match it, and its SHA-256 is what is remembered. Only one check of a key runs at a
    time; other requests with the same key wait for its outcome instead of each running
    their own (Argon2 takes 64 MiB, so a burst of them is a burst of memory).
    """

    def __init__(self, store: Store, cache_seconds: float = 60.0) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: OrderedDict[bytes, _Outcome] = OrderedDict()
        self._lock = threading.Lock()
        self._in_flight: dict[bytes, tuple[threading.Lock, int]] = {}
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
        outcome = self._fresh(digest)
        if outcome is None:
            with self._flight(digest):
                outcome = self._fresh(digest)  # another request may have just checked it
                if outcome is None:
                    outcome = self._check(presented, self._cache.get(digest))
                    if outcome.until > 0:  # only outcomes of a stored key are remembered
                        self._remember(digest, outcome)
        if outcome.principal is None:
            raise AuthenticationError("the API key is not valid (unknown, mistyped or revoked)")
        return outcome.principal

    def remembers(self, presented: str) -> bool:
        """Whether a check of this key is remembered (so ``authenticate`` will not block)."""
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        return self._fresh(digest) is not None

    def forget(self) -> None:
        """Drop every remembered outcome, so each key is checked again in full."""
        with self._lock:
            self._cache.clear()

    def _fresh(self, digest: bytes) -> _Outcome | None:
        outcome = self._cache.get(digest)
        return outcome if outcome is not None and outcome.until > time.monotonic() else None

    @contextmanager
    def _flight(self, digest: bytes) -> Iterator[None]:
        """One check of ``digest`` at a time; the lock lives while anyone holds or awaits it."""
        with self._lock:
            lock, users = self._in_flight.get(digest, (threading.Lock(), 0))
            self._in_flight[digest] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._in_flight[digest]
                if users == 1:
                    del self._in_flight[digest]
                else:
                    self._in_flight[digest] = (lock, users - 1)

    def _remember(self, digest: bytes, outcome: _Outcome) -> None:
        with self._lock:
            self._cache[digest] = outcome
            self._cache.move_to_end(digest)
            while len(self._cache) > _CACHE_LIMIT:
                self._cache.popitem(last=False)  # the least recently checked

    def _check(self, presented: str, previous: _Outcome | None) -> _Outcome:
        """The outcome for a key; ``until`` is 0 when it is not worth remembering."""
        prefix = self.prefix_of(presented)
        if prefix is None:
            return _Outcome(None, 0.0, None)
        with self.store.read() as session:
            found = OrganisationRepository(session).key_by_prefix(prefix)
        if found is None:
            return _Outcome(None, 0.0, None)
        key, organisation = found
        until = time.monotonic() + self.cache_seconds
        if key.revoked_at is not None:
            return _Outcome(None, until, None)
        proven = (
            previous is not None
            and previous.principal is not None
            and previous.verified_hash == key.secret_hash
        )
        if not proven:
            with self._checking:
                if not _verifies(key.secret_hash, presented):
                    return _Outcome(None, until, None)
        principal = _principal(organisation, key.scopes.split(), key.prefix)
        return _Outcome(principal, until, key.secret_hash)


def _verifies(secret_hash: str, presented: str) -> bool:
    try:
        return _hasher.verify(secret_hash, presented)
    except (VerificationError, InvalidHashError):
        return False


def _principal(organisation: Organisation, scopes: list[str], prefix: str) -> Principal:
    return Principal(
        organisation.id, organisation.name, organisation.kind, frozenset(scopes), prefix
    )
