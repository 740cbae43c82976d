from __future__ import annotations

import hashlib
import io
from pathlib import Path

from reclaim.hashing.exact import exact_hashes, exact_hashes_of_file, exact_hashes_of_stream


def test_known_digests_of_empty_and_abc() -> None:
    assert exact_hashes(b"").md5 == "d41d8cd98f00b204e9800998ecf8427e"
    abc = exact_hashes(b"abc")
    assert abc.md5 == "900150983cd24fb0d6963f7d28e17f72"
    assert abc.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_stream_and_file_agree_with_bytes_across_chunk_boundaries(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # over two 1 MiB chunks
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    expected = exact_hashes(data)
    assert exact_hashes_of_stream(io.BytesIO(data)) == expected
    assert exact_hashes_of_file(path) == expected
    assert expected.sha256 == hashlib.sha256(data).hexdigest()
