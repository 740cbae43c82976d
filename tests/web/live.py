"""A real Reclaim service on a free local port, in a thread: what a browser test (and the
portal's screenshots) talk to."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from reclaim.api import create_app
from reclaim.settings import Settings


@dataclass(frozen=True)
class Live:
    base: str
    settings: Settings


@contextmanager
def running(settings: Settings, timeout: float = 60.0) -> Iterator[Live]:
    """Serve ``settings`` until the block ends; ready (indexes loaded) when it starts."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="portal-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    while httpx.get(f"{base}/v1/ready").status_code != 200:
        assert time.monotonic() < deadline, "the service did not become ready"
        time.sleep(0.05)
    try:
        yield Live(base, settings)
    finally:
        server.should_exit = True
        thread.join(timeout)
