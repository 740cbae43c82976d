"""Matching over HTTP: fingerprints and uploads, visibility, records, bad input."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from reclaim.hashing.files import FingerprintOptions, fingerprint_bytes, fingerprint_file
from reclaim.hashing.keypoints import MIN_INLIERS
from reclaim.hashing.regions import regions_from_payload
from reclaim.hashing.video import frames_payload
from reclaim.store.audit import AuditRepository
from tests.api.conftest import Service
from tests.hashing.videos import encode_video, pan_frames, spliced_copy, zoomed


def _flip(code: str, bits: int) -> str:
    value = int(code, 16)
    for bit in range(bits):
        value ^= 1 << (bit * 7)
    return f"{value:064x}"


IDS: dict[str, int] = {}  # signal ids by value, as the service gave them


def _bank(
    service: Service, owner: str, name: str, values: list[str], **extra: object
) -> dict[str, str]:
    headers = service.key(owner, "bank:read", "bank:write", "match", "hash", kind="support_centre")
    assert (
        service.client.post("/v1/banks", json={"name": name, **extra}, headers=headers).status_code
        == 201
    )
    signals = [{"type": "pdq", "value": v, "quality": 100} for v in values]
    if not signals:
        return headers
    response = service.client.post(
        f"/v1/banks/{name}/signals", json={"signals": signals}, headers=headers
    )
    assert response.status_code == 201, response.text
    IDS.update({item["value"]: item["id"] for item in response.json()["signals"]})
    service.settle()
    return headers


def _match(
    service: Service, headers: dict[str, str], value: str, **extra: object
) -> dict[str, object]:
    body = {"signals": [{"type": "pdq", "value": value}], **extra}
    response = service.client.post("/v1/match", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_near_duplicates_match_within_the_threshold(service: Service) -> None:
    stored = secrets.token_hex(32)
    headers = _bank(service, "centre", "A", [stored])
    found = _match(service, headers, _flip(stored, 10))
    assert found["matches"] == [
        {
            "bank": "A",
            "bank_kind": "verified",
            "signal_id": IDS[stored],
            "type": "pdq",
            "distance": 10,
            "inliers": None,
            "query_percent": None,
            "target_percent": None,
        }
    ]
    assert found["suppressed"] is False
    assert _match(service, headers, _flip(stored, 10), threshold=9)["matches"] == []
    assert _match(service, headers, _flip(stored, 32))["matches"] == []


def test_an_organisation_matches_only_the_banks_it_sees(service: Service) -> None:
    stored = secrets.token_hex(32)
    _bank(service, "centre", "A", [stored])
    platform = service.key("platform", "match")
    assert _match(service, platform, stored)["matches"] == []
    named = service.client.post(
        "/v1/match",
        json={"signals": [{"type": "pdq", "value": stored}], "banks": ["A"]},
        headers=platform,
    )
    assert named.status_code == 404  # an unseen bank is as good as absent
    owner = service.key("centre", "bank:write", kind="support_centre")
    service.client.patch("/v1/banks/A", json={"shared_with": ["platform"]}, headers=owner)
    deadline = time.monotonic() + 2
    while not _match(service, platform, stored)["matches"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m["bank"] for m in _match(service, platform, stored)["matches"]] == ["A"]  # type: ignore[index]


def test_matches_are_recorded_for_the_asking_organisation_only(service: Service) -> None:
    stored = secrets.token_hex(32)
    platform = service.key("platform", "match")
    centre = _bank(service, "centre", "A", [stored], shared_with=["platform"])
    _match(service, platform, stored)
    _match(service, platform, secrets.token_hex(32))  # no match: nothing recorded
    service.client.app.state.service.recorder.flush()  # type: ignore[attr-defined]
    mine = service.client.get("/v1/matches", headers=platform).json()["items"]
    assert [(m["bank"], m["signal_id"], m["distance"]) for m in mine] == [("A", IDS[stored], 0)]
    assert service.client.get("/v1/matches", headers=centre).json()["items"] == []


def test_withdrawn_signals_stop_matching_within_a_second(service: Service) -> None:
    stored = secrets.token_hex(32)
    headers = _bank(service, "centre", "A", [stored])
    assert _match(service, headers, stored)["matches"]
    assert (
        service.client.post(
            f"/v1/banks/A/signals/{IDS[stored]}/withdraw", headers=headers
        ).status_code
        == 200
    )
    withdrawn_at = time.monotonic()
    while _match(service, headers, stored)["matches"]:
        assert time.monotonic() - withdrawn_at < 1.0, "still matching a second after withdrawal"
        time.sleep(0.02)


def test_an_uploaded_photo_matches_and_is_fingerprinted_like_the_cli(
    service: Service, photos: list[Path]
) -> None:
    photo = photos[0]
    expected = fingerprint_file(photo, FingerprintOptions())
    assert expected.pdq is not None
    headers = _bank(service, "centre", "A", [expected.pdq])
    with photo.open("rb") as handle:
        response = service.client.post(
            "/v1/match", files={"file": (photo.name, handle, "image/jpeg")}, headers=headers
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["matches"][0]["distance"] == 0
    assert body["fingerprint"]["pdq"] == expected.pdq
    assert body["fingerprint"]["sha256"] == expected.sha256
    with photo.open("rb") as handle:
        hashed = service.client.post(
            "/v1/hash", files={"file": (photo.name, handle)}, headers=headers
        )
    assert hashed.status_code == 200
    assert hashed.json()["pdq"] == expected.pdq
    assert hashed.json()["source"] == photo.name


def test_an_uploaded_video_is_fingerprinted_like_the_cli(
    service: Service, photos: list[Path], tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(encode_video(pan_frames(photos[0], 20), fps=10))
    expected = fingerprint_file(clip, FingerprintOptions())
    headers = _bank(service, "centre", "A", ["0" * 64])
    with clip.open("rb") as handle:
        hashed = service.client.post(
            "/v1/hash", files={"file": ("clip.mp4", handle)}, headers=headers
        )
    assert hashed.status_code == 200, hashed.text
    body = hashed.json()
    assert body["kind"] == "video" and body["pdq"] is None
    assert expected.vpdq is not None
    assert body["vpdq"] == [frame.to_text() for frame in expected.vpdq]
    assert (body["duration"], body["frame_count"], body["codec"]) == (2.0, 20, "h264")
    assert body["md5"] == expected.md5
    # Sampled more densely on request (to register, as reclaim bank add does).
    dense = service.client.post(
        "/v1/hash",
        files={"file": ("clip.mp4", clip.read_bytes())},
        data={"seconds_per_hash": "0.5"},
        headers=headers,
    )
    assert [t.split(",")[2] for t in dense.json()["vpdq"]] == ["0.0", "0.5", "1.0", "1.5"]
    for bad in ("0", "abc", "nan", "1e9"):
        refused = service.client.post(
            "/v1/hash",
            files={"file": ("clip.mp4", clip.read_bytes())},
            data={"seconds_per_hash": bad},
            headers=headers,
        )
        assert refused.status_code == 422, bad
        assert "'seconds_per_hash' must be a number of seconds" in refused.text


def test_an_uploaded_clip_matches_a_video_registered_through_the_api(
    service: Service, photos: list[Path]
) -> None:
    headers = _bank(service, "centre", "A", [])
    frames = pan_frames(photos[0], 40)
    registered = fingerprint_bytes(encode_video(frames), "original.mp4", FingerprintOptions())
    assert registered.vpdq is not None
    payload = base64.b64encode(frames_payload(registered.vpdq)).decode()
    digest = hashlib.sha256(base64.b64decode(payload)).hexdigest()
    refused = service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{"type": "vpdq", "value": "0" * 64, "payload": payload}]},
        headers=headers,
    )
    assert refused.json()["added"] == 0
    assert "SHA-256 of its payload" in refused.json()["errors"][0]["message"]
    added = service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{"type": "vpdq", "value": digest, "payload": payload}]},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    service.settle()
    clip = encode_video(frames[10:30], codec="libvpx-vp9", container="webm")
    response = service.client.post(
        "/v1/match", files={"file": ("clip.webm", clip)}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fingerprint"]["kind"] == "video"
    [match] = body["matches"]
    assert match["type"] == "vpdq" and match["query_percent"] == 100.0
    assert match["target_percent"] == 50.0


def test_an_edited_upload_matches_by_local_features_registered_through_the_api(
    service: Service, photos: list[Path]
) -> None:
    headers = _bank(service, "centre", "A", [])
    with photos[0].open("rb") as handle:
        hashed = service.client.post(
            "/v1/hash", files={"file": ("a.jpg", handle)}, data={"keypoints": "true"},
            headers=headers,
        )  # fmt: skip
    assert hashed.status_code == 200, hashed.text
    payload = hashed.json()["keypoints"]
    digest = hashlib.sha256(base64.b64decode(payload)).hexdigest()
    added = service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{"type": "keypoints", "value": digest, "payload": payload}]},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    service.settle()
    buffer = io.BytesIO()
    with Image.open(photos[0]) as image:
        edited = image.convert("RGB").crop((image.width // 5, 0, image.width, image.height))
        edited.rotate(-8, expand=True).save(buffer, "JPEG", quality=75)

    def upload(**fields: str) -> dict[str, object]:
        response = service.client.post(
            "/v1/match", files={"file": ("copy.jpg", buffer.getvalue())}, data=fields,
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    [match] = upload()["matches"]  # type: ignore[misc]
    assert match["type"] == "keypoints" and match["inliers"] >= MIN_INLIERS
    assert upload(plain="true")["matches"] == []
    refused = service.client.post(
        "/v1/match", files={"file": ("copy.jpg", buffer.getvalue())}, data={"plain": "maybe"},
        headers=headers,
    )  # fmt: skip
    assert refused.status_code == 422 and "'plain' must be true or false" in refused.text


def test_uploads_that_are_not_images_are_refused_with_the_reason(service: Service) -> None:
    headers = service.key("centre", "hash", "match", kind="support_centre")
    text = service.client.post("/v1/hash", files={"file": ("notes.txt", b"hello")}, headers=headers)
    assert text.status_code == 415
    assert text.json()["error"]["message"].startswith("notes.txt: ")
    empty = service.client.post("/v1/hash", files={"file": ("e.jpg", b"")}, headers=headers)
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "empty_file"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "JPEG")
    truncated = buffer.getvalue()[:200]
    corrupt = service.client.post("/v1/hash", files={"file": ("c.jpg", truncated)}, headers=headers)
    assert corrupt.status_code in (415, 422)
    missing = service.client.post("/v1/match", files={"other": ("x", b"1")}, headers=headers)
    assert missing.status_code == 422
    assert "'file'" in missing.json()["error"]["message"]


def test_oversized_bodies_are_413_before_being_read(make_service: object) -> None:
    service = make_service(max_file_bytes=10_000, max_request_bytes=2048)  # type: ignore[operator]
    headers = service.key("centre", "hash", "match", kind="support_centre")
    big = service.client.post(
        "/v1/hash", files={"file": ("big.jpg", b"\xff" * 200_000)}, headers=headers
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "request_too_large"
    over = service.client.post(
        "/v1/hash", files={"file": ("big.jpg", b"\xff" * 20_000)}, headers=headers
    )
    assert over.status_code == 413  # within the form allowance, over the file limit
    body = {"signals": [{"type": "md5", "value": "a" * 32}] * 40}
    assert service.client.post("/v1/match", json=body, headers=headers).status_code == 413


def test_malformed_requests_are_4xx_naming_the_problem(service: Service) -> None:
    headers = service.key("centre", "match", kind="support_centre")
    cases = [
        (b"{not json", "application/json", 400),
        (b'{"signals": []}', "application/json", 422),
        (b'{"signals": [{"type": "pdq", "value": "xyz"}]}', "application/json", 422),
        (b'{"signals": [{"type": "tmk", "value": "00"}]}', "application/json", 422),
        (b"signals=1", "application/x-www-form-urlencoded", 400),
        (b"\xff\xfe", "application/json", 400),
    ]
    for content, content_type, status in cases:
        response = service.client.post(
            "/v1/match", content=content, headers={**headers, "Content-Type": content_type}
        )
        assert response.status_code == status, (content, response.text)
        assert response.json()["error"]["message"], content


def test_a_batch_answers_each_signal_and_names_bad_ones(service: Service) -> None:
    stored = secrets.token_hex(32)
    headers = _bank(service, "centre", "A", [stored])
    body = {"signals": [
        {"type": "pdq", "value": stored},
        {"type": "pdq", "value": "nothex" * 8},
        {"type": "pdq", "value": secrets.token_hex(32)},
    ]}  # fmt: skip
    results = service.client.post("/v1/match/batch", json=body, headers=headers).json()["results"]
    assert [len(r["matches"]) for r in results] == [1, 0, 0]
    assert results[1]["error"]["code"] == "invalid_hash"
    assert results[0]["error"] is None
    too_many = {"signals": [{"type": "md5", "value": "a" * 32}] * 1001}
    response = service.client.post("/v1/match/batch", json=too_many, headers=headers)
    assert response.status_code in (413, 422)


def test_another_organisations_negative_bank_cannot_hide_matches(service: Service) -> None:
    stored = secrets.token_hex(32)
    platform = service.key("platform", "match")
    _bank(service, "centre", "SURV", [stored], shared_with=["platform"])
    assert _match(service, platform, stored)["matches"]
    rival = service.key("rival", "bank:read", "bank:write", kind="support_centre")
    service.client.post(
        "/v1/banks",
        json={"name": "BENIGN", "kind": "negative", "shared_with": ["platform"]},
        headers=rival,
    )
    service.client.post(
        "/v1/banks/BENIGN/signals",
        json={"signals": [{"type": "pdq", "value": stored}]},
        headers=rival,
    )
    service.settle()
    found = _match(service, platform, stored)
    assert found["suppressed"] is False
    assert {m["bank"] for m in found["matches"]} == {"SURV", "BENIGN"}  # type: ignore[union-attr]
    # The platform's own negative bank does suppress, for the platform alone.
    own = service.key("platform", "bank:write")
    service.client.post("/v1/banks", json={"name": "MINE", "kind": "negative"}, headers=own)
    service.client.post(
        "/v1/banks/MINE/signals", json={"signals": [{"type": "pdq", "value": stored}]}, headers=own
    )
    service.settle()
    mine = _match(service, platform, stored)
    assert (mine["matches"], mine["suppressed"]) == ([], True)
    centre = service.key("centre", "match", kind="support_centre")
    assert _match(service, centre, stored)["suppressed"] is False


def test_an_empty_bank_list_is_refused_not_read_as_every_bank(service: Service) -> None:
    headers = service.key("centre", "match", kind="support_centre")
    body = {"signals": [{"type": "md5", "value": "a" * 32}], "banks": []}
    assert service.client.post("/v1/match", json=body, headers=headers).status_code == 422
    assert service.client.post("/v1/match/batch", json=body, headers=headers).status_code == 422


def test_a_file_that_is_not_an_image_still_matches_by_exact_hash(service: Service) -> None:
    data = b"\x00\x00\x00\x18ftypmp42 not really a video" * 10
    md5 = hashlib.md5(data).hexdigest()
    headers = service.key("centre", "bank:read", "bank:write", "match", kind="support_centre")
    service.client.post("/v1/banks", json={"name": "V"}, headers=headers)
    service.client.post(
        "/v1/banks/V/signals", json={"signals": [{"type": "md5", "value": md5}]}, headers=headers
    )
    service.settle()
    response = service.client.post("/v1/match", files={"file": ("v.mp4", data)}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(m["bank"], m["type"]) for m in body["matches"]] == [("V", "md5")]
    assert body["fingerprint"]["error"]["code"] in ("unsupported_format", "corrupt")
    assert body["fingerprint"]["pdq"] is None


def test_match_reads_are_audited(service: Service) -> None:
    headers = service.key("centre", "match", kind="support_centre")
    service.client.get("/v1/matches", headers=headers)
    with service.store.read() as session:
        actions = [e.action for e in AuditRepository(session).audit_iter()]
    assert actions[-1] == "matches.read"


def test_uploads_are_refused_without_a_key_and_json_routes_take_no_uploads(
    make_service: object,
) -> None:
    service = make_service(max_file_bytes=100_000, max_request_bytes=2048)  # type: ignore[operator]
    upload = {"file": ("big.jpg", b"\xff" * 50_000)}
    assert service.client.post("/v1/hash", files=upload).status_code == 401
    headers = service.key("centre", "bank:read", "bank:write", kind="support_centre")
    # A multipart body is only allowed the upload limit where files are uploaded.
    response = service.client.post("/v1/banks", files=upload, headers=headers)
    assert response.status_code == 413


def test_two_content_types_are_refused(service: Service) -> None:
    headers = service.key("centre", "match", kind="support_centre")
    response = service.client.post(
        "/v1/match",
        content=b'{"signals": [{"type": "md5", "value": "' + b"a" * 32 + b'"}]}',
        headers=[
            ("Authorization", headers["Authorization"]),
            ("Content-Type", "application/json"),
            ("Content-Type", "multipart/form-data; boundary=x"),
        ],
    )
    assert response.status_code == 400
    assert "more than one Content-Type" in response.json()["error"]["message"]


def test_a_chunked_body_over_the_limit_is_413_naming_the_limit(make_service: object) -> None:
    service = make_service(max_request_bytes=2048)  # type: ignore[operator]
    headers = service.key("centre", "match", kind="support_centre")

    def chunks() -> Iterator[bytes]:
        yield b'{"signals": ['
        for _ in range(200):
            yield b'{"type": "md5", "value": "' + b"a" * 32 + b'"},'
        yield b"]}"

    for path in ("/v1/match", "/v1/match/batch"):
        response = service.client.post(
            path, content=chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 413, (path, response.text)
        assert "2048 bytes" in response.json()["error"]["message"]


def test_guessing_at_a_key_is_rate_limited_before_it_is_checked(make_service: object) -> None:
    service = make_service(rate_limit_per_second=0.1, rate_limit_burst=2)  # type: ignore[operator]
    real = service.key("centre", "match", kind="support_centre")["Authorization"]
    prefix = real.split("_")[1]
    codes = []
    for attempt in range(4):
        guess = f"Bearer rk_{prefix}_{secrets.token_urlsafe(32)}{attempt}"
        codes.append(service.client.get("/v1/me", headers={"Authorization": guess}).status_code)
    assert codes == [401, 401, 429, 429]


def test_an_uploaded_spliced_copy_is_matched_at_a_second_look(
    service: Service, photos: list[Path]
) -> None:
    headers = _bank(service, "centre", "A", [])
    frames = pan_frames(photos[0], 60)
    options = FingerprintOptions(seconds_per_hash=0.25)  # as bank add registers
    registered = fingerprint_bytes(encode_video(frames), "original.mp4", options)
    assert registered.vpdq is not None
    payload = frames_payload(registered.vpdq)
    added = service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{
            "type": "vpdq",
            "value": hashlib.sha256(payload).hexdigest(),
            "payload": base64.b64encode(payload).decode(),
        }]},
        headers=headers,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    service.settle()
    copy = spliced_copy(frames, pan_frames(photos[3], 5))
    response = service.client.post("/v1/match", files={"file": ("copy.mp4", copy)}, headers=headers)
    assert response.status_code == 200, response.text
    [match] = response.json()["matches"]
    # Looked at again a frame every 0.25 s: 3 of its 30 frames are the insert's.
    assert match["type"] == "vpdq" and match["query_percent"] == 90.0


def test_a_cropped_upload_matches_region_hashes_registered_through_the_api(
    service: Service, photos: list[Path]
) -> None:
    headers = _bank(service, "centre", "A", [])
    frames = pan_frames(photos[0], 60, (480, 270))
    hashed = service.client.post(
        "/v1/hash",
        files={"file": ("original.mp4", encode_video(frames))},
        data={"keypoints": "true", "seconds_per_hash": "0.25"},  # as bank add registers
        headers=headers,
    ).json()
    payload = base64.b64decode(hashed["video_regions"])
    assert len(regions_from_payload(payload)) == len(hashed["vpdq"]) == 30  # 1 frame in 2
    digest = hashlib.sha256(payload).hexdigest()
    for value, added in (("0" * 64, 0), (digest, 1)):
        response = service.client.post(
            "/v1/banks/A/signals",
            json={"signals": [{
                "type": "video_regions", "value": value, "payload": hashed["video_regions"],
            }]},
            headers=headers,
        )  # fmt: skip
        assert response.json()["added"] == added, response.text
    service.settle()
    copy = encode_video(zoomed(frames))
    response = service.client.post("/v1/match", files={"file": ("copy.mp4", copy)}, headers=headers)
    assert response.status_code == 200, response.text
    [match] = response.json()["matches"]
    assert match["type"] == "video_regions" and match["query_percent"] == 100.0
    exported = service.client.get("/v1/banks/A/export?since=0", headers=headers).json()
    [record] = exported["items"]
    assert record["type"] == "video_regions" and record["payload"] == hashed["video_regions"]
