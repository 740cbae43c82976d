"""Hash lists: the files partners and ``reclaim hash`` exchange, read and checked.

JSON lines as ``reclaim hash`` writes them, or CSV with ``pdq``, ``md5`` and/or
``sha256`` columns (``quality``, ``source`` and ``path`` are read when present). A JSON
line's ``keypoints`` field holds an image's local features (``features_to_bytes``) in
standard base64, its ``vpdq`` field a video's frames (vPDQ's list of
``"pdqhex,quality,timestamp"`` strings) and its ``video_regions`` field their region
hashes (``regions_payload``, base64): each becomes a signal whose value is the SHA-256
of its payload, stored beside it (the features; the frames' canonical JSON list; the
regions). CSV lists cannot carry them. A list is checked whole: every bad line is named
by number, and a list with any bad line is refused whole.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import math
from collections.abc import Iterator
from typing import Any, Final, TextIO

from reclaim.errors import HashFormatError, ImportFileError
from reclaim.hashing.base import PAYLOAD_TYPES, SignalType, normalise_signal
from reclaim.hashing.keypoints import MAX_PAYLOAD_BYTES, MIN_INLIERS, features_from_bytes
from reclaim.hashing.regions import MAX_PAYLOAD_BYTES as MAX_REGIONS_PAYLOAD_BYTES
from reclaim.hashing.regions import distinct_rows, regions_from_payload
from reclaim.hashing.video import (
    MAX_PAYLOAD_BYTES as MAX_VPDQ_PAYLOAD_BYTES,
)
from reclaim.hashing.video import (
    frames_from_list,
    frames_from_payload,
    frames_payload,
    unique_codes,
)
from reclaim.store import NewSignal, payload_digest

_KEYPOINTS: Final = SignalType.KEYPOINTS.value
_VPDQ: Final = SignalType.VPDQ.value
_REGIONS: Final = SignalType.VIDEO_REGIONS.value
# Fields holding a hash in hex; the keypoints and vpdq fields hold payloads instead.
_HEX_FIELDS: Final = tuple(t.value for t in SignalType if t not in PAYLOAD_TYPES)
_PROBLEMS_SHOWN: Final = 20

#: The largest payload ``features_from_bytes`` reads: a 12-byte header, 38 bytes a feature.
#: The same in base64 characters.
MAX_PAYLOAD_CHARS: Final = 4 * math.ceil(MAX_PAYLOAD_BYTES / 3)


#: The same for a vPDQ payload, and for a regions payload.
MAX_VPDQ_PAYLOAD_CHARS: Final = 4 * math.ceil(MAX_VPDQ_PAYLOAD_BYTES / 3)
MAX_REGIONS_PAYLOAD_CHARS: Final = 4 * math.ceil(MAX_REGIONS_PAYLOAD_BYTES / 3)
_PAYLOAD_CHARS: Final = {_VPDQ: MAX_VPDQ_PAYLOAD_CHARS, _REGIONS: MAX_REGIONS_PAYLOAD_CHARS}


def decode_payload(raw: object, field: str = _KEYPOINTS, kind: str = _KEYPOINTS) -> bytes:
    """The payload of a ``kind`` signal that a standard base64 string carries, checked
    (local features; a video's frames, returned in their canonical form; their region
    hashes); anything else raises ``HashFormatError`` naming ``field``."""
    if not isinstance(raw, str):
        raise HashFormatError(f"{field} must be a base64 string, got {type(raw).__name__}")
    limit = _PAYLOAD_CHARS.get(kind, MAX_PAYLOAD_CHARS)
    if len(raw) > limit:  # refused before decoding it
        raise HashFormatError(
            f"{field}: {len(raw)} characters, more than the largest {kind} payload takes ({limit})"
        )
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: characters beyond ASCII
        raise HashFormatError(f"{field}: not standard base64 ({exc})") from None
    if kind == _VPDQ:
        return frames_payload(frames_from_payload(data, field))
    if kind == _REGIONS:
        if not len(distinct_rows(regions_from_payload(data, field))):
            raise HashFormatError(f"{field}: no frame reaches vPDQ's quality threshold")
        return data
    count = len(features_from_bytes(data, field))
    if count < MIN_INLIERS:  # stored, it would never match (registration leaves such out)
        raise HashFormatError(
            f"{field}: {count} features, fewer than the {MIN_INLIERS} a match needs"
        )
    return data


def encode_payload(data: bytes) -> str:
    """A payload as hash lists, exports and the API carry it: standard base64."""
    return base64.b64encode(data).decode("ascii")


def signals_of_record(
    record: dict[str, Any], min_quality: int, source: str | None = None
) -> tuple[list[NewSignal], int]:
    """The signals a hash record carries, and how many PDQ hashes (or videos, none of
    whose frames reach vPDQ's quality threshold) were too low in quality to match."""
    signals: list[NewSignal] = []
    low = 0
    quality = _quality(record.get("quality"))
    label = source or _text(record.get("source")) or _text(record.get("path"))
    for field in _HEX_FIELDS:
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
    encoded = record.get(_KEYPOINTS)
    if encoded is not None and encoded != "":
        payload = decode_payload(encoded)
        signals.append(NewSignal(_KEYPOINTS, payload_digest(payload), None, label, payload))
    frames = record.get(_VPDQ)
    if frames is not None and frames != []:
        parsed = frames_from_list(frames, _VPDQ)
        if len(unique_codes(parsed)):
            payload = frames_payload(parsed)
            signals.append(NewSignal(_VPDQ, payload_digest(payload), None, label, payload))
        else:  # stored, it would never match (as a flat image's PDQ is left out)
            low += 1
    encoded = record.get(_REGIONS)
    if encoded is not None and encoded != "":
        payload = decode_payload(encoded, _REGIONS, _REGIONS)
        signals.append(NewSignal(_REGIONS, payload_digest(payload), None, label, payload))
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
            problems.append(
                f"{name}:{number}: no pdq, md5, sha256, keypoints, vpdq or video_regions "
                "in this line"
            )
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
    carried = sorted(columns & {t.value for t in PAYLOAD_TYPES})
    if carried:
        raise ImportFileError(
            f"{name}: CSV cannot carry {carried[0]}; use JSON lines as `reclaim hash` writes them",
            [f"{name}:1: header has a {carried[0]} column"],
        )
    if not columns & set(_HEX_FIELDS):
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
