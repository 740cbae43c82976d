"""Cases over the API: support centres file and follow cases for survivors; platforms report
what they did about matches, and a withdrawal stops matching within a second."""

from __future__ import annotations

import secrets
import time
from typing import Any

from tests.api.conftest import Service

CENTRE_SCOPES = ("cases", "bank:read")


def _filed(service: Service, headers: dict[str, str], *values: str, **extra: Any) -> Any:
    body = {
        "signals": [{"type": "pdq", "value": v, "quality": 90} for v in values],
        "representative": "caseworker 12",
        "consent": "signed form, ref 2026-114",
        **extra,
    }
    return service.client.post("/v1/cases", json=body, headers=headers)


def _share_survivor_bank(service: Service, *organisations: str) -> None:
    operator = service.key("operators", "admin", kind="admin")
    shared = service.client.patch(
        "/v1/banks/survivor-submissions", json={"shared_with": list(organisations)},
        headers=operator,
    )  # fmt: skip
    assert shared.status_code == 200, shared.text


def _matches(service: Service, headers: dict[str, str], value: str) -> list[Any]:
    answer = service.client.post("/v1/match", json={"signals": [{"type": "pdq", "value": value}]},
                                 headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()["matches"]
    return found


def test_a_support_centre_files_a_case_and_follows_it(service: Service) -> None:
    centre = service.key("centre", *CENTRE_SCOPES, kind="support_centre")
    value = secrets.token_hex(32)
    filed = _filed(service, centre, value, "zz", contact="+82 10 0000 0000")
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["number"].startswith("RC-") and len(body["pin"]) == 8
    assert body["added"] == 1 and [e["index"] for e in body["errors"]] == [1]
    case = service.client.get(f"/v1/cases/{body['number']}", headers=centre).json()
    assert (case["status"], case["signals"], case["representative"]) == (
        "active", {"pdq": {"active": 1}}, "centre",
    )  # fmt: skip
    assert (case["filed_by"], case["consent"]) == ("caseworker 12", "signed form, ref 2026-114")
    assert case["consent_at"] is not None
    assert case["contact"] is None
    with_contact = service.client.get(f"/v1/cases/{body['number']}?contact=true", headers=centre)
    assert with_contact.json()["contact"] == "+82 10 0000 0000"


def test_only_support_centres_with_the_scope_file_cases(service: Service) -> None:
    platform = service.key("platform", "cases")
    assert _filed(service, platform, secrets.token_hex(32)).status_code == 403
    unscoped = service.key("centre", "bank:read", kind="support_centre")
    assert _filed(service, unscoped, secrets.token_hex(32)).status_code == 403
    centre = service.key("centre", *CENTRE_SCOPES, kind="support_centre")
    missing = service.client.post(
        "/v1/cases", json={"signals": [{"type": "pdq", "value": "0" * 64}]}, headers=centre
    )
    assert missing.status_code == 422
    assert "representative" in missing.json()["error"]["message"]


def test_another_centres_case_reads_as_unknown(service: Service) -> None:
    centre = service.key("centre", *CENTRE_SCOPES, kind="support_centre")
    other = service.key("other", *CENTRE_SCOPES, kind="support_centre")
    number = _filed(service, centre, secrets.token_hex(32)).json()["number"]
    for path in (f"/v1/cases/{number}", "/v1/cases/RC-0000-0000-0000"):
        refused = service.client.get(path, headers=other)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "unknown_case"
    assert service.client.post(f"/v1/cases/{number}/withdraw", headers=other).status_code == 404


def test_a_withdrawn_case_stops_matching_within_a_second_and_partners_see_it(
    service: Service,
) -> None:
    centre = service.key("centre", *CENTRE_SCOPES, kind="support_centre")
    platform = service.key("platform", "match", "bank:read")
    value = secrets.token_hex(32)
    number = _filed(service, centre, value).json()["number"]
    _share_survivor_bank(service, "platform")
    service.settle()
    assert [(m["bank"], m["bank_kind"]) for m in _matches(service, platform, value)] == [
        ("survivor-submissions", "survivor")
    ]
    since = service.client.get(
        "/v1/banks/survivor-submissions/export?since=0", headers=platform
    ).json()["next_since"]

    withdrawn = service.client.post(f"/v1/cases/{number}/withdraw", headers=centre)
    started = time.monotonic()
    assert withdrawn.json() == {"number": number, "status": "withdrawn", "withdrawn": 1}
    while _matches(service, platform, value):
        assert time.monotonic() - started < 1.0, "still matching a second after withdrawal"
        time.sleep(0.02)
    later = service.client.get(
        f"/v1/banks/survivor-submissions/export?since={since}", headers=platform
    ).json()["items"]
    assert [(r["value"], r["status"]) for r in later] == [(value, "withdrawn")]
    case = service.client.get(f"/v1/cases/{number}", headers=centre).json()
    assert case["status"] == "withdrawn" and case["withdrawn_at"] is not None


def test_platforms_report_removals_and_the_case_counts_them(service: Service) -> None:
    centre = service.key("centre", *CENTRE_SCOPES, kind="support_centre")
    platform = service.key("platform", "match")
    other = service.key("other", "match")
    value = secrets.token_hex(32)
    number = _filed(service, centre, value).json()["number"]
    _share_survivor_bank(service, "platform")
    service.settle()
    assert _matches(service, platform, value)
    service.client.app.state.service.recorder.flush()  # type: ignore[attr-defined]
    record = service.client.get("/v1/matches", headers=platform).json()["items"][0]
    assert record["outcome"] is None

    path = f"/v1/matches/{record['id']}/outcome"
    assert service.client.post(path, json={"outcome": "removed"}, headers=other).status_code == 404
    assert service.client.post(path, json={"outcome": "gone"}, headers=platform).status_code == 422
    reported = service.client.post(path, json={"outcome": "removed"}, headers=platform)
    assert reported.status_code == 200, reported.text
    assert reported.json()["outcome"] == "removed" and reported.json()["outcome_at"]
    case = service.client.get(f"/v1/cases/{number}", headers=centre).json()
    assert (case["matches"], case["platforms"], case["removals"]) == (1, 1, 1)


def test_a_case_of_images_taken_under_18_matches_as_the_minor_bank(service: Service) -> None:
    centre = service.key("centre", *CENTRE_SCOPES, kind="support_centre")
    operator = service.key("operators", "admin", kind="admin")
    value = secrets.token_hex(32)
    assert _filed(service, centre, value, minor=True).json()["minor"] is True
    service.settle()
    assert [(m["bank"], m["bank_kind"]) for m in _matches(service, operator, value)] == [
        ("survivor-minors", "minor")
    ]
