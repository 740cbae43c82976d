"""``reclaim serve`` end to end: the real command in its own process, set up through the
CLI, answering real HTTP on a free port, and stopping cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reclaim.hashing.files import FingerprintOptions, fingerprint_file
from tests.conftest import photo_paths

RECLAIM = Path(sys.executable).parent / "reclaim"  # the console script of this venv
STARTUP_SECONDS = 60
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGTERM")


def _environment(**settings: str) -> dict[str, str]:
    """This environment without RECLAIM_* settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    env.update({f"RECLAIM_{name.upper()}": value for name, value in settings.items()})
    return env


def _reclaim(url: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RECLAIM), "--db", url, *arguments],
        cwd=cwd,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _cli(url: str, *arguments: str, cwd: Path) -> list[dict[str, object]]:
    done = _reclaim(url, *arguments, cwd=cwd)
    assert done.returncode == 0, f"reclaim {' '.join(arguments)}: {done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _serving(
    url: str, cwd: Path, *options: str, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``reclaim serve`` on a free port, logging to a file; killed with its workers if the
    test fails before stopping it."""
    port = _free_port()
    log = cwd / f"serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(RECLAIM), "--db", url, "serve", "--port", str(port), *options],
            cwd=cwd,
            env=_environment(**settings),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, workers included
        )
    try:
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        if process.poll() is None:  # the test failed before stopping it
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> list[int]:
    """Poll /v1/ready until it says 200; the statuses seen on the way."""
    seen: list[int] = []
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"reclaim serve exited:\n{log.read_text()}"
        try:
            response = httpx.get(f"{base}/v1/ready", timeout=5)
        except httpx.TransportError:  # not listening yet
            time.sleep(0.05)
            continue
        seen.append(response.status_code)
        if response.status_code == 200:
            assert response.json()["status"] == "ready"
            return seen
        assert response.status_code == 503, response.text
        assert response.json()["status"] == "loading", response.text
        time.sleep(0.02)
    raise AssertionError(f"not ready after {STARTUP_SECONDS} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(10)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"reclaim serve ignored SIGTERM:\n{log.read_text()}") from None
    assert code == 0, f"reclaim serve exited {code} on SIGTERM:\n{log.read_text()}"
    assert "Application shutdown complete" in log.read_text()  # the lifespan's end ran


@dataclass(frozen=True)
class Prepared:
    """A store made through the CLI: bank SURV holding two photos' hashes, shared with
    organisation acme, and a key of acme's that may match and hash."""

    folder: Path
    key: str
    records: list[dict[str, object]]  # the two photos' hashes, as `reclaim hash` prints them

    def copy_to(self, folder: Path) -> str:
        """The URL of a copy of the store in ``folder`` (each test changes its own)."""
        for file in self.folder.glob("reclaim.db*"):
            shutil.copy(file, folder / file.name)
        return f"sqlite:///{folder / 'reclaim.db'}"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    folder = tmp_path_factory.mktemp("prepared")
    url = f"sqlite:///{folder / 'reclaim.db'}"
    options = FingerprintOptions()
    records = [fingerprint_file(path, options).to_record() for path in photo_paths()[:2]]
    hash_list = folder / "hashes.jsonl"
    hash_list.write_text("".join(json.dumps(r) + "\n" for r in records))
    _cli(url, "bank", "create", "SURV", "--kind", "survivor", cwd=folder)
    [imported] = _cli(url, "bank", "import", "SURV", str(hash_list), cwd=folder)
    assert imported["added"] == 6  # pdq, md5 and sha256 of each photo
    [made] = _cli(url, "keys", "create", "--org", "acme", "--scope", "match", "--scope", "hash",
                  cwd=folder)  # fmt: skip
    [shared] = _cli(url, "bank", "share", "SURV", "acme", cwd=folder)
    assert shared["shared_with"] == ["acme"]
    return Prepared(folder, str(made["key"]), records)


def test_serve_matches_over_http_and_stops_on_sigterm(
    prepared: Prepared, tmp_path: Path, photos: list[Path]
) -> None:
    url, key, records = prepared.copy_to(tmp_path), prepared.key, prepared.records
    auth = {"Authorization": f"Bearer {key}"}
    photo = photos[0]
    with _serving(url, tmp_path) as (process, base, log):
        seen = _wait_ready(process, base, log)
        assert set(seen) <= {200, 503} and seen[-1] == 200
        assert httpx.get(f"{base}/v1/health", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{base}/v1/ready", timeout=5).json()["signals"] == 6

        # By fingerprints (JSON): the photo's own PDQ hash, and a stranger's MD5.
        signals = [
            {"type": "pdq", "value": records[0]["pdq"]},
            {"type": "md5", "value": "0" * 32},
        ]
        response = httpx.post(f"{base}/v1/match", json={"signals": signals}, headers=auth,
                              timeout=30)  # fmt: skip
        assert response.status_code == 200, response.text
        found = response.json()
        assert found["suppressed"] is False
        assert [(m["bank"], m["type"], m["distance"]) for m in found["matches"]] == [
            ("SURV", "pdq", 0)
        ]

        # By upload (multipart): the service hashes the bytes and matches every signal.
        upload = {"file": (photo.name, photo.read_bytes(), "image/jpeg")}
        response = httpx.post(f"{base}/v1/match", files=upload, headers=auth, timeout=30)
        assert response.status_code == 200, response.text
        found = response.json()
        assert {(m["bank"], m["type"], m["distance"]) for m in found["matches"]} == {
            ("SURV", "pdq", 0),
            ("SURV", "md5", 0),
            ("SURV", "sha256", 0),
        }
        assert found["fingerprint"]["pdq"] == records[0]["pdq"]
        assert found["fingerprint"]["sha256"] == records[0]["sha256"]

        # A photo not in the bank matches nothing.
        other = photos[-1]
        upload = {"file": (other.name, other.read_bytes(), "image/jpeg")}
        response = httpx.post(f"{base}/v1/match", files=upload, headers=auth, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["matches"] == []

        # No key, or a wrong one: 401 with a JSON error, and nothing matched.
        response = httpx.post(f"{base}/v1/match", json={"signals": signals}, timeout=30)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthenticated"
        wrong = {"Authorization": f"Bearer {key[:-4]}xxxx"}
        response = httpx.post(f"{base}/v1/match", json={"signals": signals}, headers=wrong,
                              timeout=30)  # fmt: skip
        assert response.status_code == 401, response.text

        _stop(process, log)


async def _burst(base: str, key: str, connections: int) -> list[int]:
    """Open ``connections`` connections at once, then send ``GET /v1/me`` on each; the
    statuses. The kernel picks each connection's worker before any request is sent."""
    host, port = base.removeprefix("http://").split(":")
    streams = await asyncio.gather(
        *(asyncio.open_connection(host, int(port)) for _ in range(connections))
    )
    request = f"GET /v1/me HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n"
    for _, writer in streams:
        writer.write(request.encode())
    statuses = []
    for reader, writer in streams:
        statuses.append(int((await asyncio.wait_for(reader.readline(), 30)).split()[1]))
        writer.close()
    return statuses


def _workers_of(parent: int) -> set[int]:
    """The worker processes of ``reclaim serve`` (spawned children of ``parent``)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if f"\nPPid:\t{parent}\n" in text and b"spawn_main" in command:
            found.add(int(status.parent.name))
    return found


def test_serve_with_two_workers(prepared: Prepared, tmp_path: Path) -> None:
    """Two workers share a burst of connections, and a worker that dies is replaced. Rate
    limits are kept per process, so with a burst of one request per key that never refills,
    each worker answers exactly one request of a burst and refuses the rest with 429."""
    url = prepared.copy_to(tmp_path)
    limits = {"rate_limit_per_second": "0.0001", "rate_limit_burst": "1"}
    with _serving(url, tmp_path, "--workers", "2", **limits) as (process, base, log):
        _wait_ready(process, base, log)
        deadline = time.monotonic() + STARTUP_SECONDS
        while log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, f"a worker never started:\n{log.read_text()}"
            time.sleep(0.1)
        statuses = asyncio.run(_burst(base, prepared.key, 16))
        assert sorted(statuses) == [200, 200] + [429] * 14, f"{statuses}\n{log.read_text()}"

        workers = _workers_of(process.pid)
        assert len(workers) == 2, workers
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        while len(_workers_of(process.pid) - {victim}) < 2:
            assert time.monotonic() < deadline, f"no replacement worker:\n{log.read_text()}"
            time.sleep(0.1)
        # The replacement has a fresh bucket: one more answer, once it listens.
        answered: list[int] = []
        while 200 not in answered:
            assert time.monotonic() < deadline, (
                f"the replacement never answered:\n{log.read_text()}"
            )
            answered = asyncio.run(_burst(base, prepared.key, 16))
            time.sleep(0.1)
        assert answered.count(200) == 1, answered

        # Each worker loads its own indexes; both become ready (20 answers in a row).
        in_a_row = 0
        while in_a_row < 20:
            assert time.monotonic() < deadline, f"a worker never became ready:\n{log.read_text()}"
            ready = httpx.get(f"{base}/v1/ready", timeout=5).status_code == 200
            in_a_row = in_a_row + 1 if ready else 0
            if not ready:
                time.sleep(0.1)
        _stop(process, log)


def test_serve_refuses_a_port_in_use(prepared: Prepared, tmp_path: Path) -> None:
    url = prepared.copy_to(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _reclaim(url, "serve", "--port", str(port), "--workers", "2", cwd=tmp_path)
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr, done.stderr
