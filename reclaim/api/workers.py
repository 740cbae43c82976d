"""Several worker processes serving one port, each accepting on a socket of its own.

Each worker binds the address with ``SO_REUSEPORT``, so the kernel spreads new
connections over the workers by a hash of each connection's addresses. With one socket
shared by every worker (uvicorn's own ``--workers``), whichever worker wakes first accepts
a whole burst of connections: a client holding eight keep-alive connections had all eight
on one worker in four bursts of five, and the other worker idled. The parent restarts a
worker that dies, and on SIGTERM or SIGINT asks every worker to finish (each saves its
index snapshot) before it exits.

Where the platform has no ``SO_REUSEPORT``, uvicorn's shared-socket workers are used.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any, Final

from reclaim.errors import UsageError

#: Uvicorn's own logger, so the parent's lines read like the workers'.
logger = logging.getLogger("uvicorn.error")

APP: Final = "reclaim.api.app:app_from_environment"
#: How long a worker has to finish its requests and save its snapshot when stopping.
STOP_GRACE_S: Final = 60.0
#: A worker that dies sooner than this after starting counts as failing to start.
EARLY_DEATH_S: Final = 10.0
#: Early deaths in a row after which the parent gives up instead of restarting.
EARLY_DEATHS_ALLOWED: Final = 3
RESTART_PAUSE_S: Final = 1.0
_POLL_S: Final = 0.2


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other sockets of this user may bind too."""
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve_workers(host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Serve the app from the environment (``RECLAIM_*``) in ``workers`` processes until
    SIGTERM or SIGINT; ``options`` go to uvicorn's ``Config``."""
    import uvicorn  # noqa: PLC0415 - only the service needs the web stack

    if not reuse_port_supported():
        uvicorn.run(APP, factory=True, workers=workers, host=host, port=port, **options)
        return
    uvicorn.Config(APP, factory=True, host=host, port=port, **options)  # sets up logging
    try:  # a clear refusal now rather than workers failing one by one
        listening_socket(host, port).close()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    _Supervisor(host, port, workers, options).run()


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn  # noqa: PLC0415

    sock = listening_socket(host, port)
    config = uvicorn.Config(APP, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


class _Supervisor:
    def __init__(self, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.arguments = (host, port, options)
        self.count = workers
        self.context = multiprocessing.get_context("spawn")  # no inherited threads or locks
        self.stopping = threading.Event()
        self.processes: list[tuple[BaseProcess, float]] = []
        self.early_deaths = 0

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        host, port, _ = self.arguments
        logger.info("serving on http://%s:%d with %d workers", host, port, self.count)
        self.processes = [self._start() for _ in range(self.count)]
        try:
            while not self.stopping.wait(_POLL_S):
                self._replace_dead()
        finally:
            self._stop_all()

    def _start(self) -> tuple[BaseProcess, float]:
        process = self.context.Process(target=_worker, args=self.arguments, name="reclaim-worker")
        process.start()
        return process, time.monotonic()

    def _replace_dead(self) -> None:
        for index, (process, started) in enumerate(self.processes):
            if process.is_alive():
                continue
            lived = time.monotonic() - started
            logger.error(
                "worker %s exited with %s after %.1f s", process.pid, process.exitcode, lived
            )
            self.early_deaths = self.early_deaths + 1 if lived < EARLY_DEATH_S else 0
            if self.early_deaths >= EARLY_DEATHS_ALLOWED:
                logger.error("workers keep failing to start; stopping (see the errors above)")
                self.stopping.set()
                raise SystemExit(1)
            if self.stopping.wait(RESTART_PAUSE_S):
                return
            self.processes[index] = self._start()

    def _stop_all(self) -> None:
        for process, _ in self.processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes requests, the lifespan ends
        deadline = time.monotonic() + STOP_GRACE_S
        for process, _ in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                logger.error("worker %s did not stop in %.0f s; killed", process.pid, STOP_GRACE_S)
                process.kill()
                process.join()
