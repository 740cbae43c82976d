"""The browser's MD5 and SHA-256 (``reclaim/web/static/digests.js``) equal hashlib's,
whatever the length and however the bytes are sliced."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np

HARNESS = Path(__file__).with_name("digests_node.mjs")


def test_digests_equal_hashlibs_at_every_padding_edge_and_slicing(
    node: str,
    photos: list[Path],
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(31)
    jobs, expected = [], []
    lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 100_003]
    for number, length in enumerate(lengths):
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        path = tmp_path / f"data-{number}.bin"
        path.write_bytes(data)
        jobs.append({"file": str(path), "chunk": int(rng.choice([1, 7, 64, 100, 4096]))})
        expected.append(data)
    # A real file: in whole blocks, and in pieces that leave a block split between updates
    # with whole blocks after it.
    for chunk in (65_536, 100, 1000):
        jobs.append({"file": str(photos[0]), "chunk": chunk})
        expected.append(photos[0].read_bytes())
    jobs.append({"file": str(photos[0]), "chunk": 100, "view": True})  # DataView pieces
    expected.append(photos[0].read_bytes())
    done = subprocess.run(
        [node, str(HARNESS)], input=json.dumps(jobs), capture_output=True, text=True, check=True
    )
    for data, result in zip(expected, json.loads(done.stdout), strict=True):
        digests = {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
        assert {"md5": result["md5"], "sha256": result["sha256"]} == digests, len(data)
        assert result["sliced"] == digests, len(data)
