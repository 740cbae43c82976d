"""The whole survivor flow in headless Chromium against a real service: choose photos and a
video, fingerprint them in the page, send, save the case number and PIN, open the case,
withdraw it — while every request the browser makes is recorded, to prove that no byte
of a chosen file left the page and that no other host was contacted."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, Request

from reclaim.hashing.files import FingerprintOptions, fingerprint_file
from reclaim.hashing.keypoints import features_from_bytes, hamming_matrix
from reclaim.keys import issue_key
from reclaim.settings import Settings
from reclaim.store import Store
from tests.hashing.videos import encode_video, pan_frames
from tests.web.live import Live, running

PHOTOS = ("astronaut.jpg", "coffee.jpg", "brick.jpg", "wikimedia03.jpg", "camera.png")
EXTRA = Path(__file__).resolve().parents[2] / "samples" / "photos" / "moon.jpg"
WINDOW = 1024


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'portal.db'}", index_dir=str(tmp_path / "index"),
        environment="test", rate_limit_per_second=0,
    )  # fmt: skip
    with running(settings) as serving:
        yield serving


@pytest.fixture
def chosen(tmp_path: Path, photos: list[Path]) -> list[Path]:
    """The files the survivor picks: photos and a short video."""
    by_name = {p.name: p for p in photos}
    video = tmp_path / "clip.mp4"
    video.write_bytes(encode_video(pan_frames(by_name["rocket.jpg"], 20), fps=10))
    return [by_name[name] for name in PHOTOS] + [video]


def _header_text(request: Request, answered: bool) -> bytes:
    found = request.all_headers() if answered else request.headers
    return "\n".join(f"{k}: {v}" for k, v in found.items()).encode()


def carries_a_window_of(body: bytes, content: bytes) -> bool:
    """Whether ``body`` holds any ``WINDOW`` consecutive bytes of ``content``, as sent or
    once form-, base64- or hex-decoded (base64 read from each of its four offsets). Any
    such window holds a whole aligned half-window, so looking for those finds every one."""
    half = WINDOW // 2
    forms = [body, unquote_to_bytes(body.replace(b"+", b" ")), unquote_to_bytes(body)]
    runs = {t for form in forms for t in re.findall(rb"[A-Za-z0-9+/]{64,}={0,2}", form)}
    for text in {run[shift:] for run in runs for shift in range(4)}:
        try:
            forms.append(base64.b64decode(text + b"=" * (-len(text) % 4)))
        except ValueError:
            continue
    hexes = {t for form in forms for t in re.findall(rb"[0-9a-fA-F]{1024,}", form)}
    for text in {run[shift:] for run in hexes for shift in range(2)}:  # from either digit
        forms.append(bytes.fromhex(text[: len(text) // 2 * 2].decode()))
    return any(
        content[start : start + half] in form
        for start in range(0, len(content) - half + 1, half)
        for form in forms
    )


def test_the_window_check_finds_a_file_sent_any_way() -> None:
    content = np.random.default_rng(7).integers(0, 256, 50_000, np.uint8).tobytes()
    piece = content[12_345 : 12_345 + WINDOW]
    assert carries_a_window_of(b"x" + piece + b"y", content)
    assert carries_a_window_of(b"f=" + quote_from_bytes(piece).encode(), content)
    assert carries_a_window_of(
        json.dumps({"p": base64.b64encode(piece).decode()}).encode(), content
    )
    assert carries_a_window_of(b"x=" + piece.hex().encode(), content)
    assert carries_a_window_of(b"id" + piece.hex().encode(), content)  # d: a hex digit
    # Base64 run on from other base64 text: found from another of its offsets.
    assert carries_a_window_of(b"abc" + base64.b64encode(piece), content)
    # Two pieces of under a window each, with a gap: no window of the file is there.
    half = WINDOW // 2
    assert not carries_a_window_of(piece[: half - 1] + b"..." + piece[half:], content)


def _bits_apart(a: str, b: str) -> int:
    codes = [np.frombuffer(bytes.fromhex(h), np.uint8)[None, :] for h in (a, b)]
    return int(hamming_matrix(codes[0], codes[1])[0, 0])


def _matches(live: Live, key: str, value: str, kind: str = "pdq") -> list[Any]:
    answer = httpx.post(f"{live.base}/v1/match", headers={"Authorization": f"Bearer {key}"},
                        json={"signals": [{"type": kind, "value": value}]})  # fmt: skip
    assert answer.status_code == 200, answer.text
    found: list[Any] = answer.json()["matches"]
    return found


def _fingerprint_in_page(page: Page, chosen: list[Path]) -> list[dict[str, Any]]:
    page.get_by_test_id("file-input").set_input_files([str(p) for p in chosen])
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=submit]').disabled", timeout=120_000
    )
    sent: list[dict[str, Any]] = json.loads(page.locator("#fingerprints").input_value())
    return sent


def test_a_survivor_fingerprints_sends_follows_and_withdraws_a_case(
    chromium: Browser, live: Live, chosen: list[Path]
) -> None:
    context = chromium.new_context(locale="en-GB")
    requests: list[Request] = []
    finished: list[Request] = []

    # A plain function: Playwright cannot attach its wrapper to a bound builtin method.
    def record(request: Request) -> None:
        requests.append(request)

    def record_finished(request: Request) -> None:
        finished.append(request)

    context.on("request", record)
    context.on("requestfinished", record_finished)
    page = context.new_page()
    page.goto(live.base + "/")
    page.get_by_test_id("start").click()
    page.wait_for_url("**/submit")

    sent = _fingerprint_in_page(page, chosen)
    pdqs = {s["value"] for s in sent if s["type"] == "pdq"}
    apart = []
    for path in chosen:
        content = path.read_bytes()
        exact = {s["value"] for s in sent if s["type"] in ("md5", "sha256")}
        assert {hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest()} <= exact
        if path.suffix == ".mp4":
            continue
        ours = fingerprint_file(path, FingerprintOptions())
        assert ours.pdq is not None
        apart.append(min(_bits_apart(ours.pdq, theirs) for theirs in pdqs))
    assert len(pdqs) == len(PHOTOS)
    assert max(apart) <= 10 and float(np.mean(apart)) <= 2.0, apart
    keypoints = [s for s in sent if s["type"] == "keypoints"]
    assert len(keypoints) == len(PHOTOS)
    for item in keypoints:
        payload = base64.b64decode(item["payload"])
        assert hashlib.sha256(payload).hexdigest() == item["value"]
        assert len(features_from_bytes(payload)) >= 12

    page.get_by_test_id("submit").click()
    page.wait_for_load_state()
    assert page.url.endswith("/submit/done"), page.content()[-3000:]
    number = page.get_by_test_id("receipt-number").inner_text()
    pin = page.get_by_test_id("receipt-pin").inner_text()
    assert re.fullmatch(r"RC(-[0-9A-Z]{4}){3}", number) and re.fullmatch(r"\d{8}", pin)

    store = Store.open(live.settings.database_url)
    operator = issue_key(store, "operators", "admin", ["admin"], label="test", actor="test").key
    store.close()
    exact = hashlib.md5(chosen[0].read_bytes()).hexdigest()

    def matching() -> list[bool]:  # each PDQ of the case, and one exact hash
        found = [_matches(live, operator, v) for v in pdqs]
        return [bool(f) for f in [*found, _matches(live, operator, exact, "md5")]]

    deadline = time.monotonic() + 5
    while not all(matching()):
        assert time.monotonic() < deadline, "the case's fingerprints never matched"
        time.sleep(0.05)
    # A platform reports that it removed what one match found.
    auth = {"Authorization": f"Bearer {operator}"}
    while not (records := httpx.get(f"{live.base}/v1/matches", headers=auth).json()["items"]):
        assert time.monotonic() < deadline + 5, "no match was recorded"
        time.sleep(0.05)
    reported = httpx.post(f"{live.base}/v1/matches/{records[0]['id']}/outcome",
                          json={"outcome": "removed"}, headers=auth)  # fmt: skip
    assert reported.status_code == 200, reported.text

    page.get_by_test_id("saved").click()
    page.get_by_test_id("case-number").fill(number)
    page.get_by_test_id("case-pin").fill(pin)
    page.get_by_test_id("open").click()
    status = page.get_by_test_id("case-status")
    assert status.get_attribute("data-status") == "active"
    assert int(page.get_by_test_id("match-count").inner_text()) >= len(pdqs) + 1
    assert page.get_by_test_id("removal-count").inner_text() == "1"
    assert int(page.get_by_test_id("active-count").inner_text()) == len(
        {(s["type"], s["value"]) for s in sent}
    )

    more = chosen[-2]  # a photo already sent: nothing new for the case
    page.get_by_test_id("file-input").set_input_files([str(more), str(EXTRA)])
    page.wait_for_function("() => !document.querySelector('[data-testid=add]').disabled")
    page.get_by_test_id("add").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("notice").is_visible()
    added = int(page.get_by_test_id("active-count").inner_text())
    assert added > len({(s["type"], s["value"]) for s in sent})
    extra = fingerprint_file(EXTRA, FingerprintOptions()).pdq
    assert extra is not None
    pdqs.add(extra)  # Python's hash of it: within the match threshold of the page's

    page.get_by_test_id("withdraw-confirm").check()
    page.get_by_test_id("withdraw").click()
    withdrawn_at = time.monotonic()
    assert page.get_by_test_id("case-status").get_attribute("data-status") == "withdrawn"
    while any(matching()):
        assert time.monotonic() - withdrawn_at < 1.0, "still matching a second after withdrawal"
        time.sleep(0.02)
    # Every header each request carried, cookies included, read while the browser is open:
    # in full once a request is answered (asked before, the call would wait for that),
    # else as the browser first gave them.
    headers = [_header_text(r, r in finished) for r in requests]
    context.close()

    host = urlsplit(live.base).netloc
    assert {urlsplit(r.url).netloc for r in requests} == {host}, "another host was contacted"
    # The workers hashed, and their own requests (the scripts each imports) are recorded
    # too, so the checks below cover them: the page imports fingerprints.js once a load.
    paths = [urlsplit(r.url).path for r in requests]
    assert "/assets/hasher.js" in paths
    assert paths.count("/assets/fingerprints.js") > paths.count("/assets/portal.js")
    contents = {path.name: path.read_bytes() for path in [*chosen, EXTRA]}
    bodies = [r.post_data_buffer or b"" for r in requests] + [r.url.encode() for r in requests]
    assert any(b"fingerprints" in body for body in bodies)  # the recording saw the sending
    assert any(b"cookie: reclaim_csrf=" in text for text in headers)  # and the cookies
    bodies += headers
    for name, content in contents.items():
        leaked = [b[:80] for b in bodies if carries_a_window_of(b, content)]
        assert not leaked, f"a request carried bytes of {name}"
        named = [b[:80] for b in bodies if name.encode() in unquote_to_bytes(b)]
        assert not named, f"a request carried the file name {name}"


#: Browsers without workers, and browsers whose workers cannot start (no module workers).
NO_WORKERS = {
    "none": "delete window.Worker;",
    "broken": """window.Worker = class extends EventTarget {
        constructor() { super(); }
        postMessage() { setTimeout(() => this.dispatchEvent(new Event("error")), 0); }
        terminate() {}
    };""",
}


@pytest.mark.parametrize("kind", sorted(NO_WORKERS))
def test_the_page_hashes_by_itself_where_workers_cannot(
    chromium: Browser, live: Live, chosen: list[Path], kind: str
) -> None:
    context = chromium.new_context()
    context.add_init_script(NO_WORKERS[kind])
    requests: list[Request] = []

    def record(request: Request) -> None:
        requests.append(request)

    context.on("request", record)
    page = context.new_page()
    page.goto(live.base + "/submit")
    sent = _fingerprint_in_page(page, chosen[:3])
    page.get_by_test_id("submit").click()
    page.wait_for_load_state()
    assert page.url.endswith("/submit/done")
    context.close()
    bodies = [r.post_data_buffer or b"" for r in requests] + [r.url.encode() for r in requests]
    assert any(b"fingerprints" in body for body in bodies)
    for path in chosen[:3]:
        assert not [b for b in bodies if carries_a_window_of(b, path.read_bytes())], path.name
    for path in chosen[:3]:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert {"type": "sha256", "value": digest} in sent, path.name
    page_pdqs = [s["value"] for s in sent if s["type"] == "pdq"]
    assert len(page_pdqs) == 3
    for path, theirs in zip(chosen[:3], page_pdqs, strict=True):
        ours = fingerprint_file(path, FingerprintOptions()).pdq
        assert ours is not None and _bits_apart(ours, theirs) <= 10, path.name
    assert len([s for s in sent if s["type"] == "keypoints"]) == 3


@pytest.mark.parametrize(("memory", "workers"), [(2, 1), (8, 2)])
def test_a_device_short_of_memory_works_on_one_file_at_a_time(
    chromium: Browser, live: Live, chosen: list[Path], memory: int, workers: int
) -> None:
    context = chromium.new_context()
    context.add_init_script(
        f"Object.defineProperty(navigator, 'deviceMemory', {{ get: () => {memory} }});"
        "Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 4 });"
    )
    started: list[str] = []

    def record(request: Request) -> None:
        if urlsplit(request.url).path == "/assets/hasher.js":
            started.append(request.url)

    context.on("request", record)
    page = context.new_page()
    page.goto(live.base + "/submit")
    sent = _fingerprint_in_page(page, chosen[:3])
    context.close()
    assert len([s for s in sent if s["type"] == "pdq"]) == 3
    assert len(started) == workers


def test_a_new_choice_replaces_the_one_being_fingerprinted(
    chromium: Browser, live: Live, chosen: list[Path]
) -> None:
    page = chromium.new_page()
    page.goto(live.base + "/submit")
    first, second = chosen[:4], chosen[4:]
    page.get_by_test_id("file-input").set_input_files([str(p) for p in first])
    sent = _fingerprint_in_page(page, second)  # chosen before the first choice is done
    listed = page.locator("#chosen li").all_inner_texts()
    page.close()
    exact = {s["value"] for s in sent if s["type"] == "sha256"}
    assert exact == {hashlib.sha256(p.read_bytes()).hexdigest() for p in second}
    assert [text.split(":")[0] for text in listed] == [p.name for p in second]
