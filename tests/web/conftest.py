"""What the in-browser code's tests share: Node to run it."""

from __future__ import annotations

import os
import shutil

import pytest


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
