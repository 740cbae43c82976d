"""Reading hash lists: JSON lines and CSV, every bad line named, encodings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from reclaim.errors import ImportFileError
from reclaim.hashing.files import FingerprintOptions, fingerprint_file
from reclaim.hashlists import parse_hash_list


def _jsonl(records: list[dict[str, object]]) -> io.StringIO:
    return io.StringIO("".join(json.dumps(r) + "\n" for r in records))


def test_hash_command_output_imports_every_signal(photos: list[Path]) -> None:
    records = [fingerprint_file(p, FingerprintOptions()).to_record() for p in photos[:3]]
    signals, lines, low = parse_hash_list(_jsonl(records), "list.jsonl", 50)
    assert lines == 3 and low == 0
    assert [s.type for s in signals] == ["pdq", "md5", "sha256"] * 3
    assert signals[0].value == records[0]["pdq"] and signals[0].quality == 100
    assert signals[0].source == str(photos[0])


def test_csv_with_any_hash_columns() -> None:
    text = "PDQ,md5,quality,source\n" + "A" * 64 + ",,90,x.jpg\n" + "," + "b" * 32 + ",,\n"
    signals, lines, _ = parse_hash_list(io.StringIO(text), "list.csv", 50)
    assert lines == 2
    assert [(s.type, s.value, s.quality) for s in signals] == [
        ("pdq", "a" * 64, 90),
        ("md5", "b" * 32, None),
    ]


def test_low_quality_pdq_is_skipped_and_counted() -> None:
    records = [{"pdq": "a" * 64, "quality": 20, "md5": "c" * 32}]
    signals, _, low = parse_hash_list(_jsonl(records), "x", 50)
    assert [s.type for s in signals] == ["md5"] and low == 1


def test_every_bad_line_is_named_by_number() -> None:
    text = (
        json.dumps({"pdq": "a" * 64})
        + "\n{broken\n"
        + json.dumps({"pdq": "a" * 63})
        + "\n"
        + json.dumps({"md5": "z" * 32})
        + "\n[1]\n"
        + json.dumps({"path": "x"})
        + "\n"
        + json.dumps({"pdq": "a" * 64, "quality": "high"})
        + "\n"
    )
    with pytest.raises(ImportFileError) as caught:
        parse_hash_list(io.StringIO(text), "bad.jsonl", 50)
    problems = caught.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6", "7"]
    assert "not valid JSON" in problems[0] and "pdq hash (64 hex" in problems[1]
    assert "md5" in problems[2] and "not a JSON object" in problems[3]
    assert "no pdq, md5 or sha256" in problems[4] and "quality" in problems[5]
    assert "nothing was imported" in caught.value.message


def test_a_csv_without_hash_columns_is_refused() -> None:
    with pytest.raises(ImportFileError, match="not a hash list"):
        parse_hash_list(io.StringIO("name,size\nx,1\n"), "x.csv", 50)


def test_a_csv_row_with_extra_fields_is_refused() -> None:
    with pytest.raises(ImportFileError) as caught:
        parse_hash_list(io.StringIO("md5\n" + "a" * 32 + ",extra\n"), "x.csv", 50)
    assert caught.value.problems == ["x.csv:2: more fields than the header has columns"]


def test_a_list_that_is_not_utf8_is_refused_with_the_byte() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b'{"md5": "\xff"}\n'), encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"x.jsonl: not UTF-8 text \(byte 9"):
        parse_hash_list(stream, "x.jsonl", 50)


def test_a_csv_with_a_byte_order_mark_is_read() -> None:
    signals, _, _ = parse_hash_list(io.StringIO("\ufeffmd5\n" + "a" * 32 + "\n"), "x.csv", 50)
    assert [(s.type, s.value) for s in signals] == [("md5", "a" * 32)]
