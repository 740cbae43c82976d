"""``reclaim audit`` through the CLI."""

from __future__ import annotations

import json

from sqlalchemy import update
from typer.testing import CliRunner

from reclaim.cli import app
from reclaim.store import Store
from reclaim.store.models import AuditEvent

runner = CliRunner()


def _run(url: str, *arguments: str) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["--db", url, *arguments])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


def test_audit_verify_passes_then_finds_an_edit(store_url: str) -> None:
    _run(store_url, "bank", "create", "SURV")
    _run(store_url, "keys", "create", "--org", "acme", "--scope", "match")
    code, [report], _ = _run(store_url, "audit", "verify")
    assert code == 0 and report["ok"] is True and report["rows"] == 3
    code, events, _ = _run(store_url, "audit", "list")
    assert [e["action"] for e in events] == ["bank.create", "organisation.create", "key.create"]
    assert events[0]["actor"].startswith("cli:")
    store = Store.open(store_url)
    with store.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == 2).values(subject="x"))
    store.close()
    code, [report], err = _run(store_url, "audit", "verify")
    assert code == 1 and report["ok"] is False and report["problem_row"] == 2
    assert "audit log is broken" in err
