"""What the in-browser code's tests share: Node to run it, Chromium, a local server."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import photo_paths


@pytest.fixture(scope="session")
def node() -> str:
    """Node (Debian's ``nodejs``; ``make test`` installs it). Skipped where missing,
    except in CI, where its absence fails the run."""
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required in CI: scripts/install-node.sh did not install it")
        pytest.skip("node is not installed (scripts/install-node.sh)")
    return found


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Headless Chromium (Debian's ``chromium``; ``make test`` installs it) driven by
    Playwright. Skipped where missing, except in CI, where its absence fails the run."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "chromium is required in CI: scripts/install-chromium.sh did not install it"
            )
        pytest.skip("chromium is not installed (scripts/install-chromium.sh)")
    with sync_playwright() as playwright:
        # No sandbox: CI runs as root, where Chromium's sandbox will not start.
        browser = playwright.chromium.launch(executable_path=found, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def served() -> Iterator[str]:
    """A local server for browser tests: ``/static/`` is the portal's static folder,
    ``/photos/`` the sample photos, ``/`` an empty page (so scripts load from its
    origin). Its address."""
    roots = {
        "/static/": Path(__file__).resolve().parents[2] / "reclaim" / "web" / "static",
        "/photos/": photo_paths()[0].parent,
    }

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            for prefix, root in roots.items():
                if path.startswith(prefix):
                    return str(root / Path(path[len(prefix) :]).name)
            return str(Path(__file__).with_name("blank.html"))

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet

    Handler.extensions_map = {**Handler.extensions_map, ".js": "text/javascript"}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
