"""Reclaim's HTTP service under load: match requests per second, latency, start-up,
ingest, hashing uploads and memory, against a bank of 1,000,000 PDQ hashes.

Set-up, in a temporary folder: a SQLite store with an organisation ``bench`` (its key
made by ``reclaim.keys.issue_key`` with the scopes match, hash, bank:read, bank:write)
and a bank ``BENCH`` shared with it, filled with N random PDQ hashes of quality 100
(default 1,000,000) by ``reclaim.banks.import_hash_list`` from a JSON-lines hash list.

The service runs as ``reclaim --db URL serve --port P --workers W`` in its own process
(uvicorn; ``RECLAIM_RATE_LIMIT_PER_SECOND=0``, so no rate limit), and the load comes
from another process (``benchmarks/service.py --load-generator SPEC``): an asyncio
client (uvloop when installed) holding C keep-alive HTTP/1.1 connections on loopback,
each sending pre-encoded requests one after another (a closed loop: C requests in
flight). Both share the machine's cores; the CPU each used is printed.

1. Start-up: time from starting ``reclaim serve`` to ``GET /v1/ready`` answering 200,
   polled every 20 ms on a fresh connection: cold (no index snapshot: the matcher
   reads every signal from the store, then saves the snapshot in ``<db file>.index``),
   then, after a stop, warm (from that snapshot). Also recorded: whether ``/v1/ready``
   answered 503 before it answered 200, and the signal count in its first 200. With
   several workers, each loads its own indexes and answers ``/v1/ready`` for itself, so
   the service counts as ready at the first of 20 consecutive 200s.
2. Matching: ``POST /v1/match`` with ``{"signals": [{"type": "pdq", "value": HEX}]}``,
   for each worker count and number of connections, in two mixes: ``misses`` (fresh
   random hashes, which match nothing) and ``10% hits`` (each request, with chance 1/10,
   is a stored hash with 1-8 random bits flipped, which matches and is recorded as a
   match, with an audit row, in the store). Each run lasts ``--duration`` seconds after
   a 5 s warm-up that is not counted; printed: requests per second, median, 99th
   percentile and largest latency (from writing the request to reading the whole
   response), errors (every answer other than 200, and every failed connection), hits
   seen, the CPU the service (in all and per process), the load generator and everything
   else on the machine used (in cores, from ``/proc``; "other" is near 0 on a quiet
   machine), and the service's largest memory, sampled every second as VmRSS and as PSS
   summed over the server process and its children (PSS counts the pages the workers
   share, such as the memory-mapped index snapshot, once).
3. Hashing: ``POST /v1/hash`` with each photo of ``samples/photos`` in turn (multipart).
4. Ingest: ``POST /v1/banks/INGEST/signals`` (a bank the ``bench`` organisation creates
   through the API), ``--ingest-batches`` batches of ``--ingest-size`` random PDQ hashes
   one after another; hashes per second, and how long until one of them is matched.
5. Soak (``--soak SECONDS``): one run of the ``10% hits`` mix at the best configuration
   (or ``--soak-workers`` / ``--soak-connections``) on a freshly started service; the
   service's memory after the warm-up (the baseline), at the end, and its largest
   deviation from the baseline, with requests per second, latency and memory per
   minute.

Before each start and run the benchmark waits (``--quiet-wait``) until the rest of the
machine uses under 0.2 cores, and a run that other processes disturbed by that much is
run again (``--tries`` in all; the least disturbed is kept).

The figures for Meta's Hasher-Matcher-Actioner (HMA) 1.1.7 are not measured here: they
are quoted from the issue that set the goals (measured by its author on a comparable
machine) and printed for comparison only.

Run ``.venv/bin/python benchmarks/service.py [--count N] [--duration S]
[--workers 1,2] [--connections 8,32] [--soak 600] [--soak-only] [--json PATH]``. The
default run takes about 6 minutes on the machine described in ``docs/performance.md``
(longer when it has to wait for the machine to be quiet); ``--soak 600 --soak-only``
about 12.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import os
import pickle
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import numpy as np
from common import machine_info, print_table, write_json

from reclaim.banks import create_bank, import_hash_list
from reclaim.keys import issue_key
from reclaim.store import Store

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "samples" / "photos"
RECLAIM = Path(sys.executable).parent / "reclaim"
HOST: Final = "127.0.0.1"
SEED: Final = 20240611
ORGANISATION: Final = "bench"
BANK: Final = "BENCH"
INGEST_BANK: Final = "INGEST"
QUERIES: Final = 20_000
HIT_EVERY: Final = 10
MAX_FLIPS: Final = 8
WARMUP_S: Final = 5.0
SOAK_WARMUP_S: Final = 10.0
SOAK_BUCKET_S: Final = 60.0
READY_POLL_S: Final = 0.02
READY_STREAK: Final = 20
START_TIMEOUT_S: Final = 600.0
STOP_TIMEOUT_S: Final = 120.0
SETTLE_TIMEOUT_S: Final = 60.0
SETTLE_WINDOW_S: Final = 0.5
#: A process using less than this many cores counts as idle.
SETTLE_CORES: Final = 0.05
HASH_CONNECTIONS: Final = 4
QUIET_CORES: Final = 0.2

#: Quoted from the issue (measured by its author on a comparable machine), not measured here.
HMA: Final = {
    "version": "HMA 1.1.7",
    "match_rps": 302.0,
    "match_rps_tuned": 666.0,
    "match_p50_ms": 101.0,
    "match_p99_ms": 132.0,
    "start_to_serving_s": 66.0,
    "ready_while_empty": True,
    "ingest_hashes_per_s": 79.0,
    "memory_per_worker_gb": 1.1,
}
GOAL_RPS: Final = 2000.0
GOAL_P99_MS: Final = 25.0
GOAL_MEMORY_PCT: Final = 10.0


# --------------------------------------------------------------------------------------
# The load generator (runs in its own process)


@dataclass
class LoadSpec:
    """What one load-generator process does."""

    host: str
    port: int
    connections: int
    duration_s: float
    warmup_s: float
    requests_file: str
    bucket_s: float = 0.0


@dataclass
class LoadResult:
    """What the load generator saw in the counted window."""

    connections: int
    window_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    statuses: dict[str, int]
    failures: int
    errors: int
    hits: int
    cpu_s: float
    buckets: list[dict[str, float]] = field(default_factory=list)


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(share * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


@dataclass
class _Tally:
    """What the connections saw in the counted window, from ``record_from`` to ``stop_at``."""

    record_from: float
    stop_at: float
    done: array[float] = field(default_factory=lambda: array("d"))
    latency: array[float] = field(default_factory=lambda: array("d"))
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0
    hits: int = 0


async def _connection(
    spec: LoadSpec, requests: Sequence[bytes], offset: int, tally: _Tally
) -> None:
    """One keep-alive connection sending requests ``offset``, ``offset + C``, ... in turn."""
    reader, writer = await asyncio.open_connection(spec.host, spec.port)
    index, count, step = offset, len(requests), spec.connections
    while True:
        sent = time.perf_counter()
        if sent >= tally.stop_at:
            break
        try:
            writer.write(requests[index % count])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lowered = head.lower()
            at = lowered.find(b"\r\ncontent-length:")
            if at < 0:
                raise ValueError("a response without content-length")
            length = int(lowered[at + 17 : lowered.index(b"\r\n", at + 2)])
            body = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            tally.failures += 1
            writer.close()
            reader, writer = await asyncio.open_connection(spec.host, spec.port)
            continue
        finished = time.perf_counter()
        index += step
        if tally.record_from <= finished <= tally.stop_at:
            tally.done.append(finished)
            tally.latency.append(finished - sent)
            tally.statuses[status] += 1
            if status == 200 and b'"matches":[]' not in body and b'"matches"' in body:
                tally.hits += 1
        if b"\r\nconnection: close" in lowered:
            writer.close()
            reader, writer = await asyncio.open_connection(spec.host, spec.port)
    writer.close()


async def _generate(spec: LoadSpec, requests: Sequence[bytes]) -> LoadResult:
    record_from = time.perf_counter() + spec.warmup_s
    tally = _Tally(record_from, record_from + spec.duration_s)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(
        *(_connection(spec, requests, offset, tally) for offset in range(spec.connections))
    )
    after = resource.getrusage(resource.RUSAGE_SELF)
    window = spec.duration_s
    ordered = sorted(tally.latency)
    errors = sum(n for code, n in tally.statuses.items() if code != 200) + tally.failures
    buckets = []
    if spec.bucket_s > 0:
        edges = np.arange(tally.record_from, tally.stop_at + 1e-9, spec.bucket_s)
        finish = np.frombuffer(tally.done, dtype=np.float64)
        waits = np.frombuffer(tally.latency, dtype=np.float64)
        for low, high in itertools.pairwise(edges):
            chosen = np.sort(waits[(finish >= low) & (finish < high)])
            buckets.append(
                {
                    "from_s": float(low - tally.record_from),
                    "rps": len(chosen) / spec.bucket_s,
                    "p50_ms": percentile(chosen.tolist(), 0.5) * 1000,
                    "p99_ms": percentile(chosen.tolist(), 0.99) * 1000,
                    "max_ms": float(chosen[-1]) * 1000 if len(chosen) else 0.0,
                }
            )
    return LoadResult(
        connections=spec.connections,
        window_s=window,
        requests=len(ordered),
        rps=len(ordered) / window,
        p50_ms=percentile(ordered, 0.5) * 1000,
        p90_ms=percentile(ordered, 0.9) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        p999_ms=percentile(ordered, 0.999) * 1000,
        max_ms=(ordered[-1] * 1000) if ordered else 0.0,
        statuses={str(code): n for code, n in sorted(tally.statuses.items())},
        failures=tally.failures,
        errors=errors,
        hits=tally.hits,
        cpu_s=(after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime),
        buckets=buckets,
    )


def load_generator_main(spec_path: str) -> int:
    spec = LoadSpec(**json.loads(Path(spec_path).read_text()))
    with open(spec.requests_file, "rb") as handle:
        requests: list[bytes] = pickle.load(handle)
    coroutine = _generate(spec, requests)
    try:
        import uvloop  # noqa: PLC0415 - the load generator's loop, when installed

        result = uvloop.run(coroutine)
    except ImportError:
        result = asyncio.run(coroutine)
    print(json.dumps(asdict(result)))
    return 0


# --------------------------------------------------------------------------------------
# Requests


def http_request(method: str, path: str, *, port: int, key: str, body: bytes, kind: str) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def match_body(value: str) -> bytes:
    return json.dumps({"signals": [{"type": "pdq", "value": value}]}).encode()


def flip_bits(code: bytes, flips: int, rng: np.random.Generator) -> bytes:
    bits = np.unpackbits(np.frombuffer(code, dtype=np.uint8))
    positions = rng.choice(256, size=flips, replace=False)
    bits[positions] ^= 1
    return np.packbits(bits).tobytes()


def match_requests(
    port: int, key: str, stored: np.ndarray, hit_every: int, rng: np.random.Generator
) -> list[bytes]:
    """``QUERIES`` match requests: fresh random hashes, and with chance 1/``hit_every``
    (0: never) a stored hash with 1..``MAX_FLIPS`` bits flipped. Chance, not every n-th:
    each connection takes every C-th request, so every n-th would put all the hits on
    some connections, and in a closed loop those slower connections would send fewer."""
    out = []
    for _ in range(QUERIES):
        if hit_every and rng.random() < 1 / hit_every:
            source = stored[int(rng.integers(len(stored)))].tobytes()
            value = flip_bits(source, int(rng.integers(1, MAX_FLIPS + 1)), rng).hex()
        else:
            value = rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()
        out.append(
            http_request(
                "POST",
                "/v1/match",
                port=port,
                key=key,
                body=match_body(value),
                kind="application/json",
            )
        )
    return out


def hash_requests(port: int, key: str, photos: Sequence[Path]) -> list[bytes]:
    boundary = "reclaimbenchboundary"
    out = []
    for photo in photos:
        kind = "image/png" if photo.suffix.lower() == ".png" else "image/jpeg"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{photo.name}"\r\nContent-Type: {kind}\r\n\r\n'
            ).encode()
            + photo.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        out.append(
            http_request(
                "POST",
                "/v1/hash",
                port=port,
                key=key,
                body=body,
                kind=f"multipart/form-data; boundary={boundary}",
            )
        )
    return out


def call(
    port: int,
    method: str,
    path: str,
    key: str | None = None,
    *,
    payload: Any = None,
    timeout: float = 60.0,
) -> tuple[int, dict[str, Any]]:
    """One request on a fresh connection: the status and the JSON body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else {})
    finally:
        connection.close()


# --------------------------------------------------------------------------------------
# The service process


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_of(pid: int) -> int:
    """VmRSS of one process in bytes (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_of(pid: int) -> int:
    """Proportional set size of one process in bytes (shared pages split between their
    users, so summing it over processes counts each page once); 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, everything but idle and
    I/O wait) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(limit_s: float, service: Service | None = None) -> tuple[float, float]:
    """Wait until everything on the machine but ``service`` uses under ``QUIET_CORES``
    (measured over 2 s), for at most ``limit_s``; the seconds waited and the last reading."""
    started = time.perf_counter()
    while True:
        own = sum(service.cpu().values()) if service else 0.0
        busy, at = machine_busy(), time.perf_counter()
        time.sleep(2.0)
        own = (sum(service.cpu().values()) if service else 0.0) - own
        others = (machine_busy() - busy - own) / (time.perf_counter() - at)
        waited = time.perf_counter() - started
        if others < QUIET_CORES or waited >= limit_s:
            if others >= QUIET_CORES:
                print(f"  machine still busy after {waited:.0f} s ({others:.2f} cores): going on")
            elif waited > 5:
                print(f"  waited {waited:.0f} s for the machine to be quiet")
            return waited, others


def cpu_of(pid: int) -> float:
    """User plus system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class StartReport:
    workers: int
    snapshot: bool
    listening_s: float
    first_ready_s: float
    ready_s: float
    saw_503_before_ready: bool
    status_before_ready: str
    signals_when_ready: int
    rss_mb_ready: float
    pss_mb_ready: float
    processes: int


class Service:
    """``reclaim serve`` in a process of its own."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.url = url
        self.workers = workers
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> StartReport:
        environment = dict(os.environ, RECLAIM_RATE_LIMIT_PER_SECOND="0")
        command = [
            str(RECLAIM),
            "--db",
            self.url,
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        snapshot = Path(self.url.removeprefix("sqlite:///") + ".index", "meta.json").exists()
        with self.log.open("ab") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(command, env=environment, stdout=log, stderr=log)
        listening = first_ready = None
        saw_503, before, signals, streak, streak_from = False, "", -1, 0, 0.0
        needed = 1 if self.workers == 1 else READY_STREAK
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"reclaim serve exited: see {self.log}")
            elapsed = time.perf_counter() - started
            if elapsed > START_TIMEOUT_S:
                raise RuntimeError(f"reclaim serve not ready after {START_TIMEOUT_S:.0f} s")
            try:
                status, body = call(self.port, "GET", "/v1/ready", timeout=2.0)
            except OSError:
                time.sleep(READY_POLL_S)
                continue
            at = time.perf_counter() - started
            listening = listening if listening is not None else at
            if status == 200:
                if streak == 0:
                    streak_from, signals = at, int(body.get("signals", -1))
                first_ready = first_ready if first_ready is not None else at
                streak += 1
                if streak >= needed:
                    break
            else:
                streak = 0
                if first_ready is None:
                    saw_503 = saw_503 or status == 503
                    before = f"{status} {body.get('status', '')}".strip()
            time.sleep(READY_POLL_S)
        assert first_ready is not None
        return StartReport(
            workers=self.workers,
            snapshot=snapshot,
            listening_s=listening,
            first_ready_s=first_ready,
            ready_s=streak_from,
            saw_503_before_ready=saw_503,
            status_before_ready=before or "none seen",
            signals_when_ready=signals,
            rss_mb_ready=self.memory_mb()[0],
            pss_mb_ready=self.memory_mb()[1],
            processes=len(self.pids()),
        )

    def settle(self, limit_s: float = SETTLE_TIMEOUT_S) -> float:
        """Wait until every service process is idle (each worker answers ``/v1/ready``
        for itself, so one may still be loading when another says ready, and a busy worker
        accepts fewer of the load's connections); seconds waited."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit_s:
            before = self.cpu()
            time.sleep(SETTLE_WINDOW_S)
            after = self.cpu()
            busiest = max((after[p] - before.get(p, 0.0)) / SETTLE_WINDOW_S for p in after)
            if busiest < SETTLE_CORES:
                break
        return time.perf_counter() - started

    def pids(self) -> list[int]:
        assert self.process is not None
        return process_tree(self.process.pid)

    def rss(self) -> int:
        return sum(rss_of(pid) for pid in self.pids())

    def memory_mb(self) -> tuple[float, float]:
        """RSS and PSS summed over the service's processes, in MB."""
        pids = self.pids()
        return sum(rss_of(p) for p in pids) / 1e6, sum(pss_of(p) for p in pids) / 1e6

    def cpu(self) -> dict[int, float]:
        return {pid: cpu_of(pid) for pid in self.pids()}

    def stop(self) -> float:
        """Stop the service (SIGTERM, as a process manager would); seconds it took."""
        assert self.process is not None
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for pid in reversed(self.pids()):
                os.kill(pid, signal.SIGKILL)
            self.process.wait()
            raise RuntimeError(f"reclaim serve did not stop in {STOP_TIMEOUT_S:.0f} s") from None
        return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------
# Runs


@dataclass
class Run:
    """One load run against one service configuration."""

    workload: str
    workers: int
    load: LoadResult
    server_cpu_cores: float
    #: The CPU of each service process that used over 0.05 cores, busiest first.
    process_cpu_cores: list[float]
    load_cpu_cores: float
    other_cpu_cores: float
    rss_mb_start: float
    rss_mb_end: float
    rss_mb_min: float
    rss_mb_max: float
    rss_mb_median: float
    pss_mb_median: float
    pss_mb_max: float
    #: (seconds since the generator started, RSS MB, PSS MB), one a second.
    memory_samples: list[tuple[float, float, float]] = field(default_factory=list)


def run_load(
    service: Service,
    workload: str,
    requests: list[bytes],
    *,
    connections: int,
    duration: float,
    folder: Path,
    warmup: float = WARMUP_S,
    bucket: float = 0.0,
) -> Run:
    """Run the load generator against ``service`` and sample the service's memory."""
    requests_file = folder / "requests.pickle"
    with requests_file.open("wb") as handle:
        pickle.dump(requests, handle)
    spec = LoadSpec(HOST, service.port, connections, duration, warmup, str(requests_file), bucket)
    spec_file = folder / "load.json"
    spec_file.write_text(json.dumps(asdict(spec)))
    generator = subprocess.Popen(
        [sys.executable, __file__, "--load-generator", str(spec_file)],
        stdout=subprocess.PIPE,
    )
    # Count from the end of the generator's warm-up (it starts within about a second).
    launched = time.perf_counter()
    samples: list[tuple[float, float, float]] = []
    cpu_before: dict[int, float] = {}
    window_open = False
    while generator.poll() is None:
        elapsed = time.perf_counter() - launched
        if not window_open and elapsed >= warmup + 0.5:
            cpu_before, busy_before = service.cpu(), machine_busy()
            cpu_at, window_open = time.perf_counter(), True
        if window_open:
            samples.append((elapsed, *service.memory_mb()))
        time.sleep(1.0 if window_open else 0.1)
    assert generator.stdout is not None
    output = generator.stdout.read()
    if generator.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {generator.returncode})")
    cpu_after, busy_after, cpu_end = service.cpu(), machine_busy(), time.perf_counter()
    result = LoadResult(**json.loads(output))
    if not window_open:  # a run shorter than a second: no samples
        cpu_before, busy_before, cpu_at = cpu_after, busy_after, cpu_end
        samples.append((0.0, *service.memory_mb()))
    used = sum(cpu_after[p] - cpu_before.get(p, 0.0) for p in cpu_after)
    spent = max(cpu_end - cpu_at, 1e-9)
    memory = [rss for _, rss, _ in samples]
    proportional = [pss for _, _, pss in samples]
    load_cores = result.cpu_s / (result.window_s + warmup)
    return Run(
        workload=workload,
        workers=service.workers,
        load=result,
        server_cpu_cores=used / spent,
        process_cpu_cores=sorted(
            (
                c
                for c in ((cpu_after[p] - cpu_before.get(p, 0.0)) / spent for p in cpu_after)
                if c > 0.05
            ),
            reverse=True,
        ),
        load_cpu_cores=load_cores,
        other_cpu_cores=max(0.0, (busy_after - busy_before) / spent - used / spent - load_cores),
        rss_mb_start=memory[0],
        rss_mb_end=memory[-1],
        rss_mb_min=min(memory),
        rss_mb_max=max(memory),
        rss_mb_median=statistics.median(memory),
        pss_mb_median=statistics.median(proportional),
        pss_mb_max=max(proportional),
        memory_samples=samples,
    )


@dataclass
class Ingest:
    batches: int
    batch_size: int
    added: int
    seconds: float
    hashes_per_s: float
    batch_ms_median: float
    batch_ms_max: float
    matched_after_ms: float


def run_ingest(service: Service, key: str, batches: int, size: int) -> Ingest:
    status, body = call(
        service.port, "POST", "/v1/banks", key, payload={"name": INGEST_BANK, "kind": "partner"}
    )
    if status != 201:
        raise RuntimeError(f"POST /v1/banks answered {status}: {body}")
    rng = np.random.default_rng(SEED + 1)
    payloads = [
        {
            "signals": [
                {
                    "type": "pdq",
                    "value": rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(),
                    "quality": 100,
                }
                for _ in range(size)
            ]
        }
        for _ in range(batches)
    ]
    times, added = [], 0
    started = time.perf_counter()
    for payload in payloads:
        sent = time.perf_counter()
        status, body = call(
            service.port, "POST", f"/v1/banks/{INGEST_BANK}/signals", key, payload=payload
        )
        times.append(time.perf_counter() - sent)
        if status != 201:
            raise RuntimeError(f"POST /v1/banks/{INGEST_BANK}/signals answered {status}: {body}")
        added += int(body["added"])
    seconds = time.perf_counter() - started
    # How soon the last hash stored is matched (the matcher follows the store).
    last = payloads[-1]["signals"][-1]["value"]
    waited = time.perf_counter()
    while True:
        status, body = call(
            service.port,
            "POST",
            "/v1/match",
            key,
            payload={"signals": [{"type": "pdq", "value": last}]},
        )
        if status == 200 and body["matches"]:
            break
        if time.perf_counter() - waited > 30:
            raise RuntimeError("an ingested hash was not matched within 30 s")
        time.sleep(0.01)
    return Ingest(
        batches=batches,
        batch_size=size,
        added=added,
        seconds=seconds,
        hashes_per_s=added / seconds,
        batch_ms_median=statistics.median(times) * 1000,
        batch_ms_max=max(times) * 1000,
        matched_after_ms=(time.perf_counter() - waited) * 1000,
    )


# --------------------------------------------------------------------------------------
# Set-up


@dataclass
class Setup:
    url: str
    key: str
    stored: np.ndarray
    generate_s: float
    import_s: float
    db_mb: float


def set_up(folder: Path, count: int) -> Setup:
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    codes = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    text = codes.tobytes().hex()
    hash_list = folder / "hashes.jsonl"
    with hash_list.open("w") as handle:
        for index in range(count):
            value = text[64 * index : 64 * index + 64]
            handle.write(f'{{"path":"file{index}.jpg","pdq":"{value}","quality":100}}\n')
    del text
    generated = time.perf_counter() - started
    url = f"sqlite:///{folder}/bench.db"
    store = Store.open(url)
    issued = issue_key(
        store,
        ORGANISATION,
        "platform",
        ["match", "hash", "bank:read", "bank:write"],
        label="bench",
        actor="bench",
    )
    create_bank(
        store, BANK, "verified", "benchmark bank", shared_with=[ORGANISATION], actor="bench"
    )
    started = time.perf_counter()
    with hash_list.open() as stream:
        report = import_hash_list(store, BANK, stream, str(hash_list), 50, actor="bench")
    imported = time.perf_counter() - started
    store.close()
    hash_list.unlink()
    if report.added != count:
        raise RuntimeError(f"imported {report.added} of {count} hashes")
    sample = codes[rng.choice(count, size=min(count, 10_000), replace=False)]
    return Setup(
        url, issued.key, sample, generated, imported, Path(folder, "bench.db").stat().st_size / 1e6
    )


# --------------------------------------------------------------------------------------
# Reports


def best_run(runs: Sequence[Run], workload: str) -> Run | None:
    """The run of ``workload`` with most requests per second among those within the p99
    goal and without errors; failing that, the one with most requests per second."""
    of_workload = [r for r in runs if r.workload == workload]
    good = [r for r in of_workload if r.load.p99_ms <= GOAL_P99_MS and r.load.errors == 0]
    pool = good or of_workload
    return max(pool, key=lambda r: r.load.rps) if pool else None


def run_rows(runs: Sequence[Run]) -> Iterator[list[str]]:
    for r in runs:
        load = r.load
        yield [
            r.workload,
            str(r.workers),
            str(load.connections),
            f"{load.rps:,.0f}",
            f"{load.p50_ms:.2f}",
            f"{load.p99_ms:.2f}",
            f"{load.max_ms:.1f}",
            f"{load.errors:,}",
            f"{load.hits:,} ({load.hits / max(load.requests, 1):.1%})" if load.hits else "0",
            f"{r.server_cpu_cores:.2f}",
            "+".join(f"{c:.2f}" for c in r.process_cpu_cores) or "-",
            f"{r.load_cpu_cores:.2f}",
            f"{r.other_cpu_cores:.2f}",
            f"{r.rss_mb_max:,.0f}",
            f"{r.pss_mb_max:,.0f}",
        ]


RUN_HEADERS: Final = (
    "workload",
    "workers",
    "conns",
    "req/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "errors",
    "hits",
    "server CPU",
    "per process",
    "loadgen CPU",
    "other CPU",
    "RSS MB max",
    "PSS MB max",
)


def cleanest(once: Callable[[], Run], service: Service, args: argparse.Namespace) -> Run:
    """Run ``once`` on a quiet machine; while other processes took more than
    ``QUIET_CORES`` during the run, run it again (``--tries`` in all) and keep the run
    they disturbed least."""
    kept: Run | None = None
    for attempt in range(1, args.tries + 1):
        wait_for_quiet(args.quiet_wait, service)
        run = once()
        progress(run)
        if kept is None or run.other_cpu_cores < kept.other_cpu_cores:
            kept = run
        if run.other_cpu_cores < QUIET_CORES:
            break
        if attempt < args.tries:
            print(f"  other processes used {run.other_cpu_cores:.2f} cores during that run: again")
    assert kept is not None
    return kept


def announce(start: StartReport) -> None:
    label = "warm" if start.snapshot else "cold"
    print(
        f"  {label} start, {start.workers} worker(s): ready in {start.ready_s:.1f} s "
        f"({start.signals_when_ready:,} signals)",
        flush=True,
    )


def progress(run: Run) -> None:
    print(
        "  "
        + "  ".join(f"{h} {c}" for h, c in zip(RUN_HEADERS, next(run_rows([run])), strict=True)),
        flush=True,
    )


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs else "-"


def comparison_rows(
    best: Run | None, starts: Sequence[StartReport], ingest: Ingest | None
) -> Iterator[list[str]]:
    hma = HMA
    if best is not None:
        rps = best.load.rps
        yield [
            "match requests/s (best, misses)",
            f"{rps:,.0f}",
            f"{hma['match_rps']:.0f} ({hma['match_rps_tuned']:.0f} tuned)",
            f"{ratio(rps, hma['match_rps'])} ({ratio(rps, hma['match_rps_tuned'])} tuned)",
        ]
        yield [
            "match p50 ms (that run)",
            f"{best.load.p50_ms:.2f}",
            f"{hma['match_p50_ms']:.0f}",
            ratio(hma["match_p50_ms"], best.load.p50_ms),
        ]
        yield [
            "match p99 ms (that run)",
            f"{best.load.p99_ms:.2f}",
            f"{hma['match_p99_ms']:.0f}",
            ratio(hma["match_p99_ms"], best.load.p99_ms),
        ]
        per_worker = best.pss_mb_median / best.workers / 1000
        yield [
            "memory per worker GB (that run, median PSS)",
            f"{per_worker:.2f}",
            f"{hma['memory_per_worker_gb']:.1f}",
            ratio(hma["memory_per_worker_gb"], per_worker),
        ]
    for start in starts:
        label = "warm" if start.snapshot else "cold"
        yield [
            f"start to ready s ({label}, {start.workers} worker{'s' * (start.workers > 1)})",
            f"{start.ready_s:.1f}",
            f"{hma['start_to_serving_s']:.0f}",
            ratio(hma["start_to_serving_s"], start.ready_s),
        ]
    if starts:
        empty = any(s.signals_when_ready < 1 for s in starts)
        yield ["reports ready with an empty index", "yes" if empty else "no", "yes", "-"]
    if ingest is not None:
        yield [
            "ingest hashes/s (bank API)",
            f"{ingest.hashes_per_s:,.0f}",
            f"{hma['ingest_hashes_per_s']:.0f}",
            ratio(ingest.hashes_per_s, hma["ingest_hashes_per_s"]),
        ]


def yesno(value: bool) -> str:
    return "yes" if value else "NO"


def goal_rows(
    runs: Sequence[Run], starts: Sequence[StartReport], count: int, soak: Run | None
) -> Iterator[tuple[str, str, str, str]]:
    for workload in ("misses", "10% hits"):
        best = best_run(runs, workload)
        if best is None:
            continue
        where = f"{workload}, {best.workers} worker(s), {best.load.connections} conns"
        yield (
            f"match req/s ({where})",
            f">= {GOAL_RPS:,.0f}",
            f"{best.load.rps:,.0f}",
            yesno(best.load.rps >= GOAL_RPS),
        )
        yield (
            f"p99 ({where})",
            f"<= {GOAL_P99_MS:.0f} ms",
            f"{best.load.p99_ms:.2f} ms",
            yesno(best.load.p99_ms <= GOAL_P99_MS),
        )
        yield (f"errors ({where})", "0", f"{best.load.errors:,}", yesno(best.load.errors == 0))
    for start in starts:
        label = "warm" if start.snapshot else "cold"
        ok = start.saw_503_before_ready and start.signals_when_ready >= count
        yield (
            f"ready only when loaded ({label}, {start.workers}w)",
            "503 first; full count",
            f"{start.status_before_ready}; then {start.signals_when_ready:,} signals",
            yesno(ok),
        )
    if soak is None:
        yield ("memory over the soak", f"within +-{GOAL_MEMORY_PCT:.0f}%", "not run (--soak)", "-")
    else:
        deviation = soak_deviation(soak)
        yield (
            f"memory over {soak.load.window_s:.0f} s ({soak.workers}w, "
            f"{soak.load.connections} conns)",
            f"within +-{GOAL_MEMORY_PCT:.0f}%",
            f"{deviation:+.1f}% max ({soak.rss_mb_start:,.0f} -> {soak.rss_mb_end:,.0f} MB)",
            yesno(abs(deviation) <= GOAL_MEMORY_PCT),
        )


def soak_deviation(soak: Run) -> float:
    """The largest deviation of the memory samples from the first, in percent (signed)."""
    base = soak.rss_mb_start
    worst = max((mb - base for _, mb, _ in soak.memory_samples), key=abs, default=0.0)
    return 100.0 * worst / base


# --------------------------------------------------------------------------------------


def parse_list(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="hashes in the bank")
    parser.add_argument(
        "--duration",
        type=float,
        default=20.0,
        help="seconds counted per run, after a 5 s warm-up (default 20)",
    )
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument(
        "--connections", default="8,32", help="concurrent connections per run (default 8,32)"
    )
    parser.add_argument(
        "--hash-duration",
        type=float,
        default=10.0,
        help="seconds of the hashing run per worker count (default 10)",
    )
    parser.add_argument("--ingest-batches", type=int, default=10, help="ingest batches")
    parser.add_argument("--ingest-size", type=int, default=1000, help="signals per batch")
    parser.add_argument(
        "--soak", type=float, default=0.0, help="also run a soak of this many seconds (e.g. 600)"
    )
    parser.add_argument("--soak-workers", type=int, help="workers for the soak (default: best)")
    parser.add_argument(
        "--soak-connections", type=int, help="connections for the soak (default: best)"
    )
    parser.add_argument(
        "--soak-only",
        action="store_true",
        help="after the cold start, run only the soak (with the last of --workers and the "
        "first of --connections unless --soak-workers / --soak-connections say otherwise)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=300.0,
        help="before each start and run, wait up to this many seconds until the rest of the "
        f"machine uses under {QUIET_CORES} cores (default 300)",
    )
    parser.add_argument(
        "--tries",
        type=int,
        default=3,
        help="runs of a configuration at most, while other processes disturb it (default 3)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    args.workers = parse_list(args.workers)
    args.connections = parse_list(args.connections)
    if not args.workers or not args.connections:
        parser.error("--workers and --connections need at least one number each")
    if args.soak_only and args.soak <= 0:
        parser.error("--soak-only needs --soak SECONDS")
    return args


def run_soak(
    service: Service,
    setup: Setup,
    connections: int,
    args: argparse.Namespace,
    *,
    folder: Path,
    into: Results,
) -> Run:
    """Start ``service``, run the 10% hits mix on it for ``--soak`` seconds, stop it."""
    wait_for_quiet(args.quiet_wait)
    into.starts.append(service.start())
    announce(into.starts[-1])
    rng = np.random.default_rng(SEED + 3)
    requests = match_requests(service.port, setup.key, setup.stored, HIT_EVERY, rng)
    wait_for_quiet(args.quiet_wait, service)
    soak = run_load(
        service,
        "10% hits",
        requests,
        connections=connections,
        duration=args.soak,
        folder=folder,
        warmup=SOAK_WARMUP_S,
        bucket=SOAK_BUCKET_S,
    )
    into.stops.append((service.workers, service.stop()))
    return soak


def print_ingest(ingest: Ingest, count: int) -> None:
    print(
        f"\nIngest: POST /v1/banks/{INGEST_BANK}/signals, {ingest.batches} batches of "
        f"{ingest.batch_size:,} PDQ hashes, one after another, into a service holding "
        f"{count:,}"
    )
    print_table(
        (
            "added",
            "seconds",
            "hashes/s",
            "batch median ms",
            "batch max ms",
            "last hash matched after ms",
        ),
        [
            [
                f"{ingest.added:,}",
                f"{ingest.seconds:.2f}",
                f"{ingest.hashes_per_s:,.0f}",
                f"{ingest.batch_ms_median:.0f}",
                f"{ingest.batch_ms_max:.0f}",
                f"{ingest.matched_after_ms:.0f}",
            ]
        ],
        right=0,
    )


def print_soak(soak: Run) -> None:
    deviation = soak_deviation(soak)
    memory = [mb for _, mb, _ in soak.memory_samples]
    proportional = [mb for _, _, mb in soak.memory_samples]
    print(
        f"\nSoak: {soak.load.window_s:.0f} s of the 10% hits mix, {soak.workers} "
        f"worker(s), {soak.load.connections} connections, after {SOAK_WARMUP_S:g} s "
        "warm-up"
    )
    print_table(RUN_HEADERS, list(run_rows([soak])), right=1)
    print(
        f"  service RSS: start {soak.rss_mb_start:,.0f} MB, end {soak.rss_mb_end:,.0f} MB, "
        f"min {min(memory):,.0f}, max {max(memory):,.0f}; largest deviation from the "
        f"start {deviation:+.1f}% ({len(memory)} samples, one a second); PSS start "
        f"{proportional[0]:,.0f} MB, end {proportional[-1]:,.0f}, "
        f"min {min(proportional):,.0f}, max {max(proportional):,.0f}"
    )
    print_table(
        ("minute", "req/s", "p50 ms", "p99 ms", "max ms", "RSS MB max", "PSS MB max"),
        [
            [
                f"{b['from_s'] / 60:.0f}",
                f"{b['rps']:,.0f}",
                f"{b['p50_ms']:.2f}",
                f"{b['p99_ms']:.2f}",
                f"{b['max_ms']:.1f}",
                *memory_in(soak, b["from_s"], b["from_s"] + SOAK_BUCKET_S),
            ]
            for b in soak.load.buckets
        ],
    )


@dataclass
class Results:
    """Everything one run of the benchmark measured."""

    setup: Setup
    photos: list[Path]
    runs: list[Run] = field(default_factory=list)
    hash_runs: list[Run] = field(default_factory=list)
    starts: list[StartReport] = field(default_factory=list)
    stops: list[tuple[int, float]] = field(default_factory=list)
    ingest: Ingest | None = None
    soak: Run | None = None
    errors_in_log: list[str] = field(default_factory=list)


def measure(args: argparse.Namespace) -> Results:
    """Set up the store, then start the service and load it as ``args`` say."""
    photos = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in {".jpg", ".png"})
    with tempfile.TemporaryDirectory(prefix="reclaim-service-bench-") as name:
        folder = Path(name)
        setup = set_up(folder, args.count)
        print(
            f"\nBank {BANK}: {args.count:,} random PDQ hashes (quality 100), list written in "
            f"{setup.generate_s:.1f} s, imported with import_hash_list in "
            f"{setup.import_s:.1f} s ({args.count / setup.import_s:,.0f} hashes/s); "
            f"SQLite file {setup.db_mb:,.0f} MB"
        )
        results = Results(setup, photos)
        runs, hash_runs = results.runs, results.hash_runs
        starts, stops = results.starts, results.stops
        log = folder / "serve.log"
        rng = np.random.default_rng(SEED + 2)

        # Start-up: cold (no snapshot), then warm, with the first worker count.
        first = Service(setup.url, args.workers[0], log)
        wait_for_quiet(args.quiet_wait)
        starts.append(first.start())
        announce(starts[-1])
        stops.append((first.workers, first.stop()))
        for index, workers in enumerate([] if args.soak_only else args.workers):
            service = Service(setup.url, workers, log)
            wait_for_quiet(args.quiet_wait)
            starts.append(service.start())
            announce(starts[-1])
            workloads = {
                "misses": match_requests(service.port, setup.key, setup.stored, 0, rng),
                "10% hits": match_requests(service.port, setup.key, setup.stored, HIT_EVERY, rng),
            }
            for workload, requests in workloads.items():
                for connections in args.connections:
                    once = partial(
                        run_load,
                        service,
                        workload,
                        requests,
                        connections=connections,
                        duration=args.duration,
                        folder=folder,
                    )
                    run = cleanest(once, service, args)
                    runs.append(run)
            if args.hash_duration > 0:
                uploads = hash_requests(service.port, setup.key, photos)
                once = partial(
                    run_load,
                    service,
                    "hash upload",
                    uploads,
                    connections=HASH_CONNECTIONS,
                    duration=args.hash_duration,
                    folder=folder,
                )
                run = cleanest(once, service, args)
                hash_runs.append(run)
            if index == 0 and args.ingest_batches > 0:
                results.ingest = run_ingest(
                    service, setup.key, args.ingest_batches, args.ingest_size
                )
            stops.append((workers, service.stop()))

        if args.soak > 0:
            chosen = best_run(runs, "10% hits")
            service = Service(
                setup.url,
                args.soak_workers or (chosen.workers if chosen else args.workers[-1]),
                log,
            )
            connections = args.soak_connections or (
                chosen.load.connections if chosen else args.connections[0]
            )
            results.soak = run_soak(service, setup, connections, args, folder=folder, into=results)
        results.errors_in_log = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
    return results


def print_results(results: Results, args: argparse.Namespace) -> None:
    runs, hash_runs, starts, stops = results.runs, results.hash_runs, results.starts, results.stops
    ingest, soak, photos = results.ingest, results.soak, results.photos
    print(
        f"\nStart-up ({args.count:,} signals; ready polled every {READY_POLL_S * 1000:.0f} ms; "
        f"with several workers, ready = the first of {READY_STREAK} consecutive 200s)"
    )
    print_table(
        (
            "start",
            "workers",
            "listening s",
            "first 200 s",
            "ready s",
            "before ready",
            "signals at ready",
            "RSS MB",
            "PSS MB",
            "processes",
        ),
        [
            [
                "warm (snapshot)" if s.snapshot else "cold (no snapshot)",
                str(s.workers),
                f"{s.listening_s:.2f}",
                f"{s.first_ready_s:.2f}",
                f"{s.ready_s:.2f}",
                s.status_before_ready,
                f"{s.signals_when_ready:,}",
                f"{s.rss_mb_ready:,.0f}",
                f"{s.pss_mb_ready:,.0f}",
                str(s.processes),
            ]
            for s in starts
        ],
    )
    print(
        "  stop (SIGTERM, snapshot saved on the way out): "
        + ", ".join(f"{w} worker(s) {s:.1f} s" for w, s in stops)
    )

    if runs:
        print(
            f"\nMatching: POST /v1/match, one PDQ signal per request, {args.duration:g} s per "
            f"run after {WARMUP_S:g} s warm-up; CPU in cores (of {os.cpu_count()})"
        )
        print_table(RUN_HEADERS, list(run_rows(runs)), right=1)

    if hash_runs:
        sizes = [p.stat().st_size for p in photos]
        print(
            f"\nHashing: POST /v1/hash (multipart), the {len(photos)} photos of samples/photos "
            f"in turn (mean {statistics.mean(sizes) / 1024:.0f} KiB), "
            f"{HASH_CONNECTIONS} connections"
        )
        print_table(RUN_HEADERS, list(run_rows(hash_runs)), right=1)

    if ingest is not None:
        print_ingest(ingest, args.count)
    if soak is not None:
        print_soak(soak)

    best = best_run(runs, "misses")
    print(
        "\nAgainst Meta's HMA 1.1.7 (HMA figures QUOTED FROM THE ISSUE, not measured here; "
        "ratio > 1: Reclaim better)"
    )
    print_table(
        ("measure", "Reclaim (measured)", "HMA 1.1.7 (quoted)", "ratio"),
        list(comparison_rows(best, starts, ingest)),
    )

    print(
        f"\nGoals ({args.count:,}-hash bank, {os.cpu_count()} cores shared with the load generator)"
    )
    print_table(
        ("goal", "target", "measured", "met"), list(goal_rows(runs, starts, args.count, soak))
    )
    if results.errors_in_log:
        print(
            f"\nThe service logged {len(results.errors_in_log)} error lines, the first: "
            f"{results.errors_in_log[0]}"
        )


def json_report(
    results: Results, args: argparse.Namespace, machine: dict[str, str], total: float
) -> dict[str, Any]:
    setup, runs, starts, soak = results.setup, results.runs, results.starts, results.soak
    report = {
        "machine": machine,
        "settings": {
            "count": args.count,
            "duration_s": args.duration,
            "warmup_s": WARMUP_S,
            "workers": args.workers,
            "connections": args.connections,
            "queries_per_workload": QUERIES,
            "hit_every": HIT_EVERY,
            "max_flips": MAX_FLIPS,
            "soak_s": args.soak,
        },
        "setup": {
            "generate_s": setup.generate_s,
            "import_s": setup.import_s,
            "db_mb": setup.db_mb,
        },
        "starts": [asdict(s) for s in results.starts],
        "stops": [{"workers": w, "seconds": s} for w, s in results.stops],
        "runs": [asdict(r) for r in runs],
        "hash_runs": [asdict(r) for r in results.hash_runs],
        "ingest": asdict(results.ingest) if results.ingest else None,
        "soak": asdict(soak) if soak else None,
        "hma_quoted": HMA,
        "goals": [
            dict(zip(("goal", "target", "measured", "met"), row, strict=True))
            for row in goal_rows(runs, starts, args.count, soak)
        ],
        "service_log_errors": results.errors_in_log[:20],
        "total_s": total,
    }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    machine = machine_info(
        (
            "numpy",
            "fastapi",
            "starlette",
            "uvicorn",
            "uvloop",
            "httptools",
            "pydantic",
            "sqlalchemy",
        )
    )
    print("Machine")
    for key, value in machine.items():
        print(f"  {key + ':':<12} {value}")
    print(
        f"\nService and load generator share the machine's {os.cpu_count()} cores; "
        f"no pinning. Rate limit off (RECLAIM_RATE_LIMIT_PER_SECOND=0)."
    )
    total_start = time.perf_counter()
    results = measure(args)
    total = time.perf_counter() - total_start
    print_results(results, args)
    print(f"\nTotal time {total:.0f} s")
    if args.json is not None:
        write_json(args.json, json_report(results, args, machine, total))
    return 0


def memory_in(run: Run, start: float, stop: float) -> list[str]:
    """The largest RSS and PSS sampled from ``start`` to ``stop`` seconds into the counted
    window (sampling starts with the counted window, to within about a second)."""
    first = run.memory_samples[0][0] if run.memory_samples else 0.0
    chosen = [s for s in run.memory_samples if start <= s[0] - first < stop]
    if not chosen:
        return ["-", "-"]
    return [f"{max(s[1] for s in chosen):,.0f}", f"{max(s[2] for s in chosen):,.0f}"]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--load-generator":
        sys.exit(load_generator_main(sys.argv[2]))
    sys.exit(main())
