"""Reclaim's HTTP service (FastAPI): ``create_app(settings)``."""

from reclaim.api.app import create_app

__all__ = ["create_app"]
