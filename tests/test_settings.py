from __future__ import annotations

import pytest
from pydantic import ValidationError

from reclaim.settings import Settings


def test_defaults_are_embedded_sqlite_and_safe_limits() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///reclaim.db"
    assert settings.max_image_pixels == 200_000_000
    assert settings.pdq_min_quality == 50


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECLAIM_MAX_IMAGE_PIXELS", "1234")
    monkeypatch.setenv("RECLAIM_DATABASE_URL", "postgresql://127.0.0.1/test")
    settings = Settings()
    assert settings.max_image_pixels == 1234
    assert settings.database_url == "postgresql://127.0.0.1/test"


def test_invalid_values_are_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECLAIM_PDQ_MIN_QUALITY", "101")
    with pytest.raises(ValidationError, match="pdq_min_quality"):
        Settings()


def test_every_field_has_help_text() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name
