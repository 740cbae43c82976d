from __future__ import annotations

import numpy as np
import pytest

from reclaim.errors import HashFormatError
from reclaim.hashing.base import PdqHash, SignalType


def test_signal_type_names_are_unique_and_stable() -> None:
    values = [member.value for member in SignalType]
    assert len(values) == len(set(values))
    assert {"pdq", "md5", "sha256"} <= set(values)


@pytest.mark.parametrize(
    "text",
    ["", "0" * 63, "0" * 65, "g" * 64, "0" * 62 + " 0", "ABCD" * 16],
)
def test_pdq_hash_refuses_malformed_hex(text: str) -> None:
    with pytest.raises(HashFormatError, match="PDQ"):
        PdqHash(text, 100)


@pytest.mark.parametrize("quality", [-1, 101])
def test_pdq_hash_refuses_quality_outside_0_to_100(quality: int) -> None:
    with pytest.raises(HashFormatError, match="quality"):
        PdqHash("0" * 64, quality)


def test_parse_normalises_case_and_whitespace() -> None:
    assert PdqHash.parse(" " + "AB" * 32 + "\n").hex == "ab" * 32


def test_distance_counts_differing_bits() -> None:
    zero = PdqHash("0" * 64, 100)
    assert zero.distance(zero) == 0
    assert zero.distance(PdqHash("f" * 64, 100)) == 256
    assert zero.distance(PdqHash("0" * 63 + "3", 100)) == 2


def test_code_is_the_hash_bytes_most_significant_first() -> None:
    value = PdqHash("80" + "0" * 62, 100)
    code = value.to_code()
    assert code.dtype == np.uint8 and code.shape == (32,)
    assert code[0] == 0x80 and not code[1:].any()
