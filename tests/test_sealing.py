"""The service's secret key: sealing, signing, and where it comes from."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from reclaim.errors import ConfigurationError, InputError
from reclaim.sealing import SecretKey, key_file, new_key_text, parse_key, secret_key
from reclaim.settings import Settings


def test_sealed_data_opens_only_with_its_key_and_purpose() -> None:
    key = SecretKey(b"a" * 32)
    sealed = key.seal(b"someone@example.org", "contact")
    assert b"someone@example.org" not in sealed
    assert key.seal(b"someone@example.org", "contact") != sealed  # a fresh nonce each time
    assert key.unseal(sealed, "contact") == b"someone@example.org"
    with pytest.raises(InputError, match="does not open"):
        key.unseal(sealed, "receipt")
    with pytest.raises(InputError, match="does not open"):
        SecretKey(b"b" * 32).unseal(sealed, "contact")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(InputError, match="does not open"):
        key.unseal(bytes(tampered), "contact")
    with pytest.raises(InputError, match="not in Reclaim's sealed form"):
        key.unseal(b"\x02" + sealed[1:], "contact")


def test_signatures_are_bound_to_key_message_and_purpose() -> None:
    key = SecretKey(b"a" * 32)
    signature = key.sign(b"12.99", "session")
    assert key.verify(b"12.99", signature, "session")
    assert not key.verify(b"13.99", signature, "session")
    assert not key.verify(b"12.99", signature, "form")
    assert not SecretKey(b"b" * 32).verify(b"12.99", signature, "session")


def test_a_configured_key_must_be_32_bytes_of_base64() -> None:
    assert isinstance(parse_key(new_key_text(), "test"), SecretKey)
    with pytest.raises(ConfigurationError, match="not base64"):
        parse_key("not base64!", "RECLAIM_SECRET_KEY")
    with pytest.raises(ConfigurationError, match="holds 3 bytes"):
        parse_key("YWJj", "RECLAIM_SECRET_KEY")


def test_production_refuses_to_start_without_a_key() -> None:
    settings = Settings(environment="production", database_url="sqlite:///x.db")
    with pytest.raises(ConfigurationError, match="RECLAIM_SECRET_KEY is not set"):
        secret_key(settings)
    text = new_key_text()
    given = Settings(environment="production", secret_key=SecretStr(text))
    assert given.secret_key is not None
    assert secret_key(given).sign(b"x", "p") == parse_key(text, "t").sign(b"x", "p")


def test_development_keeps_one_key_beside_the_store_for_its_owner_alone(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}")
    path = key_file(settings)
    assert path == tmp_path / "store.db.key"
    first = secret_key(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(settings).sign(b"x", "p") == first.sign(b"x", "p")  # the same key again
    memory = Settings(database_url="sqlite://")
    assert key_file(memory) is None
    assert secret_key(memory).sign(b"x", "p") != secret_key(memory).sign(b"x", "p")
    assert key_file(Settings(database_url="postgresql://db/x")) == Path("reclaim-secret.key")
