"""Limits the service puts on callers: request rates per key, case attempts per
client, and request body sizes."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
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


class AttemptLimiter:
    """Attempts per client (case openings, case submissions): at most ``limit`` in any
    ``window`` seconds. ``take`` counts an attempt before it is made, so a burst of them
    at once cannot all pass; ``forgive`` takes back one that proved right (a case opened
    with its PIN). Past the limit every attempt from the client is refused until the
    oldest leaves the window. Kept in this process, like ``RateLimiter`` (with several
    worker processes each counts its own); cases count their own failures in the store
    as well."""

    def __init__(self, limit: int, window: float, clients: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.clients = clients
        self._attempts: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Count an attempt by ``client``, or refuse it with ``RateLimited``."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._attempts.pop(client, []) if t > now - self.window]
            if len(recent) >= self.limit:
                self._attempts[client] = recent
                wait = math.ceil(recent[0] + self.window - now)
                raise RateLimited(
                    "too many attempts from here; wait before trying again",
                    retry_after=max(1, wait),
                )
            recent.append(now)
            self._attempts[client] = recent  # the most recent client last
            while len(self._attempts) > self.clients:
                self._attempts.popitem(last=False)  # forget the longest quiet

    def forgive(self, client: str) -> None:
        """Take back ``client``'s latest attempt."""
        with self._lock:
            recent = self._attempts.get(client)
            if recent:
                recent.pop()
            if not recent:
                self._attempts.pop(client, None)

    def __len__(self) -> int:
        return len(self._attempts)


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
