"""Filling banks from files and hash lists; exports; atomic imports, crash included."""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reclaim.banks import (
    add_files,
    add_signals,
    export_bank,
    export_changes,
    import_hash_list,
    set_signal_status,
)
from reclaim.errors import ImportFileError, UnknownBankError
from reclaim.hashing.files import FingerprintOptions
from reclaim.hashlists import encode_payload
from reclaim.store import BankRepository, SignalRepository, SignalStatus, Store, payload_digest
from tests.conftest import photo_features, random_features


def _make_bank(store: Store, name: str = "B", kind: str = "partner") -> None:
    with store.write() as session:
        BankRepository(session).bank_create(name, kind)


def _jsonl(records: list[dict[str, object]]) -> io.StringIO:
    return io.StringIO("".join(json.dumps(r) + "\n" for r in records))


def test_import_stores_once_and_reports_duplicates(store: Store) -> None:
    _make_bank(store)
    records = [{"pdq": secrets.token_hex(32), "quality": 100} for _ in range(20)]
    records += records[:5]  # repeated inside the file
    report = import_hash_list(store, "B", _jsonl(records), "l", 50)
    assert (report.lines, report.signals, report.added, report.duplicates) == (25, 25, 20, 5)
    again = import_hash_list(store, "B", _jsonl(records[:10]), "l", 50)
    assert (again.added, again.duplicates) == (0, 10)


def test_a_failed_import_stores_nothing(store: Store) -> None:
    _make_bank(store)
    records: list[dict[str, object]] = [{"md5": secrets.token_hex(16)} for _ in range(10)]
    records.append({"md5": "not hex"})
    with pytest.raises(ImportFileError):
        import_hash_list(store, "B", _jsonl(records), "l", 50)
    assert list(export_bank(store, "B")) == []


def test_import_into_an_unknown_bank(store: Store) -> None:
    with pytest.raises(UnknownBankError):
        import_hash_list(store, "nope", _jsonl([{"md5": "a" * 32}]), "l", 50)


def test_adding_files_stores_fingerprints_and_reports_ids(
    store: Store, photos: list[Path], tmp_path: Path
) -> None:
    _make_bank(store, "S", "survivor")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff broken")
    records = list(add_files(store, "S", [photos[0], broken], FingerprintOptions()))
    assert [s["type"] for s in records[0]["signals"]] == ["pdq", "md5", "sha256"]
    assert records[0]["error"] is None
    assert records[1]["signals"] == [] and records[1]["error"]["code"] == "corrupt"
    exported = list(export_bank(store, "S"))
    assert {r["id"] for r in exported} == {s["id"] for s in records[0]["signals"]}
    again = list(add_files(store, "S", [photos[0]], FingerprintOptions()))
    assert again[0]["signals"] == records[0]["signals"]  # stored once, same ids


def test_withdrawing_shows_in_the_export(store: Store) -> None:
    _make_bank(store)
    import_hash_list(store, "B", _jsonl([{"md5": "a" * 32}, {"md5": "b" * 32}]), "l", 50)
    rows = list(export_bank(store, "B"))
    first = rows[0]
    set_signal_status(store, "B", [int(first["id"])], SignalStatus.WITHDRAWN)  # type: ignore[call-overload]
    statuses = {r["value"]: r["status"] for r in export_bank(store, "B")}
    assert statuses == {"a" * 32: "withdrawn", "b" * 32: "active"}


def test_keypoints_imported_from_a_list_are_exported_with_their_payload(store: Store) -> None:
    _make_bank(store)
    payload = photo_features()
    records = [{"path": "a.jpg", "md5": "a" * 32, "keypoints": encode_payload(payload)}]
    report = import_hash_list(store, "B", _jsonl(records), "l", 50)
    assert (report.signals, report.added) == (2, 2)
    again = import_hash_list(store, "B", _jsonl(records), "l", 50)
    assert (again.added, again.duplicates) == (0, 2)
    rows = {r["type"]: r for r in export_bank(store, "B")}
    assert "payload" not in rows["md5"]
    assert rows["keypoints"]["value"] == payload_digest(payload)
    assert rows["keypoints"]["payload"] == encode_payload(payload)
    set_signal_status(store, "B", [rows["keypoints"]["id"]], SignalStatus.WITHDRAWN)
    withdrawn = {r["type"]: r for r in export_bank(store, "B")}["keypoints"]
    # Withdrawn: partners need only its value to delete it, and the features are gone.
    assert withdrawn["status"] == "withdrawn" and "payload" not in withdrawn


def test_adding_keypoints_items_checks_each_payload(store: Store) -> None:
    _make_bank(store)
    good, other = random_features(1), random_features(2)
    items: list[dict[str, object]] = [
        {"type": "keypoints", "value": payload_digest(good), "payload": encode_payload(good)},
        {"type": "keypoints", "value": payload_digest(good)},
        {"type": "keypoints", "value": payload_digest(good), "payload": encode_payload(other)},
        {"type": "keypoints", "value": payload_digest(b"x"), "payload": "eA=="},
        {"type": "keypoints", "value": payload_digest(good), "payload": "%%%"},
        {"type": "md5", "value": "a" * 32, "payload": encode_payload(good)},
        {"type": "md5", "value": "b" * 32, "payload": None},
    ]
    report = add_signals(store, "B", items, 50)
    assert (report.added, report.duplicates) == (2, 0)
    messages = {e["index"]: e["message"] for e in report.errors}
    assert sorted(messages) == [1, 2, 3, 4, 5]
    assert "needs its payload" in messages[1] and "not the SHA-256" in messages[2]
    assert "payload: 1 bytes is too short" in messages[3]
    assert "not standard base64" in messages[4] and "only keypoints" in messages[5]
    assert {e["code"] for e in report.errors} == {"invalid_hash"}
    changes = export_changes(store, "B", 0, 100)
    assert [(c.type, c.payload) for c in changes] == [
        ("keypoints", encode_payload(good)),
        ("md5", None),
    ]
    set_signal_status(store, "B", [changes[0].id], SignalStatus.WITHDRAWN)
    (withdrawn,) = export_changes(store, "B", changes[-1].seq, 100)
    assert (withdrawn.status, withdrawn.payload) == ("withdrawn", None)


_IMPORTER = """
import sys
from reclaim.banks import import_hash_list
from reclaim.store import Store
store = Store.open(sys.argv[1])
print("ready", flush=True)
with open(sys.argv[2]) as stream:
    import_hash_list(store, "B", stream, sys.argv[2], 50)
print("done", flush=True)
"""


def test_killing_an_import_midway_leaves_the_bank_as_it_was(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = Store.open(sqlite_url)
    _make_bank(store)
    import_hash_list(store, "B", _jsonl([{"md5": "f" * 32}]), "first", 50)
    big = tmp_path / "big.jsonl"
    with big.open("w") as handle:
        for _ in range(300_000):
            handle.write(json.dumps({"pdq": secrets.token_hex(32), "quality": 100}) + "\n")
    process = subprocess.Popen(
        [sys.executable, "-c", _IMPORTER, sqlite_url, str(big)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    deadline = time.monotonic() + 60
    while wal.stat().st_size < 4_000_000 and time.monotonic() < deadline:
        time.sleep(0.02)  # wait until the insert is well under way
    assert process.poll() is None, "the import finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    with store.read() as session:
        values = [c.value for c in SignalRepository(session).signals_since(0, limit=400_000)]
    assert values == ["f" * 32]
    # The store still works: a later import of the same file succeeds whole.
    with big.open() as stream:
        report = import_hash_list(store, "B", stream, "big", 50)
    assert report.added == 300_000
    store.close()
