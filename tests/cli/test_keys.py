"""``reclaim keys`` and ``reclaim bank share`` through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from reclaim.cli import app
from reclaim.keys import KeyVerifier
from reclaim.store import Store

runner = CliRunner()


def _run(url: str, *arguments: str) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["--db", url, *arguments])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


def test_a_key_is_printed_once_listed_by_prefix_and_revoked(store_url: str) -> None:
    code, [made], err = _run(store_url, "keys", "create", "--org", "acme", "--scope", "match",
                             "--scope", "hash", "--label", "uploads")  # fmt: skip
    assert code == 0, err
    assert "cannot show it again" in err
    assert made["organisation"] == "acme" and made["kind"] == "platform"
    assert made["scopes"] == ["hash", "match"]
    store = Store.open(store_url)
    principal = KeyVerifier(store).authenticate(made["key"])
    assert principal.organisation == "acme"
    code, listed, _ = _run(store_url, "keys", "list")
    assert [(k["prefix"], k["label"], k["revoked_at"]) for k in listed] == [
        (made["prefix"], "uploads", None)
    ]
    assert made["key"] not in json.dumps(listed)
    assert _run(store_url, "keys", "revoke", made["prefix"])[0] == 0
    assert _run(store_url, "keys", "list")[1][0]["revoked_at"] is not None
    assert KeyVerifier(store).remembers(made["key"]) is False
    store.close()


def test_bad_scopes_kinds_and_prefixes_are_usage_errors(store_url: str) -> None:
    code, _, err = _run(store_url, "keys", "create", "--org", "a", "--scope", "everything")
    assert code == 2 and "scope 'everything' is not one of" in err
    code, _, err = _run(store_url, "keys", "create", "--org", "a", "--scope", "match",
                        "--kind", "bank")  # fmt: skip
    assert code == 2 and "organisation kind 'bank'" in err
    _run(store_url, "keys", "create", "--org", "a", "--scope", "match")
    code, _, err = _run(store_url, "keys", "create", "--org", "a", "--scope", "match",
                        "--kind", "admin")  # fmt: skip
    assert code == 2 and "exists with kind 'platform'" in err
    code, _, err = _run(store_url, "keys", "revoke", "000000000000")
    assert code == 2 and "no API key" in err


def test_banks_are_shared_from_the_cli(store_url: str) -> None:
    _run(store_url, "keys", "create", "--org", "acme", "--scope", "match")
    _run(store_url, "bank", "create", "SURV")
    code, [shared], _ = _run(store_url, "bank", "share", "SURV", "acme")
    assert code == 0 and shared["shared_with"] == ["acme"] and shared["owner"] is None
    code, _, err = _run(store_url, "bank", "share", "SURV", "nobody")
    assert code == 1 and "no organisation named 'nobody'" in err
    assert _run(store_url, "bank", "share", "SURV")[1][0]["shared_with"] == []
