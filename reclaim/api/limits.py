"""Limits the service puts on callers: request rates per key and request body sizes."""

from __future__ import annotations

import math
import threading
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reclaim.api.errors import error_response
from reclaim.errors import RateLimited, RequestTooLarge

_FORM_OVERHEAD: Final = 64 * 1024


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


class BodyLimit:
    """ASGI middleware refusing bodies over the limit with 413, before they are read whole:
    by ``Content-Length`` when sent, else by counting what arrives. Multipart uploads may be
    as large as a file is allowed to be; other bodies up to ``max_request_bytes``."""

    def __init__(self, app: ASGIApp, max_request_bytes: int, max_file_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_file_bytes + _FORM_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = (
            self.max_upload_bytes
            if content_type.startswith("multipart/form-data")
            else self.max_request_bytes
        )
        declared = headers.get(b"content-length")
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
