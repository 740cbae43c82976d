"""Shared fixtures: the sample photos that ship with the project, stores, local features."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from reclaim.hashing.keypoints import Features, features_from_luma, features_to_bytes
from reclaim.store import Store

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "samples" / "photos"
PHOTO_SUFFIXES = {".jpg", ".png"}


def photo_paths() -> list[Path]:
    """The committed real photos (see samples/photos/SOURCES.md)."""
    return sorted(p for p in PHOTOS.iterdir() if p.suffix in PHOTO_SUFFIXES)


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in its own folder, so files made relative to the working directory
    (reclaim.db, the PostgreSQL index snapshot folder) never land in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def photos() -> list[Path]:
    paths = photo_paths()
    assert len(paths) >= 20, "the sample photos are missing"
    return paths


# --- stores -------------------------------------------------------------------------


POSTGRES_URL = os.environ.get("RECLAIM_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1/test")


@functools.cache
def postgres_available() -> bool:
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        return False
    finally:
        engine.dispose()
    return True


def require_postgres() -> None:
    """Skip without PostgreSQL, except in CI, where its absence fails the run."""
    if postgres_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI and not reachable at {POSTGRES_URL}")
    pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh schema of the test PostgreSQL database, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'reclaim.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test against SQLite and against the real PostgreSQL server."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


# --- local features -------------------------------------------------------------------


@functools.cache
def photo_features(index: int = 0) -> bytes:
    """The binary local features (a keypoints payload) of one of the sample photos."""
    luma = np.asarray(Image.open(photo_paths()[index]).convert("L"), dtype=np.uint8)
    return features_to_bytes(features_from_luma(luma))


def random_features(seed: int, count: int = 256) -> bytes:
    """Well-formed local features with random corners and descriptors, as large as a real
    image's: for tests that need many distinct payloads quickly."""
    rng = np.random.default_rng(seed)
    features = Features(
        rng.random((count, 2), dtype=np.float32) * np.float32(0.75),
        rng.integers(0, 5, count, dtype=np.int8),
        rng.random(count, dtype=np.float32) * np.float32(2 * np.pi),
        rng.integers(0, 256, (count, 32), dtype=np.uint8),
        (1.0, 0.75),
        512,
    )
    return features_to_bytes(features)
