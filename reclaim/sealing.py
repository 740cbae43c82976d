"""The service's secret key: sealing personal data at rest and signing the portal's tokens.

One key, 32 random bytes, from ``RECLAIM_SECRET_KEY`` (base64). Production refuses to
start without it. Elsewhere a key is made once and kept beside the SQLite store, readable
by its owner alone (``<file>.key``; ``reclaim-secret.key`` in the working folder for
PostgreSQL), so a development store's sealed data survives a restart; an in-memory store
gets a key that lives as long as the process.

Each use derives its own key from it (HMAC-SHA256 of the purpose), so a token signed for
one purpose is never accepted for another. Sealing is AES-256-GCM with a random nonce;
the purpose is bound in as associated data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import make_url

from reclaim.errors import ConfigurationError, InputError
from reclaim.settings import Settings

KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_VERSION: Final = b"\x01"


class SecretKey:
    """The service's secret, and what is derived from it."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ConfigurationError(f"the secret key must be {KEY_BYTES} bytes, not {len(raw)}")
        self._raw = raw

    def subkey(self, purpose: str) -> bytes:
        return hmac.new(self._raw, purpose.encode(), hashlib.sha256).digest()

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        """``plaintext`` encrypted and authenticated for ``purpose``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self.subkey(purpose)).encrypt(nonce, plaintext, purpose.encode())
        return _VERSION + nonce + sealed

    def unseal(self, sealed: bytes, purpose: str) -> bytes:
        """What ``seal`` sealed for ``purpose``; ``InputError`` for anything else."""
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise InputError(f"sealed {purpose} data is not in Reclaim's sealed form")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return AESGCM(self.subkey(purpose)).decrypt(nonce, body, purpose.encode())
        except InvalidTag:
            raise InputError(
                f"sealed {purpose} data does not open with this key (altered, or sealed with "
                "another key)"
            ) from None

    def sign(self, message: bytes, purpose: str) -> str:
        """A URL-safe signature of ``message`` for ``purpose``."""
        digest = hmac.new(self.subkey(purpose), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, message: bytes, signature: str, purpose: str) -> bool:
        """Whether ``signature`` is ``sign(message, purpose)``, compared in constant time."""
        # As bytes: compare_digest refuses str holding anything but ASCII, and a signature
        # comes from a cookie or a form, where anything may be sent.
        return hmac.compare_digest(
            self.sign(message, purpose).encode(), signature.encode("utf-8", "replace")
        )


def parse_key(text: str, where: str) -> SecretKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{where}: the secret key is not base64") from None
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(
            f"{where}: the secret key holds {len(raw)} bytes; make one of {KEY_BYTES} with "
            "`reclaim keys secret`"
        )
    return SecretKey(raw)


def new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_file(settings: Settings) -> Path | None:
    """Where a development key is kept for this store; ``None`` for an in-memory store."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        return Path(url.database + ".key")
    return Path("reclaim-secret.key")


def secret_key(settings: Settings) -> SecretKey:
    """The service's key: from the settings, or (outside production) a kept one."""
    if settings.secret_key is not None:
        return parse_key(settings.secret_key.get_secret_value(), "RECLAIM_SECRET_KEY")
    if settings.environment == "production":
        raise ConfigurationError(
            "RECLAIM_SECRET_KEY is not set: production needs its own key (make one with "
            "`reclaim keys secret`); it seals survivors' contacts and signs their sessions"
        )
    path = key_file(settings)
    if path is None:
        return SecretKey(secrets.token_bytes(KEY_BYTES))
    if not path.exists():
        _write_private(path, new_key_text())
    return parse_key(path.read_text(), str(path))


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file only its owner may read; a file made meanwhile by
    another process is kept (both then read the same key)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
