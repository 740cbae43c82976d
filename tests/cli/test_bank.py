"""The bank commands, end to end through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from reclaim.cli import app

runner = CliRunner()


def _run(url: str, *arguments: str, stdin: str | None = None) -> tuple[int, list[dict], str]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["--db", url, *arguments], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.stderr


def test_create_list_show_enable_disable(store_url: str) -> None:
    code, [created], _ = _run(store_url, "bank", "create", "SURV", "--kind", "survivor",
                              "--description", "cases")  # fmt: skip
    assert code == 0 and created["name"] == "SURV" and created["kind"] == "survivor"
    assert _run(store_url, "bank", "create", "P")[0] == 0
    code, listed, _ = _run(store_url, "bank", "list")
    assert [b["name"] for b in listed] == ["P", "SURV"]
    code, [shown], _ = _run(store_url, "bank", "show", "SURV")
    assert shown["description"] == "cases" and shown["signals"] == {}
    assert _run(store_url, "bank", "disable", "SURV")[1][0]["enabled"] is False
    assert _run(store_url, "bank", "enable", "SURV")[1][0]["enabled"] is True
    table = runner.invoke(app, ["--db", store_url, "bank", "list", "--format", "table"])
    assert "SURV" in table.stdout and "survivor" in table.stdout


def test_errors_name_the_problem_and_set_the_exit_status(store_url: str) -> None:
    _run(store_url, "bank", "create", "B")
    code, _, err = _run(store_url, "bank", "create", "B")
    assert code == 1 and "'B' already exists" in err
    code, _, err = _run(store_url, "bank", "show", "NOPE")
    assert code == 1 and "no bank named 'NOPE'" in err
    code, _, err = _run(store_url, "bank", "create", "bad name")
    assert code == 2 and "bank name" in err
    code, _, err = _run(store_url, "bank", "create", "K", "--kind", "secret")
    assert code == 2 and "survivor" in err
    code, _, err = _run(store_url, "bank", "export", "B", "--format", "xml")
    assert code == 2 and "jsonl or csv" in err
    code, _, err = _run(store_url, "bank", "withdraw", "B", "12345")
    assert code == 1 and "12345" in err


def test_add_files_then_show_counts(store_url: str, photos: list[Path], tmp_path: Path) -> None:
    _run(store_url, "bank", "create", "S")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    code, lines, _ = _run(store_url, "bank", "add", "S", str(photos[0]), str(bad))
    assert code == 1
    assert [s["type"] for s in lines[0]["signals"]] == ["pdq", "md5", "sha256", "keypoints"]
    assert lines[1]["error"]["code"] == "unsupported_format"
    _, [shown], _ = _run(store_url, "bank", "show", "S")
    assert shown["signals"] == {t: {"active": 1} for t in ("pdq", "md5", "sha256", "keypoints")}


def test_plain_add_stores_no_local_features(store_url: str, photos: list[Path]) -> None:
    _run(store_url, "bank", "create", "S")
    code, [line], _ = _run(store_url, "bank", "add", "S", "--plain", str(photos[0]))
    assert code == 0 and [s["type"] for s in line["signals"]] == ["pdq", "md5", "sha256"]


def test_a_flat_image_gets_no_local_features(store_url: str, tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (300, 200), (90, 90, 90)).save(flat)
    _run(store_url, "bank", "create", "S")
    code, [line], _ = _run(store_url, "bank", "add", "S", str(flat))
    assert code == 0 and "keypoints" not in [s["type"] for s in line["signals"]]


def test_hash_output_imports_and_exports_round_trip(
    store_url: str, photos: list[Path], tmp_path: Path
) -> None:
    _run(store_url, "bank", "create", "P", "--kind", "partner")
    listing = runner.invoke(app, ["hash", *map(str, photos[:4])]).stdout
    hashes = tmp_path / "hashes.jsonl"
    hashes.write_text(listing)
    code, [report], _ = _run(store_url, "bank", "import", "P", str(hashes))
    assert code == 0 and report["lines"] == 4 and report["added"] == 12
    code, [again], _ = _run(store_url, "bank", "import", "P", "-", stdin=listing)
    assert code == 0 and again["added"] == 0 and again["duplicates"] == 12
    code, exported, _ = _run(store_url, "bank", "export", "P")
    pdqs = [json.loads(line)["pdq"] for line in listing.splitlines()]
    assert sorted(r["value"] for r in exported if r["type"] == "pdq") == sorted(pdqs)
    csv_text = runner.invoke(app, ["--db", store_url, "bank", "export", "P", "--format", "csv"])
    assert csv_text.stdout.splitlines()[0].startswith("id,type,value")
    assert len(csv_text.stdout.splitlines()) == 13


def test_hashed_local_features_import_and_export_with_their_payload(
    store_url: str, photos: list[Path], tmp_path: Path
) -> None:
    _run(store_url, "bank", "create", "P", "--kind", "partner")
    listing = runner.invoke(app, ["hash", "--keypoints", *map(str, photos[:2])]).stdout
    records = [json.loads(line) for line in listing.splitlines()]
    assert all(len(base64.b64decode(r["keypoints"])) > 1000 for r in records)
    (tmp_path / "hashes.jsonl").write_text(listing)
    code, [report], _ = _run(store_url, "bank", "import", "P", str(tmp_path / "hashes.jsonl"))
    assert code == 0 and report["added"] == 8
    _, exported, _ = _run(store_url, "bank", "export", "P")
    payloads = sorted(r["payload"] for r in exported if r["type"] == "keypoints")
    assert payloads == sorted(r["keypoints"] for r in records)
    csv_rows = list(csv.DictReader(io.StringIO(
        runner.invoke(app, ["--db", store_url, "bank", "export", "P", "--format", "csv"]).stdout
    )))  # fmt: skip
    assert sorted(r["payload"] for r in csv_rows if r["type"] == "keypoints") == payloads
    assert all(r["payload"] == "" for r in csv_rows if r["type"] != "keypoints")


def test_a_bad_import_names_its_lines_and_stores_nothing(store_url: str, tmp_path: Path) -> None:
    _run(store_url, "bank", "create", "P")
    bad = tmp_path / "bad.csv"
    bad.write_text("md5,pdq\n" + "a" * 32 + ",\n" + "xyz,\n" + "," + "b" * 10 + "\n")
    code, _, err = _run(store_url, "bank", "import", "P", str(bad))
    assert code == 1
    assert f"{bad}:3:" in err and f"{bad}:4:" in err and "nothing was imported" in err
    assert _run(store_url, "bank", "export", "P")[1] == []
    code, _, err = _run(store_url, "bank", "import", "P", str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read" in err


def test_withdraw_stops_a_match(store_url: str, photos: list[Path]) -> None:
    _run(store_url, "bank", "create", "S")
    _, [added], _ = _run(store_url, "bank", "add", "S", str(photos[0]))
    _, [matched], _ = _run(store_url, "match", str(photos[0]))
    assert len(matched["matches"]) == 4  # pdq, md5, sha256, keypoints
    ids = [str(s["id"]) for s in added["signals"]]
    code, [withdrawn], _ = _run(store_url, "bank", "withdraw", "S", *ids)
    assert code == 0 and withdrawn["withdrawn"] == sorted(map(int, ids))
    _, [after], _ = _run(store_url, "match", str(photos[0]))
    assert after["matches"] == []


def test_a_bad_setting_is_a_usage_error_naming_the_variable(sqlite_url: str) -> None:
    result = runner.invoke(
        app, ["--db", sqlite_url, "bank", "list"], env={"RECLAIM_MATCH_THRESHOLD": "abc"}
    )
    assert result.exit_code == 2 and "RECLAIM_MATCH_THRESHOLD" in result.stderr


def test_exporting_an_unknown_bank_prints_no_header(sqlite_url: str) -> None:
    result = runner.invoke(app, ["--db", sqlite_url, "bank", "export", "X", "--format", "csv"])
    assert result.exit_code == 1 and result.stdout == "" and "'X'" in result.stderr
