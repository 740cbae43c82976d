"""Keys, scopes and rate limits at the HTTP edge."""

from __future__ import annotations

import re

from sqlalchemy import select

from reclaim.keys import revoke_key
from reclaim.store.models import ApiKey
from tests.api.conftest import Service


def test_no_key_is_401_with_a_json_error(service: Service) -> None:
    response = service.client.get("/v1/banks")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_wrong_or_malformed_key_is_401(service: Service) -> None:
    good = service.key("acme", "bank:read")["Authorization"]
    for presented in (good[:-3] + "xyz", "Bearer nonsense", "Bearer rk_0123456789ab_" + "a" * 43):
        response = service.client.get("/v1/banks", headers={"Authorization": presented})
        assert response.status_code == 401, presented
        assert "not valid" in response.json()["error"]["message"]


def test_a_key_without_the_scope_is_403_naming_it(service: Service) -> None:
    headers = service.key("acme", "match")
    response = service.client.post("/v1/banks", json={"name": "X"}, headers=headers)
    assert response.status_code == 403
    assert "'bank:write'" in response.json()["error"]["message"]


def test_the_admin_scope_allows_everything(service: Service) -> None:
    headers = service.key("ops", "admin", kind="admin")
    assert service.client.post("/v1/banks", json={"name": "X"}, headers=headers).status_code == 201
    assert service.client.get("/v1/banks/X/signals", headers=headers).status_code == 200


def test_me_names_the_organisation_and_scopes(service: Service) -> None:
    headers = service.key("acme", "match", "hash")
    body = service.client.get("/v1/me", headers=headers).json()
    assert body["organisation"] == "acme"
    assert body["organisation_kind"] == "platform"
    assert body["scopes"] == ["hash", "match"]


def test_keys_are_stored_only_as_argon2_hashes(service: Service) -> None:
    key = service.key("acme", "match")["Authorization"].removeprefix("Bearer ")
    with service.store.read() as session:
        row = session.scalars(select(ApiKey)).one()
    assert row.secret_hash.startswith("$argon2id$")
    assert key not in row.secret_hash
    secret = key.split("_", 2)[2]  # the secret may itself hold "_"
    assert len(secret) >= 40 and secret not in row.secret_hash
    assert row.prefix == key.split("_")[1]


def test_a_revoked_key_stops_working_once_its_check_expires(make_service: object) -> None:
    service = make_service(key_cache_seconds=0)  # type: ignore[operator]
    headers = service.key("acme", "bank:read")
    assert service.client.get("/v1/banks", headers=headers).status_code == 200
    prefix = headers["Authorization"].split("_")[1]
    revoke_key(service.store, prefix, actor="test")
    assert service.client.get("/v1/banks", headers=headers).status_code == 401


def test_too_many_requests_are_429_with_retry_after(make_service: object) -> None:
    service = make_service(rate_limit_per_second=0.5, rate_limit_burst=3)  # type: ignore[operator]
    headers = service.key("acme", "bank:read")
    codes = [service.client.get("/v1/banks", headers=headers).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    response = service.client.get("/v1/banks", headers=headers)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"
    # Another key has its own bucket.
    other = service.key("acme", "bank:read")
    assert service.client.get("/v1/banks", headers=other).status_code == 200


def test_health_needs_no_key_and_ready_reports_the_matcher(service: Service) -> None:
    assert service.client.get("/v1/health").json() == {"status": "ok"}
    body = service.client.get("/v1/ready").json()
    assert body["status"] == "ready"
    assert body["signals"] == 0


def test_the_docs_page_loads_nothing_from_other_hosts(service: Service) -> None:
    page = service.client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href|url)\s*[=:]\s*["\']([^"\']+)["\']', page.text)
    assert sources, "no assets found: the page changed shape"
    for source in sources:
        assert not re.match(r"^(https?:)?//", source), source
        if source.startswith("/static/"):
            assert service.client.get(source).status_code == 200, source
