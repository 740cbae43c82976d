"""Issuing and checking API keys: scopes, the remembered checks, revocation."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from reclaim import keys
from reclaim.errors import AuthenticationError, PermissionDenied, UsageError
from reclaim.keys import KeyVerifier, Scope, check_scopes, issue_key, revoke_key
from reclaim.store import Store
from reclaim.store.models import ApiKey


def test_scopes_are_checked_and_sorted() -> None:
    assert check_scopes(["match", "hash", "match"]) == ["hash", "match"]
    with pytest.raises(UsageError, match="not one of"):
        check_scopes(["match", "delete"])
    with pytest.raises(UsageError, match="at least one"):
        check_scopes([])


def test_a_key_checks_once_then_is_remembered(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = issue_key(store, "acme", "platform", ["match"], label="", actor="t")
    assert issued.key.startswith(f"rk_{issued.prefix}_")
    calls: list[str] = []
    real = keys._verifies

    def counting(secret_hash: str, presented: str) -> bool:
        calls.append(presented)
        return real(secret_hash, presented)

    monkeypatch.setattr(keys, "_verifies", counting)
    verifier = KeyVerifier(store, cache_seconds=60)
    first = verifier.authenticate(issued.key)
    assert verifier.remembers(issued.key)
    second = verifier.authenticate(issued.key)
    assert first == second and len(calls) == 1
    assert first.allows(Scope.MATCH) and not first.allows(Scope.BANK_WRITE)
    with pytest.raises(PermissionDenied, match="'bank:write'"):
        first.require(Scope.BANK_WRITE)
    # A wrong key is remembered as wrong, so guessing costs one Argon2 check per guess.
    wrong = issued.key[:-2] + ("aa" if not issued.key.endswith("aa") else "bb")
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            verifier.authenticate(wrong)
    assert len(calls) == 2


def test_revocation_applies_once_the_remembered_check_is_dropped(store: Store) -> None:
    issued = issue_key(store, "acme", "platform", ["match"], label="", actor="t")
    verifier = KeyVerifier(store, cache_seconds=60)
    verifier.authenticate(issued.key)
    revoke_key(store, issued.prefix, actor="t")
    verifier.authenticate(issued.key)  # still remembered in this process...
    verifier.forget()
    with pytest.raises(AuthenticationError):  # ...until the check is made again
        verifier.authenticate(issued.key)


def test_keys_that_cannot_be_keys_never_reach_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = KeyVerifier(store)

    def no_lookups() -> None:
        raise AssertionError("the store was asked about a malformed key")

    monkeypatch.setattr(store, "read", no_lookups)
    for presented in ("", "rk_short", "x" * 5000, "rk_0123456789ab_" + "!" * 40):
        with pytest.raises(AuthenticationError):
            verifier.authenticate(presented)


def test_an_admin_scope_or_organisation_sees_everything(store: Store) -> None:
    issued = issue_key(store, "ops", "admin", ["match"], label="", actor="t")
    principal = KeyVerifier(store).authenticate(issued.key)
    assert principal.is_admin and not principal.allows(Scope.BANK_WRITE)
    scoped = issue_key(store, "acme", "platform", ["admin"], label="", actor="t")
    other = KeyVerifier(store).authenticate(scoped.key)
    assert other.is_admin and other.allows(Scope.BANK_WRITE)


def _count_argon2(monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> list[str]:
    calls: list[str] = []
    real = keys._verifies

    def counting(secret_hash: str, presented: str) -> bool:
        calls.append(presented)
        time.sleep(delay)
        return real(secret_hash, presented)

    monkeypatch.setattr(keys, "_verifies", counting)
    return calls


def test_an_expired_check_rereads_the_key_but_runs_argon2_only_when_its_hash_changed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = issue_key(store, "acme", "platform", ["match"], label="", actor="t")
    calls = _count_argon2(monkeypatch)
    verifier = KeyVerifier(store, cache_seconds=0)  # every outcome expires at once
    for _ in range(3):
        assert verifier.authenticate(issued.key).organisation == "acme"
    assert len(calls) == 1
    with store.write() as session:  # the stored hash replaced (same key, new salt)
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == issued.prefix)).one()
        row.secret_hash = keys._hasher.hash(issued.key)
    verifier.authenticate(issued.key)
    assert len(calls) == 2
    revoke_key(store, issued.prefix, actor="t")
    with pytest.raises(AuthenticationError):  # the re-read sees the revocation
        verifier.authenticate(issued.key)
    assert len(calls) == 2


def test_requests_with_one_key_wait_for_a_single_check(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = issue_key(store, "acme", "platform", ["match"], label="", actor="t")
    calls = _count_argon2(monkeypatch, delay=0.2)
    verifier = KeyVerifier(store, cache_seconds=60)
    with ThreadPoolExecutor(max_workers=8) as pool:
        principals = list(pool.map(lambda _: verifier.authenticate(issued.key), range(8)))
    assert len(calls) == 1
    assert {p.key_prefix for p in principals} == {issued.prefix}
    assert not verifier._in_flight  # nothing left behind for the next check
