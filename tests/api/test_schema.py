"""A property-based run of schemathesis against the service's own OpenAPI schema, in
process (lifespan included), with a key holding every scope: no request, however odd,
may make the service fail (5xx), and every answer must be what the schema says.

Each operation gets its own test, with data that fits the schema and data that does not.
(schemathesis' own pytest plugin, ``@schema.parametrize()``, does not run under pytest 9,
so the cases come from its Hypothesis strategies.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reclaim.api import create_app
from reclaim.keys import issue_key
from reclaim.settings import Settings
from reclaim.store import Store

EVERY_SCOPE = ["admin", "hash", "match", "bank:read", "bank:write"]
BANK = "B"  # a bank that exists, for the operations on a named bank
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the schema (building the app opens nothing)."""
    paths = create_app(Settings.model_construct()).openapi()["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item]


@dataclass
class Running:
    app: FastAPI
    headers: dict[str, str]


@pytest.fixture
def running(store_url: str, tmp_path: Path) -> Iterator[Running]:
    """The service, started and ready, holding bank B, and a key holding every scope."""
    store = Store.open(store_url)
    issued = issue_key(store, "org", "admin", EVERY_SCOPE, label="t", actor="test")
    store.close()
    service = create_app(
        Settings(
            database_url=store_url,
            index_dir=str(tmp_path / "idx"),
            rate_limit_per_second=0,
            environment="test",
        )
    )
    headers = {"Authorization": f"Bearer {issued.key}"}
    try:
        with asgi.get_client(service) as client:  # starts the lifespan, which stays up
            deadline = time.monotonic() + 60
            while client.get("/v1/ready").status_code != 200:
                assert time.monotonic() < deadline, "the service did not become ready"
                time.sleep(0.02)
            made = client.post("/v1/banks", json={"name": BANK}, headers=headers)
            assert made.status_code == 201, made.text
            signals = {"signals": [{"type": "pdq", "value": "ab" * 32, "quality": 100}]}
            added = client.post(f"/v1/banks/{BANK}/signals", json=signals, headers=headers)
            assert added.status_code == 201, added.text
        yield Running(service, headers)
    finally:
        asgi.shutdown_lifespans()  # closes the service's store before its schema is dropped


@pytest.mark.parametrize(("method", "path"), _operations(), ids=" ".join)
def test_no_server_errors_and_answers_match_the_schema(
    running: Running, method: str, path: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", running.app)
    operation = schema[path][method]
    strategies = [operation.as_strategy(mode) for mode in MODES]
    if "{name}" in path:  # also aim at a bank that exists
        strategies += [
            operation.as_strategy(mode, path_parameters={"name": BANK}) for mode in MODES
        ]

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=running.headers, checks=CHECKS)

    run()
