"""A running service (lifespan included) over SQLite and over the real PostgreSQL, and
keys for organisations of each kind."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reclaim.api import create_app
from reclaim.keys import issue_key
from reclaim.settings import Settings
from reclaim.store import Store


@dataclass
class Service:
    client: TestClient
    store: Store
    settings: Settings

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the matcher has caught up with every change made so far (two syncs
        finished after now: the second surely started after now)."""
        deadline = time.monotonic() + timeout
        for _ in range(2):
            started = time.monotonic()
            while True:
                asked = time.monotonic()  # before the answer, so the test errs on waiting
                synced_ago = self.client.get("/v1/ready").json().get("synced_ago")
                if synced_ago is not None and synced_ago < asked - started:
                    break
                assert asked < deadline, "the matcher did not catch up"
                time.sleep(0.01)

    def key(self, organisation: str, *scopes: str, kind: str = "platform") -> dict[str, str]:
        """Headers carrying a new key of ``organisation`` with these scopes."""
        issued = issue_key(self.store, organisation, kind, scopes, label="test", actor="test")
        return {"Authorization": f"Bearer {issued.key}"}


def wait_ready(client: TestClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/v1/ready").status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError("the service did not become ready")


@pytest.fixture
def make_service(store_url: str, tmp_path: Path) -> Iterator[Callable[..., Service]]:
    opened: list[tuple[TestClient, Store]] = []

    def make(**overrides: object) -> Service:
        values: dict[str, object] = {
            "database_url": store_url,
            "index_dir": str(tmp_path / f"index-{len(opened)}"),
            "rate_limit_per_second": 0,
            "environment": "test",
        }
        values.update(overrides)
        settings = Settings(**values)  # type: ignore[arg-type]
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        store = Store.open(store_url)
        opened.append((client, store))
        wait_ready(client)
        return Service(client, store, settings)

    yield make
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()


@pytest.fixture
def service(make_service: Callable[..., Service]) -> Service:
    return make_service()
