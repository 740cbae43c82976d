"""Limits the service puts on callers: request rates per key, failed case openings per
client, and request body sizes."""

from __future__ import annotations

import math
import threading
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reclaim.api.errors import error_response
from reclaim.errors import RateLimited, RequestTooLarge, UsageError

FORM_OVERHEAD: Final = 64 * 1024


class RateLimiter:
    """A token bucket per API key: ``rate`` requests a second, bursts up to ``burst``.

    Buckets live in this process, so with several processes (or replicas) each key may
    make ``rate`` requests a second to each of them.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket, or raise ``RateLimited``."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise RateLimited(
                    f"too many requests for this API key (limit {self.rate:g} per second)",
                    retry_after=max(1, wait),
                )
            self._buckets[key] = (tokens - 1.0, now)


class FailureLimiter:
    """Failed attempts per client (wrong case numbers or PINs): at most ``limit`` in any
    ``window`` seconds; past that, every attempt from the client is refused until the
    oldest failure leaves the window, right or wrong, so guessing costs time whatever the
    case. Kept in this process, like ``RateLimiter``; cases count their own failures in
    the store as well."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Refuse ``client`` with ``RateLimited`` while it has too many recent failures."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent(client, now)
            if len(recent) >= self.limit:
                wait = math.ceil(recent[0] + self.window - now)
                raise RateLimited(
                    "too many attempts from here; wait before trying again",
                    retry_after=max(1, wait),
                )

    def fail(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 100_000:  # forget the quietest clients first
                oldest = min(self._failures, key=lambda c: self._failures[c][-1])
                del self._failures[oldest]

    def _recent(self, client: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(client, []) if t > now - self.window]
        self._failures[client] = kept
        return kept


class BodyLimit:
    """ASGI middleware refusing bodies over the limit with 413, before they are read whole:
    by ``Content-Length`` when sent, else by counting what arrives. File uploads to
    ``upload_paths`` may be as large as a file is allowed to be; every other body up to
    ``max_request_bytes``. A request with two ``Content-Type`` headers is refused, so the
    limit and the parser cannot disagree about what the body is."""

    def __init__(
        self,
        app: ASGIApp,
        max_request_bytes: int,
        max_file_bytes: int,
        upload_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_file_bytes + FORM_OVERHEAD
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_types = [v for k, v in scope["headers"] if k.lower() == b"content-type"]
        if len(content_types) > 1:
            refusal = UsageError("the request has more than one Content-Type header")
            await error_response(refusal)(scope, receive, send)
            return
        content_type = content_types[0].decode("latin-1").lower() if content_types else ""
        upload = content_type.startswith("multipart/form-data")
        limit = (
            self.max_upload_bytes
            if upload and scope["path"] in self.upload_paths
            else self.max_request_bytes
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server refuses a malformed length itself
            if too_big:
                await self._refuse(scope, receive, send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(_message(limit))
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(RequestTooLarge(_message(limit)))
        await response(scope, receive, send)


def _message(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"
