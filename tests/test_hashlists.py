"""Reading hash lists: JSON lines and CSV, every bad line named, encodings."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from reclaim.errors import HashFormatError, ImportFileError
from reclaim.hashing import keypoints
from reclaim.hashing.files import FingerprintOptions, fingerprint_file
from reclaim.hashing.keypoints import Features, features_to_bytes
from reclaim.hashing.regions import (
    HASHES_PER_FRAME,
    VideoRegions,
    regions_from_payload,
    regions_payload,
)
from reclaim.hashing.video import FrameHash, frames_from_payload, frames_payload
from reclaim.hashlists import (
    MAX_PAYLOAD_BYTES,
    MAX_PAYLOAD_CHARS,
    MAX_REGIONS_PAYLOAD_CHARS,
    MAX_VPDQ_PAYLOAD_CHARS,
    decode_payload,
    encode_payload,
    parse_hash_list,
    signals_of_record,
)
from tests.conftest import photo_features, random_features
from tests.hashing.videos import encode_video, pan_frames


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
    assert (
        "no pdq, md5, sha256, keypoints, vpdq or video_regions" in problems[4]
        and "quality" in problems[5]
    )
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


# --- keypoints ---------------------------------------------------------------------------


def test_a_keypoints_record_imports_its_features_under_their_digest() -> None:
    payload = photo_features()
    record = {"path": "a.jpg", "pdq": "a" * 64, "quality": 90, "md5": "b" * 32}
    record["keypoints"] = base64.b64encode(payload).decode()
    signals, lines, _ = parse_hash_list(_jsonl([record]), "list.jsonl", 50)
    assert lines == 1
    assert [s.type for s in signals] == ["pdq", "md5", "keypoints"]
    found = signals[-1]
    assert found.value == hashlib.sha256(payload).hexdigest() and found.payload == payload
    assert found.quality is None and found.source == "a.jpg"  # quality is PDQ's alone
    assert all(s.payload is None for s in signals[:-1])


def test_a_record_with_only_keypoints_is_enough() -> None:
    record = {"keypoints": encode_payload(random_features(1))}
    signals, _, _ = parse_hash_list(_jsonl([record]), "x.jsonl", 50)
    assert [s.type for s in signals] == ["keypoints"]


def test_bad_keypoints_are_named_by_line_and_nothing_is_imported() -> None:
    good = encode_payload(random_features(2))
    truncated = encode_payload(random_features(3)[:-5])
    records: list[dict[str, object]] = [
        {"md5": "a" * 32, "keypoints": good},
        {"keypoints": good[:-2] + "!!"},
        {"keypoints": truncated},
        {"keypoints": base64.b64encode(b"not features at all").decode()},
        {"keypoints": 12},
        {"keypoints": good[:-1]},  # padding lost
    ]
    with pytest.raises(ImportFileError) as caught:
        parse_hash_list(_jsonl(records), "kp.jsonl", 50)
    problems = caught.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6"]
    assert all("keypoints" in p for p in problems)
    assert "not standard base64" in problems[0] and "bytes where" in problems[1]
    assert "not local features" in problems[2] and "base64 string" in problems[3]
    assert "not standard base64" in problems[4]


def test_a_csv_with_a_keypoints_column_is_refused() -> None:
    text = "md5,keypoints\n" + "a" * 32 + "," + encode_payload(random_features(4)) + "\n"
    with pytest.raises(ImportFileError, match="CSV cannot carry keypoints"):
        parse_hash_list(io.StringIO(text), "x.csv", 50)


def test_the_largest_payload_fits_its_limits() -> None:
    largest = random_features(5, count=keypoints.MAX_FEATURES)
    assert len(largest) == MAX_PAYLOAD_BYTES
    encoded = encode_payload(largest)
    assert len(encoded) == MAX_PAYLOAD_CHARS
    assert decode_payload(encoded) == largest
    with pytest.raises(HashFormatError, match="more than the largest"):
        decode_payload(encoded + "AAAA")


def test_features_too_few_to_ever_match_are_refused() -> None:
    few = features_to_bytes(
        Features(
            np.zeros((5, 2), np.float32),
            np.zeros(5, np.int8),
            np.zeros(5, np.float32),
            np.zeros((5, 32), np.uint8),
            (1.0, 1.0),
            512,
        )
    )
    with pytest.raises(HashFormatError, match="5 features, fewer than the 12"):
        decode_payload(encode_payload(few))


def test_a_video_record_gives_a_vpdq_signal_carrying_its_frames(
    tmp_path: Path, photos: list[Path]
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(encode_video(pan_frames(photos[0], 20), fps=10))
    record = fingerprint_file(clip, FingerprintOptions()).to_record()
    signals, low = signals_of_record(record, 50)
    assert low == 0 and sorted(s.type for s in signals) == ["md5", "sha256", "vpdq"]
    vpdq = next(s for s in signals if s.type == "vpdq")
    assert vpdq.payload is not None and vpdq.value == hashlib.sha256(vpdq.payload).hexdigest()
    assert frames_from_payload(vpdq.payload) == [FrameHash.from_text(t) for t in record["vpdq"]]
    # The same frames written another way (spacing, letter case) are the same signal.
    loose = {"vpdq": [text.upper().replace(",", ", ") for text in record["vpdq"]]}
    assert signals_of_record(loose, 50)[0][0].value == vpdq.value


@pytest.mark.parametrize(
    ("vpdq", "reason"),
    [
        ("abc", "JSON list of frame strings"),
        ([1], "JSON list of frame strings"),
        (["abc"], "vpdq frame 0: a vPDQ frame is"),
        ([f"{'0' * 64},100,0.0", f"{'0' * 64},100,-2"], "vpdq frame 1: .*timestamp"),
    ],
)
def test_bad_vpdq_fields_are_refused_by_line(vpdq: object, reason: str) -> None:
    text = json.dumps({"md5": "a" * 32}) + "\n" + json.dumps({"vpdq": vpdq}) + "\n"
    with pytest.raises(ImportFileError) as caught:
        parse_hash_list(io.StringIO(text), "list.jsonl", 50)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("list.jsonl:2: ")
    assert re.search(reason, caught.value.problems[0])


def test_vpdq_payloads_from_the_api_are_checked_and_made_canonical() -> None:
    frames = [f"{'AB' * 32},90,0.0", f"{'0' * 64},100,1.0"]
    loose = base64.b64encode(json.dumps(frames, separators=(",", ":")).encode()).decode()
    payload = decode_payload(loose, "payload", "vpdq")
    assert payload == frames_payload([FrameHash.from_text(t) for t in frames])
    with pytest.raises(HashFormatError, match="payload: a vPDQ list is UTF-8 text"):
        decode_payload(base64.b64encode(b"\xff\xfe").decode(), "payload", "vpdq")
    with pytest.raises(HashFormatError, match=r"payload: .* more than the largest vpdq"):
        decode_payload("A" * (MAX_VPDQ_PAYLOAD_CHARS + 4), "payload", "vpdq")


def test_a_video_without_a_good_frame_is_counted_low_not_stored() -> None:
    flat = [f"{'0' * 64},10,{n}.0" for n in range(3)]  # a flat picture: quality 10
    signals, low = signals_of_record({"md5": "a" * 32, "vpdq": flat}, 50)
    assert [s.type for s in signals] == ["md5"] and low == 1


def test_a_video_record_with_regions_gives_a_video_regions_signal(
    tmp_path: Path, photos: list[Path]
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(encode_video(pan_frames(photos[0], 20), fps=10))
    plain = fingerprint_file(clip, FingerprintOptions()).to_record()
    assert "video_regions" not in plain  # asked for, as keypoints are
    result = fingerprint_file(clip, FingerprintOptions(keypoints=True))
    record = result.to_record()
    signals, low = signals_of_record(record, 50)
    assert low == 0
    assert sorted(s.type for s in signals) == ["md5", "sha256", "video_regions", "vpdq"]
    regions = next(s for s in signals if s.type == "video_regions")
    assert regions.payload == result.video_regions
    assert regions.value == hashlib.sha256(regions.payload).hexdigest()
    read = regions_from_payload(regions.payload)
    assert read.wholes() == [FrameHash.from_text(t) for t in record["vpdq"]]


def _poor_regions() -> str:
    codes = np.zeros((2, HASHES_PER_FRAME, 32), np.uint8)
    poor = VideoRegions(np.array([0.0, 1.0]), codes, np.full((2, HASHES_PER_FRAME), 10, np.uint8))
    return encode_payload(regions_payload(poor))


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        (12, "video_regions must be a base64 string"),
        ("not base64!", "video_regions: not standard base64"),
        (encode_payload(b"RVR\x01junk"), "video_regions: .* bytes where"),
        (encode_payload(b"RKF\x01" + b"\x00" * 12), "video_regions: not a regions payload"),
        ("__poor__", "video_regions: no frame reaches vPDQ's quality threshold"),
    ],
)
def test_bad_video_regions_fields_are_refused_by_line(field: object, reason: str) -> None:
    field = _poor_regions() if field == "__poor__" else field
    text = json.dumps({"md5": "a" * 32}) + "\n" + json.dumps({"video_regions": field}) + "\n"
    with pytest.raises(ImportFileError) as caught:
        parse_hash_list(io.StringIO(text), "list.jsonl", 50)
    [problem] = caught.value.problems
    assert problem.startswith("list.jsonl:2: ") and re.search(reason, problem), problem


def test_a_csv_with_a_video_regions_column_is_refused_and_the_limit_holds() -> None:
    text = "md5,video_regions\n" + "a" * 32 + ",AAAA\n"
    with pytest.raises(ImportFileError, match="CSV cannot carry video_regions"):
        parse_hash_list(io.StringIO(text), "x.csv", 50)
    with pytest.raises(HashFormatError, match=r"payload: .* more than the largest video_regions"):
        decode_payload("A" * (MAX_REGIONS_PAYLOAD_CHARS + 4), "payload", "video_regions")
