"""The one typed Settings class. Every field can be set from ``RECLAIM_<NAME>``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    """Reclaim's settings, read from the environment (prefix ``RECLAIM_``)."""

    model_config = SettingsConfigDict(env_prefix="RECLAIM_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = Field(
        "development", description="Where Reclaim runs; production refuses unsafe defaults."
    )
    database_url: str = Field(
        "sqlite:///reclaim.db",
        description="SQLAlchemy URL of the store; a SQLite file in the working directory "
        "by default.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes (make one with `reclaim keys secret`): seals "
        "survivors' contacts at rest and signs the portal's sessions and forms. Required in "
        "production; elsewhere one is made and kept beside the SQLite store (<file>.key).",
    )
    survivor_bank: str = Field(
        "survivor-submissions",
        description="The bank (kind survivor) that survivors' cases fill; made on first use.",
    )
    minor_bank: str = Field(
        "survivor-minors",
        description="The bank (kind minor, for child-protection handling) that cases of "
        "images taken under 18 fill; made on first use.",
    )
    case_attempts_per_client: int = Field(
        10,
        ge=1,
        description="Case numbers and PINs one client (IP address; an IPv6 /64) may try "
        "(right ones are forgiven) within "
        "case_attempts_window_seconds before every attempt from it is refused for a while "
        "(each case also pauses itself after 5 wrong PINs).",
    )
    case_submissions_per_client_per_hour: int = Field(
        20,
        ge=1,
        description="New cases one client (IP address; an IPv6 /64) may submit in the "
        "portal in an hour: each costs an Argon2 hash and a write.",
    )
    case_attempts_window_seconds: float = Field(
        900.0,
        gt=0,
        description="The window over which case_attempts_per_client counts, in seconds.",
    )
    max_file_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1,
        description="Largest image file accepted for hashing, in bytes.",
    )
    max_image_pixels: int = Field(
        200_000_000,
        ge=1,
        description="Largest image accepted, in pixels (width x height), checked from the "
        "header before decoding: larger images are refused as decompression bombs.",
    )
    max_image_side: int = Field(
        65_500,
        ge=1,
        description="Largest width or height accepted, in pixels.",
    )
    max_video_seconds: float = Field(
        6 * 3600.0,
        gt=0,
        description="Longest video accepted, in seconds (by its header, or by the frames "
        "decoded when the header says nothing).",
    )
    max_video_frame_pixels: int = Field(
        8192 * 8192,
        ge=1,
        description="Largest video frame accepted, in pixels (width x height).",
    )
    max_video_decode_seconds: float = Field(
        900.0,
        gt=0,
        description="Longest a video may take to decode before it is refused, in seconds.",
    )
    video_register_seconds_per_hash: float = Field(
        0.25,
        ge=0.125,
        le=60,
        description="Seconds between the frames hashed of a video registered in a bank "
        "(vPDQ's lists take one a second; denser registrations let a query be sampled at "
        "its key frames, and match copies played faster or slower).",
    )
    index_dir: str | None = Field(
        None,
        description="Folder for the matcher's index snapshot (default: next to a SQLite "
        "store, as <file>.index; ./reclaim-index for PostgreSQL).",
    )
    match_threshold: int = Field(
        31,
        ge=0,
        le=256,
        description="Largest PDQ Hamming distance counted as a match.",
    )
    pdq_min_quality: int = Field(
        50,
        ge=0,
        le=100,
        description="PDQ hashes below this quality are flagged as low quality and are not "
        "trusted for matching (the PDQ authors' recommendation).",
    )

    max_request_bytes: int = Field(
        2 * 1024 * 1024,
        ge=1024,
        description="Largest request body the service accepts other than a file upload, "
        "in bytes (uploads may be up to max_file_bytes plus 64 KiB of form overhead).",
    )
    rate_limit_per_second: float = Field(
        200.0,
        ge=0,
        description="Requests per second each API key may make, per service process "
        "(0: no limit). Bursts up to rate_limit_burst are allowed.",
    )
    rate_limit_burst: int = Field(
        400,
        ge=1,
        description="How many requests an API key may make at once before the per-second "
        "rate applies.",
    )
    key_cache_seconds: float = Field(
        60.0,
        ge=0,
        description="How long a service process trusts an API key it has checked before "
        "checking it again: the longest a revoked key keeps working elsewhere.",
    )


def snapshot_dir(settings: Settings) -> Path:
    """Where the matcher keeps its index snapshot for this store."""
    if settings.index_dir:
        return Path(settings.index_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".index")
    return Path("reclaim-index")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
