"""Shared fixtures: the sample photos that ship with the project."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "samples" / "photos"
PHOTO_SUFFIXES = {".jpg", ".png"}


def photo_paths() -> list[Path]:
    """The committed real photos (see samples/photos/SOURCES.md)."""
    return sorted(p for p in PHOTOS.iterdir() if p.suffix in PHOTO_SUFFIXES)


@pytest.fixture(scope="session")
def photos() -> list[Path]:
    paths = photo_paths()
    assert len(paths) >= 20, "the sample photos are missing"
    return paths
