"""Property-based runs of schemathesis against the service's own OpenAPI schema, in
process, with a key holding every scope.

Each operation gets its own test, with data that fits the schema and data that does not,
against one running service per store (SQLite and PostgreSQL) shared by the module. No
request, however odd, may make the service fail (5xx); every answer must have a status
code, content type, headers and body that the schema gives the operation.

schemathesis' own pytest plugin (``@schema.parametrize()``) does not run under pytest 9,
and it ends every ASGI lifespan it started after each test; so the cases come from its
Hypothesis strategies and are sent through a client of schemathesis' ASGI transport,
while this module runs the service's lifespan itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.errors import FailureGroup
from schemathesis.python import asgi

# Imported at collection, not lazily by ``schemathesis.openapi.from_dict`` mid-run: pytest
# parses plugin modules to rewrite their asserts, and on CPython 3.11.7 a parse late in
# the run can fail with "AST constructor recursion depth mismatch" (CPython gh-106905,
# fixed in 3.11.8), which once failed this module in CI.
from schemathesis.specs.openapi import schemas as _openapi_schemas  # noqa: F401
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine, text

from reclaim.api import create_app
from reclaim.keys import issue_key
from reclaim.sealing import new_key_text
from reclaim.settings import Settings
from reclaim.store import Store
from tests.conftest import POSTGRES_URL, require_postgres

EVERY_SCOPE = ["admin", "hash", "match", "bank:read", "bank:write"]
BANK = "B"  # a bank that exists, for the operations on a named bank
EXAMPLES = {"sqlite": 25, "postgresql": 12}  # per operation: about 15 s in all, on 2 cores
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _openapi() -> dict[str, Any]:
    return create_app(Settings.model_construct()).openapi()  # builds nothing but the app


def _operations() -> list[Any]:
    return [
        pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
        for path, item in _openapi()["paths"].items()
        for method in item
    ]


@dataclass
class Running:
    backend: str
    client: asgi.ASGIClient
    headers: dict[str, str]
    schema: schemathesis.BaseSchema


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Like conftest's ``store_url``, but one store for the whole module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('schema') / 'reclaim.db'}"
        return
    require_postgres()
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{name}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="module")
def running(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The service, lifespan started and ready, holding bank B; a key with every scope."""
    store = Store.open(module_store_url)
    issued = issue_key(store, "org", "admin", EVERY_SCOPE, label="t", actor="test")
    store.close()
    service: FastAPI = create_app(
        Settings(
            database_url=module_store_url,
            index_dir=str(tmp_path_factory.mktemp("idx")),
            rate_limit_per_second=0,
            environment="test",
            # Set here: a PostgreSQL store's key file would land in the working folder,
            # which for a module's fixture is still the checkout.
            secret_key=SecretStr(new_key_text()),
        )
    )
    headers = {"Authorization": f"Bearer {issued.key}"}
    backend = "sqlite" if module_store_url.startswith("sqlite") else "postgresql"
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(service.router.lifespan_context(service)),
    ):
        client = asgi.get_client(cast(Any, service))  # not entered: leaves the lifespan alone
        deadline = time.monotonic() + 60
        while client.get("/v1/ready").status_code != 200:
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.02)
        made = client.post("/v1/banks", json={"name": BANK}, headers=headers)
        assert made.status_code == 201, made.text
        signals: dict[str, Any] = {"signals": [{"type": "pdq", "value": "ab" * 32, "quality": 100}]}
        added = client.post(f"/v1/banks/{BANK}/signals", json=signals, headers=headers)
        assert added.status_code == 201, added.text
        schema = schemathesis.openapi.from_dict(service.openapi())
        yield Running(backend, client, headers, schema)


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_server_errors_and_answers_match_the_schema(
    running: Running, method: str, path: str
) -> None:
    operation = running.schema[path][method]
    strategies = [operation.as_strategy(mode) for mode in MODES]
    if "{name}" in path:  # aim at a bank that exists too
        strategies += [operation.as_strategy(m, path_parameters={"name": BANK}) for m in MODES]
    undocumented: dict[int, str] = {}  # status code -> the first failure's report

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES[running.backend],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call(
            session=running.client, base_url=running.client.base_url, headers=running.headers
        )
        case.validate_response(response, checks=CHECKS, headers=running.headers)
        # Collected rather than raised, so that a stray status code cannot hide a 5xx.
        try:
            case.validate_response(
                response, checks=[status_code_conformance], headers=running.headers
            )
        except FailureGroup as failures:
            undocumented.setdefault(response.status_code, str(failures))

    run()
    assert not undocumented, (
        f"{method} {path} answered with status codes its schema does not list: "
        f"{sorted(undocumented)}\n\n" + "\n\n".join(undocumented.values())
    )


def test_every_reference_in_the_schema_resolves() -> None:
    """A dangling ``$ref`` makes clients (and schemathesis) drop what it names."""
    schema = _openapi()

    def refs(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    prefix = "#/components/schemas/"
    known = schema.get("components", {}).get("schemas", {})
    dangling = sorted(
        {r for r in refs(schema) if not r.startswith(prefix) or r[len(prefix) :] not in known}
    )
    assert dangling == [], f"references to schemas that are not in components: {dangling}"
