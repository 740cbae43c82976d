"""Banks over HTTP: ownership and sharing, signals, withdrawals, partners' exports, audit."""

from __future__ import annotations

import secrets

from reclaim.hashlists import encode_payload
from reclaim.store import payload_digest
from reclaim.store.audit import AuditRepository
from tests.api.conftest import Service
from tests.conftest import photo_features, random_features

WRITE = ("bank:read", "bank:write")


def _pdq() -> str:
    return secrets.token_hex(32)


def test_a_bank_belongs_to_its_creator_and_is_hidden_from_others(service: Service) -> None:
    centre = service.key("centre", *WRITE, kind="support_centre")
    platform = service.key("platform", *WRITE)
    created = service.client.post(
        "/v1/banks", json={"name": "SURV", "kind": "survivor"}, headers=centre
    )
    assert created.status_code == 201
    assert created.json()["owner"] == "centre"
    assert [
        b["name"] for b in service.client.get("/v1/banks", headers=platform).json()["items"]
    ] == []
    hidden = service.client.get("/v1/banks/SURV", headers=platform)
    assert hidden.status_code == 404
    assert hidden.json()["error"] == {"code": "unknown_bank", "message": "no bank named 'SURV'"}


def test_a_shared_bank_can_be_read_but_only_changed_by_its_owner(service: Service) -> None:
    centre = service.key("centre", *WRITE, kind="support_centre")
    platform = service.key("platform", *WRITE)
    service.client.post("/v1/banks", json={"name": "SURV"}, headers=centre)
    shared = service.client.patch(
        "/v1/banks/SURV", json={"shared_with": ["platform"]}, headers=centre
    )
    assert shared.status_code == 200
    assert shared.json()["shared_with"] == ["platform"]
    assert service.client.get("/v1/banks/SURV", headers=platform).status_code == 200
    refused = service.client.patch("/v1/banks/SURV", json={"enabled": False}, headers=platform)
    assert refused.status_code == 403
    add = service.client.post(
        "/v1/banks/SURV/signals",
        json={"signals": [{"type": "md5", "value": "a" * 32}]},
        headers=platform,
    )
    assert add.status_code == 403


def test_sharing_with_an_unknown_organisation_is_404(service: Service) -> None:
    centre = service.key("centre", *WRITE, kind="support_centre")
    response = service.client.post(
        "/v1/banks", json={"name": "SURV", "shared_with": ["nobody"]}, headers=centre
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_organisation"
    assert service.client.get("/v1/banks/SURV", headers=centre).status_code == 404  # not half-made


def test_duplicate_names_and_bad_names_are_refused(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    assert service.client.post("/v1/banks", json={"name": "A"}, headers=headers).status_code == 201
    again = service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    assert again.status_code == 409
    bad = service.client.post("/v1/banks", json={"name": "no spaces"}, headers=headers)
    assert bad.status_code == 422
    assert "name" in bad.json()["error"]["message"]
    extra = service.client.post("/v1/banks", json={"name": "B", "colour": "red"}, headers=headers)
    assert extra.status_code == 422


def test_adding_signals_reports_bad_items_by_index_and_stores_the_rest(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    good = _pdq()
    body = {"signals": [
        {"type": "pdq", "value": good, "quality": 90},
        {"type": "pdq", "value": "zz"},
        {"type": "pdq", "value": _pdq(), "quality": 10},
        {"type": "md5", "value": "A" * 32},
    ]}  # fmt: skip
    response = service.client.post("/v1/banks/A/signals", json=body, headers=headers)
    assert response.status_code == 201
    report = response.json()
    assert report["added"] == 2
    assert [e["index"] for e in report["errors"]] == [1, 2]
    assert report["errors"][0]["code"] == "invalid_hash"
    assert "quality 10" in report["errors"][1]["message"]
    assert {s["value"] for s in report["signals"]} == {good, "a" * 32}
    again = service.client.post("/v1/banks/A/signals", json=body, headers=headers).json()
    assert (again["added"], again["duplicates"]) == (0, 2)
    counts = service.client.get("/v1/banks/A", headers=headers).json()["signals"]
    assert counts == {"pdq": {"active": 1}, "md5": {"active": 1}}


def test_signals_are_paged_in_id_order(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    values = [_pdq() for _ in range(5)]
    service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{"type": "pdq", "value": v} for v in values]},
        headers=headers,
    )
    seen: list[str] = []
    after = 0
    for _ in range(4):
        page = service.client.get(f"/v1/banks/A/signals?after={after}&limit=2", headers=headers)
        body = page.json()
        seen.extend(item["value"] for item in body["items"])
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert seen == values


def test_withdrawal_shows_in_the_partner_export_in_change_order(service: Service) -> None:
    centre = service.key("centre", *WRITE, kind="support_centre")
    partner = service.key("partner", "bank:read")
    service.client.post("/v1/banks", json={"name": "A", "shared_with": ["partner"]}, headers=centre)
    values = [_pdq() for _ in range(3)]
    added = service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{"type": "pdq", "value": v} for v in values]},
        headers=centre,
    ).json()["signals"]
    first = service.client.get("/v1/banks/A/export?since=0", headers=partner).json()
    assert [r["value"] for r in first["items"]] == values
    assert first["more"] is False
    since = first["next_since"]
    withdrawn = service.client.post(
        f"/v1/banks/A/signals/{added[1]['id']}/withdraw", headers=centre
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    later = service.client.get(f"/v1/banks/A/export?since={since}", headers=partner).json()
    assert [(r["value"], r["status"]) for r in later["items"]] == [(values[1], "withdrawn")]
    assert later["next_since"] > since
    paged = service.client.get("/v1/banks/A/export?since=0&limit=2", headers=partner).json()
    assert len(paged["items"]) == 2 and paged["more"] is True


def test_withdrawing_an_unknown_signal_is_404(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    response = service.client.post("/v1/banks/A/signals/999/withdraw", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_signal"


def test_every_write_and_case_data_read_is_audited(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{"type": "md5", "value": "b" * 32}]},
        headers=headers,
    )
    service.client.get("/v1/banks/A/signals", headers=headers)
    service.client.get("/v1/banks/A/export", headers=headers)
    with service.store.read() as session:
        events = list(AuditRepository(session).audit_iter())
        report = AuditRepository(session).audit_verify()
    actions = [e.action for e in events]
    assert actions[-4:] == ["bank.create", "signals.add", "signals.read", "bank.export"]
    assert all(e.actor.endswith("@centre") for e in events[-4:])
    assert report.ok and report.rows == len(events)


def test_only_support_centres_and_operators_share_banks(service: Service) -> None:
    service.key("other", "match")
    platform = service.key("platform", *WRITE)
    refused = service.client.post(
        "/v1/banks", json={"name": "P", "shared_with": ["other"]}, headers=platform
    )
    assert refused.status_code == 403
    assert "support centres" in refused.json()["error"]["message"]
    assert service.client.post("/v1/banks", json={"name": "P"}, headers=platform).status_code == 201
    operator = service.key("ops", "admin", kind="admin")
    shared = service.client.patch("/v1/banks/P", json={"shared_with": ["other"]}, headers=operator)
    assert shared.status_code == 200


def test_recipients_see_neither_sources_nor_the_other_recipients(service: Service) -> None:
    centre = service.key("centre", *WRITE, kind="support_centre")
    service.key("second", "bank:read")
    partner = service.key("partner", "bank:read")
    service.client.post(
        "/v1/banks", json={"name": "A", "shared_with": ["partner", "second"]}, headers=centre
    )
    item = {"type": "md5", "value": "c" * 32, "source": "/cases/031/IMG_0001.jpg"}
    service.client.post("/v1/banks/A/signals", json={"signals": [item]}, headers=centre)
    own = service.client.get("/v1/banks/A/signals", headers=centre).json()["items"]
    seen = service.client.get("/v1/banks/A/signals", headers=partner).json()["items"]
    assert own[0]["source"] == "/cases/031/IMG_0001.jpg"
    assert seen[0]["source"] is None and seen[0]["value"] == "c" * 32
    assert service.client.get("/v1/banks/A", headers=centre).json()["shared_with"] == [
        "partner",
        "second",
    ]
    assert service.client.get("/v1/banks/A", headers=partner).json()["shared_with"] == []


def test_withdrawing_twice_changes_nothing_the_second_time(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    added = service.client.post(
        "/v1/banks/A/signals",
        json={"signals": [{"type": "md5", "value": "d" * 32}]},
        headers=headers,
    ).json()["signals"][0]["id"]
    first = service.client.post(f"/v1/banks/A/signals/{added}/withdraw", headers=headers).json()
    second = service.client.post(f"/v1/banks/A/signals/{added}/withdraw", headers=headers).json()
    assert first["seq"] == second["seq"] and second["status"] == "withdrawn"
    changes = service.client.get("/v1/banks/A/export", headers=headers).json()["items"]
    assert [c["status"] for c in changes] == ["withdrawn"]


def test_text_the_database_cannot_hold_is_422_not_500(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    cases = [
        ("post", "/v1/banks", {"name": "A", "description": "a\x00b"}),
        ("post", "/v1/banks", {"name": "B", "shared_with": ["x\x00y"]}),
        ("get", "/v1/banks/a%00b", None),
        ("get", "/v1/banks/a%00b/signals", None),
    ]
    for method, path, body in cases:
        response = service.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (path, body, response.text)
    service.client.post("/v1/banks", json={"name": "C"}, headers=headers)
    item = {"type": "md5", "value": "e" * 32, "source": "x\x00y"}
    response = service.client.post("/v1/banks/C/signals", json={"signals": [item]}, headers=headers)
    assert response.status_code == 422


def _keypoints_item(payload: bytes) -> dict[str, str]:
    return {
        "type": "keypoints",
        "value": payload_digest(payload),
        "payload": encode_payload(payload),
    }


def test_keypoints_are_added_with_their_payload_and_exported_with_it(service: Service) -> None:
    centre = service.key("centre", *WRITE, kind="support_centre")
    partner = service.key("partner", "bank:read")
    service.client.post("/v1/banks", json={"name": "A", "shared_with": ["partner"]}, headers=centre)
    payload = photo_features()
    body = {"signals": [
        _keypoints_item(payload),
        {"type": "keypoints", "value": payload_digest(payload)},
        {**_keypoints_item(payload), "value": "0" * 64},
        {"type": "md5", "value": "a" * 32, "payload": encode_payload(payload)},
    ]}  # fmt: skip
    response = service.client.post("/v1/banks/A/signals", json=body, headers=centre)
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["added"] == 1 and [e["index"] for e in report["errors"]] == [1, 2, 3]
    assert report["signals"] == [
        {"type": "keypoints", "value": payload_digest(payload), "id": report["signals"][0]["id"]}
    ]
    exported = service.client.get("/v1/banks/A/export", headers=partner).json()["items"]
    assert [(r["type"], r["value"], r["payload"]) for r in exported] == [
        ("keypoints", payload_digest(payload), encode_payload(payload))
    ]
    counts = service.client.get("/v1/banks/A", headers=centre).json()["signals"]
    assert counts == {"keypoints": {"active": 1}}


def test_a_hundred_keypoints_items_fit_in_one_request(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    items = [_keypoints_item(random_features(seed)) for seed in range(100)]
    assert all(len(item["payload"]) > 12_000 for item in items)  # what 256 features take
    response = service.client.post("/v1/banks/A/signals", json={"signals": items}, headers=headers)
    assert response.status_code == 201, response.text[:500]
    assert response.json()["added"] == 100
    exported = service.client.get("/v1/banks/A/export", headers=headers).json()["items"]
    assert [r["payload"] for r in exported] == [item["payload"] for item in items]


def test_more_keypoints_than_the_body_limit_takes_is_413(service: Service) -> None:
    headers = service.key("centre", *WRITE, kind="support_centre")
    service.client.post("/v1/banks", json={"name": "A"}, headers=headers)
    item = _keypoints_item(random_features(1))
    limit = service.settings.max_request_bytes
    count = limit // len(item["payload"]) + 1
    response = service.client.post(
        "/v1/banks/A/signals", json={"signals": [item] * count}, headers=headers
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        f"the request body is larger than the limit of {limit} bytes"
    )
