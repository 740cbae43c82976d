"""Bank services: filling banks from files and hash lists, exporting them, withdrawing.

Hash lists are JSON lines as ``reclaim hash`` writes them, or CSV with ``pdq``, ``md5``
and/or ``sha256`` columns (``quality``, ``source`` and ``path`` are read when present).
An import is checked whole before anything is stored, and stored in one transaction:
the bank afterwards holds the whole file or is as it was.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from reclaim.errors import HashFormatError, ImportFileError
from reclaim.hashing.base import SignalType, normalise_signal
from reclaim.hashing.files import FileFingerprint, FingerprintOptions, fingerprint_file
from reclaim.store import BankRepository, NewSignal, SignalRepository, SignalStatus, Store

_SIGNAL_FIELDS: Final = tuple(t.value for t in SignalType)
_PROBLEMS_SHOWN: Final = 20


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did."""

    bank: str
    lines: int
    signals: int
    added: int
    duplicates: int
    skipped_low_quality: int


def signals_of_record(
    record: dict[str, Any], min_quality: int, source: str | None = None
) -> tuple[list[NewSignal], int]:
    """The signals a hash record carries, and how many PDQ hashes were too low in quality."""
    signals: list[NewSignal] = []
    low = 0
    quality = _quality(record.get("quality"))
    label = source or _text(record.get("source")) or _text(record.get("path"))
    for field in _SIGNAL_FIELDS:
        raw = record.get(field)
        if raw is None or raw == "":
            continue
        if not isinstance(raw, str):
            raise HashFormatError(f"{field} must be a string, got {type(raw).__name__}")
        kind, value = normalise_signal(field, raw)
        if kind is SignalType.PDQ and quality is not None and quality < min_quality:
            low += 1
            continue
        signals.append(
            NewSignal(kind.value, value, quality if kind is SignalType.PDQ else None, label)
        )
    return signals, low


def parse_hash_list(
    stream: TextIO, name: str, min_quality: int
) -> tuple[list[NewSignal], int, int]:
    """All signals of a hash list, its line count and its low-quality count; or an
    ``ImportFileError`` listing every bad line by number."""
    try:
        text = stream.read()
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name}: not UTF-8 text (byte {exc.start}: {exc.reason})",
            [f"{name}: byte {exc.start} cannot be decoded as UTF-8"],
        ) from exc
    text = text.removeprefix("\ufeff")  # a byte-order mark, as spreadsheets write
    records = _csv_records(text, name) if _looks_like_csv(text) else _json_records(text)
    signals: list[NewSignal] = []
    problems: list[str] = []
    low = 0
    lines = 0
    for number, record in records:
        lines += 1
        if isinstance(record, str):
            problems.append(f"{name}:{number}: {record}")
            continue
        try:
            found, too_low = signals_of_record(record, min_quality)
        except HashFormatError as exc:
            problems.append(f"{name}:{number}: {exc.message}")
            continue
        if not found and not too_low:
            problems.append(f"{name}:{number}: no pdq, md5 or sha256 hash in this line")
        signals.extend(found)
        low += too_low
    if problems:
        shown = problems[:_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        summary = f"{name}: {len(problems)} bad line(s); nothing was imported"
        raise ImportFileError(summary, shown + ([f"... and {more} more"] if more else []))
    return signals, lines, low


def _looks_like_csv(text: str) -> bool:
    return not text.lstrip().startswith("{")


def _json_records(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg})"
            continue
        yield number, record if isinstance(record, dict) else "not a JSON object"


def _csv_records(text: str, name: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if not columns & set(_SIGNAL_FIELDS):
        raise ImportFileError(
            f"{name}: not a hash list: JSON lines, or CSV with a pdq, md5 or sha256 column",
            [f"{name}:1: header has columns {sorted(columns)}"],
        )
    for row in reader:
        number = reader.line_num
        if None in row:
            yield number, "more fields than the header has columns"
            continue
        yield number, {k.strip().lower(): v for k, v in row.items() if k is not None}


def _quality(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        quality = int(str(raw))
    except ValueError:
        raise HashFormatError(f"quality must be a whole number 0-100, got {raw!r}") from None
    if not 0 <= quality <= 100:
        raise HashFormatError(f"quality must be 0-100, got {quality}")
    return quality


def _text(raw: object) -> str | None:
    return raw if isinstance(raw, str) and raw else None


def import_hash_list(
    store: Store, bank_name: str, stream: TextIO, source_name: str, min_quality: int
) -> ImportReport:
    """Import a hash list into a bank, whole or not at all."""
    signals, lines, low = parse_hash_list(stream, source_name, min_quality)
    unique = list(dict.fromkeys(signals))
    with store.write() as session:
        bank = BankRepository(session).bank_get(bank_name)
        added = SignalRepository(session).signal_add_many(bank.id, unique)
    return ImportReport(bank_name, lines, len(signals), added, len(signals) - added, low)


def add_files(
    store: Store, bank_name: str, paths: Iterable[Path], options: FingerprintOptions
) -> Iterator[dict[str, Any]]:
    """Hash files and store their fingerprints (never the files); one record per file."""
    with store.read() as session:
        BankRepository(session).bank_get(bank_name)  # refuse an unknown bank up front
    for path in paths:
        result = fingerprint_file(path, options)
        yield _store_fingerprint(store, bank_name, result, options.min_quality)


def _store_fingerprint(
    store: Store, bank_name: str, result: FileFingerprint, min_quality: int
) -> dict[str, Any]:
    record: dict[str, Any] = {"path": result.path, "signals": [], "error": result.error}
    if not result.ok:
        return record
    signals, _ = signals_of_record(result.to_record(), min_quality, source=result.path)
    with store.write() as session:
        bank = BankRepository(session).bank_get(bank_name)
        repository = SignalRepository(session)
        repository.signal_add_many(bank.id, signals)
        ids = repository.signal_ids(bank.id, signals)
    record["signals"] = [{"type": s.type, "id": ids[(s.type, s.value)]} for s in signals]
    if result.low_quality:
        record["note"] = "PDQ quality below the minimum: only exact hashes were stored"
    return record


def export_bank(store: Store, bank_name: str) -> Iterator[dict[str, Any]]:
    """Every signal of a bank as a record, in id order."""
    with store.read() as session:
        bank = BankRepository(session).bank_get(bank_name)
        for row in SignalRepository(session).signal_export(bank.id):
            yield {
                "id": row.id,
                "type": row.type,
                "value": row.value,
                "quality": row.quality,
                "source": row.source,
                "status": row.status,
                "seq": row.seq,
                "updated_at": row.updated_at.isoformat(),
            }


def set_signal_status(
    store: Store, bank_name: str, ids: Sequence[int], status: SignalStatus
) -> None:
    """Withdraw (or otherwise re-status) signals of one bank; all or none."""
    with store.write() as session:
        bank = BankRepository(session).bank_get(bank_name)
        SignalRepository(session).signal_set_status(bank.id, ids, status)
