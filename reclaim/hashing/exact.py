"""Exact fingerprints: MD5 and SHA-256 of a file's bytes.

They match only byte-identical copies, but partners share them (StopNCII shares MD5 for
videos), and they cost almost nothing next to decoding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExactHashes:
    """Lowercase hex MD5 and SHA-256 of the same bytes."""

    md5: str
    sha256: str


def exact_hashes(data: bytes) -> ExactHashes:
    """MD5 and SHA-256 of bytes already in memory."""
    return ExactHashes(
        hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest()
    )


def exact_hashes_of_stream(stream: BinaryIO) -> ExactHashes:
    """MD5 and SHA-256 of a stream, read once in chunks (for files too big to hold)."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        md5.update(chunk)
        sha256.update(chunk)
    return ExactHashes(md5.hexdigest(), sha256.hexdigest())


def exact_hashes_of_file(path: Path) -> ExactHashes:
    """MD5 and SHA-256 of a file, streamed."""
    with path.open("rb") as handle:
        return exact_hashes_of_stream(handle)
