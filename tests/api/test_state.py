"""Readiness: 503 (and matching refused) until the indexes are loaded, then 200."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reclaim.api import create_app, state
from reclaim.api.state import ServiceState
from reclaim.errors import ConfigurationError
from reclaim.keys import issue_key
from reclaim.matching import Matcher
from reclaim.settings import Settings
from reclaim.store import BankRepository, Store


def test_not_ready_until_the_matcher_has_loaded(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    class SlowMatcher(Matcher):
        def __init__(self, *args: object, **kwargs: object) -> None:
            release.wait(30)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(state, "Matcher", SlowMatcher)
    store = Store.open(sqlite_url)
    key = issue_key(store, "acme", "platform", ["match"], label="", actor="t").key
    settings = Settings(database_url=sqlite_url, index_dir=str(tmp_path / "idx"))
    body = {"signals": [{"type": "md5", "value": "a" * 32}]}
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/health").status_code == 200
        loading = client.get("/v1/ready")
        assert loading.status_code == 503
        assert loading.json()["status"] == "loading"
        assert loading.headers["Retry-After"] == "1"
        refused = client.post("/v1/match", json=body, headers=headers)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "not_ready"
        release.set()
        client.app.state.service.load_attempted.wait(30)  # type: ignore[attr-defined]
        assert client.get("/v1/ready").json()["status"] == "ready"
        assert client.post("/v1/match", json=body, headers=headers).status_code == 200
    store.close()


def test_a_matcher_that_fails_to_load_reports_failed(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> Matcher:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(state, "Matcher", broken)
    settings = Settings(database_url=sqlite_url, index_dir=str(tmp_path / "idx"))
    with TestClient(create_app(settings)) as client:
        client.app.state.service.load_attempted.wait(30)  # type: ignore[attr-defined]
        response = client.get("/v1/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "failed"
    assert "disk on fire" not in response.text  # internals stay in the log


def test_a_failed_load_is_retried_until_it_works(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def flaky(*args: object, **kwargs: object) -> Matcher:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("store not up yet")
        return Matcher(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(state, "Matcher", flaky)
    settings = Settings(database_url=sqlite_url, index_dir=str(tmp_path / "idx"))
    with TestClient(create_app(settings)) as client:
        client.app.state.service.load_attempted.wait(30)  # type: ignore[attr-defined]
        assert client.get("/v1/ready").json()["status"] == "failed"
        deadline = time.monotonic() + 10
        while client.get("/v1/ready").status_code != 200:
            assert time.monotonic() < deadline, "the load was not retried"
            time.sleep(0.05)
    assert len(attempts) == 2


def test_a_case_bank_name_held_by_another_kind_stops_the_service(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clash.db'}"
    store = Store.open(url)
    with store.write() as session:
        BankRepository(session).bank_create("survivor-submissions", "partner")
    store.close()
    with pytest.raises(ConfigurationError, match="RECLAIM_SURVIVOR_BANK"):
        ServiceState.open(Settings(database_url=url, environment="test"))
    ServiceState.open(Settings(database_url=url, environment="test", survivor_bank="cases")).close()
